//! The write path: what a node proposes on a client's behalf, and how the leader turns it into a
//! replicated [`Request`].
//!
//! Any node validates a write and builds a [`Proposal`]; the leader alone stamps it (picks key
//! ids and the timestamp) so that applying it on every node needs no clock or randomness.

use serde::{Deserialize, Serialize};
use trent_storage::{Command, KeyDraft, KeyId, NewKey, Registry, Request, RequestId, RotationKind};
use trent_wire::model::{Origin, WrappingAlgorithm, WrappingKeySpec};
use trent_wire::{ErrorCode, KmsError};
use uuid::Uuid;
use zeroize::Zeroizing;

use crate::seal::material;
use crate::seal::state::Seal;

/// A validated write, before the leader has made its decisions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Proposal {
    /// Create a key; the leader picks its id.
    CreateKey(KeyDraft),
    /// A command that needs no leader decision beyond the timestamp.
    Command(Command),
    /// Create a key with its key policy (feature level 2); the leader picks its id.
    CreateKeyWithPolicy {
        /// The key.
        draft: KeyDraft,
        /// Its validated key policy.
        policy: String,
    },
    /// Rotate a key (feature level 4); the leader makes the new material of an `AWS_KMS` key.
    RotateKey {
        /// The key.
        key_id: KeyId,
        /// Its schedule (for one due date) or RotateKeyOnDemand.
        kind: RotationKind,
    },
    /// Make import parameters for an `EXTERNAL` key (feature level 4); the leader makes the
    /// wrapping key pair and the token id.
    CreateImportParameters {
        /// The key.
        key_id: KeyId,
        /// How material will be wrapped.
        algorithm: WrappingAlgorithm,
        /// The wrapping key's spec.
        wrapping_spec: WrappingKeySpec,
    },
}

impl Proposal {
    /// Refuses a command some member of a cluster at feature level `level` might not decode.
    /// A raise of the level is exempt: the leader proposes it after every member said it
    /// supports the new level.
    pub fn check_feature_level(&self, level: u32) -> Result<(), KmsError> {
        let (name, required) = match self {
            Proposal::CreateKey(draft) if draft.needs_level_3() => (draft.spec.as_str(), 3),
            Proposal::CreateKey(_) => return Ok(()),
            Proposal::CreateKeyWithPolicy { draft, .. } if draft.needs_level_3() => (draft.spec.as_str(), 3),
            Proposal::CreateKeyWithPolicy { .. } => ("CreateKeyWithPolicy", 2),
            Proposal::Command(Command::RaiseFeatureLevel { .. }) => return Ok(()),
            Proposal::Command(command) => (command.name(), command.required_level()),
            Proposal::RotateKey { .. } => ("RotateKey", 4),
            Proposal::CreateImportParameters { .. } => ("GetParametersForImport", 4),
        };
        if required <= level {
            return Ok(());
        }
        Err(KmsError::new(
            ErrorCode::InvalidState,
            format!(
                "{name} needs cluster feature level {required}; the cluster is at level {level} until every member runs a build that supports it (GET /v1/sys/cluster on each node shows its level)",
            ),
        ))
    }
}

/// A proposal with the id that deduplicates it across retries and forwarding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ForwardedProposal {
    /// Stays the same on every retry of one client call.
    pub request_id: RequestId,
    /// The write.
    pub proposal: Proposal,
}

impl ForwardedProposal {
    /// Whether the write creates a key whose private material the leader must make first.
    pub fn needs_private_material(&self) -> bool {
        self.private_material_spec().is_some()
    }

    pub(crate) fn private_material_spec(&self) -> Option<trent_wire::model::KeySpec> {
        match &self.proposal {
            Proposal::CreateKey(draft) | Proposal::CreateKeyWithPolicy { draft, .. }
                if draft.needs_level_3() =>
            {
                Some(draft.spec)
            }
            // The wrapping key pair of GetParametersForImport.
            Proposal::CreateImportParameters { wrapping_spec, .. } => {
                crate::kms::import::wrapping_key_spec(*wrapping_spec)
            }
            _ => None,
        }
    }

    /// The private material a new key of a spec other than SYMMETRIC_DEFAULT needs, made on a
    /// low-priority thread (RSA-4096 takes a second or more); `None` for every other write.
    pub async fn prepare_material(&self) -> Result<Option<Zeroizing<Vec<u8>>>, KmsError> {
        let Some(spec) = self.private_material_spec() else {
            return Ok(None);
        };
        let made = crate::cpu_pool::key_generation()
            .run(move || material::generate_private(spec))
            .await
            .map_err(|_| KmsError::new(ErrorCode::Internal, "key generation stopped"))?;
        made.map(Some)
            .map_err(|error| KmsError::new(ErrorCode::Internal, format!("cannot make key material: {error}")))
    }

