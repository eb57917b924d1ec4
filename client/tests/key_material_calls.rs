//! The requests the rotation and import calls send, against scripted loopback nodes: targets,
//! bodies, pagination, and the import exchange (DescribeKey, GetParametersForImport, the wrap,
//! ImportKeyMaterial). The node only answers with shapes; what Trent does with the requests is
//! tested against a real trentd.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a panic in a test is a failed test

#[allow(dead_code)] // each test binary uses part of the fake node
mod support;

use serde_json::json;
use support::{key_metadata, FakeNode, Reply, Seen};
use trent_client::import::{Expiration, ImportError, MaterialImport};
use trent_client::wire::import::{DeleteImportedKeyMaterialRequest, GetParametersForImportResponse};
use trent_client::wire::kms::KeyIdRequest;
use trent_client::wire::model::{IncludeKeyMaterial, KeySpec, WrappingAlgorithm, WrappingKeySpec};
use trent_client::wire::rotation::EnableKeyRotationRequest;
use trent_client::wire::Blob;
use trent_client::TrentClient;
use zeroize::Zeroizing;

fn operation(seen: &Seen) -> &str {
    seen.target.as_deref().and_then(|target| target.strip_prefix("TrentService.")).unwrap_or("")
}

fn key(id: &str) -> KeyIdRequest {
    KeyIdRequest { key_id: id.into(), grant_tokens: None }
}

fn rotation_entry(id: &str) -> serde_json::Value {
    json!({"KeyId": "arn:k", "KeyMaterialId": id, "KeyMaterialState": "NON_CURRENT"})
}

#[tokio::test]
async fn rotation_calls_send_their_targets_and_bodies() {
    let node = FakeNode::start(|seen| match operation(seen) {
        "GetKeyRotationStatus" => Reply::ok(json!({"KeyRotationEnabled": true, "KeyId": "arn:k",
            "RotationPeriodInDays": 90, "NextRotationDate": 1_800_000_000.0})),
        "RotateKeyOnDemand" => Reply::ok(json!({"KeyId": "arn:k"})),
        "DeleteImportedKeyMaterial" => Reply::ok(json!({"KeyId": "arn:k", "KeyMaterialId": "ab".repeat(32)})),
        _ => Reply::ok(json!({})),
    })
    .await;
    let client = TrentClient::single(&node.url()).unwrap();
    let enable = EnableKeyRotationRequest { key_id: "k".into(), rotation_period_in_days: Some(90) };
    client.enable_key_rotation(&enable).await.unwrap();
    client
        .enable_key_rotation(&EnableKeyRotationRequest { rotation_period_in_days: None, ..enable })
        .await
        .unwrap();
    client.disable_key_rotation(&key("k")).await.unwrap();
    let status = client.get_key_rotation_status(&key("k")).await.unwrap();
    assert_eq!((status.key_rotation_enabled, status.rotation_period_in_days), (true, Some(90)));
    assert_eq!(client.rotate_key_on_demand(&key("k")).await.unwrap().key_id, "arn:k");
    let delete = DeleteImportedKeyMaterialRequest { key_id: "k".into(), key_material_id: None };
    assert_eq!(client.delete_imported_key_material(&delete).await.unwrap().key_material_id, "ab".repeat(32));

    let seen = node.seen();
    let sent: Vec<(&str, serde_json::Value)> =
        seen.iter().map(|seen| (operation(seen), seen.body.clone())).collect();
    assert_eq!(
        sent,
        [
            ("EnableKeyRotation", json!({"KeyId": "k", "RotationPeriodInDays": 90})),
            ("EnableKeyRotation", json!({"KeyId": "k"})),
            ("DisableKeyRotation", json!({"KeyId": "k"})),
            ("GetKeyRotationStatus", json!({"KeyId": "k"})),
            ("RotateKeyOnDemand", json!({"KeyId": "k"})),
            ("DeleteImportedKeyMaterial", json!({"KeyId": "k"})),
        ]
    );
}

