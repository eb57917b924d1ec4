//! Cluster initialisation: make the root key, the keyring and the first access key, replicate
//! the sealed forms, and hand the shares and credentials to the caller exactly once.
//!
//! The node that handles init generates the secrets (any node may: they are random, and only
//! their sealed forms enter the log). If two inits race, the log applies one; the other caller
//! gets `AlreadyExistsException` and its shares were never valid.

use base64::engine::general_purpose::STANDARD_NO_PAD;
use base64::Engine;
use trent_storage::{AccessKeyRecord, Command};
use trent_wire::admin::InitResponse;
use trent_wire::{ErrorCode, KmsError};
use zeroize::Zeroizing;

use crate::crypto::{fill_random, SecretKey};
use crate::node::Node;
use crate::seal::keyring::Keyring;
use crate::seal::keyring::SealContext;
use crate::seal::shares::{split, ClusterId};
use crate::write_path::Proposal;

/// Characters of a generated access key id after its prefix.
const ACCESS_KEY_ID_RANDOM_CHARS: usize = 16;
/// Prefix of generated access key ids.
const ACCESS_KEY_ID_PREFIX: &str = "TRNT";

/// An access key id and secret chosen by the operator (dev mode) instead of generated.
pub struct ChosenCredentials {
    /// The id.
    pub access_key_id: String,
    /// The secret.
    pub secret_access_key: Zeroizing<String>,
}

/// Initialises the cluster. Refused if it already is.
pub async fn initialize(
    node: &Node,
    shares: u32,
    threshold: u32,
    chosen: Option<ChosenCredentials>,
) -> Result<InitResponse, KmsError> {
    // A new cluster's feature level rises within a moment of its first leader; what init
    // records (the unseal split) needs level 1.
    crate::feature_level::settle(node).await?;
    node.linearizable_read().await?;
    if node.registry.read().is_initialized() {
        return Err(KmsError::new(ErrorCode::AlreadyExists, "The cluster is already initialised"));
    }
    let internal = |what: &str| KmsError::new(ErrorCode::Internal, format!("initialisation failed: {what}"));
    let root = SecretKey::generate().map_err(|_| internal("random source"))?;
    let mut cluster_id: ClusterId = [0u8; 16];
    fill_random(&mut cluster_id).map_err(|_| internal("random source"))?;
    // Split first: bad parameters must not initialise anything.
    let encoded_shares = split(&root, cluster_id, shares, threshold)
        .map_err(|error| KmsError::new(ErrorCode::Validation, error.to_string()))?;
    let keyring = Keyring::generate(cluster_id).map_err(|_| internal("random source"))?;
    let sealed_keyring = keyring.seal(&root).map_err(|_| internal("sealing the keyring"))?;

    let (access_key_id, secret_access_key) = match chosen {
        Some(chosen) => {
            if !(8..=128).contains(&chosen.secret_access_key.len()) {
                return Err(KmsError::new(ErrorCode::Validation, "A secret access key is 8-128 characters"));
            }
            (chosen.access_key_id, chosen.secret_access_key)
        }
        None => generate_credentials().map_err(|_| internal("random source"))?,
    };
    let secret = keyring
        .wrap(&SealContext::AccessKeySecret { access_key_id: &access_key_id }, secret_access_key.as_bytes())
        .map_err(|_| internal("sealing the access key"))?;
    let admin = AccessKeyRecord {
        access_key_id: access_key_id.clone(),
        secret,
        created_at_ms: node.now_ms(),
        description: "initial administrator".into(),
    };
    let split =
        crate::seal::shares::split_record(&encoded_shares).map_err(|_| internal("recording the split"))?;
    node.write_proposal(Proposal::Command(Command::InitializeCluster { keyring: sealed_keyring, admin }))
        .await?;
    // If this second write is lost (a crash, a leader change) or the cluster is below feature
    // level 1 (a member runs an older build), the cluster works as one from before splits were
    // recorded until its first rekey records one.
    if let Err(error) =
        node.write_proposal(Proposal::Command(Command::RecordUnsealSplit { split, replaces: None })).await
    {
        tracing::warn!(%error, "initialised, but the unseal split is not recorded: rekey once to record one");
    }
    tracing::info!(shares, threshold, "cluster initialised");
    Ok(InitResponse {
        shares: encoded_shares.iter().map(|share| share.to_string()).collect(),
        threshold,
        access_key_id,
        secret_access_key: secret_access_key.to_string(),
    })
}

/// A new access key id (`TRNT` + 16 upper-case letters and digits) and a 40-character secret.
pub fn generate_credentials() -> Result<(String, Zeroizing<String>), crate::crypto::CryptoError> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let mut random = [0u8; ACCESS_KEY_ID_RANDOM_CHARS];
    fill_random(&mut random)?;
    let id: String = std::iter::once(ACCESS_KEY_ID_PREFIX.to_owned())
        .chain(
            random.iter().map(|byte| char::from(ALPHABET[usize::from(*byte) % ALPHABET.len()]).to_string()),
        )
        .collect();
    let mut secret_bytes = Zeroizing::new([0u8; 30]);
    fill_random(secret_bytes.as_mut_slice())?;
    let secret = Zeroizing::new(STANDARD_NO_PAD.encode(secret_bytes.as_slice()));
    Ok((id, secret))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_credentials_look_like_aws_ones_and_differ() {
        let (id, secret) = generate_credentials().unwrap();
        assert_eq!(id.len(), 20);
        assert!(id.starts_with("TRNT") && id.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit()));
        assert_eq!(secret.len(), 40);
        let (other_id, other_secret) = generate_credentials().unwrap();
        assert_ne!(id, other_id);
        assert_ne!(*secret, *other_secret);
    }
}
