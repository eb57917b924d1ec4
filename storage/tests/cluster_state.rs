//! Cluster-level state: initialisation (sealed keyring and first access key) applies once,
//! keyring replacement only adds barrier versions, access keys are unique and the last one
//! stays; all of it survives a restart and travels in snapshots. Storage sees only sealed bytes.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a panic in a test is a failed test

mod common;

use common::{rejection_code, request_id, Node, T0};
use trent_storage::sealed::{SealedKeyring, WrappedBarrierKey, WrappedSecret};
use trent_storage::{AccessKeyRecord, Applied, Command, Request};
use trent_wire::ErrorCode;

fn keyring(cluster: u8, versions: u32) -> SealedKeyring {
    SealedKeyring {
        cluster_id: [cluster; 16],
        keys: (1..=versions)
            .map(|version| WrappedBarrierKey { version, sealed: vec![version as u8; 60] })
            .collect(),
    }
}

fn access_key(id: &str, secret_byte: u8) -> AccessKeyRecord {
    AccessKeyRecord {
        access_key_id: id.to_owned(),
        secret: WrappedSecret { barrier_version: 1, sealed: vec![secret_byte; 68] },
        created_at_ms: T0,
        description: format!("key {id}"),
    }
}

const ADMIN: &str = "AKIAADMIN0000000001";

async fn initialised() -> Node {
    let mut node = Node::new();
    let init = Command::InitializeCluster { keyring: keyring(7, 1), admin: access_key(ADMIN, 1) };
    assert_eq!(node.run(T0, init).await, Ok(Applied::Done));
    node
}

#[tokio::test]
async fn a_cluster_is_initialised_once() {
    let mut node = initialised().await;
    let registry = node.registry();
    assert!(registry.is_initialized());
    assert_eq!(registry.keyring(), Some(&keyring(7, 1)));
    assert_eq!(registry.access_key(ADMIN), Some(&access_key(ADMIN, 1)));

    let again =
        Command::InitializeCluster { keyring: keyring(8, 1), admin: access_key("AKIAOTHER000000001", 2) };
    assert_eq!(rejection_code(&node.run(T0 + 1, again).await), ErrorCode::AlreadyExists);
    assert_eq!(node.registry().keyring(), Some(&keyring(7, 1)), "the second init changed nothing");
    assert!(node.registry().access_key("AKIAOTHER000000001").is_none());
}

#[tokio::test]
async fn nothing_but_initialisation_works_on_an_uninitialised_cluster() {
    let mut node = Node::new();
    let create = Command::CreateAccessKey(access_key("AKIAEARLY000000001", 1));
    assert_eq!(rejection_code(&node.run(T0, create).await), ErrorCode::InvalidState);
    let rotate = Command::ReplaceKeyring { keyring: keyring(7, 2) };
    assert_eq!(rejection_code(&node.run(T0, rotate).await), ErrorCode::InvalidState);
    assert!(!node.registry().is_initialized());
}

#[tokio::test]
async fn keyring_replacement_keeps_every_version_and_the_cluster() {
    let mut node = initialised().await;
    let rotated = Command::ReplaceKeyring { keyring: keyring(7, 2) };
    assert_eq!(node.run(T0 + 1, rotated).await, Ok(Applied::Done));
    assert_eq!(node.registry().keyring().map(|k| k.keys.len()), Some(2));

    for (bad, code) in [
        (keyring(7, 2), ErrorCode::Validation), // adds nothing
        (keyring(7, 1), ErrorCode::Validation), // drops a version
        (keyring(9, 3), ErrorCode::Validation), // another cluster
    ] {
        assert_eq!(rejection_code(&node.run(T0 + 2, Command::ReplaceKeyring { keyring: bad }).await), code);
    }
    let mut renumbered = keyring(7, 3);
    renumbered.keys[2].version = 7;
    assert_eq!(
        rejection_code(&node.run(T0 + 3, Command::ReplaceKeyring { keyring: renumbered }).await),
        ErrorCode::Validation
    );
    assert_eq!(node.registry().keyring(), Some(&keyring(7, 2)));
}

