//! What of a request and of a reply goes into its audit record: the fields CloudTrail logs for
//! KMS, copied by name from an allow-list, so a field added to a request later is left out until
//! someone decides it is safe. Plaintexts, ciphertext blobs, messages, signatures, MACs, public
//! keys of peers, imported material, import tokens, grant tokens, secrets and shares are not on
//! the list, and no value is copied that is not on it.

use serde_json::{Map, Value};
use trent_wire::Operation;

/// The KMS request fields an audit record may carry (AWS's names; logged in lowerCamelCase as
/// CloudTrail does): a struct of exactly these, so that deserializing a request skips every
/// other field (a plaintext, a blob) without copying it, and a field added to a request later is
/// left out until someone adds it here.
macro_rules! logged_kms_fields {
    ($($field:ident),+ $(,)?) => {
        #[derive(Default, serde::Deserialize, serde::Serialize)]
        #[serde(rename_all(deserialize = "PascalCase", serialize = "camelCase"))]
        struct KmsParameters {
            $(
                #[serde(default, skip_serializing_if = "Option::is_none")]
                $field: Option<Value>,
            )+
        }

        impl KmsParameters {
            fn is_empty(&self) -> bool {
                true $(&& self.$field.is_none())+
            }
        }
    };
}

logged_kms_fields!(
    key_id,
    source_key_id,
    destination_key_id,
    encryption_algorithm,
    source_encryption_algorithm,
    destination_encryption_algorithm,
    encryption_context,
    source_encryption_context,
    destination_encryption_context,
    key_spec,
    key_usage,
    customer_master_key_spec,
    key_pair_spec,
    number_of_bytes,
    description,
    origin,
    multi_region,
    bypass_policy_lockout_safety_check,
    pending_window_in_days,
    alias_name,
    target_key_id,
    limit,
    grant_id,
    grant_name,
    grantee_principal,
    retiring_principal,
    operations,
    constraints,
    policy_name,
    policy,
    signing_algorithm,
    message_type,
    mac_algorithm,
    key_agreement_algorithm,
    key_encapsulation_algorithm,
    wrapping_algorithm,
    wrapping_key_spec,
    expiration_model,
    valid_to,
    rotation_period_in_days,
    tag_keys,
    tags,
    key_material_id,
    key_material_description,
    import_type,
    include_key_material,
    dry_run,
);

/// KMS reply fields a management call's record carries (`responseElements`).
const KMS_RESPONSE_FIELDS: &[&str] =
    &["KeyMetadata", "GrantId", "KeyId", "KeyMaterialId", "CurrentKeyMaterialId"];

/// Admin request fields (snake_case, as the admin API spells them). Never `share`,
/// `secret_access_key` or a policy's own secrets (policies hold none, and are logged as
/// CloudTrail logs PutUserPolicy).
const ADMIN_REQUEST_FIELDS: &[&str] = &[
    "shares",
    "threshold",
    "access_key_id",
    "description",
    "user",
    "name",
    "policy",
    "node_id",
    "api_addr",
    "peer_addr",
    "reset",
];

/// Admin reply fields a management call's record carries. Never the new access key's secret,
/// never shares.
const ADMIN_RESPONSE_FIELDS: &[&str] = &["access_key_id", "user", "name", "arn", "node_id", "version"];

/// The largest `requestParameters` or `responseElements` kept whole; a larger one (a 32 KiB
/// policy, a long tag list) is replaced by a note of its size.
const MAX_LOGGED_BYTES: usize = 16 * 1024;

/// `requestParameters` of a KMS call's `body` (`None` for an empty or unparseable body).
pub fn kms_request(body: &[u8]) -> Option<Value> {
    // serde fills a struct from a JSON array too; requests are objects.
    if body.iter().find(|byte| !byte.is_ascii_whitespace()) != Some(&b'{') {
        return None;
    }
    let parameters: KmsParameters = serde_json::from_slice(body).ok()?;
    if parameters.is_empty() {
        return None;
    }
    let value = serde_json::to_value(&parameters).ok()?;
    // A body within the limit cannot give more than the limit: only its size is re-measured.
    if body.len() <= MAX_LOGGED_BYTES / 2 {
        return Some(value);
    }
    bounded(Some(value))
}

/// `responseElements` of a KMS call: only management calls (writes) carry any.
pub fn kms_response(operation: Operation, reply: &[u8]) -> Option<Value> {
    if operation.access() != trent_wire::Access::Write {
        return None;
    }
    pick(reply, KMS_RESPONSE_FIELDS, true)
}

