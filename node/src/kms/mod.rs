//! The AWS KMS JSON 1.1 protocol: `POST /` with `X-Amz-Target: TrentService.<Op>`.
//!
//! [`resolve_target`] maps the target to an [`Operation`]; [`dispatch`] parses the body into the
//! wire request type and runs it; each operation module validates its fields with AWS's error names and wording.

pub mod aliases;
pub mod asymmetric;
pub mod ciphertext;
pub mod crypto_fields;
pub mod data_keys;
pub mod encryption;
pub mod grants;
pub mod identifiers;
pub mod import;
pub mod key_pairs;
pub mod key_policies;
pub mod key_usage;
pub mod keys;
pub mod metadata;
pub mod rotation;
pub mod tags;
pub mod usable_key;

use std::sync::RwLockReadGuard;

use serde::de::DeserializeOwned;
use serde::Serialize;
use trent_storage::{Applied, Registry, RequestId};
use trent_wire::kms::TARGET_PREFIX;
use trent_wire::{ErrorCode, KmsError, Operation};

use crate::authentication::Principal;
use crate::authorization::{Authorize, AuthorizedKeys, Origin};
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
    /// Where it came from.
    pub origin: Origin,
    /// The keys it was authorized for, once it was.
    authorized: std::sync::OnceLock<AuthorizedKeys>,
    /// Its audit event id (CloudTrail's `eventID`), which `GetKeyLastUsage` reports too.
    event_id: uuid::Uuid,
    /// Its record's `requestParameters`, taken from the typed request once it parsed (see
    /// [`crate::audit::parameters::kms_request_of`]).
    logged_request: std::sync::OnceLock<Option<serde_json::Value>>,
    /// The `x-amzn-RequestId` its reply carries (its record's `requestID`, `GetKeyLastUsage`'s
    /// `KmsRequestId`): unique per attempt, unlike `request_id`, which a client's retries share.
    reply_id: uuid::Uuid,
}

impl<'a> Call<'a> {
    /// A call of `operation` by `principal` on `node`.
    pub fn new(
        node: &'a Node,
        request_id: RequestId,
        principal: Principal,
        operation: Operation,
    ) -> Call<'a> {
        Call {
            node,
            request_id,
            principal,
            operation,
            origin: Origin::default(),
            authorized: Default::default(),
            event_id: crate::crypto::random_uuid(),
            logged_request: Default::default(),
            reply_id: request_id.0,
        }
    }

    /// Keeps what the audit record logs of `request`, a body of `body_len` bytes parsed into
    /// its type (nothing on a node that keeps no trail).
    fn log_request<T: serde::Serialize>(&self, request: &T, body_len: usize) {
        if !self.node.audit.is_recording() {
            return;
        }
        if let Ok(logged) = crate::audit::parameters::kms_request_of(request, body_len) {
            let _ = self.logged_request.set(logged);
        }
    }

    /// The record's `requestParameters` if the request parsed into its type; `None` if it did
    /// not (then they come from the body).
    pub fn take_logged_request(&mut self) -> Option<Option<serde_json::Value>> {
        self.logged_request.take()
    }

    /// The same call, answered with `reply_id` as its `x-amzn-RequestId`.
    pub fn answered_as(self, reply_id: uuid::Uuid) -> Call<'a> {
        Call { reply_id, ..self }
    }

    /// Its audit event id: the `eventID` of its audit record and the `CloudTrailEventId` that
    /// `GetKeyLastUsage` reports for it.
    pub fn event_id(&self) -> uuid::Uuid {
        self.event_id
    }

    /// Records a successful tracked operation as the last use of every key it was authorized
    /// for (ReEncrypt: its source and its destination). In memory only: see [`crate::key_usage`].
    fn record_usage(&self) {
        if !self.operation.is_usage_tracked() {
            return;
        }
        let Some(keys) = self.authorized.get() else { return };
        let at_ms = self.node.now_ms();
        for key_id in &keys.0 {
            self.node.key_usage.record(*key_id, self.operation, at_ms, self.event_id, self.reply_id);
        }
    }

    /// The same call, from `origin`.
    pub fn from_origin(self, origin: Origin) -> Call<'a> {
        Call { origin, ..self }
    }

    /// Authorizes the call for `request` (see [`crate::authorization`]); every operation runs
    /// only after this allowed it.
    pub async fn authorize(&self, request: &impl Authorize) -> Result<(), KmsError> {
        let keys = crate::authorization::authorize_kms(
            self.node,
            &self.principal,
            self.operation,
            self.origin,
            request,
        )
        .await?;
        // Set once, by dispatch: a second authorization of one call would be a bug.
        let _ = self.authorized.set(keys);
        Ok(())
    }

    /// Refuses a key the call was not authorized for: an alias resolved again after the
    /// decision may name another key by now.
    pub fn confirm_authorized(&self, key_id: trent_storage::KeyId) -> Result<(), KmsError> {
        match self.authorized.get() {
            Some(keys) if keys.0.contains(&key_id) => Ok(()),
            _ => Err(KmsError::new(
                ErrorCode::InvalidState,
                "The alias named another key while the call was being authorized; retry",
            )),
        }
    }

    /// The keys the call was authorized for (none before authorization, or for a call that acts
    /// on no key): its audit record's resources.
    pub fn authorized_keys(&self) -> &[trent_storage::KeyId] {
        self.authorized.get().map_or(&[], |keys| keys.0.as_slice())
    }

    /// The node serving the call.
    pub(crate) fn node(&self) -> &'a Node {
        self.node
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

