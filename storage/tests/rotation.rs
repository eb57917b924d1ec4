//! Key rotation in the state machine: EnableKeyRotation's schedule and its bounds, automatic
//! rotation exactly once per due date (however many leaders propose it, however late),
//! RotateKeyOnDemand's limit and its conflict with a due automatic rotation, and the keys and
//! states that do not rotate.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a panic in a test is a failed test

mod common;

use common::{applied_key, create_key, key_id, new_key, rejection_code, request, Node, DAY_MS, T0};
use trent_storage::sealed::WrappedSecret;
use trent_storage::{
    AutomaticRotation, Command, KeyId, KeyLifecycle, KeyMaterialId, MaterialSource, RotatedMaterial,
    RotationKind,
};
use trent_wire::model::{KeyMaterialState, KeySpec, KeyUsage, RotationType};
use trent_wire::ErrorCode;

const MINUTE_MS: u64 = 60 * 1000;

fn enable(key_id: KeyId, days: u32) -> Command {
    Command::SetKeyRotation { key_id, period_days: Some(days) }
}

/// New material as the leader would make it: an id of its own (`n`), any sealed bytes.
fn material(n: u8) -> Option<RotatedMaterial> {
    Some(RotatedMaterial {
        id: KeyMaterialId([n; 32]),
        sealed: WrappedSecret { barrier_version: 1, sealed: vec![n; 60] },
    })
}

fn automatic(key_id: KeyId, due_at_ms: u64, n: u8) -> Command {
    Command::RotateKey { key_id, kind: RotationKind::Automatic { due_at_ms }, material: material(n) }
}

fn on_demand(key_id: KeyId, n: u8) -> Command {
    Command::RotateKey { key_id, kind: RotationKind::OnDemand, material: material(n) }
}

/// A node of a cluster at feature level 4, which rotation needs (the node refuses the commands
/// below it; at level 0 a retry would be fingerprinted with its leader-made material).
async fn node() -> Node {
    let mut node = Node::new();
    node.run(T0 - 1, Command::RaiseFeatureLevel { level: 4 }).await.expect("raised");
    node
}

/// A node with one enabled symmetric key.
async fn with_key() -> (Node, KeyId) {
    let mut node = node().await;
    let id = key_id();
    node.run(T0, create_key(id)).await.expect("created");
    (node, id)
}

async fn with_key_of(spec: KeySpec, usage: KeyUsage) -> (Node, KeyId) {
    let mut node = node().await;
    let id = key_id();
    let mut key = new_key(id);
    key.draft.spec = spec;
    key.draft.usage = usage;
    node.run(T0, Command::CreateKey(key)).await.expect("created");
    (node, id)
}

fn schedule(node: &Node, key_id: KeyId) -> Option<AutomaticRotation> {
    node.key(key_id).rotation.automatic
}

#[tokio::test]
async fn enabling_rotation_schedules_the_first_one_a_period_after_now() {
    let (mut node, id) = with_key().await;
    let enabled = applied_key(&node.run(T0 + 5, enable(id, 365)).await);
    let due = T0 + 5 + 365 * DAY_MS;
    let expected = AutomaticRotation { period_days: 365, anchor_ms: T0 + 5, next_at_ms: due };
    assert_eq!(enabled.rotation.automatic, Some(expected));
    let registry = node.registry();
    assert!(registry.keys_due_for_rotation(due - 1, 10).is_empty());
    assert_eq!(registry.keys_due_for_rotation(due, 10), vec![(id, due)]);
    assert_eq!(node.key(id).materials.len(), 1, "enabling rotates nothing");
}

#[tokio::test]
async fn the_period_is_90_to_2560_days() {
    let (mut node, id) = with_key().await;
    for days in [0, 89, 2561, u32::MAX] {
        assert_eq!(
            rejection_code(&node.run(T0, enable(id, days)).await),
            ErrorCode::Validation,
            "{days} days"
        );
    }
    assert_eq!(schedule(&node, id), None);
    for days in [90, 2560] {
        let key = applied_key(&node.run(T0, enable(id, days)).await);
        assert_eq!(key.rotation.automatic.map(|s| s.period_days), Some(days));
    }
}

