//! The one encoding of everything Trent writes to disk or sends between nodes, and its format
//! versions. A format is bincode 2 over serde (standard config) of a type's layout at that
//! version; keeping it in one place means a format change is one edit here and one
//! conversion per changed type (docs/formats.md).
//!
//! **Format 0** (every build before versions existed) is the bare bincode of a value. **Format 1
//! and later** prefix it with [`VERSIONED`] and the version (`u16`, big-endian). bincode never
//! begins a varint with `0xff` (the byte is reserved), and every value Trent stored or sent in
//! format 0 begins with a varint, a length, an `Option` tag or an enum tag — except the keyring
//! and unseal-split rows, which begin with raw bytes: format 1 writes those under new row ids
//! (`rows.rs`), so a format-0 value is never mistaken for a versioned one. `decode` reads every
//! format up to [`Format::CURRENT`]; the golden fixtures (`tests/fixtures/formats-v*.txt`,
//! `trent-node`'s `peer-v*.txt`) pin each.
//!
//! bincode encodes an enum by its variant's position, so every enum stored or sent (including
//! `trent_wire`'s `KeySpec`, `KeyUsage`, `Origin` and `ErrorCode`) may only gain variants at the
//! end; `storage/tests/encoding.rs` pins the positions.

use serde::de::DeserializeOwned;
use serde::Serialize;

/// First byte of a versioned value (format 1 and later).
pub const VERSIONED: u8 = 0xff;

/// A stored or sent format version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Format(pub u16);

impl Format {
    /// Bare bincode, no version: everything written before versions existed.
    pub const LEGACY: Format = Format(0);
    /// Versioned; the snapshot payload carries the cluster feature level.
    pub const V1: Format = Format(1);
    /// The snapshot payload carries users, access key owners, key policies and grants.
    pub const V2: Format = Format(2);
    /// A new key record (material sources, the current version, rotation; `crate::legacy`
    /// keeps the old one), import parameters, and the snapshot payload carrying them.
    pub const V3: Format = Format(3);
    /// What this build writes to its own disk.
    pub const CURRENT: Format = Format::V3;
}

impl std::fmt::Display for Format {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "format {}", self.0)
    }
}

/// Encodes a value in [`Format::CURRENT`], for this node's own disk.
pub fn encode<T: Serialize>(value: &T) -> Result<Vec<u8>, bincode::error::EncodeError> {
    encode_at(Format::CURRENT, value)
}

/// Encodes a value in `format` (for a peer, or a snapshot, that must read it). The layout of
/// `T` must be the layout of that format: a type whose layout changed is converted to its
/// older form first.
pub fn encode_at<T: Serialize>(format: Format, value: &T) -> Result<Vec<u8>, bincode::error::EncodeError> {
    let mut bytes = Vec::new();
    if format != Format::LEGACY {
        bytes.push(VERSIONED);
        bytes.extend_from_slice(&format.0.to_be_bytes());
    }
    bincode::serde::encode_into_std_write(value, &mut bytes, bincode::config::standard())?;
    Ok(bytes)
}

/// Splits a stored or received value into its format and payload, refusing formats newer than
/// this build reads.
pub fn split(bytes: &[u8]) -> Result<(Format, &[u8]), bincode::error::DecodeError> {
    match bytes {
        [VERSIONED, high, low, payload @ ..] => {
            let format = Format(u16::from_be_bytes([*high, *low]));
            if format == Format::LEGACY || format > Format::CURRENT {
                return Err(bincode::error::DecodeError::OtherString(format!(
                    "written in {format}; this build reads formats 0 to {}",
                    Format::CURRENT.0
                )));
            }
            Ok((format, payload))
        }
        [VERSIONED, ..] => Err(bincode::error::DecodeError::OtherString("truncated format version".into())),
        payload => Ok((Format::LEGACY, payload)),
    }
}

/// The format `bytes` were written in.
pub fn format_of(bytes: &[u8]) -> Result<Format, bincode::error::DecodeError> {
    split(bytes).map(|(format, _)| format)
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

/// Decodes a value written by [`encode`] or [`encode_at`] in any format this build reads, for a
/// type whose layout is the same in all of them; refuses trailing bytes and claims over
/// [`MAX_CLAIMED_BYTES`].
pub fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, bincode::error::DecodeError> {
    decode_payload(split(bytes)?.1)
}

/// Decodes the payload of a value (what follows its version), as [`decode`] does.
pub fn decode_payload<T: DeserializeOwned>(payload: &[u8]) -> Result<T, bincode::error::DecodeError> {
    finish(
        payload,
        bincode::serde::decode_from_slice(
            payload,
            bincode::config::standard().with_limit::<MAX_CLAIMED_BYTES>(),
        ),
    )
}

/// [`decode`] for a snapshot or its payload, with the larger [`MAX_SNAPSHOT_CLAIMED_BYTES`].
pub fn decode_snapshot<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, bincode::error::DecodeError> {
    decode_snapshot_payload(split(bytes)?.1)
}

/// [`decode_payload`] with the larger [`MAX_SNAPSHOT_CLAIMED_BYTES`].
pub fn decode_snapshot_payload<T: DeserializeOwned>(
    payload: &[u8],
) -> Result<T, bincode::error::DecodeError> {
    let config = bincode::config::standard().with_limit::<MAX_SNAPSHOT_CLAIMED_BYTES>();
    finish(payload, bincode::serde::decode_from_slice(payload, config))
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

    #[test]
    fn every_format_up_to_the_current_one_decodes_and_newer_ones_are_refused() {
        let value = (7u64, "seven".to_owned());
        let legacy = encode_at(Format::LEGACY, &value).unwrap();
        let current = encode(&value).unwrap();
        assert_eq!(current[..3], [VERSIONED, 0, 3]);
        assert_eq!(current[3..], legacy[..], "format 3 is format 0's payload, versioned");
        for bytes in [&legacy, &current] {
            assert_eq!(decode::<(u64, String)>(bytes).unwrap(), value);
        }
        assert_eq!(format_of(&legacy).unwrap(), Format::LEGACY);
        assert_eq!(format_of(&current).unwrap(), Format::V3);
        let mut newer = current.clone();
        newer[2] = 4;
        let refused = decode::<(u64, String)>(&newer).unwrap_err().to_string();
        assert!(refused.contains("written in format 4; this build reads formats 0 to 3"), "{refused}");
        assert!(decode::<u8>(&[VERSIONED, 0]).is_err());
        assert!(decode::<u8>(&[VERSIONED, 0, 0, 1]).is_err(), "format 0 is never versioned");
    }
}
