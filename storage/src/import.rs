//! Bring-your-own-key import in the replicated state: the parameters GetParametersForImport
//! hands out (a wrapping key pair, sealed, and the token that names it) and the material an
//! import brings. Storage sees only sealed bytes: the node that takes ImportKeyMaterial unwraps
//! the customer's material and seals it under the barrier before proposing it.

use std::fmt;

use serde::{Deserialize, Serialize};
use trent_wire::model::{WrappingAlgorithm, WrappingKeySpec};
use trent_wire::{ErrorCode, KmsError};

use crate::materials::KeyMaterialId;
use crate::records::KeyId;
use crate::sealed::WrappedSecret;

/// The most import parameters the cluster keeps live at once.
pub const MAX_IMPORT_PARAMETERS: usize = 10_000;
/// The most import parameters live for one key; a new set evicts the oldest.
pub const MAX_IMPORT_PARAMETERS_PER_KEY: usize = 10;
/// The largest wrapping public key stored (DER SubjectPublicKeyInfo; RSA 4096 is 550 bytes).
pub const MAX_WRAPPING_PUBLIC_KEY_BYTES: usize = 1024;

/// Names one set of import parameters; the import token carries it with the key id.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ImportTokenId(pub [u8; 16]);

impl fmt::Debug for ImportTokenId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ImportTokenId(")?;
        self.0.iter().try_for_each(|byte| write!(f, "{byte:02x}"))?;
        write!(f, ")")
    }
}

/// One GetParametersForImport: the wrapping key pair the leader made for a key, until
/// `valid_to_ms`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportParametersRecord {
    /// Picked by the leader (random).
    pub token_id: ImportTokenId,
    /// The `EXTERNAL` key material may be imported into with it.
    pub key_id: KeyId,
    /// How the customer wraps material under `public_key`.
    pub algorithm: WrappingAlgorithm,
    /// The wrapping key's spec.
    pub wrapping_spec: WrappingKeySpec,
    /// The wrapping public key, DER SubjectPublicKeyInfo (AWS `PublicKey`).
    pub public_key: Vec<u8>,
    /// The wrapping private key (PKCS#8), sealed under the barrier with the token id as
    /// context, so any node can unwrap an import made with the token.
    pub sealed_private_key: WrappedSecret,
    /// When the parameters stop working (AWS `ParametersValidTo`), ms since the epoch.
    pub valid_to_ms: u64,
}

/// Material an ImportKeyMaterial brings, sealed by the node that took the call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewImportedMaterial {
    /// Derived from the material and the key id: the same material gets the same id.
    pub id: KeyMaterialId,
    /// The material, sealed with the key id and `id` as context.
    pub sealed: WrappedSecret,
    /// AWS `ValidTo`, ms since the epoch; `None` with KEY_MATERIAL_DOES_NOT_EXPIRE.
    pub valid_to_ms: Option<u64>,
    /// AWS `KeyMaterialDescription`, if given.
    pub description: Option<String>,
}

/// The structural limits of import parameters: a wrapping key of a spec Trent offers (not
/// SM2), a public key of a plausible size.
pub(crate) fn check_import_parameters(parameters: &ImportParametersRecord) -> Result<(), KmsError> {
    let refuse =
        |what: String| Err(KmsError::new(ErrorCode::Validation, format!("Import parameters with {what}")));
    if parameters.wrapping_spec == WrappingKeySpec::Sm2 {
        return refuse("an SM2 wrapping key".to_owned());
    }
    let length = parameters.public_key.len();
    if length == 0 || length > MAX_WRAPPING_PUBLIC_KEY_BYTES {
        return refuse(format!("a public key of {length} bytes"));
    }
    Ok(())
}

/// An imported material's description is at most 256 characters.
pub(crate) fn check_material_description(description: Option<&str>) -> Result<(), KmsError> {
    let length = description.map_or(0, |description| description.chars().count());
    if length > crate::materials::MAX_MATERIAL_DESCRIPTION_CHARS {
        return Err(KmsError::new(
            ErrorCode::Validation,
            format!(
                "A key material description of {length} characters; at most {}",
                crate::materials::MAX_MATERIAL_DESCRIPTION_CHARS
            ),
        ));
    }
    Ok(())
}