#[tokio::test]
async fn a_new_period_keeps_the_anchor_and_one_already_past_makes_the_key_due_now() {
    let (mut node, id) = with_key().await;
    node.run(T0, enable(id, 365)).await.unwrap();
    let later = T0 + 100 * DAY_MS;
    node.run(later, enable(id, 200)).await.unwrap();
    assert_eq!(
        schedule(&node, id),
        Some(AutomaticRotation { period_days: 200, anchor_ms: T0, next_at_ms: T0 + 200 * DAY_MS })
    );
    // 90 days from the anchor is already past: due at once, not 90 days from now.
    node.run(later, enable(id, 90)).await.unwrap();
    assert_eq!(
        schedule(&node, id),
        Some(AutomaticRotation { period_days: 90, anchor_ms: T0, next_at_ms: later })
    );
    assert_eq!(node.registry().keys_due_for_rotation(later, 10), vec![(id, later)]);
}

#[tokio::test]
async fn disabling_rotation_drops_the_schedule_and_the_key_from_the_queue() {
    let (mut node, id) = with_key().await;
    node.run(T0, enable(id, 90)).await.unwrap();
    for _ in 0..2 {
        let key =
            applied_key(&node.run(T0 + 1, Command::SetKeyRotation { key_id: id, period_days: None }).await);
        assert_eq!(key.rotation.automatic, None);
    }
    assert!(node.registry().keys_due_for_rotation(u64::MAX, 10).is_empty());
    // A rotation proposed for the old date finds nothing due.
    let refused = node.run(T0 + 90 * DAY_MS, automatic(id, T0 + 90 * DAY_MS, 1)).await;
    assert_eq!(rejection_code(&refused), ErrorCode::InvalidState);
}

#[tokio::test]
async fn only_symmetric_keys_whose_material_trent_made_rotate_automatically() {
    for (spec, usage) in [
        (KeySpec::Hmac256, KeyUsage::GenerateVerifyMac),
        (KeySpec::Rsa2048, KeyUsage::EncryptDecrypt),
        (KeySpec::EccNistP256, KeyUsage::SignVerify),
    ] {
        let (mut node, id) = with_key_of(spec, usage).await;
        let refused = node.run(T0, enable(id, 365)).await;
        assert_eq!(rejection_code(&refused), ErrorCode::UnsupportedOperation, "{spec}");
    }
    // An EXTERNAL key stored before format 3 (with material Trent made) is no exception.
    let mut node = node().await;
    let id = key_id();
    let mut external = new_key(id);
    external.draft.origin = trent_wire::model::Origin::External;
    node.run(T0, Command::CreateKey(external)).await.unwrap();
    assert_eq!(rejection_code(&node.run(T0, enable(id, 365)).await), ErrorCode::UnsupportedOperation);
    assert_eq!(rejection_code(&node.run(T0 + 1, enable(key_id(), 365)).await), ErrorCode::NotFound);
}

#[tokio::test]
async fn rotation_needs_an_enabled_key() {
    let (mut node, id) = with_key().await;
    node.run(T0, Command::DisableKey { key_id: id }).await.unwrap();
    assert_eq!(rejection_code(&node.run(T0, enable(id, 365)).await), ErrorCode::Disabled);
    let disable = Command::SetKeyRotation { key_id: id, period_days: None };
    assert_eq!(rejection_code(&node.run(T0, disable).await), ErrorCode::Disabled);
    assert_eq!(rejection_code(&node.run(T0, on_demand(id, 1)).await), ErrorCode::Disabled);
    node.run(T0, Command::ScheduleKeyDeletion { key_id: id, window_days: 7 }).await.unwrap();
    assert_eq!(rejection_code(&node.run(T0, enable(id, 365)).await), ErrorCode::InvalidState);
    assert_eq!(rejection_code(&node.run(T0, on_demand(id, 2)).await), ErrorCode::InvalidState);
    assert_eq!(node.key(id).materials.len(), 1);
}

