//! Data key pairs (`GenerateDataKeyPair`): a fresh key pair handed out rather than kept, its
//! private half as PKCS#8 DER (what AWS returns as `PrivateKeyPlaintext`) and its public half
//! as DER SubjectPublicKeyInfo.

use trent_wire::model::{DataKeyPairSpec, KeySpec};
use zeroize::Zeroizing;

use crate::{generate, KeysError, PrivateKey};

/// A new data key pair of `spec`: `(PKCS#8 v1 DER private key, SPKI DER public key)`. ML-KEM
/// private keys are PKCS#8 in the seed form.
pub fn generate_data_key_pair(spec: DataKeyPairSpec) -> Result<(Zeroizing<Vec<u8>>, Vec<u8>), KeysError> {
    let spec = key_spec(spec);
    let material = generate(spec)?;
    let key = PrivateKey::from_material(spec, &material)?;
    let public_key = key.public_key_der()?.to_vec();
    let private_key = match key.ml_kem_private_key_der() {
        Some(der) => der?,
        // The stored form of every other pair spec is already PKCS#8.
        None => material,
    };
    Ok((private_key, public_key))
}

/// The key spec of the same name.
pub fn key_spec(spec: DataKeyPairSpec) -> KeySpec {
    match spec {
        DataKeyPairSpec::Rsa2048 => KeySpec::Rsa2048,
        DataKeyPairSpec::Rsa3072 => KeySpec::Rsa3072,
        DataKeyPairSpec::Rsa4096 => KeySpec::Rsa4096,
        DataKeyPairSpec::EccNistP256 => KeySpec::EccNistP256,
        DataKeyPairSpec::EccNistP384 => KeySpec::EccNistP384,
        DataKeyPairSpec::EccNistP521 => KeySpec::EccNistP521,
        DataKeyPairSpec::EccSecgP256k1 => KeySpec::EccSecgP256k1,
        DataKeyPairSpec::EccNistEdwards25519 => KeySpec::EccNistEdwards25519,
        DataKeyPairSpec::MlKem512 => KeySpec::MlKem512,
        DataKeyPairSpec::MlKem768 => KeySpec::MlKem768,
        DataKeyPairSpec::MlKem1024 => KeySpec::MlKem1024,
    }
}
