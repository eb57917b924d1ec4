//! Shamir shares of the root key, encoded so that mistakes are caught and named.
//!
//! The root key and the cluster id are split with `shamirsecretsharing`, whose shares carry an
//! authenticated ciphertext: a wrong or corrupted share makes the combination fail instead of
//! producing a wrong key. Each share is wrapped as
//! `trs1_` + base64url(`"TRS" | version | cluster id (16) | threshold | share (113) | check (4)`),
//! where the check is the first four bytes of SHA-256 over what precedes it. So a share from
//! another cluster, a truncated or mistyped share, a repeated share, or too few shares are each
//! refused with their own message before any combining is tried; shares that pass all of that
//! and still do not combine are refused without saying which one was bad.
//!
//! The check is unkeyed — anyone can recompute it — so it catches accidents, not edits. What
//! catches an edit is the split record the cluster replicates at init and rekey
//! ([`UnsealSplits`]): each accepted split's threshold and a fingerprint of the part every share
//! of that split has in common (`shamirsecretsharing` puts the same 80-byte ciphertext in each).
//! A node refuses a share whose threshold or fingerprint matches no accepted split before it
//! counts it, so an edited threshold byte cannot change what a node waits for, and once a rekey
//! is confirmed (a node unsealed with its shares) the shares from before it no longer unseal.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use shamirsecretsharing::{combine_shares, create_shares, DATA_SIZE, SHARE_SIZE};
use zeroize::Zeroizing;

use trent_storage::sealed::{UnsealSplit, UnsealSplits};

use crate::crypto::{sha256, SecretKey, KEY_BYTES};

/// Identifies a cluster; every share carries it.
pub type ClusterId = [u8; 16];

const PREFIX: &str = "trs1_";
const MAGIC: &[u8; 3] = b"TRS";
const VERSION: u8 = 1;
const CHECK_BYTES: usize = 4;
const HEADER_BYTES: usize = MAGIC.len() + 1 + 16 + 1;
const ENCODED_BYTES: usize = HEADER_BYTES + SHARE_SIZE + CHECK_BYTES;
/// Where the part of a raw share that every share of its split has in common begins: after the
/// x-coordinate (1 byte) and the key share (32 bytes) comes the ciphertext of the secret.
const SPLIT_COMMON_OFFSET: usize = 33;

/// Why shares could not be made or used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ShareError {
    /// Share count and threshold out of range.
    #[error("need 1 <= threshold <= shares <= 255, got threshold {threshold} of {shares}")]
    BadParameters {
        /// Requested shares.
        shares: u32,
        /// Requested threshold.
        threshold: u32,
    },
    /// Not a Trent share at all.
    #[error("this is not a Trent unseal share (it should start with {PREFIX})")]
    NotAShare,
    /// Right prefix, wrong length: cut short or pasted twice.
    #[error("this share is truncated or has extra characters")]
    Truncated,
    /// The checksum does not match: a typo or a corrupted copy.
    #[error("this share is corrupted (its checksum does not match)")]
    Corrupted,
    /// Made by a newer version of Trent.
    #[error("this share has format version {0}, which this build does not know")]
    UnknownVersion(u8),
    /// From another cluster.
    #[error("this share belongs to another cluster")]
    ForeignCluster,
    /// The same share given twice.
    #[error("this share was already given")]
    Repeated,
    /// Shares with different thresholds: they cannot come from one split.
    #[error("the shares come from different splits")]
    MixedSplits,
    /// The share's threshold or split is not the one the cluster recorded at init or rekey: an
    /// edited share, or one from a split a rekey replaced.
    #[error("this share is not from the cluster's current split (an older split replaced by a confirmed rekey, or an edited share)")]
    NotCurrentSplit,
    /// Fewer shares than the threshold.
    #[error("{have} of {threshold} shares given")]
    NotEnough {
        /// Shares given.
        have: usize,
        /// Shares needed.
        threshold: u8,
    },
    /// Well-formed shares of this cluster that do not combine (one of them is wrong).
    #[error("the shares do not combine into this cluster's root key")]
    WrongShares,
    /// The random source failed while splitting.
    #[error("the random number generator failed")]
    Random,
}

