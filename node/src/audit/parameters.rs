//! What of a request and of a reply goes into its audit record: the fields CloudTrail logs for
//! KMS, copied by name from an allow-list, so a field added to a request later is left out until
//! someone decides it is safe. Plaintexts, ciphertext blobs, messages, signatures, MACs, public
//! keys of peers, imported material, import tokens, grant tokens, secrets and shares are not on
//! the list, and no value is copied that is not on it.

use serde_json::{Map, Value};
use trent_wire::Operation;

/// The KMS request fields an audit record may carry (AWS's names; logged in lowerCamelCase as
/// CloudTrail does). Only these are read from a request; every other field (a plaintext, a
/// blob) is skipped unread, and a field added to a request later is left out until someone adds
/// it here.
const LOGGED_KMS_FIELDS: &[&str] = &[
    "KeyId",
    "SourceKeyId",
    "DestinationKeyId",
    "EncryptionAlgorithm",
    "SourceEncryptionAlgorithm",
    "DestinationEncryptionAlgorithm",
    "EncryptionContext",
    "SourceEncryptionContext",
    "DestinationEncryptionContext",
    "KeySpec",
    "KeyUsage",
    "CustomerMasterKeySpec",
    "KeyPairSpec",
    "NumberOfBytes",
    "Description",
    "Origin",
    "MultiRegion",
    "BypassPolicyLockoutSafetyCheck",
    "PendingWindowInDays",
    "AliasName",
    "TargetKeyId",
    "Limit",
    "GrantId",
    "GrantName",
    "Name",
    "GranteePrincipal",
    "RetiringPrincipal",
    "Operations",
    "Constraints",
    "PolicyName",
    "Policy",
    "SigningAlgorithm",
    "MessageType",
    "MacAlgorithm",
    "KeyAgreementAlgorithm",
    "KeyEncapsulationAlgorithm",
    "EncapsulationAlgorithm",
    "WrappingAlgorithm",
    "WrappingKeySpec",
    "ExpirationModel",
    "ValidTo",
    "RotationPeriodInDays",
    "TagKeys",
    "Tags",
    "KeyMaterialId",
    "KeyMaterialDescription",
    "ImportType",
    "IncludeKeyMaterial",
    "DryRun",
];

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

/// `requestParameters` of a KMS call's `body` (`None` for an empty or unparseable body): for a
/// call refused before its request was parsed into its type (see [`kms_request_of`]).
pub fn kms_request(body: &[u8]) -> Option<Value> {
    // serde fills a struct from a JSON array too; requests are objects.
    if body.iter().find(|byte| !byte.is_ascii_whitespace()) != Some(&b'{') {
        return None;
    }
    let mut deserializer = serde_json::Deserializer::from_slice(body);
    let fields = serde::Deserializer::deserialize_map(&mut deserializer, LoggedFieldsVisitor).ok()?;
    // Nothing but whitespace may follow the object, as for the operation's own parse.
    deserializer.end().ok()?;
    logged(fields, body.len())
}

/// `requestParameters` of a KMS request already parsed into its type, from a body of
/// `body_len` bytes: the same fields as [`kms_request`] would read from that body, taken from the
/// typed request by name, so the body is not parsed a second time. The value of a field not on
/// the list is never serialized at all. An error if the request is not a plain struct (then
/// [`kms_request`] of the body is the way).
pub fn kms_request_of<T: serde::Serialize>(
    request: &T,
    body_len: usize,
) -> Result<Option<Value>, serde_json::Error> {
    let fields = request.serialize(logged_fields::LoggedFields)?;
    Ok(logged(fields, body_len))
}

/// The picked fields as `requestParameters`, bounded in size.
fn logged(fields: Map<String, Value>, body_len: usize) -> Option<Value> {
    if fields.is_empty() {
        return None;
    }
    let value = Value::Object(fields);
    // A body within the limit cannot give more than the limit: only its size is re-measured.
    if body_len <= MAX_LOGGED_BYTES / 2 {
        return Some(value);
    }
    bounded(Some(value))
}

/// Reads a request object, keeping the [`LOGGED_KMS_FIELDS`] (renamed) and skipping the rest
/// unread (`IgnoredAny` copies nothing).
struct LoggedFieldsVisitor;

impl<'de> serde::de::Visitor<'de> for LoggedFieldsVisitor {
    type Value = Map<String, Value>;

    fn expecting(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str("a KMS request object")
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut fields = Map::new();
        while let Some(name) = map.next_key::<std::borrow::Cow<'de, str>>()? {
            if LOGGED_KMS_FIELDS.contains(&name.as_ref()) {
                // An explicit null is logged as the field's absence, as the typed path sees it.
                let logged_name = lower_camel(&name);
                if fields.contains_key(&logged_name) {
                    // The operation's own parse refuses a duplicate field too.
                    return Err(serde::de::Error::custom("duplicate field"));
                }
                match map.next_value::<Value>()? {
                    Value::Null => {}
                    value => {
                        fields.insert(logged_name, value);
                    }
                }
            } else {
                map.next_value::<serde::de::IgnoredAny>()?;
            }
        }
        Ok(fields)
    }
}

