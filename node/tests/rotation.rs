//! Key rotation end to end against real `trentd` processes: an on-demand rotation leaves old
//! blobs decrypting on every node while new ones carry the new version; automatic rotation
//! happens once the test clock (`--test-clock-file`) passes NextRotationDate, once per due
//! date, also when the leader is killed around it; and the errors AWS gives for periods out of
//! range, disabled keys, keys that do not rotate, rotations too close to an automatic one, the
//! on-demand limit and ListKeyRotations' pagination.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a panic in a test is a failed test

mod support;

use std::path::PathBuf;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use support::kms::{key, refused};
use support::ProcessCluster;
use trent_client::wire::data_plane::{DecryptRequest, EncryptRequest, ReEncryptRequest};
use trent_client::wire::kms::{CreateKeyRequest, KeyIdRequest};
use trent_client::wire::model::{IncludeKeyMaterial, KeyMaterialState, RotationType};
use trent_client::wire::rotation::{EnableKeyRotationRequest, ListKeyRotationsRequest, RotationsListEntry};
use trent_client::wire::{Blob, ErrorCode};
use trent_client::TrentClient;

const DAY_MS: i64 = 24 * 60 * 60 * 1000;
const DAY_SECONDS: f64 = 24.0 * 60.0 * 60.0;

/// A cluster whose nodes read their clock offset from one file and sweep every 100 ms.
struct ClockedCluster {
    cluster: ProcessCluster,
    clock_file: PathBuf,
    _clock_dir: tempfile::TempDir,
}

impl ClockedCluster {
    async fn start(nodes: u64) -> ClockedCluster {
        let clock_dir = tempfile::tempdir().expect("tempdir");
        let clock_file = clock_dir.path().join("clock-offset-ms");
        std::fs::write(&clock_file, "0").expect("clock");
        let clock_arg = clock_file.to_str().expect("utf-8 path").to_owned();
        let cluster =
            ProcessCluster::start(nodes, &["--test-clock-file", &clock_arg, "--sweep-interval-ms", "100"])
                .await;
        ClockedCluster { cluster, clock_file, _clock_dir: clock_dir }
    }

    /// Moves every node's clock so that it reads `at_ms` now.
    fn set_now(&self, at_ms: i64) {
        let offset = at_ms - real_now_ms();
        std::fs::write(&self.clock_file, offset.to_string()).expect("move the clock");
    }
}

fn real_now_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).expect("after 1970").as_millis() as i64
}

fn enable(key_id: &str, days: Option<i64>) -> EnableKeyRotationRequest {
    EnableKeyRotationRequest { key_id: key_id.to_owned(), rotation_period_in_days: days }
}

fn encrypt(key_id: &str, plaintext: &[u8]) -> EncryptRequest {
    EncryptRequest { key_id: key_id.to_owned(), plaintext: Blob(plaintext.to_vec()), ..Default::default() }
}

fn decrypt(blob: &[u8]) -> DecryptRequest {
    DecryptRequest { ciphertext_blob: Some(Blob(blob.to_vec())), ..Default::default() }
}

/// The material version a symmetric blob names (after the format byte and the key id).
fn blob_version(blob: &[u8]) -> u32 {
    u32::from_be_bytes(blob[17..21].try_into().expect("a header"))
}

async fn create(client: &TrentClient, spec: Option<&str>, usage: Option<&str>) -> String {
    let request = CreateKeyRequest {
        key_spec: spec.map(str::to_owned),
        key_usage: usage.map(str::to_owned),
        ..Default::default()
    };
    client.create_key(&request).await.expect("CreateKey").key_metadata.key_id
}

async fn rotations(
    client: &TrentClient,
    key_id: &str,
    include: Option<IncludeKeyMaterial>,
) -> Vec<RotationsListEntry> {
    client.list_all_key_rotations(key_id, include).await.expect("ListKeyRotations")
}