/// A share that decoded cleanly.
#[derive(Clone, PartialEq, Eq)]
pub struct DecodedShare {
    /// Its cluster.
    pub cluster_id: ClusterId,
    /// How many shares unseal.
    pub threshold: u8,
    bytes: Zeroizing<Vec<u8>>,
}

impl std::fmt::Debug for DecodedShare {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DecodedShare").field("threshold", &self.threshold).finish_non_exhaustive()
    }
}

impl DecodedShare {
    /// The share's x-coordinate: two shares with the same one are the same share.
    fn index(&self) -> u8 {
        self.bytes.first().copied().unwrap_or(0)
    }

    /// The fingerprint of the split this share belongs to: every share of one split has the same.
    pub fn split_fingerprint(&self) -> [u8; 32] {
        let mut input = Vec::with_capacity(64 + SHARE_SIZE);
        input.extend_from_slice(b"trent unseal split v1");
        input.extend_from_slice(&self.cluster_id);
        input.push(self.threshold);
        input.extend_from_slice(self.bytes.get(SPLIT_COMMON_OFFSET..).unwrap_or_default());
        sha256(&input)
    }
}

/// The record of the split `shares` (encoded, all from one [`split`]) belong to.
pub fn split_record(shares: &[Zeroizing<String>]) -> Result<UnsealSplit, ShareError> {
    let first = decode(shares.first().ok_or(ShareError::NotEnough { have: 0, threshold: 1 })?)?;
    let count = u8::try_from(shares.len()).map_err(|_| ShareError::BadParameters {
        shares: shares.len() as u32,
        threshold: u32::from(first.threshold),
    })?;
    Ok(UnsealSplit { threshold: first.threshold, shares: count, fingerprint: first.split_fingerprint() })
}

/// Splits `root` into `shares` encoded shares, any `threshold` of which recover it.
pub fn split(
    root: &SecretKey,
    cluster_id: ClusterId,
    shares: u32,
    threshold: u32,
) -> Result<Vec<Zeroizing<String>>, ShareError> {
    let bad = || ShareError::BadParameters { shares, threshold };
    let count = u8::try_from(shares).map_err(|_| bad())?;
    let needed = u8::try_from(threshold).map_err(|_| bad())?;
    if needed == 0 || needed > count {
        return Err(bad());
    }
    let mut secret = Zeroizing::new([0u8; DATA_SIZE]);
    secret[..KEY_BYTES].copy_from_slice(root.expose());
    secret[KEY_BYTES..KEY_BYTES + 16].copy_from_slice(&cluster_id);
    let raw = create_shares(secret.as_slice(), count, needed).map_err(|_| ShareError::Random)?;
    Ok(raw.into_iter().map(|share| encode(&cluster_id, needed, Zeroizing::new(share))).collect())
}

fn encode(cluster_id: &ClusterId, threshold: u8, share: Zeroizing<Vec<u8>>) -> Zeroizing<String> {
    let mut bytes = Zeroizing::new(Vec::with_capacity(ENCODED_BYTES));
    bytes.extend_from_slice(MAGIC);
    bytes.push(VERSION);
    bytes.extend_from_slice(cluster_id);
    bytes.push(threshold);
    bytes.extend_from_slice(&share);
    let check = sha256(&bytes);
    bytes.extend_from_slice(&check[..CHECK_BYTES]);
    Zeroizing::new(format!("{PREFIX}{}", URL_SAFE_NO_PAD.encode(bytes.as_slice())))
}

