//! Bring-your-own-key import on a 3-node cluster of real `trentd` processes: symmetric, HMAC and
//! ECC material imported through one node decrypts, MACs and signs on every node; import tokens
//! expire after 24 hours and are forgotten a day later; material expires at its `ValidTo` on
//! every node and comes back when imported again; and after imports, snapshots and a restart no
//! node's data directory holds the imported bytes. Time is moved with the nodes' test clock file (`--test-clock-file`).
#![allow(clippy::unwrap_used, clippy::expect_used)] // a panic in a test is a failed test

mod support;

use std::time::{Duration, Instant};

use support::disk_scan::{contains, files_under};
use support::ProcessCluster;
use trent_client::wire::data_plane::{DecryptRequest, EncryptRequest};
use trent_client::wire::import::{GetParametersForImportRequest, ImportKeyMaterialRequest};
use trent_client::wire::kms::{CreateKeyRequest, KeyIdRequest};
use trent_client::wire::ErrorCode;
use trent_client::{ClientError, TrentClient};
use trent_wire::asymmetric::{GenerateMacRequest, SignRequest};
use trent_wire::model::{KeyState, WrappingAlgorithm};
use trent_wire::Blob;

const HOUR_MS: i64 = 60 * 60 * 1000;
const DAY_MS: i64 = 24 * HOUR_MS;

fn code<T: std::fmt::Debug>(result: &Result<T, ClientError>) -> Option<ErrorCode> {
    match result {
        Err(ClientError::Api(error)) => Some(error.code),
        _ => None,
    }
}

