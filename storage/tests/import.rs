//! Bring-your-own-key import in the state machine: an `EXTERNAL` key waits in PendingImport
//! until material comes; import parameters replace each other, expire and are forgotten; the
//! same material comes back (its id matches) where other material is refused; deletion and
//! expiry drop the sealed bytes and send the key back to PendingImport; refusals change nothing.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a panic in a test is a failed test

mod common;

use common::{applied_key, create_key, key_id, rejection_code, Node, DAY_MS, T0};
use trent_storage::import::IMPORT_PARAMETERS_LIFETIME_MS;
use trent_storage::sealed::WrappedSecret;
use trent_storage::{
    Applied, Command, ImportParametersRecord, ImportTokenId, KeyDraft, KeyId, KeyLifecycle, KeyMaterialId,
    NewImportedMaterial,
};
use trent_wire::model::{ImportType, KeySpec, KeyUsage, Origin, WrappingAlgorithm, WrappingKeySpec};
use trent_wire::ErrorCode;

fn draft(spec: KeySpec, usage: KeyUsage) -> KeyDraft {
    KeyDraft { description: "imported".to_owned(), spec, usage, origin: Origin::External, tags: Vec::new() }
}

fn create_external(key_id: KeyId, spec: KeySpec, usage: KeyUsage) -> Command {
    Command::CreateExternalKey { key_id, draft: draft(spec, usage), policy: None }
}

fn parameters(key_id: KeyId, token: u8, now_ms: u64) -> Command {
    Command::CreateImportParameters(ImportParametersRecord {
        token_id: ImportTokenId([token; 16]),
        key_id,
        algorithm: WrappingAlgorithm::RsaesOaepSha256,
        wrapping_spec: WrappingKeySpec::Rsa2048,
        public_key: vec![0x30; 294],
        sealed_private_key: WrappedSecret { barrier_version: 1, sealed: vec![token; 1250] },
        valid_to_ms: now_ms + IMPORT_PARAMETERS_LIFETIME_MS,
    })
}

/// Material `n` as the node would propose it: its id derived from it, sealed.
fn material(n: u8, valid_to_ms: Option<u64>) -> NewImportedMaterial {
    NewImportedMaterial {
        id: KeyMaterialId([n; 32]),
        sealed: WrappedSecret { barrier_version: 1, sealed: vec![n; 60] },
        valid_to_ms,
        description: None,
    }
}

fn import(
    key_id: KeyId,
    token: u8,
    import_type: Option<ImportType>,
    material: NewImportedMaterial,
) -> Command {
    Command::ImportKeyMaterial {
        key_id,
        token_id: ImportTokenId([token; 16]),
        import_type,
        claimed_id: None,
        material,
    }
}

/// A level-4 node with an `EXTERNAL` symmetric key and import parameters (token 1) for it.
async fn with_external_key() -> (Node, KeyId) {
    let mut node = Node::new();
    node.run(T0 - 2, Command::RaiseFeatureLevel { level: 4 }).await.expect("raised");
    let id = key_id();
    let created = applied_key(
        &node.run(T0 - 1, create_external(id, KeySpec::SymmetricDefault, KeyUsage::EncryptDecrypt)).await,
    );
    assert_eq!((created.lifecycle, created.origin), (KeyLifecycle::PendingImport, Origin::External));
    assert!(created.materials.is_empty() && created.current_version == 0);
    node.run(T0, parameters(id, 1, T0)).await.expect("parameters kept");
    (node, id)
}

#[tokio::test]
async fn an_external_key_waits_for_material_and_is_enabled_by_its_first_import() {
    let (mut node, id) = with_external_key().await;
    assert_eq!(
        rejection_code(&node.run(T0 + 1, Command::EnableKey { key_id: id }).await),
        ErrorCode::InvalidState
    );

    let imported = applied_key(&node.run(T0 + 2, import(id, 1, None, material(7, None))).await);
    assert_eq!((imported.lifecycle, imported.current_version), (KeyLifecycle::Enabled, 1));
    let stored = node.key(id);
    let first = stored.materials[0].imported().expect("imported");
    assert_eq!((first.id, first.valid_to_ms), (KeyMaterialId([7; 32]), None));
    assert!(first.sealed.is_some());
}