    /// Makes the leader's decisions — a new key's id and sealed material, a rotation's new
    /// material, the time `now_ms` — and returns the request to replicate. Material needs the
    /// keyring: a sealed leader cannot create or rotate keys. `registry` (the leader's applied
    /// state) tells whether a key to rotate is `EXTERNAL`: its rotation brings no material.
    /// A command that needs a higher cluster feature level than `level` is refused.
    pub fn stamp(
        self,
        now_ms: u64,
        seal: &Seal,
        registry: &Registry,
        level: u32,
        private_material: Option<Zeroizing<Vec<u8>>>,
    ) -> Result<Request, KmsError> {
        self.proposal.check_feature_level(level)?;
        let new_key = |draft: KeyDraft| -> Result<NewKey, KmsError> {
            let key_id = KeyId(Uuid::new_v4());
            let material = seal
                .with_keyring(|keyring| match &private_material {
                    Some(private) => material::seal_private(keyring, &key_id, 1, private),
                    None => material::generate(keyring, &key_id, 1),
                })
                .map_err(sealed_error)?
                .map_err(material_error)?;
            Ok(NewKey { key_id, draft, material })
        };
        let command = match self.proposal {
            Proposal::CreateKey(draft) => Command::CreateKey(new_key(draft)?),
            Proposal::CreateKeyWithPolicy { draft, policy } => {
                Command::CreateKeyWithPolicy { key: new_key(draft)?, policy }
            }
            Proposal::Command(command) => command,
            Proposal::RotateKey { key_id, kind } => {
                // A key this leader has not applied yet is not EXTERNAL: a rotation of one would
                // come after its creation. Apply drops material an EXTERNAL key does not take.
                let external = registry.key(&key_id).is_some_and(|key| key.origin == Origin::External);
                let material = if external {
                    None
                } else {
                    let made = seal
                        .with_keyring(|keyring| material::generate_rotated(keyring, &key_id))
                        .map_err(sealed_error)?
                        .map_err(material_error)?;
                    Some(made)
                };
                Command::RotateKey { key_id, kind, material }
            }
            Proposal::CreateImportParameters { key_id, algorithm, wrapping_spec } => {
                let private_key = private_material.as_deref().ok_or_else(|| {
                    KmsError::new(ErrorCode::Internal, "the wrapping key pair was not made")
                })?;
                let parameters = seal
                    .with_keyring(|keyring| {
                        crate::kms::import::import_parameters(
                            keyring,
                            key_id,
                            algorithm,
                            wrapping_spec,
                            private_key,
                            now_ms,
                        )
                    })
                    .map_err(sealed_error)??;
                Command::CreateImportParameters(parameters)
            }
        };
        Ok(Request { request_id: self.request_id, issued_at_ms: now_ms, command })
    }
}

fn sealed_error(_: crate::seal::state::Sealed) -> KmsError {
    KmsError::new(ErrorCode::ServiceUnavailable, "The leader is sealed")
}

fn material_error(error: crate::seal::keyring::KeyringError) -> KmsError {
    KmsError::new(ErrorCode::Internal, format!("cannot make key material: {error}"))
}

#[cfg(test)]
mod tests {
    use trent_storage::sealed::SealedKeyring;
    use trent_storage::RotatedMaterial;

    use super::*;
    use crate::crypto::SecretKey;
    use crate::seal::keyring::{Keyring, SealContext};
    use crate::seal::shares::split;

    /// An unsealed node's seal, and the keyring it holds (sealed for the replicated state).
    fn unsealed() -> (Seal, SealedKeyring) {
        let root = SecretKey::generate().unwrap();
        let sealed = Keyring::generate([6; 16]).unwrap().seal(&root).unwrap();
        let seal = Seal::default();
        for share in split(&root, [6; 16], 2, 2).unwrap() {
            seal.submit_share(&share, Some(&sealed), None).unwrap();
        }
        (seal, sealed)
    }

    fn rotation(key_id: KeyId) -> ForwardedProposal {
        let kind = RotationKind::Automatic { due_at_ms: 5 };
        ForwardedProposal {
            request_id: RequestId(Uuid::new_v4()),
            proposal: Proposal::RotateKey { key_id, kind },
        }
    }

    fn stamped_material(request: Request) -> RotatedMaterial {
        match request.command {
            Command::RotateKey {
                material: Some(material),
                kind: RotationKind::Automatic { due_at_ms: 5 },
                ..
            } => material,
            other => panic!("not a rotation with material: {other:?}"),
        }
    }

    #[test]
    fn a_rotation_is_stamped_with_new_material_sealed_to_the_key_and_its_material_id() {
        let (seal, _) = unsealed();
        let registry = Registry::default();
        let key_id = KeyId(Uuid::new_v4());
        let first = stamped_material(rotation(key_id).stamp(9, &seal, &registry, 4, None).unwrap());
        let second = stamped_material(rotation(key_id).stamp(9, &seal, &registry, 4, None).unwrap());
        assert_ne!(first.id, second.id, "each rotation picks its own material id");
        let opened = seal.with_keyring(|keyring| {
            let context = SealContext::IdentifiedMaterial { key_id: &key_id, material_id: &first.id };
            keyring.unwrap(&context, &first.sealed).map(|material| material.len())
        });
        assert_eq!(opened.unwrap(), Ok(32), "256-bit material, bound to the key and material id");
        let as_version = seal.with_keyring(|keyring| {
            keyring.unwrap(&SealContext::KeyMaterial { key_id: &key_id, version: 2 }, &first.sealed).is_err()
        });
        assert_eq!(as_version, Ok(true));
    }

    #[test]
    fn a_rotation_needs_an_unsealed_leader_and_feature_level_4() {
        let key_id = KeyId(Uuid::new_v4());
        let registry = Registry::default();
        let sealed = rotation(key_id).stamp(9, &Seal::default(), &registry, 4, None).unwrap_err();
        assert_eq!(sealed.code, ErrorCode::ServiceUnavailable);
        let (seal, _) = unsealed();
        let old_cluster = rotation(key_id).stamp(9, &seal, &registry, 3, None).unwrap_err();
        assert_eq!(old_cluster.code, ErrorCode::InvalidState);
    }
}
