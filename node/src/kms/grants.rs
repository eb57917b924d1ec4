//! Grants: CreateGrant, ListGrants, ListRetirableGrants, RetireGrant, RevokeGrant. A grant lets
//! its grantee perform some operations on one key (optionally only with an encryption
//! context); `crate::authorization` honours it like a key policy statement. Who may retire a
//! grant is said by the grant, not by policies (as AWS does it).

use std::collections::BTreeMap;

use trent_policy::{Grant, GrantConstraints};
use trent_storage::{check_grant_id, Applied, Command, GrantRecord, KeyId, Registry};
use trent_wire::access::{
    CreateGrantRequest, CreateGrantResponse, GrantConstraints as WireConstraints, GrantListEntry,
    ListGrantsRequest, ListGrantsResponse, ListRetirableGrantsRequest, RetireGrantRequest,
    RevokeGrantRequest,
};
use trent_wire::kms::EmptyResponse;
use trent_wire::model::{KeySpec, KeyUsage};
use trent_wire::validation::{check_length, check_marker, constraint, page_limit};
use trent_wire::{ErrorCode, KmsError, Operation};

use super::crypto_fields::finish_dry_run;
use super::identifiers::{key_arn, parse_key_id};
use super::metadata::epoch_seconds;
use super::Call;
use crate::authorization::grant_token::GrantToken;
use crate::authorization::Caller;
use crate::write_path::Proposal;

/// Every grant operation AWS has.
const GRANT_OPERATIONS: [&str; 19] = [
    "Decrypt",
    "Encrypt",
    "GenerateDataKey",
    "GenerateDataKeyWithoutPlaintext",
    "ReEncryptFrom",
    "ReEncryptTo",
    "Sign",
    "Verify",
    "GetPublicKey",
    "CreateGrant",
    "RetireGrant",
    "DescribeKey",
    "GenerateDataKeyPair",
    "GenerateDataKeyPairWithoutPlaintext",
    "GenerateMac",
    "VerifyMac",
    "DeriveSharedSecret",
    "Encapsulate",
    "Decapsulate",
];

/// Whether a grant may allow `operation` on a key of `spec` and `usage`: the grant operations
/// every key has, and the ones its usage can perform (AWS refuses the rest with
/// ValidationException).
fn suits_key(operation: &str, spec: KeySpec, usage: KeyUsage) -> bool {
    match operation {
        "CreateGrant" | "RetireGrant" | "DescribeKey" => true,
        "ReEncryptFrom" | "ReEncryptTo" => Operation::ReEncrypt.allowed_for(spec, usage),
        name => Operation::ALL
            .iter()
            .find(|candidate| candidate.name() == name)
            .is_some_and(|candidate| candidate.allowed_for(spec, usage)),
    }
}

/// Default and largest page of grants (AWS's).
const DEFAULT_GRANT_PAGE: i64 = 50;
const MAX_GRANT_PAGE: i64 = 100;

/// `CreateGrant`.
pub async fn create_grant(
    call: &Call<'_>,
    request: CreateGrantRequest,
) -> Result<CreateGrantResponse, KmsError> {
    let key_id = parse_key_id(&request.key_id, "keyId", call.scope())?;
    check_principal("granteePrincipal", &request.grantee_principal)?;
    if let Some(retiring) = &request.retiring_principal {
        check_principal("retiringPrincipal", retiring)?;
    }
    if let Some(name) = &request.name {
        check_length("name", name, 1, trent_storage::MAX_GRANT_NAME_CHARS)?;
        if !name.bytes().all(|b| b.is_ascii_alphanumeric() || b":/_-".contains(&b)) {
            return Err(constraint(
                "name",
                name,
                "Member must satisfy regular expression pattern: ^[a-zA-Z0-9:/_-]+$",
            ));
        }
    }
    let operations = check_operations(&request.operations)?;
    let constraints = request.constraints.map(constraints_of).transpose()?;
    let (caller, spec, usage) = {
        let registry = call.fresh_registry().await?;
        let key = registry.key(&key_id).ok_or_else(|| key_not_found(call, key_id))?;
        (Caller::of(call.node(), &registry, call.principal.access_key_id())?, key.spec, key.usage)
    };
    if let Some(unsupported) = operations.iter().find(|op| !suits_key(op, spec, usage)) {
        return Err(KmsError::new(
            ErrorCode::Validation,
            format!("{unsupported} is not a valid grant operation for a key with KeySpec {spec} and KeyUsage {usage}"),
        ));
    }
    finish_dry_run(request.dry_run)?;
    let mut id = [0u8; 32];
    crate::crypto::fill_random(&mut id)
        .map_err(|_| KmsError::new(ErrorCode::Internal, "The random source failed"))?;
    let record = GrantRecord {
        key_id,
        grant: Grant {
            grant_id: hex(&id),
            grantee_principal: request.grantee_principal,
            operations,
            constraints,
        },
        name: request.name,
        retiring_principal: request.retiring_principal,
        issuing_principal: caller.arn,
        created_at_ms: 0,
    };
    match call.write(Proposal::Command(Command::CreateGrant(record))).await? {
        Applied::Grant { grant_id, log_index } => {
            let grant_token = GrantToken { log_index, grant_id: grant_id.clone() }.encode();
            Ok(CreateGrantResponse { grant_token, grant_id })
        }
        _ => Err(KmsError::new(ErrorCode::Internal, "CreateGrant applied without a grant")),
    }
}

