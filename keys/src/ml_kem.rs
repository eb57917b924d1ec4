//! ML-KEM keys (`ML_KEM_512`, `ML_KEM_768`, `ML_KEM_1024`, FIPS 203), stored as their 64-byte
//! seed (d ‖ z). aws-lc-rs cannot rebuild an ML-KEM key from a seed nor encode one as DER, so
//! the key lives as an aws-lc `EVP_PKEY` (see `ffi`), rebuilt by aws-lc's own PKCS#8 parser
//! from the seed-form PKCS#8 (the seed behind a fixed prefix).

use std::ffi::c_int;

use trent_wire::model::KeySpec;
use zeroize::Zeroizing;

use crate::ffi::{self, EvpKey};
use crate::KeysError;

/// The length of an ML-KEM seed (d ‖ z).
const SEED_LEN: usize = 64;

/// One parameter set: aws-lc's NID, the last arc of its OID (2.16.840.1.101.3.4.4.x), and
/// its ciphertext length.
struct ParameterSet {
    nid: c_int,
    oid_arc: u8,
    ciphertext_len: usize,
}

fn parameter_set(spec: KeySpec) -> Result<ParameterSet, KeysError> {
    let (nid, oid_arc, ciphertext_len) = match spec {
        KeySpec::MlKem512 => (ffi::NID_MLKEM512, 1, 768),
        KeySpec::MlKem768 => (ffi::NID_MLKEM768, 2, 1088),
        KeySpec::MlKem1024 => (ffi::NID_MLKEM1024, 3, 1568),
        _ => return Err(KeysError::UnsupportedSpec(spec)),
    };
    Ok(ParameterSet { nid, oid_arc, ciphertext_len })
}

/// The PKCS#8 v1 seed form of an ML-KEM private key (draft-ietf-lamps-kyber-certificates):
/// `SEQUENCE { INTEGER 0, SEQUENCE { OID id-alg-ml-kem-N }, OCTET STRING { [0] seed } }`.
fn seed_pkcs8(parameters: &ParameterSet, seed: &[u8; SEED_LEN]) -> Zeroizing<Vec<u8>> {
    #[rustfmt::skip]
    let prefix = [
        0x30, 0x54, 0x02, 0x01, 0x00,
        0x30, 0x0b, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x04, parameters.oid_arc,
        0x04, 0x42, 0x80, 0x40,
    ];
    let mut der = Zeroizing::new(Vec::with_capacity(prefix.len() + SEED_LEN));
    der.extend_from_slice(&prefix);
    der.extend_from_slice(seed);
    der
}

/// A parsed ML-KEM decapsulation key.
pub(crate) struct MlKemKey {
    key: EvpKey,
    ciphertext_len: usize,
}

/// New private material: a random 64-byte seed.
pub(crate) fn generate(spec: KeySpec) -> Result<Zeroizing<Vec<u8>>, KeysError> {
    parameter_set(spec)?;
    let mut seed = Zeroizing::new(vec![0u8; SEED_LEN]);
    aws_lc_rs::rand::fill(&mut seed)?;
    Ok(seed)
}

impl MlKemKey {
    /// Rebuilds the key of `spec` from its seed.
    pub(crate) fn from_seed(spec: KeySpec, seed: &[u8]) -> Result<MlKemKey, KeysError> {
        let parameters = parameter_set(spec)?;
        let malformed = KeysError::MalformedMaterial(spec);
        let seed: &[u8; SEED_LEN] = seed.try_into().map_err(|_| malformed)?;
        let key = EvpKey::parse_pkcs8(&seed_pkcs8(&parameters, seed)).map_err(|_| malformed)?;
        if key.nid() != parameters.nid {
            return Err(malformed);
        }
        Ok(MlKemKey { key, ciphertext_len: parameters.ciphertext_len })
    }

    /// The encapsulation key as DER SubjectPublicKeyInfo (with the NIST id-alg-ml-kem OID).
    pub(crate) fn public_key_der(&self) -> Result<Vec<u8>, KeysError> {
        self.key.spki_der()
    }

    /// The private key as PKCS#8 v1 DER, in the seed form (`[0] OCTET STRING`).
    pub(crate) fn private_key_der(&self) -> Result<Zeroizing<Vec<u8>>, KeysError> {
        self.key.pkcs8_der()
    }

    /// The shared secret of `ciphertext`. A ciphertext of the wrong length is refused; one of
    /// the right length always yields a secret (ML-KEM's implicit rejection).
    pub(crate) fn decapsulate(&self, ciphertext: &[u8]) -> Result<Zeroizing<Vec<u8>>, KeysError> {
        if ciphertext.len() != self.ciphertext_len {
            return Err(KeysError::InvalidCiphertext);
        }
        self.key.ml_kem_decapsulate(ciphertext)
    }
}

/// A fresh `(ciphertext, shared secret)` under the SPKI encapsulation key `public_key` of `spec`.
pub(crate) fn encapsulate(
    spec: KeySpec,
    public_key: &[u8],
) -> Result<(Vec<u8>, Zeroizing<Vec<u8>>), KeysError> {
    parse_public_key(spec, public_key)?.ml_kem_encapsulate()
}

/// Checks an SPKI public key is an ML-KEM key of the spec's parameter set.
pub(crate) fn check_public_key(spec: KeySpec, public_key: &[u8]) -> Result<(), KeysError> {
    parse_public_key(spec, public_key).map(|_| ())
}

fn parse_public_key(spec: KeySpec, public_key: &[u8]) -> Result<EvpKey, KeysError> {
    let nid = parameter_set(spec)?.nid;
    let key = EvpKey::parse_spki(public_key)?;
    if key.nid() == nid {
        Ok(key)
    } else {
        Err(KeysError::InvalidPublicKey)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_seed_pkcs8_is_the_form_aws_lc_writes_back() {
        for spec in [KeySpec::MlKem512, KeySpec::MlKem768, KeySpec::MlKem1024] {
            let seed = generate(spec).unwrap();
            let key = MlKemKey::from_seed(spec, &seed).unwrap();
            let seed: &[u8; SEED_LEN] = seed.as_slice().try_into().unwrap();
            assert_eq!(key.private_key_der().unwrap(), seed_pkcs8(&parameter_set(spec).unwrap(), seed));
        }
    }

    #[test]
    fn the_public_key_carries_the_nist_oid() {
        let key = MlKemKey::from_seed(KeySpec::MlKem768, &[1; 64]).unwrap();
        let der = key.public_key_der().unwrap();
        let oid = [0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x04, 0x02];
        assert!(der.windows(oid.len()).any(|window| window == oid));
        // SEQUENCE, AlgorithmIdentifier, BIT STRING of 1 + 1184 bytes.
        assert_eq!(der.len(), 4 + 13 + 4 + 1 + 1184);
    }
}
