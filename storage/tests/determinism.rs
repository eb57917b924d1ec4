//! Determinism: every node that applies the same log reaches the same registry, however the
//! entries are batched and whether or not it restarts in between.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a panic in a test is a failed test

mod common;

use common::{
    batch, blank, contents, flatten, new_key, normal, requests_of, scenario, DedupRow, Node, DAY_MS, T0,
};
use openraft::storage::RaftStateMachine;
use trent_storage::types::Entry;
use trent_storage::{
    BatchResult, Command, KeyId, KeyMaterialId, NewKey, Request, RequestId, RotatedMaterial, RotationKind,
};
use trent_wire::model::{KeySpec, KeyUsage};
use uuid::Uuid;

/// A small deterministic generator (xorshift64*), so the history is the same on every run.
struct Generator(u64);

impl Generator {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// `count` pseudo-random requests over a small pool of keys and aliases, so that most commands
/// hit existing state and many are rejected; time advances so deletions come due and dedup ids
/// expire; some requests reuse an earlier request id, half of them as a retry of the earlier
/// request (a create re-stamped with another key id) and half for a different command.
async fn random_requests(seed: u64, count: usize) -> Vec<Request> {
    let mut rng = Generator(seed);
    let keys: Vec<KeyId> =
        (0..12).map(|n| KeyId(Uuid::from_u128(0xde7e_0000_0000_4000_8000_0000_0000_0000 + n))).collect();
    let aliases: Vec<String> = (0..8).map(|n| format!("alias/a{n}")).collect();
    let specs = [
        (KeySpec::SymmetricDefault, KeyUsage::EncryptDecrypt),
        (KeySpec::Hmac256, KeyUsage::GenerateVerifyMac),
        (KeySpec::EccNistP256, KeyUsage::SignVerify),
    ];
    let mut now = T0;
    let mut issued: Vec<(RequestId, Command)> = Vec::new();
    // The history applied as it is made, for the leader's view of which keys are due.
    let mut model = Node::new();
    let mut requests = Vec::with_capacity(count);
    for n in 0..count {
        now += rng.below(6 * 60 * 60 * 1000);
        let key = keys[rng.below(keys.len() as u64) as usize];
        let alias = aliases[rng.below(aliases.len() as u64) as usize].clone();
        let mut command = match rng.below(16) {
            0 | 1 => {
                let mut draft = new_key(key);
                let (spec, usage) = specs[rng.below(specs.len() as u64) as usize];
                draft.draft.spec = spec;
                draft.draft.usage = usage;
                Command::CreateKey(draft)
            }
            2 => Command::EnableKey { key_id: key },
            3 => Command::DisableKey { key_id: key },
            4 => Command::UpdateKeyDescription { key_id: key, description: format!("d{n}") },
            5 => Command::ScheduleKeyDeletion { key_id: key, window_days: 7 + rng.below(24) as u32 },
            6 => Command::CancelKeyDeletion { key_id: key },
            7 => Command::DeleteExpiredKey { key_id: key },
            8 => Command::CreateAlias { alias, key_id: key },
            9 => Command::UpdateAlias { alias, key_id: key },
            10 => Command::DeleteAlias { alias },
            11 => {
                let tags = (0..rng.below(30))
                    .map(|t| (format!("t{}", rng.below(60) + t), format!("v{n}")))
                    .collect();
                Command::TagKey { key_id: key, tags }
            }
            12 => Command::UntagKey {
                key_id: key,
                tag_keys: (0..5).map(|t| format!("t{}", rng.below(60) + t)).collect(),
            },
            13 => {
                let period_days = (rng.below(4) != 0).then(|| 90 + rng.below(60) as u32);
                Command::SetKeyRotation { key_id: key, period_days }
            }
            14 => {
                Command::RotateKey { key_id: key, kind: RotationKind::OnDemand, material: rotated(seed, n) }
            }
            _ => {
                // What a leader proposes: a key its registry says is due (else a date that is not).
                let due = model.registry().keys_due_for_rotation(now, 1).first().copied();
                let (key_id, due_at_ms) = due.unwrap_or((key, now - rng.below(DAY_MS)));
                let kind = RotationKind::Automatic { due_at_ms };
                Command::RotateKey { key_id, kind, material: rotated(seed, n) }
            }
        };
        let request_id = if !issued.is_empty() && rng.below(10) == 0 {
            let (id, earlier) = issued[rng.below(issued.len() as u64) as usize].clone();
            if rng.below(2) == 0 {
                command = match earlier {
                    Command::CreateKey(NewKey { draft, material, .. }) => {
                        Command::CreateKey(NewKey { key_id: key, draft, material })
                    }
                    other => other,
                };
            }
            id
        } else {
            let id = RequestId(Uuid::from_u64_pair(seed, n as u64));
            issued.push((id, command.clone()));
            id
        };
        let request = Request { request_id, issued_at_ms: now, command };
        let _ = model.apply(request.clone()).await;
        requests.push(request);
    }
    requests
}

/// New material as a leader would make it, with an id of its own.
fn rotated(seed: u64, n: usize) -> Option<RotatedMaterial> {
    let mut id = [0u8; 32];
    id[..8].copy_from_slice(&seed.to_be_bytes());
    id[8..16].copy_from_slice(&(n as u64).to_be_bytes());
    let sealed = trent_storage::sealed::WrappedSecret { barrier_version: 1, sealed: vec![n as u8; 60] };
    Some(RotatedMaterial { id: KeyMaterialId(id), sealed })
}

/// `count` requests that rotate a few long-lived keys: schedules enabled, changed and disabled,
/// keys disabled and enabled again, on-demand rotations, and the automatic rotations a leader
/// proposes for the keys its registry says are due, a quarter of them proposed twice (a second
/// leader), over years.
async fn random_rotation_requests(seed: u64, count: usize) -> Vec<Request> {
    let mut rng = Generator(seed);
    let mut model = Node::new();
    let keys: Vec<KeyId> =
        (0..6).map(|n| KeyId(Uuid::from_u128(0x5070_0000_0000_4000_8000_0000_0000_0000 + n))).collect();
    let mut now = T0;
    let mut commands: Vec<Command> = keys.iter().map(|key| Command::CreateKey(new_key(*key))).collect();
    let mut requests = Vec::with_capacity(count);
    for n in 0..count {
        if commands.is_empty() {
            now += rng.below(10 * DAY_MS);
            let key = keys[rng.below(keys.len() as u64) as usize];
            commands = match rng.below(8) {
                0 => vec![Command::SetKeyRotation {
                    key_id: key,
                    period_days: Some(90 + rng.below(100) as u32),
                }],
                1 => vec![Command::SetKeyRotation { key_id: key, period_days: None }],
                2 => vec![Command::RotateKey {
                    key_id: key,
                    kind: RotationKind::OnDemand,
                    material: rotated(seed, n),
                }],
                3 => vec![Command::DisableKey { key_id: key }],
                4 => vec![Command::EnableKey { key_id: key }],
                _ => {
                    let due = model.registry().keys_due_for_rotation(now, 1);
                    let Some((key_id, due_at_ms)) = due.first().copied() else { continue };
                    let kind = RotationKind::Automatic { due_at_ms };
                    let twice = if rng.below(4) == 0 { 2 } else { 1 };
                    (0..twice)
                        .map(|copy| Command::RotateKey {
                            key_id,
                            kind,
                            material: rotated(seed, n * 2 + copy),
                        })
                        .collect()
                }
            };
        }
        let command = commands.remove(0);
        let request = Request {
            request_id: RequestId(Uuid::from_u64_pair(seed, n as u64)),
            issued_at_ms: now,
            command,
        };
        let _ = model.apply(request.clone()).await;
        requests.push(request);
    }
    requests
}

/// Each request in its own entry, numbered from 1.
fn one_per_entry(requests: &[Request]) -> Vec<Entry> {
    requests.iter().enumerate().map(|(n, request)| normal(n as u64 + 1, request.clone())).collect()
}

/// The requests in batches of 1 to 8, in order, with a blank entry now and then; numbered from 1.
fn random_batches(seed: u64, requests: &[Request]) -> Vec<Entry> {
    let mut rng = Generator(seed ^ 0x0b47_c4e5);
    let mut entries = Vec::new();
    let mut rest = requests;
    while !rest.is_empty() {
        let index = entries.len() as u64 + 1;
        if rng.below(20) == 0 {
            entries.push(blank(index));
            continue;
        }
        let take = (rng.below(8) as usize + 1).min(rest.len());
        entries.push(batch(index, rest[..take].to_vec()));
        rest = &rest[take..];
    }
    entries
}

/// Applies `entries` all at once, one entry per call, and in uneven calls with restarts in
/// between; checks the three nodes agree and returns the first with its results.
async fn apply_three_ways(seed: u64, entries: &[Entry]) -> (Node, Vec<BatchResult>) {
    let mut whole = Node::new();
    let whole_results = whole.apply_entries(entries.to_vec()).await;

    let mut one_by_one = Node::new();
    let mut single_results = Vec::new();
    for entry in entries.iter().cloned() {
        single_results.extend(one_by_one.apply_entries(vec![entry]).await);
    }

    // Uneven calls, with a restart in the middle.
    let mut restarted = Node::new();
    let mut restarted_results = Vec::new();
    let mut rng = Generator(seed ^ 0xba7c4);
    let mut rest = entries;
    let mut restarts = 0;
    while !rest.is_empty() {
        let take = (rng.below(40) as usize + 1).min(rest.len());
        restarted_results.extend(restarted.apply_entries(rest[..take].to_vec()).await);
        rest = &rest[take..];
        if restarts < 3 && rng.below(10) == 0 {
            restarted = restarted.reopen();
            restarts += 1;
        }
    }

    assert_eq!(whole_results, single_results, "seed {seed}");
    assert_eq!(whole_results, restarted_results, "seed {seed}");
    let expected = contents(&whole.registry());
    assert_eq!(contents(&one_by_one.registry()), expected, "seed {seed}");
    assert_eq!(contents(&restarted.registry()), expected, "seed {seed}");
    assert_eq!(restarted.registry(), whole.registry(), "seed {seed}: derived indexes");
    let applied = entries.last().map(|entry| entry.log_id);
    assert_eq!(whole.sm.applied_state().await.unwrap().0, applied);
    assert_eq!(restarted.sm.applied_state().await.unwrap().0, applied);
    assert!(restarts > 0, "seed {seed}: never restarted");
    (whole, whole_results)
}

#[tokio::test]
async fn the_same_scenario_yields_equal_registries() {
    let (entries, _) = scenario();
    let mut first = Node::new();
    let mut second = Node::new();

    let first_results = first.apply_entries(entries.clone()).await;
    let second_results = second.apply_entries(entries).await;

    assert_eq!(first_results, second_results);
    assert_eq!(contents(&first.registry()), contents(&second.registry()));
    assert_eq!(first.sm.applied_state().await.unwrap(), second.sm.applied_state().await.unwrap());
}

#[tokio::test]
async fn a_random_history_yields_equal_registries_however_it_is_batched() {
    for seed in [1, 2, 0x5eed] {
        let requests = random_requests(seed, 1500).await;
        let entries = one_per_entry(&requests);

        let (_, results) = apply_three_ways(seed, &entries).await;

        // The history exercised more than rejections.
        let results = flatten(&results);
        let accepted = results.iter().filter(|r| r.is_ok()).count();
        assert!(accepted > requests.len() / 5, "seed {seed}: only {accepted} commands applied");
        let deleted = requests
            .iter()
            .zip(&results)
            .filter(|(request, result)| {
                result.is_ok() && matches!(request.command, Command::DeleteExpiredKey { .. })
            })
            .count();
        assert!(deleted > 0, "seed {seed}: no key came due and was deleted");
        let rotated = requests
            .iter()
            .zip(&results)
            .filter(|(request, result)| {
                result.is_ok() && matches!(request.command, Command::RotateKey { .. })
            })
            .count();
        assert!(rotated > 0, "seed {seed}: no rotation applied");
    }
}

#[tokio::test]
async fn a_random_rotation_history_yields_equal_registries_however_it_is_batched() {
    for seed in [7, 9, 0x0707] {
        let requests = random_rotation_requests(seed, 1000).await;
        let (node, results) = apply_three_ways(seed, &random_batches(seed, &requests)).await;
        let outcome = |automatic: bool, applied: bool| {
            requests
                .iter()
                .zip(flatten(&results))
                .filter(|(request, result)| {
                    let Command::RotateKey { kind, .. } = request.command else { return false };
                    matches!(kind, RotationKind::Automatic { .. }) == automatic && result.is_ok() == applied
                })
                .count()
        };
        assert!(outcome(true, true) > 10, "seed {seed}: too few automatic rotations");
        assert!(outcome(true, false) > 0, "seed {seed}: no second proposal for a due date");
        assert!(outcome(false, true) > 0, "seed {seed}: no on-demand rotation");
        // Each automatic rotation made one version: none doubled, none lost.
        let registry = node.registry();
        let automatic_versions: usize = registry
            .keys()
            .map(|key| {
                key.materials
                    .iter()
                    .filter(|m| {
                        m.became_current
                            .is_some_and(|event| event.kind == trent_wire::model::RotationType::Automatic)
                    })
                    .count()
            })
            .sum();
        assert_eq!(automatic_versions, outcome(true, true), "seed {seed}");
    }
}

#[tokio::test]
async fn random_batch_sizes_yield_equal_registries_however_the_entries_are_applied() {
    for seed in [3, 4, 0xba7c] {
        let requests = random_requests(seed, 1500).await;
        let entries = random_batches(seed, &requests);
        assert!(entries.iter().any(|entry| requests_of(entry).len() > 4), "seed {seed}: no big batch");

        let (node, results) = apply_three_ways(seed, &entries).await;

        assert_eq!(flatten(&results).len(), requests.len(), "seed {seed}");
        // Every dedup record names where its request sits in the log.
        let registry = node.registry();
        assert!(registry.dedup_records().any(|(_, record)| record.position > 0), "seed {seed}");
        for (request_id, record) in registry.dedup_records() {
            let entry = &entries[record.log_index as usize - 1];
            let request = &requests_of(entry)[record.position as usize];
            assert_eq!(request.request_id, *request_id, "seed {seed}");
            assert_eq!(record.fingerprint, request.command.fingerprint_at(0), "seed {seed}: feature level 0");
            assert_eq!(record.issued_at_ms, request.issued_at_ms, "seed {seed}");
        }
    }
}

#[tokio::test]
async fn a_batch_applies_like_its_requests_in_consecutive_entries() {
    for seed in [5, 6, 0xc0ffee] {
        let requests = random_requests(seed, 1500).await;
        let mut separate = Node::new();
        let separate_results = separate.apply_entries(one_per_entry(&requests)).await;
        let mut batched = Node::new();
        let batched_results = batched.apply_entries(random_batches(seed, &requests)).await;

        assert_eq!(flatten(&batched_results), flatten(&separate_results), "seed {seed}");
        let (separate, batched) = (contents(&separate.registry()), contents(&batched.registry()));
        assert_eq!(batched.keys, separate.keys, "seed {seed}");
        assert_eq!(batched.aliases, separate.aliases, "seed {seed}");
        // The same requests are remembered, with the same results; only where they sit differs.
        let unplaced = |rows: Vec<DedupRow>| {
            rows.into_iter()
                .map(|row| (row.request_id, row.issued_at_ms, row.fingerprint, row.outcome))
                .collect::<Vec<_>>()
        };
        assert_eq!(unplaced(batched.dedup), unplaced(separate.dedup), "seed {seed}");
    }
}