/// `ListGrants`: a key's grants, by grant id, optionally one grant or one grantee's.
pub async fn list_grants(
    call: &Call<'_>,
    request: ListGrantsRequest,
) -> Result<ListGrantsResponse, KmsError> {
    let key_id = parse_key_id(&request.key_id, "keyId", call.scope())?;
    let limit = page_limit(request.limit, MAX_GRANT_PAGE, DEFAULT_GRANT_PAGE)?;
    let after = marker(request.marker.as_deref())?;
    if let Some(grant_id) = &request.grant_id {
        check_grant_id(grant_id)?;
    }
    if let Some(grantee) = &request.grantee_principal {
        check_principal("granteePrincipal", grantee)?;
    }
    let registry = call.linearizable_registry().await?;
    if registry.key(&key_id).is_none() {
        return Err(key_not_found(call, key_id));
    }
    let matching = registry.grants_of(key_id).filter(|record| {
        request.grant_id.as_ref().is_none_or(|id| *id == record.grant.grant_id)
            && request.grantee_principal.as_ref().is_none_or(|p| *p == record.grant.grantee_principal)
    });
    Ok(page(call, matching, after.as_deref(), limit))
}

/// `ListRetirableGrants`: every grant whose retiring principal is the one given.
pub async fn list_retirable_grants(
    call: &Call<'_>,
    request: ListRetirableGrantsRequest,
) -> Result<ListGrantsResponse, KmsError> {
    check_principal("retiringPrincipal", &request.retiring_principal)?;
    let limit = page_limit(request.limit, MAX_GRANT_PAGE, DEFAULT_GRANT_PAGE)?;
    let after = marker(request.marker.as_deref())?;
    let registry = call.linearizable_registry().await?;
    let matching = registry
        .all_grants()
        .filter(|record| record.retiring_principal.as_deref() == Some(request.retiring_principal.as_str()));
    Ok(page(call, matching, after.as_deref(), limit))
}

/// `RetireGrant`: by its token, or by key and grant id; by its retiring principal, or by its
/// grantee when the grant allows RetireGrant.
pub async fn retire_grant(call: &Call<'_>, request: RetireGrantRequest) -> Result<EmptyResponse, KmsError> {
    let named_key =
        request.key_id.as_deref().map(|key| parse_key_id(key, "keyId", call.scope())).transpose()?;
    let grant_id = match (&request.grant_token, &request.grant_id) {
        (Some(token), _) => GrantToken::parse(token)?.grant_id,
        (None, Some(grant_id)) if named_key.is_some() => {
            check_grant_id(grant_id)?;
            grant_id.clone()
        }
        _ => return Err(KmsError::new(ErrorCode::Validation, "Give a GrantToken, or a KeyId and a GrantId")),
    };
    let key_id = {
        let registry = call.fresh_registry().await?;
        let grant = find_grant(call, &registry, named_key, &grant_id)?;
        let caller = Caller::of(call.node(), &registry, call.principal.access_key_id())?;
        let retiring = grant.retiring_principal.as_deref() == Some(caller.arn.as_str());
        let grantee = grant.grant.grantee_principal == caller.arn
            && grant.grant.operations.iter().any(|operation| operation == "RetireGrant");
        if !retiring && !grantee {
            return Err(KmsError::new(
                ErrorCode::AccessDenied,
                format!(
                    "User: {} is not authorized to perform: kms:RetireGrant on resource: {} because the grant names it neither as retiring principal nor as a grantee allowed RetireGrant",
                    caller.arn,
                    key_arn(call.scope(), grant.key_id)
                ),
            ));
        }
        grant.key_id
    };
    finish_dry_run(request.dry_run)?;
    call.write(Proposal::Command(Command::RemoveGrant { key_id, grant_id })).await?;
    Ok(EmptyResponse {})
}

/// `RevokeGrant`.
pub async fn revoke_grant(call: &Call<'_>, request: RevokeGrantRequest) -> Result<EmptyResponse, KmsError> {
    let key_id = parse_key_id(&request.key_id, "keyId", call.scope())?;
    check_grant_id(&request.grant_id)?;
    {
        let registry = call.fresh_registry().await?;
        find_grant(call, &registry, Some(key_id), &request.grant_id)?;
    }
    finish_dry_run(request.dry_run)?;
    call.write(Proposal::Command(Command::RemoveGrant { key_id, grant_id: request.grant_id })).await?;
    Ok(EmptyResponse {})
}