mod logged_fields {
    //! A serde serializer that takes a typed KMS request apart into its logged fields: a
    //! struct's field named in [`super::LOGGED_KMS_FIELDS`] is serialized into a JSON value; any
    //! other field is skipped before its value is touched. Anything but a struct is refused.

    use serde::ser::{Error as _, Impossible, Serialize, SerializeStruct, Serializer};
    use serde_json::{Error, Map, Value};

    pub(super) struct LoggedFields;

    pub(super) struct Fields(Map<String, Value>);

    fn not_a_request() -> Error {
        Error::custom("a KMS request is a struct")
    }

    macro_rules! refuse {
        ($($method:ident($($argument:ty),*)),+ $(,)?) => {
            $(fn $method(self, $(_: $argument),*) -> Result<Self::Ok, Error> {
                Err(not_a_request())
            })+
        };
    }

    impl Serializer for LoggedFields {
        type Ok = Map<String, Value>;
        type Error = Error;
        type SerializeSeq = Impossible<Self::Ok, Error>;
        type SerializeTuple = Impossible<Self::Ok, Error>;
        type SerializeTupleStruct = Impossible<Self::Ok, Error>;
        type SerializeTupleVariant = Impossible<Self::Ok, Error>;
        type SerializeMap = Impossible<Self::Ok, Error>;
        type SerializeStruct = Fields;
        type SerializeStructVariant = Impossible<Self::Ok, Error>;

        refuse!(
            serialize_bool(bool),
            serialize_i8(i8),
            serialize_i16(i16),
            serialize_i32(i32),
            serialize_i64(i64),
            serialize_u8(u8),
            serialize_u16(u16),
            serialize_u32(u32),
            serialize_u64(u64),
            serialize_f32(f32),
            serialize_f64(f64),
            serialize_char(char),
            serialize_str(&str),
            serialize_bytes(&[u8]),
            serialize_none(),
            serialize_unit(),
            serialize_unit_struct(&'static str),
            serialize_unit_variant(&'static str, u32, &'static str),
        );

        fn serialize_some<T: ?Sized + Serialize>(self, _: &T) -> Result<Self::Ok, Error> {
            Err(not_a_request())
        }

        fn serialize_newtype_struct<T: ?Sized + Serialize>(
            self,
            _: &'static str,
            _: &T,
        ) -> Result<Self::Ok, Error> {
            Err(not_a_request())
        }

        fn serialize_newtype_variant<T: ?Sized + Serialize>(
            self,
            _: &'static str,
            _: u32,
            _: &'static str,
            _: &T,
        ) -> Result<Self::Ok, Error> {
            Err(not_a_request())
        }

        fn serialize_seq(self, _: Option<usize>) -> Result<Self::SerializeSeq, Error> {
            Err(not_a_request())
        }

        fn serialize_tuple(self, _: usize) -> Result<Self::SerializeTuple, Error> {
            Err(not_a_request())
        }

        fn serialize_tuple_struct(
            self,
            _: &'static str,
            _: usize,
        ) -> Result<Self::SerializeTupleStruct, Error> {
            Err(not_a_request())
        }

        fn serialize_tuple_variant(
            self,
            _: &'static str,
            _: u32,
            _: &'static str,
            _: usize,
        ) -> Result<Self::SerializeTupleVariant, Error> {
            Err(not_a_request())
        }

        fn serialize_map(self, _: Option<usize>) -> Result<Self::SerializeMap, Error> {
            Err(not_a_request())
        }

        fn serialize_struct(self, _: &'static str, _: usize) -> Result<Self::SerializeStruct, Error> {
            Ok(Fields(Map::new()))
        }

        fn serialize_struct_variant(
            self,
            _: &'static str,
            _: u32,
            _: &'static str,
            _: usize,
        ) -> Result<Self::SerializeStructVariant, Error> {
            Err(not_a_request())
        }
    }

    impl SerializeStruct for Fields {
        type Ok = Map<String, Value>;
        type Error = Error;

        fn serialize_field<T: ?Sized + Serialize>(
            &mut self,
            name: &'static str,
            value: &T,
        ) -> Result<(), Error> {
            if super::LOGGED_KMS_FIELDS.contains(&name) {
                match serde_json::to_value(value)? {
                    Value::Null => {}
                    value => {
                        self.0.insert(super::lower_camel(name), value);
                    }
                }
            }
            Ok(())
        }

        fn end(self) -> Result<Self::Ok, Error> {
            Ok(self.0)
        }
    }
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

