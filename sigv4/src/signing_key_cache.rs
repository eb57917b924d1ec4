//! SigV4 signing keys (`HMAC(HMAC(HMAC(HMAC("AWS4"+secret, date), region), service), "aws4_request")`),
//! derived once per access key, day, region and service and then reused, in a bounded cache.
//!
//! Each entry also holds a fingerprint of the secret it was derived from, and a lookup must
//! present the secret the credential store returns *now*: so a rotated secret never meets a stale
//! key, and an entry inserted by a request that raced an access key's deletion is harmless (the
//! store no longer returns a secret for it). [`SigningKeyCache::forget`] frees a deleted key's
//! entries at once. Keys and fingerprints are zeroized when evicted or dropped.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};

use zeroize::Zeroizing;

use super::authorization::{CredentialScope, SCOPE_TERMINATOR};
use crate::crypto::{constant_time_eq, hmac_sha256, sha256};

/// Entries kept by default: one per active access key per day, with room to spare.
pub const DEFAULT_CAPACITY: usize = 1024;

/// A derived signing key, zeroized on drop.
pub type SigningKey = Zeroizing<[u8; 32]>;

/// Derived signing keys, at most `capacity` of them; the least recently used goes first.
pub struct SigningKeyCache {
    capacity: usize,
    inner: Mutex<CacheState>,
}

#[derive(Default)]
struct CacheState {
    entries: HashMap<CacheKey, CachedKey>,
    clock: u64,
    hits: u64,
    misses: u64,
}

#[derive(Clone, PartialEq, Eq, Hash)]
struct CacheKey {
    access_key_id: String,
    scope: CredentialScope,
}

struct CachedKey {
    secret_fingerprint: Zeroizing<[u8; 32]>,
    signing_key: SigningKey,
    last_used: u64,
}

/// Counters for tests and metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CacheStats {
    /// Entries held now.
    pub entries: usize,
    /// Lookups answered from the cache.
    pub hits: u64,
    /// Lookups that derived a key.
    pub misses: u64,
}

impl SigningKeyCache {
    /// An empty cache holding at most `capacity` keys (at least one).
    pub fn new(capacity: usize) -> SigningKeyCache {
        SigningKeyCache { capacity: capacity.max(1), inner: Mutex::new(CacheState::default()) }
    }

    /// The signing key for `access_key_id` in `scope` under `secret`, from the cache or derived
    /// (and cached).
    pub fn signing_key(&self, access_key_id: &str, scope: &CredentialScope, secret: &str) -> SigningKey {
        let fingerprint = secret_fingerprint(secret);
        let key = CacheKey { access_key_id: access_key_id.to_owned(), scope: scope.clone() };
        {
            let mut state = self.lock();
            state.clock += 1;
            let now = state.clock;
            if let Some(entry) = state.entries.get_mut(&key) {
                if constant_time_eq(entry.secret_fingerprint.as_slice(), fingerprint.as_slice()) {
                    entry.last_used = now;
                    let signing_key = entry.signing_key.clone();
                    state.hits += 1;
                    return signing_key;
                }
            }
            state.misses += 1;
        }
        // Derive outside the lock: four HMACs should not serialise every other request.
        let signing_key = derive_signing_key(secret, scope);
        let mut state = self.lock();
        if !state.entries.contains_key(&key) && state.entries.len() >= self.capacity {
            let oldest =
                state.entries.iter().min_by_key(|(_, entry)| entry.last_used).map(|(key, _)| key.clone());
            if let Some(oldest) = oldest {
                state.entries.remove(&oldest);
            }
        }
        let last_used = state.clock;
        state.entries.insert(
            key,
            CachedKey { secret_fingerprint: fingerprint, signing_key: signing_key.clone(), last_used },
        );
        signing_key
    }

    /// Drops every key derived for `access_key_id` (call when the access key is deleted or its
    /// secret replaced).
    pub fn forget(&self, access_key_id: &str) {
        self.lock().entries.retain(|key, _| key.access_key_id != access_key_id);
    }

    /// Drops every key.
    pub fn clear(&self) {
        self.lock().entries.clear();
    }

    /// Current counters.
    pub fn stats(&self) -> CacheStats {
        let state = self.lock();
        CacheStats { entries: state.entries.len(), hits: state.hits, misses: state.misses }
    }

