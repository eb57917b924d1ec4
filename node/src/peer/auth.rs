//! Peers prove themselves on every request, in every mode. With TLS the peer port is mutual TLS:
//! a caller without a certificate from the cluster CA never gets past the handshake. Without TLS
//! (`--insecure-plaintext`: development, tests) every peer request carries
//! `x-trent-peer-auth: v1 <unix ms> <hex SHA-256 of the body> <hex HMAC-SHA256>` under a secret
//! the cluster's nodes share, over the method, path, time and body digest. The receiver checks
//! the time is within [`MAX_PEER_CLOCK_SKEW`] of its own and the MAC in constant time *before*
//! it reads the body (so a forger gets no body read), then the body against the digest. Before
//! this a hand-made 39-byte `POST /cluster/leader-op` disabled a key with no credentials at all.
//!
//! What it does not do: bind the target node or authenticate replies. Plaintext mode is for
//! development and trusted networks; an attacker on the path can still read and alter traffic.
//!
//! A captured request replays only within the window, which is shorter than the write
//! deduplication window: a replayed write applies once.

use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use zeroize::Zeroizing;

use crate::crypto::{constant_time_eq, hmac_sha256, sha256};
use crate::secret_file::SecretFileError;

/// The header carrying a plaintext peer request's MAC.
pub const PEER_AUTH_HEADER: &str = "x-trent-peer-auth";
/// How far a peer request's time may be from the receiver's clock.
pub const MAX_PEER_CLOCK_SKEW: Duration = Duration::from_secs(60);
const VERSION: &str = "v1";

/// The secret plaintext peers share.
pub struct PeerSecret(Zeroizing<Vec<u8>>);

impl std::fmt::Debug for PeerSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PeerSecret(..)")
    }
}

/// Why a peer request was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PeerAuthError {
    /// No `x-trent-peer-auth` header, or not one we can read.
    #[error("peer request without a valid x-trent-peer-auth header")]
    Missing,
    /// Its time is too far from ours.
    #[error("peer request time is more than {MAX_PEER_CLOCK_SKEW:?} from this node's clock")]
    Stale,
    /// The MAC is wrong: another cluster's secret, or a forgery.
    #[error("peer request MAC does not verify")]
    Forged,
}

impl PeerSecret {
    /// Reads the secret from `path` (see [`crate::secret_file`]).
    pub fn load(path: &Path) -> Result<PeerSecret, SecretFileError> {
        Ok(PeerSecret(crate::secret_file::read(path)?))
    }

    /// A random secret no other process knows: a lone node's peer port then refuses everyone.
    pub fn ephemeral() -> Result<PeerSecret, SecretFileError> {
        let text = crate::secret_file::generate()?;
        Ok(PeerSecret(Zeroizing::new(text.as_bytes().to_vec())))
    }

    fn mac(&self, method: &str, path: &str, time_ms: u64, body_digest: &[u8; 32]) -> [u8; 32] {
        let mut message = Vec::with_capacity(128);
        message.extend_from_slice(VERSION.as_bytes());
        for part in [method.as_bytes(), path.as_bytes(), time_ms.to_string().as_bytes(), body_digest] {
            message.push(b'\n');
            message.extend_from_slice(part);
        }
        hmac_sha256(&self.0, &message)
    }

    /// The header value for a request sent at `now`: `v1 <unix ms> <hex SHA-256 of the body>
    /// <hex MAC>`.
    pub fn sign(&self, method: &str, path: &str, body: &[u8], now: SystemTime) -> String {
        let time_ms = millis(now);
        let digest = sha256(body);
        let mac = self.mac(method, path, time_ms, &digest);
        format!("{VERSION} {time_ms} {} {}", hex(&digest), hex(&mac))
    }

    /// Before the body is read: the header parses, its time is current and its MAC (over the
    /// method, path, time and the body's declared digest) verifies, so only a holder of the
    /// secret gets a body read. Returns the digest the body must then have.
    pub fn verify_head(
        &self,
        header: Option<&[u8]>,
        method: &str,
        path: &str,
        now: SystemTime,
    ) -> Result<BodyDigest, PeerAuthError> {
        let text = header.and_then(|value| std::str::from_utf8(value).ok()).ok_or(PeerAuthError::Missing)?;
        let mut parts = text.split(' ');
        let (Some(VERSION), Some(time), Some(digest), Some(mac), None) =
            (parts.next(), parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(PeerAuthError::Missing);
        };
        let time_ms: u64 = time.parse().map_err(|_| PeerAuthError::Missing)?;
        let digest = decode_hex_32(digest).ok_or(PeerAuthError::Missing)?;
        let mac = decode_hex_32(mac).ok_or(PeerAuthError::Missing)?;
        if millis(now).abs_diff(time_ms) > MAX_PEER_CLOCK_SKEW.as_millis() as u64 {
            return Err(PeerAuthError::Stale);
        }
        if !constant_time_eq(&self.mac(method, path, time_ms, &digest), &mac) {
            return Err(PeerAuthError::Forged);
        }
        Ok(BodyDigest(digest))
    }

