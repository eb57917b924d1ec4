//! The KMS data plane on three real `trentd` processes: every node serves crypto from its own
//! applied state, so blobs move freely between nodes; a key disabled through any node is refused
//! everywhere within the consistency bound; and a node cut off from the leader refuses
//! key-dependent crypto (`KeyUnavailableException`, 503) once the bound has passed since it last
//! knew its state to be current — GenerateRandom too: it uses no key, but whether the caller may
//! call it is the caller's identity policy, which may have been tightened meanwhile.
//!
//! Alone in its own test binary: the timings below should not compete with other clusters.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a panic in a test is a failed test

mod support;

use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::json;
use support::kms::raw_call_over;
use support::ProcessCluster;
use trent_client::wire::data_plane::*;
use trent_client::wire::kms::{AliasTargetRequest, CreateKeyRequest, KeyIdRequest};
use trent_client::wire::{Blob, ErrorCode};
use trent_client::{ClientError, TrentClient};

/// `RaftTiming::consistency_bound_ms`, the default the cluster runs with.
const BOUND: Duration = Duration::from_millis(500);
/// What a measurement adds to the bound: the time from the node's decision to the test seeing
/// it. We time the *return* of the first refused call (the node decided before that) and poll
/// every [`POLL`]: so one poll gap plus one request round trip — a few ms normally, but tens of
/// ms when the two cores are shared with three debug-build nodes and concurrent compilations.
/// 250 ms covers that with room while staying far below what a node that ignores the bound
/// shows: it would serve the disabled key until the next election or forever.
const MARGIN: Duration = Duration::from_millis(250);
const POLL: Duration = Duration::from_millis(5);

/// One cluster at a time: the tests of this binary would otherwise run their clusters in
/// parallel, nine debug-build nodes on two cores, and time each other rather than the bound.
static ONE_CLUSTER_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

fn context(pairs: &[(&str, &str)]) -> Option<EncryptionContext> {
    Some(pairs.iter().map(|(key, value)| (key.to_string(), value.to_string())).collect())
}

fn encrypt_request(key_id: &str, plaintext: &[u8]) -> EncryptRequest {
    EncryptRequest { key_id: key_id.to_owned(), plaintext: Blob(plaintext.to_vec()), ..Default::default() }
}

fn decrypt_request(blob: &[u8], context: Option<EncryptionContext>) -> DecryptRequest {
    DecryptRequest {
        ciphertext_blob: Some(Blob(blob.to_vec())),
        encryption_context: context,
        ..Default::default()
    }
}

fn data_key_request(key_id: &str) -> GenerateDataKeyRequest {
    GenerateDataKeyRequest {
        key_id: key_id.to_owned(),
        key_spec: Some("AES_256".into()),
        ..Default::default()
    }
}

fn key_id_request(key_id: &str) -> KeyIdRequest {
    KeyIdRequest { key_id: key_id.to_owned(), grant_tokens: None }
}

fn code_of<T>(result: &Result<T, ClientError>) -> Option<ErrorCode> {
    result.as_ref().err().and_then(ClientError::code)
}

fn key_arn(key_id: &str) -> String {
    format!("arn:aws:kms:us-east-1:111122223333:key/{key_id}")
}

/// Creates a key through node `via`; returns its id once every node encrypts with it.
async fn create_usable_key(cluster: &ProcessCluster, via: u64) -> String {
    let request = CreateKeyRequest { description: Some("crypto cluster".into()), ..Default::default() };
    let key_id = cluster.client_of(via).create_key(&request).await.expect("CreateKey").key_metadata.key_id;
    wait_until_usable(cluster, &key_id, &[1, 2, 3], Duration::from_secs(10)).await;
    key_id
}

