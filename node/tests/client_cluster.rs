//! trent-client against a real three-node cluster over TLS: every operation it offers, and a
//! stream of calls that rides out a SIGKILL of the leader with no call failing (each retries
//! within its budget on the next endpoint). In its own test binary, so that no other cluster
//! competes for the two cores while the failover is timed.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a panic in a test is a failed test

mod support;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use support::kms::{alias, key, schedule, tag};
use support::{all_key_ids, ProcessCluster};
use trent_client::wire::data_plane::{
    DecryptRequest, EncryptRequest, GenerateDataKeyRequest, GenerateRandomRequest, ReEncryptRequest,
};
use trent_client::wire::kms::{
    CreateKeyRequest, DeleteAliasRequest, ListAliasesRequest, ListKeysRequest, ListResourceTagsRequest,
    TagResourceRequest, UntagResourceRequest, UpdateKeyDescriptionRequest,
};
use trent_client::wire::model::KeyState;
use trent_client::wire::Blob;
use trent_client::TrentClient;

fn context(pairs: &[(&str, &str)]) -> Option<BTreeMap<String, String>> {
    Some(pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect())
}

fn encrypt_request(key_id: &str, plaintext: &[u8]) -> EncryptRequest {
    EncryptRequest {
        key_id: key_id.into(),
        plaintext: Blob::from(plaintext.to_vec()),
        encryption_context: context(&[("purpose", "client test")]),
        ..Default::default()
    }
}

fn decrypt_request(blob: &Blob) -> DecryptRequest {
    DecryptRequest {
        ciphertext_blob: Some(blob.clone()),
        encryption_context: context(&[("purpose", "client test")]),
        ..Default::default()
    }
}

