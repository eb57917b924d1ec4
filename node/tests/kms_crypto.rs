//! The KMS data plane on one in-process node, through the typed client and raw JSON: Encrypt,
//! Decrypt (with and without KeyId), ReEncrypt, GenerateDataKey, GenerateDataKeyWithoutPlaintext
//! and GenerateRandom — what each returns, and every way each refuses, with AWS's error codes.
//!
//! The blob format these tests forge against (`node/src/kms/ciphertext.rs`):
//! `version (1) | key id (16) | material version (4, BE) | nonce (12) | ciphertext | tag (16)`.
//! Key rotation is not implemented, so blobs under retired material are not tested here.
//! Behaviour across nodes and the consistency bound are in `crypto_cluster.rs`.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a panic in a test is a failed test

mod support;

use std::collections::BTreeSet;

use serde_json::{json, Value};
use support::kms::*;
use support::InProcessNode;
use trent_client::{ClientError, TrentClient};
use trent_node::kms::ciphertext::BlobFormat;
use trent_wire::data_plane::*;
use trent_wire::kms::KeyIdRequest;
use trent_wire::model::{EncryptionAlgorithm, KeyState};
use trent_wire::{Blob, ErrorCode};

/// Blob layout (see the module comment): a cluster of this build alone reaches its highest
/// feature level, so new blobs take that level's format (v1 below level 4, v2 from it).
const TAG_BYTES: usize = 16;
fn format() -> BlobFormat {
    BlobFormat::for_level(trent_storage::SUPPORTED_LEVEL)
}
fn overhead_bytes() -> usize {
    format().min_blob_bytes()
}
fn format_byte() -> u8 {
    match format() {
        BlobFormat::V1 => 0x01,
        BlobFormat::V2 => 0x02,
    }
}

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

fn context(pairs: &[(&str, &str)]) -> Option<EncryptionContext> {
    Some(pairs.iter().map(|(key, value)| (key.to_string(), value.to_string())).collect())
}

fn encrypt_request(key_id: &str, plaintext: &[u8]) -> EncryptRequest {
    EncryptRequest { key_id: key_id.to_owned(), plaintext: Blob(plaintext.to_vec()), ..Default::default() }
}

fn decrypt_request(blob: &[u8]) -> DecryptRequest {
    DecryptRequest { ciphertext_blob: Some(Blob(blob.to_vec())), ..Default::default() }
}

fn data_key_request(
    key_id: &str,
    key_spec: Option<&str>,
    number_of_bytes: Option<i64>,
) -> GenerateDataKeyRequest {
    GenerateDataKeyRequest {
        key_id: key_id.to_owned(),
        key_spec: key_spec.map(str::to_owned),
        number_of_bytes,
        ..Default::default()
    }
}

fn re_encrypt_request(blob: &[u8], destination: &str) -> ReEncryptRequest {
    ReEncryptRequest {
        ciphertext_blob: Some(Blob(blob.to_vec())),
        destination_key_id: destination.to_owned(),
        ..Default::default()
    }
}

/// Encrypts `plaintext` under `key_id` with `context`; returns the blob.
async fn seal(
    client: &TrentClient,
    key_id: &str,
    plaintext: &[u8],
    context: Option<EncryptionContext>,
) -> Vec<u8> {
    let request = EncryptRequest { encryption_context: context, ..encrypt_request(key_id, plaintext) };
    client.encrypt(&request).await.expect("Encrypt").ciphertext_blob.0.clone()
}

/// Decrypt of `blob` under `context`, no KeyId.
async fn open(
    client: &TrentClient,
    blob: &[u8],
    context: Option<EncryptionContext>,
) -> Result<DecryptResponse, ClientError> {
    client.decrypt(&DecryptRequest { encryption_context: context, ..decrypt_request(blob) }).await
}

fn key_id_bytes(key_id: &str) -> [u8; 16] {
    *uuid::Uuid::parse_str(key_id).expect("key id is a UUID").as_bytes()
}

