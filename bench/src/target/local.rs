//! The crypto ceiling: each operation's cryptography in this process, no network, no parsing —
//! what one call's cryptography costs at most. SYMMETRIC_DEFAULT keys are AES-256-GCM with
//! aws-lc-rs (Encrypt, Decrypt); keys of the other specs are `trent_keys` private keys, parsed
//! once, the crate (over aws-lc-rs) the server signs, verifies, MACs, agrees and generates with.

use aws_lc_rs::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_256_GCM, NONCE_LEN};
use trent_keys::PrivateKey;
use trent_wire::model::{KeySpec, MessageType};

use super::KeyKind;
use crate::workload::Op;

/// The in-process key and what its operations take.
pub struct LocalCrypto {
    kind: KeyKind,
    plaintext: Vec<u8>,
    key: LocalKey,
}

enum LocalKey {
    /// AES-256-GCM, with one sealed copy of the plaintext.
    Aes { key: LessSafeKey, sealed: Vec<u8>, nonce: [u8; NONCE_LEN] },
    /// Any other spec, with one signature of the plaintext (signing keys) and a peer public key
    /// (key agreement keys).
    Private { key: PrivateKey, signature: Vec<u8>, peer_public_key: Vec<u8> },
}

impl LocalCrypto {
    /// A fresh random key of `kind` and a `plaintext_bytes` plaintext (the message of sign,
    /// verify and generate-mac).
    pub fn new(kind: KeyKind, plaintext_bytes: usize) -> anyhow::Result<LocalCrypto> {
        let plaintext = vec![0x5a; plaintext_bytes];
        let key = if kind.spec() == KeySpec::SymmetricDefault {
            let mut key_bytes = zeroize::Zeroizing::new([0u8; 32]);
            aws_lc_rs::rand::fill(key_bytes.as_mut()).map_err(|_| anyhow::anyhow!("no randomness"))?;
            let key = LessSafeKey::new(
                UnboundKey::new(&AES_256_GCM, key_bytes.as_ref()).map_err(|_| anyhow::anyhow!("bad key"))?,
            );
            let mut nonce = [0u8; NONCE_LEN];
            aws_lc_rs::rand::fill(&mut nonce).map_err(|_| anyhow::anyhow!("no randomness"))?;
            let mut sealed = plaintext.clone();
            key.seal_in_place_append_tag(Nonce::assume_unique_for_key(nonce), Aad::empty(), &mut sealed)
                .map_err(|_| anyhow::anyhow!("seal failed"))?;
            LocalKey::Aes { key, sealed, nonce }
        } else {
            let material = trent_keys::generate(kind.spec())?;
            let key = PrivateKey::from_material(kind.spec(), &material)?;
            let signature = match kind.signing_algorithm() {
                Some(algorithm) => key.sign(algorithm, MessageType::Raw, &plaintext)?,
                None => Vec::new(),
            };
            let peer_public_key = match kind.agreement_algorithm() {
                Some(_) => kind.peer_public_key()?,
                None => Vec::new(),
            };
            LocalKey::Private { key, signature, peer_public_key }
        };
        Ok(LocalCrypto { kind, plaintext, key })
    }