    fn lock(&self) -> MutexGuard<'_, CacheState> {
        // The state is consistent after every statement, so a panic elsewhere cannot corrupt it.
        self.inner.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl Default for SigningKeyCache {
    fn default() -> SigningKeyCache {
        SigningKeyCache::new(DEFAULT_CAPACITY)
    }
}

impl std::fmt::Debug for SigningKeyCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKeyCache")
            .field("capacity", &self.capacity)
            .field("stats", &self.stats())
            .finish()
    }
}

/// The SigV4 key derivation, every intermediate zeroized.
pub(crate) fn derive_signing_key(secret: &str, scope: &CredentialScope) -> SigningKey {
    let mut initial = Zeroizing::new(Vec::with_capacity(4 + secret.len()));
    initial.extend_from_slice(b"AWS4");
    initial.extend_from_slice(secret.as_bytes());
    let date_key = Zeroizing::new(hmac_sha256(&initial, scope.date.as_bytes()));
    let region_key = Zeroizing::new(hmac_sha256(date_key.as_slice(), scope.region.as_bytes()));
    let service_key = Zeroizing::new(hmac_sha256(region_key.as_slice(), scope.service.as_bytes()));
    Zeroizing::new(hmac_sha256(service_key.as_slice(), SCOPE_TERMINATOR.as_bytes()))
}

/// Binds an entry to the secret it was derived from without keeping the secret.
fn secret_fingerprint(secret: &str) -> Zeroizing<[u8; 32]> {
    let mut input = Zeroizing::new(Vec::with_capacity(32 + secret.len()));
    input.extend_from_slice(b"trent sigv4 signing-key cache\0");
    input.extend_from_slice(secret.as_bytes());
    Zeroizing::new(sha256(&input))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scope(date: &str) -> CredentialScope {
        CredentialScope { date: date.to_owned(), region: "us-east-1".to_owned(), service: "iam".to_owned() }
    }

    #[test]
    fn derivation_matches_the_aws_documentation_example() {
        // docs.aws.amazon.com "Examples of how to derive a signing key for Signature Version 4".
        let key = derive_signing_key("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", &scope("20120215"));
        assert_eq!(
            super::super::canonical::hex_lower(key.as_slice()),
            "f4780e2d9f65fa895f9c67b32ce1baf0b0d8a43505a000a1a9e090d414db404d"
        );
    }

    #[test]
    fn second_lookup_is_a_hit_with_the_same_key() {
        let cache = SigningKeyCache::default();
        let first = cache.signing_key("AK", &scope("20150830"), "secret");
        let second = cache.signing_key("AK", &scope("20150830"), "secret");
        assert_eq!(first, second);
        assert_eq!(cache.stats(), CacheStats { entries: 1, hits: 1, misses: 1 });
        cache.signing_key("AK", &scope("20150831"), "secret");
        assert_eq!(cache.stats(), CacheStats { entries: 2, hits: 1, misses: 2 });
    }

    #[test]
    fn a_changed_secret_never_meets_the_old_key() {
        let cache = SigningKeyCache::default();
        let old = cache.signing_key("AK", &scope("20150830"), "old secret");
        let new = cache.signing_key("AK", &scope("20150830"), "new secret");
        assert_ne!(old, new);
        assert_eq!(new, derive_signing_key("new secret", &scope("20150830")));
        assert_eq!(cache.stats(), CacheStats { entries: 1, hits: 0, misses: 2 });
    }

    #[test]
    fn forget_drops_only_that_access_keys_entries() {
        let cache = SigningKeyCache::default();
        cache.signing_key("AK1", &scope("20150830"), "s");
        cache.signing_key("AK1", &scope("20150831"), "s");
        cache.signing_key("AK2", &scope("20150830"), "s");
        cache.forget("AK1");
        assert_eq!(cache.stats().entries, 1);
        cache.signing_key("AK2", &scope("20150830"), "s");
        assert_eq!(cache.stats().hits, 1);
        cache.clear();
        assert_eq!(cache.stats().entries, 0);
    }

    #[test]
    fn the_least_recently_used_entry_is_evicted_at_capacity() {
        let cache = SigningKeyCache::new(2);
        cache.signing_key("AK1", &scope("20150830"), "s");
        cache.signing_key("AK2", &scope("20150830"), "s");
        cache.signing_key("AK1", &scope("20150830"), "s");
        cache.signing_key("AK3", &scope("20150830"), "s");
        assert_eq!(cache.stats().entries, 2);
        cache.signing_key("AK1", &scope("20150830"), "s");
        assert_eq!(cache.stats().hits, 2, "AK1 was used more recently than AK2 and must survive");
        cache.signing_key("AK2", &scope("20150830"), "s");
        assert_eq!(cache.stats().misses, 4);
    }
}
