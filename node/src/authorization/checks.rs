//! What each KMS request asks to be allowed: for every key it touches, the action (as IAM names
//! it) and the condition keys the request supplies. The authorizer adds what comes from the key
//! itself (its spec, usage, origin, tags, aliases) and from the caller.

use trent_storage::KeyId;
use trent_wire::access::{
    CreateGrantRequest, GetKeyPolicyRequest, ListGrantsRequest, ListKeyPoliciesRequest,
    ListRetirableGrantsRequest, PutKeyPolicyRequest, RetireGrantRequest, RevokeGrantRequest,
};
use trent_wire::asymmetric::{
    DecapsulateRequest, DeriveSharedSecretRequest, EncapsulateRequest, GenerateDataKeyPairRequest,
    GenerateMacRequest, GetPublicKeyRequest, SignRequest, VerifyMacRequest, VerifyRequest,
};
use trent_wire::data_plane::{
    DecryptRequest, EncryptRequest, EncryptionContext, GenerateDataKeyRequest, GenerateRandomRequest,
    ReEncryptRequest,
};
use trent_wire::import::{
    DeleteImportedKeyMaterialRequest, GetParametersForImportRequest, ImportKeyMaterialRequest,
};
use trent_wire::kms::{
    AliasTargetRequest, CreateKeyRequest, DeleteAliasRequest, KeyIdRequest, ListAliasesRequest,
    ListKeysRequest, ListResourceTagsRequest, ScheduleKeyDeletionRequest, TagResourceRequest,
    UntagResourceRequest, UpdateKeyDescriptionRequest,
};
use trent_wire::limits::DEFAULT_ROTATION_PERIOD_DAYS;
use trent_wire::rotation::{EnableKeyRotationRequest, ListKeyRotationsRequest};
use trent_wire::validation::check_alias_name;
use trent_wire::{KmsError, Operation};

use crate::config::ArnScope;
use crate::kms::identifiers::{parse_key_ref, AliasUse, KeyRef};

/// The key a check is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// A call on no key (`*`): CreateKey, ListKeys, GenerateRandom, ...
    Nothing,
    /// The key a reference names (an alias is resolved by the authorizer).
    Key(KeyRef),
    /// The key a ciphertext names: one that does not exist makes the blob invalid.
    Blob(KeyId),
}

/// One thing a call must be allowed to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Check {
    /// `kms:Encrypt`, `kms:ReEncryptFrom`, ...
    pub action: &'static str,
    /// What it is done to.
    pub target: Target,
    /// Condition keys from the request, with their values.
    pub conditions: Vec<(String, Vec<String>)>,
}

impl Check {
    /// `action` on `target`, with no condition keys yet.
    pub fn new(action: &'static str, target: Target) -> Check {
        Check { action, target, conditions: Vec::new() }
    }

    /// Adds a single-valued condition key.
    pub fn with(mut self, key: &str, value: impl Into<String>) -> Check {
        self.conditions.push((key.to_owned(), vec![value.into()]));
        self
    }

    /// Adds a multi-valued condition key.
    pub fn with_all(mut self, key: &str, values: Vec<String>) -> Check {
        self.conditions.push((key.to_owned(), values));
        self
    }

    /// Adds `kms:EncryptionContext:<key>` for every pair and `kms:EncryptionContextKeys`.
    pub fn with_context(mut self, context: Option<&EncryptionContext>) -> Check {
        if let Some(context) = context.filter(|context| !context.is_empty()) {
            for (key, value) in context {
                self.conditions.push((format!("kms:EncryptionContext:{key}"), vec![value.clone()]));
            }
            self.conditions.push(("kms:EncryptionContextKeys".to_owned(), context.keys().cloned().collect()));
        }
        self
    }

    /// Adds `aws:RequestTag/<key>` for every tag and `aws:TagKeys`.
    pub fn with_request_tags<'t>(mut self, tags: impl Iterator<Item = (&'t str, &'t str)>) -> Check {
        let mut keys = Vec::new();
        for (key, value) in tags {
            self.conditions.push((format!("aws:RequestTag/{key}"), vec![value.to_owned()]));
            keys.push(key.to_owned());
        }
        if !keys.is_empty() {
            self.conditions.push(("aws:TagKeys".to_owned(), keys));
        }
        self
    }
}

