//! Authorization records in the state machine (feature level 2): the `admin` user appears when
//! the level rises (or at init once it has), users are unique without case and cannot be
//! deleted while they have access keys, access keys act as their user, key policies and grants
//! belong to their key and go with it, a named grant asked for twice is one grant; all of it
//! survives a restart and travels in snapshots.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a panic in a test is a failed test

mod common;

use std::collections::BTreeMap;

use common::{create_key, key_id, rejection_code, Node, DAY_MS, T0};
use trent_storage::sealed::{SealedKeyring, WrappedBarrierKey, WrappedSecret};
use trent_storage::{AccessKeyRecord, Applied, Command, GrantRecord, KeyId, ADMIN_POLICY, ADMIN_USER};
use trent_wire::ErrorCode;

fn access_key(id: &str) -> AccessKeyRecord {
    AccessKeyRecord {
        access_key_id: id.to_owned(),
        secret: WrappedSecret { barrier_version: 1, sealed: vec![1; 68] },
        created_at_ms: T0,
        description: String::new(),
    }
}

fn keyring() -> SealedKeyring {
    SealedKeyring { cluster_id: [3; 16], keys: vec![WrappedBarrierKey { version: 1, sealed: vec![1; 60] }] }
}

const POLICY: &str = r#"{"Statement":{"Effect":"Allow","Action":"kms:Encrypt","Resource":"*"}}"#;

fn grant(key: KeyId, id: char, name: Option<&str>) -> GrantRecord {
    GrantRecord {
        key_id: key,
        grant: trent_policy::Grant {
            grant_id: id.to_string().repeat(64),
            grantee_principal: "arn:aws:iam::111122223333:user/bob".into(),
            operations: vec!["Decrypt".into(), "Encrypt".into()],
            constraints: Some(trent_policy::GrantConstraints {
                equals: Some(BTreeMap::from([("app".into(), "billing".into())])),
                subset: None,
            }),
        },
        name: name.map(str::to_owned),
        retiring_principal: None,
        issuing_principal: "arn:aws:iam::111122223333:user/admin".into(),
        created_at_ms: 0,
    }
}

/// An initialised cluster at level 2 with one key.
async fn cluster() -> (Node, KeyId) {
    let mut node = Node::new();
    let init = Command::InitializeCluster { keyring: keyring(), admin: access_key("AKIAADMIN") };
    node.run(T0, init).await.unwrap();
    assert!(node.registry().user(ADMIN_USER).is_none(), "no users below level 2");
    node.run(T0, Command::RaiseFeatureLevel { level: 2 }).await.unwrap();
    let admin = node.registry().user(ADMIN_USER).cloned().expect("admin made by the raise");
    assert_eq!(admin.policy.as_deref(), Some(ADMIN_POLICY));
    assert_eq!(node.registry().access_key_user("AKIAADMIN"), ADMIN_USER, "older keys are admin's");
    let key = key_id();
    node.run(T0, create_key(key)).await.unwrap();
    (node, key)
}

#[tokio::test]
async fn users_own_access_keys_and_outlive_none_of_them() {
    let (mut node, _) = cluster().await;
    let create = |name: &str| Command::CreateUser { name: name.into(), policy: Some(POLICY.into()) };
    node.run(T0, create("Alice")).await.unwrap();
    assert_eq!(rejection_code(&node.run(T0, create("alice")).await), ErrorCode::AlreadyExists);
    assert_eq!(rejection_code(&node.run(T0, create("bad name")).await), ErrorCode::Validation);
    let key = Command::CreateUserAccessKey { user: "ALICE".into(), record: access_key("AKIAALICE") };
    node.run(T0, key).await.unwrap();
    let orphan = Command::CreateUserAccessKey { user: "nobody".into(), record: access_key("AKIANOBODY") };
    assert_eq!(rejection_code(&node.run(T0, orphan).await), ErrorCode::NotFound);
    assert!(node.registry().access_key("AKIANOBODY").is_none(), "a refused write changes nothing");
    assert_eq!(node.registry().access_key_user("AKIAALICE"), "Alice");

    let delete = || Command::DeleteUser { name: "alice".into() };
    assert_eq!(rejection_code(&node.run(T0, delete()).await), ErrorCode::DeleteConflict);
    node.run(T0, Command::PutUserPolicy { name: "alice".into(), policy: None }).await.unwrap();
    assert_eq!(node.registry().user("Alice").unwrap().policy, None);
    node.run(T0, Command::DeleteAccessKey { access_key_id: "AKIAALICE".into() }).await.unwrap();
    node.run(T0, delete()).await.unwrap();
    assert!(node.registry().user("alice").is_none());
    let node = node.reopen();
    assert_eq!(node.registry().users().count(), 1, "only admin is left after a restart");
}

