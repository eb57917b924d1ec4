//! Policies kept parsed: the replicated state stores policy documents as text, and parsing one
//! per call would cost more than the call. Parsed policies are kept by their text, so a changed
//! policy is a new entry and nothing needs invalidating; the cache is bounded and starts over
//! when full.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use trent_policy::{Policy, PolicyError, PolicyKind};

/// The most parsed policies of each kind kept.
const MAX_CACHED: usize = 4096;

/// Parsed key and identity policies, by text.
#[derive(Debug)]
pub struct PolicyCache {
    account: String,
    key_kind: PolicyKind,
    keys: RwLock<HashMap<String, Arc<Policy>>>,
    identities: RwLock<HashMap<String, Arc<Policy>>>,
    default_key_policy: Arc<Policy>,
    default_key_policy_text: String,
}

impl PolicyCache {
    /// A cache for the policies of `account`.
    pub fn new(account: &str) -> PolicyCache {
        let key_kind = PolicyKind::Key { account: account.to_owned() };
        let default_key_policy_text = default_key_policy(account);
        let default_key_policy = match Policy::parse(&default_key_policy_text, &key_kind) {
            Ok(policy) => Arc::new(policy),
            // The default policy is ours and parses; an empty one would deny everything.
            Err(error) => {
                tracing::error!(%error, "the default key policy does not parse");
                Arc::new(Policy { statements: Vec::new() })
            }
        };
        PolicyCache {
            account: account.to_owned(),
            key_kind,
            keys: RwLock::default(),
            identities: RwLock::default(),
            default_key_policy,
            default_key_policy_text,
        }
    }

    /// The account policies are validated for.
    pub fn account(&self) -> &str {
        &self.account
    }

    /// AWS's default key policy for this account, parsed.
    pub fn default_key_policy(&self) -> Arc<Policy> {
        self.default_key_policy.clone()
    }

    /// AWS's default key policy for this account, as GetKeyPolicy returns it.
    pub fn default_key_policy_text(&self) -> &str {
        &self.default_key_policy_text
    }

    /// A key policy, parsed (validated against this account).
    pub fn key_policy(&self, text: &str) -> Result<Arc<Policy>, PolicyError> {
        cached(&self.keys, text, &self.key_kind)
    }

    /// An identity policy, parsed.
    pub fn identity_policy(&self, text: &str) -> Result<Arc<Policy>, PolicyError> {
        cached(&self.identities, text, &PolicyKind::Identity)
    }
}

fn cached(
    map: &RwLock<HashMap<String, Arc<Policy>>>,
    text: &str,
    kind: &PolicyKind,
) -> Result<Arc<Policy>, PolicyError> {
    if let Some(policy) = map.read().unwrap_or_else(|poisoned| poisoned.into_inner()).get(text) {
        return Ok(policy.clone());
    }
    let policy = Arc::new(Policy::parse(text, kind)?);
    let mut entries = map.write().unwrap_or_else(|poisoned| poisoned.into_inner());
    if entries.len() >= MAX_CACHED {
        entries.clear();
    }
    entries.insert(text.to_owned(), policy.clone());
    Ok(policy)
}

/// AWS's default key policy: the account's root may do everything, which delegates the key to
/// the account's identity policies.
pub fn default_key_policy(account: &str) -> String {
    format!(
        r#"{{
  "Version" : "2012-10-17",
  "Id" : "key-default-1",
  "Statement" : [ {{
    "Sid" : "Enable IAM User Permissions",
    "Effect" : "Allow",
    "Principal" : {{
      "AWS" : "arn:aws:iam::{account}:root"
    }},
    "Action" : "kms:*",
    "Resource" : "*"
  }} ]
}}"#
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_policy_parses_and_policies_are_kept_by_text() {
        let cache = PolicyCache::new("111122223333");
        assert_eq!(cache.default_key_policy().statements.len(), 1);
        let text = r#"{"Statement":{"Effect":"Allow","Action":"kms:*","Resource":"*"}}"#;
        let first = cache.identity_policy(text).expect("parses");
        assert!(Arc::ptr_eq(&first, &cache.identity_policy(text).expect("cached")));
        assert!(cache.key_policy(text).is_err(), "a key policy statement names a principal");
    }
}
