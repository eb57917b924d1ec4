//! One typed method per AWS KMS operation Trent serves, each a thin wrapper over
//! [`TrentClient::call`], plus helpers that follow list pagination to the end.

use std::collections::HashSet;
use trent_wire::Operation;

use trent_wire::access::{
    CreateGrantRequest, CreateGrantResponse, GetKeyPolicyRequest, GetKeyPolicyResponse, ListGrantsRequest,
    ListGrantsResponse, ListKeyPoliciesRequest, ListKeyPoliciesResponse, ListRetirableGrantsRequest,
    PutKeyPolicyRequest, RetireGrantRequest, RevokeGrantRequest,
};

use trent_wire::kms::{
    AliasListEntry, AliasTargetRequest, CreateKeyRequest, DeleteAliasRequest, EmptyResponse,
    GetKeyLastUsageResponse, KeyIdRequest, KeyIdResponse, KeyListEntry, KeyMetadataResponse,
    ListAliasesRequest, ListAliasesResponse, ListKeysRequest, ListKeysResponse, ListResourceTagsRequest,
    ListResourceTagsResponse, ScheduleKeyDeletionRequest, ScheduleKeyDeletionResponse, Tag,
    TagResourceRequest, UntagResourceRequest, UpdateKeyDescriptionRequest,
};

use crate::client::TrentClient;
use crate::error::ClientError;

/// Most pages a `list_all_*` helper reads before giving up: a server that keeps saying
/// "truncated" forever must not hold the caller forever.
pub const MAX_LIST_PAGES: usize = 10_000;

impl TrentClient {
    /// `CreateKey`.
    pub async fn create_key(&self, request: &CreateKeyRequest) -> Result<KeyMetadataResponse, ClientError> {
        self.call(Operation::CreateKey.name(), request).await
    }

    /// `DescribeKey`.
    pub async fn describe_key(&self, request: &KeyIdRequest) -> Result<KeyMetadataResponse, ClientError> {
        self.call(Operation::DescribeKey.name(), request).await
    }

    /// `GetKeyLastUsage`: the key's last successful cryptographic use seen by any node that
    /// answered (key id or key ARN only).
    pub async fn get_key_last_usage(
        &self,
        request: &KeyIdRequest,
    ) -> Result<GetKeyLastUsageResponse, ClientError> {
        self.call(Operation::GetKeyLastUsage.name(), request).await
    }

    /// `ListKeys`: one page.
    pub async fn list_keys(&self, request: &ListKeysRequest) -> Result<ListKeysResponse, ClientError> {
        self.call(Operation::ListKeys.name(), request).await
    }

    /// `EnableKey`.
    pub async fn enable_key(&self, request: &KeyIdRequest) -> Result<EmptyResponse, ClientError> {
        self.call(Operation::EnableKey.name(), request).await
    }

    /// `DisableKey`.
    pub async fn disable_key(&self, request: &KeyIdRequest) -> Result<EmptyResponse, ClientError> {
        self.call(Operation::DisableKey.name(), request).await
    }

    /// `UpdateKeyDescription`.
    pub async fn update_key_description(
        &self,
        request: &UpdateKeyDescriptionRequest,
    ) -> Result<EmptyResponse, ClientError> {
        self.call(Operation::UpdateKeyDescription.name(), request).await
    }

    /// `ScheduleKeyDeletion`.
    pub async fn schedule_key_deletion(
        &self,
        request: &ScheduleKeyDeletionRequest,
    ) -> Result<ScheduleKeyDeletionResponse, ClientError> {
        self.call(Operation::ScheduleKeyDeletion.name(), request).await
    }

    /// `CancelKeyDeletion`.
    pub async fn cancel_key_deletion(&self, request: &KeyIdRequest) -> Result<KeyIdResponse, ClientError> {
        self.call(Operation::CancelKeyDeletion.name(), request).await
    }

    /// `CreateAlias`.
    pub async fn create_alias(&self, request: &AliasTargetRequest) -> Result<EmptyResponse, ClientError> {
        self.call(Operation::CreateAlias.name(), request).await
    }

    /// `UpdateAlias`.
    pub async fn update_alias(&self, request: &AliasTargetRequest) -> Result<EmptyResponse, ClientError> {
        self.call(Operation::UpdateAlias.name(), request).await
    }

    /// `DeleteAlias`.
    pub async fn delete_alias(&self, request: &DeleteAliasRequest) -> Result<EmptyResponse, ClientError> {
        self.call(Operation::DeleteAlias.name(), request).await
    }

    /// `ListAliases`: one page.
    pub async fn list_aliases(
        &self,
        request: &ListAliasesRequest,
    ) -> Result<ListAliasesResponse, ClientError> {
        self.call(Operation::ListAliases.name(), request).await
    }

    /// `TagResource`.
    pub async fn tag_resource(&self, request: &TagResourceRequest) -> Result<EmptyResponse, ClientError> {
        self.call(Operation::TagResource.name(), request).await
    }

    /// `UntagResource`.
    pub async fn untag_resource(&self, request: &UntagResourceRequest) -> Result<EmptyResponse, ClientError> {
        self.call(Operation::UntagResource.name(), request).await
    }

    /// `ListResourceTags`: one page.
    pub async fn list_resource_tags(
        &self,
        request: &ListResourceTagsRequest,
    ) -> Result<ListResourceTagsResponse, ClientError> {
        self.call(Operation::ListResourceTags.name(), request).await
    }

    /// `PutKeyPolicy`: replaces the key's policy.
    pub async fn put_key_policy(&self, request: &PutKeyPolicyRequest) -> Result<EmptyResponse, ClientError> {
        self.call(Operation::PutKeyPolicy.name(), request).await
    }