/// Decodes one share as typed or pasted (surrounding whitespace is ignored).
pub fn decode(text: &str) -> Result<DecodedShare, ShareError> {
    let body = text.trim().strip_prefix(PREFIX).ok_or(ShareError::NotAShare)?;
    // Longer input cannot be a share; refuse it before decoding anything.
    if body.len() > URL_SAFE_NO_PAD.encode([0u8; ENCODED_BYTES]).len() {
        return Err(ShareError::Truncated);
    }
    let bytes = Zeroizing::new(URL_SAFE_NO_PAD.decode(body).map_err(|_| ShareError::Corrupted)?);
    if bytes.len() != ENCODED_BYTES {
        return Err(ShareError::Truncated);
    }
    let (content, check) = bytes.split_at(ENCODED_BYTES - CHECK_BYTES);
    if !crate::crypto::constant_time_eq(&sha256(content)[..CHECK_BYTES], check) {
        return Err(ShareError::Corrupted);
    }
    if &content[..MAGIC.len()] != MAGIC {
        return Err(ShareError::NotAShare);
    }
    let version = content[MAGIC.len()];
    if version != VERSION {
        return Err(ShareError::UnknownVersion(version));
    }
    let mut cluster_id = [0u8; 16];
    cluster_id.copy_from_slice(&content[MAGIC.len() + 1..MAGIC.len() + 17]);
    let threshold = content[HEADER_BYTES - 1];
    Ok(DecodedShare { cluster_id, threshold, bytes: Zeroizing::new(content[HEADER_BYTES..].to_vec()) })
}

/// Checks that `share` can join `collected` (same cluster, same split — one the cluster accepts,
/// when it has a record — not a repeat).
pub fn check_joins(
    collected: &[DecodedShare],
    share: &DecodedShare,
    cluster: Option<&ClusterId>,
    accepted: Option<&UnsealSplits>,
) -> Result<(), ShareError> {
    if cluster.is_some_and(|expected| *expected != share.cluster_id) {
        return Err(ShareError::ForeignCluster);
    }
    if let Some(splits) = accepted {
        let fingerprint = share.split_fingerprint();
        let matches = |split: &UnsealSplit| {
            split.threshold == share.threshold
                && crate::crypto::constant_time_eq(&split.fingerprint, &fingerprint)
        };
        if !splits.accepted().any(matches) {
            return Err(ShareError::NotCurrentSplit);
        }
    }
    if let Some(first) = collected.first() {
        if first.cluster_id != share.cluster_id {
            return Err(ShareError::ForeignCluster);
        }
        if first.threshold != share.threshold || first.split_fingerprint() != share.split_fingerprint() {
            return Err(ShareError::MixedSplits);
        }
    }
    if collected.iter().any(|earlier| earlier.index() == share.index()) {
        return Err(ShareError::Repeated);
    }
    Ok(())
}

