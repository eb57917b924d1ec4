//! One audit record as CloudTrail spells it, so that tools built for CloudTrail's KMS events (and
//! `jq` users) read Trent's log unchanged; Trent adds `nodeId` and the two chain fields.
//!
//! A record never carries a secret: the node copies into `requestParameters` only the fields
//! CloudTrail logs for KMS (key ids, algorithms, encryption context, names), never plaintexts,
//! ciphertext blobs, data keys, signatures, imported material, tokens or shares.

use serde::{Deserialize, Serialize};

/// CloudTrail's record format version these records follow.
pub const EVENT_VERSION: &str = "1.08";
/// `eventSource` of every KMS and admin record.
pub const EVENT_SOURCE: &str = "kms.amazonaws.com";

/// One call or cluster event, as CloudTrail records it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Event {
    /// [`EVENT_VERSION`].
    pub event_version: String,
    /// Who made the call (absent for a call whose signature did not verify).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_identity: Option<UserIdentity>,
    /// When, as RFC 3339 in UTC with second precision (`2026-12-04T01:02:03Z`).
    pub event_time: String,
    /// [`EVENT_SOURCE`].
    pub event_source: String,
    /// The operation (`Encrypt`, `CreateKey`, `Unseal`, …).
    pub event_name: String,
    /// The cluster's region.
    pub aws_region: String,
    /// The caller's address (`kms.amazonaws.com` for a cluster event).
    #[serde(rename = "sourceIPAddress", default, skip_serializing_if = "Option::is_none")]
    pub source_ip_address: Option<String>,
    /// The caller's `User-Agent` (cut to 256 characters).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_agent: Option<String>,
    /// The request's loggable fields, or `null`.
    pub request_parameters: Option<serde_json::Value>,
    /// What a management call returned that CloudTrail logs (a new key's metadata), or `null`.
    pub response_elements: Option<serde_json::Value>,
    /// The error's AWS name, for a refused or failed call.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_code: Option<String>,
    /// The error's message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_message: Option<String>,
    /// The request id the caller got back (`x-amzn-RequestId`), unique per attempt.
    #[serde(rename = "requestID")]
    pub request_id: String,
    /// Trent: the client's own signed `x-trent-request-id`, which its retries of one call share
    /// (`trent-client` sends one with every call).
    #[serde(rename = "clientRequestId", default, skip_serializing_if = "Option::is_none")]
    pub client_request_id: Option<String>,
    /// This record's own id (a UUID).
    #[serde(rename = "eventID")]
    pub event_id: String,
    /// Whether the call only reads (CloudTrail's sense: crypto operations are read-only).
    pub read_only: bool,
    /// The keys it acted on.
    #[serde(default)]
    pub resources: Vec<Resource>,
    /// `AwsApiCall` for a call, `AwsServiceEvent` for a cluster event.
    pub event_type: String,
    /// Whether CloudTrail counts it a management event (KMS: every event is).
    pub management_event: bool,
    /// `Management`.
    pub event_category: String,
    /// The cluster's account.
    pub recipient_account_id: String,
    /// Trent: the node that served the call or ran the event.
    pub node_id: u64,
}

/// `userIdentity`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UserIdentity {
    /// `IAMUser`, `Root` or `AWSService`.
    #[serde(rename = "type")]
    pub identity_type: String,
    /// The user's id (its access key's owner), or the service name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub principal_id: Option<String>,
    /// The user's ARN.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub arn: Option<String>,
    /// The account.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account_id: Option<String>,
    /// The access key that signed the call.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_key_id: Option<String>,
    /// The user's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_name: Option<String>,
    /// For a cluster event: `kms.amazonaws.com`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub invoked_by: Option<String>,
}

/// One entry of `resources`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Resource {
    /// The key's ARN.
    #[serde(rename = "ARN")]
    pub arn: String,
    /// The account.
    #[serde(rename = "accountId")]
    pub account_id: String,
    /// `AWS::KMS::Key`.
    #[serde(rename = "type")]
    pub resource_type: String,
}

impl Resource {
    /// The resource entry of the key `arn` in `account_id`.
    pub fn key(arn: String, account_id: String) -> Resource {
        Resource { arn, account_id, resource_type: "AWS::KMS::Key".to_owned() }
    }
}
