//! The audit trail's promises on real `trentd` processes: every acknowledged call's record
//! survives a SIGKILL in the middle of a load (records are durable before the answer), the chain
//! verifies after the restart, and a node whose audit disk is full refuses every call with a 500,
//! says so in its health, and serves again once space returns.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a panic in a test is a failed test

mod support;

use std::collections::HashSet;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use support::ProcessCluster;
use trent_client::{new_request_id, ClientError, TrentClient};

/// Every `clientRequestId` (the `x-trent-request-id` trent-client sent) of a served call (no
/// `errorCode`) in `dir`.
fn served_request_ids(dir: &Path) -> HashSet<String> {
    let mut ids = HashSet::new();
    let mut after = None;
    loop {
        let page = trent_audit::query(dir, &trent_audit::Filter::default(), after, 1000).expect("query");
        ids.extend(
            page.events
                .into_iter()
                .filter(|s| s.event.error_code.is_none())
                .filter_map(|s| s.event.client_request_id),
        );
        match page.next_after {
            Some(next) => after = Some(next),
            None => return ids,
        }
    }
}

async fn encrypt(client: &TrentClient, key_id: &str, request_id: &str) -> Result<Value, ClientError> {
    client
        .call_with_request_id("Encrypt", &json!({"KeyId": key_id, "Plaintext": "aGVsbG8="}), request_id)
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_acknowledged_call_has_its_record_after_a_sigkill() {
    let mut cluster = ProcessCluster::start(3, &[]).await;
    let leader = cluster.wait_for_leader(Duration::from_secs(10)).await;
    let key: Value = cluster.client_of(leader).call("CreateKey", &json!({})).await.unwrap();
    let key_id = key["KeyMetadata"]["KeyId"].as_str().unwrap().to_owned();
    // The victim is a follower serving crypto, so the cluster goes on while it is down.
    let victim = cluster.followers(leader)[0];
    let client = cluster.client_of(victim);
    let acknowledged = Arc::new(Mutex::new(Vec::new()));
    let mut workers = Vec::new();
    for _ in 0..8 {
        let (client, key_id, acknowledged) = (client.clone(), key_id.clone(), acknowledged.clone());
        workers.push(tokio::spawn(async move {
            loop {
                let request_id = new_request_id();
                match encrypt(&client, &key_id, &request_id).await {
                    Ok(_) => acknowledged.lock().unwrap().push(request_id),
                    Err(ClientError::Api(_)) => {}
                    Err(_) => return, // the connection died with the node
                }
            }
        }));
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;
    cluster.node(victim).kill();
    for worker in workers {
        let _ = tokio::time::timeout(Duration::from_secs(10), worker).await;
    }
    let acknowledged = acknowledged.lock().unwrap().clone();
    assert!(acknowledged.len() > 50, "only {} calls before the kill", acknowledged.len());

    cluster.start_node(victim).await;
    cluster.unseal(victim).await;
    let audit_dir = cluster.nodes[(victim - 1) as usize].data_dir.join("audit");
    let recorded = served_request_ids(&audit_dir);
    let lost: Vec<&String> = acknowledged.iter().filter(|id| !recorded.contains(*id)).collect();
    assert!(
        lost.is_empty(),
        "{} of {} acknowledged calls have no record: {lost:?}",
        lost.len(),
        acknowledged.len()
    );
    let report = trent_audit::verify_dir(&audit_dir, None).unwrap();
    assert!(report.problem.is_none(), "{report:?}");
    // The restarted node goes on appending to the same chain.
    encrypt(&cluster.client_of(victim), &key_id, &new_request_id()).await.unwrap();
    let report = trent_audit::verify_dir(&audit_dir, None).unwrap();
    assert!(report.problem.is_none(), "{report:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_full_audit_disk_refuses_calls_until_space_returns() {
    if !support::privileged("a_full_audit_disk_refuses_calls_until_space_returns") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let audit_dir = dir.path().join("audit-1");
    let disk = support::SmallDisk::mount(audit_dir.clone(), "1m");
    let audit_arg = audit_dir.to_str().unwrap().to_owned();
    let cluster = ProcessCluster::start_in(1, &["--audit-dir", &audit_arg], dir).await;
    let client = cluster.client_of(1);
    let key: Value = client.call("CreateKey", &json!({})).await.unwrap();
    let key_id = key["KeyMetadata"]["KeyId"].as_str().unwrap().to_owned();
    encrypt(&client, &key_id, &new_request_id()).await.unwrap();

    // Fill the audit disk to the last byte.
    let filler = disk.path.join("filler");
    {
        use std::io::Write;
        let mut file = std::fs::File::create(&filler).unwrap();
        let chunk = vec![0u8; 4096];
        while file.write_all(&chunk).is_ok() {}
        let _ = file.sync_all();
    }
    // The current file's preallocated space still holds a few hundred records; whatever is
    // answered must be recorded, and once that space is used every call is refused.
    let mut answered = Vec::new();
    let mut refusals = 0;
    for _ in 0..2000 {
        let request_id = new_request_id();
        match encrypt(&client, &key_id, &request_id).await {
            Ok(_) if refusals == 0 => answered.push(request_id),
            Ok(answer) => panic!("a call was answered after the audit disk filled: {answer:?}"),
            Err(ClientError::Api(error)) => {
                assert_eq!(error.code, trent_client::wire::ErrorCode::Internal, "{error}");
                assert!(error.message.contains("audit trail"), "{error}");
                refusals += 1;
                if refusals == 5 {
                    break;
                }
            }
            Err(other) => panic!("{other}"),
        }
    }
    assert_eq!(refusals, 5);
    let health = cluster.health(1).await.expect("health answers");
    assert!(!health.ready, "{health:?}");
    assert!(health.problems.iter().any(|problem| problem.contains("audit trail cannot write")), "{health:?}");
    let recorded = served_request_ids(&audit_dir);
    assert!(answered.iter().all(|id| recorded.contains(id)), "an answered call has no record");
    assert_eq!(refusals, 5, "the disk never filled: {} calls answered", answered.len());

    // Space returns: within a few calls (each refused one records its refusal, which clears
    // the failure) the node serves again, and every served call is recorded.
    std::fs::remove_file(&filler).unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    let served = loop {
        let request_id = new_request_id();
        if encrypt(&client, &key_id, &request_id).await.is_ok() {
            break request_id;
        }
        assert!(Instant::now() < deadline, "the node did not recover:\n{}", cluster.logs());
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(served_request_ids(&audit_dir).contains(&served));
    assert!(cluster.health(1).await.expect("health").ready);
    let report = trent_audit::verify_dir(&audit_dir, None).unwrap();
    assert!(report.problem.is_none(), "the chain survived the full disk: {report:?}");
}