/// Waits until every node in `ids` encrypts under `key_id`.
async fn wait_until_usable(cluster: &ProcessCluster, key_id: &str, ids: &[u64], within: Duration) {
    let started = Instant::now();
    for id in ids {
        let client = cluster.client_of(*id);
        loop {
            let result = client.encrypt(&encrypt_request(key_id, b"probe")).await;
            if result.is_ok() {
                break;
            }
            assert!(
                started.elapsed() < within,
                "node {id} cannot encrypt under {key_id} after {within:?}: {result:?}\n{}",
                cluster.logs()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

/// Sends `signal` (`STOP`, `CONT`) to `pid` with kill(1).
fn signal(signal: &str, pid: u32) -> bool {
    Command::new("kill")
        .args([format!("-{signal}"), pid.to_string()])
        .status()
        .map(|status| status.success())
        .unwrap_or(false)
}

/// Processes held with SIGSTOP; resumed when dropped, so a failing test never leaves a stopped
/// `trentd` behind (the cluster's own drop then kills them).
struct Stopped {
    pids: Vec<u32>,
}

impl Stopped {
    fn stop(pids: Vec<u32>) -> Stopped {
        let mut stopped = Stopped { pids: Vec::new() };
        for pid in pids {
            // Recorded before signalling: a half-done stop is still undone on drop.
            stopped.pids.push(pid);
            assert!(signal("STOP", pid), "SIGSTOP {pid} failed");
        }
        stopped
    }

    fn resume(&mut self) {
        for pid in self.pids.drain(..) {
            if !signal("CONT", pid) {
                eprintln!("SIGCONT {pid} failed");
            }
        }
    }
}

impl Drop for Stopped {
    fn drop(&mut self) {
        self.resume();
    }
}

// ---------------------------------------------------------------------------------------------
// (a) Blobs move between nodes
// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blobs_made_on_any_node_decrypt_on_every_node() {
    let _serial = ONE_CLUSTER_AT_A_TIME.lock().await;
    let cluster = ProcessCluster::start(3, &[]).await;
    let leader = cluster.wait_for_leader(Duration::from_secs(10)).await;
    let ids = [1u64, 2, 3];
    let key_id = create_usable_key(&cluster, leader).await;
    let follower = cluster.followers(leader)[0];
    let second = create_usable_key(&cluster, follower).await;
    let alias = AliasTargetRequest { alias_name: "alias/shared".into(), target_key_id: key_id.clone() };
    cluster.client_of(follower).create_alias(&alias).await.expect("CreateAlias");

    struct Made {
        on: u64,
        plaintext: Vec<u8>,
        blob: Vec<u8>,
        context: Option<EncryptionContext>,
    }
    let mut made = Vec::new();
    for on in ids {
        let client = cluster.client_of(on);
        let made_on = on.to_string();
        let ctx = context(&[("made-on", made_on.as_str())]);
        // The alias was created through a follower: wait until this node resolves it.
        let deadline = Instant::now() + Duration::from_secs(10);
        let encrypted = loop {
            let request = EncryptRequest {
                encryption_context: ctx.clone(),
                ..encrypt_request("alias/shared", format!("secret from node {on}").as_bytes())
            };
            match client.encrypt(&request).await {
                Ok(encrypted) => break encrypted,
                Err(error) if error.code() == Some(ErrorCode::NotFound) && Instant::now() < deadline => {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
                Err(error) => panic!("Encrypt via alias on node {on}: {error}"),
            }
        };
        assert_eq!(encrypted.key_id, key_arn(&key_id));
        made.push(Made {
            on,
            plaintext: format!("secret from node {on}").into_bytes(),
            blob: encrypted.ciphertext_blob.0.clone(),
            context: ctx.clone(),
        });
        let data_key = client
            .generate_data_key(&GenerateDataKeyRequest {
                encryption_context: ctx.clone(),
                ..data_key_request(&key_id)
            })
            .await
            .expect("GenerateDataKey");
        assert_eq!(data_key.plaintext.len(), 32);
        made.push(Made {
            on,
            plaintext: data_key.plaintext.0.clone(),
            blob: data_key.ciphertext_blob.0.clone(),
            context: ctx.clone(),
        });
        let without = client
            .generate_data_key_without_plaintext(&data_key_request(&second))
            .await
            .expect("GenerateDataKeyWithoutPlaintext");
        assert_eq!(without.key_id, key_arn(&second));
        // Its plaintext is unknown; the node that made it is asked first, every node must agree.
        let plaintext = client
            .decrypt(&decrypt_request(without.ciphertext_blob.as_bytes(), None))
            .await
            .expect("Decrypt");
        assert_eq!(plaintext.plaintext.len(), 32);
        made.push(Made {
            on,
            plaintext: plaintext.plaintext.0.clone(),
            blob: without.ciphertext_blob.0.clone(),
            context: None,
        });
    }

    for item in &made {
        for reader in ids {
            let client = cluster.client_of(reader);
            let opened =
                client.decrypt(&decrypt_request(&item.blob, item.context.clone())).await.unwrap_or_else(
                    |error| panic!("blob made on node {} fails on node {reader}: {error}", item.on),
                );
            assert_eq!(opened.plaintext.as_bytes(), item.plaintext, "made on {}, read on {reader}", item.on);
            let wrong = context(&[("made-on", "elsewhere")]);
            let refused = client.decrypt(&decrypt_request(&item.blob, wrong)).await;
            assert_eq!(code_of(&refused), Some(ErrorCode::InvalidCiphertext), "{refused:?}");
            let mut forged = item.blob.clone();
            let last = forged.len() - 1;
            forged[last] ^= 1;
            let refused = client.decrypt(&decrypt_request(&forged, item.context.clone())).await;
            assert_eq!(code_of(&refused), Some(ErrorCode::InvalidCiphertext), "{refused:?}");
        }
    }

    // ReEncrypt on one node, Decrypt on the next.
    for (index, item) in made.iter().filter(|item| item.context.is_some()).enumerate() {
        let on = ids[index % 3];
        let reader = ids[(index + 1) % 3];
        let request = ReEncryptRequest {
            ciphertext_blob: Some(Blob(item.blob.clone())),
            source_encryption_context: item.context.clone(),
            destination_key_id: second.clone(),
            ..Default::default()
        };
        let moved = cluster.client_of(on).re_encrypt(&request).await.expect("ReEncrypt");
        assert_eq!(
            (moved.source_key_id.as_str(), moved.key_id.as_str()),
            (key_arn(&key_id).as_str(), key_arn(&second).as_str())
        );
        let opened = cluster
            .client_of(reader)
            .decrypt(&decrypt_request(moved.ciphertext_blob.as_bytes(), None))
            .await
            .expect("Decrypt the re-encrypted blob on another node");
        assert_eq!(opened.plaintext.as_bytes(), item.plaintext);
    }
}

// ---------------------------------------------------------------------------------------------
// (b) Revocation reaches every node within the bound
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone)]
struct Observation {
    /// When the call was sent, after the DisableKey acknowledgement.
    sent: Duration,
    /// When its answer arrived.
    answered: Duration,
    outcome: Result<(), String>,
    code: Option<ErrorCode>,
}

/// Encrypts under `key_id` on one node every [`POLL`] from `since` until the node has refused
/// with DisabledException five times in a row, or `give_up` has passed.
async fn watch(client: TrentClient, key_id: String, since: Instant, give_up: Duration) -> Vec<Observation> {
    let mut seen = Vec::new();
    let mut disabled_in_a_row = 0;
    while disabled_in_a_row < 5 && since.elapsed() < give_up {
        let sent = since.elapsed();
        let result = client.encrypt(&encrypt_request(&key_id, b"still usable?")).await;
        let answered = since.elapsed();
        let code = code_of(&result);
        disabled_in_a_row = if code == Some(ErrorCode::Disabled) { disabled_in_a_row + 1 } else { 0 };
        seen.push(Observation { sent, answered, outcome: result.map(drop).map_err(|e| e.to_string()), code });
        tokio::time::sleep(POLL).await;
    }
    seen
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_disabled_key_is_refused_by_every_node_within_the_bound() {
    let _serial = ONE_CLUSTER_AT_A_TIME.lock().await;
    let cluster = ProcessCluster::start(3, &[]).await;
    let leader = cluster.wait_for_leader(Duration::from_secs(10)).await;
    let follower = cluster.followers(leader)[0];
    let mut failures = Vec::new();

    for (role, via) in [("leader", leader), ("follower", follower)] {
        let key_id = create_usable_key(&cluster, leader).await;
        let blob = cluster
            .client_of(via)
            .encrypt(&encrypt_request(&key_id, b"old data"))
            .await
            .expect("Encrypt")
            .ciphertext_blob
            .0
            .clone();

        cluster.client_of(via).disable_key(&key_id_request(&key_id)).await.expect("DisableKey");
        let acknowledged = Instant::now();
        // Read-your-writes: the node the write went through has applied it before answering.
        let own = cluster.client_of(via).encrypt(&encrypt_request(&key_id, b"new data")).await;
        assert_eq!(code_of(&own), Some(ErrorCode::Disabled), "Encrypt on node {via} right after: {own:?}");
        let watchers: Vec<_> = [1u64, 2, 3]
            .into_iter()
            .map(|id| {
                let client = cluster.client_of(id);
                let key_id = key_id.clone();
                (id, tokio::spawn(watch(client, key_id, acknowledged, Duration::from_secs(5))))
            })
            .collect();
        for (id, watcher) in watchers {
            let seen = watcher.await.expect("watcher");
            let first_disabled = seen.iter().find(|o| o.code == Some(ErrorCode::Disabled)).cloned();
            let last_success = seen.iter().rfind(|o| o.outcome.is_ok()).cloned();
            let unavailable = seen.iter().filter(|o| o.code == Some(ErrorCode::KeyUnavailable)).count();
            let line = format!(
                "DisableKey via {role} (node {via}): node {id}{} refuses after {} (last success answered at {}, {} KeyUnavailable, {} polls)",
                if id == leader { " [leader]" } else { "" },
                first_disabled.as_ref().map_or("never".into(), |o| format!("{:?}", o.answered)),
                last_success.as_ref().map_or("-".into(), |o| format!("{:?}", o.answered)),
                unavailable,
                seen.len(),
            );
            println!("{line}");
            let Some(first_disabled) = first_disabled else {
                failures
                    .push(format!("node {id} never refused the key disabled via {role}: {:?}", seen.last()));
                continue;
            };
            if first_disabled.answered >= BOUND + MARGIN {
                failures.push(format!(
                    "node {id} refused the key disabled via {role} only after {:?}",
                    first_disabled.answered
                ));
            }
            // Nothing but success before the refusal, nothing but refusals after it.
            for observation in &seen {
                let after_refusal = observation.sent > first_disabled.answered;
                let acceptable = match (&observation.outcome, observation.code) {
                    (Ok(()), _) => !after_refusal && observation.sent < BOUND,
                    (Err(_), Some(ErrorCode::Disabled | ErrorCode::KeyUnavailable)) => true,
                    (Err(_), _) => false,
                };
                if !acceptable {
                    failures.push(format!("node {id}, key disabled via {role}: unexpected {observation:?}"));
                }
            }
        }

        // Every key-dependent operation is refused everywhere now, old blobs included.
        for id in [1u64, 2, 3] {
            let client = cluster.client_of(id);
            let result = client.decrypt(&decrypt_request(&blob, None)).await;
            assert_eq!(code_of(&result), Some(ErrorCode::Disabled), "Decrypt on node {id}: {result:?}");
            let result = client.generate_data_key(&data_key_request(&key_id)).await;
            assert_eq!(
                code_of(&result),
                Some(ErrorCode::Disabled),
                "GenerateDataKey on node {id}: {result:?}"
            );
        }
    }
    println!("consistency bound {BOUND:?}, margin {MARGIN:?}");
    assert!(failures.is_empty(), "{}\n{}", failures.join("\n"), cluster.logs());
}

// ---------------------------------------------------------------------------------------------
// (c) A node cut off from the leader refuses
// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_cut_off_from_the_leader_refuses_every_call_its_policies_decide() {
    let _serial = ONE_CLUSTER_AT_A_TIME.lock().await;
    let mut cluster = ProcessCluster::start(3, &[]).await;
    let signing = cluster.signing.clone().expect("initialised");
    let leader = cluster.wait_for_leader(Duration::from_secs(10)).await;
    let key_id = create_usable_key(&cluster, leader).await;
    let blob = cluster
        .client_of(leader)
        .encrypt(&encrypt_request(&key_id, b"before the partition"))
        .await
        .expect("Encrypt")
        .ciphertext_blob
        .0
        .clone();

    // First a follower is cut off (the leader and the other follower stop), then the leader (both
    // followers stop): each loses its evidence a different way.
    for round in ["follower", "leader"] {
        let leader = cluster.wait_for_leader(Duration::from_secs(15)).await;
        let isolated = if round == "leader" { leader } else { cluster.followers(leader)[0] };
        let others = cluster.followers(isolated);
        let client = cluster.client_of(isolated);
        wait_until_usable(&cluster, &key_id, &[isolated], Duration::from_secs(10)).await;
        let pids: Vec<u32> =
            others.iter().map(|id| cluster.node(*id).pid().expect("running node has a pid")).collect();

        let mut stopped = Stopped::stop(pids);
        let stopped_at = Instant::now();
        // Encrypt keeps working until the bound runs out, then is refused.
        let mut last_success: Option<(Duration, Duration)> = None;
        let first_refusal = loop {
            let sent = stopped_at.elapsed();
            let result = client.encrypt(&encrypt_request(&key_id, b"during the partition")).await;
            let answered = stopped_at.elapsed();
            match code_of(&result) {
                // Evidence is at most as new as the last message from the others, which was
                // sent before SIGSTOP; a follower stamps it when it handles the message, which
                // on a busy machine can be a little later: hence the margin here too.
                None if result.is_ok() => {
                    assert!(
                        sent < BOUND + MARGIN,
                        "isolated {round} (node {isolated}) still encrypts {sent:?} after losing the others"
                    );
                    last_success = Some((sent, answered));
                }
                Some(ErrorCode::KeyUnavailable) => break (sent, answered),
                _ => panic!("isolated {round} (node {isolated}): unexpected {result:?}"),
            }
            tokio::time::sleep(POLL).await;
        };
        println!(
            "isolated {round} (node {isolated}), nodes {others:?} stopped: last Encrypt success sent/answered at \
             {last_success:?}, first KeyUnavailable sent/answered at {first_refusal:?}"
        );
        assert!(first_refusal.0 < BOUND + MARGIN, "first refusal only at {first_refusal:?}");
        tokio::time::sleep((BOUND + MARGIN).saturating_sub(stopped_at.elapsed())).await;

        // Past the bound: every key-dependent operation refuses, with 503 on the wire.
        let answer = raw_call_over(
            &cluster.endpoint(isolated),
            Some(cluster.certs.client_tls()),
            &signing,
            "Encrypt",
            &json!({"KeyId": key_id, "Plaintext": "eA=="}),
        )
        .await;
        assert_eq!(answer.0, 503, "{answer:?}");
        assert_eq!(answer.1["__type"], "KeyUnavailableException", "{answer:?}");
        let unknown_key = uuid::Uuid::new_v4().to_string();
        let results: Vec<(&str, Option<ErrorCode>)> = vec![
            ("Encrypt", code_of(&client.encrypt(&encrypt_request(&key_id, b"x")).await)),
            ("Decrypt", code_of(&client.decrypt(&decrypt_request(&blob, None)).await)),
            ("GenerateDataKey", code_of(&client.generate_data_key(&data_key_request(&key_id)).await)),
            (
                "GenerateDataKeyWithoutPlaintext",
                code_of(&client.generate_data_key_without_plaintext(&data_key_request(&key_id)).await),
            ),
            (
                "ReEncrypt",
                code_of(
                    &client
                        .re_encrypt(&ReEncryptRequest {
                            ciphertext_blob: Some(Blob(blob.clone())),
                            destination_key_id: key_id.clone(),
                            ..Default::default()
                        })
                        .await,
                ),
            ),
            // It cannot vouch that a key does not exist either: it may have been created since.
            ("Encrypt (unknown key)", code_of(&client.encrypt(&encrypt_request(&unknown_key, b"x")).await)),
        ];
        for (operation, code) in results {
            assert_eq!(
                code,
                Some(ErrorCode::KeyUnavailable),
                "{operation} on isolated {round} (node {isolated})"
            );
        }
        // Authorized by the caller's identity policy, which this node cannot vouch for either.
        let random = GenerateRandomRequest { number_of_bytes: Some(32), ..Default::default() };
        assert_eq!(code_of(&client.generate_random(&random).await), Some(ErrorCode::KeyUnavailable));

        // It stays refused for as long as it is cut off (an isolated follower campaigns, an
        // isolated leader keeps its role; neither is evidence).
        tokio::time::sleep(Duration::from_millis(1500)).await;
        let result = client.encrypt(&encrypt_request(&key_id, b"x")).await;
        assert_eq!(code_of(&result), Some(ErrorCode::KeyUnavailable), "{round} after 2 s: {result:?}");

        stopped.resume();
        let resumed_at = Instant::now();
        let recovered = loop {
            let result = client.encrypt(&encrypt_request(&key_id, b"after the partition")).await;
            match code_of(&result) {
                None if result.is_ok() => break resumed_at.elapsed(),
                Some(ErrorCode::KeyUnavailable) | None => {}
                _ => panic!("node {isolated} after SIGCONT: unexpected {result:?}"),
            }
            assert!(
                resumed_at.elapsed() < Duration::from_secs(5),
                "node {isolated} still refuses 5 s after SIGCONT: {result:?}\n{}",
                cluster.logs()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        };
        println!("node {isolated} ({round}) encrypts again {recovered:?} after SIGCONT");
        drop(stopped);
        let opened = client.decrypt(&decrypt_request(&blob, None)).await.expect("Decrypt after recovery");
        assert_eq!(opened.plaintext.as_bytes(), b"before the partition");
    }
}
