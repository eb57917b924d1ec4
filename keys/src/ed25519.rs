//! Ed25519 keys (`ECC_NIST_EDWARDS25519`): pure Ed25519 over the raw message
//! (`ED25519_SHA_512`) and Ed25519ph over a SHA-512 digest with an empty context
//! (`ED25519_PH_SHA_512`), both RFC 8032.

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::signature::{self, Ed25519KeyPair, KeyPair, UnparsedPublicKey};
use trent_wire::model::KeySpec;
use zeroize::Zeroizing;

use crate::ffi::{self, Ed25519PrehashKey, EvpKey};
use crate::message::SigningInput;
use crate::KeysError;

/// A parsed Ed25519 private key, in the two forms its two algorithms take.
pub(crate) struct EdKey {
    pure: Ed25519KeyPair,
    prehash: Ed25519PrehashKey,
}

/// New private material for an Ed25519 key, in its stored form.
pub(crate) fn generate() -> Result<Zeroizing<Vec<u8>>, KeysError> {
    stored_form(&Ed25519KeyPair::generate()?)
}

/// The stored form of an Ed25519 key, whether generated or imported: PKCS#8 v1 DER (the seed
/// alone).
fn stored_form(key: &Ed25519KeyPair) -> Result<Zeroizing<Vec<u8>>, KeysError> {
    Ok(Zeroizing::new(key.to_pkcs8v1()?.as_ref().to_vec()))
}

/// The stored form of imported PKCS#8 DER, v1 or v2 (whose public key must be the private
/// key's); anything else is `MalformedMaterial`.
pub(crate) fn canonical_pkcs8(pkcs8: &[u8]) -> Result<Zeroizing<Vec<u8>>, KeysError> {
    let key = Ed25519KeyPair::from_pkcs8(pkcs8)
        .map_err(|_| KeysError::MalformedMaterial(KeySpec::EccNistEdwards25519))?;
    stored_form(&key)
}

impl EdKey {
    /// Parses PKCS#8 (v1 or v2) DER.
    pub(crate) fn from_pkcs8(pkcs8: &[u8]) -> Result<EdKey, KeysError> {
        let malformed = KeysError::MalformedMaterial(KeySpec::EccNistEdwards25519);
        let pure = Ed25519KeyPair::from_pkcs8(pkcs8).map_err(|_| malformed)?;
        // The seed through aws-lc directly: aws-lc-rs's `Seed` is not zeroized when dropped.
        let seed = EvpKey::parse_pkcs8(pkcs8).and_then(|key| key.ed25519_seed()).map_err(|_| malformed)?;
        Ok(EdKey { prehash: Ed25519PrehashKey::from_seed(&seed), pure })
    }

    /// The public key as DER SubjectPublicKeyInfo.
    pub(crate) fn public_key_der(&self) -> Result<Vec<u8>, KeysError> {
        Ok(self.pure.public_key().as_der()?.as_ref().to_vec())
    }

    /// Signs a checked input: a raw message with Ed25519, a SHA-512 digest with Ed25519ph.
    pub(crate) fn sign(&self, input: &SigningInput<'_>) -> Result<Vec<u8>, KeysError> {
        match input {
            SigningInput::Raw(message) => Ok(self.pure.try_sign(message)?.as_ref().to_vec()),
            SigningInput::Digest(digest) => Ok(self.prehash.sign_digest(sha512(digest)?)?.to_vec()),
            // `signing_input` admits μ for ML-DSA only.
            SigningInput::Mu(_) => Err(KeysError::Crypto),
        }
    }
}

/// Whether `signature` is the signature of a checked input under the SPKI `public_key`.
pub(crate) fn verify(
    public_key: &[u8],
    input: &SigningInput<'_>,
    signature: &[u8],
) -> Result<bool, KeysError> {
    match input {
        SigningInput::Raw(message) => {
            Ok(UnparsedPublicKey::new(&signature::ED25519, public_key).verify(message, signature).is_ok())
        }
        SigningInput::Digest(digest) => {
            let raw = raw_public_key(public_key)?;
            Ok(ffi::ed25519ph_verify_digest(&raw, sha512(digest)?, signature))
        }
        SigningInput::Mu(_) => Err(KeysError::Crypto),
    }
}

/// Checks an SPKI public key is an Ed25519 key.
pub(crate) fn check_public_key(public_key: &[u8]) -> Result<(), KeysError> {
    raw_public_key(public_key).map(|_| ())
}