#[tokio::test]
async fn ml_kem_and_non_external_drafts_are_not_external_keys() {
    let mut node = Node::new();
    let refused = node.run(T0, create_external(key_id(), KeySpec::MlKem768, KeyUsage::KeyAgreement)).await;
    assert_eq!(rejection_code(&refused), ErrorCode::UnsupportedOperation);
    let mut aws = draft(KeySpec::SymmetricDefault, KeyUsage::EncryptDecrypt);
    aws.origin = Origin::AwsKms;
    let refused =
        node.run(T0, Command::CreateExternalKey { key_id: key_id(), draft: aws, policy: None }).await;
    assert_eq!(rejection_code(&refused), ErrorCode::UnsupportedOperation);
    for (spec, usage) in [
        (KeySpec::Hmac256, KeyUsage::GenerateVerifyMac),
        (KeySpec::Rsa2048, KeyUsage::SignVerify),
        (KeySpec::EccNistP256, KeyUsage::SignVerify),
        (KeySpec::MlDsa65, KeyUsage::SignVerify),
    ] {
        let key = applied_key(&node.run(T0, create_external(key_id(), spec, usage)).await);
        assert_eq!(key.lifecycle, KeyLifecycle::PendingImport, "{spec}");
    }
}

#[tokio::test]
async fn new_parameters_replace_the_old_and_expired_ones_are_refused_and_forgotten() {
    let (mut node, id) = with_external_key().await;
    node.run(T0 + 1, parameters(id, 2, T0 + 1)).await.expect("second set");
    let registry = node.registry();
    assert!(registry.import_parameters(&ImportTokenId([1; 16])).is_none(), "replaced");
    assert!(registry.import_parameters(&ImportTokenId([2; 16])).is_some());
    let old_token = node.run(T0 + 2, import(id, 1, None, material(7, None))).await;
    assert_eq!(rejection_code(&old_token), ErrorCode::InvalidImportToken);

    let expired_at = T0 + 1 + IMPORT_PARAMETERS_LIFETIME_MS;
    let late = node.run(expired_at, import(id, 2, None, material(7, None))).await;
    assert_eq!(rejection_code(&late), ErrorCode::ExpiredImportToken);
    assert_eq!(node.key(id).lifecycle, KeyLifecycle::PendingImport, "nothing imported");

    let forget = || Command::ForgetImportParameters { token_id: ImportTokenId([2; 16]) };
    assert_eq!(node.registry().import_parameters_due(expired_at - 1, 10), Vec::new());
    assert_eq!(rejection_code(&node.run(expired_at - 1, forget()).await), ErrorCode::InvalidState);
    assert_eq!(node.registry().import_parameters_due(expired_at, 10), vec![ImportTokenId([2; 16])]);
    assert_eq!(node.run(expired_at, forget()).await, Ok(Applied::Done));
    assert!(node.registry().import_parameters(&ImportTokenId([2; 16])).is_none());
    let reopened = node.reopen();
    assert!(reopened.registry().import_parameters(&ImportTokenId([2; 16])).is_none(), "forgotten on disk");
}

#[tokio::test]
async fn a_token_works_only_for_its_own_key_and_parameters_only_for_external_keys() {
    let (mut node, id) = with_external_key().await;
    let other = key_id();
    node.run(T0 + 1, create_external(other, KeySpec::SymmetricDefault, KeyUsage::EncryptDecrypt))
        .await
        .expect("created");
    let foreign = node.run(T0 + 2, import(other, 1, None, material(7, None))).await;
    assert_eq!(rejection_code(&foreign), ErrorCode::InvalidImportToken);
    let unknown = node.run(T0 + 2, import(id, 9, None, material(7, None))).await;
    assert_eq!(rejection_code(&unknown), ErrorCode::InvalidImportToken);

    let made = key_id();
    node.run(T0 + 3, create_key(made)).await.expect("created");
    assert_eq!(
        rejection_code(&node.run(T0 + 4, parameters(made, 3, T0 + 4)).await),
        ErrorCode::UnsupportedOperation
    );
    let too_long = Command::CreateImportParameters(ImportParametersRecord {
        valid_to_ms: T0 + 5 + IMPORT_PARAMETERS_LIFETIME_MS + 1,
        ..match parameters(id, 4, T0 + 5) {
            Command::CreateImportParameters(record) => record,
            _ => unreachable!(),
        }
    });
    assert_eq!(rejection_code(&node.run(T0 + 5, too_long).await), ErrorCode::Validation);
    assert!(
        node.registry().import_parameters(&ImportTokenId([1; 16])).is_some(),
        "bad input changed nothing"
    );
}

