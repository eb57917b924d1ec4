//! Whether this node holds its secrets: sealed (collecting unseal shares) or unsealed (root key
//! and keyring in memory). Sealing drops both, and they are zeroized as they drop.
//!
//! Raft keeps running while a node is sealed — its log and registry hold only wrapped secrets —
//! so a sealed node stays in step with the cluster and unseals against the current keyring.

use std::sync::RwLock;
use std::time::{Duration, Instant};

use trent_storage::sealed::{SealedKeyring, UnsealSplit, UnsealSplits};

use super::keyring::{Keyring, KeyringError};
use super::material::MaterialCache;
use super::shares::{check_joins, combine, decode, DecodedShare, ShareError};
use super::unwrap_cache::SecretCache;
use crate::crypto::SecretKey;

/// What `status` and `unseal` report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SealStatus {
    /// Whether the node is sealed.
    pub sealed: bool,
    /// Shares needed, once the first share has told us (or while unsealed).
    pub threshold: Option<u8>,
    /// Shares collected towards the threshold.
    pub progress: usize,
}

/// Why a share or an unseal attempt was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UnsealError {
    /// The cluster has not been initialised: there is nothing to unseal.
    #[error("the cluster is not initialised")]
    NotInitialized,
    /// The share itself was refused (malformed, foreign, repeated...). Progress is kept.
    #[error("{0}")]
    Share(ShareError),
    /// A threshold of shares was reached but they do not open the keyring. Progress is reset;
    /// which share was wrong is not (and cannot be) said.
    #[error("unseal failed: the shares do not open this cluster's keyring; progress has been reset")]
    WrongShares,
}

/// The node is sealed; the operation needs its secrets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the node is sealed")]
pub struct Sealed;

impl From<Sealed> for trent_wire::KmsError {
    fn from(_: Sealed) -> trent_wire::KmsError {
        trent_wire::KmsError::new(
            trent_wire::ErrorCode::ServiceUnavailable,
            "This node is sealed; unseal it with POST /v1/sys/unseal",
        )
    }
}

enum SealState {
    Sealed {
        collected: Vec<DecodedShare>,
    },
    // The caches are boxed: they are large, and the state is swapped whole on seal and unseal.
    Unsealed {
        root: SecretKey,
        keyring: Keyring,
        materials: Box<MaterialCache>,
        secrets: Box<SecretCache>,
        /// The split the shares that unsealed this node came from.
        opened_by: UnsealSplit,
    },
}

/// This node's seal. Starts sealed.
pub struct Seal {
    state: RwLock<SealState>,
    /// When unseal progress was last reset on request (an unauthenticated call, so rationed).
    last_reset: std::sync::Mutex<Option<Instant>>,
}

impl Default for Seal {
    fn default() -> Self {
        Seal {
            state: RwLock::new(SealState::Sealed { collected: Vec::new() }),
            last_reset: Default::default(),
        }
    }
}

/// The least time between two requested resets of unseal progress.
pub const RESET_INTERVAL: Duration = Duration::from_secs(10);

/// A reset came sooner than [`RESET_INTERVAL`] after the last one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("unseal progress was reset less than {}s ago; retry in {}s", RESET_INTERVAL.as_secs(), .retry_in.as_secs().max(1))]
pub struct ResetThrottled {
    /// How long until a reset is accepted.
    pub retry_in: Duration,
}