/// The 32 raw bytes of an SPKI Ed25519 public key.
fn raw_public_key(public_key: &[u8]) -> Result<[u8; ffi::ED25519_PUBLIC_KEY_LEN], KeysError> {
    let key = EvpKey::parse_spki(public_key)?;
    if key.nid() != ffi::EVP_PKEY_ED25519 {
        return Err(KeysError::InvalidPublicKey);
    }
    key.raw_public_key()?.as_slice().try_into().map_err(|_| KeysError::InvalidPublicKey)
}

fn sha512(digest: &aws_lc_rs::digest::Digest) -> Result<&[u8; ffi::SHA512_LEN], KeysError> {
    digest.as_ref().try_into().map_err(|_| KeysError::Crypto)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::signing_input;
    use trent_wire::model::{MessageType, SigningAlgorithm};

    fn hex(text: &str) -> Vec<u8> {
        let text: String = text.split_whitespace().collect();
        (0..text.len()).step_by(2).map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap()).collect()
    }

    /// Stored material (PKCS#8 v1) for an RFC 8032 secret key.
    fn key_from_seed(seed: &str) -> (EdKey, Vec<u8>) {
        let pkcs8 = Ed25519KeyPair::from_seed_unchecked(&hex(seed)).unwrap().to_pkcs8v1().unwrap();
        let key = EdKey::from_pkcs8(pkcs8.as_ref()).unwrap();
        let public_key = key.public_key_der().unwrap();
        (key, public_key)
    }

    #[test]
    fn ed25519_matches_rfc_8032_test_1() {
        let (key, public_key) =
            key_from_seed("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60");
        assert!(
            public_key.ends_with(&hex("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a"))
        );
        // RFC 8032's message is empty; AWS's RAW minimum is one byte, so past `signing_input`.
        let signature = key.sign(&SigningInput::Raw(b"")).unwrap();
        let expected = hex("e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bac
             c61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b");
        assert_eq!(signature, expected);
        assert!(verify(&public_key, &SigningInput::Raw(b""), &signature).unwrap());
    }

    #[test]
    fn ed25519ph_matches_the_rfc_8032_abc_vector() {
        let (key, public_key) =
            key_from_seed("833fe62409237b9d62ec77587520911e9a759cec1d19755b7da901b96dca3d42");
        assert!(
            public_key.ends_with(&hex("ec172b93ad5e563bf4932c70e1245034c35467ef2efd4d64ebf819683467e2bf"))
        );
        // Ed25519ph of "abc": its prehash is SHA-512("abc").
        let input = SigningInput::Digest(aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA512, b"abc"));
        let signature = key.sign(&input).unwrap();
        let expected = hex(
            "98a70222f0b8121aa9d30f813d683f809e462b469c7ff87639499bb94e6dae4131f85042463c2a355a2003d062adf5aa
             a10b8c61e636062aaad11c2a26083406",
        );
        assert_eq!(signature, expected);
        assert!(verify(&public_key, &input, &signature).unwrap());
        // An Ed25519ph signature is not a plain Ed25519 signature of the same bytes.
        assert!(!verify(&public_key, &SigningInput::Raw(b"abc"), &signature).unwrap());
    }

    #[test]
    fn a_digest_message_is_hashed_once_more_as_aws_does() {
        // AWS signs ED25519_PH_SHA_512 + DIGEST as Ed25519ph over the 64 bytes given (whose
        // prehash is their SHA-512), not with those bytes as the prehash.
        let (key, public_key) =
            key_from_seed("833fe62409237b9d62ec77587520911e9a759cec1d19755b7da901b96dca3d42");
        let given = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA512, b"a document");
        let input = signing_input(
            KeySpec::EccNistEdwards25519,
            SigningAlgorithm::Ed25519PhSha512,
            MessageType::Digest,
            given.as_ref(),
        )
        .unwrap();
        let signature = key.sign(&input).unwrap();
        let prehash = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA512, given.as_ref());
        assert!(verify(&public_key, &SigningInput::Digest(prehash), &signature).unwrap());
        let as_prehash =
            SigningInput::Digest(aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA512, b"a document"));
        assert!(
            !verify(&public_key, &as_prehash, &signature).unwrap(),
            "the given digest is not the prehash"
        );
    }
}
