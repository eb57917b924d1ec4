//! Alias commands: create, retarget, delete, and the rules that keep every alias pointing at a
//! live key of a compatible type.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a panic in a test is a failed test

mod common;

use common::{contents, create_key, key_id, new_key, rejection_code, Node, T0};
use trent_storage::{Applied, Command, KeyId};
use trent_wire::model::{KeySpec, KeyUsage};
use trent_wire::ErrorCode;

fn create_alias(alias: &str, key_id: KeyId) -> Command {
    Command::CreateAlias { alias: alias.to_owned(), key_id }
}

fn update_alias(alias: &str, key_id: KeyId) -> Command {
    Command::UpdateAlias { alias: alias.to_owned(), key_id }
}

async fn key_with(node: &mut Node, spec: KeySpec, usage: KeyUsage) -> KeyId {
    let id = key_id();
    let mut key = new_key(id);
    key.draft.spec = spec;
    key.draft.usage = usage;
    node.run(T0, Command::CreateKey(key)).await.unwrap();
    id
}

#[tokio::test]
async fn create_alias_names_the_key() {
    let mut node = Node::new();
    let id = key_id();
    node.run(T0, create_key(id)).await.unwrap();

    let result = node.run(T0 + 5, create_alias("alias/app", id)).await;

    assert_eq!(result, Ok(Applied::Done));
    let registry = node.registry();
    let alias = registry.alias("alias/app").expect("alias exists");
    assert_eq!(alias.name, "alias/app");
    assert_eq!(alias.key_id, id);
    assert_eq!(alias.created_at_ms, T0 + 5);
    assert_eq!(alias.updated_at_ms, T0 + 5);
    assert_eq!(registry.alias_count(), 1);
    assert_eq!(registry.aliases_of(id).count(), 1);
}

#[tokio::test]
async fn create_alias_for_a_missing_key_is_rejected_with_not_found() {
    let mut node = Node::new();

    let result = node.run(T0, create_alias("alias/app", key_id())).await;

    assert_eq!(rejection_code(&result), ErrorCode::NotFound);
    assert_eq!(node.registry().alias_count(), 0);
}

#[tokio::test]
async fn create_alias_with_a_taken_name_is_rejected_with_already_exists() {
    let mut node = Node::new();
    let (first, second) = (key_id(), key_id());
    node.run(T0, create_key(first)).await.unwrap();
    node.run(T0, create_key(second)).await.unwrap();
    node.run(T0, create_alias("alias/app", first)).await.unwrap();

    let result = node.run(T0 + 1, create_alias("alias/app", second)).await;

    assert_eq!(rejection_code(&result), ErrorCode::AlreadyExists);
    let registry = node.registry();
    assert_eq!(registry.alias("alias/app").map(|a| (a.key_id, a.updated_at_ms)), Some((first, T0)));
    assert_eq!(registry.alias_count(), 1);
}

#[tokio::test]
async fn a_key_may_have_several_aliases() {
    let mut node = Node::new();
    let id = key_id();
    node.run(T0, create_key(id)).await.unwrap();
    for alias in ["alias/b", "alias/a", "alias/c"] {
        node.run(T0, create_alias(alias, id)).await.unwrap();
    }
    let registry = node.registry();
    let names: Vec<&str> = registry.aliases_of(id).map(|a| a.name.as_str()).collect();
    assert_eq!(names, vec!["alias/a", "alias/b", "alias/c"]);
}

#[tokio::test]
async fn update_alias_retargets_and_keeps_its_creation_time() {
    let mut node = Node::new();
    let (first, second) = (key_id(), key_id());
    node.run(T0, create_key(first)).await.unwrap();
    node.run(T0, create_key(second)).await.unwrap();
    node.run(T0, create_alias("alias/app", first)).await.unwrap();

    let result = node.run(T0 + 60_000, update_alias("alias/app", second)).await;

    assert_eq!(result, Ok(Applied::Done));
    let registry = node.registry();
    let alias = registry.alias("alias/app").unwrap();
    assert_eq!(alias.key_id, second);
    assert_eq!(alias.created_at_ms, T0);
    assert_eq!(alias.updated_at_ms, T0 + 60_000);
    assert_eq!(registry.aliases_of(first).count(), 0);
    assert_eq!(registry.aliases_of(second).count(), 1);
}