fn find_grant<'r>(
    call: &Call<'_>,
    registry: &'r Registry,
    key_id: Option<KeyId>,
    grant_id: &str,
) -> Result<&'r GrantRecord, KmsError> {
    if let Some(key_id) = key_id {
        if registry.key(&key_id).is_none() {
            return Err(key_not_found(call, key_id));
        }
    }
    match registry.grant(grant_id) {
        Some(grant) if key_id.is_none_or(|key_id| key_id == grant.key_id) => Ok(grant),
        _ => Err(KmsError::new(ErrorCode::NotFound, format!("Grant ID {grant_id} not found"))),
    }
}

/// A page of grants after `after` (a grant id).
fn page<'r>(
    call: &Call<'_>,
    grants: impl Iterator<Item = &'r GrantRecord>,
    after: Option<&str>,
    limit: usize,
) -> ListGrantsResponse {
    let mut matching: Vec<&GrantRecord> =
        grants.filter(|record| after.is_none_or(|after| record.grant.grant_id.as_str() > after)).collect();
    matching.sort_by(|a, b| a.grant.grant_id.cmp(&b.grant.grant_id));
    let truncated = matching.len() > limit;
    matching.truncate(limit);
    let next_marker =
        if truncated { matching.last().map(|record| record.grant.grant_id.clone()) } else { None };
    let issuing_account = format!("arn:aws:iam::{}:root", call.scope().account_id);
    let grants = matching
        .into_iter()
        .map(|record| GrantListEntry {
            key_id: key_arn(call.scope(), record.key_id),
            grant_id: record.grant.grant_id.clone(),
            name: record.name.clone(),
            creation_date: epoch_seconds(record.created_at_ms),
            grantee_principal: record.grant.grantee_principal.clone(),
            retiring_principal: record.retiring_principal.clone(),
            issuing_account: issuing_account.clone(),
            operations: record.grant.operations.clone(),
            constraints: record.grant.constraints.clone().map(|constraints| WireConstraints {
                encryption_context_subset: constraints.subset,
                encryption_context_equals: constraints.equals,
            }),
        })
        .collect();
    ListGrantsResponse { grants, next_marker, truncated }
}

fn marker(marker: Option<&str>) -> Result<Option<String>, KmsError> {
    check_marker(marker)?;
    match marker {
        Some(marker) if check_grant_id(marker).is_err() => {
            Err(KmsError::new(ErrorCode::InvalidMarker, "The marker is not one this cluster issued"))
        }
        other => Ok(other.map(str::to_owned)),
    }
}

/// A principal as AWS's `PrincipalIdType` allows it: 1–256 of `[\w+=,.@:/-]`.
fn check_principal(field: &str, principal: &str) -> Result<(), KmsError> {
    check_length(field, principal, 1, trent_storage::MAX_PRINCIPAL_CHARS)?;
    if !principal.bytes().all(|b| b.is_ascii_alphanumeric() || b"_+=,.@:/-".contains(&b)) {
        return Err(constraint(
            field,
            principal,
            "Member must satisfy regular expression pattern: ^[\\w+=,.@:/-]+$",
        ));
    }
    Ok(())
}

/// The operations, each one AWS knows, sorted and without repeats.
fn check_operations(operations: &[String]) -> Result<Vec<String>, KmsError> {
    if operations.is_empty() {
        return Err(constraint("operations", "[]", "Member must have length greater than or equal to 1"));
    }
    if let Some(unknown) = operations.iter().find(|op| !GRANT_OPERATIONS.contains(&op.as_str())) {
        return Err(constraint(
            "operations",
            unknown,
            &format!("Member must satisfy enum value set: [{}]", GRANT_OPERATIONS.join(", ")),
        ));
    }
    let mut sorted = operations.to_vec();
    sorted.sort();
    sorted.dedup();
    Ok(sorted)
}

fn constraints_of(wire: WireConstraints) -> Result<GrantConstraints, KmsError> {
    let check = |map: &BTreeMap<String, String>| {
        if map.len() > 64
            || map.iter().any(|(key, value)| key.is_empty() || key.len() > 8192 || value.len() > 8192)
        {
            return Err(KmsError::new(
                ErrorCode::Validation,
                "A grant constraint holds at most 64 pairs of 1-8192 characters",
            ));
        }
        Ok(())
    };
    match (&wire.encryption_context_equals, &wire.encryption_context_subset) {
        (Some(_), Some(_)) => Err(KmsError::new(
            ErrorCode::Validation,
            "A grant can have only one encryption context constraint: EncryptionContextEquals or EncryptionContextSubset",
        )),
        (None, None) => Err(KmsError::new(ErrorCode::Validation, "Constraints must name EncryptionContextEquals or EncryptionContextSubset")),
        (equals, subset) => {
            equals.iter().chain(subset.iter()).try_for_each(check)?;
            Ok(GrantConstraints { equals: wire.encryption_context_equals, subset: wire.encryption_context_subset })
        }
    }
}

fn key_not_found(call: &Call<'_>, key_id: KeyId) -> KmsError {
    KmsError::new(ErrorCode::NotFound, format!("Key '{}' does not exist", key_arn(call.scope(), key_id)))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}
