//! Unwrapped access-key secrets, kept while the node is unsealed so that verifying a signature
//! does not open the sealed secret (an AES-GCM key setup and open) on every request.
//!
//! An entry is used only while the replicated record still holds the same sealed bytes, so a
//! deleted and re-created access key never meets its old secret. Entries are zeroized when
//! evicted, and all of them when the node seals.

use std::collections::HashMap;
use std::sync::Mutex;

use trent_storage::sealed::WrappedSecret;
use zeroize::Zeroizing;

use super::keyring::{Keyring, KeyringError};

/// Most secrets kept; when full the cache starts over (each is re-derivable from the registry).
pub const MAX_CACHED_SECRETS: usize = 10_000;

/// Access key id → the sealed bytes an entry came from, and the secret they hold.
type Entries = HashMap<String, (WrappedSecret, Zeroizing<Vec<u8>>)>;

/// Unwrapped secrets by access key id.
#[derive(Default)]
pub struct SecretCache {
    entries: Mutex<Entries>,
}

impl SecretCache {
    /// The secret `sealed` holds for `access_key_id` (its barrier context), unwrapping it on a
    /// miss or when the record changed.
    pub fn get_or_unwrap(
        &self,
        keyring: &Keyring,
        access_key_id: &str,
        sealed: &WrappedSecret,
    ) -> Result<Zeroizing<Vec<u8>>, KeyringError> {
        if let Some((cached_sealed, secret)) = self.lock().get(access_key_id) {
            if cached_sealed == sealed {
                return Ok(secret.clone());
            }
        }
        let secret = keyring.unwrap(access_key_id.as_bytes(), sealed)?;
        let mut entries = self.lock();
        if entries.len() >= MAX_CACHED_SECRETS {
            entries.clear();
        }
        entries.insert(access_key_id.to_owned(), (sealed.clone(), secret.clone()));
        Ok(secret)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Entries> {
        self.entries.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_secret_is_served_from_the_cache_only_for_the_same_sealed_bytes() {
        let keyring = Keyring::generate([3; 16]).unwrap();
        let first = keyring.wrap(b"AKIDONE", b"first secret").unwrap();
        let cache = SecretCache::default();
        assert_eq!(cache.get_or_unwrap(&keyring, "AKIDONE", &first).unwrap().as_slice(), b"first secret");
        assert_eq!(cache.get_or_unwrap(&keyring, "AKIDONE", &first).unwrap().as_slice(), b"first secret");

        // Deleted and re-created under the same id: the new sealed bytes are unwrapped afresh.
        let second = keyring.wrap(b"AKIDONE", b"second secret").unwrap();
        assert_eq!(cache.get_or_unwrap(&keyring, "AKIDONE", &second).unwrap().as_slice(), b"second secret");

        // A sealed secret bound to another id never opens, cached or not.
        assert_eq!(cache.get_or_unwrap(&keyring, "AKIDTWO", &second).unwrap_err(), KeyringError::Forged);
    }
}
