//! The cluster feature level in the state machine: raised, never lowered, survives reopening and
//! snapshots; retries across the rise keep matching their first attempt; a level this build does
//! not support stops the state machine instead of applying what may follow.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a panic in a test is a failed test

mod common;

use common::{batch, create_key, key_id, request, Node};
use openraft::storage::RaftStateMachine;
use trent_storage::{Applied, Command, SUPPORTED_LEVEL};

fn raise(level: u32) -> Command {
    Command::RaiseFeatureLevel { level }
}

#[tokio::test]
async fn the_level_rises_never_falls_and_survives_a_reopen() {
    let mut node = Node::new();
    assert_eq!(node.registry().features().level, 0);
    assert_eq!(node.run(1, raise(1)).await, Ok(Applied::Done));
    assert_eq!(node.run(2, raise(0)).await, Ok(Applied::Done), "a lower level changes nothing");
    let features = node.registry().features();
    assert_eq!(features.level, 1);
    let raised_at = features.level_one_at.expect("where it rose");
    let node = node.reopen();
    assert_eq!(node.registry().features().level, 1);
    assert_eq!(node.registry().features().level_one_at, Some(raised_at));
}

#[tokio::test]
async fn retries_across_the_rise_match_their_first_attempt() {
    let mut node = Node::new();
    // Remembered at level 0, with the legacy fingerprint.
    let before = request(1, create_key(key_id()));
    let first = node.apply(before.clone()).await.expect("created");
    let raise_request = request(2, raise(1));
    node.apply(raise_request.clone()).await.expect("raised");
    // The retry of a write from before the rise, and the retry of the rise itself, replay.
    let again = node.apply(before.clone()).await.expect("replayed, not 'reused'");
    assert_eq!(again, first);
    assert_eq!(node.apply(raise_request).await, Ok(Applied::Done));
    // A write after the rise is remembered with the canonical fingerprint.
    let after = request(
        3,
        Command::DisableKey {
            key_id: match first {
                Applied::Key(key) => key.key_id,
                other => panic!("a key, not {other:?}"),
            },
        },
    );
    node.apply(after.clone()).await.expect("disabled");
    let record =
        node.registry().dedup_records().find(|(id, _)| **id == after.request_id).map(|(_, r)| r.clone());
    assert_eq!(record.expect("remembered").fingerprint, after.command.fingerprint());
    assert_ne!(after.command.fingerprint(), after.command.legacy_fingerprint());
    // The same request id for a different command is still refused.
    let reused = trent_storage::Request { command: Command::EnableKey { key_id: key_id() }, ..after };
    assert!(node.apply(reused).await.is_err());
}

#[tokio::test]
async fn a_level_this_build_does_not_support_stops_the_state_machine() {
    let mut node = Node::new();
    let entry = batch(1, vec![request(1, raise(SUPPORTED_LEVEL + 1))]);
    let stopped = node.sm.apply(vec![entry]).await;
    let error = stopped.expect_err("applied a level it does not support").to_string();
    assert!(error.contains("this build supports up to"), "{error}");
    assert_eq!(node.registry().features().level, 0, "nothing changed");
}

#[tokio::test]
async fn the_import_commands_are_applied() {
    let mut node = Node::new();
    let key = key_id();
    node.run(1, create_key(key)).await.expect("created");
    let material_id = trent_storage::KeyMaterialId([1; 32]);
    let refused = node.run(2, Command::DeleteImportedKeyMaterial { key_id: key, material_id }).await;
    let rejection = refused.expect_err("a key Trent made has no imported material");
    assert_eq!(rejection.code, trent_wire::ErrorCode::UnsupportedOperation);
    assert!(rejection.message.contains("does not have an EXTERNAL origin"), "{}", rejection.message);
    assert!(!rejection.message.contains("not implemented yet"), "{}", rejection.message);
}