/// Parses the body into the operation's request, authorizes it, runs it.
macro_rules! serve {
    ($call:expr, $body:expr, $operation:path) => {{
        let request = parse($body)?;
        $call.log_request(&request, $body.len());
        $call.authorize(&request).await?;
        reply($operation($call, request).await)
    }};
}

/// Runs the call's operation on `body`; returns the JSON response body. A cryptographic
/// operation that succeeded is recorded as its keys' last use.
pub async fn dispatch(call: &Call<'_>, body: &[u8]) -> Result<Vec<u8>, KmsError> {
    let reply = serve_operation(call, body).await;
    if reply.is_ok() {
        call.record_usage();
    }
    reply
}

async fn serve_operation(call: &Call<'_>, body: &[u8]) -> Result<Vec<u8>, KmsError> {
    match call.operation {
        Operation::CreateKey => serve!(call, body, keys::create_key),
        Operation::DescribeKey => serve!(call, body, keys::describe_key),
        Operation::ListKeys => serve!(call, body, keys::list_keys),
        Operation::EnableKey => serve!(call, body, keys::enable_key),
        Operation::DisableKey => serve!(call, body, keys::disable_key),
        Operation::UpdateKeyDescription => serve!(call, body, keys::update_key_description),
        Operation::ScheduleKeyDeletion => serve!(call, body, keys::schedule_key_deletion),
        Operation::CancelKeyDeletion => serve!(call, body, keys::cancel_key_deletion),
        Operation::CreateAlias => serve!(call, body, aliases::create_alias),
        Operation::UpdateAlias => serve!(call, body, aliases::update_alias),
        Operation::DeleteAlias => serve!(call, body, aliases::delete_alias),
        Operation::ListAliases => serve!(call, body, aliases::list_aliases),
        Operation::TagResource => serve!(call, body, tags::tag_resource),
        Operation::UntagResource => serve!(call, body, tags::untag_resource),
        Operation::ListResourceTags => serve!(call, body, tags::list_resource_tags),
        Operation::Encrypt => serve!(call, body, encryption::encrypt),
        Operation::Decrypt => serve!(call, body, encryption::decrypt),
        Operation::ReEncrypt => serve!(call, body, encryption::re_encrypt),
        Operation::GenerateDataKey => serve!(call, body, data_keys::generate_data_key),
        Operation::GenerateDataKeyWithoutPlaintext => {
            serve!(call, body, data_keys::generate_data_key_without_plaintext)
        }
        Operation::GenerateRandom => serve!(call, body, data_keys::generate_random),
        Operation::PutKeyPolicy => serve!(call, body, key_policies::put_key_policy),
        Operation::GetKeyPolicy => serve!(call, body, key_policies::get_key_policy),
        Operation::ListKeyPolicies => serve!(call, body, key_policies::list_key_policies),
        Operation::CreateGrant => serve!(call, body, grants::create_grant),
        Operation::ListGrants => serve!(call, body, grants::list_grants),
        Operation::ListRetirableGrants => serve!(call, body, grants::list_retirable_grants),
        Operation::RetireGrant => serve!(call, body, grants::retire_grant),
        Operation::RevokeGrant => serve!(call, body, grants::revoke_grant),
        Operation::Sign => serve!(call, body, asymmetric::sign),
        Operation::Verify => serve!(call, body, asymmetric::verify),
        Operation::GetPublicKey => serve!(call, body, asymmetric::get_public_key),
        Operation::GenerateMac => serve!(call, body, asymmetric::generate_mac),
        Operation::VerifyMac => serve!(call, body, asymmetric::verify_mac),
        Operation::DeriveSharedSecret => serve!(call, body, asymmetric::derive_shared_secret),
        Operation::Encapsulate => serve!(call, body, asymmetric::encapsulate),
        Operation::Decapsulate => serve!(call, body, asymmetric::decapsulate),
        Operation::GenerateDataKeyPair => serve!(call, body, key_pairs::generate_data_key_pair),
        Operation::GenerateDataKeyPairWithoutPlaintext => {
            serve!(call, body, key_pairs::generate_data_key_pair_without_plaintext)
        }
        Operation::EnableKeyRotation => serve!(call, body, rotation::enable_key_rotation),
        Operation::DisableKeyRotation => serve!(call, body, rotation::disable_key_rotation),
        Operation::GetKeyRotationStatus => serve!(call, body, rotation::get_key_rotation_status),
        Operation::RotateKeyOnDemand => serve!(call, body, rotation::rotate_key_on_demand),
        Operation::ListKeyRotations => serve!(call, body, rotation::list_key_rotations),
        Operation::GetKeyLastUsage => serve!(call, body, key_usage::get_key_last_usage),
        Operation::GetParametersForImport => serve!(call, body, import::get_parameters_for_import),
        Operation::ImportKeyMaterial => serve!(call, body, import::import_key_material),
        Operation::DeleteImportedKeyMaterial => serve!(call, body, import::delete_imported_key_material),
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
