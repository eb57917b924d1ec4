//! Bring-your-own-key import: the typed calls GetParametersForImport, ImportKeyMaterial and
//! DeleteImportedKeyMaterial, and [`TrentClient::import_material`], the whole exchange an
//! operator runs: learn the key's spec, check the material against it, ask for a wrapping key,
//! wrap the material under it on this machine, and import the wrapped bytes.
//!
//! Plaintext material is only borrowed or held in `Zeroizing` buffers, and no error here
//! carries any of it. Not here: reading files (the CLI does), the import rules that depend on
//! the key's history or the clock (the server's).

use trent_keys::import::{canonical_material, wrap};
use trent_keys::KeysError;
use trent_wire::import::{
    DeleteImportedKeyMaterialRequest, GetParametersForImportRequest, GetParametersForImportResponse,
    ImportKeyMaterialRequest, KeyMaterialResponse,
};
use trent_wire::kms::KeyIdRequest;
use trent_wire::model::{ExpirationModel, ImportType, KeySpec, WrappingAlgorithm, WrappingKeySpec};
use trent_wire::validation::{check_key_material_description, check_key_material_id};
use trent_wire::{Blob, KmsError, Operation};
use zeroize::Zeroizing;

use crate::client::TrentClient;
use crate::error::ClientError;

/// Largest material file read, PEM included: a PKCS#8 ML-DSA-87 key with its expanded form
/// (the largest importable) is under 5 KiB of DER, under 7 KiB of PEM.
pub const MAX_MATERIAL_FILE_BYTES: usize = 16 * 1024;

/// The PEM label of an unencrypted PKCS#8 private key, the only PEM form taken.
const PKCS8_LABEL: &[u8] = b"PRIVATE KEY";

/// The wrapping algorithm used when none is asked for: AES key wrap under RSA for asymmetric
/// material, which RSA-OAEP alone cannot always carry (an RSA private key, P-521 material under
/// RSA_2048), and RSA-OAEP with SHA-256 for symmetric and HMAC material, at most 128 bytes,
/// which it carries under every wrapping key size.
pub fn default_wrapping_algorithm(spec: KeySpec) -> WrappingAlgorithm {
    match spec {
        KeySpec::SymmetricDefault
        | KeySpec::Hmac224
        | KeySpec::Hmac256
        | KeySpec::Hmac384
        | KeySpec::Hmac512 => WrappingAlgorithm::RsaesOaepSha256,
        KeySpec::Rsa2048
        | KeySpec::Rsa3072
        | KeySpec::Rsa4096
        | KeySpec::EccNistP256
        | KeySpec::EccNistP384
        | KeySpec::EccNistP521
        | KeySpec::EccSecgP256k1
        | KeySpec::EccNistEdwards25519
        | KeySpec::MlDsa44
        | KeySpec::MlDsa65
        | KeySpec::MlDsa87
        | KeySpec::MlKem512
        | KeySpec::MlKem768
        | KeySpec::MlKem1024 => WrappingAlgorithm::RsaAesKeyWrapSha256,
    }
}

/// Whether material of `spec` is raw bytes (symmetric, HMAC) rather than a PKCS#8 document.
fn is_raw_material(spec: KeySpec) -> bool {
    default_wrapping_algorithm(spec) == WrappingAlgorithm::RsaesOaepSha256
}

/// When imported material stops being usable.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Expiration {
    /// At this time, epoch seconds (AWS allows at most 365 days ahead).
    At(f64),
    /// Never (`KEY_MATERIAL_DOES_NOT_EXPIRE`).
    Never,
}

/// Everything [`TrentClient::import_material`] needs besides the material.
#[derive(Debug, Clone, PartialEq)]
pub struct MaterialImport {
    /// The key: key id, key ARN, alias name or alias ARN (resolved once, by DescribeKey).
    pub key_id: String,
    /// How to wrap; [`default_wrapping_algorithm`] of the key's spec when `None`.
    pub wrapping_algorithm: Option<WrappingAlgorithm>,
    /// The RSA wrapping key to ask for.
    pub wrapping_key_spec: WrappingKeySpec,
    /// When the material expires.
    pub expiration: Expiration,
    /// New or existing material; the server's default (new before the first import, existing
    /// after) when `None`.
    pub import_type: Option<ImportType>,
    /// The id of the material being reimported (symmetric keys only).
    pub key_material_id: Option<String>,
    /// A description of the material (symmetric keys only).
    pub description: Option<String>,
}