#[tokio::test]
async fn deleted_material_comes_back_only_as_the_same_material() {
    let (mut node, id) = with_external_key().await;
    node.run(T0 + 1, import(id, 1, None, material(7, None))).await.expect("imported");
    let material_id = KeyMaterialId([7; 32]);
    let deleted =
        applied_key(&node.run(T0 + 2, Command::DeleteImportedKeyMaterial { key_id: id, material_id }).await);
    assert_eq!(deleted.lifecycle, KeyLifecycle::PendingImport);
    assert!(node.key(id).materials[0].sealed().is_none(), "sealed bytes dropped");

    let other = node.run(T0 + 3, import(id, 1, None, material(8, None))).await;
    assert_eq!(rejection_code(&other), ErrorCode::IncorrectKeyMaterial);
    let as_new = node.run(T0 + 3, import(id, 1, Some(ImportType::NewKeyMaterial), material(8, None))).await;
    assert_eq!(rejection_code(&as_new), ErrorCode::InvalidState, "the key lacks its material");
    assert_eq!(node.key(id).lifecycle, KeyLifecycle::PendingImport, "refusals changed nothing");

    let mut again = material(7, Some(T0 + DAY_MS));
    again.description = Some("back".to_owned());
    let restored = applied_key(&node.run(T0 + 4, import(id, 1, None, again)).await);
    assert_eq!((restored.lifecycle, restored.current_version), (KeyLifecycle::Enabled, 1));
    let stored = node.key(id);
    let imported = stored.materials[0].imported().unwrap();
    assert_eq!((imported.valid_to_ms, imported.description.as_deref()), (Some(T0 + DAY_MS), Some("back")));
    assert!(imported.sealed.is_some());
}

#[tokio::test]
async fn new_material_waits_for_rotation_and_its_deletion_removes_it() {
    let (mut node, id) = with_external_key().await;
    node.run(T0 + 1, import(id, 1, None, material(7, None))).await.expect("imported");
    let same_as_new =
        node.run(T0 + 2, import(id, 1, Some(ImportType::NewKeyMaterial), material(7, None))).await;
    assert_eq!(rejection_code(&same_as_new), ErrorCode::IncorrectKeyMaterial);
    node.run(T0 + 3, import(id, 1, Some(ImportType::NewKeyMaterial), material(8, None)))
        .await
        .expect("pending");
    let key = node.key(id);
    assert_eq!((key.current_version, key.materials.len()), (1, 2));
    let third = node.run(T0 + 4, import(id, 1, Some(ImportType::NewKeyMaterial), material(9, None))).await;
    assert_eq!(rejection_code(&third), ErrorCode::InvalidState, "one pending at a time");

    let material_id = KeyMaterialId([8; 32]);
    let deleted =
        applied_key(&node.run(T0 + 5, Command::DeleteImportedKeyMaterial { key_id: id, material_id }).await);
    assert_eq!(deleted.lifecycle, KeyLifecycle::Enabled, "the current material is still there");
    assert_eq!(node.key(id).materials.len(), 1, "pending material removed whole");
}

#[tokio::test]
async fn expiry_applies_only_at_the_valid_to_the_leader_saw() {
    let (mut node, id) = with_external_key().await;
    let valid_to = T0 + 10 * DAY_MS;
    node.run(T0 + 1, import(id, 1, None, material(7, Some(valid_to)))).await.expect("imported");
    let material_id = KeyMaterialId([7; 32]);
    let expire = |valid_to_ms| Command::ExpireImportedKeyMaterial { key_id: id, material_id, valid_to_ms };
    assert!(node.registry().imported_material_due(valid_to - 1, 10).is_empty());
    assert_eq!(node.registry().imported_material_due(valid_to, 10), vec![(id, material_id, valid_to)]);
    assert_eq!(
        rejection_code(&node.run(valid_to - 1, expire(valid_to)).await),
        ErrorCode::InvalidState,
        "early"
    );
    assert_eq!(
        rejection_code(&node.run(valid_to, expire(valid_to - 1)).await),
        ErrorCode::InvalidState,
        "stale"
    );
    assert_eq!(node.key(id).lifecycle, KeyLifecycle::Enabled);

    let expired = applied_key(&node.run(valid_to, expire(valid_to)).await);
    assert_eq!(expired.lifecycle, KeyLifecycle::PendingImport);
    assert!(node.registry().imported_material_due(valid_to, 10).is_empty(), "expired once");
    assert_eq!(rejection_code(&node.run(valid_to + 1, expire(valid_to)).await), ErrorCode::InvalidState);
    let reopened = node.reopen();
    assert_eq!(reopened.key(id).lifecycle, KeyLifecycle::PendingImport, "persisted");
}