/// A request whose checks can be listed before it runs.
pub trait Authorize {
    /// What the request must be allowed to do, as `operation` (which names the action).
    fn checks(&self, operation: Operation, scope: &ArnScope) -> Result<Vec<Check>, KmsError>;

    /// The grant tokens it presents.
    fn grant_tokens(&self) -> &[String] {
        &[]
    }
}

/// A `KeyId`-style field as a target.
fn key(input: &str, field: &str, scope: &ArnScope) -> Result<Target, KmsError> {
    parse_key_ref(input, field, scope, AliasUse::Allowed).map(Target::Key)
}

/// The action of `operation` on the key in `input`.
fn on_key(operation: Operation, input: &str, scope: &ArnScope) -> Result<Vec<Check>, KmsError> {
    Ok(vec![Check::new(operation.action(), key(input, "keyId", scope)?)])
}

fn on_nothing(operation: Operation) -> Vec<Check> {
    vec![Check::new(operation.action(), Target::Nothing)]
}

fn tokens(tokens: &Option<Vec<String>>) -> &[String] {
    tokens.as_deref().unwrap_or_default()
}

/// Implements [`Authorize`] for requests whose one check is their action on their `key_id`.
macro_rules! on_key_alone {
    ($($request:ty),+ $(,)?) => {$(
        impl Authorize for $request {
            fn checks(&self, operation: Operation, scope: &ArnScope) -> Result<Vec<Check>, KmsError> {
                on_key(operation, &self.key_id, scope)
            }
        }
    )+};
}

on_key_alone! {
    UpdateKeyDescriptionRequest,
    ListResourceTagsRequest,
    GetKeyPolicyRequest,
    ListKeyPoliciesRequest,
    ListGrantsRequest,
    RevokeGrantRequest,
    ListKeyRotationsRequest,
    DeleteImportedKeyMaterialRequest,
}

impl Authorize for CreateKeyRequest {
    fn checks(&self, operation: Operation, _: &ArnScope) -> Result<Vec<Check>, KmsError> {
        let mut check = Check::new(operation.action(), Target::Nothing);
        let spec = self.key_spec.as_deref().or(self.customer_master_key_spec.as_deref());
        check = check.with("kms:KeySpec", spec.unwrap_or("SYMMETRIC_DEFAULT"));
        // Without KeyUsage the key gets its spec's default usage, which a policy must see.
        let default_usage = || {
            trent_wire::model::KeySpec::parse(spec.unwrap_or("SYMMETRIC_DEFAULT"))
                .map(|spec| spec.default_usage())
        };
        match (&self.key_usage, default_usage()) {
            (Some(usage), _) => check = check.with("kms:KeyUsage", usage.clone()),
            (None, Some(usage)) => check = check.with("kms:KeyUsage", usage.as_str()),
            // An unknown spec: CreateKey refuses it.
            (None, None) => {}
        }
        check = check.with("kms:KeyOrigin", self.origin.as_deref().unwrap_or("AWS_KMS"));
        check = check.with("kms:MultiRegion", if self.multi_region == Some(true) { "true" } else { "false" });
        if let Some(bypass) = self.bypass_policy_lockout_safety_check {
            check = check.with("kms:BypassPolicyLockoutSafetyCheck", bypass.to_string());
        }
        let tags = self.tags.iter().flatten().map(|tag| (tag.tag_key.as_str(), tag.tag_value.as_str()));
        Ok(vec![check.with_request_tags(tags)])
    }
}

impl Authorize for KeyIdRequest {
    fn checks(&self, operation: Operation, scope: &ArnScope) -> Result<Vec<Check>, KmsError> {
        on_key(operation, &self.key_id, scope)
    }

    fn grant_tokens(&self) -> &[String] {
        tokens(&self.grant_tokens)
    }
}

impl Authorize for ListKeysRequest {
    fn checks(&self, operation: Operation, _: &ArnScope) -> Result<Vec<Check>, KmsError> {
        Ok(on_nothing(operation))
    }
}

impl Authorize for ListAliasesRequest {
    fn checks(&self, operation: Operation, _: &ArnScope) -> Result<Vec<Check>, KmsError> {
        Ok(on_nothing(operation))
    }
}

impl Authorize for GenerateRandomRequest {
    fn checks(&self, operation: Operation, _: &ArnScope) -> Result<Vec<Check>, KmsError> {
        Ok(on_nothing(operation))
    }
}

