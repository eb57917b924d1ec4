//! The AWS KMS JSON 1.1 protocol: `POST /` with `X-Amz-Target: TrentService.<Op>`.
//!
//! [`dispatch`] maps the target to an operation, parses its body into the wire request type and
//! runs it; each operation module validates its fields with AWS's error names and wording.

pub mod aliases;
pub mod ciphertext;
pub mod crypto_fields;
pub mod data_keys;
pub mod encryption;
pub mod identifiers;
pub mod keys;
pub mod metadata;
pub mod tags;
pub mod usable_key;

use serde::de::DeserializeOwned;
use serde::Serialize;
use trent_storage::{Applied, RequestId};
use trent_wire::kms::TARGET_PREFIX;
use trent_wire::{ErrorCode, KmsError};

use crate::config::ArnScope;
use crate::node::Node;
use crate::write_path::{ForwardedProposal, Proposal};

/// One KMS call in progress.
pub struct Call<'a> {
    /// The node serving it.
    pub node: &'a Node,
    /// Deduplicates the call's write across forwarding retries (and client retries that resend
    /// `x-trent-request-id`).
    pub request_id: RequestId,
}

impl Call<'_> {
    /// The cluster's ARN region and account.
    pub fn scope(&self) -> &ArnScope {
        &self.node.config.arn
    }

    /// Replicates a write and returns what applying it produced.
    pub async fn write(&self, proposal: Proposal) -> Result<Applied, KmsError> {
        self.node.write(ForwardedProposal { request_id: self.request_id, proposal }).await
    }
}

/// Runs the operation named by `target` on `body`; returns the JSON response body.
pub async fn dispatch(call: &Call<'_>, target: Option<&str>, body: &[u8]) -> Result<Vec<u8>, KmsError> {
    let Some(operation) = target.and_then(|target| target.strip_prefix(TARGET_PREFIX)) else {
        return Err(KmsError::new(
            ErrorCode::UnknownOperation,
            format!("X-Amz-Target must be {TARGET_PREFIX}<Operation>"),
        ));
    };
    match operation {
        "CreateKey" => reply(keys::create_key(call, parse(body)?).await),
        "DescribeKey" => reply(keys::describe_key(call, parse(body)?).await),
        "ListKeys" => reply(keys::list_keys(call, parse(body)?).await),
        "EnableKey" => reply(keys::enable_key(call, parse(body)?).await),
        "DisableKey" => reply(keys::disable_key(call, parse(body)?).await),
        "UpdateKeyDescription" => reply(keys::update_key_description(call, parse(body)?).await),
        "ScheduleKeyDeletion" => reply(keys::schedule_key_deletion(call, parse(body)?).await),
        "CancelKeyDeletion" => reply(keys::cancel_key_deletion(call, parse(body)?).await),
        "CreateAlias" => reply(aliases::create_alias(call, parse(body)?).await),
        "UpdateAlias" => reply(aliases::update_alias(call, parse(body)?).await),
        "DeleteAlias" => reply(aliases::delete_alias(call, parse(body)?).await),
        "ListAliases" => reply(aliases::list_aliases(call, parse(body)?).await),
        "TagResource" => reply(tags::tag_resource(call, parse(body)?).await),
        "UntagResource" => reply(tags::untag_resource(call, parse(body)?).await),
        "ListResourceTags" => reply(tags::list_resource_tags(call, parse(body)?).await),
        "Encrypt" => reply(encryption::encrypt(call, parse(body)?).await),
        "Decrypt" => reply(encryption::decrypt(call, parse(body)?).await),
        "ReEncrypt" => reply(encryption::re_encrypt(call, parse(body)?).await),
        "GenerateDataKey" => reply(data_keys::generate_data_key(call, parse(body)?).await),
        "GenerateDataKeyWithoutPlaintext" => {
            reply(data_keys::generate_data_key_without_plaintext(call, parse(body)?).await)
        }
        "GenerateRandom" => reply(data_keys::generate_random(parse(body)?)),
        other => Err(KmsError::new(
            ErrorCode::UnknownOperation,
            format!("Operation '{}' is not supported", other.chars().take(64).collect::<String>()),
        )),
    }
}

/// Parses a request body; an empty body is `{}`.
fn parse<T: DeserializeOwned>(body: &[u8]) -> Result<T, KmsError> {
    let body = if body.iter().all(u8::is_ascii_whitespace) { b"{}".as_slice() } else { body };
    // serde builds a struct from a JSON array too (`[5]` would be ListKeys with Limit 5); the
    // protocol's requests are objects, so anything else is refused before serde sees it.
    if body.iter().find(|byte| !byte.is_ascii_whitespace()) != Some(&b'{') {
        return Err(KmsError::new(ErrorCode::Serialization, "Request body must be a JSON object"));
    }
    serde_json::from_slice(body).map_err(|error| {
        let message = error.to_string();
        if let Some(field) = message.strip_prefix("missing field `").and_then(|rest| rest.split('`').next()) {
            let field = lower_camel(field);
            KmsError::new(
                ErrorCode::Validation,
                format!("1 validation error detected: Value null at '{field}' failed to satisfy constraint: Member must not be null"),
            )
        } else {
            KmsError::new(ErrorCode::Serialization, format!("Request body is not valid: {message}"))
        }
    })
}

/// Room for a typical reply (a 4 KiB plaintext in base64 and its metadata) without regrowing.
const REPLY_CAPACITY: usize = 6 * 1024;

fn reply<T: Serialize>(result: Result<T, KmsError>) -> Result<Vec<u8>, KmsError> {
    let value = result?;
    let mut body = Vec::with_capacity(REPLY_CAPACITY);
    serde_json::to_writer(&mut body, &value)
        .map_err(|error| KmsError::new(ErrorCode::Internal, format!("cannot encode reply: {error}")))?;
    Ok(body)
}

/// AWS names fields in lowerCamelCase inside validation messages.
fn lower_camel(field: &str) -> String {
    let mut chars = field.chars();
    match chars.next() {
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => String::new(),
    }
}
