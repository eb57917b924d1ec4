//! What `GET /v1/sys/audit` and `GET /v1/sys/audit/public-key` answer, shared by the node that
//! serves them and the client that reads them.

use serde::{Deserialize, Serialize};

use crate::Event;

/// One page of records, oldest first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditPage {
    /// The records.
    #[serde(rename = "Events")]
    pub events: Vec<Event>,
    /// Where the next page starts; absent on the last.
    #[serde(rename = "NextToken", default, skip_serializing_if = "Option::is_none")]
    pub next_token: Option<String>,
    /// Where a later query goes on to see only records newer than these, present on every page
    /// (the last one too): `trent audit tail` polls with it.
    #[serde(rename = "ResumeToken", default, skip_serializing_if = "Option::is_none")]
    pub resume_token: Option<String>,
    /// Members that did not answer a cluster-wide query: their records are missing from this
    /// page, and the token resumes them where they were.
    #[serde(rename = "UnreachableNodes", default, skip_serializing_if = "Vec::is_empty")]
    pub unreachable_nodes: Vec<u64>,
}

/// The key the cluster's digest records verify with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditPublicKey {
    /// PEM SubjectPublicKeyInfo.
    #[serde(rename = "PublicKey")]
    pub public_key: String,
    /// The id digest records name it by.
    #[serde(rename = "KeyId")]
    pub key_id: String,
    /// `ECC_NIST_P256`.
    #[serde(rename = "KeySpec")]
    pub key_spec: String,
    /// `ECDSA_SHA_256`.
    #[serde(rename = "SigningAlgorithm")]
    pub signing_algorithm: String,
}