#[tokio::test]
async fn list_all_key_rotations_follows_markers_and_asks_for_every_material() {
    let node = FakeNode::start(|seen| match seen.body.get("Marker").and_then(|marker| marker.as_str()) {
        None => Reply::ok(json!({"Rotations": [rotation_entry("a1")], "NextMarker": "2", "Truncated": true})),
        Some("2") => Reply::ok(json!({"Rotations": [rotation_entry("b2")], "Truncated": false})),
        Some(_) => Reply::error(400, "InvalidMarkerException", "bad marker"),
    })
    .await;
    let client = TrentClient::single(&node.url()).unwrap();
    let all = client.list_all_key_rotations("k", Some(IncludeKeyMaterial::AllKeyMaterial)).await.unwrap();
    let ids: Vec<&str> = all.iter().map(|entry| entry.key_material_id.as_str()).collect();
    assert_eq!(ids, ["a1", "b2"]);
    let bodies: Vec<serde_json::Value> = node.seen().into_iter().map(|seen| seen.body).collect();
    assert_eq!(
        bodies,
        [
            json!({"KeyId": "k", "IncludeKeyMaterial": "ALL_KEY_MATERIAL"}),
            json!({"KeyId": "k", "IncludeKeyMaterial": "ALL_KEY_MATERIAL", "Marker": "2"}),
        ]
    );
    assert!(node.seen().iter().all(|seen| operation(seen) == "ListKeyRotations"));

    client.list_all_key_rotations("k", None).await.unwrap();
    assert_eq!(node.seen()[2].body, json!({"KeyId": "k"}), "ROTATIONS_ONLY is the server's default");
}

/// A node holding one EXTERNAL key of `spec` (id `k1`) and an RSA-2048 wrapping key, answering
/// the three calls of an import with the shapes AWS gives.
async fn import_node(spec: KeySpec, wrapping_pkcs8: &[u8]) -> FakeNode {
    let wrapping_public = trent_keys::PrivateKey::from_material(KeySpec::Rsa2048, wrapping_pkcs8)
        .unwrap()
        .public_key_der()
        .unwrap()
        .to_vec();
    let parameters = serde_json::to_value(GetParametersForImportResponse {
        key_id: "arn:aws:kms:us-east-1:111122223333:key/k1".into(),
        import_token: Blob::from(b"token".to_vec()),
        public_key: Blob::from(wrapping_public),
        parameters_valid_to: 1_900_000_000.0,
    })
    .unwrap();
    FakeNode::start(move |seen| match operation(seen) {
        "DescribeKey" => {
            let mut described = key_metadata("k1");
            described["KeyMetadata"]["KeySpec"] = json!(spec.as_str());
            described["KeyMetadata"]["Origin"] = json!("EXTERNAL");
            described["KeyMetadata"]["KeyState"] = json!("PendingImport");
            Reply::ok(described)
        }
        "GetParametersForImport" => Reply::ok(parameters.clone()),
        "ImportKeyMaterial" => Reply::ok(json!({"KeyId": "arn:k1", "KeyMaterialId": "cd".repeat(32)})),
        other => Reply::error(400, "UnsupportedOperationException", other),
    })
    .await
}

fn import(key_id: &str, expiration: Expiration) -> MaterialImport {
    MaterialImport {
        key_id: key_id.into(),
        wrapping_algorithm: None,
        wrapping_key_spec: WrappingKeySpec::Rsa2048,
        expiration,
        import_type: None,
        key_material_id: None,
        description: None,
    }
}

/// Whether `needle` occurs anywhere in `haystack`.
fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|window| window == needle)
}