/// Polls `check` until it holds on node `id`, or fails with the cluster's logs.
async fn eventually<F, Fut>(cluster: &ProcessCluster, what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + Duration::from_secs(20);
    while !check().await {
        assert!(Instant::now() < deadline, "{what} did not happen:\n{}", cluster.logs());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_an_on_demand_rotation_old_and_new_blobs_decrypt_on_every_node() {
    let cluster = ProcessCluster::start(3, &[]).await;
    let leader = cluster.wait_for_leader(Duration::from_secs(10)).await;
    let client = cluster.client_of(leader);
    let key_id = create(&client, None, None).await;
    let before = client.describe_key(&key(&key_id)).await.expect("describe").key_metadata;
    let first_material = before.current_key_material_id.clone().expect("a symmetric key shows its material");
    let old = client.encrypt(&encrypt(&key_id, b"before")).await.expect("encrypt").ciphertext_blob.0.clone();
    assert_eq!(blob_version(&old), 1);

    let rotated = client.rotate_key_on_demand(&key(&key_id)).await.expect("RotateKeyOnDemand");
    assert_eq!(rotated.key_id, before.arn);
    let after = client.describe_key(&key(&key_id)).await.expect("describe").key_metadata;
    let new_material = after.current_key_material_id.expect("current material");
    assert_ne!(new_material, first_material);
    let new = client.encrypt(&encrypt(&key_id, b"after")).await.expect("encrypt").ciphertext_blob.0.clone();
    assert_eq!(blob_version(&new), 2, "new blobs carry the new version");

    for id in 1..=3 {
        let node = cluster.client_of(id);
        // A follower serves crypto from its applied state: it may need a moment for version 2.
        eventually(&cluster, &format!("decrypting the new blob on node {id}"), || async {
            node.decrypt(&decrypt(&new)).await.is_ok_and(|reply| reply.plaintext.0 == b"after")
        })
        .await;
        let opened = node.decrypt(&decrypt(&old)).await.expect("the old blob still decrypts");
        assert_eq!(opened.plaintext.0, b"before");
        let listed = rotations(&node, &key_id, Some(IncludeKeyMaterial::AllKeyMaterial)).await;
        let states: Vec<_> = listed.iter().map(|entry| entry.key_material_state).collect();
        assert_eq!(states, [KeyMaterialState::NonCurrent, KeyMaterialState::Current], "node {id}");
        assert_eq!(listed[0].key_material_id, first_material);
        assert_eq!(listed[0].rotation_date, None, "the first material was not rotated in");
        assert_eq!(listed[1].key_material_id, new_material);
        assert_eq!(listed[1].rotation_type, Some(RotationType::OnDemand));
    }
    assert_eq!(rotations(&client, &key_id, None).await.len(), 1, "ROTATIONS_ONLY leaves out the first");

    let moved = ReEncryptRequest {
        ciphertext_blob: Some(Blob(old.clone())),
        destination_key_id: key_id.clone(),
        ..Default::default()
    };
    let moved = client.re_encrypt(&moved).await.expect("ReEncrypt").ciphertext_blob.0.clone();
    assert_eq!(blob_version(&moved), 2, "ReEncrypt moves a blob to the current material");
    assert_eq!(client.decrypt(&decrypt(&moved)).await.expect("decrypt").plaintext.0, b"before");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn automatic_rotation_happens_once_the_clock_passes_the_next_rotation_date() {
    let clocked = ClockedCluster::start(3).await;
    let cluster = &clocked.cluster;
    let leader = cluster.wait_for_leader(Duration::from_secs(10)).await;
    let client = cluster.client_of(leader);
    let key_id = create(&client, None, None).await;
    let old = client.encrypt(&encrypt(&key_id, b"old")).await.expect("encrypt").ciphertext_blob.0.clone();

    let enabled_at = real_now_ms() as f64 / 1000.0;
    client.enable_key_rotation(&enable(&key_id, Some(90))).await.expect("EnableKeyRotation");
    let status = client.get_key_rotation_status(&key(&key_id)).await.expect("status");
    assert!(status.key_rotation_enabled);
    assert_eq!(status.rotation_period_in_days, Some(90));
    assert_eq!(status.on_demand_rotation_start_date, None);
    let first_due = status.next_rotation_date.expect("a next date");
    let expected = enabled_at + 90.0 * DAY_SECONDS;
    assert!((first_due - expected).abs() < 60.0, "due {first_due}, expected about {expected}");

    // A day early, several sweeps later: nothing rotated.
    clocked.set_now((first_due * 1000.0) as i64 - DAY_MS);
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert!(rotations(&client, &key_id, None).await.is_empty(), "rotated early");

    clocked.set_now((first_due * 1000.0) as i64 + DAY_MS);
    eventually(cluster, "the automatic rotation", || async {
        rotations(&client, &key_id, None).await.len() == 1
    })
    .await;
    let rotated = rotations(&client, &key_id, None).await;
    assert_eq!(rotated[0].rotation_type, Some(RotationType::Automatic));
    assert_eq!(rotated[0].key_material_state, KeyMaterialState::Current);
    let status = client.get_key_rotation_status(&key(&key_id)).await.expect("status");
    let second_due = status.next_rotation_date.expect("still scheduled");
    assert!(
        (second_due - (first_due + 90.0 * DAY_SECONDS)).abs() < 0.01,
        "the next date follows the one rotated for: {second_due} after {first_due}"
    );
    let new = client.encrypt(&encrypt(&key_id, b"new")).await.expect("encrypt").ciphertext_blob.0.clone();
    assert_eq!(blob_version(&new), 2, "new blobs use the rotated material");
    for id in 1..=3 {
        let node = cluster.client_of(id);
        let opened = node.decrypt(&decrypt(&old)).await.expect("the old blob decrypts");
        assert_eq!(opened.plaintext.0, b"old");
    }

    // Ten minutes before the next automatic rotation, an on-demand one conflicts with it.
    clocked.set_now((second_due * 1000.0) as i64 - 10 * 60 * 1000);
    let conflict = refused(client.rotate_key_on_demand(&key(&key_id)).await, ErrorCode::Conflict);
    assert!(conflict.message.contains("20 minutes"), "{}", conflict.message);

    // Far past it (the cluster was down for a year): one rotation catches up, not four.
    clocked.set_now((second_due * 1000.0) as i64 + 400 * DAY_MS);
    eventually(cluster, "the catch-up rotation", || async {
        rotations(&client, &key_id, None).await.len() >= 2
    })
    .await;
    tokio::time::sleep(Duration::from_millis(800)).await;
    let rotated = rotations(&client, &key_id, None).await;
    assert_eq!(rotated.len(), 2, "one catch-up rotation: {rotated:?}");
    let caught_up_at = rotated[1].rotation_date.expect("a rotation date");
    let status = client.get_key_rotation_status(&key(&key_id)).await.expect("status");
    let third_due = status.next_rotation_date.expect("still scheduled");
    assert!(
        (third_due - (caught_up_at + 90.0 * DAY_SECONDS)).abs() < 0.01,
        "the period counts from the catch-up"
    );

    client.disable_key_rotation(&key(&key_id)).await.expect("DisableKeyRotation");
    let status = client.get_key_rotation_status(&key(&key_id)).await.expect("status");
    assert!(!status.key_rotation_enabled);
    assert_eq!((status.rotation_period_in_days, status.next_rotation_date), (None, None));
    // Both automatic rotations are in the audit trail as service events (whichever node led).
    let query = trent_client::audit::AuditQuery {
        filter: trent_audit::Filter {
            event_name: Some("RotateKey".into()),
            key_id: Some(key_id.clone()),
            ..Default::default()
        },
        cluster: true,
        ..Default::default()
    };
    let page = client.audit_page(&query).await.expect("audit query");
    let services = page.events.iter().filter(|event| event.event_type == "AwsServiceEvent").count();
    assert_eq!(services, 2, "{page:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_leader_killed_around_a_due_rotation_leaves_exactly_one_rotation_per_key() {
    let mut clocked = ClockedCluster::start(3).await;
    let leader = clocked.cluster.wait_for_leader(Duration::from_secs(10)).await;
    let client = clocked.cluster.client_of(leader);
    let mut keys = Vec::new();
    for _ in 0..12 {
        let key_id = create(&client, None, None).await;
        let blob =
            client.encrypt(&encrypt(&key_id, b"kept")).await.expect("encrypt").ciphertext_blob.0.clone();
        client.enable_key_rotation(&enable(&key_id, Some(90))).await.expect("EnableKeyRotation");
        keys.push((key_id, blob));
    }
    let due = client.get_key_rotation_status(&key(&keys[0].0)).await.expect("status").next_rotation_date;
    let due_ms = (due.expect("scheduled") * 1000.0) as i64;

    // The keys come due; the leader is killed as soon as it logs its first committed rotation,
    // while its sweep is still proposing the others.
    clocked.set_now(due_ms + 60 * 60 * 1000);
    let deadline = Instant::now() + Duration::from_secs(20);
    while !clocked.cluster.node(leader).log().contains("rotated key whose automatic rotation was due") {
        assert!(Instant::now() < deadline, "the leader rotated nothing:\n{}", clocked.cluster.logs());
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    clocked.cluster.node(leader).kill();
    let survivors = clocked.cluster.followers(leader);
    let new_leader = clocked.cluster.wait_for_leader(Duration::from_secs(10)).await;
    assert_ne!(new_leader, leader);
    clocked.cluster.start_node(leader).await;

    let cluster = &clocked.cluster;
    let writer = cluster.client_over(&survivors);
    for (key_id, _) in &keys {
        eventually(cluster, "every due key rotating", || async {
            writer.list_all_key_rotations(key_id, None).await.is_ok_and(|listed| !listed.is_empty())
        })
        .await;
    }
    // Several sweeps of the new leader later, still one rotation for the one due date.
    tokio::time::sleep(Duration::from_millis(800)).await;
    for id in 1..=3 {
        let node = cluster.client_of(id);
        for (key_id, blob) in &keys {
            let listed = eventually_listed(cluster, &node, key_id).await;
            assert_eq!(listed.len(), 1, "node {id}, key {key_id}: {listed:?}");
            assert_eq!(listed[0].rotation_type, Some(RotationType::Automatic));
            let opened = node.decrypt(&decrypt(blob)).await;
            assert_eq!(opened.expect("the old blob decrypts").plaintext.0, b"kept", "node {id}");
        }
    }
}

/// ListKeyRotations of `key_id` on a node that may have just restarted.
async fn eventually_listed(
    cluster: &ProcessCluster,
    node: &TrentClient,
    key_id: &str,
) -> Vec<RotationsListEntry> {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        match node.list_all_key_rotations(key_id, None).await {
            Ok(listed) if !listed.is_empty() => return listed,
            other => assert!(Instant::now() < deadline, "ListKeyRotations: {other:?}\n{}", cluster.logs()),
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rotation_refuses_what_aws_refuses_and_changes_nothing() {
    let cluster = ProcessCluster::start(1, &[]).await;
    let client = cluster.client_of(cluster.wait_for_leader(Duration::from_secs(10)).await);
    let key_id = create(&client, None, None).await;
    for days in [89, 2561] {
        let error =
            refused(client.enable_key_rotation(&enable(&key_id, Some(days))).await, ErrorCode::Validation);
        assert!(error.message.contains("rotationPeriodInDays"), "{}", error.message);
    }
    let status = client.get_key_rotation_status(&key(&key_id)).await.expect("status");
    assert!(!status.key_rotation_enabled, "a refused period enables nothing");
    client.enable_key_rotation(&enable(&key_id, None)).await.expect("the default period");
    let status = client.get_key_rotation_status(&key(&key_id)).await.expect("status");
    assert_eq!(status.rotation_period_in_days, Some(365));

    client.disable_key(&key(&key_id)).await.expect("DisableKey");
    refused(client.enable_key_rotation(&enable(&key_id, Some(180))).await, ErrorCode::Disabled);
    refused(client.rotate_key_on_demand(&key(&key_id)).await, ErrorCode::Disabled);
    let status = client.get_key_rotation_status(&key(&key_id)).await.expect("status of a disabled key");
    assert_eq!(status.rotation_period_in_days, Some(365), "unchanged while disabled");
    client.enable_key(&key(&key_id)).await.expect("EnableKey");

    let hmac = create(&client, Some("HMAC_256"), Some("GENERATE_VERIFY_MAC")).await;
    let rsa = create(&client, Some("RSA_2048"), Some("ENCRYPT_DECRYPT")).await;
    for other in [&hmac, &rsa] {
        let error =
            refused(client.enable_key_rotation(&enable(other, None)).await, ErrorCode::UnsupportedOperation);
        assert_eq!(
            error.message,
            "You cannot perform this operation on a non-symmetric key or a key with non-ENCRYPT_DECRYPT key usage."
        );
        refused(client.rotate_key_on_demand(&key(other)).await, ErrorCode::UnsupportedOperation);
        refused(client.disable_key_rotation(&key(other)).await, ErrorCode::UnsupportedOperation);
        let listed = client.list_key_rotations(&list(other, None, None)).await;
        refused(listed, ErrorCode::UnsupportedOperation);
        let status = client.get_key_rotation_status(&key(other)).await.expect("status");
        assert!(!status.key_rotation_enabled);
    }
    // Pending deletion, the status reads false (AWS); a cancelled deletion brings the schedule back.
    client.schedule_key_deletion(&support::kms::schedule(&key_id, Some(7))).await.expect("schedule");
    let status = client.get_key_rotation_status(&key(&key_id)).await.expect("status");
    assert!(!status.key_rotation_enabled && status.next_rotation_date.is_none());
    refused(client.rotate_key_on_demand(&key(&key_id)).await, ErrorCode::InvalidState);
    client.cancel_key_deletion(&key(&key_id)).await.expect("cancel");
    client.enable_key(&key(&key_id)).await.expect("EnableKey");
    let status = client.get_key_rotation_status(&key(&key_id)).await.expect("status");
    assert_eq!(status.rotation_period_in_days, Some(365), "the schedule is back");

    let unknown = uuid::Uuid::new_v4().to_string();
    refused(client.rotate_key_on_demand(&key(&unknown)).await, ErrorCode::NotFound);
    // The rotation operations name keys by id or ARN, never by alias.
    client.create_alias(&support::kms::alias("alias/rotated", &key_id)).await.expect("CreateAlias");
    let by_alias = KeyIdRequest { key_id: "alias/rotated".into(), grant_tokens: None };
    let error = refused(client.rotate_key_on_demand(&by_alias).await, ErrorCode::Validation);
    assert!(error.message.contains("alias"), "{}", error.message);
    assert!(rotations(&client, &key_id, None).await.is_empty(), "no refused call rotated the key");
}

fn list(key_id: &str, limit: Option<i64>, marker: Option<String>) -> ListKeyRotationsRequest {
    ListKeyRotationsRequest { key_id: key_id.to_owned(), include_key_material: None, limit, marker }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_key_rotations_pages_with_limit_and_marker_and_on_demand_stops_at_25() {
    let cluster = ProcessCluster::start(1, &[]).await;
    let client = cluster.client_of(cluster.wait_for_leader(Duration::from_secs(10)).await);
    let key_id = create(&client, None, None).await;
    for _ in 0..5 {
        client.rotate_key_on_demand(&key(&key_id)).await.expect("RotateKeyOnDemand");
    }
    let mut pages = Vec::new();
    let mut marker = None;
    loop {
        let page = client.list_key_rotations(&list(&key_id, Some(2), marker.clone())).await.expect("a page");
        assert_eq!(page.truncated, page.next_marker.is_some());
        assert!(page.rotations.len() <= 2);
        pages.push(page.rotations.len());
        marker = page.next_marker;
        if marker.is_none() {
            break;
        }
        assert!(pages.len() < 10, "pagination does not end");
    }
    assert_eq!(pages, [2, 2, 1]);
    let all = rotations(&client, &key_id, None).await;
    let ids: std::collections::BTreeSet<_> = all.iter().map(|entry| entry.key_material_id.as_str()).collect();
    assert_eq!(ids.len(), 5, "every rotation made material of its own");
    assert_eq!(all[4].key_material_state, KeyMaterialState::Current);
    let current = client.describe_key(&key(&key_id)).await.expect("describe").key_metadata;
    assert_eq!(current.current_key_material_id.as_deref(), Some(all[4].key_material_id.as_str()));
    assert_eq!(rotations(&client, &key_id, Some(IncludeKeyMaterial::AllKeyMaterial)).await.len(), 6);
    let bad_marker = client.list_key_rotations(&list(&key_id, None, Some("bogus".into()))).await;
    refused(bad_marker, ErrorCode::InvalidMarker);
    refused(client.list_key_rotations(&list(&key_id, Some(0), None)).await, ErrorCode::Validation);

    for _ in 5..25 {
        client.rotate_key_on_demand(&key(&key_id)).await.expect("RotateKeyOnDemand");
    }
    refused(client.rotate_key_on_demand(&key(&key_id)).await, ErrorCode::LimitExceeded);
    assert_eq!(rotations(&client, &key_id, None).await.len(), 25, "the refused one changed nothing");
}