#[tokio::test]
async fn an_automatic_rotation_applies_only_once_its_date_has_come() {
    let (mut node, id) = with_key().await;
    node.run(T0, enable(id, 90)).await.unwrap();
    let due = T0 + 90 * DAY_MS;
    assert_eq!(
        rejection_code(&node.run(due - 1, automatic(id, due, 1)).await),
        ErrorCode::InvalidState,
        "early"
    );
    assert_eq!(
        rejection_code(&node.run(due + 1, automatic(id, due - 1, 1)).await),
        ErrorCode::InvalidState,
        "not its date"
    );

    let rotated = applied_key(&node.run(due + 7, automatic(id, due, 1)).await);
    assert_eq!(rotated.current_version, 2);
    assert_eq!(rotated.materials.len(), 1, "a write's result carries the current material only");
    let key = node.key(id);
    assert_eq!(key.materials.len(), 2);
    let new = &key.materials[1];
    assert_eq!(
        new.source,
        MaterialSource::Rotated { id: KeyMaterialId([1; 32]), sealed: material(1).unwrap().sealed }
    );
    let became = new.became_current.expect("a rotation");
    assert_eq!((became.kind, became.at_ms, new.created_at_ms), (RotationType::Automatic, due + 7, due + 7));
    assert_eq!(key.material_state(1), Some(KeyMaterialState::NonCurrent));
    assert_eq!(key.material_state(2), Some(KeyMaterialState::Current));
    // The next date follows the one rotated for, not the (later) time it was applied.
    assert_eq!(
        key.rotation.automatic,
        Some(AutomaticRotation { period_days: 90, anchor_ms: due, next_at_ms: due + 90 * DAY_MS })
    );
    assert_eq!(key.rotation.on_demand_count, 0);
    assert!(node.registry().keys_due_for_rotation(due + 90 * DAY_MS - 1, 10).is_empty());
}

#[tokio::test]
async fn a_second_proposal_for_the_same_due_date_is_refused() {
    let (mut node, id) = with_key().await;
    node.run(T0, enable(id, 90)).await.unwrap();
    let due = T0 + 90 * DAY_MS;
    // Two leaders each saw the key due and proposed its rotation (with ids of their own): in one
    // batch, and again in a later entry.
    let results = node
        .apply_batch(vec![request(due, automatic(id, due, 1)), request(due + 1, automatic(id, due, 2))])
        .await;
    assert!(results[0].is_ok());
    assert_eq!(rejection_code(&results[1]), ErrorCode::InvalidState);
    assert_eq!(rejection_code(&node.run(due + 2, automatic(id, due, 3)).await), ErrorCode::InvalidState);
    let key = node.key(id);
    assert_eq!(key.materials.len(), 2, "one rotation for the date");
    assert_eq!(key.materials[1].stored_id(), Some(&KeyMaterialId([1; 32])));
}

#[tokio::test]
async fn a_late_rotation_catches_up_once_not_in_a_burst() {
    let (mut node, id) = with_key().await;
    node.run(T0, enable(id, 90)).await.unwrap();
    let due = T0 + 90 * DAY_MS;
    // Four periods late (the key was disabled, or the cluster down).
    let late = T0 + 400 * DAY_MS;
    node.run(late, automatic(id, due, 1)).await.unwrap();
    assert_eq!(
        schedule(&node, id),
        Some(AutomaticRotation { period_days: 90, anchor_ms: late, next_at_ms: late + 90 * DAY_MS })
    );
    assert!(node.registry().keys_due_for_rotation(late + 90 * DAY_MS - 1, 10).is_empty(), "nothing else due");
    assert_eq!(node.key(id).materials.len(), 2);
}

#[tokio::test]
async fn a_key_that_is_not_enabled_stays_due_and_rotates_once_enabled() {
    let (mut node, id) = with_key().await;
    node.run(T0, enable(id, 90)).await.unwrap();
    let due = T0 + 90 * DAY_MS;
    node.run(T0 + 1, Command::DisableKey { key_id: id }).await.unwrap();
    assert!(node.registry().keys_due_for_rotation(due, 10).is_empty(), "a disabled key is not offered");
    assert_eq!(rejection_code(&node.run(due, automatic(id, due, 1)).await), ErrorCode::Disabled);
    node.run(due + 5, Command::EnableKey { key_id: id }).await.unwrap();
    assert_eq!(node.registry().keys_due_for_rotation(due + 5, 10), vec![(id, due)]);
    node.run(due + 6, automatic(id, due, 1)).await.unwrap();
    assert_eq!(node.key(id).current_version, 2);
}

