//! Policies kept parsed: the replicated state stores policy documents as text, and parsing one
//! per call would cost more than the call. A parsed policy is kept by what it belongs to (a
//! key's id, a user's name) together with the text it was parsed from, and used only while the
//! stored text is still exactly that text, so a changed policy is parsed again and nothing needs
//! invalidating. Finding an entry hashes a key id or a user name, never the document (hashing a
//! kilobyte-long key policy on every call cost more than evaluating it). The cache is bounded
//! and starts over when full.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Arc, RwLock};

use trent_policy::{Policy, PolicyError, PolicyKind};
use trent_storage::KeyId;

/// The most parsed policies of each kind kept.
const MAX_CACHED: usize = 4096;

/// A parsed policy and the text it came from.
#[derive(Debug)]
struct Parsed {
    text: String,
    policy: Arc<Policy>,
}

/// Parsed key and identity policies, by key id and by user name.
#[derive(Debug)]
pub struct PolicyCache {
    account: String,
    key_kind: PolicyKind,
    keys: RwLock<HashMap<KeyId, Parsed>>,
    identities: RwLock<HashMap<String, Parsed>>,
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

    /// Parses and validates a key policy (against this account), keeping nothing.
    pub fn parse_key_policy(&self, text: &str) -> Result<Policy, PolicyError> {
        Policy::parse(text, &self.key_kind)
    }

    /// Parses and validates an identity policy, keeping nothing.
    pub fn parse_identity_policy(&self, text: &str) -> Result<Policy, PolicyError> {
        Policy::parse(text, &PolicyKind::Identity)
    }

    /// The policy `text` of key `key_id`, parsed.
    pub fn key_policy(&self, key_id: KeyId, text: &str) -> Result<Arc<Policy>, PolicyError> {
        cached(&self.keys, &key_id, text, || self.parse_key_policy(text))
    }

    /// The identity policy `text` of user `user_name`, parsed.
    pub fn identity_policy(&self, user_name: &str, text: &str) -> Result<Arc<Policy>, PolicyError> {
        cached(&self.identities, user_name, text, || self.parse_identity_policy(text))
    }
}

fn cached<K, Q>(
    map: &RwLock<HashMap<K, Parsed>>,
    owner: &Q,
    text: &str,
    parse: impl FnOnce() -> Result<Policy, PolicyError>,
) -> Result<Arc<Policy>, PolicyError>
where
    K: std::borrow::Borrow<Q> + Hash + Eq,
    Q: ToOwned<Owned = K> + Hash + Eq + ?Sized,
{
    if let Some(parsed) = map.read().unwrap_or_else(|poisoned| poisoned.into_inner()).get(owner) {
        if parsed.text == text {
            return Ok(parsed.policy.clone());
        }
    }
    let policy = Arc::new(parse()?);
    let mut entries = map.write().unwrap_or_else(|poisoned| poisoned.into_inner());
    if entries.len() >= MAX_CACHED {
        entries.clear();
    }
    entries.insert(owner.to_owned(), Parsed { text: text.to_owned(), policy: policy.clone() });
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
        let first = cache.identity_policy("alice", text).expect("parses");
        assert!(Arc::ptr_eq(&first, &cache.identity_policy("alice", text).expect("cached")));
        let changed = r#"{"Statement":{"Effect":"Deny","Action":"kms:*","Resource":"*"}}"#;
        let second = cache.identity_policy("alice", changed).expect("parses");
        assert!(!Arc::ptr_eq(&first, &second), "a changed text is parsed again");
        assert_eq!(cache.identity_policy("bob", text).expect("parses"), first, "same text, same policy");
        assert!(
            cache.key_policy(KeyId(uuid::Uuid::from_bytes([7; 16])), text).is_err(),
            "a key policy statement names a principal"
        );
    }
}
