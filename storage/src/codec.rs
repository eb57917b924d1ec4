//! The one encoding of everything Trent writes to disk or sends between nodes: bincode 2 over
//! serde, standard config. Keeping it in one place means a format change is one edit.
//!
//! bincode encodes an enum by its variant's position, so every enum stored or sent (including
//! `trent_wire`'s `KeySpec`, `KeyUsage`, `Origin` and `ErrorCode`) may only gain variants at the
//! end; `storage/tests/encoding.rs` pins the positions.

use serde::de::DeserializeOwned;
use serde::Serialize;

/// Encodes a value for disk.
pub fn encode<T: Serialize>(value: &T) -> Result<Vec<u8>, bincode::error::EncodeError> {
    bincode::serde::encode_to_vec(value, bincode::config::standard())
}

/// Decodes a value written by [`encode`], refusing trailing bytes.
pub fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, bincode::error::DecodeError> {
    let (value, read) = bincode::serde::decode_from_slice(bytes, bincode::config::standard())?;
    if read != bytes.len() {
        return Err(bincode::error::DecodeError::OtherString(format!(
            "{} trailing bytes after value",
            bytes.len() - read
        )));
    }
    Ok(value)
}
