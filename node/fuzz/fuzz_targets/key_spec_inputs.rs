//! Fuzzes what `trent-keys` parses from callers: public keys (DER SubjectPublicKeyInfo, as
//! DeriveSharedSecret takes them and any verifier reads them), signatures and messages for
//! Verify, RSA-OAEP ciphertexts for Decrypt, ML-KEM ciphertexts for Decapsulate and MACs for
//! VerifyMac. Nothing may panic; an input must never verify under a key that did not sign it.
//!
//! Input layout: `[pick, operation, selector, split_hi, split_lo, rest @ ..]`. `pick` picks a
//! key (one per spec, generated once); `operation` the operation and, by `operation / 6`, the
//! spec (public keys) or signing algorithm (Verify); `selector` the message type (Verify), the
//! OAEP algorithm (Decrypt) or the MAC algorithm (VerifyMac); and the big-endian `split_hi`,
//! `split_lo` an exact byte offset into `rest` (capped at its length) where it splits into two
//! fields: the message and the signature (Verify) or tag (VerifyMac). The other operations take
//! the whole of `rest`. Selector and split are independent, so any field lengths can go with
//! any selector.

#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use trent_keys::{PrivateKey, PublicKey};
use trent_wire::model::{EncryptionAlgorithm, KeySpec, MacAlgorithm, MessageType, SigningAlgorithm};

/// The keys inputs are checked against: every spec but SYMMETRIC_DEFAULT and the slow RSA sizes.
fn keys() -> &'static [PrivateKey] {
    static KEYS: OnceLock<Vec<PrivateKey>> = OnceLock::new();
    KEYS.get_or_init(|| {
        let specs = [
            KeySpec::Rsa2048,
            KeySpec::EccNistP256,
            KeySpec::EccNistP384,
            KeySpec::EccNistP521,
            KeySpec::EccSecgP256k1,
            KeySpec::EccNistEdwards25519,
            KeySpec::MlDsa44,
            KeySpec::MlKem512,
            KeySpec::Hmac256,
        ];
        specs
            .iter()
            .map(|spec| {
                let material = trent_keys::generate(*spec).expect("generate");
                PrivateKey::from_material(*spec, &material).expect("parse")
            })
            .collect()
    })
}

fuzz_target!(|data: &[u8]| {
    let [pick, operation, selector, split_hi, split_lo, rest @ ..] = data else {
        return;
    };
    let key = &keys()[*pick as usize % keys().len()];
    let at = (u16::from_be_bytes([*split_hi, *split_lo]) as usize).min(rest.len());
    let (first, second) = rest.split_at(at);
    match operation % 6 {
        0 => {
            // A public key of any spec, as GetPublicKey's readers and DeriveSharedSecret see it.
            let spec = KeySpec::ALL[*operation as usize / 6 % KeySpec::ALL.len()];
            if let Ok(public) = PublicKey::from_der(spec, rest) {
                assert_eq!(public.spec(), spec);
            }
        }
        1 => {
            let _ = key.derive_shared_secret(rest);
        }
        2 => {
            let algorithm = SigningAlgorithm::ALL[*operation as usize / 6 % SigningAlgorithm::ALL.len()];
            let message_type = MessageType::ALL[*selector as usize % MessageType::ALL.len()];
            // Nobody signed this: it must not verify (a forged signature over a random message
            // would be a break of the scheme).
            if let Ok(valid) = key.verify(algorithm, message_type, first, second) {
                assert!(!valid, "a signature nobody made verified");
            }
            if let Ok(public) = key.public_key() {
                let _ = public.verify(algorithm, message_type, first, second);
            }
        }
        3 => {
            let algorithm = [EncryptionAlgorithm::RsaesOaepSha1, EncryptionAlgorithm::RsaesOaepSha256]
                [*selector as usize % 2];
            let _ = key.decrypt(algorithm, rest);
        }
        4 => {
            let _ = key.decapsulate(rest);
        }
        _ => {
            let algorithm = MacAlgorithm::ALL[*selector as usize % MacAlgorithm::ALL.len()];
            if let Ok(valid) = key.verify_mac(algorithm, first, second) {
                if valid {
                    // Only the real MAC verifies.
                    assert_eq!(key.mac(algorithm, first).ok().as_deref(), Some(second));
                }
            }
        }
    }
});
