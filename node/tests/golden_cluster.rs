//! Golden data directories: a three-node cluster's data written by an earlier build, committed
//! under `tests/fixtures/golden-cluster-v<N>/`, that every later build must open and serve — every
//! key in its state, every alias and tag, every access key, and every ciphertext it made (and the
//! refusals it gave: a disabled key's ciphertext stays refused). `docs/formats.md` says why.
//!
//! The fixture is written by [`write_golden_cluster`] (ignored; run it by name, with
//! `TRENT_WRITE_GOLDEN=<dir>`) on the build whose layout it pins, and never rewritten after.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a panic in a test is a failed test

mod support;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use base64::Engine;
use serde::{Deserialize, Serialize};
use support::ProcessCluster;
use trent_client::wire::data_plane::{DecryptRequest, EncryptRequest, GenerateDataKeyRequest};
use trent_client::wire::kms::{
    CreateKeyRequest, ScheduleKeyDeletionRequest, Tag, TagResourceRequest, UntagResourceRequest,
    UpdateKeyDescriptionRequest,
};
use trent_client::wire::{Blob, ErrorCode};
use trent_client::{ClientError, Signing, TrentClient};

/// Fixed loopback addresses: the membership stored in the data directory names them, so a
/// cluster started on the fixture must listen there. Outside the range tests draw ports from
/// and below the kernel's ephemeral range.
const MEMBERS: [(u64, &str, &str); 3] = [
    (1, "127.0.0.1:32101", "127.0.0.1:32102"),
    (2, "127.0.0.1:32103", "127.0.0.1:32104"),
    (3, "127.0.0.1:32105", "127.0.0.1:32106"),
];

/// What a golden data directory holds, as the build that wrote it saw it.
#[derive(Debug, Serialize, Deserialize)]
struct Manifest {
    /// The build and format that wrote it.
    written_by: String,
    /// The shares of the current split (after a rekey) and its threshold.
    shares: Vec<String>,
    /// Shares of the split from init, which the confirmed rekey retired.
    retired_shares: Vec<String>,
    access_key_id: String,
    secret_access_key: String,
    /// Every access key id the cluster lists.
    access_keys: Vec<String>,
    keys: Vec<GoldenKey>,
    /// alias name -> key id.
    aliases: BTreeMap<String, String>,
    ciphertexts: Vec<GoldenCiphertext>,
}

#[derive(Debug, Serialize, Deserialize)]
struct GoldenKey {
    key_id: String,
    description: String,
    state: String,
    tags: Vec<(String, String)>,
}

#[derive(Debug, Serialize, Deserialize)]
struct GoldenCiphertext {
    key_id: String,
    /// Base64.
    blob: String,
    context: BTreeMap<String, String>,
    /// Base64 of what it decrypts to, or the error it is refused with.
    outcome: Outcome,
}

#[derive(Debug, Serialize, Deserialize)]
enum Outcome {
    Plaintext(String),
    Refused(String),
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

fn unb64(text: &str) -> Vec<u8> {
    base64::engine::general_purpose::STANDARD.decode(text).expect("base64")
}

fn members() -> Vec<(u64, String, String)> {
    MEMBERS.iter().map(|(id, api, peer)| (*id, api.to_string(), peer.to_string())).collect()
}

fn fixture_dir(version: u32) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("tests/fixtures/golden-cluster-v{version}"))
}

/// Every format a golden cluster was written in; each must keep opening.
const GOLDEN_VERSIONS: [u32; 1] = [0];

#[tokio::test]
async fn clusters_on_every_golden_data_directory_serve_every_key_and_ciphertext() {
    for version in GOLDEN_VERSIONS {
        serve_golden(version).await;
    }
}