/// Polls `check` until it holds, for at most 15 s.
async fn eventually<F, Fut>(what: &str, cluster: &ProcessCluster, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + Duration::from_secs(15);
    while !check().await {
        assert!(Instant::now() < deadline, "{what}: not within 15 s\n{}", cluster.logs());
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

async fn create_external(client: &TrentClient, spec: &str, usage: &str) -> String {
    let request = CreateKeyRequest {
        origin: Some("EXTERNAL".into()),
        key_spec: Some(spec.into()),
        key_usage: Some(usage.into()),
        ..CreateKeyRequest::default()
    };
    client.create_key(&request).await.expect("CreateKey EXTERNAL").key_metadata.key_id
}

/// Parameters for `key_id`, and the request that imports `material` with them.
async fn import_request(
    client: &TrentClient,
    key_id: &str,
    algorithm: WrappingAlgorithm,
    material: &[u8],
    valid_to: Option<f64>,
) -> ImportKeyMaterialRequest {
    let parameters = client
        .get_parameters_for_import(&GetParametersForImportRequest {
            key_id: key_id.into(),
            wrapping_algorithm: algorithm.as_str().into(),
            wrapping_key_spec: "RSA_2048".into(),
        })
        .await
        .expect("GetParametersForImport");
    let wrapped =
        trent_keys::import::wrap(algorithm, parameters.public_key.as_bytes(), material).expect("wrap");
    ImportKeyMaterialRequest {
        key_id: key_id.into(),
        import_token: parameters.import_token,
        encrypted_key_material: Blob::from(wrapped),
        valid_to,
        expiration_model: Some(
            if valid_to.is_some() { "KEY_MATERIAL_EXPIRES" } else { "KEY_MATERIAL_DOES_NOT_EXPIRE" }.into(),
        ),
        ..ImportKeyMaterialRequest::default()
    }
}

async fn decrypts(client: &TrentClient, blob: &Blob, plaintext: &[u8]) -> bool {
    let request = DecryptRequest { ciphertext_blob: Some(blob.clone()), ..DecryptRequest::default() };
    matches!(client.decrypt(&request).await, Ok(response) if response.plaintext.as_bytes() == plaintext)
}

async fn state(client: &TrentClient, key_id: &str) -> Option<KeyState> {
    let request = KeyIdRequest { key_id: key_id.into(), grant_tokens: None };
    client.describe_key(&request).await.ok().map(|described| described.key_metadata.key_state)
}

fn now_seconds() -> f64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs_f64()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn imported_material_works_everywhere_expires_comes_back_and_never_reaches_the_disk() {
    let clock_dir = tempfile::tempdir().expect("tempdir");
    let clock_file = clock_dir.path().join("clock-offset-ms");
    let clock_arg = clock_file.to_str().expect("utf-8 path");
    let args = ["--test-clock-file", clock_arg, "--sweep-interval-ms", "100", "--snapshot-every", "20"];
    let mut cluster = ProcessCluster::start(3, &args).await;
    let leader = cluster.wait_for_leader(Duration::from_secs(10)).await;
    let follower = cluster.followers(leader)[0];
    let client = cluster.client_of(follower);

    // Random material, so the disk scan below cannot find it by accident.
    let mut symmetric = [0u8; 32];
    let mut hmac = [0u8; 64];
    aws_lc_rs::rand::fill(&mut symmetric).unwrap();
    aws_lc_rs::rand::fill(&mut hmac).unwrap();
    let ecc = trent_keys::generate(trent_wire::model::KeySpec::EccNistP256).unwrap();

    // Imported through a follower, which forwards the writes.
    let key_id = create_external(&client, "SYMMETRIC_DEFAULT", "ENCRYPT_DECRYPT").await;
    let valid_to = now_seconds() + 10.0 * 86_400.0;
    let request =
        import_request(&client, &key_id, WrappingAlgorithm::RsaesOaepSha256, &symmetric, Some(valid_to))
            .await;
    client.import_key_material(&request).await.expect("ImportKeyMaterial");
    let hmac_key = create_external(&client, "HMAC_512", "GENERATE_VERIFY_MAC").await;
    let request = import_request(&client, &hmac_key, WrappingAlgorithm::RsaesOaepSha1, &hmac, None).await;
    client.import_key_material(&request).await.expect("HMAC import");
    let ecc_key = create_external(&client, "ECC_NIST_P256", "SIGN_VERIFY").await;
    let request = import_request(&client, &ecc_key, WrappingAlgorithm::RsaAesKeyWrapSha1, &ecc, None).await;
    client.import_key_material(&request).await.expect("ECC import");

    let encrypt = EncryptRequest {
        key_id: key_id.clone(),
        plaintext: Blob::from(b"cluster".to_vec()),
        ..EncryptRequest::default()
    };
    let blob = client.encrypt(&encrypt).await.expect("Encrypt").ciphertext_blob;
    let expected_mac =
        aws_lc_rs::hmac::sign(&aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA512, &hmac), b"m");
    let ecc_public = trent_keys::PrivateKey::from_material(trent_wire::model::KeySpec::EccNistP256, &ecc)
        .unwrap()
        .public_key_der()
        .unwrap()
        .to_vec();
    for id in 1..=3 {
        let node = cluster.client_of(id);
        eventually(&format!("node {id} decrypts"), &cluster, || decrypts(&node, &blob, b"cluster")).await;
        let mac = GenerateMacRequest {
            message: Blob::from(b"m".to_vec()),
            key_id: hmac_key.clone(),
            mac_algorithm: "HMAC_SHA_512".into(),
            grant_tokens: None,
            dry_run: None,
        };
        let mac = node.generate_mac(&mac).await.expect("GenerateMac").mac;
        assert_eq!(mac.as_bytes(), expected_mac.as_ref(), "node {id} MACs with the imported key");
        let sign = SignRequest {
            key_id: ecc_key.clone(),
            message: Blob::from(b"signed".to_vec()),
            message_type: None,
            signing_algorithm: "ECDSA_SHA_256".into(),
            grant_tokens: None,
            dry_run: None,
        };
        let signature = node.sign(&sign).await.expect("Sign").signature;
        let verifier = aws_lc_rs::signature::UnparsedPublicKey::new(
            &aws_lc_rs::signature::ECDSA_P256_SHA256_ASN1,
            &ecc_public[ecc_public.len() - 65..],
        );
        verifier
            .verify(b"signed", signature.as_bytes())
            .unwrap_or_else(|_| panic!("node {id} signs with the imported key"));
    }

    // An import token lasts 24 hours: a day and an hour on, it is expired (and still known).
    let stale = import_request(&client, &key_id, WrappingAlgorithm::RsaesOaepSha256, &symmetric, None).await;
    std::fs::write(&clock_file, (25 * HOUR_MS).to_string()).expect("move the clock");
    for id in 1..=3 {
        let result = cluster.client_of(id).import_key_material(&stale).await;
        assert_eq!(code(&result), Some(ErrorCode::ExpiredImportToken), "node {id}: {result:?}");
    }

    // Ten days on (by the nodes' clocks) the material expires on every node; the others do not.
    std::fs::write(&clock_file, (11 * DAY_MS).to_string()).expect("move the clock");
    for id in 1..=3 {
        let node = cluster.client_of(id);
        eventually(&format!("node {id} sees the material expire"), &cluster, || async {
            state(&node, &key_id).await == Some(KeyState::PendingImport)
        })
        .await;
        assert!(!decrypts(&node, &blob, b"cluster").await, "node {id} decrypts with expired material");
        assert_eq!(state(&node, &hmac_key).await, Some(KeyState::Enabled), "node {id}");
    }
    // Forgotten a day after it expired.
    let result = client.import_key_material(&stale).await;
    assert_eq!(code(&result), Some(ErrorCode::InvalidImportToken), "{result:?}");

    // The same material, imported again (valid for another day from the nodes' now), brings the
    // old ciphertext back on every node.
    let again_valid_to = now_seconds() + 12.0 * 86_400.0;
    let request = import_request(
        &client,
        &key_id,
        WrappingAlgorithm::RsaAesKeyWrapSha256,
        &symmetric,
        Some(again_valid_to),
    )
    .await;
    client.import_key_material(&request).await.expect("re-import");
    for id in 1..=3 {
        let node = cluster.client_of(id);
        eventually(&format!("node {id} decrypts again"), &cluster, || decrypts(&node, &blob, b"cluster"))
            .await;
    }

    // Enough writes for every node to snapshot, then a restart.
    for n in 0..25 {
        let request =
            CreateKeyRequest { description: Some(format!("filler {n}")), ..CreateKeyRequest::default() };
        client.create_key(&request).await.expect("filler key");
    }
    cluster.node(follower).terminate();
    cluster.start_node(follower).await;
    let restarted = cluster.client_of(follower);
    eventually("the restarted node decrypts", &cluster, || decrypts(&restarted, &blob, b"cluster")).await;
    for id in 1..=3 {
        cluster.node(id).terminate();
    }

    let mut files = Vec::new();
    files_under(cluster.dir.path(), &mut files);
    assert!(files.iter().any(|path| path.to_string_lossy().contains("snapshot")), "no snapshot was written");
    let secrets: [(&str, &[u8]); 3] =
        [("symmetric material", &symmetric), ("HMAC material", &hmac), ("ECC material", &ecc)];
    let mut scanned = 0;
    for path in &files {
        let bytes = std::fs::read(path).expect("read file");
        scanned += bytes.len();
        for (what, secret) in &secrets {
            assert!(!contains(&bytes, secret), "{what} found in plaintext in {}", path.display());
        }
    }
    assert!(scanned > 0);
}
