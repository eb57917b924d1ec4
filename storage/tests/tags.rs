//! Tagging commands and the per-key tag limit.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a panic in a test is a failed test

mod common;

use common::{applied_key, create_key, key_id, new_key, rejection_code, Node, T0};
use trent_storage::Command;
use trent_wire::ErrorCode;

/// AWS's tags-per-key limit (`trent_wire::limits::MAX_TAGS_PER_KEY`).
const MAX_TAGS: usize = trent_wire::limits::MAX_TAGS_PER_KEY;

fn tags(range: std::ops::Range<usize>) -> Vec<(String, String)> {
    range.map(|i| (format!("tag-{i:03}"), format!("value-{i}"))).collect()
}

fn tag(key: &str, value: &str) -> (String, String) {
    (key.to_owned(), value.to_owned())
}

#[tokio::test]
async fn tag_key_adds_and_overwrites_tags() {
    let mut node = Node::new();
    let id = key_id();
    node.run(T0, create_key(id)).await.unwrap();

    node.run(T0, Command::TagKey { key_id: id, tags: vec![tag("env", "dev"), tag("team", "kms")] })
        .await
        .unwrap();
    let tagged =
        applied_key(&node.run(T0, Command::TagKey { key_id: id, tags: vec![tag("env", "prod")] }).await);

    assert_eq!(tagged.tags.len(), 2);
    assert_eq!(tagged.tags["env"], "prod");
    assert_eq!(tagged.tags["team"], "kms");
    assert_eq!(node.key(id).tags, tagged.tags);
}

#[tokio::test]
async fn untag_key_removes_named_tags_and_ignores_absent_ones() {
    let mut node = Node::new();
    let id = key_id();
    node.run(T0, create_key(id)).await.unwrap();
    node.run(T0, Command::TagKey { key_id: id, tags: vec![tag("a", "1"), tag("b", "2"), tag("c", "3")] })
        .await
        .unwrap();

    let command = Command::UntagKey { key_id: id, tag_keys: vec!["a".to_owned(), "zzz".to_owned()] };
    let untagged = applied_key(&node.run(T0, command).await);

    assert_eq!(untagged.tags.keys().collect::<Vec<_>>(), vec!["b", "c"]);
    assert_eq!(node.key(id).tags, untagged.tags);
}

#[tokio::test]
async fn tag_key_up_to_the_limit_succeeds() {
    let mut node = Node::new();
    let id = key_id();
    node.run(T0, create_key(id)).await.unwrap();

    let tagged = applied_key(&node.run(T0, Command::TagKey { key_id: id, tags: tags(0..MAX_TAGS) }).await);

    assert_eq!(tagged.tags.len(), MAX_TAGS);
    // Overwriting existing tags at the limit adds nothing and is allowed.
    let overwrite = Command::TagKey { key_id: id, tags: vec![tag("tag-000", "new")] };
    assert_eq!(applied_key(&node.run(T0, overwrite).await).tags["tag-000"], "new");
}

#[tokio::test]
async fn tag_key_past_the_limit_is_rejected_and_adds_nothing() {
    let mut node = Node::new();
    let id = key_id();
    node.run(T0, create_key(id)).await.unwrap();
    node.run(T0, Command::TagKey { key_id: id, tags: tags(0..MAX_TAGS - 1) }).await.unwrap();
    let before = node.key(id);

    // Two new tags (one would fit) plus an overwrite: all or nothing.
    let command = Command::TagKey {
        key_id: id,
        tags: vec![tag("tag-000", "changed"), tag("extra-1", "x"), tag("extra-2", "y")],
    };
    let result = node.run(T0, command).await;

    assert_eq!(rejection_code(&result), ErrorCode::LimitExceeded);
    assert_eq!(node.key(id), before);

    // Exactly one more still fits.
    node.run(T0, Command::TagKey { key_id: id, tags: vec![tag("extra-1", "x")] }).await.unwrap();
    assert_eq!(node.key(id).tags.len(), MAX_TAGS);
    let one_more = node.run(T0, Command::TagKey { key_id: id, tags: vec![tag("extra-2", "y")] }).await;
    assert_eq!(rejection_code(&one_more), ErrorCode::LimitExceeded);
    assert_eq!(node.key(id).tags.len(), MAX_TAGS);
}

#[tokio::test]
async fn tag_key_counts_a_repeated_new_tag_key_once() {
    let mut node = Node::new();
    let id = key_id();
    node.run(T0, create_key(id)).await.unwrap();
    node.run(T0, Command::TagKey { key_id: id, tags: tags(0..MAX_TAGS - 1) }).await.unwrap();

    // One new tag key, given twice: the key ends with exactly MAX_TAGS tags, the last value winning
    // (as CreateKey does with repeated tag keys).
    let command = Command::TagKey { key_id: id, tags: vec![tag("new", "first"), tag("new", "second")] };
    let tagged = applied_key(&node.run(T0, command).await);

    assert_eq!(tagged.tags.len(), MAX_TAGS);
    assert_eq!(tagged.tags["new"], "second");
}

#[tokio::test]
async fn create_key_with_too_many_tags_is_rejected() {
    let mut node = Node::new();
    let id = key_id();
    let mut key = new_key(id);
    key.draft.tags = tags(0..MAX_TAGS + 1);

    let result = node.run(T0, Command::CreateKey(key)).await;

    assert_eq!(rejection_code(&result), ErrorCode::LimitExceeded);
    assert_eq!(node.registry().key_count(), 0);

    let mut key = new_key(id);
    key.draft.tags = tags(0..MAX_TAGS);
    assert_eq!(applied_key(&node.run(T0, Command::CreateKey(key)).await).tags.len(), MAX_TAGS);
}
