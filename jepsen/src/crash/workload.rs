//! What the crash-test writer writes, as a pure function of the seed and the log index, so the
//! checker can rebuild any entry the writer acknowledged without being sent it.
//!
//! The shape follows a single-node cluster's log: entry 1 is the membership, every term begins
//! with the new leader's blank entry, and the rest carry batches of key-registry requests
//! (CreateKey with stand-in sealed material, and tag, disable and enable requests on keys that
//! earlier entries created). A term lasts [`ENTRIES_PER_TERM`] entries, so votes are saved too.

use std::collections::{BTreeMap, BTreeSet};

use openraft::{CommittedLeaderId, EntryPayload, Membership};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use trent_storage::sealed::WrappedSecret;
use trent_storage::types::{Entry, LogId};
use trent_storage::{Command, KeyDraft, KeyId, NewKey, Request, RequestBatch, RequestId, TrentNode};
use trent_wire::model::{KeySpec, KeyUsage, Origin};
use uuid::Uuid;

/// Log entries per term: the writer saves a new vote before the first entry of each term.
pub const ENTRIES_PER_TERM: u64 = 16;
/// The writer's node id, the only voter.
pub const NODE_ID: u64 = 1;
/// Most entries the writer appends in one call.
pub const MAX_APPEND_BATCH: u64 = 4;
/// Most requests in one normal entry.
const MAX_REQUESTS_PER_ENTRY: usize = 4;
/// Longest key description, in characters (the API allows 8192).
const MAX_DESCRIPTION_CHARS: usize = 1024;
/// When request 0 was issued: 2024-01-01T00:00:00Z, in milliseconds since the Unix epoch.
const T0_MS: u64 = 1_704_067_200_000;

/// The deterministic log of one run.
#[derive(Debug, Clone, Copy)]
pub struct Workload {
    seed: u64,
}

impl Workload {
    /// The log drawn from `seed`.
    pub fn new(seed: u64) -> Workload {
        Workload { seed }
    }

    /// The term of the leader that appends entry `index` (from 1).
    pub fn term_of(index: u64) -> u64 {
        1 + index.saturating_sub(1) / ENTRIES_PER_TERM
    }

    /// Whether entry `index` is the first of its term (so a vote precedes it).
    pub fn starts_term(index: u64) -> bool {
        index == Workload::first_of_term(Workload::term_of(index))
    }

    /// The first entry of `term` (from 1).
    fn first_of_term(term: u64) -> u64 {
        (term - 1) * ENTRIES_PER_TERM + 1
    }

    /// The log id of entry `index`.
    pub fn log_id(index: u64) -> LogId {
        LogId::new(CommittedLeaderId::new(Workload::term_of(index), NODE_ID), index)
    }

    /// How many entries the append starting at `first` carries: 1 to [`MAX_APPEND_BATCH`], never
    /// past the end of the term (one append call comes from one leader).
    pub fn append_len(&self, first: u64) -> u64 {
        let drawn = self.rng(first, Stream::AppendLength).random_range(1..=MAX_APPEND_BATCH);
        let next_term_starts = Workload::first_of_term(Workload::term_of(first) + 1);
        drawn.min(next_term_starts - first)
    }

    /// Entry `index` (from 1).
    pub fn entry(&self, index: u64) -> Entry {
        let payload = if index == 1 {
            EntryPayload::Membership(single_voter_membership())
        } else if Workload::starts_term(index) {
            EntryPayload::Blank
        } else {
            EntryPayload::Normal(self.requests(index))
        };
        Entry { log_id: Workload::log_id(index), payload }
    }

    fn is_normal(index: u64) -> bool {
        index > 1 && !Workload::starts_term(index)
    }

    /// The key the first request of normal entry `index` creates.
    fn created_key(&self, index: u64) -> KeyId {
        KeyId(uuid(&mut self.rng(index, Stream::CreatedKey)))
    }