impl MaterialImport {
    /// Checks the fields that need no key, so that a bad one fails before any call.
    pub fn validate(&self) -> Result<(), KmsError> {
        if let Some(description) = &self.description {
            check_key_material_description(description)?;
        }
        match &self.key_material_id {
            Some(id) => check_key_material_id(id),
            None => Ok(()),
        }
    }

    /// The ImportKeyMaterial request for `key_id`, with the token and the wrapped material.
    pub fn request(&self, key_id: String, import_token: Blob, wrapped: Vec<u8>) -> ImportKeyMaterialRequest {
        let (valid_to, model) = match self.expiration {
            Expiration::At(when) => (Some(when), ExpirationModel::KeyMaterialExpires),
            Expiration::Never => (None, ExpirationModel::KeyMaterialDoesNotExpire),
        };
        ImportKeyMaterialRequest {
            key_id,
            import_token,
            encrypted_key_material: Blob::from(wrapped),
            valid_to,
            expiration_model: Some(model.as_str().to_owned()),
            import_type: self.import_type.map(|import_type| import_type.as_str().to_owned()),
            key_material_description: self.description.clone(),
            key_material_id: self.key_material_id.clone(),
        }
    }
}

/// What can stop [`TrentClient::import_material`] or [`material_of`]. None carries material.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// A call failed.
    #[error(transparent)]
    Call(#[from] ClientError),
    /// A field is refused before any call.
    #[error("{0}")]
    Invalid(KmsError),
    /// The material is not a key of the key's spec (checked before any write).
    #[error("{0}")]
    Material(KeysError),
    /// The material does not wrap under the parameters (too long for the algorithm and
    /// wrapping key, or a wrapping key that is not RSA).
    #[error("cannot wrap the material: {0}")]
    Wrap(KeysError),
    /// A PEM file that does not hold one unencrypted PKCS#8 private key.
    #[error("{0}")]
    Pem(&'static str),
}

impl TrentClient {
    /// `GetParametersForImport`: a wrapping public key and an import token, valid for 24 hours.
    pub async fn get_parameters_for_import(
        &self,
        request: &GetParametersForImportRequest,
    ) -> Result<GetParametersForImportResponse, ClientError> {
        self.call(Operation::GetParametersForImport.name(), request).await
    }

    /// `ImportKeyMaterial`: material wrapped under GetParametersForImport's public key.
    pub async fn import_key_material(
        &self,
        request: &ImportKeyMaterialRequest,
    ) -> Result<KeyMaterialResponse, ClientError> {
        self.call(Operation::ImportKeyMaterial.name(), request).await
    }

    /// `DeleteImportedKeyMaterial`: the key's current material when no id is given.
    pub async fn delete_imported_key_material(
        &self,
        request: &DeleteImportedKeyMaterialRequest,
    ) -> Result<KeyMaterialResponse, ClientError> {
        self.call(Operation::DeleteImportedKeyMaterial.name(), request).await
    }

    /// Imports the material in `contents` (what [`material_of`] takes) into an `EXTERNAL`
    /// key: DescribeKey (for the spec, and one key id for the calls that follow), a local check
    /// that the material is a key of that spec, GetParametersForImport, the wrap on this
    /// machine, then ImportKeyMaterial.
    pub async fn import_material(
        &self,
        import: &MaterialImport,
        contents: Zeroizing<Vec<u8>>,
    ) -> Result<KeyMaterialResponse, ImportError> {
        import.validate().map_err(ImportError::Invalid)?;
        let described =
            self.describe_key(&KeyIdRequest { key_id: import.key_id.clone(), grant_tokens: None }).await?;
        let key = described.key_metadata;
        let material = material_of(key.key_spec, contents)?;
        // GetParametersForImport makes a wrapping key: material of the wrong kind fails first.
        canonical_material(key.key_spec, &material).map_err(ImportError::Material)?;
        let algorithm = import.wrapping_algorithm.unwrap_or_else(|| default_wrapping_algorithm(key.key_spec));
        let parameters = self
            .get_parameters_for_import(&GetParametersForImportRequest {
                key_id: key.key_id.clone(),
                wrapping_algorithm: algorithm.as_str().to_owned(),
                wrapping_key_spec: import.wrapping_key_spec.as_str().to_owned(),
            })
            .await?;
        let wrapped =
            wrap(algorithm, parameters.public_key.as_bytes(), &material).map_err(ImportError::Wrap)?;
        Ok(self.import_key_material(&import.request(key.key_id, parameters.import_token, wrapped)).await?)
    }
}

/// The material of a key of `spec` in a file's `contents`: the raw bytes for symmetric and
/// HMAC keys; for the others PKCS#8 DER, given as DER or as one PEM `PRIVATE KEY` block
/// (decoded here, into zeroized buffers only).
pub fn material_of(spec: KeySpec, contents: Zeroizing<Vec<u8>>) -> Result<Zeroizing<Vec<u8>>, ImportError> {
    if is_raw_material(spec) || !contents.trim_ascii_start().starts_with(b"-----BEGIN ") {
        return Ok(contents);
    }
    pkcs8_pem_to_der(&contents)
}

/// The DER of the one unencrypted PKCS#8 `PRIVATE KEY` block `text` holds. The errors name the
/// block's form, never its contents.
fn pkcs8_pem_to_der(text: &[u8]) -> Result<Zeroizing<Vec<u8>>, ImportError> {
    let text = text.trim_ascii();
    let not_pem = ImportError::Pem("the material file is not a PEM PRIVATE KEY block");
    let labelled = text.strip_prefix(b"-----BEGIN ").ok_or(ImportError::Pem("no PEM block"))?;
    let label_len = find(labelled, b"-----").ok_or(not_pem)?;
    match &labelled[..label_len] {
        PKCS8_LABEL => {}
        b"ENCRYPTED PRIVATE KEY" => {
            return Err(ImportError::Pem(
                "the PEM private key is encrypted: decrypt it first (openssl pkcs8 -in FILE -out PLAIN.pem)",
            ))
        }
        b"RSA PRIVATE KEY" | b"EC PRIVATE KEY" => {
            return Err(ImportError::Pem(
                "the PEM private key is not PKCS#8: convert it (openssl pkcs8 -topk8 -nocrypt -in FILE -out KEY.pem)",
            ))
        }
        _ => return Err(ImportError::Pem("the PEM block is not a PRIVATE KEY")),
    }
    let body = &labelled[label_len + b"-----".len()..];
    let end_marker = b"-----END PRIVATE KEY-----";
    let end = find(body, end_marker).ok_or(ImportError::Pem("the PEM block has no END PRIVATE KEY line"))?;
    if !body[end + end_marker.len()..].trim_ascii().is_empty() {
        return Err(ImportError::Pem("the material file holds more than one PEM block"));
    }
    // Sized once, so nothing reallocates and leaves an unzeroized copy behind.
    let mut encoded = Zeroizing::new(Vec::with_capacity(end));
    encoded.extend(body[..end].iter().copied().filter(|byte| !byte.is_ascii_whitespace()));
    let mut der = Zeroizing::new(vec![0u8; base64::decoded_len_estimate(encoded.len())]);
    let engine = base64::engine::general_purpose::STANDARD;
    let len = base64::Engine::decode_slice(&engine, encoded.as_slice(), der.as_mut_slice())
        .map_err(|_| ImportError::Pem("the PEM block is not valid base64"))?;
    der.truncate(len);
    if der.is_empty() {
        return Err(ImportError::Pem("the PEM block is empty"));
    }
    Ok(der)
}

/// Where `needle` first occurs in `haystack`.
fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|window| window == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pem(label: &str, der: &[u8]) -> Vec<u8> {
        let engine = base64::engine::general_purpose::STANDARD;
        let body = base64::Engine::encode(&engine, der);
        let lines: Vec<&str> =
            body.as_bytes().chunks(64).map(|line| std::str::from_utf8(line).unwrap()).collect();
        format!("-----BEGIN {label}-----\n{}\n-----END {label}-----\n", lines.join("\n")).into_bytes()
    }

    #[test]
    fn symmetric_and_hmac_material_defaults_to_oaep_and_the_rest_to_aes_key_wrap() {
        for spec in KeySpec::ALL {
            let expected = match spec.as_str() {
                "SYMMETRIC_DEFAULT" | "HMAC_224" | "HMAC_256" | "HMAC_384" | "HMAC_512" => {
                    "RSAES_OAEP_SHA_256"
                }
                _ => "RSA_AES_KEY_WRAP_SHA_256",
            };
            assert_eq!(default_wrapping_algorithm(*spec).as_str(), expected, "{spec}");
        }
    }

    #[test]
    fn pem_pkcs8_becomes_der_and_der_and_raw_material_pass_unchanged() {
        let der: Vec<u8> = (0u8..=255).cycle().take(1200).collect();
        let from_pem = material_of(KeySpec::Rsa2048, Zeroizing::new(pem("PRIVATE KEY", &der))).unwrap();
        assert_eq!(from_pem.as_slice(), der.as_slice());
        let crlf = String::from_utf8(pem("PRIVATE KEY", &der)).unwrap().replace('\n', "\r\n");
        let padded = format!("\n  {crlf}\n\n").into_bytes();
        assert_eq!(material_of(KeySpec::EccNistP256, Zeroizing::new(padded)).unwrap().as_slice(), der);
        assert_eq!(material_of(KeySpec::MlDsa65, Zeroizing::new(der.clone())).unwrap().as_slice(), der);
        // Raw material is never read as PEM, whatever its bytes.
        let raw = pem("PRIVATE KEY", &[7; 16]);
        assert_eq!(material_of(KeySpec::Hmac256, Zeroizing::new(raw.clone())).unwrap().as_slice(), raw);
        assert_eq!(
            material_of(KeySpec::SymmetricDefault, Zeroizing::new(raw.clone())).unwrap().as_slice(),
            raw
        );
    }

    #[test]
    fn pem_that_is_not_one_plain_pkcs8_key_is_refused_without_echoing_it() {
        let der = [0x30, 0x03, 0x02, 0x01, 0x07];
        let refused = |contents: Vec<u8>| {
            let error = material_of(KeySpec::Rsa2048, Zeroizing::new(contents)).unwrap_err();
            assert!(matches!(error, ImportError::Pem(_)), "{error:?}");
            error.to_string()
        };
        assert!(refused(pem("ENCRYPTED PRIVATE KEY", &der)).contains("decrypt it first"));
        assert!(refused(pem("RSA PRIVATE KEY", &der)).contains("-topk8"));
        assert!(refused(pem("EC PRIVATE KEY", &der)).contains("-topk8"));
        assert!(refused(pem("CERTIFICATE", &der)).contains("not a PRIVATE KEY"));
        let mut two = pem("PRIVATE KEY", &der);
        two.extend(pem("PRIVATE KEY", &der));
        assert!(refused(two).contains("more than one"));
        let unterminated = b"-----BEGIN PRIVATE KEY-----\nMAMCAQc=\n".to_vec();
        assert!(refused(unterminated).contains("no END"));
        let secret_looking = b"-----BEGIN PRIVATE KEY-----\nc2VjcmV0*c2VjcmV0\n-----END PRIVATE KEY-----\n";
        let message = refused(secret_looking.to_vec());
        assert!(message.contains("not valid base64") && !message.contains("c2VjcmV0"), "{message}");
        assert!(refused(b"-----BEGIN PRIVATE KEY-----\n-----END PRIVATE KEY-----".to_vec()).contains("empty"));
    }

    #[test]
    fn import_requests_carry_the_expiry_model_and_options() {
        let import = MaterialImport {
            key_id: "alias/k".into(),
            wrapping_algorithm: None,
            wrapping_key_spec: WrappingKeySpec::Rsa4096,
            expiration: Expiration::At(1_900_000_000.0),
            import_type: Some(ImportType::ExistingKeyMaterial),
            key_material_id: Some("ab".repeat(32)),
            description: Some("hsm export 1".into()),
        };
        assert!(import.validate().is_ok());
        let request = import.request("k".into(), Blob::from(b"token".to_vec()), vec![1, 2]);
        assert!(request.validate().is_ok());
        assert_eq!(request.valid_to, Some(1_900_000_000.0));
        assert_eq!(request.expiration_model.as_deref(), Some("KEY_MATERIAL_EXPIRES"));
        assert_eq!(request.import_type.as_deref(), Some("EXISTING_KEY_MATERIAL"));
        let never = MaterialImport { expiration: Expiration::Never, import_type: None, ..import.clone() };
        let request = never.request("k".into(), Blob::from(b"token".to_vec()), vec![1]);
        assert_eq!(request.valid_to, None);
        assert_eq!(request.expiration_model.as_deref(), Some("KEY_MATERIAL_DOES_NOT_EXPIRE"));
        assert_eq!(request.import_type, None);
        let bad = MaterialImport { key_material_id: Some("AB".repeat(32)), ..import.clone() };
        assert!(bad.validate().unwrap_err().message.contains("keyMaterialId"));
        let bad = MaterialImport { description: Some("a;b".into()), ..import };
        assert!(bad.validate().unwrap_err().message.contains("keyMaterialDescription"));
    }
}
