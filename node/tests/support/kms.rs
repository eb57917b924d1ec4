//! Helpers for the KMS API tests: a started node with a client, request builders, and
//! assertions on AWS errors.

#![allow(dead_code)]

use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::Value;

use super::InProcessNode;
use trent_client::{ClientError, TrentClient};
use trent_wire::kms::{
    AliasTargetRequest, CreateKeyRequest, KeyIdRequest, KeyMetadata, ListResourceTagsRequest,
    ScheduleKeyDeletionRequest, Tag,
};
use trent_wire::{ErrorCode, KmsError};

pub const REGION: &str = "us-east-1";
pub const ACCOUNT: &str = "111122223333";
pub const SECONDS_PER_DAY: f64 = 24.0 * 60.0 * 60.0;

pub async fn start() -> (InProcessNode, TrentClient) {
    let node = InProcessNode::start().await;
    let client = node.client();
    (node, client)
}

/// The AWS error of a call that must fail with `expected`; panics on success or another error.
#[track_caller]
pub fn refused<T: std::fmt::Debug>(result: Result<T, ClientError>, expected: ErrorCode) -> KmsError {
    match result {
        Err(ClientError::Api(error)) if error.code == expected => error,
        other => panic!("expected {expected}, got {other:?}"),
    }
}

pub async fn create_key(client: &TrentClient) -> KeyMetadata {
    client.create_key(&CreateKeyRequest::default()).await.expect("CreateKey").key_metadata
}

pub async fn describe(client: &TrentClient, key_id: &str) -> KeyMetadata {
    client.describe_key(&key(key_id)).await.expect("DescribeKey").key_metadata
}

pub fn key(key_id: &str) -> KeyIdRequest {
    KeyIdRequest { key_id: key_id.to_owned(), grant_tokens: None }
}

pub fn tag(tag_key: &str, tag_value: &str) -> Tag {
    Tag { tag_key: tag_key.to_owned(), tag_value: tag_value.to_owned() }
}

pub fn alias(alias_name: &str, target_key_id: &str) -> AliasTargetRequest {
    AliasTargetRequest { alias_name: alias_name.to_owned(), target_key_id: target_key_id.to_owned() }
}

pub fn schedule(key_id: &str, days: Option<i64>) -> ScheduleKeyDeletionRequest {
    ScheduleKeyDeletionRequest { key_id: key_id.to_owned(), pending_window_in_days: days }
}

pub fn key_arn(key_id: &str) -> String {
    format!("arn:aws:kms:{REGION}:{ACCOUNT}:key/{key_id}")
}

pub fn alias_arn(alias_name: &str) -> String {
    format!("arn:aws:kms:{REGION}:{ACCOUNT}:{alias_name}")
}

pub fn now_seconds() -> f64 {
    SystemTime::now().duration_since(UNIX_EPOCH).expect("clock after epoch").as_secs_f64()
}

/// Calls `operation` with a raw JSON body, for fields the typed requests cannot express.
pub async fn call_json(client: &TrentClient, operation: &str, body: Value) -> Result<Value, ClientError> {
    client.call(operation, &body).await
}

pub async fn tags_of(client: &TrentClient, key_id: &str) -> Vec<(String, String)> {
    let request = ListResourceTagsRequest { key_id: key_id.to_owned(), limit: None, marker: None };
    let page = client.list_resource_tags(&request).await.expect("ListResourceTags");
    page.tags.into_iter().map(|tag| (tag.tag_key, tag.tag_value)).collect()
}
