//! The chain's hash: SHA-256 of the exact bytes of one line (without its newline), and its
//! lowercase hex spelling in `previousHash` and `headHash`.

use crate::crypto::sha256;

/// SHA-256 of one line's bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct LineHash(pub [u8; 32]);

impl LineHash {
    /// The `previousHash` of a log's very first record.
    pub const GENESIS: LineHash = LineHash([0; 32]);

    /// The hash of `line` (its bytes without the newline).
    pub fn of(line: &[u8]) -> LineHash {
        LineHash(sha256(line))
    }

    /// 64 lowercase hex digits.
    pub fn to_hex(&self) -> String {
        hex(&self.0)
    }

    /// The same 64 digits as bytes, without allocating.
    pub(crate) fn hex_digits(&self) -> [u8; 64] {
        let mut out = [0u8; 64];
        for (pair, byte) in out.chunks_exact_mut(2).zip(self.0) {
            pair[0] = HEX_DIGITS[usize::from(byte >> 4)];
            pair[1] = HEX_DIGITS[usize::from(byte & 0x0f)];
        }
        out
    }

    /// Parses exactly 64 lowercase hex digits.
    pub fn from_hex(text: &str) -> Option<LineHash> {
        let bytes = text.as_bytes();
        if bytes.len() != 64 {
            return None;
        }
        let mut out = [0u8; 32];
        for (slot, pair) in out.iter_mut().zip(bytes.chunks_exact(2)) {
            *slot = (nibble(pair[0])? << 4) | nibble(pair[1])?;
        }
        Some(LineHash(out))
    }
}

impl std::fmt::Display for LineHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.to_hex())
    }
}

fn nibble(digit: u8) -> Option<u8> {
    match digit {
        b'0'..=b'9' => Some(digit - b'0'),
        b'a'..=b'f' => Some(digit - b'a' + 10),
        _ => None,
    }
}

/// Lowercase hex of `bytes`.
pub(crate) fn hex(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        out.push(char::from(HEX_DIGITS[usize::from(byte >> 4)]));
        out.push(char::from(HEX_DIGITS[usize::from(byte & 0x0f)]));
    }
    out
}

const HEX_DIGITS: &[u8; 16] = b"0123456789abcdef";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_round_trips_and_refuses_uppercase() {
        let hash = LineHash::of(b"abc");
        assert_eq!(hash.to_hex(), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
        assert_eq!(LineHash::from_hex(&hash.to_hex()), Some(hash));
        assert_eq!(LineHash::from_hex(&hash.to_hex().to_uppercase()), None);
        assert_eq!(LineHash::from_hex("00"), None);
        assert_eq!(LineHash::GENESIS.to_hex(), "0".repeat(64));
        assert_eq!(hash.hex_digits().as_slice(), hash.to_hex().as_bytes());
    }
}
