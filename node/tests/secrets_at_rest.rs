//! Nothing secret reaches the disk in plaintext: after keys are created, a snapshot is built and
//! the node stops, every file under the data directory (sled, log, snapshot) is scanned for each
//! key's unwrapped material, the root key, every unseal share (text and bytes) and the admin
//! secret — and none is found.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a panic in a test is a failed test

mod support;

use std::time::Duration;

use base64::Engine;
use support::disk_scan::{contains, files_under};
use support::InProcessNode;
use trent_client::wire::kms::CreateKeyRequest;
use trent_node::config::RaftTiming;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_plaintext_secret_is_found_anywhere_in_the_data_directory() {
    let dir = tempfile::tempdir().expect("tempdir");
    let raft =
        RaftTiming { snapshot_every_entries: 10, logs_kept_after_snapshot: 2, ..RaftTiming::default() };
    let config = support::single_node_config(dir.path().join("node-1"), raft);
    let running = trent_node::server::start(config).await.expect("start");
    let node = running.node.clone();
    node.raft
        .wait(Some(Duration::from_secs(10)))
        .metrics(|metrics| metrics.current_leader == Some(1), "leader")
        .await
        .expect("leader");
    let init = trent_node::admin::init::initialize(&node, 3, 2, None).await.expect("init");
    for share in &init.shares[..2] {
        node.submit_unseal_share(share).expect("unseal");
    }
    let endpoint = format!("http://{}", running.api_addr);
    let signing =
        trent_client::Signing::new(init.access_key_id.clone(), init.secret_access_key.clone(), "us-east-1");
    let client = InProcessNode::client_for(&endpoint, Some(signing));
    let mut key_ids = Vec::new();
    // Symmetric keys, and private keys of the other families (their PKCS#8 or seeds must not
    // reach the disk either).
    let specs = ["RSA_2048", "ECC_NIST_P256", "ECC_NIST_EDWARDS25519", "ML_DSA_44", "ML_KEM_512", "HMAC_256"];
    for i in 0..40 {
        let key_spec = specs.get(i).map(|spec| spec.to_string());
        let request = CreateKeyRequest {
            description: Some(format!("secret-scan {i}")),
            key_spec,
            ..Default::default()
        };
        key_ids.push(client.create_key(&request).await.expect("create").key_metadata.key_id);
    }
    node.raft.trigger().snapshot().await.expect("snapshot");
    tokio::time::sleep(Duration::from_millis(500)).await;

    // The secrets, taken from the running node's memory.
    let mut secrets: Vec<(String, Vec<u8>)> = Vec::new();
    let root = node.seal.with_root(|root, _| root.expose().to_vec()).expect("unsealed");
    secrets.push(("root key".into(), root));
    {
        let registry = node.registry.read();
        for key_id in &key_ids {
            let id = trent_storage::KeyId::parse(key_id).expect("uuid");
            let record = registry.key(&id).expect("key").clone();
            let sealed = record.materials[0].sealed().expect("sealed material");
            let context = trent_node::seal::material::material_context(&id, 1);
            let material = node
                .seal
                .with_keyring(|keyring| keyring.unwrap(&context, sealed))
                .expect("unsealed")
                .expect("unwrap");
            secrets.push((format!("{} material of {key_id}", record.spec), material.to_vec()));
        }
    }
    for (n, share) in init.shares.iter().enumerate() {
        secrets.push((format!("share {n} (text)"), share.as_bytes().to_vec()));
        let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(share.trim_start_matches("trs1_"))
            .expect("share base64");
        // The share's own bytes, without the header every share of this cluster has in common.
        secrets.push((format!("share {n} (bytes)"), raw[21..raw.len() - 4].to_vec()));
    }
    secrets.push(("admin secret".into(), init.secret_access_key.as_bytes().to_vec()));
    running.shutdown().await;

    let mut files = Vec::new();
    files_under(dir.path(), &mut files);
    assert!(files.iter().any(|path| path.to_string_lossy().contains("snapshot")), "no snapshot was written");
    let mut scanned_bytes = 0;
    for path in &files {
        let bytes = std::fs::read(path).expect("read file");
        scanned_bytes += bytes.len();
        for (what, secret) in &secrets {
            assert!(!contains(&bytes, secret), "{what} found in plaintext in {}", path.display());
        }
    }
    assert!(scanned_bytes > 0);
    println!("scanned {} files, {scanned_bytes} bytes, for {} secrets", files.len(), secrets.len());
}
