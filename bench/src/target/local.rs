//! The crypto ceiling: AES-256-GCM with aws-lc-rs in this process, no network, no parsing —
//! what one call's cryptography costs at most.

use aws_lc_rs::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_256_GCM, NONCE_LEN};

use crate::workload::Op;

/// An in-process AES-256-GCM key with a plaintext and one sealed copy of it.
pub struct LocalAes {
    key: LessSafeKey,
    plaintext: Vec<u8>,
    sealed: Vec<u8>,
    nonce: [u8; NONCE_LEN],
}

impl LocalAes {
    /// A fresh random key and a `plaintext_bytes` plaintext.
    pub fn new(plaintext_bytes: usize) -> anyhow::Result<LocalAes> {
        let mut key_bytes = zeroize::Zeroizing::new([0u8; 32]);
        aws_lc_rs::rand::fill(key_bytes.as_mut()).map_err(|_| anyhow::anyhow!("no randomness"))?;
        let key = LessSafeKey::new(
            UnboundKey::new(&AES_256_GCM, key_bytes.as_ref()).map_err(|_| anyhow::anyhow!("bad key"))?,
        );
        let plaintext = vec![0x5a; plaintext_bytes];
        let mut nonce = [0u8; NONCE_LEN];
        aws_lc_rs::rand::fill(&mut nonce).map_err(|_| anyhow::anyhow!("no randomness"))?;
        let mut sealed = plaintext.clone();
        key.seal_in_place_append_tag(Nonce::assume_unique_for_key(nonce), Aad::empty(), &mut sealed)
            .map_err(|_| anyhow::anyhow!("seal failed"))?;
        Ok(LocalAes { key, plaintext, sealed, nonce })
    }

    /// Encrypt: seal a copy of the plaintext under a fresh random nonce. Decrypt: open a copy of
    /// the sealed plaintext. Other operations have no local counterpart.
    pub fn call(&self, op: Op) -> Result<(), String> {
        match op {
            Op::Encrypt => {
                let mut nonce = [0u8; NONCE_LEN];
                aws_lc_rs::rand::fill(&mut nonce).map_err(|_| "RandomFailed".to_owned())?;
                let mut buffer = self.plaintext.clone();
                self.key
                    .seal_in_place_append_tag(Nonce::assume_unique_for_key(nonce), Aad::empty(), &mut buffer)
                    .map_err(|_| "SealFailed".to_owned())
            }
            Op::Decrypt => {
                let mut buffer = self.sealed.clone();
                self.key
                    .open_in_place(Nonce::assume_unique_for_key(self.nonce), Aad::empty(), &mut buffer)
                    .map(|_| ())
                    .map_err(|_| "OpenFailed".to_owned())
            }
            other => Err(format!("local-aes has no {}", other.name())),
        }
    }
}