    fn requests(&self, index: u64) -> RequestBatch {
        let mut rng = self.rng(index, Stream::Requests);
        let count = rng.random_range(1..=MAX_REQUESTS_PER_ENTRY);
        let mut requests = Vec::with_capacity(count);
        for position in 0..count {
            let command = if position == 0 {
                create_key(self.created_key(index), &mut rng)
            } else {
                self.later_command(index, &mut rng)
            };
            let issued_at_ms = T0_MS + index * 1000 + position as u64;
            requests.push(Request { request_id: RequestId(uuid(&mut rng)), issued_at_ms, command });
        }
        RequestBatch { requests }
    }

    /// A request after the first of entry `index`: a new key, or a change to a key that an
    /// earlier entry created.
    fn later_command(&self, index: u64, rng: &mut ChaCha8Rng) -> Command {
        let earlier = rng.random_range(1..index);
        if !Workload::is_normal(earlier) {
            return create_key(KeyId(uuid(rng)), rng);
        }
        let key_id = self.created_key(earlier);
        match rng.random_range(0..3) {
            0 => Command::TagKey { key_id, tags: vec![("entry".to_owned(), index.to_string())] },
            1 => Command::DisableKey { key_id },
            _ => Command::EnableKey { key_id },
        }
    }

    /// An independent stream of randomness for one purpose at one index.
    fn rng(&self, index: u64, stream: Stream) -> ChaCha8Rng {
        let mut rng = ChaCha8Rng::seed_from_u64(self.seed);
        rng.set_stream(index.wrapping_mul(4).wrapping_add(stream as u64));
        rng
    }
}

/// The purposes [`Workload::rng`] draws for, each its own stream.
#[derive(Clone, Copy)]
enum Stream {
    AppendLength = 0,
    CreatedKey = 1,
    Requests = 2,
}

fn create_key(key_id: KeyId, rng: &mut ChaCha8Rng) -> Command {
    let description_len = rng.random_range(0..=MAX_DESCRIPTION_CHARS);
    let description = (0..description_len).map(|_| char::from(rng.random_range(b'a'..=b'z'))).collect();
    // nonce (12) | sealed 32-byte key | tag (16): the size real material has.
    let mut sealed = vec![0u8; 60];
    rng.fill(&mut sealed[..]);
    Command::CreateKey(NewKey {
        key_id,
        draft: KeyDraft {
            description,
            spec: KeySpec::SymmetricDefault,
            usage: KeyUsage::EncryptDecrypt,
            origin: Origin::AwsKms,
            tags: Vec::new(),
        },
        material: WrappedSecret { barrier_version: 1, sealed },
    })
}

fn uuid(rng: &mut ChaCha8Rng) -> Uuid {
    uuid::Builder::from_random_bytes(rng.random()).into_uuid()
}

fn single_voter_membership() -> Membership<u64, TrentNode> {
    let voters: BTreeSet<u64> = [NODE_ID].into();
    let node = TrentNode { api_addr: "127.0.0.1:7001".to_owned(), peer_addr: "127.0.0.1:8001".to_owned() };
    let nodes: BTreeMap<u64, TrentNode> = [(NODE_ID, node)].into();
    Membership::new(vec![voters], nodes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encoded(entry: &Entry) -> Vec<u8> {
        trent_storage::codec::encode(entry).unwrap()
    }

    #[test]
    fn the_same_seed_gives_the_same_entries() {
        let (a, b) = (Workload::new(7), Workload::new(7));
        for index in 1..=40 {
            assert_eq!(encoded(&a.entry(index)), encoded(&b.entry(index)), "entry {index}");
            assert_eq!(a.append_len(index), b.append_len(index));
        }
        assert_ne!(encoded(&a.entry(5)), encoded(&Workload::new(8).entry(5)));
    }

    #[test]
    fn terms_start_with_a_blank_entry_and_appends_stay_inside_a_term() {
        let workload = Workload::new(1);
        assert!(matches!(workload.entry(1).payload, EntryPayload::Membership(_)));
        assert!(matches!(workload.entry(ENTRIES_PER_TERM + 1).payload, EntryPayload::Blank));
        assert_eq!(Workload::term_of(ENTRIES_PER_TERM), 1);
        assert_eq!(Workload::term_of(ENTRIES_PER_TERM + 1), 2);
        for first in 1..=100 {
            let last = first + workload.append_len(first) - 1;
            assert_eq!(Workload::term_of(first), Workload::term_of(last), "append from {first}");
        }
    }
}