#[tokio::test]
async fn keys_come_due_in_date_order_up_to_the_limit() {
    let mut node = node().await;
    let ids: Vec<KeyId> = (0..4).map(|_| key_id()).collect();
    for (n, id) in ids.iter().enumerate() {
        node.run(T0, create_key(*id)).await.unwrap();
        node.run(T0 + n as u64, enable(*id, 90)).await.unwrap();
    }
    let due = |n: usize| T0 + n as u64 + 90 * DAY_MS;
    let registry = node.registry();
    assert_eq!(registry.keys_due_for_rotation(due(3), 2), vec![(ids[0], due(0)), (ids[1], due(1))]);
    assert_eq!(registry.keys_due_for_rotation(due(2), 10).len(), 3);
}

#[tokio::test]
async fn on_demand_rotation_adds_a_current_version_25_times_and_no_more() {
    let (mut node, id) = with_key().await;
    node.run(T0, enable(id, 365)).await.unwrap();
    let before = schedule(&node, id);
    for n in 1..=25u8 {
        let key = applied_key(&node.run(T0 + u64::from(n), on_demand(id, n)).await);
        assert_eq!((key.current_version, key.rotation.on_demand_count), (u32::from(n) + 1, u32::from(n)));
    }
    let refused = node.run(T0 + 30, on_demand(id, 26)).await;
    assert_eq!(rejection_code(&refused), ErrorCode::LimitExceeded);
    let key = node.key(id);
    assert_eq!(key.materials.len(), 26);
    let kinds: Vec<Option<RotationType>> =
        key.materials.iter().map(|m| m.became_current.map(|event| event.kind)).collect();
    assert_eq!(kinds[0], None, "the first material was never rotated to");
    assert!(kinds[1..].iter().all(|kind| *kind == Some(RotationType::OnDemand)));
    assert_eq!(key.rotation.automatic, before, "on-demand rotations leave the schedule alone");
}

#[tokio::test]
async fn on_demand_rotation_conflicts_with_an_automatic_one_due_within_20_minutes() {
    let (mut node, id) = with_key().await;
    node.run(T0, enable(id, 90)).await.unwrap();
    let due = T0 + 90 * DAY_MS;
    let window_opens = due - 20 * MINUTE_MS;
    assert_eq!(rejection_code(&node.run(window_opens, on_demand(id, 1)).await), ErrorCode::Conflict);
    assert_eq!(
        rejection_code(&node.run(due + DAY_MS, on_demand(id, 1)).await),
        ErrorCode::Conflict,
        "overdue"
    );
    node.run(window_opens - 1, on_demand(id, 1)).await.expect("just before the window");
    assert_eq!(node.key(id).rotation.on_demand_count, 1);
}

#[tokio::test]
async fn hmac_and_asymmetric_keys_do_not_rotate_on_demand() {
    for (spec, usage) in [
        (KeySpec::Hmac512, KeyUsage::GenerateVerifyMac),
        (KeySpec::Rsa4096, KeyUsage::SignVerify),
        (KeySpec::MlKem768, KeyUsage::EncapsulateDecapsulate),
    ] {
        let (mut node, id) = with_key_of(spec, usage).await;
        assert_eq!(
            rejection_code(&node.run(T0, on_demand(id, 1)).await),
            ErrorCode::UnsupportedOperation,
            "{spec}"
        );
        assert_eq!(node.key(id).materials.len(), 1);
    }
}

#[tokio::test]
async fn a_rotation_brings_material_with_an_id_the_key_has_not_used() {
    let (mut node, id) = with_key().await;
    let bare = Command::RotateKey { key_id: id, kind: RotationKind::OnDemand, material: None };
    assert_eq!(rejection_code(&node.run(T0, bare).await), ErrorCode::Validation);
    node.run(T0, on_demand(id, 1)).await.unwrap();
    assert_eq!(
        rejection_code(&node.run(T0, on_demand(id, 1)).await),
        ErrorCode::Validation,
        "the same id again"
    );
    assert_eq!(node.key(id).rotation.on_demand_count, 1);
}