impl Authorize for ListRetirableGrantsRequest {
    fn checks(&self, operation: Operation, _: &ArnScope) -> Result<Vec<Check>, KmsError> {
        Ok(on_nothing(operation))
    }
}

impl Authorize for ScheduleKeyDeletionRequest {
    fn checks(&self, operation: Operation, scope: &ArnScope) -> Result<Vec<Check>, KmsError> {
        let window = self.pending_window_in_days.unwrap_or(trent_wire::limits::MAX_PENDING_WINDOW_DAYS);
        let check = Check::new(operation.action(), key(&self.key_id, "keyId", scope)?)
            .with("kms:ScheduleKeyDeletionPendingWindowInDays", window.to_string());
        Ok(vec![check])
    }
}

impl Authorize for AliasTargetRequest {
    /// CreateAlias needs the action on the target key; UpdateAlias on the key the alias names
    /// now and on the new target, as AWS requires.
    fn checks(&self, operation: Operation, scope: &ArnScope) -> Result<Vec<Check>, KmsError> {
        let mut checks = on_key(operation, &self.target_key_id, scope)?;
        if operation == Operation::UpdateAlias && check_alias_name(&self.alias_name).is_ok() {
            checks.push(Check::new(operation.action(), Target::Key(KeyRef::Alias(self.alias_name.clone()))));
        }
        Ok(checks)
    }
}

impl Authorize for DeleteAliasRequest {
    fn checks(&self, operation: Operation, _: &ArnScope) -> Result<Vec<Check>, KmsError> {
        if check_alias_name(&self.alias_name).is_err() {
            // The operation refuses the name; nothing to authorize against.
            return Ok(on_nothing(operation));
        }
        Ok(vec![Check::new(operation.action(), Target::Key(KeyRef::Alias(self.alias_name.clone())))])
    }
}

impl Authorize for TagResourceRequest {
    fn checks(&self, operation: Operation, scope: &ArnScope) -> Result<Vec<Check>, KmsError> {
        let tags = self.tags.iter().map(|tag| (tag.tag_key.as_str(), tag.tag_value.as_str()));
        let check =
            Check::new(operation.action(), key(&self.key_id, "keyId", scope)?).with_request_tags(tags);
        Ok(vec![check])
    }
}

impl Authorize for UntagResourceRequest {
    fn checks(&self, operation: Operation, scope: &ArnScope) -> Result<Vec<Check>, KmsError> {
        let check = Check::new(operation.action(), key(&self.key_id, "keyId", scope)?)
            .with_all("aws:TagKeys", self.tag_keys.clone());
        Ok(vec![check])
    }
}

impl Authorize for EncryptRequest {
    fn checks(&self, operation: Operation, scope: &ArnScope) -> Result<Vec<Check>, KmsError> {
        let algorithm = self.encryption_algorithm.as_deref().unwrap_or("SYMMETRIC_DEFAULT");
        let check = Check::new(operation.action(), key(&self.key_id, "keyId", scope)?)
            .with("kms:EncryptionAlgorithm", algorithm)
            .with_context(self.encryption_context.as_ref());
        Ok(vec![check])
    }

    fn grant_tokens(&self) -> &[String] {
        tokens(&self.grant_tokens)
    }
}

/// The key a blob names, if the blob is there and well formed; else the named key, if any.
fn blob_target(
    blob: Option<&[u8]>,
    named: Option<&str>,
    field: &str,
    scope: &ArnScope,
) -> Result<Target, KmsError> {
    if let Some(header) = blob.and_then(|blob| crate::kms::ciphertext::parse_header(blob).ok()) {
        return Ok(Target::Blob(header.key_id));
    }
    match named {
        Some(named) => key(named, field, scope),
        // A malformed blob is refused by the operation; there is no key to ask about.
        None => Ok(Target::Nothing),
    }
}

impl Authorize for DecryptRequest {
    fn checks(&self, operation: Operation, scope: &ArnScope) -> Result<Vec<Check>, KmsError> {
        let blob = self.ciphertext_blob.as_ref().map(|blob| blob.as_bytes());
        let algorithm = self.encryption_algorithm.as_deref().unwrap_or("SYMMETRIC_DEFAULT");
        let target = match (&self.key_id, algorithm) {
            // An RSA ciphertext names no key: the one the caller names decides.
            (Some(named), algorithm) if algorithm != "SYMMETRIC_DEFAULT" => key(named, "keyId", scope)?,
            _ => blob_target(blob, self.key_id.as_deref(), "keyId", scope)?,
        };
        let check = Check::new(operation.action(), target)
            .with("kms:EncryptionAlgorithm", algorithm)
            .with_context(self.encryption_context.as_ref());
        Ok(vec![check])
    }