    /// Encrypt: seal a copy of the plaintext under a fresh random nonce. Decrypt: open a copy of
    /// the sealed plaintext. Sign, Verify (of the signature made here), GenerateMac,
    /// DeriveSharedSecret and Encapsulate: the key's operation on the plaintext. CreateKey: new
    /// private material of the spec, as the server generates it. Other operations have no
    /// local counterpart.
    pub fn call(&self, op: Op) -> Result<(), String> {
        let failed = |error: trent_keys::KeysError| error.to_string();
        match (&self.key, op) {
            (LocalKey::Aes { key, .. }, Op::Encrypt) => {
                let mut nonce = [0u8; NONCE_LEN];
                aws_lc_rs::rand::fill(&mut nonce).map_err(|_| "RandomFailed".to_owned())?;
                let mut buffer = self.plaintext.clone();
                key.seal_in_place_append_tag(Nonce::assume_unique_for_key(nonce), Aad::empty(), &mut buffer)
                    .map_err(|_| "SealFailed".to_owned())
            }
            (LocalKey::Aes { key, sealed, nonce }, Op::Decrypt) => {
                let mut buffer = sealed.clone();
                key.open_in_place(Nonce::assume_unique_for_key(*nonce), Aad::empty(), &mut buffer)
                    .map(|_| ())
                    .map_err(|_| "OpenFailed".to_owned())
            }
            (LocalKey::Private { .. }, Op::CreateKey) => {
                trent_keys::generate(self.kind.spec()).map(|_| ()).map_err(failed)
            }
            (LocalKey::Private { key, .. }, Op::Sign) => {
                let algorithm = self.kind.signing_algorithm().ok_or("NoSigningAlgorithm")?;
                key.sign(algorithm, MessageType::Raw, &self.plaintext).map(|_| ()).map_err(failed)
            }
            (LocalKey::Private { key, signature, .. }, Op::Verify) => {
                let algorithm = self.kind.signing_algorithm().ok_or("NoSigningAlgorithm")?;
                match key.verify(algorithm, MessageType::Raw, &self.plaintext, signature) {
                    Ok(true) => Ok(()),
                    Ok(false) => Err("InvalidSignature".to_owned()),
                    Err(error) => Err(failed(error)),
                }
            }
            (LocalKey::Private { key, .. }, Op::GenerateMac) => {
                let algorithm = self.kind.mac_algorithm().ok_or("NoMacAlgorithm")?;
                key.mac(algorithm, &self.plaintext).map(|_| ()).map_err(failed)
            }
            (LocalKey::Private { key, peer_public_key, .. }, Op::DeriveSharedSecret) => {
                key.derive_shared_secret(peer_public_key).map(|_| ()).map_err(failed)
            }
            (LocalKey::Private { key, .. }, Op::Encapsulate) => key.encapsulate().map(|_| ()).map_err(failed),
            (_, other) => Err(format!("local has no {} on {} keys", other.name(), self.kind.spec())),
        }
    }
}

#[cfg(test)]
mod tests {
    use trent_wire::model::KeyUsage;

    use super::*;

    fn local(spec: KeySpec, usage: Option<KeyUsage>, op: Op) -> LocalCrypto {
        LocalCrypto::new(KeyKind::for_ops(spec, usage, &[op]).unwrap(), 64).unwrap()
    }

    #[test]
    fn every_operation_of_the_ceiling_succeeds_on_its_keys() {
        for (spec, usage, op) in [
            (KeySpec::SymmetricDefault, None, Op::Encrypt),
            (KeySpec::SymmetricDefault, None, Op::Decrypt),
            (KeySpec::EccNistP256, None, Op::Sign),
            (KeySpec::EccNistP256, None, Op::Verify),
            (KeySpec::Rsa2048, None, Op::Sign),
            (KeySpec::Rsa2048, None, Op::Verify),
            (KeySpec::Hmac256, None, Op::GenerateMac),
            (KeySpec::EccNistP256, Some(KeyUsage::KeyAgreement), Op::DeriveSharedSecret),
            (KeySpec::MlKem768, None, Op::Encapsulate),
            (KeySpec::EccNistP256, Some(KeyUsage::SignVerify), Op::CreateKey),
        ] {
            assert_eq!(local(spec, usage, op).call(op), Ok(()), "{spec} {op:?}");
        }
    }

    #[test]
    fn operations_without_a_local_counterpart_fail() {
        assert!(local(KeySpec::SymmetricDefault, None, Op::DescribeKey).call(Op::DescribeKey).is_err());
        assert!(local(KeySpec::SymmetricDefault, None, Op::CreateKey).call(Op::CreateKey).is_err());
        assert!(local(KeySpec::Hmac256, None, Op::GenerateMac).call(Op::Sign).is_err());
    }

    #[test]
    fn verify_checks_the_signature() {
        let mut target = local(KeySpec::EccNistP256, None, Op::Verify);
        if let LocalKey::Private { signature, .. } = &mut target.key {
            let last = signature.len() - 1;
            signature[last] ^= 1;
        }
        assert!(target.call(Op::Verify).is_err());
    }
}
