//! The audit records this node writes, built from what it knows of a call once it has ended
//! (or of a cluster event once it has committed): CloudTrail's fields, filled as CloudTrail
//! fills them for KMS.
//!
//! - `userIdentity` is the IAM user whose access key verified (`IAMUser`, its name, ARN and
//!   access key; `principalId` is the user name, Trent having no separate unique ids). A call
//!   whose signature did not verify names only the access key it claimed, as type `Unknown`.
//! - `readOnly` is the opposite of the operation's access (crypto operations read).
//! - `resources` are the keys the call was authorized for (aliases resolved; Decrypt's key
//!   from the ciphertext), or the key a CreateKey made.

use std::net::IpAddr;

use serde_json::Value;
use trent_audit::{Event, Resource, UserIdentity, EVENT_SOURCE, EVENT_VERSION};
use trent_storage::KeyId;
use trent_wire::{Access, Operation};
use uuid::Uuid;

use crate::node::Node;

/// Longest `userAgent` kept.
const MAX_USER_AGENT_CHARS: usize = 256;
/// Longest access key id kept from an unverified `Authorization` header.
const MAX_CLAIMED_ACCESS_KEY_CHARS: usize = 128;

/// Who made a call, as far as the node knows.
#[derive(Debug, Clone, Default)]
pub enum Caller {
    /// No credential at all (an unsigned admin call, or no `Authorization` header).
    #[default]
    Anonymous,
    /// An access key was claimed but its signature did not verify.
    Claimed(String),
    /// The access key whose signature verified.
    Verified(String),
}

/// Everything a call's record says, gathered as the call runs.
#[derive(Debug, Default)]
pub struct CallFacts {
    /// The operation, once known.
    pub operation: Option<Operation>,
    /// What `X-Amz-Target` or the path named when no operation matched.
    pub unknown_name: Option<String>,
    /// Who.
    pub caller: Caller,
    /// From where.
    pub source_ip: Option<IpAddr>,
    /// With what client.
    pub user_agent: Option<String>,
    /// `requestParameters`.
    pub request_parameters: Option<Value>,
    /// `responseElements`.
    pub response_elements: Option<Value>,
    /// The error's AWS name and message, if the call failed.
    pub error: Option<(String, String)>,
    /// The request id the caller got back.
    pub request_id: Uuid,
    /// The client's own signed `x-trent-request-id`, if it sent one.
    pub client_request_id: Option<Uuid>,
    /// This record's id (also GetKeyLastUsage's CloudTrail event id).
    pub event_id: Uuid,
    /// The keys it acted on.
    pub keys: Vec<KeyId>,
    /// A key ARN taken from the reply (CreateKey's new key).
    pub created_key_arn: Option<String>,
}

/// The access key id an `Authorization: AWS4-HMAC-SHA256 Credential=AKID/...` header claims.
pub fn claimed_access_key(authorization: &str) -> Option<String> {
    let credential = authorization.split("Credential=").nth(1)?;
    let id = credential.split('/').next()?;
    let id: String = id.chars().take(MAX_CLAIMED_ACCESS_KEY_CHARS).collect();
    (!id.is_empty()).then_some(id)
}

/// The `User-Agent`, cut to its limit.
pub fn user_agent(value: &str) -> String {
    value.chars().take(MAX_USER_AGENT_CHARS).collect()
}

