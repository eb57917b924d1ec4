//! Key policies: PutKeyPolicy, GetKeyPolicy, ListKeyPolicies, and the checks every new key
//! policy passes (also CreateKey's): its size, its language (`trent_policy`, as a key policy
//! of this account), and AWS's lockout safety check.

use trent_storage::Command;
use trent_wire::access::{
    GetKeyPolicyRequest, GetKeyPolicyResponse, ListKeyPoliciesRequest, ListKeyPoliciesResponse,
    PutKeyPolicyRequest,
};
use trent_wire::kms::EmptyResponse;
use trent_wire::limits::MAX_POLICY_BYTES;
use trent_wire::validation::{check_marker, page_limit};
use trent_wire::{ErrorCode, KmsError};

use super::identifiers::{key_arn, parse_key_id};
use super::Call;
use crate::authorization::{keeps_caller_in, Caller};
use crate::write_path::Proposal;

/// A key's one policy name.
pub const POLICY_NAME: &str = "default";

/// Checks a new key policy for the key `key_arn`; the text to store.
pub fn checked_policy(call: &Call<'_>, text: &str, key_arn: &str, bypass: bool) -> Result<String, KmsError> {
    if text.is_empty() {
        return Err(KmsError::new(
            ErrorCode::Validation,
            "1 validation error detected: Value at 'policy' failed to satisfy constraint: Member must have length greater than or equal to 1",
        ));
    }
    if text.len() > MAX_POLICY_BYTES {
        return Err(KmsError::new(
            ErrorCode::LimitExceeded,
            format!(
                "The key policy is {} bytes; a key policy is at most {MAX_POLICY_BYTES} bytes",
                text.len()
            ),
        ));
    }
    let policy = call
        .node()
        .policies
        .parse_key_policy(text)
        .map_err(|error| KmsError::new(ErrorCode::MalformedPolicyDocument, error.reason))?;
    if !bypass {
        let caller = {
            let registry = call.applied_registry();
            Caller::of(call.node(), &registry, call.principal.access_key_id())?
        };
        if !keeps_caller_in(call.node(), &caller, key_arn, &policy) {
            return Err(KmsError::new(
                ErrorCode::MalformedPolicyDocument,
                "The new key policy will not allow you to update the key policy in the future.",
            ));
        }
    }
    Ok(text.to_owned())
}

fn check_policy_name(name: Option<&str>) -> Result<(), KmsError> {
    match name {
        None | Some(POLICY_NAME) => Ok(()),
        Some(other) => Err(KmsError::new(
            ErrorCode::NotFound,
            format!(
                "Policy {} does not exist; a key's only policy is named default",
                other.chars().take(128).collect::<String>()
            ),
        )),
    }
}

/// `PutKeyPolicy`.
pub async fn put_key_policy(
    call: &Call<'_>,
    request: PutKeyPolicyRequest,
) -> Result<EmptyResponse, KmsError> {
    let key_id = parse_key_id(&request.key_id, "keyId", call.scope())?;
    check_policy_name(request.policy_name.as_deref())?;
    let bypass = request.bypass_policy_lockout_safety_check.unwrap_or(false);
    let policy = checked_policy(call, &request.policy, &key_arn(call.scope(), key_id), bypass)?;
    call.write(Proposal::Command(Command::PutKeyPolicy { key_id, policy })).await?;
    Ok(EmptyResponse {})
}

/// `GetKeyPolicy`: the key's policy, or AWS's default for a key created without one.
pub async fn get_key_policy(
    call: &Call<'_>,
    request: GetKeyPolicyRequest,
) -> Result<GetKeyPolicyResponse, KmsError> {
    let key_id = parse_key_id(&request.key_id, "keyId", call.scope())?;
    check_policy_name(request.policy_name.as_deref())?;
    let registry = call.linearizable_registry().await?;
    if registry.key(&key_id).is_none() {
        return Err(not_found(call, key_id));
    }
    let policy = match registry.key_policy(&key_id) {
        Some(policy) => policy.to_owned(),
        None => call.node().policies.default_key_policy_text().to_owned(),
    };
    Ok(GetKeyPolicyResponse { policy, policy_name: POLICY_NAME.to_owned() })
}

/// `ListKeyPolicies`: `default`, the one policy every key has.
pub async fn list_key_policies(
    call: &Call<'_>,
    request: ListKeyPoliciesRequest,
) -> Result<ListKeyPoliciesResponse, KmsError> {
    let key_id = parse_key_id(&request.key_id, "keyId", call.scope())?;
    page_limit(request.limit, 1000, 100)?;
    check_marker(request.marker.as_deref())?;
    if request.marker.is_some() {
        return Err(KmsError::new(ErrorCode::InvalidMarker, "The marker is not one this cluster issued"));
    }
    let registry = call.linearizable_registry().await?;
    if registry.key(&key_id).is_none() {
        return Err(not_found(call, key_id));
    }
    Ok(ListKeyPoliciesResponse { policy_names: vec![POLICY_NAME.to_owned()], truncated: false })
}

fn not_found(call: &Call<'_>, key_id: trent_storage::KeyId) -> KmsError {
    KmsError::new(ErrorCode::NotFound, format!("Key '{}' does not exist", key_arn(call.scope(), key_id)))
}