async fn serve_golden(version: u32) {
    let fixture = fixture_dir(version);
    let manifest: Manifest =
        serde_json::from_slice(&std::fs::read(fixture.join("manifest.json")).expect("manifest"))
            .expect("parse");
    let dir = tempfile::tempdir().expect("tempdir");
    let unpacked = std::process::Command::new("tar")
        .arg("-xzf")
        .arg(fixture.join("data.tar.gz"))
        .arg("-C")
        .arg(dir.path())
        .status()
        .expect("run tar");
    assert!(unpacked.success(), "unpack the golden data directory");

    let mut cluster = ProcessCluster::launch_at(&members(), &[], dir).await;
    cluster.shares = manifest.retired_shares.clone();
    cluster.signing = Some(Signing::new(&manifest.access_key_id, &manifest.secret_access_key, "us-east-1"));
    // The split the rekey retired no longer unseals (its record survived the upgrade).
    let refused = cluster
        .admin_call(
            MEMBERS[0].1,
            "/v1/sys/unseal",
            &trent_wire::admin::UnsealRequest {
                share: Some(manifest.retired_shares[0].clone()),
                reset: false,
            },
        )
        .await;
    assert!(refused.is_err(), "a retired share is refused: {refused:?}");
    cluster.shares = manifest.shares.clone();
    for (id, _, _) in MEMBERS {
        cluster.unseal(id).await;
    }
    for (id, _, _) in MEMBERS {
        check_serves(&cluster.client_of(id), &manifest).await;
    }
    // Every member runs this build: the leader raises the feature level, and the cluster keeps
    // serving what the older format wrote.
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    for (id, _, _) in MEMBERS {
        while cluster.client_of(id).cluster().await.expect("cluster").feature_level
            < trent_storage::SUPPORTED_LEVEL
        {
            assert!(std::time::Instant::now() < deadline, "node {id}: feature level did not rise");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    check_serves(&cluster.client_of(2), &manifest).await;
    // Still writable, and what it writes now is served too.
    let client = cluster.client_over(&[1, 2, 3]);
    let key = support::create_key(&client, "written after the upgrade").await.expect("create key");
    let blob = encrypt(&client, &key, b"after", BTreeMap::new()).await;
    let plaintext = client.decrypt(&decrypt_request(&blob, &BTreeMap::new())).await.expect("decrypt");
    assert_eq!(plaintext.plaintext.as_bytes(), b"after");
    for node in &mut cluster.nodes {
        node.terminate();
    }
}

async fn check_serves(client: &TrentClient, manifest: &Manifest) {
    for golden in &manifest.keys {
        let metadata =
            client.describe_key(&support::kms::key(&golden.key_id)).await.expect("describe").key_metadata;
        assert_eq!(metadata.description, golden.description, "{}", golden.key_id);
        assert_eq!(metadata.key_state.as_str(), golden.state, "{}", golden.key_id);
        assert_eq!(sorted_tags(client, &golden.key_id).await, golden.tags, "{}", golden.key_id);
    }
    let aliases: BTreeMap<String, String> = client
        .list_all_aliases(None)
        .await
        .expect("aliases")
        .into_iter()
        .filter(|alias| !alias.alias_name.starts_with("alias/aws/"))
        .map(|alias| (alias.alias_name, alias.target_key_id))
        .collect();
    assert_eq!(aliases, manifest.aliases);
    let mut access_keys: Vec<String> = client
        .list_access_keys()
        .await
        .expect("access keys")
        .access_keys
        .into_iter()
        .map(|key| key.access_key_id)
        .collect();
    access_keys.sort();
    assert_eq!(access_keys, manifest.access_keys);
    for golden in &manifest.ciphertexts {
        let answer = client.decrypt(&decrypt_request(&unb64(&golden.blob), &golden.context)).await;
        match (&golden.outcome, answer) {
            (Outcome::Plaintext(expected), Ok(answer)) => {
                assert_eq!(answer.plaintext.as_bytes(), unb64(expected).as_slice(), "{}", golden.key_id);
                assert!(answer.key_id.ends_with(&golden.key_id));
            }
            (Outcome::Refused(expected), Err(ClientError::Api(error))) => {
                assert_eq!(error.code.as_str(), expected, "{}: {error}", golden.key_id)
            }
            (expected, got) => panic!("{}: expected {expected:?}, got {got:?}", golden.key_id),
        }
    }
}

async fn sorted_tags(client: &TrentClient, key_id: &str) -> Vec<(String, String)> {
    let mut tags: Vec<(String, String)> = client
        .list_all_resource_tags(key_id)
        .await
        .expect("tags")
        .into_iter()
        .map(|tag| (tag.tag_key, tag.tag_value))
        .collect();
    tags.sort();
    tags
}

fn decrypt_request(blob: &[u8], context: &BTreeMap<String, String>) -> DecryptRequest {
    DecryptRequest {
        ciphertext_blob: Some(Blob(blob.to_vec())),
        encryption_context: (!context.is_empty()).then(|| context.clone()),
        ..Default::default()
    }
}

async fn encrypt(
    client: &TrentClient,
    key_id: &str,
    plaintext: &[u8],
    context: BTreeMap<String, String>,
) -> Vec<u8> {
    let request = EncryptRequest {
        key_id: key_id.to_owned(),
        plaintext: Blob(plaintext.to_vec()),
        encryption_context: (!context.is_empty()).then_some(context),
        ..Default::default()
    };
    client.encrypt(&request).await.expect("encrypt").ciphertext_blob.as_bytes().to_vec()
}

fn tags(pairs: &[(&str, &str)]) -> Vec<Tag> {
    pairs.iter().map(|(key, value)| support::kms::tag(key, value)).collect()
}

async fn create(client: &TrentClient, description: &str, tags: Vec<Tag>) -> String {
    let request = CreateKeyRequest {
        description: Some(description.into()),
        tags: (!tags.is_empty()).then_some(tags),
        ..Default::default()
    };
    client.create_key(&request).await.expect("create key").key_metadata.key_id
}

/// Writes a golden cluster into `$TRENT_WRITE_GOLDEN` (`data.tar.gz` and `manifest.json`), for
/// committing as `tests/fixtures/golden-cluster-v<N>/`.
#[tokio::test]
#[ignore = "writes a fixture; run by name with TRENT_WRITE_GOLDEN=<dir>"]
async fn write_golden_cluster() {
    let out = PathBuf::from(std::env::var("TRENT_WRITE_GOLDEN").expect("TRENT_WRITE_GOLDEN"));
    std::fs::create_dir_all(&out).expect("out dir");
    let dir = tempfile::tempdir().expect("tempdir");
    // Frequent snapshots: the fixture holds a snapshot file and the log behind it purged.
    let mut cluster = ProcessCluster::launch_at(&members(), &["--snapshot-every", "25"], dir).await;
    cluster.initialize_and_unseal().await;
    let retired_shares = cluster.shares.clone();
    let client = cluster.client_over(&[1, 2, 3]);
    let mut ciphertexts = Vec::new();
    let context = BTreeMap::from([("purpose".to_owned(), "golden".to_owned())]);
    let mut sealed = |key_id: &str, blob: Vec<u8>, context: &BTreeMap<String, String>, outcome: Outcome| {
        ciphertexts.push(GoldenCiphertext {
            key_id: key_id.to_owned(),
            blob: b64(&blob),
            context: context.clone(),
            outcome,
        })
    };

    let basic =
        create(&client, "golden: enabled and tagged", tags(&[("team", "storage"), ("tier", "gold")])).await;
    sealed(
        &basic,
        encrypt(&client, &basic, b"plain one", BTreeMap::new()).await,
        &BTreeMap::new(),
        Outcome::Plaintext(b64(b"plain one")),
    );
    sealed(
        &basic,
        encrypt(&client, &basic, b"with context", context.clone()).await,
        &context,
        Outcome::Plaintext(b64(b"with context")),
    );

    let disabled = create(&client, "golden: disabled", Vec::new()).await;
    let blob = encrypt(&client, &disabled, b"disabled later", BTreeMap::new()).await;
    client.disable_key(&support::kms::key(&disabled)).await.expect("disable");
    sealed(&disabled, blob, &BTreeMap::new(), Outcome::Refused(ErrorCode::Disabled.as_str().to_owned()));

    let deleting = create(&client, "golden: pending deletion", Vec::new()).await;
    let blob = encrypt(&client, &deleting, b"deleted later", BTreeMap::new()).await;
    let schedule = ScheduleKeyDeletionRequest { key_id: deleting.clone(), pending_window_in_days: Some(30) };
    client.schedule_key_deletion(&schedule).await.expect("schedule deletion");
    sealed(&deleting, blob, &BTreeMap::new(), Outcome::Refused(ErrorCode::InvalidState.as_str().to_owned()));

    let described =
        create(&client, "golden: first description", tags(&[("keep", "me"), ("drop", "me")])).await;
    let update = UpdateKeyDescriptionRequest {
        key_id: described.clone(),
        description: "golden: second description".into(),
    };
    client.update_key_description(&update).await.expect("update description");
    let untag = UntagResourceRequest { key_id: described.clone(), tag_keys: vec!["drop".into()] };
    client.untag_resource(&untag).await.expect("untag");
    let tag = TagResourceRequest { key_id: described.clone(), tags: tags(&[("added", "later")]) };
    client.tag_resource(&tag).await.expect("tag");

    // A row large enough for sled's blob files: an 8,192-character description, 50 maximal tags.
    let large_tags: Vec<Tag> =
        (0..50).map(|n| support::kms::tag(&format!("{n:02}{}", "k".repeat(126)), &"v".repeat(256))).collect();
    let large = create(&client, &"d".repeat(8192), large_tags).await;
    sealed(
        &large,
        encrypt(&client, &large, b"large row", BTreeMap::new()).await,
        &BTreeMap::new(),
        Outcome::Plaintext(b64(b"large row")),
    );

    // Enough writes to build a snapshot and purge the log behind it.
    let mut many = Vec::new();
    for n in 0..40 {
        many.push(create(&client, &format!("golden: bulk {n}"), Vec::new()).await);
    }

    client.create_alias(&support::kms::alias("alias/golden-basic", &basic)).await.expect("alias");
    client.create_alias(&support::kms::alias("alias/golden-moved", &disabled)).await.expect("alias");
    client.update_alias(&support::kms::alias("alias/golden-moved", &described)).await.expect("update alias");
    client.create_alias(&support::kms::alias("alias/golden-gone", &basic)).await.expect("alias");
    client
        .delete_alias(&trent_client::wire::kms::DeleteAliasRequest { alias_name: "alias/golden-gone".into() })
        .await
        .expect("delete alias");

    let second = client.create_access_key("golden: second").await.expect("access key");
    let third = client.create_access_key("golden: deleted").await.expect("access key");
    client.delete_access_key(&third.access_key_id).await.expect("delete access key");

    // Material sealed under barrier key version 2.
    client.rotate_keyring().await.expect("rotate keyring");
    let rotated = create(&client, "golden: after keyring rotation", Vec::new()).await;
    sealed(
        &rotated,
        encrypt(&client, &rotated, b"barrier two", context.clone()).await,
        &context,
        Outcome::Plaintext(b64(b"barrier two")),
    );
    let data_key =
        GenerateDataKeyRequest { key_id: basic.clone(), number_of_bytes: Some(32), ..Default::default() };
    let data_key = client.generate_data_key(&data_key).await.expect("data key");
    sealed(
        &basic,
        data_key.ciphertext_blob.as_bytes().to_vec(),
        &BTreeMap::new(),
        Outcome::Plaintext(b64(data_key.plaintext.as_bytes())),
    );

    // A rekey, confirmed by unsealing a node with the new shares.
    let rekeyed = client.rekey(3, 2).await.expect("rekey");
    cluster.shares = rekeyed.shares.clone();
    cluster.client_of(1).seal(0).await.expect("seal node 1");
    cluster.unseal(1).await;
    tokio::time::sleep(Duration::from_secs(2)).await;

    let mut keys = Vec::new();
    for key_id in [&basic, &disabled, &deleting, &described, &large, &rotated].into_iter().chain(&many) {
        let metadata = client.describe_key(&support::kms::key(key_id)).await.expect("describe").key_metadata;
        let tags = sorted_tags(&client, key_id).await;
        keys.push(GoldenKey {
            key_id: key_id.clone(),
            description: metadata.description,
            state: metadata.key_state.as_str().to_owned(),
            tags,
        });
    }
    let aliases = BTreeMap::from([
        ("alias/golden-basic".to_owned(), basic.clone()),
        ("alias/golden-moved".to_owned(), described.clone()),
    ]);
    let signing = cluster.signing.clone().expect("signing");
    let mut access_keys = vec![signing.credentials.access_key_id.clone(), second.access_key_id.clone()];
    access_keys.sort();
    let manifest = Manifest {
        written_by: std::env::var("TRENT_GOLDEN_WRITTEN_BY").unwrap_or_else(|_| "unrecorded".into()),
        shares: rekeyed.shares,
        retired_shares,
        access_key_id: signing.credentials.access_key_id.clone(),
        secret_access_key: signing.credentials.secret_access_key.to_string(),
        access_keys,
        keys,
        aliases,
        ciphertexts,
    };
    // Every node applied everything before it stops.
    let leader = cluster.wait_for_leader(Duration::from_secs(10)).await;
    let applied = cluster.health(leader).await.expect("health").last_applied_index.expect("applied");
    for (id, _, _) in MEMBERS {
        cluster.wait_for_applied(id, applied, Duration::from_secs(10)).await;
    }
    // Serves itself before it is written down.
    for (id, _, _) in MEMBERS {
        check_serves(&cluster.client_of(id), &manifest).await;
    }
    for node in &mut cluster.nodes {
        node.terminate();
    }
    std::fs::write(out.join("manifest.json"), serde_json::to_vec_pretty(&manifest).expect("json"))
        .expect("write manifest");
    let packed = std::process::Command::new("tar")
        .args(["--sort=name", "--owner=0", "--group=0", "--numeric-owner", "-czf"])
        .arg(out.join("data.tar.gz"))
        .arg("-C")
        .arg(cluster.dir.path())
        .args(["node-1", "node-2", "node-3"])
        .status()
        .expect("run tar");
    assert!(packed.success(), "pack the data directories");
}