async fn create(client: &TrentClient, description: &str) -> String {
    let request = CreateKeyRequest { description: Some(description.into()), ..Default::default() };
    client.create_key(&request).await.expect("create key").key_metadata.key_id
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_client_covers_every_operation_over_tls() {
    let cluster = ProcessCluster::start(3, &[]).await;
    let client = cluster.client_over(&[1, 2, 3]);

    // Management plane.
    let key_id = create(&client, "every op").await;
    let other_id = create(&client, "every op, destination").await;
    assert_eq!(client.describe_key(&key(&key_id)).await.expect("describe").key_metadata.key_id, key_id);
    let listed = client.list_keys(&ListKeysRequest::default()).await.expect("list keys");
    assert!(listed.keys.iter().any(|entry| entry.key_id == key_id));
    assert!(client.list_all_keys().await.expect("list all keys").iter().any(|entry| entry.key_id == key_id));
    let update = UpdateKeyDescriptionRequest { key_id: key_id.clone(), description: "renamed".into() };
    client.update_key_description(&update).await.expect("update description");
    client.disable_key(&key(&key_id)).await.expect("disable");
    assert!(!client.describe_key(&key(&key_id)).await.expect("describe").key_metadata.enabled);
    client.enable_key(&key(&key_id)).await.expect("enable");

    client.create_alias(&alias("alias/every-op", &key_id)).await.expect("create alias");
    client.update_alias(&alias("alias/every-op", &other_id)).await.expect("update alias");
    let aliases = client.list_aliases(&ListAliasesRequest::default()).await.expect("list aliases");
    assert!(aliases.aliases.iter().any(|entry| entry.target_key_id == other_id));
    assert!(!client.list_all_aliases(None).await.expect("list all aliases").is_empty());

    let tags =
        TagResourceRequest { key_id: key_id.clone(), tags: vec![tag("team", "kms"), tag("env", "ci")] };
    client.tag_resource(&tags).await.expect("tag");
    let untag = UntagResourceRequest { key_id: key_id.clone(), tag_keys: vec!["env".into()] };
    client.untag_resource(&untag).await.expect("untag");
    let listed_tags = ListResourceTagsRequest { key_id: key_id.clone(), ..Default::default() };
    let page = client.list_resource_tags(&listed_tags).await.expect("list tags");
    assert_eq!(page.tags, vec![tag("team", "kms")]);
    assert_eq!(client.list_all_resource_tags(&key_id).await.expect("all tags").len(), 1);

    // Data plane, each call spread over the nodes by the client.
    let encrypted = client.encrypt(&encrypt_request(&key_id, b"over tls")).await.expect("encrypt");
    let decrypted = client.decrypt(&decrypt_request(&encrypted.ciphertext_blob)).await.expect("decrypt");
    assert_eq!(decrypted.plaintext.as_bytes(), b"over tls");
    let moved = client
        .re_encrypt(&ReEncryptRequest {
            ciphertext_blob: Some(encrypted.ciphertext_blob.clone()),
            source_encryption_context: context(&[("purpose", "client test")]),
            destination_key_id: "alias/every-op".into(),
            ..Default::default()
        })
        .await
        .expect("re-encrypt");
    assert!(moved.key_id.ends_with(&other_id));
    let data_key_request = GenerateDataKeyRequest {
        key_id: key_id.clone(),
        key_spec: Some("AES_256".into()),
        ..Default::default()
    };
    let data_key = client.generate_data_key(&data_key_request).await.expect("data key");
    assert_eq!(data_key.plaintext.len(), 32);
    let sealed_only =
        client.generate_data_key_without_plaintext(&data_key_request).await.expect("sealed key");
    assert!(sealed_only.ciphertext_blob.len() > 32);
    let random = GenerateRandomRequest { number_of_bytes: Some(64), ..Default::default() };
    assert_eq!(client.generate_random(&random).await.expect("random").plaintext.len(), 64);

    client
        .delete_alias(&DeleteAliasRequest { alias_name: "alias/every-op".into() })
        .await
        .expect("delete alias");
    let scheduled = client.schedule_key_deletion(&schedule(&other_id, Some(7))).await.expect("schedule");
    assert_eq!(scheduled.key_state, KeyState::PendingDeletion);
    client.cancel_key_deletion(&key(&other_id)).await.expect("cancel deletion");

    // Admin API.
    let view = client.cluster().await.expect("cluster");
    assert_eq!(view.members.len(), 3);
    for index in 0..3 {
        assert!(client.health(index).await.expect("health").leader_id.is_some());
        assert!(!client.seal_status(index).await.expect("status").sealed);
    }
    let robot = client.create_access_key("every op").await.expect("create access key");
    assert_eq!(client.list_access_keys().await.expect("list access keys").access_keys.len(), 2);
    client.delete_access_key(&robot.access_key_id).await.expect("delete access key");
    let rekeyed = client.rekey(3, 2).await.expect("rekey");
    assert_eq!(rekeyed.shares.len(), 3);
    client.rotate_keyring().await.expect("rotate");
    client.seal(2).await.expect("seal node 3");
    assert!(client.seal_status(2).await.expect("status").sealed);
    for share in &rekeyed.shares[..2] {
        client.unseal(2, share).await.expect("unseal node 3 with the new shares");
    }
    assert!(!client.seal_status(2).await.expect("status").sealed);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_of_calls_rides_out_a_sigkill_of_the_leader() {
    let mut cluster = ProcessCluster::start(3, &[]).await;
    let leader = cluster.wait_for_leader(Duration::from_secs(10)).await;
    let client = cluster.client_over(&[1, 2, 3]);
    let shared_key = create(&client, "failover").await;

    let stop = Arc::new(AtomicBool::new(false));
    let mut workers = Vec::new();
    for worker in 0..4 {
        let client = client.clone();
        let stop = stop.clone();
        let shared_key = shared_key.clone();
        workers.push(tokio::spawn(async move {
            let mut created = Vec::new();
            let mut blobs = Vec::new();
            let mut slowest = Duration::ZERO;
            let mut n = 0u32;
            while !stop.load(Ordering::Relaxed) {
                n += 1;
                let started = Instant::now();
                let plaintext = format!("worker {worker} call {n}");
                match n % 3 {
                    0 => created.push(
                        client
                            .create_key(&CreateKeyRequest::default())
                            .await
                            .map_err(|error| format!("CreateKey: {error}"))?
                            .key_metadata
                            .key_id,
                    ),
                    1 => {
                        let encrypted = client
                            .encrypt(&encrypt_request(&shared_key, plaintext.as_bytes()))
                            .await
                            .map_err(|error| format!("Encrypt: {error}"))?;
                        blobs.push((encrypted.ciphertext_blob, plaintext));
                    }
                    _ => {
                        if let Some((blob, expected)) = blobs.last() {
                            let decrypted = client
                                .decrypt(&decrypt_request(blob))
                                .await
                                .map_err(|error| format!("Decrypt: {error}"))?;
                            assert_eq!(decrypted.plaintext.as_bytes(), expected.as_bytes());
                        }
                    }
                }
                slowest = slowest.max(started.elapsed());
            }
            Ok::<_, String>((created, blobs, slowest, n))
        }));
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    cluster.node(leader).kill();
    let killed_at = Instant::now();
    tokio::time::sleep(Duration::from_secs(4)).await;
    stop.store(true, Ordering::Relaxed);

    let mut created = Vec::new();
    let mut blobs = Vec::new();
    let mut calls = 0;
    for worker in workers {
        let (keys, worker_blobs, slowest, n) =
            worker.await.expect("worker task").unwrap_or_else(|error| panic!("a call failed: {error}"));
        println!("worker: {n} calls, slowest {slowest:?}");
        created.extend(keys);
        blobs.extend(worker_blobs);
        calls += n;
    }
    println!("{calls} calls, none failed; leader {leader} killed {:?} before the end", killed_at.elapsed());
    assert!(calls > 40, "too little progress: {calls} calls");

    // Everything acknowledged survived, on the survivors and on the old leader once it is back.
    cluster.start_node(leader).await;
    let new_leader = cluster.wait_for_leader(Duration::from_secs(10)).await;
    let head = cluster.health(new_leader).await.expect("health").last_log_index.unwrap_or(0);
    for id in 1..=3 {
        cluster.wait_for_applied(id, head, Duration::from_secs(10)).await;
        let keys = all_key_ids(&cluster.client_of(id)).await;
        for key_id in &created {
            assert!(keys.contains(key_id), "acknowledged key {key_id} missing on node {id}");
        }
    }
    let pinned = cluster.client_of(leader);
    for (blob, plaintext) in blobs.iter().step_by(5) {
        let decrypted = pinned.decrypt(&decrypt_request(blob)).await.expect("decrypt on the restarted node");
        assert_eq!(decrypted.plaintext.as_bytes(), plaintext.as_bytes());
    }
}
