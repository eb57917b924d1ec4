//! Secrets unwrapped from the barrier, kept while the node is unsealed so a hot path (a crypto
//! operation's key material, a signature check's access-key secret) does not open its sealed
//! form — an AES-GCM key setup and open — on every request.
//!
//! An entry is used only while the caller presents the same sealed bytes it came from, so a
//! secret replaced under the same name (an access key deleted and re-created) never meets its
//! old value. Values zeroize themselves when evicted, and all of them go when the node seals.

use std::borrow::Borrow;
use std::collections::{HashMap, VecDeque};
use std::hash::Hash;
use std::sync::{Mutex, MutexGuard};

use trent_storage::sealed::WrappedSecret;
use zeroize::Zeroizing;

use super::keyring::{Keyring, KeyringError, SealContext};

/// Most entries kept; when full, the oldest entry makes room for each new one (each is
/// re-derivable from the registry). Dropping everything at once instead made a working set one
/// larger than the cap miss on every call after each refill (measured: 0.82× throughput at
/// 100,000 keys). A working set beyond the cap misses in proportion to its excess.
pub const MAX_CACHED_SECRETS: usize = 100_000;

/// Unwrapped secrets of type `V` by name `K`.
pub struct UnwrapCache<K, V> {
    entries: Mutex<Entries<K, V>>,
}

/// The cached values and the order their names arrived in (each name once), for O(1) eviction
/// of the oldest.
struct Entries<K, V> {
    values: HashMap<K, (WrappedSecret, V)>,
    arrival: VecDeque<K>,
}

impl<K, V> Default for UnwrapCache<K, V> {
    fn default() -> Self {
        UnwrapCache { entries: Mutex::new(Entries { values: HashMap::new(), arrival: VecDeque::new() }) }
    }
}

impl<K: Hash + Eq + Clone, V: Clone> UnwrapCache<K, V> {
    /// The value `sealed` holds under `name`, unwrapped with barrier `context` on a miss (or when
    /// the sealed bytes changed) and turned into a `V` by `make`.
    pub fn get_or_unwrap<Q>(
        &self,
        keyring: &Keyring,
        name: &Q,
        context: &SealContext<'_>,
        sealed: &WrappedSecret,
        make: impl FnOnce(Zeroizing<Vec<u8>>) -> Result<V, KeyringError>,
    ) -> Result<V, KeyringError>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ToOwned<Owned = K> + ?Sized,
    {
        if let Some((cached_sealed, value)) = self.lock().values.get(name) {
            if cached_sealed == sealed {
                return Ok(value.clone());
            }
        }
        let value = make(keyring.unwrap(context, sealed)?)?;
        let mut entries = self.lock();
        let entries = &mut *entries;
        if !entries.values.contains_key(name) {
            if entries.values.len() >= MAX_CACHED_SECRETS {
                if let Some(oldest) = entries.arrival.pop_front() {
                    entries.values.remove::<K>(&oldest);
                }
            }
            entries.arrival.push_back(name.to_owned());
        }
        entries.values.insert(name.to_owned(), (sealed.clone(), value.clone()));
        Ok(value)
    }

    /// Keeps only the entries `keep` accepts (by name and the sealed bytes they came from); the
    /// others are dropped, their values zeroizing themselves.
    pub fn retain(&self, mut keep: impl FnMut(&K, &WrappedSecret) -> bool) {
        let mut entries = self.lock();
        let entries = &mut *entries;
        entries.values.retain(|name, (sealed, _)| keep(name, sealed));
        let values = &entries.values;
        entries.arrival.retain(|name| values.contains_key(name));
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.lock().values.len()
    }

    /// Whether nothing is cached.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> MutexGuard<'_, Entries<K, V>> {
        self.entries.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// Access-key secrets by access key id (the id is also their barrier context).
pub type SecretCache = UnwrapCache<String, Zeroizing<Vec<u8>>>;

impl SecretCache {
    /// The secret of `access_key_id`.
    pub fn secret(
        &self,
        keyring: &Keyring,
        access_key_id: &str,
        sealed: &WrappedSecret,
    ) -> Result<Zeroizing<Vec<u8>>, KeyringError> {
        self.get_or_unwrap(
            keyring,
            access_key_id,
            &SealContext::AccessKeySecret { access_key_id },
            sealed,
            Ok,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_secret_is_served_from_the_cache_only_for_the_same_sealed_bytes() {
        let keyring = Keyring::generate([3; 16]).unwrap();
        let first = keyring
            .wrap(&SealContext::AccessKeySecret { access_key_id: "AKIDONE" }, b"first secret")
            .unwrap();
        let cache = SecretCache::default();
        assert_eq!(cache.secret(&keyring, "AKIDONE", &first).unwrap().as_slice(), b"first secret");
        assert_eq!(cache.secret(&keyring, "AKIDONE", &first).unwrap().as_slice(), b"first secret");
        assert_eq!(cache.len(), 1);

        // Deleted and re-created under the same id: the new sealed bytes are unwrapped afresh.
        let second = keyring
            .wrap(&SealContext::AccessKeySecret { access_key_id: "AKIDONE" }, b"second secret")
            .unwrap();
        assert_eq!(cache.secret(&keyring, "AKIDONE", &second).unwrap().as_slice(), b"second secret");

        // A sealed secret bound to another id never opens, cached or not.
        assert_eq!(cache.secret(&keyring, "AKIDTWO", &second).unwrap_err(), KeyringError::Forged);
    }

    #[test]
    fn retain_drops_what_it_is_told_and_its_place_in_the_arrival_order() {
        let keyring = Keyring::generate([3; 16]).unwrap();
        let cache = SecretCache::default();
        let sealed_a = keyring.wrap(&SealContext::AccessKeySecret { access_key_id: "A" }, b"a").unwrap();
        let sealed_b = keyring.wrap(&SealContext::AccessKeySecret { access_key_id: "B" }, b"b").unwrap();
        cache.secret(&keyring, "A", &sealed_a).unwrap();
        cache.secret(&keyring, "B", &sealed_b).unwrap();
        cache.retain(|name, _| name != "A");
        assert_eq!(cache.len(), 1);
        assert_eq!(cache.lock().arrival, ["B".to_owned()]);
        cache.retain(|_, sealed| sealed != &sealed_b);
        assert!(cache.is_empty() && cache.lock().arrival.is_empty());
    }

    #[test]
    fn a_full_cache_makes_room_one_entry_at_a_time() {
        let keyring = Keyring::generate([4; 16]).unwrap();
        let cache = SecretCache::default();
        let sealed = |n: usize| {
            keyring.wrap(&SealContext::AccessKeySecret { access_key_id: &format!("AK{n}") }, b"s").unwrap()
        };
        let names: Vec<String> = (0..=MAX_CACHED_SECRETS).map(|n| format!("AK{n}")).collect();
        let wrapped: Vec<WrappedSecret> = (0..=MAX_CACHED_SECRETS).map(sealed).collect();
        for (name, sealed) in names.iter().zip(&wrapped) {
            cache.secret(&keyring, name, sealed).unwrap();
        }
        assert_eq!(cache.len(), MAX_CACHED_SECRETS, "full, not emptied");
        let entries = cache.lock();
        assert!(!entries.values.contains_key("AK0"), "the oldest went");
        assert!(
            entries.values.contains_key("AK1") && entries.values.contains_key(names.last().unwrap().as_str())
        );
        assert_eq!(entries.arrival.len(), MAX_CACHED_SECRETS);
    }
}