/// Recovers the root key and cluster id from at least a threshold of shares.
pub fn combine(shares: &[DecodedShare]) -> Result<(SecretKey, ClusterId), ShareError> {
    let Some(first) = shares.first() else {
        return Err(ShareError::NotEnough { have: 0, threshold: 1 });
    };
    for (position, share) in shares.iter().enumerate() {
        check_joins(&shares[..position], share, Some(&first.cluster_id), None)?;
    }
    if shares.len() < usize::from(first.threshold) {
        return Err(ShareError::NotEnough { have: shares.len(), threshold: first.threshold });
    }
    let raw: Vec<Vec<u8>> = shares.iter().map(|share| share.bytes.to_vec()).collect();
    let raw = Zeroizing::new(raw);
    let secret = match combine_shares(&raw) {
        Ok(Some(secret)) => Zeroizing::new(secret),
        Ok(None) | Err(_) => return Err(ShareError::WrongShares),
    };
    if secret.len() != DATA_SIZE || secret[KEY_BYTES..KEY_BYTES + 16] != first.cluster_id {
        return Err(ShareError::WrongShares);
    }
    let root = SecretKey::from_slice(&secret[..KEY_BYTES]).map_err(|_| ShareError::WrongShares)?;
    Ok((root, first.cluster_id))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    fn setup(shares: u32, threshold: u32) -> (SecretKey, ClusterId, Vec<DecodedShare>) {
        let root = SecretKey::generate().unwrap();
        let cluster = [9u8; 16];
        let encoded = split(&root, cluster, shares, threshold).unwrap();
        assert_eq!(encoded.len(), shares as usize);
        let decoded = encoded.iter().map(|text| decode(text).unwrap()).collect();
        (root, cluster, decoded)
    }

    #[test]
    fn any_threshold_of_shares_recovers_the_root_key() {
        let (root, cluster, shares) = setup(5, 3);
        for picked in [[0, 1, 2], [0, 2, 4], [4, 3, 1], [1, 2, 3]] {
            let chosen: Vec<DecodedShare> = picked.iter().map(|i| shares[*i].clone()).collect();
            let (recovered, recovered_cluster) = combine(&chosen).unwrap();
            assert_eq!(recovered, root);
            assert_eq!(recovered_cluster, cluster);
        }
        assert_eq!(combine(&shares).unwrap().0, root, "all five also work");
    }

    #[test]
    fn one_share_fewer_than_the_threshold_does_not() {
        let (_, _, shares) = setup(5, 3);
        assert_eq!(combine(&shares[..2]).unwrap_err(), ShareError::NotEnough { have: 2, threshold: 3 });
    }

    #[test]
    fn a_single_share_unseals_a_one_of_one_split() {
        let (root, _, shares) = setup(1, 1);
        assert_eq!(combine(&shares).unwrap().0, root);
    }

    #[test]
    fn repeated_foreign_and_mixed_shares_are_refused_by_name() {
        let (_, _, shares) = setup(3, 2);
        let repeated = vec![shares[0].clone(), shares[0].clone()];
        assert_eq!(combine(&repeated).unwrap_err(), ShareError::Repeated);

        let other_root = SecretKey::generate().unwrap();
        let foreign = decode(&split(&other_root, [1u8; 16], 3, 2).unwrap()[1]).unwrap();
        assert_eq!(combine(&[shares[0].clone(), foreign.clone()]).unwrap_err(), ShareError::ForeignCluster);
        assert_eq!(
            check_joins(&[], &foreign, Some(&[9u8; 16]), None).unwrap_err(),
            ShareError::ForeignCluster
        );

        let same_cluster_other_split = decode(&split(&other_root, [9u8; 16], 3, 3).unwrap()[1]).unwrap();
        assert_eq!(
            combine(&[shares[0].clone(), same_cluster_other_split]).unwrap_err(),
            ShareError::MixedSplits
        );
    }

    #[test]
    fn shares_of_another_split_of_the_same_cluster_are_refused_as_mixed() {
        let (_, cluster, shares) = setup(3, 2);
        let other = split(&SecretKey::generate().unwrap(), cluster, 3, 2).unwrap();
        let stranger = decode(&other[2]).unwrap();
        assert_eq!(combine(&[shares[0].clone(), stranger]).unwrap_err(), ShareError::MixedSplits);
    }

    #[test]
    fn a_share_of_the_right_split_with_a_damaged_key_share_does_not_combine() {
        let root = SecretKey::generate().unwrap();
        let shares = split(&root, [5u8; 16], 3, 2).unwrap();
        let damaged = decode(&with_damaged_key_share(&shares[1])).expect("checksum recomputed");
        assert_eq!(damaged.split_fingerprint(), decode(&shares[1]).unwrap().split_fingerprint());
        assert_eq!(combine(&[decode(&shares[0]).unwrap(), damaged]).unwrap_err(), ShareError::WrongShares);
    }

    #[test]
    fn mangled_text_is_refused_before_combining() {
        let root = SecretKey::generate().unwrap();
        let text = split(&root, [2u8; 16], 2, 2).unwrap().remove(0);
        assert!(
            decode(&format!("  {}\n", text.as_str())).is_ok(),
            "whitespace around a pasted share is fine"
        );
        assert_eq!(decode("hello").unwrap_err(), ShareError::NotAShare);
        assert_eq!(decode(&text[..text.len() - 4]).unwrap_err(), ShareError::Truncated);
        assert_eq!(decode(&format!("{}{}", text.as_str(), &text[5..])).unwrap_err(), ShareError::Truncated);
        // Change one character in the middle: the checksum catches it.
        let mut chars: Vec<char> = text.chars().collect();
        let middle = chars.len() / 2;
        chars[middle] = if chars[middle] == 'A' { 'B' } else { 'A' };
        let typo: String = chars.into_iter().collect();
        assert_eq!(decode(&typo).unwrap_err(), ShareError::Corrupted);
    }

    #[test]
    fn split_parameters_are_checked() {
        let root = SecretKey::generate().unwrap();
        for (shares, threshold) in [(3, 0), (3, 4), (256, 2), (0, 0)] {
            assert!(matches!(
                split(&root, [0; 16], shares, threshold),
                Err(ShareError::BadParameters { .. })
            ));
        }
        assert_eq!(split(&root, [0; 16], 255, 255).unwrap().len(), 255);
    }

    #[test]
    fn shares_never_print_their_bytes() {
        let (_, _, shares) = setup(2, 2);
        assert_eq!(format!("{:?}", shares[0]), "DecodedShare { threshold: 2, .. }");
    }

    /// Re-encodes `share` with byte `at` changed by `change` and the checksum recomputed: the
    /// unkeyed check cannot tell.
    fn with_edited_byte(share: &str, at: usize, change: impl Fn(u8) -> u8) -> String {
        let mut bytes = URL_SAFE_NO_PAD.decode(share.strip_prefix(PREFIX).unwrap()).unwrap();
        bytes[at] = change(bytes[at]);
        let check = sha256(&bytes[..ENCODED_BYTES - CHECK_BYTES]);
        bytes[ENCODED_BYTES - CHECK_BYTES..].copy_from_slice(&check[..CHECK_BYTES]);
        format!("{PREFIX}{}", URL_SAFE_NO_PAD.encode(bytes))
    }

    /// `share` with its threshold byte set to `threshold`, as the red team did.
    fn with_edited_threshold(share: &str, threshold: u8) -> String {
        with_edited_byte(share, HEADER_BYTES - 1, |_| threshold)
    }

    /// `share` with a byte of its key share (not of the part its split shares) flipped.
    pub(crate) fn with_damaged_key_share(share: &str) -> String {
        with_edited_byte(share, HEADER_BYTES + 5, |byte| byte ^ 0x55)
    }

    #[test]
    fn every_share_of_a_split_has_its_fingerprint_and_another_split_does_not() {
        let root = SecretKey::generate().unwrap();
        let shares = split(&root, [3u8; 16], 5, 3).unwrap();
        let record = split_record(&shares).unwrap();
        assert_eq!((record.threshold, record.shares), (3, 5));
        for text in &shares {
            assert_eq!(decode(text).unwrap().split_fingerprint(), record.fingerprint);
        }
        let again = split(&root, [3u8; 16], 5, 3).unwrap();
        assert_ne!(
            split_record(&again).unwrap().fingerprint,
            record.fingerprint,
            "a rekey makes a new split"
        );
    }

    #[test]
    fn an_edited_threshold_passes_the_checksum_but_not_the_split_record() {
        let root = SecretKey::generate().unwrap();
        let shares = split(&root, [4u8; 16], 3, 2).unwrap();
        let record = UnsealSplits { current: split_record(&shares).unwrap(), retiring: None };
        let edited = decode(&with_edited_threshold(&shares[0], 3)).expect("the unkeyed check is fooled");
        assert_eq!(edited.threshold, 3);
        assert_eq!(
            check_joins(&[], &edited, Some(&[4u8; 16]), Some(&record)).unwrap_err(),
            ShareError::NotCurrentSplit
        );
        let honest = decode(&shares[1]).unwrap();
        assert_eq!(check_joins(&[], &honest, Some(&[4u8; 16]), Some(&record)), Ok(()));
        let old = decode(&split(&root, [4u8; 16], 3, 2).unwrap()[0]).unwrap();
        assert_eq!(
            check_joins(&[], &old, Some(&[4u8; 16]), Some(&record)).unwrap_err(),
            ShareError::NotCurrentSplit
        );
        // Without a record (a cluster initialised before splits were recorded), shares of two
        // splits still cannot be mixed.
        assert_eq!(
            check_joins(&[honest], &old, Some(&[4u8; 16]), None).unwrap_err(),
            ShareError::MixedSplits
        );
    }
}