    /// `GetKeyPolicy`: the key's policy document.
    pub async fn get_key_policy(
        &self,
        request: &GetKeyPolicyRequest,
    ) -> Result<GetKeyPolicyResponse, ClientError> {
        self.call(Operation::GetKeyPolicy.name(), request).await
    }

    /// `ListKeyPolicies`: the key's policy names (always `default`).
    pub async fn list_key_policies(
        &self,
        request: &ListKeyPoliciesRequest,
    ) -> Result<ListKeyPoliciesResponse, ClientError> {
        self.call(Operation::ListKeyPolicies.name(), request).await
    }

    /// `CreateGrant`. Every attempt carries the same request id, so a retried create makes one
    /// grant; a grant with a `Name` is also answered again by a repeat with the same parameters.
    pub async fn create_grant(
        &self,
        request: &CreateGrantRequest,
    ) -> Result<CreateGrantResponse, ClientError> {
        self.call(Operation::CreateGrant.name(), request).await
    }

    /// `ListGrants`: one page of a key's grants.
    pub async fn list_grants(&self, request: &ListGrantsRequest) -> Result<ListGrantsResponse, ClientError> {
        self.call(Operation::ListGrants.name(), request).await
    }

    /// `ListRetirableGrants`: one page of the grants a principal may retire.
    pub async fn list_retirable_grants(
        &self,
        request: &ListRetirableGrantsRequest,
    ) -> Result<ListGrantsResponse, ClientError> {
        self.call(Operation::ListRetirableGrants.name(), request).await
    }

    /// `RetireGrant`: by grant token, or by key and grant id.
    pub async fn retire_grant(&self, request: &RetireGrantRequest) -> Result<EmptyResponse, ClientError> {
        self.call(Operation::RetireGrant.name(), request).await
    }

    /// `RevokeGrant`.
    pub async fn revoke_grant(&self, request: &RevokeGrantRequest) -> Result<EmptyResponse, ClientError> {
        self.call(Operation::RevokeGrant.name(), request).await
    }

    /// Every key, following `ListKeys` pagination to the end.
    pub async fn list_all_keys(&self) -> Result<Vec<KeyListEntry>, ClientError> {
        let mut pages = Pages::default();
        let mut keys = Vec::new();
        loop {
            let request = ListKeysRequest { limit: None, marker: pages.marker.clone() };
            let page = self.list_keys(&request).await?;
            keys.extend(page.keys);
            if !pages.advance(page.truncated, page.next_marker)? {
                return Ok(keys);
            }
        }
    }

    /// Every alias, or every alias of `key_id`, following `ListAliases` pagination to the end.
    pub async fn list_all_aliases(&self, key_id: Option<&str>) -> Result<Vec<AliasListEntry>, ClientError> {
        let mut pages = Pages::default();
        let mut aliases = Vec::new();
        loop {
            let request = ListAliasesRequest {
                key_id: key_id.map(str::to_owned),
                limit: None,
                marker: pages.marker.clone(),
            };
            let page = self.list_aliases(&request).await?;
            aliases.extend(page.aliases);
            if !pages.advance(page.truncated, page.next_marker)? {
                return Ok(aliases);
            }
        }
    }

    /// Every tag of `key_id`, following `ListResourceTags` pagination to the end.
    pub async fn list_all_resource_tags(&self, key_id: &str) -> Result<Vec<Tag>, ClientError> {
        let mut pages = Pages::default();
        let mut tags = Vec::new();
        loop {
            let request = ListResourceTagsRequest {
                key_id: key_id.to_owned(),
                limit: None,
                marker: pages.marker.clone(),
            };
            let page = self.list_resource_tags(&request).await?;
            tags.extend(page.tags);
            if !pages.advance(page.truncated, page.next_marker)? {
                return Ok(tags);
            }
        }
    }
}

/// The pagination cursor shared by the `list_all_*` helpers, with the checks that keep a
/// misbehaving server from looping the caller.
#[derive(Debug, Default)]
pub(crate) struct Pages {
    pub(crate) marker: Option<String>,
    seen_markers: HashSet<String>,
    pages: usize,
}

impl Pages {
    /// Records a page's answer; true when another page should be fetched.
    pub(crate) fn advance(
        &mut self,
        truncated: bool,
        next_marker: Option<String>,
    ) -> Result<bool, ClientError> {
        self.pages += 1;
        if !truncated {
            return Ok(false);
        }
        let bad = |reason: &str| ClientError::Decode { message: reason.to_owned() };
        let marker = next_marker.ok_or_else(|| bad("a truncated page carried no NextMarker"))?;
        if !self.seen_markers.insert(marker.clone()) {
            return Err(bad("the server repeated a NextMarker"));
        }
        if self.pages >= MAX_LIST_PAGES {
            return Err(bad("more pages than the client reads"));
        }
        self.marker = Some(marker);
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_stop_when_not_truncated() {
        let mut pages = Pages::default();
        assert!(pages.advance(true, Some("m1".into())).unwrap());
        assert_eq!(pages.marker.as_deref(), Some("m1"));
        assert!(!pages.advance(false, None).unwrap());
    }

    #[test]
    fn pages_refuse_missing_or_repeated_markers() {
        let mut pages = Pages::default();
        assert!(pages.advance(true, None).is_err());
        let mut pages = Pages::default();
        assert!(pages.advance(true, Some("m".into())).unwrap());
        assert!(pages.advance(true, Some("m".into())).is_err());
    }

    #[test]
    fn pages_are_bounded() {
        let mut pages = Pages::default();
        let mut result = Ok(true);
        for n in 0..=MAX_LIST_PAGES {
            result = pages.advance(true, Some(format!("m{n}")));
            if result.is_err() {
                break;
            }
        }
        assert!(result.is_err());
        assert_eq!(pages.pages, MAX_LIST_PAGES);
    }
}