/// The record of a call `node` served or refused.
pub fn call_event(node: &Node, facts: CallFacts) -> Event {
    let scope = &node.config.arn;
    let account = scope.account_id.clone();
    let user_identity = match &facts.caller {
        Caller::Anonymous => None,
        Caller::Claimed(access_key_id) => Some(UserIdentity {
            identity_type: "Unknown".to_owned(),
            principal_id: None,
            arn: None,
            account_id: None,
            access_key_id: Some(access_key_id.clone()),
            user_name: None,
            invoked_by: None,
        }),
        Caller::Verified(access_key_id) => {
            let user_name = node.registry.read().access_key_user(access_key_id).to_owned();
            Some(UserIdentity {
                identity_type: "IAMUser".to_owned(),
                principal_id: Some(user_name.clone()),
                arn: Some(crate::authorization::user_arn(&account, &user_name)),
                account_id: Some(account.clone()),
                access_key_id: Some(access_key_id.clone()),
                user_name: Some(user_name),
                invoked_by: None,
            })
        }
    };
    let mut resources: Vec<Resource> = facts
        .keys
        .iter()
        .map(|key_id| Resource::key(crate::kms::identifiers::key_arn(scope, *key_id), account.clone()))
        .collect();
    if let Some(arn) = facts.created_key_arn {
        if !resources.iter().any(|resource| resource.arn == arn) {
            resources.push(Resource::key(arn, account.clone()));
        }
    }
    let event_name = match (facts.operation, facts.unknown_name) {
        (Some(operation), _) => operation.name().to_owned(),
        (None, Some(name)) => name,
        (None, None) => "Unknown".to_owned(),
    };
    let (error_code, error_message) = match facts.error {
        Some((code, message)) => (Some(code), Some(message)),
        None => (None, None),
    };
    Event {
        event_version: EVENT_VERSION.to_owned(),
        user_identity,
        event_time: trent_audit::rfc3339_seconds(node.now_ms()),
        event_source: EVENT_SOURCE.to_owned(),
        event_name,
        aws_region: scope.region.clone(),
        source_ip_address: facts.source_ip.map(|ip| ip.to_string()),
        user_agent: facts.user_agent,
        request_parameters: facts.request_parameters,
        response_elements: facts.response_elements,
        error_code,
        error_message,
        request_id: facts.request_id.hyphenated().to_string(),
        client_request_id: facts.client_request_id.map(|id| id.hyphenated().to_string()),
        event_id: facts.event_id.hyphenated().to_string(),
        read_only: facts.operation.is_none_or(|operation| operation.access() == Access::Read),
        resources,
        event_type: "AwsApiCall".to_owned(),
        management_event: true,
        event_category: "Management".to_owned(),
        recipient_account_id: account,
        node_id: node.id(),
    }
}

/// The record of a change the cluster made on its own (a scheduled deletion, an automatic
/// rotation, an import's expiry), written by the leader that proposed it: CloudTrail's
/// `AwsServiceEvent`, invoked by `kms.amazonaws.com`.
pub fn service_event(node: &Node, event_name: &str, key_id: KeyId, additional: Option<Value>) -> Event {
    let scope = &node.config.arn;
    let account = scope.account_id.clone();
    let arn = crate::kms::identifiers::key_arn(scope, key_id);
    // CloudTrail puts a service event's details in `additionalEventData`, a field Trent's
    // record does not have: they go in `requestParameters` (`keyId`, the expired material id).
    let mut details = serde_json::Map::new();
    details.insert("keyId".to_owned(), Value::String(key_id.to_string()));
    if let Some(Value::Object(more)) = additional {
        details.extend(more);
    }
    Event {
        event_version: EVENT_VERSION.to_owned(),
        user_identity: Some(UserIdentity {
            identity_type: "AWSService".to_owned(),
            principal_id: None,
            arn: None,
            account_id: None,
            access_key_id: None,
            user_name: None,
            invoked_by: Some(EVENT_SOURCE.to_owned()),
        }),
        event_time: trent_audit::rfc3339_seconds(node.now_ms()),
        event_source: EVENT_SOURCE.to_owned(),
        event_name: event_name.to_owned(),
        aws_region: scope.region.clone(),
        source_ip_address: Some(EVENT_SOURCE.to_owned()),
        user_agent: Some(EVENT_SOURCE.to_owned()),
        request_parameters: Some(Value::Object(details)),
        response_elements: None,
        error_code: None,
        error_message: None,
        request_id: crate::crypto::random_uuid().hyphenated().to_string(),
        client_request_id: None,
        event_id: crate::crypto::random_uuid().hyphenated().to_string(),
        read_only: false,
        resources: vec![Resource::key(arn, account.clone())],
        event_type: "AwsServiceEvent".to_owned(),
        management_event: true,
        event_category: "Management".to_owned(),
        recipient_account_id: account,
        node_id: node.id(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_claimed_access_key_is_read_from_the_credential() {
        let header = "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261204/us-east-1/kms/aws4_request, SignedHeaders=host, Signature=abc";
        assert_eq!(claimed_access_key(header).as_deref(), Some("AKIDEXAMPLE"));
        assert_eq!(claimed_access_key("Bearer x"), None);
        assert_eq!(claimed_access_key("AWS4-HMAC-SHA256 Credential=/x"), None);
        let long = format!("AWS4-HMAC-SHA256 Credential={}/x", "A".repeat(1000));
        assert_eq!(claimed_access_key(&long).unwrap().len(), MAX_CLAIMED_ACCESS_KEY_CHARS);
    }
}