    fn grant_tokens(&self) -> &[String] {
        tokens(&self.grant_tokens)
    }
}

impl Authorize for ReEncryptRequest {
    /// `kms:ReEncryptFrom` on the key that opens the blob, `kms:ReEncryptTo` on the destination.
    fn checks(&self, _: Operation, scope: &ArnScope) -> Result<Vec<Check>, KmsError> {
        let blob = self.ciphertext_blob.as_ref().map(|blob| blob.as_bytes());
        let source = match (&self.source_key_id, self.source_encryption_algorithm.as_deref()) {
            (Some(named), Some(algorithm)) if algorithm != "SYMMETRIC_DEFAULT" => {
                key(named, "sourceKeyId", scope)?
            }
            _ => blob_target(blob, self.source_key_id.as_deref(), "sourceKeyId", scope)?,
        };
        let source_algorithm = self.source_encryption_algorithm.as_deref().unwrap_or("SYMMETRIC_DEFAULT");
        let destination_algorithm =
            self.destination_encryption_algorithm.as_deref().unwrap_or("SYMMETRIC_DEFAULT");
        let from = Check::new("kms:ReEncryptFrom", source)
            .with("kms:ReEncryptOnSameKey", "false")
            .with("kms:EncryptionAlgorithm", source_algorithm)
            .with_context(self.source_encryption_context.as_ref());
        let to = Check::new("kms:ReEncryptTo", key(&self.destination_key_id, "destinationKeyId", scope)?)
            .with("kms:EncryptionAlgorithm", destination_algorithm)
            .with_context(self.destination_encryption_context.as_ref());
        Ok(vec![from, to])
    }

    fn grant_tokens(&self) -> &[String] {
        tokens(&self.grant_tokens)
    }
}

impl Authorize for GenerateDataKeyRequest {
    fn checks(&self, operation: Operation, scope: &ArnScope) -> Result<Vec<Check>, KmsError> {
        let check = Check::new(operation.action(), key(&self.key_id, "keyId", scope)?)
            .with("kms:EncryptionAlgorithm", "SYMMETRIC_DEFAULT")
            .with_context(self.encryption_context.as_ref());
        Ok(vec![check])
    }

    fn grant_tokens(&self) -> &[String] {
        tokens(&self.grant_tokens)
    }
}

/// Implements [`Authorize`] for requests that act on their `key_id` alone, with the condition
/// keys their fields supply, and present `grant_tokens`.
macro_rules! on_own_key {
    ($($request:ty => |$r:ident| [$(($name:literal, $value:expr)),*];)+) => {$(
        impl Authorize for $request {
            fn checks(&self, operation: Operation, scope: &ArnScope) -> Result<Vec<Check>, KmsError> {
                let $r = self;
                let check = Check::new(operation.action(), key(&$r.key_id, "keyId", scope)?)$(.with($name, $value))*;
                Ok(vec![check])
            }

            fn grant_tokens(&self) -> &[String] {
                tokens(&self.grant_tokens)
            }
        }
    )+};
}

on_own_key! {
    SignRequest => |r| [
        ("kms:SigningAlgorithm", r.signing_algorithm.as_str()),
        ("kms:MessageType", r.message_type.as_deref().unwrap_or("RAW"))
    ];
    VerifyRequest => |r| [
        ("kms:SigningAlgorithm", r.signing_algorithm.as_str()),
        ("kms:MessageType", r.message_type.as_deref().unwrap_or("RAW"))
    ];
    GetPublicKeyRequest => |r| [];
    GenerateMacRequest => |r| [("kms:MacAlgorithm", r.mac_algorithm.as_str())];
    VerifyMacRequest => |r| [("kms:MacAlgorithm", r.mac_algorithm.as_str())];
    DeriveSharedSecretRequest => |r| [("kms:KeyAgreementAlgorithm", r.key_agreement_algorithm.as_str())];
    EncapsulateRequest => |r| [];
    DecapsulateRequest => |r| [];
}