#[tokio::test]
async fn a_past_or_too_distant_valid_to_and_a_key_pending_deletion_are_refused() {
    let (mut node, id) = with_external_key().await;
    let past = node.run(T0 + 5, import(id, 1, None, material(7, Some(T0 + 5)))).await;
    assert_eq!(rejection_code(&past), ErrorCode::Validation);
    let day_ms = 24 * 60 * 60 * 1000;
    let too_far = node.run(T0 + 5, import(id, 1, None, material(7, Some(T0 + 5 + 367 * day_ms)))).await;
    assert_eq!(rejection_code(&too_far), ErrorCode::Validation, "over 365 days (and a day of slack)");
    node.run(T0 + 6, Command::ScheduleKeyDeletion { key_id: id, window_days: 7 }).await.expect("scheduled");
    let pending = node.run(T0 + 7, import(id, 1, None, material(7, None))).await;
    assert_eq!(rejection_code(&pending), ErrorCode::InvalidState);
    assert!(node.key(id).materials.is_empty());
}

#[tokio::test]
async fn deleting_a_key_forgets_its_import_parameters() {
    let (mut node, id) = with_external_key().await;
    node.run(T0 + 1, Command::ScheduleKeyDeletion { key_id: id, window_days: 7 }).await.expect("scheduled");
    node.run(T0 + 1 + 7 * DAY_MS, Command::DeleteExpiredKey { key_id: id }).await.expect("deleted");
    assert!(node.registry().import_parameters(&ImportTokenId([1; 16])).is_none());
    let snapshot = node.snapshot_into_fresh().await;
    assert!(snapshot.registry().import_parameters(&ImportTokenId([1; 16])).is_none());
}

#[tokio::test]
async fn import_parameters_and_imported_material_survive_snapshots_and_reopening() {
    let (mut node, id) = with_external_key().await;
    node.run(T0 + 1, import(id, 1, None, material(7, None))).await.expect("imported");
    let before = node.registry();
    let fresh = node.snapshot_into_fresh().await;
    assert_eq!(
        fresh.registry().import_parameters(&ImportTokenId([1; 16])),
        before.import_parameters(&ImportTokenId([1; 16]))
    );
    assert_eq!(fresh.key(id), before.key(&id).unwrap().clone());
    let reopened = node.reopen();
    assert_eq!(reopened.key(id), before.key(&id).unwrap().clone());
    assert!(reopened.registry().import_parameters(&ImportTokenId([1; 16])).is_some());
}

#[tokio::test]
async fn the_expiry_queue_follows_reimports_reopening_snapshots_and_key_deletion() {
    let (mut node, id) = with_external_key().await;
    let material_id = KeyMaterialId([7; 32]);
    node.run(T0 + 1, import(id, 1, None, material(7, Some(T0 + 3 * DAY_MS)))).await.expect("imported");
    node.run(T0 + 2, import(id, 1, None, material(7, Some(T0 + 5 * DAY_MS)))).await.expect("renewed");
    assert!(node.registry().imported_material_due(T0 + 4 * DAY_MS, 10).is_empty(), "the old ValidTo is gone");
    let due = vec![(id, material_id, T0 + 5 * DAY_MS)];
    assert_eq!(node.registry().imported_material_due(T0 + 5 * DAY_MS, 10), due);
    let mut node = node.reopen();
    assert_eq!(node.registry().imported_material_due(T0 + 5 * DAY_MS, 10), due, "rebuilt from disk");
    let mut fresh = node.snapshot_into_fresh().await;
    assert_eq!(fresh.registry().imported_material_due(T0 + 5 * DAY_MS, 10), due, "rebuilt from a snapshot");

    fresh.run(T0 + 3, Command::ScheduleKeyDeletion { key_id: id, window_days: 7 }).await.expect("scheduled");
    fresh.run(T0 + 3 + 7 * DAY_MS, Command::DeleteExpiredKey { key_id: id }).await.expect("deleted");
    assert!(fresh.registry().imported_material_due(u64::MAX, 10).is_empty(), "a deleted key expires nothing");
}