#[tokio::test]
async fn key_policies_and_grants_belong_to_their_key() {
    let (mut node, key) = cluster().await;
    node.run(T0, Command::PutKeyPolicy { key_id: key, policy: POLICY.into() }).await.unwrap();
    let missing = Command::PutKeyPolicy { key_id: key_id(), policy: POLICY.into() };
    assert_eq!(rejection_code(&node.run(T0, missing).await), ErrorCode::NotFound);

    let first = node.run(T0, Command::CreateGrant(grant(key, 'a', Some("app")))).await.unwrap();
    let Applied::Grant { grant_id, log_index } = first else { panic!("a grant, not {first:?}") };
    assert_eq!(grant_id, "a".repeat(64));
    // The same name and parameters answer the same grant, whatever id the second call picked.
    let again = node.run(T0, Command::CreateGrant(grant(key, 'b', Some("app")))).await.unwrap();
    assert!(
        matches!(again, Applied::Grant { grant_id: ref id, log_index: index } if *id == grant_id && index > log_index)
    );
    node.run(T0, Command::CreateGrant(grant(key, 'c', None))).await.unwrap();
    let registry = node.registry();
    assert_eq!(registry.grants_of(key).count(), 2);
    assert_eq!(registry.grants_for(key, "arn:aws:iam::111122223333:user/bob").count(), 2);
    assert_eq!(registry.grants_for(key, "arn:aws:iam::111122223333:user/eve").count(), 0);
    assert_eq!(registry.grant(&grant_id).unwrap().created_at_ms, T0, "stamped with the request's time");

    let remove = |id: char| Command::RemoveGrant { key_id: key, grant_id: id.to_string().repeat(64) };
    node.run(T0, remove('c')).await.unwrap();
    assert_eq!(rejection_code(&node.run(T0, remove('c')).await), ErrorCode::NotFound);
    let malformed = Command::RemoveGrant { key_id: key, grant_id: "nope".into() };
    assert_eq!(rejection_code(&node.run(T0, malformed).await), ErrorCode::InvalidGrantId);

    // Both survive a restart and a snapshot...
    let before = node.registry();
    let mut node = node.reopen();
    assert_eq!(node.registry(), before);
    let fresh = node.snapshot_into_fresh().await;
    assert_eq!(fresh.registry(), before);

    // ...and go with the key.
    node.run(T0, Command::ScheduleKeyDeletion { key_id: key, window_days: 7 }).await.unwrap();
    let pending = Command::CreateGrant(grant(key, 'd', None));
    assert_eq!(rejection_code(&node.run(T0, pending).await), ErrorCode::InvalidState);
    node.run(T0 + 8 * DAY_MS, Command::DeleteExpiredKey { key_id: key }).await.unwrap();
    let registry = node.reopen().registry();
    assert_eq!((registry.key_policy(&key), registry.grants_of(key).count()), (None, 0));
    assert!(registry.grant(&grant_id).is_none());
}

#[tokio::test]
async fn a_cluster_initialised_at_level_two_has_its_admin_user_at_once() {
    let mut node = Node::new();
    node.run(T0, Command::RaiseFeatureLevel { level: 2 }).await.unwrap();
    assert!(node.registry().user(ADMIN_USER).is_none(), "not before init");
    let init = Command::InitializeCluster { keyring: keyring(), admin: access_key("AKIAADMIN") };
    node.run(T0, init).await.unwrap();
    assert!(node.registry().user(ADMIN_USER).is_some());
}