impl Authorize for GenerateDataKeyPairRequest {
    fn checks(&self, operation: Operation, scope: &ArnScope) -> Result<Vec<Check>, KmsError> {
        let check = Check::new(operation.action(), key(&self.key_id, "keyId", scope)?)
            .with("kms:DataKeyPairSpec", self.key_pair_spec.clone())
            .with("kms:EncryptionAlgorithm", "SYMMETRIC_DEFAULT")
            .with_context(self.encryption_context.as_ref());
        Ok(vec![check])
    }

    fn grant_tokens(&self) -> &[String] {
        tokens(&self.grant_tokens)
    }
}

impl Authorize for PutKeyPolicyRequest {
    fn checks(&self, operation: Operation, scope: &ArnScope) -> Result<Vec<Check>, KmsError> {
        let bypass = self.bypass_policy_lockout_safety_check.unwrap_or(false);
        let check = Check::new(operation.action(), key(&self.key_id, "keyId", scope)?)
            .with("kms:BypassPolicyLockoutSafetyCheck", bypass.to_string());
        Ok(vec![check])
    }
}

impl Authorize for CreateGrantRequest {
    fn checks(&self, operation: Operation, scope: &ArnScope) -> Result<Vec<Check>, KmsError> {
        let mut check = Check::new(operation.action(), key(&self.key_id, "keyId", scope)?)
            .with_all("kms:GrantOperations", self.operations.clone())
            .with("kms:GranteePrincipal", self.grantee_principal.clone());
        if let Some(retiring) = &self.retiring_principal {
            check = check.with("kms:RetiringPrincipal", retiring.clone());
        }
        let mut constraint_types = Vec::new();
        if let Some(constraints) = &self.constraints {
            if constraints.encryption_context_equals.is_some() {
                constraint_types.push("EncryptionContextEquals".to_owned());
            }
            if constraints.encryption_context_subset.is_some() {
                constraint_types.push("EncryptionContextSubset".to_owned());
            }
        }
        if !constraint_types.is_empty() {
            check = check.with_all("kms:GrantConstraintType", constraint_types);
        }
        Ok(vec![check])
    }

    fn grant_tokens(&self) -> &[String] {
        tokens(&self.grant_tokens)
    }
}

impl Authorize for RetireGrantRequest {
    /// None: as AWS, who may retire a grant is said by the grant (its retiring principal, or
    /// its grantee when it allows RetireGrant), not by policies; the operation checks it.
    fn checks(&self, _: Operation, _: &ArnScope) -> Result<Vec<Check>, KmsError> {
        Ok(Vec::new())
    }

    fn grant_tokens(&self) -> &[String] {
        self.grant_token.as_slice()
    }
}

impl Authorize for EnableKeyRotationRequest {
    fn checks(&self, operation: Operation, scope: &ArnScope) -> Result<Vec<Check>, KmsError> {
        // A condition key sees the default when the request leaves the period out, as AWS's do.
        let days = self.rotation_period_in_days.unwrap_or(DEFAULT_ROTATION_PERIOD_DAYS);
        let check = Check::new(operation.action(), key(&self.key_id, "keyId", scope)?)
            .with("kms:RotationPeriodInDays", days.to_string());
        Ok(vec![check])
    }
}

impl Authorize for GetParametersForImportRequest {
    fn checks(&self, operation: Operation, scope: &ArnScope) -> Result<Vec<Check>, KmsError> {
        let check = Check::new(operation.action(), key(&self.key_id, "keyId", scope)?)
            .with("kms:WrappingAlgorithm", self.wrapping_algorithm.clone())
            .with("kms:WrappingKeySpec", self.wrapping_key_spec.clone());
        Ok(vec![check])
    }
}

impl Authorize for ImportKeyMaterialRequest {
    fn checks(&self, operation: Operation, scope: &ArnScope) -> Result<Vec<Check>, KmsError> {
        let expiration = self.expiration_model.as_deref().unwrap_or("KEY_MATERIAL_EXPIRES");
        let mut check = Check::new(operation.action(), key(&self.key_id, "keyId", scope)?)
            .with("kms:ExpirationModel", expiration);
        if let Some(valid_to) = self.valid_to {
            // Epoch seconds, which the Date operators read.
            check = check.with("kms:ValidTo", (valid_to.floor() as i64).to_string());
        }
        Ok(vec![check])
    }
}

/// The key ids a call was authorized for: an operation that resolves an alias again must land
/// on one of them (the alias may have moved in between).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuthorizedKeys(pub Vec<KeyId>);
