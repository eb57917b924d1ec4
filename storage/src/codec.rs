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

/// Most bytes the lengths inside one decoded value (strings, byte vectors, collections) may
/// claim together. bincode allocates what a length claims before it checks that the input holds
/// that much, so without a limit an 11-byte message claiming a 2^47-byte string aborts the
/// process (found by the `peer_protocol` fuzz target). The peer body cap: log entries, rows and
/// peer messages claim far less (a 256-write batch claims under 100 KiB).
pub const MAX_CLAIMED_BYTES: usize = 16 * 1024 * 1024;

/// [`MAX_CLAIMED_BYTES`] for a whole snapshot (at most 2 GiB encoded; decoded collections claim
/// their in-memory size, a few times that).
pub const MAX_SNAPSHOT_CLAIMED_BYTES: usize = 8 * 1024 * 1024 * 1024;

/// Decodes a value written by [`encode`], refusing trailing bytes and claims over
/// [`MAX_CLAIMED_BYTES`].
pub fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, bincode::error::DecodeError> {
    finish(
        bytes,
        bincode::serde::decode_from_slice(
            bytes,
            bincode::config::standard().with_limit::<MAX_CLAIMED_BYTES>(),
        ),
    )
}

/// [`decode`] for a snapshot or its payload, with the larger [`MAX_SNAPSHOT_CLAIMED_BYTES`].
pub fn decode_snapshot<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, bincode::error::DecodeError> {
    let config = bincode::config::standard().with_limit::<MAX_SNAPSHOT_CLAIMED_BYTES>();
    finish(bytes, bincode::serde::decode_from_slice(bytes, config))
}

fn finish<T>(
    bytes: &[u8],
    decoded: Result<(T, usize), bincode::error::DecodeError>,
) -> Result<T, bincode::error::DecodeError> {
    let (value, read) = decoded?;
    if read != bytes.len() {
        return Err(bincode::error::DecodeError::OtherString(format!(
            "{} trailing bytes after value",
            bytes.len() - read
        )));
    }
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tiny_input_claiming_a_huge_string_is_refused_not_allocated() {
        // A one-field struct whose string claims 2^47 bytes (varint 0xfd + u64 LE).
        let mut claim = vec![0xfd];
        claim.extend_from_slice(&(1u64 << 47).to_le_bytes());
        let refused = decode::<String>(&claim).unwrap_err();
        assert!(matches!(refused, bincode::error::DecodeError::LimitExceeded), "{refused:?}");
        assert!(decode_snapshot::<String>(&claim).is_err());
        assert_eq!(decode::<String>(&encode(&"fine".to_owned()).unwrap()).unwrap(), "fine");
    }
}
