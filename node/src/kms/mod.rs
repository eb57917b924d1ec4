//! The AWS KMS JSON 1.1 protocol: `POST /` with `X-Amz-Target: TrentService.<Op>`.
//!
//! [`resolve_target`] maps the target to an [`Operation`]; [`dispatch`] parses the body into the
//! wire request type and runs it; each operation module validates its fields with AWS's error names and wording.

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

use std::sync::RwLockReadGuard;

use serde::de::DeserializeOwned;
use serde::Serialize;
use trent_storage::{Applied, Registry, RequestId};
use trent_wire::kms::TARGET_PREFIX;
use trent_wire::{ErrorCode, KmsError, Operation};

use crate::authentication::Principal;
use crate::config::ArnScope;
use crate::node::Node;
use crate::write_path::{ForwardedProposal, Proposal};

/// One KMS call in progress: who is calling, for what, on which node. Operations reach the
/// registry, the keyring and the log only through it, so a check added here (authorization,
/// audit) cannot be skipped by one of them.
pub struct Call<'a> {
    node: &'a Node,
    /// Deduplicates the call's write across forwarding retries (and client retries that resend
    /// `x-trent-request-id`).
    pub request_id: RequestId,
    /// Who signed it.
    pub principal: Principal,
    /// What it asks for.
    pub operation: Operation,
}

impl<'a> Call<'a> {
    /// A call of `operation` by `principal` on `node`.
    pub fn new(
        node: &'a Node,
        request_id: RequestId,
        principal: Principal,
        operation: Operation,
    ) -> Call<'a> {
        Call { node, request_id, principal, operation }
    }

    /// The cluster's ARN region and account.
    pub fn scope(&self) -> &ArnScope {
        &self.node.config.arn
    }

    /// Replicates a write and returns what applying it produced.
    pub async fn write(&self, proposal: Proposal) -> Result<Applied, KmsError> {
        self.node.write(ForwardedProposal { request_id: self.request_id, proposal }).await
    }

    /// The registry, once this node has applied every write acknowledged before the call
    /// (management reads are linearizable).
    pub async fn linearizable_registry(&self) -> Result<RwLockReadGuard<'a, Registry>, KmsError> {
        self.node.linearizable_read().await?;
        Ok(self.node.registry.read())
    }

    /// The registry, if this node is within the consistency bound (crypto operations refuse
    /// rather than honour a revoked key).
    pub async fn fresh_registry(&self) -> Result<RwLockReadGuard<'a, Registry>, KmsError> {
        self.node.ensure_fresh().await?;
        Ok(self.node.registry.read())
    }

    /// The registry as this node has applied it, unchecked: for a lookup whose answer is checked
    /// again through [`Call::fresh_registry`] before anything is served from it.
    pub fn applied_registry(&self) -> RwLockReadGuard<'a, Registry> {
        self.node.registry.read()
    }

    /// Runs `open` with this node's keyring (refused while sealed).
    pub fn with_keyring<T>(
        &self,
        open: impl Fn(&crate::seal::state::Seal) -> crate::node::SealedResult<T>,
    ) -> crate::node::SealedResult<T> {
        self.node.with_current_keyring(open)
    }
}

/// The KMS operation an `X-Amz-Target` header names, or AWS's error for one that names none.
pub fn resolve_target(target: Option<&str>) -> Result<Operation, KmsError> {
    if let Some(operation) = target.and_then(Operation::from_target) {
        return Ok(operation);
    }
    Err(match target.and_then(|target| target.strip_prefix(TARGET_PREFIX)) {
        None => KmsError::new(
            ErrorCode::UnknownOperation,
            format!("X-Amz-Target must be {TARGET_PREFIX}<Operation>"),
        ),
        Some(other) => KmsError::new(
            ErrorCode::UnknownOperation,
            format!("Operation '{}' is not supported", other.chars().take(64).collect::<String>()),
        ),
    })
}

/// Runs the call's operation on `body`; returns the JSON response body.
pub async fn dispatch(call: &Call<'_>, body: &[u8]) -> Result<Vec<u8>, KmsError> {
    match call.operation {
        Operation::CreateKey => reply(keys::create_key(call, parse(body)?).await),
        Operation::DescribeKey => reply(keys::describe_key(call, parse(body)?).await),
        Operation::ListKeys => reply(keys::list_keys(call, parse(body)?).await),
        Operation::EnableKey => reply(keys::enable_key(call, parse(body)?).await),
        Operation::DisableKey => reply(keys::disable_key(call, parse(body)?).await),
        Operation::UpdateKeyDescription => reply(keys::update_key_description(call, parse(body)?).await),
        Operation::ScheduleKeyDeletion => reply(keys::schedule_key_deletion(call, parse(body)?).await),
        Operation::CancelKeyDeletion => reply(keys::cancel_key_deletion(call, parse(body)?).await),
        Operation::CreateAlias => reply(aliases::create_alias(call, parse(body)?).await),
        Operation::UpdateAlias => reply(aliases::update_alias(call, parse(body)?).await),
        Operation::DeleteAlias => reply(aliases::delete_alias(call, parse(body)?).await),
        Operation::ListAliases => reply(aliases::list_aliases(call, parse(body)?).await),
        Operation::TagResource => reply(tags::tag_resource(call, parse(body)?).await),
        Operation::UntagResource => reply(tags::untag_resource(call, parse(body)?).await),
        Operation::ListResourceTags => reply(tags::list_resource_tags(call, parse(body)?).await),
        Operation::Encrypt => reply(encryption::encrypt(call, parse(body)?).await),
        Operation::Decrypt => reply(encryption::decrypt(call, parse(body)?).await),
        Operation::ReEncrypt => reply(encryption::re_encrypt(call, parse(body)?).await),
        Operation::GenerateDataKey => reply(data_keys::generate_data_key(call, parse(body)?).await),
        Operation::GenerateDataKeyWithoutPlaintext => {
            reply(data_keys::generate_data_key_without_plaintext(call, parse(body)?).await)
        }
        Operation::GenerateRandom => reply(data_keys::generate_random(parse(body)?)),
        admin => Err(KmsError::new(
            ErrorCode::UnknownOperation,
            format!("{admin} is an admin call, not a KMS operation"),
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
