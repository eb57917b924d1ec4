//! Bring-your-own-key import end to end, through the typed client: every wrapping algorithm
//! with every wrapping key size, material of each kind (symmetric, HMAC, RSA, ECC) working
//! once imported, deletion and re-import restoring old ciphertexts, and each way an import is
//! refused (other material, a bad wrap, material of the wrong kind, a token of another key, an
//! unknown token). The cluster behaviour (every node, the clock, the disk) is in
//! `import_cluster.rs`.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a panic in a test is a failed test

mod support;

use support::kms::*;
use trent_client::wire::data_plane::{DecryptRequest, EncryptRequest};
use trent_client::wire::import::{
    DeleteImportedKeyMaterialRequest, GetParametersForImportRequest, GetParametersForImportResponse,
    ImportKeyMaterialRequest,
};
use trent_client::wire::kms::CreateKeyRequest;
use trent_client::TrentClient;
use trent_wire::asymmetric::{
    GenerateMacRequest, GetPublicKeyRequest, SignRequest, VerifyMacRequest, VerifyRequest,
};
use trent_wire::model::{KeySpec, KeyState, WrappingAlgorithm, WrappingKeySpec};
use trent_wire::{Blob, ErrorCode};

async fn create_external(client: &TrentClient, spec: KeySpec, usage: &str) -> String {
    let request = CreateKeyRequest {
        origin: Some("EXTERNAL".into()),
        key_spec: Some(spec.as_str().into()),
        key_usage: Some(usage.into()),
        ..CreateKeyRequest::default()
    };
    let metadata = client.create_key(&request).await.expect("CreateKey EXTERNAL").key_metadata;
    assert_eq!(metadata.key_state, KeyState::PendingImport);
    metadata.key_id
}

async fn parameters(
    client: &TrentClient,
    key_id: &str,
    algorithm: WrappingAlgorithm,
    spec: WrappingKeySpec,
) -> GetParametersForImportResponse {
    let request = GetParametersForImportRequest {
        key_id: key_id.into(),
        wrapping_algorithm: algorithm.as_str().into(),
        wrapping_key_spec: spec.as_str().into(),
    };
    client.get_parameters_for_import(&request).await.expect("GetParametersForImport")
}

fn import_request(key_id: &str, token: &Blob, wrapped: Vec<u8>) -> ImportKeyMaterialRequest {
    ImportKeyMaterialRequest {
        key_id: key_id.into(),
        import_token: token.clone(),
        encrypted_key_material: Blob::from(wrapped),
        expiration_model: Some("KEY_MATERIAL_DOES_NOT_EXPIRE".into()),
        ..ImportKeyMaterialRequest::default()
    }
}

/// Wraps `material` under fresh parameters of `key_id` and imports it.
async fn import(
    client: &TrentClient,
    key_id: &str,
    algorithm: WrappingAlgorithm,
    spec: WrappingKeySpec,
    material: &[u8],
) -> Result<String, trent_client::ClientError> {
    let parameters = parameters(client, key_id, algorithm, spec).await;
    let wrapped =
        trent_keys::import::wrap(algorithm, parameters.public_key.as_bytes(), material).expect("wrap");
    let imported =
        client.import_key_material(&import_request(key_id, &parameters.import_token, wrapped)).await?;
    Ok(imported.key_material_id)
}

async fn encrypt(client: &TrentClient, key_id: &str, plaintext: &[u8]) -> Blob {
    let request = EncryptRequest {
        key_id: key_id.into(),
        plaintext: Blob::from(plaintext.to_vec()),
        ..EncryptRequest::default()
    };
    client.encrypt(&request).await.expect("Encrypt").ciphertext_blob
}