#[tokio::test]
async fn import_of_a_symmetric_key_wraps_with_oaep_under_the_returned_key() {
    let wrapping = trent_keys::generate(KeySpec::Rsa2048).unwrap();
    let node = import_node(KeySpec::SymmetricDefault, &wrapping).await;
    let client = TrentClient::single(&node.url()).unwrap();
    let material: Vec<u8> = (1u8..=32).collect();
    let import = MaterialImport {
        description: Some("hsm export 1".into()),
        ..import("alias/byok", Expiration::Never)
    };
    let imported = client.import_material(&import, Zeroizing::new(material.clone())).await.unwrap();
    assert_eq!((imported.key_id.as_str(), imported.key_material_id), ("arn:k1", "cd".repeat(32)));

    let seen = node.seen();
    let operations: Vec<&str> = seen.iter().map(operation).collect();
    assert_eq!(operations, ["DescribeKey", "GetParametersForImport", "ImportKeyMaterial"]);
    assert_eq!(seen[0].body, json!({"KeyId": "alias/byok"}));
    // The alias is resolved once: the import goes to the key DescribeKey named.
    assert_eq!(
        seen[1].body,
        json!({"KeyId": "k1", "WrappingAlgorithm": "RSAES_OAEP_SHA_256", "WrappingKeySpec": "RSA_2048"})
    );
    let body = &seen[2].body;
    assert_eq!(body["KeyId"], "k1");
    assert_eq!(body["ImportToken"], "dG9rZW4=");
    assert_eq!(body["ExpirationModel"], "KEY_MATERIAL_DOES_NOT_EXPIRE");
    assert_eq!(body["KeyMaterialDescription"], "hsm export 1");
    assert!(body.get("ValidTo").is_none() && body.get("ImportType").is_none(), "{body}");
    let wrapped: Blob = serde_json::from_value(body["EncryptedKeyMaterial"].clone()).unwrap();
    assert_eq!(wrapped.len(), 256, "one RSA-2048 OAEP block");
    let opened =
        trent_keys::import::unwrap(WrappingAlgorithm::RsaesOaepSha256, &wrapping, wrapped.as_bytes())
            .unwrap();
    assert_eq!(opened.as_slice(), material.as_slice());
    for request in &seen {
        assert!(!contains(request.text.as_bytes(), &material), "plaintext material in {}", request.text);
    }
}

#[tokio::test]
async fn import_of_a_pem_ecc_key_wraps_its_der_with_aes_key_wrap() {
    let wrapping = trent_keys::generate(KeySpec::Rsa2048).unwrap();
    let node = import_node(KeySpec::EccNistP256, &wrapping).await;
    let client = TrentClient::single(&node.url()).unwrap();
    let der = trent_keys::generate(KeySpec::EccNistP256).unwrap();
    let engine = base64::engine::general_purpose::STANDARD;
    let pem = format!(
        "-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----\n",
        base64::Engine::encode(&engine, der.as_slice())
    );
    let import = import("k1", Expiration::At(1_814_313_600.0));
    client.import_material(&import, Zeroizing::new(pem.into_bytes())).await.unwrap();

    let seen = node.seen();
    assert_eq!(seen[1].body["WrappingAlgorithm"], "RSA_AES_KEY_WRAP_SHA_256");
    let body = &seen[2].body;
    assert_eq!(
        (body["ValidTo"].as_f64(), body["ExpirationModel"].as_str()),
        (Some(1_814_313_600.0), Some("KEY_MATERIAL_EXPIRES"))
    );
    let wrapped: Blob = serde_json::from_value(body["EncryptedKeyMaterial"].clone()).unwrap();
    let opened =
        trent_keys::import::unwrap(WrappingAlgorithm::RsaAesKeyWrapSha256, &wrapping, wrapped.as_bytes())
            .unwrap();
    assert_eq!(opened.as_slice(), der.as_slice(), "the DER inside the PEM is what is wrapped");
}

#[tokio::test]
async fn material_that_is_not_a_key_of_the_spec_stops_before_any_write() {
    let wrapping = trent_keys::generate(KeySpec::Rsa2048).unwrap();
    let node = import_node(KeySpec::SymmetricDefault, &wrapping).await;
    let client = TrentClient::single(&node.url()).unwrap();
    let error = client
        .import_material(&import("k1", Expiration::Never), Zeroizing::new(vec![7; 31]))
        .await
        .unwrap_err();
    assert!(matches!(error, ImportError::Material(_)), "{error:?}");
    let operations: Vec<String> = node.seen().iter().map(|seen| operation(seen).to_owned()).collect();
    assert_eq!(operations, ["DescribeKey"]);

    let bad_id = MaterialImport { key_material_id: Some("XY".into()), ..import("k1", Expiration::Never) };
    let error = client.import_material(&bad_id, Zeroizing::new(vec![7; 32])).await.unwrap_err();
    assert!(matches!(error, ImportError::Invalid(_)), "{error:?}");
    assert_eq!(node.seen().len(), 1, "a bad field is refused before any call");
}