#[tokio::test]
async fn a_retried_rotation_applies_once() {
    let (mut node, id) = with_key().await;
    let first = request(T0, on_demand(id, 1));
    let applied = node.apply(first.clone()).await.unwrap();
    // The leader's retry of the same request carries material it made again.
    let retry = trent_storage::Request { command: on_demand(id, 2), ..first };
    assert_eq!(node.apply(retry).await.unwrap(), applied);
    assert_eq!(node.key(id).materials.len(), 2);
}

#[tokio::test]
async fn rotation_state_survives_a_restart_and_a_snapshot() {
    let (mut node, id) = with_key().await;
    node.run(T0, enable(id, 90)).await.unwrap();
    node.run(T0 + 1, on_demand(id, 1)).await.unwrap();
    node.run(T0 + 90 * DAY_MS, automatic(id, T0 + 90 * DAY_MS, 2)).await.unwrap();
    let other = key_id();
    node.run(T0, create_key(other)).await.unwrap();
    node.run(T0, enable(other, 2560)).await.unwrap();
    let before = node.registry();

    let mut node = node.reopen();
    assert_eq!(node.registry(), before, "rows and the rotation queue rebuilt");
    let fresh = node.snapshot_into_fresh().await;
    assert_eq!(fresh.registry(), before);
    assert_eq!(fresh.registry().keys_due_for_rotation(u64::MAX, 10).len(), 2);
}

#[tokio::test]
async fn a_deleted_key_leaves_the_rotation_queue() {
    let (mut node, id) = with_key().await;
    node.run(T0, enable(id, 90)).await.unwrap();
    node.run(T0, Command::ScheduleKeyDeletion { key_id: id, window_days: 7 }).await.unwrap();
    assert!(node.registry().keys_due_for_rotation(u64::MAX, 10).is_empty(), "pending deletion: not offered");
    node.run(T0 + 7 * DAY_MS, Command::DeleteExpiredKey { key_id: id }).await.unwrap();
    let reopened = node.reopen();
    assert_eq!(reopened.registry().key_count(), 0);
    assert!(reopened.registry().keys_due_for_rotation(u64::MAX, 10).is_empty());
}

#[tokio::test]
async fn a_cancelled_deletion_leaves_the_key_disabled_and_still_scheduled() {
    let (mut node, id) = with_key().await;
    node.run(T0, enable(id, 90)).await.unwrap();
    node.run(T0, Command::ScheduleKeyDeletion { key_id: id, window_days: 7 }).await.unwrap();
    node.run(T0 + 1, Command::CancelKeyDeletion { key_id: id }).await.unwrap();
    let key = node.key(id);
    assert_eq!(key.lifecycle, KeyLifecycle::Disabled);
    assert!(key.rotation.automatic.is_some());
}

#[tokio::test]
async fn a_key_holding_the_most_versions_is_not_offered_for_rotation_again() {
    let (mut node, id) = with_key().await;
    node.run(T0, enable(id, 90)).await.unwrap();
    let period = 90 * DAY_MS;
    let mut due = T0 + period;
    let rotations = trent_storage::MAX_MATERIAL_VERSIONS - 1;
    let batch: Vec<_> = (0..rotations)
        .map(|n| {
            let mut bytes = [0u8; 32];
            bytes[..8].copy_from_slice(&(n as u64 + 1).to_be_bytes());
            let material = RotatedMaterial {
                id: KeyMaterialId(bytes),
                sealed: WrappedSecret { barrier_version: 1, sealed: vec![7; 60] },
            };
            let command = Command::RotateKey {
                key_id: id,
                kind: RotationKind::Automatic { due_at_ms: due },
                material: Some(material),
            };
            let stamped = request(due, command);
            due += period;
            stamped
        })
        .collect();
    for chunk in batch.chunks(100) {
        assert!(node.apply_batch(chunk.to_vec()).await.iter().all(Result::is_ok));
    }
    assert_eq!(node.key(id).materials.len(), trent_storage::MAX_MATERIAL_VERSIONS);
    assert_eq!(schedule(&node, id).map(|schedule| schedule.next_at_ms), Some(due), "still scheduled");
    assert!(node.registry().keys_due_for_rotation(u64::MAX, 10).is_empty(), "not proposed every sweep");
    assert_eq!(rejection_code(&node.run(due, automatic(id, due, 1)).await), ErrorCode::LimitExceeded);
}