#[tokio::test]
async fn access_keys_are_unique_well_formed_and_the_last_one_stays() {
    let mut node = initialised().await;
    let second = "AKIASECOND00000001";
    assert_eq!(node.run(T0, Command::CreateAccessKey(access_key(second, 2))).await, Ok(Applied::Done));
    let duplicate = Command::CreateAccessKey(access_key(second, 3));
    assert_eq!(rejection_code(&node.run(T0, duplicate).await), ErrorCode::AlreadyExists);
    let too_long = "A".repeat(129);
    for bad_id in ["", "has space", "AKIA-DASHES-000001", too_long.as_str()] {
        let bad = Command::CreateAccessKey(access_key(bad_id, 4));
        assert_eq!(rejection_code(&node.run(T0, bad).await), ErrorCode::Validation, "{bad_id}");
    }
    let mut verbose = access_key("AKIAVERBOSE0000001", 5);
    verbose.description = "x".repeat(257);
    assert_eq!(rejection_code(&node.run(T0, Command::CreateAccessKey(verbose)).await), ErrorCode::Validation);

    let delete = |id: &str| Command::DeleteAccessKey { access_key_id: id.to_owned() };
    assert_eq!(node.run(T0, delete(ADMIN)).await, Ok(Applied::Done));
    assert_eq!(rejection_code(&node.run(T0, delete(ADMIN)).await), ErrorCode::NotFound);
    assert_eq!(rejection_code(&node.run(T0, delete(second)).await), ErrorCode::InvalidState);
    assert_eq!(node.registry().access_keys().count(), 1);
}

#[tokio::test]
async fn a_retried_access_key_creation_applies_once_though_the_leader_made_new_secrets() {
    let mut node = initialised().await;
    let id = request_id();
    let first = Request {
        request_id: id,
        issued_at_ms: T0,
        command: Command::CreateAccessKey(access_key("AKIARETRY000000001", 1)),
    };
    let mut retry = first.clone();
    retry.command = Command::CreateAccessKey(AccessKeyRecord {
        access_key_id: "AKIARETRY000000002".into(),
        ..access_key("AKIARETRY000000001", 9)
    });
    assert_eq!(node.apply(first).await, Ok(Applied::Done));
    assert_eq!(node.apply(retry).await, Ok(Applied::Done));
    assert!(node.registry().access_key("AKIARETRY000000002").is_none(), "the retry created a second key");
}

#[tokio::test]
async fn cluster_state_survives_restart_and_travels_in_snapshots() {
    let mut node = initialised().await;
    node.run(T0, Command::CreateAccessKey(access_key("AKIASECOND00000001", 2))).await.unwrap();
    node.run(T0, Command::ReplaceKeyring { keyring: keyring(7, 2) }).await.unwrap();
    let before = node.registry();

    let mut node = node.reopen();
    assert_eq!(node.registry(), before);

    let fresh = node.snapshot_into_fresh().await;
    assert_eq!(fresh.registry(), before);
    let fresh = fresh.reopen();
    assert_eq!(fresh.registry().keyring(), Some(&keyring(7, 2)));
    assert_eq!(fresh.registry().access_keys().count(), 2);
}

fn split(n: u8) -> trent_storage::sealed::UnsealSplit {
    trent_storage::sealed::UnsealSplit { threshold: 2, shares: 3, fingerprint: [n; 32] }
}

#[tokio::test]
async fn a_rekey_keeps_the_last_confirmed_split_until_the_new_one_is_confirmed() {
    let mut node = initialised().await;
    let record = |split, replaces| Command::RecordUnsealSplit { split, replaces };
    assert_eq!(node.run(T0, record(split(1), None)).await, Ok(Applied::Done), "init's split");
    let accepted = |node: &Node| -> Vec<u8> {
        node.registry().unseal_splits().unwrap().accepted().map(|split| split.fingerprint[0]).collect()
    };
    assert_eq!(accepted(&node), [1]);
    // A rekey made against a split that is no longer current changes nothing.
    let stale = node.run(T0, record(split(9), None)).await;
    assert_eq!(rejection_code(&stale), ErrorCode::InvalidState);
    // Rekey to 2: both accepted. Its reply is lost; the operator rekeys again to 3: the split
    // they are known to hold (1) stays, the unconfirmed 2 goes.
    node.run(T0, record(split(2), Some([1; 32]))).await.unwrap();
    assert_eq!(accepted(&node), [2, 1]);
    node.run(T0, record(split(3), Some([2; 32]))).await.unwrap();
    assert_eq!(accepted(&node), [3, 1]);
    // Confirming anything but the current split is refused; confirming it retires the old one.
    let wrong = node.run(T0, Command::ConfirmUnsealSplit { fingerprint: [1; 32] }).await;
    assert_eq!(rejection_code(&wrong), ErrorCode::InvalidState);
    node.run(T0, Command::ConfirmUnsealSplit { fingerprint: [3; 32] }).await.unwrap();
    assert_eq!(accepted(&node), [3]);
    let node = node.reopen();
    assert_eq!(accepted(&node), [3], "and it survives a restart");
}
