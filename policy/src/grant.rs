//! Grants: a key's standing permissions for one grantee to perform some operations, optionally
//! only with a given encryption context.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::context::RequestContext;

/// What a grant's operations require of the request's encryption context.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GrantConstraints {
    /// The request's context must be exactly this (`EncryptionContextEquals`).
    pub equals: Option<BTreeMap<String, String>>,
    /// The request's context must include all of this (`EncryptionContextSubset`).
    pub subset: Option<BTreeMap<String, String>>,
}

/// One grant on a key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Grant {
    /// Its id (64 hex characters).
    pub grant_id: String,
    /// Who may use it.
    pub grantee_principal: String,
    /// The operations it allows, as KMS names them (`Encrypt`, `Decrypt`, …).
    pub operations: Vec<String>,
    /// Encryption-context constraints, if any.
    pub constraints: Option<GrantConstraints>,
}

impl Grant {
    /// Whether the grant allows the request.
    pub fn allows(&self, context: &RequestContext) -> bool {
        if self.grantee_principal != context.principal_arn {
            return false;
        }
        let Some(operation) = context.action.strip_prefix("kms:") else {
            return false;
        };
        if !self.operations.iter().any(|allowed| allowed == operation) {
            return false;
        }
        let Some(constraints) = &self.constraints else {
            return true;
        };
        // As AWS: constraints apply only to operations that take an encryption context, and
        // compare its keys without case, its values with it.
        if !TAKES_ENCRYPTION_CONTEXT.contains(&operation) {
            return true;
        }
        let requested = folded(&encryption_context(context));
        let equals = constraints.equals.as_ref().is_none_or(|wanted| folded(wanted) == requested);
        let subset = constraints
            .subset
            .as_ref()
            .is_none_or(|wanted| folded(wanted).iter().all(|(key, value)| requested.get(key) == Some(value)));
        equals && subset
    }
}

/// The operations that take an encryption context (with a symmetric key).
const TAKES_ENCRYPTION_CONTEXT: [&str; 8] = [
    "Encrypt",
    "Decrypt",
    "ReEncryptFrom",
    "ReEncryptTo",
    "GenerateDataKey",
    "GenerateDataKeyWithoutPlaintext",
    "GenerateDataKeyPair",
    "GenerateDataKeyPairWithoutPlaintext",
];

/// A context with its keys lower-cased.
fn folded(context: &BTreeMap<String, String>) -> BTreeMap<String, String> {
    context.iter().map(|(key, value)| (key.to_lowercase(), value.clone())).collect()
}

/// The request's encryption context, from its `kms:EncryptionContextKeys` and
/// `kms:EncryptionContext:<key>` condition keys.
fn encryption_context(context: &RequestContext) -> BTreeMap<String, String> {
    let keys = context.values("kms:EncryptionContextKeys").unwrap_or_default();
    keys.iter()
        .filter_map(|key| {
            let value = context.values(&format!("kms:EncryptionContext:{key}"))?.first()?;
            Some((key.clone(), value.clone()))
        })
        .collect()
}