impl Seal {
    fn read(&self) -> std::sync::RwLockReadGuard<'_, SealState> {
        self.state.read().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, SealState> {
        self.state.write().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Sealed or not, and unseal progress.
    pub fn status(&self) -> SealStatus {
        match &*self.read() {
            SealState::Sealed { collected } => SealStatus {
                sealed: true,
                threshold: collected.first().map(|share| share.threshold),
                progress: collected.len(),
            },
            SealState::Unsealed { .. } => SealStatus { sealed: false, threshold: None, progress: 0 },
        }
    }

    /// Takes one unseal share. `keyring` is the replicated sealed keyring (None before init),
    /// `splits` the replicated record of the accepted splits (None for a cluster that has not
    /// recorded one: initialised before splits were recorded, and not rekeyed since). Unseals
    /// when the threshold is reached and the shares open the keyring.
    pub fn submit_share(
        &self,
        text: &str,
        keyring: Option<&SealedKeyring>,
        splits: Option<&UnsealSplits>,
    ) -> Result<SealStatus, UnsealError> {
        let sealed_keyring = keyring.ok_or(UnsealError::NotInitialized)?;
        let share = decode(text).map_err(UnsealError::Share)?;
        let mut state = self.write();
        let SealState::Sealed { collected } = &mut *state else {
            return Ok(SealStatus { sealed: false, threshold: None, progress: 0 });
        };
        check_joins(collected, &share, Some(&sealed_keyring.cluster_id), splits)
            .map_err(UnsealError::Share)?;
        let threshold = share.threshold;
        collected.push(share);
        if collected.len() < usize::from(threshold) {
            return Ok(SealStatus { sealed: true, threshold: Some(threshold), progress: collected.len() });
        }
        let opened =
            combine(collected).map_err(|_| UnsealError::WrongShares).and_then(
                |(root, _)| match Keyring::open(sealed_keyring, &root) {
                    Ok(keyring) => Ok((root, keyring)),
                    Err(_) => Err(UnsealError::WrongShares),
                },
            );
        match opened {
            Ok((root, keyring)) => {
                // Shares made elsewhere: how many there are is not known here (0).
                let opened_by =
                    UnsealSplit { threshold, shares: 0, fingerprint: share_fingerprint(collected) };
                *state = SealState::Unsealed {
                    root,
                    keyring,
                    materials: Box::default(),
                    secrets: Box::default(),
                    opened_by,
                };
                Ok(SealStatus { sealed: false, threshold: None, progress: 0 })
            }
            Err(error) => {
                collected.clear();
                Err(error)
            }
        }
    }

    /// Forgets shares collected so far; at most once per [`RESET_INTERVAL`], as anyone who can
    /// reach the port may ask.
    pub fn reset(&self) -> Result<(), ResetThrottled> {
        let now = Instant::now();
        {
            let mut last = self.last_reset.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            if let Some(elapsed) = last.map(|at| now.saturating_duration_since(at)) {
                if elapsed < RESET_INTERVAL {
                    return Err(ResetThrottled { retry_in: RESET_INTERVAL - elapsed });
                }
            }
            *last = Some(now);
        }
        if let SealState::Sealed { collected } = &mut *self.write() {
            collected.clear();
        }
        Ok(())
    }

    /// The split whose shares unsealed this node, while unsealed.
    pub fn opened_by(&self) -> Option<UnsealSplit> {
        match &*self.read() {
            SealState::Unsealed { opened_by, .. } => Some(opened_by.clone()),
            SealState::Sealed { .. } => None,
        }
    }

    /// Drops the root key and keyring (zeroized as they drop).
    pub fn seal(&self) {
        *self.write() = SealState::Sealed { collected: Vec::new() };
    }

    /// Runs `f` with the keyring, if unsealed.
    pub fn with_keyring<T>(&self, f: impl FnOnce(&Keyring) -> T) -> Result<T, Sealed> {
        match &*self.read() {
            SealState::Unsealed { keyring, .. } => Ok(f(keyring)),
            SealState::Sealed { .. } => Err(Sealed),
        }
    }

    /// Runs `f` with the root key and keyring, if unsealed (rekey, rotation).
    pub fn with_root<T>(&self, f: impl FnOnce(&SecretKey, &Keyring) -> T) -> Result<T, Sealed> {
        match &*self.read() {
            SealState::Unsealed { root, keyring, .. } => Ok(f(root, keyring)),
            SealState::Sealed { .. } => Err(Sealed),
        }
    }

    /// The unwrapped material of a key version (cached while unsealed; dropped on seal).
    pub fn material(
        &self,
        key_id: &trent_storage::KeyId,
        spec: trent_wire::model::KeySpec,
        material: &trent_storage::KeyMaterial,
    ) -> Result<Result<super::key_secret::KeySecret, KeyringError>, Sealed> {
        match &*self.read() {
            SealState::Unsealed { keyring, materials, .. } => {
                Ok(materials.material(keyring, key_id, spec, material))
            }
            SealState::Sealed { .. } => Err(Sealed),
        }
    }

    /// Drops unwrapped material the registry no longer holds in the same sealed form: material
    /// deleted or expired (imported), and keys deleted. Each node calls it on its sweep, so a
    /// customer's deleted material does not outlive its deletion in memory by more than a sweep.
    pub fn forget_materials(&self, registry: &trent_storage::Registry) {
        if let SealState::Unsealed { materials, .. } = &*self.read() {
            // One lookup per entry: the name carries its version.
            materials.retain(|(key_id, name), sealed| {
                let held = registry.key(key_id).and_then(|key| key.material(name.version()));
                held.is_some_and(|material| {
                    super::material::MaterialName::of(material) == *name && material.sealed() == Some(sealed)
                })
            });
        }
    }

    /// The secret of access key `access_key_id` (cached while unsealed; dropped on seal).
    pub fn access_key_secret(
        &self,
        access_key_id: &str,
        sealed: &trent_storage::sealed::WrappedSecret,
    ) -> Result<Result<zeroize::Zeroizing<Vec<u8>>, KeyringError>, Sealed> {
        match &*self.read() {
            SealState::Unsealed { keyring, secrets, .. } => {
                Ok(secrets.secret(keyring, access_key_id, sealed))
            }
            SealState::Sealed { .. } => Err(Sealed),
        }
    }

    /// Re-opens the keyring from the replicated state after a rotation elsewhere.
    pub fn refresh(&self, sealed: &SealedKeyring) -> Result<(), KeyringError> {
        let mut state = self.write();
        if let SealState::Unsealed { root, keyring, .. } = &mut *state {
            *keyring = Keyring::open(sealed, root)?;
        }
        Ok(())
    }
}

fn share_fingerprint(collected: &[DecodedShare]) -> [u8; 32] {
    collected.first().map(DecodedShare::split_fingerprint).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::seal::shares::split;

    fn initialised(shares: u32, threshold: u32) -> (SealedKeyring, Vec<String>) {
        let root = SecretKey::generate().unwrap();
        let keyring = Keyring::generate([6; 16]).unwrap();
        let sealed = keyring.seal(&root).unwrap();
        let texts =
            split(&root, [6; 16], shares, threshold).unwrap().into_iter().map(|s| s.to_string()).collect();
        (sealed, texts)
    }

    #[test]
    fn unseals_at_the_threshold_and_reports_progress_before() {
        let (keyring, shares) = initialised(5, 3);
        let seal = Seal::default();
        assert_eq!(seal.status(), SealStatus { sealed: true, threshold: None, progress: 0 });
        let first = seal.submit_share(&shares[4], Some(&keyring), None).unwrap();
        assert_eq!(first, SealStatus { sealed: true, threshold: Some(3), progress: 1 });
        seal.submit_share(&shares[0], Some(&keyring), None).unwrap();
        assert_eq!(seal.with_keyring(|_| ()), Err(Sealed), "two of three shares do not unseal");
        let done = seal.submit_share(&shares[2], Some(&keyring), None).unwrap();
        assert!(!done.sealed);
        assert_eq!(seal.with_keyring(|keyring| keyring.current_version()).unwrap(), 1);
    }

    #[test]
    fn a_refused_share_keeps_progress_and_a_wrong_set_resets_it() {
        let (keyring, shares) = initialised(3, 2);
        let seal = Seal::default();
        seal.submit_share(&shares[0], Some(&keyring), None).unwrap();
        assert!(matches!(
            seal.submit_share(&shares[0], Some(&keyring), None),
            Err(UnsealError::Share(ShareError::Repeated))
        ));
        assert!(matches!(
            seal.submit_share("junk", Some(&keyring), None),
            Err(UnsealError::Share(ShareError::NotAShare))
        ));
        assert_eq!(seal.status().progress, 1);

        // A share of this cluster from another split is refused by name, and progress is kept.
        let other_root = SecretKey::generate().unwrap();
        let stranger = split(&other_root, [6; 16], 3, 2).unwrap().remove(1);
        assert_eq!(
            seal.submit_share(&stranger, Some(&keyring), None).unwrap_err(),
            UnsealError::Share(ShareError::MixedSplits)
        );
        assert_eq!(seal.status().progress, 1);
        // One of the right split that does not combine (a damaged key share) resets progress.
        let damaged = crate::seal::shares::tests::with_damaged_key_share(&shares[1]);
        assert_eq!(seal.submit_share(&damaged, Some(&keyring), None).unwrap_err(), UnsealError::WrongShares);
        assert_eq!(seal.status(), SealStatus { sealed: true, threshold: None, progress: 0 });
    }

    #[test]
    fn sealing_forgets_everything_and_reset_clears_progress() {
        let (keyring, shares) = initialised(2, 2);
        let seal = Seal::default();
        seal.submit_share(&shares[0], Some(&keyring), None).unwrap();
        seal.reset().unwrap();
        assert_eq!(seal.status().progress, 0);
        assert!(
            matches!(seal.reset(), Err(ResetThrottled { retry_in }) if retry_in <= RESET_INTERVAL),
            "a second reset within the interval is throttled"
        );
        seal.submit_share(&shares[0], Some(&keyring), None).unwrap();
        seal.submit_share(&shares[1], Some(&keyring), None).unwrap();
        assert_eq!(seal.with_keyring(|_| ()), Ok(()));
        seal.seal();
        assert_eq!(seal.with_keyring(|_| ()), Err(Sealed));
        assert!(seal.status().sealed);
    }

    #[test]
    fn unseal_before_init_is_refused() {
        let (_, shares) = initialised(1, 1);
        assert_eq!(
            Seal::default().submit_share(&shares[0], None, None).unwrap_err(),
            UnsealError::NotInitialized
        );
    }
}
