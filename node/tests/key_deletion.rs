//! Scheduled deletion end to end: when the window passes, the leader deletes the key and its
//! aliases, and every node stops knowing it. Time is moved with the nodes' test clock file
//! (`--test-clock-file`, which every node re-reads on each reading of its clock), since nobody
//! waits seven days in a test.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a panic in a test is a failed test

mod support;

use std::time::{Duration, Instant};

use support::ProcessCluster;
use trent_client::wire::kms::{
    AliasTargetRequest, CreateKeyRequest, KeyIdRequest, ScheduleKeyDeletionRequest,
};
use trent_client::wire::ErrorCode;
use trent_client::ClientError;

const DAY_MS: i64 = 24 * 60 * 60 * 1000;

fn is_not_found(result: &Result<impl std::fmt::Debug, ClientError>) -> bool {
    matches!(result, Err(ClientError::Api(error)) if error.code == ErrorCode::NotFound)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn key_is_deleted_on_every_node_once_its_window_has_passed() {
    let clock_dir = tempfile::tempdir().expect("tempdir");
    let clock_file = clock_dir.path().join("clock-offset-ms");
    let clock_arg = clock_file.to_str().expect("utf-8 path");
    let cluster =
        ProcessCluster::start(3, &["--test-clock-file", clock_arg, "--sweep-interval-ms", "100"]).await;
    let leader = cluster.wait_for_leader(Duration::from_secs(10)).await;
    let client = cluster.client_of(leader);
    let doomed = client.create_key(&CreateKeyRequest::default()).await.expect("create").key_metadata.key_id;
    let kept = client.create_key(&CreateKeyRequest::default()).await.expect("create").key_metadata.key_id;
    let alias = AliasTargetRequest { alias_name: "alias/doomed".into(), target_key_id: doomed.clone() };
    client.create_alias(&alias).await.expect("alias");
    let schedule = ScheduleKeyDeletionRequest { key_id: doomed.clone(), pending_window_in_days: Some(7) };
    client.schedule_key_deletion(&schedule).await.expect("schedule deletion");

    // Nothing happens before the date: six days on, several sweeps later, the key is there.
    let describe = |key_id: &str| KeyIdRequest { key_id: key_id.into(), grant_tokens: None };
    std::fs::write(&clock_file, (6 * DAY_MS).to_string()).expect("move the clock");
    tokio::time::sleep(Duration::from_millis(800)).await;
    client.describe_key(&describe(&doomed)).await.expect("still there before the date");

    // Eight days later, by every node's clock, without a restart.
    std::fs::write(&clock_file, (8 * DAY_MS).to_string()).expect("move the clock");
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let gone = {
            let mut all = true;
            for id in 1..=3 {
                all &= is_not_found(&cluster.client_of(id).describe_key(&describe(&doomed)).await);
            }
            all
        };
        if gone {
            break;
        }
        assert!(Instant::now() < deadline, "key was not deleted after its window:\n{}", cluster.logs());
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    for id in 1..=3 {
        let client = cluster.client_of(id);
        let aliases = client.list_all_aliases(None).await.expect("aliases");
        assert!(
            aliases.iter().all(|entry| entry.alias_name != "alias/doomed"),
            "alias outlived its key on node {id}"
        );
        client.describe_key(&describe(&kept)).await.expect("the other key is untouched");
    }
    // The deletion is in the audit trail, as CloudTrail records it: a service event, written by
    // the leader that proposed it, found from any node by a cluster-wide query.
    let query = trent_client::audit::AuditQuery {
        filter: trent_audit::Filter {
            event_name: Some("DeleteKey".into()),
            key_id: Some(doomed.clone()),
            ..Default::default()
        },
        cluster: true,
        ..Default::default()
    };
    let page = cluster.client_of(1).audit_page(&query).await.expect("audit query");
    let events: Vec<_> = page.events.iter().filter(|event| event.event_type == "AwsServiceEvent").collect();
    assert_eq!(events.len(), 1, "{page:?}");
    let identity = events[0].user_identity.as_ref().expect("identity");
    assert_eq!(
        (identity.identity_type.as_str(), identity.invoked_by.as_deref()),
        ("AWSService", Some("kms.amazonaws.com"))
    );
    assert!(events[0].resources[0].arn.ends_with(&doomed));
    assert!(!events[0].read_only);
}
