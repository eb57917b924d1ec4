//! Request and response shapes of the KMS key policy and grant operations (`PutKeyPolicy`,
//! `GetKeyPolicy`, `ListKeyPolicies`, `CreateGrant`, `ListGrants`, `ListRetirableGrants`,
//! `RetireGrant`, `RevokeGrant`), field names exactly as AWS spells them.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// `PutKeyPolicy` request.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct PutKeyPolicyRequest {
    /// Key id or key ARN.
    pub key_id: String,
    /// Only `default`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy_name: Option<String>,
    /// The key policy document.
    pub policy: String,
    /// Skip the check that the new policy still lets the caller change it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bypass_policy_lockout_safety_check: Option<bool>,
}

/// `GetKeyPolicy` request.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct GetKeyPolicyRequest {
    /// Key id or key ARN.
    pub key_id: String,
    /// Only `default` (also when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy_name: Option<String>,
}

/// `GetKeyPolicy` response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct GetKeyPolicyResponse {
    /// The key policy document.
    pub policy: String,
    /// `default`.
    pub policy_name: String,
}

/// `ListKeyPolicies` request.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListKeyPoliciesRequest {
    /// Key id or key ARN.
    pub key_id: String,
    /// 1–1000.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<i64>,
    /// From a previous page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub marker: Option<String>,
}

/// `ListKeyPolicies` response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListKeyPoliciesResponse {
    /// `["default"]`.
    pub policy_names: Vec<String>,
    /// Always false: a key has one policy.
    pub truncated: bool,
}

/// A grant's encryption-context constraints.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct GrantConstraints {
    /// The request's encryption context must include these pairs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encryption_context_subset: Option<BTreeMap<String, String>>,
    /// The request's encryption context must be exactly these pairs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encryption_context_equals: Option<BTreeMap<String, String>>,
}

/// `CreateGrant` request.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CreateGrantRequest {
    /// Key id or key ARN.
    pub key_id: String,
    /// Who may use the grant: a principal ARN of this account.
    pub grantee_principal: String,
    /// Who may retire it, besides the grantee.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retiring_principal: Option<String>,
    /// The operations it allows.
    pub operations: Vec<String>,
    /// Encryption-context constraints.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub constraints: Option<GrantConstraints>,
    /// Grant tokens of grants that allow the caller to create this one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grant_tokens: Option<Vec<String>>,
    /// A name: CreateGrant with the same name and parameters answers the same grant.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Check everything, change nothing, answer `DryRunOperationException`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dry_run: Option<bool>,
}

/// `CreateGrant` response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CreateGrantResponse {
    /// A token that makes the grant usable at once, on any node.
    pub grant_token: String,
    /// The grant's id, 64 hex characters.
    pub grant_id: String,
}

/// `ListGrants` request.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListGrantsRequest {
    /// 1–100 (AWS's maximum for grants).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<i64>,
    /// From a previous page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub marker: Option<String>,
    /// Key id or key ARN.
    pub key_id: String,
    /// Only this grant.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grant_id: Option<String>,
    /// Only grants for this grantee.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grantee_principal: Option<String>,
}

/// `ListRetirableGrants` request.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListRetirableGrantsRequest {
    /// 1–100.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<i64>,
    /// From a previous page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub marker: Option<String>,
    /// Grants this principal may retire.
    pub retiring_principal: String,
}

/// One grant in a listing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct GrantListEntry {
    /// The key's id.
    pub key_id: String,
    /// The grant's id.
    pub grant_id: String,
    /// Its name, if it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// When it was created, epoch seconds.
    pub creation_date: f64,
    /// Who may use it.
    pub grantee_principal: String,
    /// Who may retire it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retiring_principal: Option<String>,
    /// The account that created it (`arn:aws:iam::<account>:root`).
    pub issuing_account: String,
    /// What it allows.
    pub operations: Vec<String>,
    /// Its constraints.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub constraints: Option<GrantConstraints>,
}

/// `ListGrants` and `ListRetirableGrants` response.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListGrantsResponse {
    /// One page of grants.
    pub grants: Vec<GrantListEntry>,
    /// Where the next page starts, when truncated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_marker: Option<String>,
    /// Whether more follow.
    pub truncated: bool,
}

/// `RetireGrant` request: a grant token, or key and grant id.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct RetireGrantRequest {
    /// The grant's token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grant_token: Option<String>,
    /// The key's ARN (with `GrantId`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_id: Option<String>,
    /// The grant's id (with `KeyId`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grant_id: Option<String>,
    /// Check everything, change nothing, answer `DryRunOperationException`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dry_run: Option<bool>,
}

/// `RevokeGrant` request.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct RevokeGrantRequest {
    /// Key id or key ARN.
    pub key_id: String,
    /// The grant's id.
    pub grant_id: String,
    /// Check everything, change nothing, answer `DryRunOperationException`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dry_run: Option<bool>,
}