    /// Each operation's logged fields taken from its typed request are the ones read from its
    /// body: the two paths of [`kms_request`] and [`kms_request_of`] agree.
    #[test]
    fn typed_requests_log_what_their_bodies_do() {
        use trent_wire::access::*;
        use trent_wire::asymmetric::*;
        use trent_wire::data_plane::*;
        use trent_wire::import::*;
        use trent_wire::kms::*;
        fn same<T: serde::de::DeserializeOwned + serde::Serialize>(body: &str) {
            let typed: T = serde_json::from_str(body).unwrap();
            let from_type = kms_request_of(&typed, body.len()).unwrap();
            assert_eq!(from_type, kms_request(body.as_bytes()), "{body}");
            assert!(from_type.is_some(), "{body}");
            let logged = serde_json::to_string(&from_type).unwrap();
            for secret in ["c2VjcmV0", "bWVzc2FnZQ==", "dG9rZW4="] {
                assert!(!logged.contains(secret), "{logged}");
            }
        }
        same::<EncryptRequest>(
            r#"{"KeyId":"alias/app","Plaintext":"c2VjcmV0","EncryptionContext":{"b":"2","a":"1"},"GrantTokens":["dG9rZW4="],"EncryptionAlgorithm":"SYMMETRIC_DEFAULT","DryRun":false}"#,
        );
        same::<DecryptRequest>(r#"{"CiphertextBlob":"c2VjcmV0","KeyId":"k","EncryptionContext":{"a":"1"}}"#);
        same::<ReEncryptRequest>(
            r#"{"CiphertextBlob":"c2VjcmV0","SourceKeyId":"s","DestinationKeyId":"d","DestinationEncryptionContext":{"x":"y"}}"#,
        );
        same::<GenerateDataKeyRequest>(r#"{"KeyId":"k","KeySpec":"AES_256"}"#);
        same::<GenerateDataKeyRequest>(r#"{"KeyId":"k","NumberOfBytes":32}"#);
        same::<GenerateRandomRequest>(r#"{"NumberOfBytes":32}"#);
        same::<CreateKeyRequest>(
            r#"{"Description":"d","KeyUsage":"SIGN_VERIFY","KeySpec":"ECC_NIST_P256","Policy":"{\"Version\":\"2012-10-17\"}","Tags":[{"TagKey":"a","TagValue":"b"}],"MultiRegion":false}"#,
        );
        same::<SignRequest>(
            r#"{"KeyId":"k","Message":"bWVzc2FnZQ==","MessageType":"RAW","SigningAlgorithm":"ECDSA_SHA_256"}"#,
        );
        same::<VerifyRequest>(
            r#"{"KeyId":"k","Message":"bWVzc2FnZQ==","Signature":"c2VjcmV0","SigningAlgorithm":"ECDSA_SHA_256"}"#,
        );
        same::<GenerateMacRequest>(r#"{"KeyId":"k","Message":"bWVzc2FnZQ==","MacAlgorithm":"HMAC_SHA_256"}"#);
        same::<CreateGrantRequest>(
            r#"{"KeyId":"k","GranteePrincipal":"arn:aws:iam::111122223333:user/b","Operations":["Decrypt"],"Constraints":{"EncryptionContextSubset":{"a":"1"}},"Name":"n"}"#,
        );
        same::<AliasTargetRequest>(r#"{"AliasName":"alias/a","TargetKeyId":"k"}"#);
        same::<ScheduleKeyDeletionRequest>(r#"{"KeyId":"k","PendingWindowInDays":7}"#);
        same::<PutKeyPolicyRequest>(r#"{"KeyId":"k","PolicyName":"default","Policy":"{}"}"#);
        same::<TagResourceRequest>(r#"{"KeyId":"k","Tags":[{"TagKey":"a","TagValue":"b"}]}"#);
        same::<ImportKeyMaterialRequest>(
            r#"{"KeyId":"k","ImportToken":"dG9rZW4=","EncryptedKeyMaterial":"c2VjcmV0","ExpirationModel":"KEY_MATERIAL_DOES_NOT_EXPIRE"}"#,
        );
        same::<GetParametersForImportRequest>(
            r#"{"KeyId":"k","WrappingAlgorithm":"RSAES_OAEP_SHA_256","WrappingKeySpec":"RSA_4096"}"#,
        );
        same::<KeyIdRequest>(r#"{"KeyId":"k"}"#);
        same::<EncapsulateRequest>(r#"{"KeyId":"k","EncapsulationAlgorithm":"ML_KEM"}"#);
        same::<DecapsulateRequest>(
            r#"{"KeyId":"k","SharedSecretCiphertextBlob":"c2VjcmV0","EncapsulationAlgorithm":"ML_KEM"}"#,
        );
    }

    #[test]
    fn unparseable_bodies_log_nothing() {
        assert_eq!(kms_request(br#"{"KeyId":"k"} trailing"#), None);
        assert_eq!(kms_request(br#"{"KeyId":"k","KeyId":"j"}"#), None);
        assert_eq!(kms_request(b"not json"), None);
        assert_eq!(kms_request(b"[1,2]"), None);
        assert_eq!(kms_request(b""), None);
    }
}