    /// [`PeerSecret::verify_head`], then the body against the digest: the whole check at once.
    pub fn verify(
        &self,
        header: Option<&[u8]>,
        method: &str,
        path: &str,
        body: &[u8],
        now: SystemTime,
    ) -> Result<(), PeerAuthError> {
        self.verify_head(header, method, path, now)?.check(body)
    }
}

/// The SHA-256 a verified head says its body has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BodyDigest([u8; 32]);

impl BodyDigest {
    /// Whether `body` is the body the MAC covered.
    pub fn check(&self, body: &[u8]) -> Result<(), PeerAuthError> {
        if sha256(body) == self.0 {
            Ok(())
        } else {
            Err(PeerAuthError::Forged)
        }
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

fn millis(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH).map_or(0, |since| since.as_millis() as u64)
}

fn decode_hex_32(text: &str) -> Option<[u8; 32]> {
    if text.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (index, pair) in text.as_bytes().chunks(2).enumerate() {
        let pair = std::str::from_utf8(pair).ok()?;
        out[index] = u8::from_str_radix(pair, 16).ok()?;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secret(text: &str) -> PeerSecret {
        PeerSecret(Zeroizing::new(text.as_bytes().to_vec()))
    }

    #[test]
    fn a_signed_request_verifies_and_any_change_does_not() {
        let shared = secret(&"k".repeat(32));
        let now = SystemTime::now();
        let header = shared.sign("POST", "/cluster/leader-op", b"body", now);
        let verify = |method: &str, path: &str, body: &[u8], header: &str| {
            shared.verify(Some(header.as_bytes()), method, path, body, now)
        };
        assert_eq!(verify("POST", "/cluster/leader-op", b"body", &header), Ok(()));
        assert_eq!(verify("POST", "/cluster/leader-op", b"bodY", &header), Err(PeerAuthError::Forged));
        assert_eq!(verify("POST", "/raft/vote", b"body", &header), Err(PeerAuthError::Forged));
        assert_eq!(verify("GET", "/cluster/leader-op", b"body", &header), Err(PeerAuthError::Forged));
        let other = secret(&"j".repeat(32)).sign("POST", "/cluster/leader-op", b"body", now);
        assert_eq!(verify("POST", "/cluster/leader-op", b"body", &other), Err(PeerAuthError::Forged));
        assert_eq!(shared.verify(None, "POST", "/", b"", now), Err(PeerAuthError::Missing));
        assert_eq!(verify("POST", "/", b"", "v1 12 zz"), Err(PeerAuthError::Missing));
        assert_eq!(verify("POST", "/", b"", "v2 12 00"), Err(PeerAuthError::Missing));
    }

    #[test]
    fn a_request_from_outside_the_clock_window_is_stale() {
        let shared = secret(&"k".repeat(32));
        let sent = SystemTime::now();
        let header = shared.sign("POST", "/raft/vote", b"", sent);
        let later = sent + MAX_PEER_CLOCK_SKEW + Duration::from_secs(1);
        assert_eq!(
            shared.verify(Some(header.as_bytes()), "POST", "/raft/vote", b"", later),
            Err(PeerAuthError::Stale)
        );
        let just_in = sent + MAX_PEER_CLOCK_SKEW - Duration::from_secs(1);
        assert_eq!(shared.verify(Some(header.as_bytes()), "POST", "/raft/vote", b"", just_in), Ok(()));
    }

    #[test]
    fn a_fresh_but_forged_head_is_refused_before_any_body_is_read() {
        let shared = secret(&"k".repeat(32));
        let now = SystemTime::now();
        let zeros = "0".repeat(64);
        let forged = format!("v1 {} {zeros} {zeros}", millis(now));
        assert_eq!(
            shared.verify_head(Some(forged.as_bytes()), "POST", "/raft/append-entries", now),
            Err(PeerAuthError::Forged)
        );
        // A real head whose body is swapped in transit: the head verifies, the body does not.
        let header = shared.sign("POST", "/raft/vote", b"real", now);
        let digest = shared.verify_head(Some(header.as_bytes()), "POST", "/raft/vote", now).unwrap();
        assert_eq!(digest.check(b"real"), Ok(()));
        assert_eq!(digest.check(b"swapped"), Err(PeerAuthError::Forged));
    }

    #[test]
    fn a_secret_never_prints() {
        assert_eq!(format!("{:?}", secret(&"k".repeat(32))), "PeerSecret(..)");
    }
}