fn b64(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// A raw call to the in-process node that must fail with `status` and `error_type`.
#[track_caller]
fn assert_raw_error(answer: &(u16, Value), status: u16, error_type: &str) {
    assert_eq!(answer.0, status, "{answer:?}");
    assert_eq!(answer.1["__type"], error_type, "{answer:?}");
}

/// A raw-JSON call that must fail with `expected`.
async fn refused_json(client: &TrentClient, operation: &str, body: Value, expected: ErrorCode) -> String {
    let shown = body.to_string();
    let shown: String = shown.chars().take(200).collect();
    match call_json(client, operation, body).await {
        Err(ClientError::Api(error)) if error.code == expected => error.message,
        other => panic!("{operation} {shown}: expected {expected}, got {other:?}"),
    }
}

// ---------------------------------------------------------------------------------------------
// Encrypt and Decrypt
// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn encrypt_and_decrypt_accept_every_key_form_and_answer_with_the_key_arn() {
    let (node, client) = start().await;
    let key_id = create_key(&client).await.key_id;
    client.create_alias(&alias("alias/crypto", &key_id)).await.expect("CreateAlias");
    let arn = key_arn(&key_id);
    let forms = [key_id.clone(), arn.clone(), "alias/crypto".to_owned(), alias_arn("alias/crypto")];

    let mut blobs = BTreeSet::new();
    for form in &forms {
        let encrypted = client.encrypt(&encrypt_request(form, b"attack at dawn")).await.expect("Encrypt");
        assert_eq!(encrypted.key_id, arn, "Encrypt via {form} names the key ARN");
        assert_eq!(encrypted.encryption_algorithm, EncryptionAlgorithm::SymmetricDefault);
        let blob = encrypted.ciphertext_blob.0.clone();
        assert_eq!(blob.len(), overhead_bytes() + 14, "blob size");
        assert_eq!(blob[0], format_byte(), "format version");
        assert_eq!(blob[1..17], key_id_bytes(&key_id), "the header names the key");
        assert_eq!(blob[17..21], 1u32.to_be_bytes(), "material version 1");
        assert!(!blob.windows(14).any(|window| window == b"attack at dawn"), "plaintext visible in blob");

        let decrypted = open(&client, &blob, None).await.expect("Decrypt without KeyId");
        assert_eq!(decrypted.plaintext.as_bytes(), b"attack at dawn");
        assert_eq!(decrypted.key_id, arn);
        assert_eq!(decrypted.encryption_algorithm, EncryptionAlgorithm::SymmetricDefault);
        for named in &forms {
            let request = DecryptRequest { key_id: Some(named.clone()), ..decrypt_request(&blob) };
            let decrypted = client.decrypt(&request).await.expect("Decrypt naming the key");
            assert_eq!(decrypted.plaintext.as_bytes(), b"attack at dawn", "Decrypt naming {named}");
            assert_eq!(decrypted.key_id, arn, "Decrypt naming {named}");
        }
        blobs.insert(blob);
    }
    assert_eq!(blobs.len(), forms.len(), "every encryption uses a fresh nonce");
    node.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn encrypt_takes_1_to_4096_bytes_and_an_explicit_symmetric_default() {
    let (node, client) = start().await;
    let key_id = create_key(&client).await.key_id;
    for length in [1usize, 4096] {
        let plaintext: Vec<u8> = (0..length).map(|i| (i * 7 % 251) as u8).collect();
        let request = EncryptRequest {
            encryption_algorithm: Some("SYMMETRIC_DEFAULT".into()),
            ..encrypt_request(&key_id, &plaintext)
        };
        let blob = client.encrypt(&request).await.expect("Encrypt").ciphertext_blob.0.clone();
        assert_eq!(blob.len(), overhead_bytes() + length);
        let request = DecryptRequest {
            encryption_algorithm: Some("SYMMETRIC_DEFAULT".into()),
            ..decrypt_request(&blob)
        };
        assert_eq!(client.decrypt(&request).await.expect("Decrypt").plaintext.as_bytes(), plaintext);
    }
    let error = refused(client.encrypt(&encrypt_request(&key_id, b"")).await, ErrorCode::Validation);
    assert!(error.message.contains("'plaintext'"), "{}", error.message);
    let error = refused(client.encrypt(&encrypt_request(&key_id, &[0; 4097])).await, ErrorCode::Validation);
    assert!(error.message.contains("less than or equal to 4096"), "{}", error.message);
    node.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_encryption_context_must_match_exactly() {
    let (node, client) = start().await;
    let key_id = create_key(&client).await.key_id;
    let bound = context(&[("tenant", "acme"), ("purpose", "invoice")]);
    let blob = seal(&client, &key_id, b"secret", bound.clone()).await;
    assert_eq!(open(&client, &blob, bound).await.expect("same context").plaintext.as_bytes(), b"secret");

    // Order of the pairs on the wire does not matter: the context is a map.
    let reordered = json!({
        "CiphertextBlob": b64(&blob),
        "EncryptionContext": {"tenant": "acme", "purpose": "invoice"},
    });
    let answer = call_json(&client, "Decrypt", reordered).await.expect("pairs in another order");
    assert_eq!(answer["Plaintext"], b64(b"secret"));

    let wrong = [
        None,
        context(&[]),
        context(&[("tenant", "acme")]),
        context(&[("tenant", "acme"), ("purpose", "invoice"), ("extra", "")]),
        context(&[("tenant", "acme"), ("purpose", "Invoice")]),
        context(&[("tenant", "acme"), ("Purpose", "invoice")]),
        context(&[("acme", "tenant"), ("invoice", "purpose")]),
        context(&[("tenant", "acmepurpose"), ("", "invoice")]),
    ];
    for other in wrong {
        let shown = format!("{other:?}");
        match open(&client, &blob, other).await {
            Err(ClientError::Api(error)) if error.code == ErrorCode::InvalidCiphertext => {}
            result => panic!("Decrypt with context {shown}: expected InvalidCiphertext, got {result:?}"),
        }
    }

    // No context when encrypting: any context when decrypting is a mismatch.
    let bare = seal(&client, &key_id, b"bare", None).await;
    assert_eq!(open(&client, &bare, context(&[])).await.expect("empty = none").plaintext.as_bytes(), b"bare");
    refused(open(&client, &bare, context(&[("a", "b")])).await, ErrorCode::InvalidCiphertext);
    let empty_value = seal(&client, &key_id, b"x", context(&[("a", "")])).await;
    refused(open(&client, &empty_value, None).await, ErrorCode::InvalidCiphertext);

    // Keys and values may total 8192 bytes.
    let largest = context(&[("k", &"v".repeat(8191))]);
    let blob = seal(&client, &key_id, b"x", largest.clone()).await;
    open(&client, &blob, largest).await.expect("8192-byte context");
    let request = EncryptRequest {
        encryption_context: context(&[("k", &"v".repeat(8192))]),
        ..encrypt_request(&key_id, b"x")
    };
    refused(client.encrypt(&request).await, ErrorCode::Validation);
    node.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_byte_of_a_blob_is_authenticated() {
    let (node, client) = start().await;
    let key_id = create_key(&client).await.key_id;
    let ctx = context(&[("k", "v")]);
    let blob = seal(&client, &key_id, b"0123456789", ctx.clone()).await;
    assert_eq!(blob.len(), overhead_bytes() + 10);
    let header_bytes = format().header_bytes();
    let region = |index: usize| match index {
        0 => "format version",
        1..=16 => "key id",
        17..=20 => "material version",
        i if i < header_bytes => "salt",
        i if i < header_bytes + 12 => "nonce",
        i if i < blob.len() - TAG_BYTES => "ciphertext",
        _ => "tag",
    };
    for flip in [0x01u8, 0x80] {
        for index in 0..blob.len() {
            let mut forged = blob.clone();
            forged[index] ^= flip;
            match open(&client, &forged, ctx.clone()).await {
                Err(ClientError::Api(error)) if error.code == ErrorCode::InvalidCiphertext => {}
                other => panic!(
                    "byte {index} ({}) ^ {flip:#04x}: expected InvalidCiphertext, got {other:?}",
                    region(index)
                ),
            }
        }
    }
    // The original still opens: the refusals above were the forgeries'.
    assert_eq!(open(&client, &blob, ctx).await.expect("original").plaintext.as_bytes(), b"0123456789");
    node.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn truncated_extended_and_garbage_blobs_are_invalid_ciphertext() {
    let (node, client) = start().await;
    let key_id = create_key(&client).await.key_id;
    let blob = seal(&client, &key_id, b"0123456789", None).await;
    for length in 1..blob.len() {
        match open(&client, &blob[..length], None).await {
            Err(ClientError::Api(error)) if error.code == ErrorCode::InvalidCiphertext => {}
            other => panic!("blob cut to {length} bytes: expected InvalidCiphertext, got {other:?}"),
        }
    }
    let error = refused(open(&client, &[], None).await, ErrorCode::Validation);
    assert!(error.message.contains("'ciphertextBlob'"), "{}", error.message);
    let mut extended = blob.clone();
    extended.push(0);
    refused(open(&client, &extended, None).await, ErrorCode::InvalidCiphertext);
    // An empty plaintext cannot be encrypted, but a well-formed header with nothing after it
    // and a blob of random bytes are both just invalid.
    let mut header_only = blob[..overhead_bytes()].to_vec();
    let last = header_only.len() - 1;
    header_only[last] ^= 1;
    refused(open(&client, &header_only, None).await, ErrorCode::InvalidCiphertext);
    let garbage: Vec<u8> = (0..100u8).map(|i| i.wrapping_mul(37)).collect();
    refused(open(&client, &garbage, None).await, ErrorCode::InvalidCiphertext);
    // The largest ciphertext the API accepts is read, and is invalid.
    let mut largest = blob.clone();
    largest.resize(6144, 0xAB);
    refused(open(&client, &largest, None).await, ErrorCode::InvalidCiphertext);
    let mut too_large = blob.clone();
    too_large.resize(6145, 0xAB);
    refused(open(&client, &too_large, None).await, ErrorCode::Validation);
    open(&client, &blob, None).await.expect("the original opens");
    node.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_blob_naming_an_unknown_or_another_key_is_invalid_ciphertext() {
    let (node, client) = start().await;
    let first = create_key(&client).await.key_id;
    let second = create_key(&client).await.key_id;
    let blob = seal(&client, &first, b"payload", None).await;

    let mut unknown = blob.clone();
    unknown[1..17].copy_from_slice(uuid::Uuid::new_v4().as_bytes());
    refused(open(&client, &unknown, None).await, ErrorCode::InvalidCiphertext);

    // Header rewritten to name another real key: that key's material does not open it.
    let mut moved = blob.clone();
    moved[1..17].copy_from_slice(&key_id_bytes(&second));
    refused(open(&client, &moved, None).await, ErrorCode::InvalidCiphertext);
    let request = DecryptRequest { key_id: Some(second.clone()), ..decrypt_request(&moved) };
    refused(client.decrypt(&request).await, ErrorCode::InvalidCiphertext);

    // Material versions that do not exist.
    for version in [0u32, 2, u32::MAX] {
        let mut other_version = blob.clone();
        other_version[17..21].copy_from_slice(&version.to_be_bytes());
        refused(open(&client, &other_version, None).await, ErrorCode::InvalidCiphertext);
    }
    open(&client, &blob, None).await.expect("the original opens");
    node.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn decrypt_naming_another_key_is_incorrect_key() {
    let (node, client) = start().await;
    let first = create_key(&client).await.key_id;
    let second = create_key(&client).await.key_id;
    client.create_alias(&alias("alias/second", &second)).await.expect("CreateAlias");
    let blob = seal(&client, &first, b"payload", None).await;
    for named in [second.clone(), key_arn(&second), "alias/second".to_owned(), alias_arn("alias/second")] {
        let request = DecryptRequest { key_id: Some(named.clone()), ..decrypt_request(&blob) };
        match client.decrypt(&request).await {
            Err(ClientError::Api(error)) if error.code == ErrorCode::IncorrectKey => {}
            other => panic!("Decrypt naming {named}: expected IncorrectKey, got {other:?}"),
        }
    }
    let missing = uuid::Uuid::new_v4().to_string();
    for named in [missing.clone(), key_arn(&missing), "alias/none".to_owned(), alias_arn("alias/none")] {
        let request = DecryptRequest { key_id: Some(named.clone()), ..decrypt_request(&blob) };
        match client.decrypt(&request).await {
            Err(ClientError::Api(error)) if error.code == ErrorCode::NotFound => {}
            other => panic!("Decrypt naming {named}: expected NotFound, got {other:?}"),
        }
    }
    node.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_and_malformed_key_ids_are_not_found() {
    let (node, client) = start().await;
    let real = create_key(&client).await.key_id;
    let missing = uuid::Uuid::new_v4().to_string();
    let foreign = format!("arn:aws:kms:eu-west-1:{ACCOUNT}:key/{real}");
    let other_account = format!("arn:aws:kms:{REGION}:444455556666:key/{real}");
    let blob = seal(&client, &real, b"payload", None).await;
    for key_id in [
        missing.clone(),
        key_arn(&missing),
        "alias/none".to_owned(),
        alias_arn("alias/none"),
        "not-a-key".to_owned(),
        foreign,
        other_account,
    ] {
        let expect_not_found = |what: &str, result: Result<(), ClientError>| match result {
            Err(ClientError::Api(error)) if error.code == ErrorCode::NotFound => {}
            other => panic!("{what} with {key_id}: expected NotFound, got {other:?}"),
        };
        expect_not_found("Encrypt", client.encrypt(&encrypt_request(&key_id, b"x")).await.map(drop));
        let request = data_key_request(&key_id, Some("AES_256"), None);
        expect_not_found("GenerateDataKey", client.generate_data_key(&request).await.map(drop));
        expect_not_found(
            "GenerateDataKeyWithoutPlaintext",
            client.generate_data_key_without_plaintext(&request).await.map(drop),
        );
        expect_not_found("ReEncrypt", client.re_encrypt(&re_encrypt_request(&blob, &key_id)).await.map(drop));
    }
    for empty in [
        client.encrypt(&encrypt_request("", b"x")).await.map(drop),
        client.generate_data_key(&data_key_request("", Some("AES_256"), None)).await.map(drop),
        client.re_encrypt(&re_encrypt_request(&blob, "")).await.map(drop),
    ] {
        refused(empty, ErrorCode::Validation);
    }
    node.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_symmetric_default_is_a_valid_algorithm() {
    let (node, client) = start().await;
    let key_id = create_key(&client).await.key_id;
    let blob = seal(&client, &key_id, b"payload", None).await;
    for algorithm in ["RSAES_OAEP_SHA_1", "RSAES_OAEP_SHA_256"] {
        let some = Some(algorithm.to_owned());
        let request = EncryptRequest { encryption_algorithm: some.clone(), ..encrypt_request(&key_id, b"x") };
        refused(client.encrypt(&request).await, ErrorCode::InvalidKeyUsage);
        let request = DecryptRequest { encryption_algorithm: some.clone(), ..decrypt_request(&blob) };
        refused(client.decrypt(&request).await, ErrorCode::InvalidKeyUsage);
        let request = ReEncryptRequest {
            source_encryption_algorithm: some.clone(),
            ..re_encrypt_request(&blob, &key_id)
        };
        refused(client.re_encrypt(&request).await, ErrorCode::InvalidKeyUsage);
        let request = ReEncryptRequest {
            destination_encryption_algorithm: some.clone(),
            ..re_encrypt_request(&blob, &key_id)
        };
        refused(client.re_encrypt(&request).await, ErrorCode::InvalidKeyUsage);
    }
    // Not an algorithm at all: a validation error listing the valid ones.
    let request =
        EncryptRequest { encryption_algorithm: Some("AES_GCM".into()), ..encrypt_request(&key_id, b"x") };
    let error = refused(client.encrypt(&request).await, ErrorCode::Validation);
    assert!(error.message.contains("SYMMETRIC_DEFAULT"), "{}", error.message);
    let request = DecryptRequest { encryption_algorithm: Some("AES_GCM".into()), ..decrypt_request(&blob) };
    refused(client.decrypt(&request).await, ErrorCode::Validation);
    node.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recipient_attestation_is_unsupported() {
    let (node, client) = start().await;
    let key_id = create_key(&client).await.key_id;
    let blob = seal(&client, &key_id, b"payload", None).await;
    let recipient =
        Some(json!({"KeyEncryptionAlgorithm": "RSAES_OAEP_SHA_256", "AttestationDocument": "AA=="}));
    let request = DecryptRequest { recipient: recipient.clone(), ..decrypt_request(&blob) };
    refused(client.decrypt(&request).await, ErrorCode::UnsupportedOperation);
    let request = GenerateDataKeyRequest {
        recipient: recipient.clone(),
        ..data_key_request(&key_id, Some("AES_256"), None)
    };
    refused(client.generate_data_key(&request).await, ErrorCode::UnsupportedOperation);
    let request = GenerateRandomRequest { number_of_bytes: Some(16), recipient, ..Default::default() };
    refused(client.generate_random(&request).await, ErrorCode::UnsupportedOperation);
    node.stop().await;
}

// ---------------------------------------------------------------------------------------------
// ReEncrypt
// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn re_encrypt_moves_a_blob_to_another_key_and_context() {
    let (node, client) = start().await;
    let source = create_key(&client).await.key_id;
    let destination = create_key(&client).await.key_id;
    client.create_alias(&alias("alias/destination", &destination)).await.expect("CreateAlias");
    client.create_alias(&alias("alias/source", &source)).await.expect("CreateAlias");
    let old_context = context(&[("stage", "old")]);
    let new_context = context(&[("stage", "new")]);
    let blob = seal(&client, &source, b"moving data", old_context.clone()).await;

    let destination_forms = [
        destination.clone(),
        key_arn(&destination),
        "alias/destination".into(),
        alias_arn("alias/destination"),
    ];
    let source_forms = [
        None,
        Some(source.clone()),
        Some(key_arn(&source)),
        Some("alias/source".into()),
        Some(alias_arn("alias/source")),
    ];
    for (index, source_form) in source_forms.into_iter().enumerate() {
        let destination_form = destination_forms[index % destination_forms.len()].clone();
        let request = ReEncryptRequest {
            source_encryption_context: old_context.clone(),
            destination_encryption_context: new_context.clone(),
            source_key_id: source_form,
            ..re_encrypt_request(&blob, &destination_form)
        };
        let moved = client.re_encrypt(&request).await.expect("ReEncrypt");
        assert_eq!(moved.source_key_id, key_arn(&source), "via {destination_form}");
        assert_eq!(moved.key_id, key_arn(&destination), "via {destination_form}");
        assert_eq!(moved.source_encryption_algorithm, EncryptionAlgorithm::SymmetricDefault);
        assert_eq!(moved.destination_encryption_algorithm, EncryptionAlgorithm::SymmetricDefault);
        let new_blob = moved.ciphertext_blob.0.clone();
        assert_eq!(new_blob[1..17], key_id_bytes(&destination), "the new blob names the destination");
        let opened = open(&client, &new_blob, new_context.clone()).await.expect("Decrypt the new blob");
        assert_eq!(opened.plaintext.as_bytes(), b"moving data");
        assert_eq!(opened.key_id, key_arn(&destination));
        refused(open(&client, &new_blob, old_context.clone()).await, ErrorCode::InvalidCiphertext);
    }

    // Same key, new context: a new blob, the old one still valid.
    let request = ReEncryptRequest {
        source_encryption_context: old_context.clone(),
        destination_encryption_context: new_context.clone(),
        ..re_encrypt_request(&blob, &source)
    };
    let rewrapped =
        client.re_encrypt(&request).await.expect("ReEncrypt to the same key").ciphertext_blob.0.clone();
    assert_ne!(rewrapped, blob);
    assert_eq!(
        open(&client, &rewrapped, new_context.clone()).await.expect("new").plaintext.as_bytes(),
        b"moving data"
    );
    open(&client, &blob, old_context.clone()).await.expect("the source blob is untouched");

    // The source context must match; the source key, if named, must be the blob's.
    let request = re_encrypt_request(&blob, &destination);
    refused(client.re_encrypt(&request).await, ErrorCode::InvalidCiphertext);
    let request = ReEncryptRequest {
        source_encryption_context: old_context.clone(),
        source_key_id: Some(destination.clone()),
        ..re_encrypt_request(&blob, &destination)
    };
    refused(client.re_encrypt(&request).await, ErrorCode::IncorrectKey);
    let mut forged = blob.clone();
    forged[40] ^= 1;
    let request = ReEncryptRequest {
        source_encryption_context: old_context.clone(),
        ..re_encrypt_request(&forged, &destination)
    };
    refused(client.re_encrypt(&request).await, ErrorCode::InvalidCiphertext);
    let request =
        ReEncryptRequest { source_encryption_context: old_context, ..re_encrypt_request(&[], &destination) };
    refused(client.re_encrypt(&request).await, ErrorCode::Validation);
    node.stop().await;
}

// ---------------------------------------------------------------------------------------------
// GenerateDataKey, GenerateDataKeyWithoutPlaintext, GenerateRandom
// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn generate_data_key_returns_a_key_and_its_blob_in_every_size() {
    let (node, client) = start().await;
    let key_id = create_key(&client).await.key_id;
    client.create_alias(&alias("alias/envelope", &key_id)).await.expect("CreateAlias");
    let ctx = context(&[("bucket", "logs")]);
    let cases: [(Option<&str>, Option<i64>, usize); 5] = [
        (Some("AES_256"), None, 32),
        (Some("AES_128"), None, 16),
        (None, Some(1), 1),
        (None, Some(64), 64),
        (None, Some(1024), 1024),
    ];
    for (index, (key_spec, number_of_bytes, length)) in cases.into_iter().enumerate() {
        let form = [key_id.clone(), key_arn(&key_id), "alias/envelope".into(), alias_arn("alias/envelope")]
            [index % 4]
            .clone();
        let request = GenerateDataKeyRequest {
            encryption_context: ctx.clone(),
            ..data_key_request(&form, key_spec, number_of_bytes)
        };
        let data_key = client.generate_data_key(&request).await.expect("GenerateDataKey");
        assert_eq!(data_key.key_id, key_arn(&key_id), "via {form}");
        assert_eq!(data_key.plaintext.len(), length, "{key_spec:?} {number_of_bytes:?}");
        assert_eq!(data_key.ciphertext_blob.len(), overhead_bytes() + length);
        let opened = open(&client, data_key.ciphertext_blob.as_bytes(), ctx.clone())
            .await
            .expect("Decrypt the data key");
        assert_eq!(opened.plaintext, data_key.plaintext, "the blob holds the returned data key");
        assert_eq!(opened.key_id, key_arn(&key_id));
        refused(open(&client, data_key.ciphertext_blob.as_bytes(), None).await, ErrorCode::InvalidCiphertext);
    }
    let request = data_key_request(&key_id, Some("AES_256"), None);
    let first = client.generate_data_key(&request).await.expect("GenerateDataKey");
    let second = client.generate_data_key(&request).await.expect("GenerateDataKey");
    assert_ne!(first.plaintext, second.plaintext, "data keys are random");
    assert_ne!(first.plaintext.as_bytes(), [0u8; 32]);

    // The JSON names the fields as AWS does.
    let answer =
        call_json(&client, "GenerateDataKey", json!({"KeyId": "alias/envelope", "KeySpec": "AES_128"}))
            .await
            .expect("GenerateDataKey");
    assert_eq!(answer["KeyId"], key_arn(&key_id));
    assert!(answer["Plaintext"].is_string() && answer["CiphertextBlob"].is_string(), "{answer}");
    node.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn generate_data_key_without_plaintext_returns_only_the_blob() {
    let (node, client) = start().await;
    let key_id = create_key(&client).await.key_id;
    let ctx = context(&[("purpose", "later")]);
    for (key_spec, number_of_bytes, length) in
        [(Some("AES_256"), None, 32), (Some("AES_128"), None, 16), (None, Some(100), 100)]
    {
        let request = GenerateDataKeyRequest {
            encryption_context: ctx.clone(),
            ..data_key_request(&key_id, key_spec, number_of_bytes)
        };
        let data_key = client.generate_data_key_without_plaintext(&request).await.expect("WithoutPlaintext");
        assert_eq!(data_key.key_id, key_arn(&key_id));
        let opened = open(&client, data_key.ciphertext_blob.as_bytes(), ctx.clone()).await.expect("Decrypt");
        assert_eq!(opened.plaintext.len(), length);
    }
    let answer =
        call_json(&client, "GenerateDataKeyWithoutPlaintext", json!({"KeyId": key_id, "KeySpec": "AES_256"}))
            .await
            .expect("GenerateDataKeyWithoutPlaintext");
    let fields: BTreeSet<&str> = answer.as_object().expect("object").keys().map(String::as_str).collect();
    assert_eq!(fields, BTreeSet::from(["CiphertextBlob", "KeyId"]), "no plaintext in {answer}");
    node.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn generate_data_key_needs_exactly_one_valid_size() {
    let (node, client) = start().await;
    let key_id = create_key(&client).await.key_id;
    let invalid: [(Option<&str>, Option<i64>); 8] = [
        (None, None),
        (Some("AES_256"), Some(32)),
        (Some("AES_512"), None),
        (Some("aes_256"), None),
        (Some(""), None),
        (None, Some(0)),
        (None, Some(1025)),
        (None, Some(-1)),
    ];
    for (key_spec, number_of_bytes) in invalid {
        let request = data_key_request(&key_id, key_spec, number_of_bytes);
        match client.generate_data_key(&request).await {
            Err(ClientError::Api(error)) if error.code == ErrorCode::Validation => {}
            other => {
                panic!("GenerateDataKey {key_spec:?} {number_of_bytes:?}: expected Validation, got {other:?}")
            }
        }
        match client.generate_data_key_without_plaintext(&request).await {
            Err(ClientError::Api(error)) if error.code == ErrorCode::Validation => {}
            other => panic!(
                "WithoutPlaintext {key_spec:?} {number_of_bytes:?}: expected Validation, got {other:?}"
            ),
        }
    }
    let error = refused(
        client.generate_data_key(&data_key_request(&key_id, Some("AES_512"), None)).await,
        ErrorCode::Validation,
    );
    assert!(error.message.contains("AES_256") && error.message.contains("AES_128"), "{}", error.message);
    let error = refused(
        client.generate_data_key(&data_key_request(&key_id, None, Some(1025))).await,
        ErrorCode::Validation,
    );
    assert!(error.message.contains("numberOfBytes"), "{}", error.message);
    node.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn generate_random_returns_1_to_1024_random_bytes() {
    let (node, client) = start().await;
    let random = |count: Option<i64>| GenerateRandomRequest { number_of_bytes: count, ..Default::default() };
    for length in [1usize, 32, 1024] {
        let answer = client.generate_random(&random(Some(length as i64))).await.expect("GenerateRandom");
        assert_eq!(answer.plaintext.len(), length);
    }
    let first = client.generate_random(&random(Some(32))).await.expect("GenerateRandom").plaintext;
    let second = client.generate_random(&random(Some(32))).await.expect("GenerateRandom").plaintext;
    assert_ne!(first, second, "random bytes repeat");
    assert_ne!(first.as_bytes(), [0u8; 32]);
    for count in [None, Some(0), Some(1025), Some(-5)] {
        match client.generate_random(&random(count)).await {
            Err(ClientError::Api(error)) if error.code == ErrorCode::Validation => {}
            other => panic!("GenerateRandom {count:?}: expected Validation, got {other:?}"),
        }
    }
    let request = GenerateRandomRequest { custom_key_store_id: Some("cks-1234".into()), ..random(Some(16)) };
    refused(client.generate_random(&request).await, ErrorCode::UnsupportedOperation);
    node.stop().await;
}

// ---------------------------------------------------------------------------------------------
// DryRun
// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dry_run_checks_everything_and_answers_dry_run_operation() {
    let (node, client) = start().await;
    let key_id = create_key(&client).await.key_id;
    let other = create_key(&client).await.key_id;
    let blob = seal(&client, &key_id, b"payload", None).await;
    let dry = Some(true);

    let expect_dry_run = |operation: &str, result: Result<(), ClientError>| match result {
        Err(ClientError::Api(error)) if error.code == ErrorCode::DryRunOperation => {}
        other => panic!("{operation} with DryRun: expected DryRunOperation, got {other:?}"),
    };
    expect_dry_run(
        "Encrypt",
        client.encrypt(&EncryptRequest { dry_run: dry, ..encrypt_request(&key_id, b"x") }).await.map(drop),
    );
    expect_dry_run(
        "Decrypt",
        client.decrypt(&DecryptRequest { dry_run: dry, ..decrypt_request(&blob) }).await.map(drop),
    );
    expect_dry_run(
        "ReEncrypt",
        client
            .re_encrypt(&ReEncryptRequest { dry_run: dry, ..re_encrypt_request(&blob, &other) })
            .await
            .map(drop),
    );
    let request = GenerateDataKeyRequest { dry_run: dry, ..data_key_request(&key_id, Some("AES_256"), None) };
    expect_dry_run("GenerateDataKey", client.generate_data_key(&request).await.map(drop));
    expect_dry_run(
        "GenerateDataKeyWithoutPlaintext",
        client.generate_data_key_without_plaintext(&request).await.map(drop),
    );

    // On the wire: 412 with AWS's type name, for each operation.
    let endpoint = node.endpoint.clone();
    let signing = node.signing.clone();
    for (operation, body) in [
        ("Encrypt", json!({"KeyId": key_id, "Plaintext": b64(b"x"), "DryRun": true})),
        ("Decrypt", json!({"CiphertextBlob": b64(&blob), "DryRun": true})),
        ("ReEncrypt", json!({"CiphertextBlob": b64(&blob), "DestinationKeyId": other, "DryRun": true})),
        ("GenerateDataKey", json!({"KeyId": key_id, "NumberOfBytes": 8, "DryRun": true})),
        ("GenerateDataKeyWithoutPlaintext", json!({"KeyId": key_id, "NumberOfBytes": 8, "DryRun": true})),
    ] {
        let answer = raw_call(&endpoint, &signing, operation, &body).await;
        assert_eq!(answer.0, 412, "{operation}: {answer:?}");
        assert_eq!(answer.1["__type"], "DryRunOperationException", "{operation}: {answer:?}");
        assert!(
            answer.1.get("Plaintext").is_none() && answer.1.get("CiphertextBlob").is_none(),
            "{answer:?}"
        );
    }

    // DryRun false is an ordinary call.
    client
        .encrypt(&EncryptRequest { dry_run: Some(false), ..encrypt_request(&key_id, b"x") })
        .await
        .expect("DryRun false");

    // DryRun does not hide a failure: the error the call would have had comes first.
    let request = DecryptRequest { dry_run: dry, key_id: Some(other.clone()), ..decrypt_request(&blob) };
    refused(client.decrypt(&request).await, ErrorCode::IncorrectKey);
    let mut forged = blob.clone();
    forged[30] ^= 1;
    refused(
        client.decrypt(&DecryptRequest { dry_run: dry, ..decrypt_request(&forged) }).await,
        ErrorCode::InvalidCiphertext,
    );
    let missing = uuid::Uuid::new_v4().to_string();
    refused(
        client.encrypt(&EncryptRequest { dry_run: dry, ..encrypt_request(&missing, b"x") }).await,
        ErrorCode::NotFound,
    );
    let request = GenerateDataKeyRequest { dry_run: dry, ..data_key_request(&key_id, None, None) };
    refused(client.generate_data_key(&request).await, ErrorCode::Validation);
    client.disable_key(&key(&other)).await.expect("DisableKey");
    refused(
        client.re_encrypt(&ReEncryptRequest { dry_run: dry, ..re_encrypt_request(&blob, &other) }).await,
        ErrorCode::Disabled,
    );
    client.disable_key(&key(&key_id)).await.expect("DisableKey");
    refused(
        client.encrypt(&EncryptRequest { dry_run: dry, ..encrypt_request(&key_id, b"x") }).await,
        ErrorCode::Disabled,
    );
    refused(
        client.decrypt(&DecryptRequest { dry_run: dry, ..decrypt_request(&blob) }).await,
        ErrorCode::Disabled,
    );
    node.stop().await;
}

// ---------------------------------------------------------------------------------------------
// Key states
// ---------------------------------------------------------------------------------------------

/// Every key-dependent operation with `target` in every role, each expected to fail with
/// `expected`; `blob` was made under `target`, `other` is an enabled key.
async fn assert_unusable(client: &TrentClient, target: &str, other: &str, blob: &[u8], expected: ErrorCode) {
    let other_blob = seal(client, other, b"other", None).await;
    let results: Vec<(&str, Result<(), ClientError>)> = vec![
        ("Encrypt", client.encrypt(&encrypt_request(target, b"x")).await.map(drop)),
        ("Decrypt", open(client, blob, None).await.map(drop)),
        (
            "Decrypt naming the key",
            client
                .decrypt(&DecryptRequest { key_id: Some(target.to_owned()), ..decrypt_request(blob) })
                .await
                .map(drop),
        ),
        ("ReEncrypt from the key", client.re_encrypt(&re_encrypt_request(blob, other)).await.map(drop)),
        ("ReEncrypt to the key", client.re_encrypt(&re_encrypt_request(&other_blob, target)).await.map(drop)),
        (
            "GenerateDataKey",
            client.generate_data_key(&data_key_request(target, Some("AES_256"), None)).await.map(drop),
        ),
        (
            "GenerateDataKeyWithoutPlaintext",
            client
                .generate_data_key_without_plaintext(&data_key_request(target, None, Some(16)))
                .await
                .map(drop),
        ),
    ];
    for (operation, result) in results {
        match result {
            Err(ClientError::Api(error)) if error.code == expected => {
                assert!(error.message.contains(&key_arn(target)), "{operation}: {}", error.message);
            }
            other => panic!("{operation}: expected {expected}, got {other:?}"),
        }
    }
    // Keyless operations and other keys are unaffected.
    let random = GenerateRandomRequest { number_of_bytes: Some(8), ..Default::default() };
    client.generate_random(&random).await.expect("GenerateRandom needs no key");
    open(client, &other_blob, None).await.expect("another key still decrypts");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_disabled_key_refuses_every_operation_until_enabled() {
    let (node, client) = start().await;
    let key_id = create_key(&client).await.key_id;
    let other = create_key(&client).await.key_id;
    let blob = seal(&client, &key_id, b"kept", None).await;
    let data_key =
        client.generate_data_key(&data_key_request(&key_id, Some("AES_256"), None)).await.expect("GDK");

    client.disable_key(&key(&key_id)).await.expect("DisableKey");
    assert_unusable(&client, &key_id, &other, &blob, ErrorCode::Disabled).await;
    refused(open(&client, data_key.ciphertext_blob.as_bytes(), None).await, ErrorCode::Disabled);

    client.enable_key(&key(&key_id)).await.expect("EnableKey");
    assert_eq!(open(&client, &blob, None).await.expect("Decrypt after enable").plaintext.as_bytes(), b"kept");
    let opened =
        open(&client, data_key.ciphertext_blob.as_bytes(), None).await.expect("data key after enable");
    assert_eq!(opened.plaintext, data_key.plaintext);
    client.encrypt(&encrypt_request(&key_id, b"x")).await.expect("Encrypt after enable");
    node.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_pending_deletion_refuses_with_invalid_state() {
    let (node, client) = start().await;
    let key_id = create_key(&client).await.key_id;
    let other = create_key(&client).await.key_id;
    let blob = seal(&client, &key_id, b"kept", None).await;

    client.schedule_key_deletion(&schedule(&key_id, Some(7))).await.expect("ScheduleKeyDeletion");
    assert_eq!(describe(&client, &key_id).await.key_state, KeyState::PendingDeletion);
    assert_unusable(&client, &key_id, &other, &blob, ErrorCode::InvalidState).await;

    // Cancelling leaves the key disabled, as in AWS; enabling brings it back.
    client
        .cancel_key_deletion(&KeyIdRequest { key_id: key_id.clone(), grant_tokens: None })
        .await
        .expect("Cancel");
    assert_eq!(describe(&client, &key_id).await.key_state, KeyState::Disabled);
    refused(open(&client, &blob, None).await, ErrorCode::Disabled);
    client.enable_key(&key(&key_id)).await.expect("EnableKey");
    assert_eq!(open(&client, &blob, None).await.expect("Decrypt after enable").plaintext.as_bytes(), b"kept");
    node.stop().await;
}

// ---------------------------------------------------------------------------------------------
// Raw JSON: what the typed client cannot send
// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_fields_are_serialization_errors() {
    let (node, client) = start().await;
    let key_id = create_key(&client).await.key_id;
    let blob = b64(&seal(&client, &key_id, b"payload", None).await);
    let cases: Vec<(&str, Value)> = vec![
        ("Encrypt", json!({"KeyId": key_id, "Plaintext": 5})),
        ("Encrypt", json!({"KeyId": key_id, "Plaintext": ["aGk="]})),
        ("Encrypt", json!({"KeyId": key_id, "Plaintext": "not base64!"})),
        ("Encrypt", json!({"KeyId": key_id, "Plaintext": "aGk"})),
        ("Encrypt", json!({"KeyId": 7, "Plaintext": "aGk="})),
        ("Encrypt", json!({"KeyId": key_id, "Plaintext": "aGk=", "EncryptionContext": {"a": 1}})),
        ("Encrypt", json!({"KeyId": key_id, "Plaintext": "aGk=", "EncryptionContext": "a=b"})),
        ("Encrypt", json!({"KeyId": key_id, "Plaintext": "aGk=", "GrantTokens": "token"})),
        ("Encrypt", json!({"KeyId": key_id, "Plaintext": "aGk=", "DryRun": "yes"})),
        ("Encrypt", json!({"KeyId": key_id, "Plaintext": "aGk=", "EncryptionAlgorithm": 1})),
        ("Decrypt", json!({"CiphertextBlob": "%%%"})),
        ("Decrypt", json!({"CiphertextBlob": {"bytes": blob}})),
        ("Decrypt", json!({"CiphertextBlob": blob, "KeyId": false})),
        ("ReEncrypt", json!({"CiphertextBlob": "@@", "DestinationKeyId": key_id})),
        (
            "ReEncrypt",
            json!({"CiphertextBlob": blob, "DestinationKeyId": key_id, "SourceEncryptionContext": [1]}),
        ),
        ("GenerateDataKey", json!({"KeyId": key_id, "NumberOfBytes": "32"})),
        ("GenerateDataKey", json!({"KeyId": key_id, "NumberOfBytes": 1.5})),
        ("GenerateDataKey", json!({"KeyId": key_id, "KeySpec": 256})),
        ("GenerateDataKeyWithoutPlaintext", json!({"KeyId": key_id, "NumberOfBytes": true})),
        ("GenerateRandom", json!({"NumberOfBytes": "16"})),
    ];
    for (operation, body) in cases {
        refused_json(&client, operation, body, ErrorCode::Serialization).await;
    }
    node.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn out_of_range_and_missing_fields_are_validation_errors() {
    let (node, client) = start().await;
    let key_id = create_key(&client).await.key_id;
    let blob = b64(&seal(&client, &key_id, b"payload", None).await);
    let eleven: Vec<String> = (0..11).map(|i| format!("token-{i}")).collect();
    // Ten real grant tokens (a token this cluster did not issue is InvalidGrantTokenException).
    let grant = json!({"KeyId": key_id, "GranteePrincipal": "arn:aws:iam::111122223333:user/admin", "Operations": ["Encrypt"]});
    let token = call_json(&client, "CreateGrant", grant).await.expect("CreateGrant")["GrantToken"].clone();
    let ten: Vec<Value> = (0..10).map(|_| token.clone()).collect();
    let cases: Vec<(&str, Value)> = vec![
        ("Encrypt", json!({"KeyId": key_id, "Plaintext": b64(&[7; 4097])})),
        ("Encrypt", json!({"KeyId": key_id, "Plaintext": ""})),
        ("Encrypt", json!({"KeyId": key_id})),
        ("Encrypt", json!({"Plaintext": "aGk="})),
        ("Encrypt", json!({"KeyId": key_id, "Plaintext": "aGk=", "GrantTokens": eleven})),
        ("Encrypt", json!({"KeyId": key_id, "Plaintext": "aGk=", "GrantTokens": [""]})),
        ("Encrypt", json!({"KeyId": key_id, "Plaintext": "aGk=", "GrantTokens": ["x".repeat(8193)]})),
        ("Decrypt", json!({"CiphertextBlob": b64(&[7; 6145])})),
        ("Decrypt", json!({"CiphertextBlob": ""})),
        ("Decrypt", json!({})),
        ("Decrypt", json!({"CiphertextBlob": blob, "GrantTokens": eleven})),
        ("ReEncrypt", json!({"CiphertextBlob": b64(&[7; 6145]), "DestinationKeyId": key_id})),
        ("ReEncrypt", json!({"CiphertextBlob": blob})),
        ("ReEncrypt", json!({"CiphertextBlob": blob, "DestinationKeyId": key_id, "GrantTokens": eleven})),
        ("GenerateDataKey", json!({"KeyId": key_id, "NumberOfBytes": 0})),
        ("GenerateDataKey", json!({"KeyId": key_id, "NumberOfBytes": 1025})),
        ("GenerateDataKey", json!({"KeyId": key_id})),
        ("GenerateDataKey", json!({"KeySpec": "AES_256"})),
        ("GenerateDataKey", json!({"KeyId": key_id, "KeySpec": "AES_256", "GrantTokens": eleven})),
        ("GenerateDataKeyWithoutPlaintext", json!({"KeyId": key_id, "NumberOfBytes": 0})),
        ("GenerateDataKeyWithoutPlaintext", json!({"KeyId": key_id, "NumberOfBytes": 1025})),
        (
            "GenerateDataKeyWithoutPlaintext",
            json!({"KeyId": key_id, "KeySpec": "AES_256", "GrantTokens": eleven}),
        ),
        ("GenerateRandom", json!({"NumberOfBytes": 0})),
        ("GenerateRandom", json!({"NumberOfBytes": 1025})),
        ("GenerateRandom", json!({})),
    ];
    for (operation, body) in cases {
        refused_json(&client, operation, body, ErrorCode::Validation).await;
    }

    // The limits themselves are accepted.
    let at_limits: Vec<(&str, Value)> = vec![
        ("Encrypt", json!({"KeyId": key_id, "Plaintext": b64(&[7; 4096]), "GrantTokens": ten})),
        ("Decrypt", json!({"CiphertextBlob": blob, "GrantTokens": ten})),
        ("ReEncrypt", json!({"CiphertextBlob": blob, "DestinationKeyId": key_id, "GrantTokens": ten})),
        ("GenerateDataKey", json!({"KeyId": key_id, "NumberOfBytes": 1024, "GrantTokens": ten})),
        ("GenerateDataKeyWithoutPlaintext", json!({"KeyId": key_id, "NumberOfBytes": 1, "GrantTokens": ten})),
        ("GenerateRandom", json!({"NumberOfBytes": 1024})),
    ];
    for (operation, body) in at_limits {
        call_json(&client, operation, body)
            .await
            .unwrap_or_else(|error| panic!("{operation} at its limits: {error}"));
    }

    // A blob of 6144 bytes passes the length check and is judged as a blob.
    refused_json(
        &client,
        "Decrypt",
        json!({"CiphertextBlob": b64(&[7; 6144])}),
        ErrorCode::InvalidCiphertext,
    )
    .await;

    // Status codes on the wire: 400 for client errors.
    let answer =
        raw_call(&node.endpoint, &node.signing, "Encrypt", &json!({"KeyId": key_id, "Plaintext": 5})).await;
    assert_raw_error(&answer, 400, "SerializationException");
    let answer =
        raw_call(&node.endpoint, &node.signing, "GenerateRandom", &json!({"NumberOfBytes": 1025})).await;
    assert_raw_error(&answer, 400, "ValidationException");
    let answer =
        raw_call(&node.endpoint, &node.signing, "Decrypt", &json!({"CiphertextBlob": b64(&[1; 60])})).await;
    assert_raw_error(&answer, 400, "InvalidCiphertextException");
    node.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_single_node_serves_crypto_from_the_start() {
    // A lone voter is its own quorum: it never refuses for freshness, even right after start.
    let node = InProcessNode::start().await;
    let client = node.client();
    let key_id = create_key(&client).await.key_id;
    for _ in 0..20 {
        let blob = seal(&client, &key_id, b"x", None).await;
        open(&client, &blob, None).await.expect("Decrypt");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    node.stop().await;
}