/// `requestParameters` of an admin call: the id its path names, and the allowed body fields.
/// A user's policy document (`PutUserPolicy`) is its whole body, logged as `policyDocument`.
pub fn admin_request(operation: Operation, id: Option<&str>, body: &[u8]) -> Option<Value> {
    let mut fields = match operation {
        Operation::PutUserPolicy => {
            let mut fields = Map::new();
            if let Ok(text) = std::str::from_utf8(body) {
                fields.insert("policyDocument".to_owned(), Value::String(text.trim().to_owned()));
            }
            fields
        }
        _ => match pick(body, ADMIN_REQUEST_FIELDS, false) {
            Some(Value::Object(fields)) => fields,
            _ => Map::new(),
        },
    };
    if let Some(id) = id {
        fields.insert("id".to_owned(), Value::String(id.chars().take(256).collect()));
    }
    bounded((!fields.is_empty()).then_some(Value::Object(fields)))
}

/// `responseElements` of an admin call that changed something.
pub fn admin_response(operation: Operation, reply: &[u8]) -> Option<Value> {
    if operation.access() != trent_wire::Access::Write {
        return None;
    }
    pick(reply, ADMIN_RESPONSE_FIELDS, false)
}

/// The allowed top-level fields of the JSON object `body`, renamed to lowerCamelCase when
/// `camel`; `None` when there are none.
fn pick(body: &[u8], allowed: &[&str], camel: bool) -> Option<Value> {
    if body.is_empty() {
        return None;
    }
    let Ok(Value::Object(mut object)) = serde_json::from_slice::<Value>(body) else {
        return None;
    };
    let mut picked = Map::new();
    for name in allowed {
        if let Some(value) = object.remove(*name) {
            let logged = if camel { lower_camel(name) } else { (*name).to_owned() };
            picked.insert(logged, value);
        }
    }
    bounded((!picked.is_empty()).then_some(Value::Object(picked)))
}

/// `value`, or a note of its size when it is over [`MAX_LOGGED_BYTES`].
fn bounded(value: Option<Value>) -> Option<Value> {
    let value = value?;
    let size = serde_json::to_vec(&value).map_or(usize::MAX, |encoded| encoded.len());
    if size <= MAX_LOGGED_BYTES {
        return Some(value);
    }
    Some(
        serde_json::json!({ "trentOmitted": format!("{size} bytes of parameters, over the {MAX_LOGGED_BYTES}-byte limit of one record") }),
    )
}

fn lower_camel(name: &str) -> String {
    let mut chars = name.chars();
    match chars.next() {
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_left_out_and_names_are_cloudtrails() {
        let body = br#"{"KeyId":"alias/app","Plaintext":"c2VjcmV0","EncryptionContext":{"tenant":"a"},"GrantTokens":["t"],"EncryptionAlgorithm":"SYMMETRIC_DEFAULT"}"#;
        let logged = kms_request(body).unwrap();
        assert_eq!(
            logged,
            serde_json::json!({"keyId":"alias/app","encryptionContext":{"tenant":"a"},"encryptionAlgorithm":"SYMMETRIC_DEFAULT"})
        );
        let reply = br#"{"KeyMetadata":{"KeyId":"k"},"GrantToken":"secret-ish","GrantId":"g"}"#;
        assert_eq!(
            kms_response(Operation::CreateGrant, reply).unwrap(),
            serde_json::json!({"keyMetadata":{"KeyId":"k"},"grantId":"g"})
        );
        assert_eq!(kms_response(Operation::Encrypt, br#"{"KeyId":"k","CiphertextBlob":"x"}"#), None);
    }

    #[test]
    fn admin_calls_never_log_shares_or_secrets() {
        let init =
            br#"{"shares":5,"threshold":3,"access_key_id":"AK","secret_access_key":"hunter22hunter22"}"#;
        let logged = admin_request(Operation::Initialize, None, init).unwrap();
        assert_eq!(logged, serde_json::json!({"shares":5,"threshold":3,"access_key_id":"AK"}));
        assert_eq!(admin_request(Operation::Unseal, None, br#"{"share":"abc"}"#), None);
        let created = br#"{"access_key_id":"AK","secret_access_key":"s3cr3t","user":"alice"}"#;
        assert_eq!(
            admin_response(Operation::CreateAccessKey, created).unwrap(),
            serde_json::json!({"access_key_id":"AK","user":"alice"})
        );
        let unseal_reply = br#"{"shares":["a","b"],"sealed":false}"#;
        assert_eq!(admin_response(Operation::Initialize, unseal_reply), None);
    }

    #[test]
    fn oversized_parameters_are_replaced_by_their_size() {
        let policy = "x".repeat(MAX_LOGGED_BYTES + 1);
        let body = serde_json::to_vec(&serde_json::json!({"KeyId":"k","Policy":policy})).unwrap();
        let logged = kms_request(&body).unwrap();
        assert!(logged["trentOmitted"].as_str().unwrap().contains("bytes of parameters"));
    }

    #[test]
    fn unparseable_bodies_log_nothing() {
        assert_eq!(kms_request(b"not json"), None);
        assert_eq!(kms_request(b"[1,2]"), None);
        assert_eq!(kms_request(b""), None);
    }
}