async fn decrypt(client: &TrentClient, blob: &Blob) -> Result<Vec<u8>, trent_client::ClientError> {
    let request = DecryptRequest { ciphertext_blob: Some(blob.clone()), ..DecryptRequest::default() };
    Ok(client.decrypt(&request).await?.plaintext.as_bytes().to_vec())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_wrapping_algorithm_and_key_size_imports_symmetric_material() {
    let (node, client) = start().await;
    for algorithm in [
        WrappingAlgorithm::RsaesOaepSha1,
        WrappingAlgorithm::RsaesOaepSha256,
        WrappingAlgorithm::RsaAesKeyWrapSha1,
        WrappingAlgorithm::RsaAesKeyWrapSha256,
    ] {
        for spec in [WrappingKeySpec::Rsa2048, WrappingKeySpec::Rsa3072, WrappingKeySpec::Rsa4096] {
            let key_id = create_external(&client, KeySpec::SymmetricDefault, "ENCRYPT_DECRYPT").await;
            let material = [0x42u8; 32];
            let material_id = import(&client, &key_id, algorithm, spec, &material).await.expect("imported");
            assert_eq!(material_id.len(), 64, "{algorithm} {spec}");
            let metadata = describe(&client, &key_id).await;
            assert_eq!(metadata.key_state, KeyState::Enabled, "{algorithm} {spec}");
            assert_eq!(metadata.current_key_material_id.as_deref(), Some(material_id.as_str()));
            let blob = encrypt(&client, &key_id, b"imported").await;
            assert_eq!(decrypt(&client, &blob).await.unwrap(), b"imported", "{algorithm} {spec}");
        }
    }
    node.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleted_material_reimported_decrypts_old_ciphertexts_and_other_material_is_refused() {
    let (node, client) = start().await;
    let key_id = create_external(&client, KeySpec::SymmetricDefault, "ENCRYPT_DECRYPT").await;
    let oaep = WrappingAlgorithm::RsaesOaepSha256;
    let material = [7u8; 32];
    let first_id = import(&client, &key_id, oaep, WrappingKeySpec::Rsa2048, &material).await.unwrap();
    let blob = encrypt(&client, &key_id, b"kept").await;

    let deleted = client
        .delete_imported_key_material(&DeleteImportedKeyMaterialRequest {
            key_id: key_id.clone(),
            key_material_id: None,
        })
        .await
        .expect("DeleteImportedKeyMaterial");
    assert_eq!(deleted.key_material_id, first_id);
    assert_eq!(describe(&client, &key_id).await.key_state, KeyState::PendingImport);
    refused(decrypt(&client, &blob).await, ErrorCode::InvalidState);

    let other = import(&client, &key_id, oaep, WrappingKeySpec::Rsa2048, &[8u8; 32]).await;
    refused(other, ErrorCode::IncorrectKeyMaterial);
    assert_eq!(describe(&client, &key_id).await.key_state, KeyState::PendingImport, "nothing changed");

    let again = import(&client, &key_id, oaep, WrappingKeySpec::Rsa3072, &material).await.unwrap();
    assert_eq!(again, first_id, "the same material has the same id");
    assert_eq!(decrypt(&client, &blob).await.unwrap(), b"kept");
    node.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_wraps_wrong_material_and_foreign_or_unknown_tokens_are_refused() {
    let (node, client) = start().await;
    let key_id = create_external(&client, KeySpec::SymmetricDefault, "ENCRYPT_DECRYPT").await;
    let other_key = create_external(&client, KeySpec::SymmetricDefault, "ENCRYPT_DECRYPT").await;
    let oaep = WrappingAlgorithm::RsaesOaepSha256;
    let ours = parameters(&client, &key_id, oaep, WrappingKeySpec::Rsa2048).await;
    let theirs = parameters(&client, &other_key, oaep, WrappingKeySpec::Rsa2048).await;
    let wrap = |parameters: &GetParametersForImportResponse, material: &[u8]| {
        trent_keys::import::wrap(oaep, parameters.public_key.as_bytes(), material).unwrap()
    };

    let mut flipped = wrap(&ours, &[1; 32]);
    flipped[10] ^= 1;
    let bad_wrap = client.import_key_material(&import_request(&key_id, &ours.import_token, flipped)).await;
    refused(bad_wrap, ErrorCode::InvalidCiphertext);
    let under_theirs = client
        .import_key_material(&import_request(&key_id, &ours.import_token, wrap(&theirs, &[1; 32])))
        .await;
    refused(under_theirs, ErrorCode::InvalidCiphertext);
    let short =
        client.import_key_material(&import_request(&key_id, &ours.import_token, wrap(&ours, &[1; 16]))).await;
    let error = refused(short, ErrorCode::IncorrectKeyMaterial);
    assert!(!error.message.contains("0101"), "{}", error.message);
    let foreign = client
        .import_key_material(&import_request(&key_id, &theirs.import_token, wrap(&theirs, &[1; 32])))
        .await;
    refused(foreign, ErrorCode::InvalidImportToken);
    let mut unknown_token = ours.import_token.as_bytes().to_vec();
    unknown_token[20] ^= 1;
    let unknown = client
        .import_key_material(&import_request(&key_id, &Blob::from(unknown_token), wrap(&ours, &[1; 32])))
        .await;
    refused(unknown, ErrorCode::InvalidImportToken);
    let past = ImportKeyMaterialRequest {
        expiration_model: None,
        valid_to: Some(now_seconds() - 60.0),
        ..import_request(&key_id, &ours.import_token, wrap(&ours, &[1; 32]))
    };
    refused(client.import_key_material(&past).await, ErrorCode::Validation);
    assert_eq!(describe(&client, &key_id).await.key_state, KeyState::PendingImport, "nothing was imported");

    // A new set of parameters replaces the old: the old token is refused.
    let newer = parameters(&client, &key_id, oaep, WrappingKeySpec::Rsa2048).await;
    let stale =
        client.import_key_material(&import_request(&key_id, &ours.import_token, wrap(&ours, &[1; 32]))).await;
    refused(stale, ErrorCode::InvalidImportToken);
    client
        .import_key_material(&import_request(&key_id, &newer.import_token, wrap(&newer, &[1; 32])))
        .await
        .unwrap();
    node.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn imported_hmac_rsa_and_ecc_material_macs_and_signs() {
    let (node, client) = start().await;
    let wrap_aes = WrappingAlgorithm::RsaAesKeyWrapSha256;

    let hmac_key = create_external(&client, KeySpec::Hmac256, "GENERATE_VERIFY_MAC").await;
    let hmac_material = [9u8; 32];
    import(&client, &hmac_key, WrappingAlgorithm::RsaesOaepSha256, WrappingKeySpec::Rsa2048, &hmac_material)
        .await
        .unwrap();
    let mac = client
        .generate_mac(&GenerateMacRequest {
            message: Blob::from(b"message".to_vec()),
            key_id: hmac_key.clone(),
            mac_algorithm: "HMAC_SHA_256".into(),
            grant_tokens: None,
            dry_run: None,
        })
        .await
        .expect("GenerateMac")
        .mac;
    let expected = aws_lc_rs::hmac::sign(
        &aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, &hmac_material),
        b"message",
    );
    assert_eq!(mac.as_bytes(), expected.as_ref(), "the MAC is the imported key's");
    let verified = client
        .verify_mac(&VerifyMacRequest {
            message: Blob::from(b"message".to_vec()),
            key_id: hmac_key.clone(),
            mac_algorithm: "HMAC_SHA_256".into(),
            mac,
            grant_tokens: None,
            dry_run: None,
        })
        .await
        .expect("VerifyMac");
    assert!(verified.mac_valid);

    for (spec, algorithm) in
        [(KeySpec::Rsa2048, "RSASSA_PSS_SHA_256"), (KeySpec::EccNistP256, "ECDSA_SHA_256")]
    {
        let key_id = create_external(&client, spec, "SIGN_VERIFY").await;
        let material = trent_keys::generate(spec).unwrap();
        import(&client, &key_id, wrap_aes, WrappingKeySpec::Rsa3072, &material).await.unwrap();
        let signature = client
            .sign(&SignRequest {
                key_id: key_id.clone(),
                message: Blob::from(b"signed".to_vec()),
                message_type: None,
                signing_algorithm: algorithm.into(),
                grant_tokens: None,
                dry_run: None,
            })
            .await
            .expect("Sign")
            .signature;
        let public = trent_keys::PrivateKey::from_material(spec, &material)
            .unwrap()
            .public_key_der()
            .unwrap()
            .to_vec();
        let public_key = client
            .get_public_key(&GetPublicKeyRequest { key_id: key_id.clone(), grant_tokens: None })
            .await
            .expect("GetPublicKey")
            .public_key;
        assert_eq!(public_key.as_bytes(), public, "{spec}: the public key is the imported key's");
        let verified = client
            .verify(&VerifyRequest {
                key_id: key_id.clone(),
                message: Blob::from(b"signed".to_vec()),
                message_type: None,
                signature,
                signing_algorithm: algorithm.into(),
                grant_tokens: None,
                dry_run: None,
            })
            .await
            .expect("Verify");
        assert!(verified.signature_valid, "{spec}");
        // RSA material under OAEP alone is too long; ECC material of another curve is wrong.
        let wrong = trent_keys::generate(if spec == KeySpec::Rsa2048 {
            KeySpec::Rsa3072
        } else {
            KeySpec::EccNistP384
        })
        .unwrap();
        let again = import(&client, &key_id, wrap_aes, WrappingKeySpec::Rsa2048, &wrong).await;
        refused(again, ErrorCode::IncorrectKeyMaterial);
    }
    node.stop().await;
}