#[tokio::test]
async fn update_alias_to_a_key_of_another_spec_is_rejected_with_validation() {
    let mut node = Node::new();
    let symmetric = key_with(&mut node, KeySpec::SymmetricDefault, KeyUsage::EncryptDecrypt).await;
    let hmac = key_with(&mut node, KeySpec::Hmac256, KeyUsage::GenerateVerifyMac).await;
    node.run(T0, create_alias("alias/app", symmetric)).await.unwrap();
    let before = contents(&node.registry());

    let result = node.run(T0 + 1, update_alias("alias/app", hmac)).await;

    assert_eq!(rejection_code(&result), ErrorCode::Validation);
    assert_eq!(contents(&node.registry()).aliases, before.aliases);
}

#[tokio::test]
async fn update_alias_to_a_key_of_the_same_spec_but_another_usage_is_rejected() {
    let mut node = Node::new();
    let encrypting = key_with(&mut node, KeySpec::Rsa2048, KeyUsage::EncryptDecrypt).await;
    let signing = key_with(&mut node, KeySpec::Rsa2048, KeyUsage::SignVerify).await;
    node.run(T0, create_alias("alias/rsa", encrypting)).await.unwrap();

    let result = node.run(T0 + 1, update_alias("alias/rsa", signing)).await;

    assert_eq!(rejection_code(&result), ErrorCode::Validation);
    assert_eq!(node.registry().alias("alias/rsa").map(|a| a.key_id), Some(encrypting));
}

#[tokio::test]
async fn update_alias_rejects_a_missing_alias_a_missing_key_and_a_pending_key() {
    let mut node = Node::new();
    let (current, doomed) = (key_id(), key_id());
    node.run(T0, create_key(current)).await.unwrap();
    node.run(T0, create_key(doomed)).await.unwrap();
    node.run(T0, create_alias("alias/app", current)).await.unwrap();
    node.run(T0, Command::ScheduleKeyDeletion { key_id: doomed, window_days: 7 }).await.unwrap();

    let no_alias = node.run(T0, update_alias("alias/none", current)).await;
    assert_eq!(rejection_code(&no_alias), ErrorCode::NotFound);
    assert!(node.registry().alias("alias/none").is_none());

    let no_key = node.run(T0, update_alias("alias/app", key_id())).await;
    assert_eq!(rejection_code(&no_key), ErrorCode::NotFound);

    let pending = node.run(T0, update_alias("alias/app", doomed)).await;
    assert_eq!(rejection_code(&pending), ErrorCode::InvalidState);

    assert_eq!(node.registry().alias("alias/app").map(|a| a.key_id), Some(current));
}

#[tokio::test]
async fn delete_alias_removes_only_the_alias() {
    let mut node = Node::new();
    let id = key_id();
    node.run(T0, create_key(id)).await.unwrap();
    node.run(T0, create_alias("alias/a", id)).await.unwrap();
    node.run(T0, create_alias("alias/b", id)).await.unwrap();

    let result = node.run(T0, Command::DeleteAlias { alias: "alias/a".to_owned() }).await;

    assert_eq!(result, Ok(Applied::Done));
    let registry = node.registry();
    assert!(registry.alias("alias/a").is_none());
    assert!(registry.alias("alias/b").is_some());
    assert!(registry.key(&id).is_some());

    let again = node.run(T0, Command::DeleteAlias { alias: "alias/a".to_owned() }).await;
    assert_eq!(rejection_code(&again), ErrorCode::NotFound);

    // The freed name can be used again.
    node.run(T0, create_alias("alias/a", id)).await.unwrap();
    assert!(node.registry().alias("alias/a").is_some());
}

#[tokio::test]
async fn aliases_after_pages_in_name_order_and_filters_by_key() {
    let mut node = Node::new();
    let (first, second) = (key_id(), key_id());
    node.run(T0, create_key(first)).await.unwrap();
    node.run(T0, create_key(second)).await.unwrap();
    for (alias, id) in [("alias/d", first), ("alias/a", first), ("alias/c", second), ("alias/b", first)] {
        node.run(T0, create_alias(alias, id)).await.unwrap();
    }
    let registry = node.registry();
    let names = |page: (Vec<&trent_storage::AliasRecord>, bool)| {
        (page.0.iter().map(|a| a.name.clone()).collect::<Vec<_>>(), page.1)
    };

    assert_eq!(
        names(registry.aliases_after(None, None, 2)),
        (vec!["alias/a".into(), "alias/b".into()], true)
    );
    assert_eq!(
        names(registry.aliases_after(Some("alias/b"), None, 2)),
        (vec!["alias/c".into(), "alias/d".into()], false)
    );
    assert_eq!(
        names(registry.aliases_after(None, Some(first), 10)),
        (vec!["alias/a".into(), "alias/b".into(), "alias/d".into()], false)
    );
    assert_eq!(
        names(registry.aliases_after(Some("alias/a"), Some(first), 1)),
        (vec!["alias/b".into()], true)
    );
}
