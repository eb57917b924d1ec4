//! Limits shared by server and client, as AWS KMS documents them where AWS has one.

/// Largest KMS request body (`POST /`) the node reads; larger bodies are refused unread.
///
/// What the protocol needs, with JSON escaping counted: the largest legal request is a CreateKey
/// with a 32 KiB key policy, an 8,192-character description and 50 tags of 128 + 256 characters.
/// botocore escapes every non-ASCII character (`\uXXXX`, 6 bytes), so that request is up to
/// ~200 KB on the wire; 384 KiB leaves room for the rest. Everyday requests (a 4 KiB plaintext
/// in base64) are under 8 KiB.
pub const MAX_KMS_REQUEST_BODY_BYTES: usize = 384 * 1024;
/// Largest admin API request body (`/v1/sys/...`, signed): access keys, members, rekey.
pub const MAX_ADMIN_REQUEST_BODY_BYTES: usize = 64 * 1024;
/// Largest body of the unsigned admin calls (init, unseal): a share is ~200 characters.
pub const MAX_UNSIGNED_REQUEST_BODY_BYTES: usize = 4 * 1024;
/// Description of a key: 0–8192 characters.
pub const MAX_DESCRIPTION_CHARS: usize = 8192;
/// ListKeys and ListKeyRotations `Limit`: 1–1000.
pub const MAX_LIST_LIMIT: i64 = 1000;
/// Default page size of ListKeys and ListKeyRotations.
pub const DEFAULT_LIST_LIMIT: i64 = 100;
/// ListAliases `Limit`: 1–100.
pub const MAX_ALIAS_LIST_LIMIT: i64 = 100;
/// Default page size of ListAliases.
pub const DEFAULT_ALIAS_LIST_LIMIT: i64 = 50;
/// Default page size of ListResourceTags.
pub const DEFAULT_TAG_LIST_LIMIT: i64 = 50;
/// Tags per key.
pub const MAX_TAGS_PER_KEY: usize = 50;
/// Tag key length, 1–128 characters.
pub const MAX_TAG_KEY_CHARS: usize = 128;
/// Tag value length, 0–256 characters.
pub const MAX_TAG_VALUE_CHARS: usize = 256;
/// Alias name length including the `alias/` prefix, 1–256 characters.
pub const MAX_ALIAS_NAME_CHARS: usize = 256;
/// Pending deletion window bounds in days.
pub const MIN_PENDING_WINDOW_DAYS: i64 = 7;
/// Pending deletion window upper bound in days (also the default).
pub const MAX_PENDING_WINDOW_DAYS: i64 = 30;
/// Key id / ARN / alias argument length, 1–2048 characters.
pub const MAX_KEY_ID_CHARS: usize = 2048;
/// Pagination marker length.
pub const MAX_MARKER_CHARS: usize = 1024;
/// Key policy document size.
pub const MAX_POLICY_BYTES: usize = 32 * 1024;
/// Plaintext of Encrypt: 1–4096 bytes.
pub const MAX_PLAINTEXT_BYTES: usize = 4096;
/// Ciphertext blob of Decrypt and ReEncrypt, and every other AWS `CiphertextType` field
/// (ImportKeyMaterial's `ImportToken` and `EncryptedKeyMaterial`): 1–6144 bytes.
pub const MAX_CIPHERTEXT_BYTES: usize = 6144;
/// `NumberOfBytes` of GenerateDataKey and GenerateRandom: 1–1024.
pub const MAX_GENERATED_BYTES: i64 = 1024;
/// Grant tokens per request: 0–10.
pub const MAX_GRANT_TOKENS: usize = 10;
/// Length of one grant token: 1–8192 characters.
pub const MAX_GRANT_TOKEN_CHARS: usize = 8192;
/// Encryption context: its pairs' keys and values together, in UTF-8 bytes. AWS documents no
/// number; this bounds the work a request can ask for and matches what the AWS Encryption SDK
/// serialises comfortably.
pub const MAX_ENCRYPTION_CONTEXT_BYTES: usize = 8192;
/// EnableKeyRotation `RotationPeriodInDays`: 90–2560 days.
pub const MIN_ROTATION_PERIOD_DAYS: i64 = 90;
/// Upper bound of `RotationPeriodInDays`.
pub const MAX_ROTATION_PERIOD_DAYS: i64 = 2560;
/// The rotation period when EnableKeyRotation names none.
pub const DEFAULT_ROTATION_PERIOD_DAYS: i64 = 365;
/// RotateKeyOnDemand calls a key may have in its lifetime (AWS's quota).
pub const MAX_ON_DEMAND_ROTATIONS: u32 = 25;
/// How long GetParametersForImport's wrapping key and import token can be used, in hours.
pub const IMPORT_PARAMETERS_VALID_HOURS: u64 = 24;
/// ImportKeyMaterial `ValidTo`: at most this many days after the request.
pub const MAX_IMPORTED_MATERIAL_VALID_DAYS: u64 = 365;
/// `KeyMaterialDescription`: 0–256 characters.
pub const MAX_KEY_MATERIAL_DESCRIPTION_CHARS: usize = 256;
/// `KeyMaterialId`: exactly 64 lowercase hex digits.
pub const KEY_MATERIAL_ID_CHARS: usize = 64;
