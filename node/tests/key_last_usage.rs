//! GetKeyLastUsage on three real `trentd` processes: a use served by one node is reported by
//! every node (each asks the others), the latest use wins, an unused key reports `{}`, aliases and
//! unknown keys are `NotFoundException`, a node that is down is left out of the answer, and a node
//! that stops cleanly keeps its uses across the restart.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a panic in a test is a failed test

mod support;

use std::time::{Duration, Instant};

use serde_json::json;
use support::kms::now_seconds;
use support::ProcessCluster;
use trent_client::wire::data_plane::{DecryptRequest, DecryptResponse, EncryptRequest, EncryptResponse};
use trent_client::wire::data_plane::{ReEncryptRequest, ReEncryptResponse};
use trent_client::wire::kms::{AliasTargetRequest, CreateKeyRequest, GetKeyLastUsageResponse, KeyIdRequest};
use trent_client::wire::{Blob, ErrorCode};
use trent_client::{new_request_id, ClientError, TrentClient};

async fn last_usage(client: &TrentClient, key_id: &str) -> Result<GetKeyLastUsageResponse, ClientError> {
    client.get_key_last_usage(&KeyIdRequest { key_id: key_id.to_owned(), grant_tokens: None }).await
}

/// Calls `operation` through `client` with the request id `request_id` until it succeeds (a key
/// just created may not have reached the node yet): only the call that succeeds is a use.
async fn call_until_served<Req: serde::Serialize, Resp: serde::de::DeserializeOwned>(
    client: &TrentClient,
    operation: &str,
    request: &Req,
    request_id: &str,
) -> Resp {
    let started = Instant::now();
    loop {
        match client.call_with_request_id(operation, request, request_id).await {
            Ok(response) => return response,
            Err(error) if started.elapsed() < Duration::from_secs(10) => {
                eprintln!("{operation} not served yet: {error}");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Err(error) => panic!("{operation}: {error}"),
        }
    }
}

fn code<T: std::fmt::Debug>(result: Result<T, ClientError>) -> Option<ErrorCode> {
    result.expect_err("refused").code()
}

/// The `requestID` (`x-amzn-RequestId`) of the served attempt of the call the harness sent with
/// `client_id` as its `x-trent-request-id`, from the nodes' audit logs.
fn served_request_id(cluster: &ProcessCluster, client_id: &str) -> String {
    for node in &cluster.nodes {
        let dir = node.data_dir.join("audit");
        let mut after = None;
        loop {
            let page =
                trent_audit::query(&dir, &trent_audit::Filter::default(), after, 1000).expect("audit query");
            let served = page.events.iter().find(|stored| {
                stored.event.client_request_id.as_deref() == Some(client_id)
                    && stored.event.error_code.is_none()
            });
            if let Some(stored) = served {
                return stored.event.request_id.clone();
            }
            match page.next_after {
                Some(next) => after = Some(next),
                None => break,
            }
        }
    }
    panic!("no served record of {client_id}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_node_reports_the_latest_use_of_a_key_wherever_it_was_served() {
    let mut cluster = ProcessCluster::start(3, &[]).await;
    let (one, two, three) = (cluster.client_of(1), cluster.client_of(2), cluster.client_of(3));
    let create = CreateKeyRequest::default();
    let key = one.create_key(&create).await.expect("CreateKey").key_metadata;
    let other = one.create_key(&create).await.expect("CreateKey").key_metadata;

    // Unused: an empty object, and tracking never starts before the key existed.
    let unused = last_usage(&one, &key.key_id).await.expect("GetKeyLastUsage");
    assert_eq!(unused.key_id, key.arn);
    assert_eq!(unused.key_last_usage, Default::default());
    assert_eq!(unused.key_creation_date, key.creation_date);
    assert!(unused.tracking_start_date >= unused.key_creation_date, "{unused:?}");

    // Encrypt through node 2; nodes 1 and 3 report it.
    let encrypt_id = new_request_id();
    let before = now_seconds() - 1.0;
    let request = EncryptRequest {
        key_id: key.key_id.clone(),
        plaintext: Blob(b"used".to_vec()),
        ..Default::default()
    };
    let encrypted: EncryptResponse = call_until_served(&two, "Encrypt", &request, &encrypt_id).await;
    let after = now_seconds() + 1.0;
    let via_one = last_usage(&one, &key.key_id).await.expect("GetKeyLastUsage").key_last_usage;
    let via_three = last_usage(&three, &key.arn).await.expect("GetKeyLastUsage by ARN").key_last_usage;
    assert_eq!(via_one, via_three, "every node gives the cluster's answer");
    assert_eq!(via_one.operation.as_deref(), Some("Encrypt"));
    assert_eq!(via_one.kms_request_id, Some(served_request_id(&cluster, &encrypt_id)));
    let encrypt_event = via_one.cloud_trail_event_id.clone().expect("CloudTrailEventId");
    assert!(uuid::Uuid::try_parse(&encrypt_event).is_ok() && encrypt_event != encrypt_id, "{encrypt_event}");
    // The event id is the id of node 2's audit record of that Encrypt, found from node 1 by a
    // cluster-wide audit query.
    let query = trent_client::audit::AuditQuery {
        filter: trent_audit::Filter {
            event_name: Some("Encrypt".into()),
            key_id: Some(key.key_id.clone()),
            ..Default::default()
        },
        cluster: true,
        ..Default::default()
    };
    let page = one.audit_page(&query).await.expect("cluster audit query");
    assert!(page.unreachable_nodes.is_empty(), "{page:?}");
    let served: Vec<_> = page
        .events
        .iter()
        .filter(|event| event.client_request_id.as_deref() == Some(&encrypt_id) && event.error_code.is_none())
        .collect();
    assert_eq!(served.len(), 1, "{page:?}");
    assert_eq!(served[0].event_id, encrypt_event);
    assert_eq!(served[0].node_id, 2);
    let at = via_one.timestamp.expect("Timestamp");
    assert!(before <= at && at <= after, "{before} <= {at} <= {after}");
    assert_eq!(
        last_usage(&one, &other.key_id).await.expect("GetKeyLastUsage").key_last_usage,
        Default::default(),
        "a use of one key is not a use of another"
    );

    // Decrypt through node 3 is later: node 2, which served the Encrypt, reports the Decrypt.
    let decrypt_id = new_request_id();
    let request =
        DecryptRequest { ciphertext_blob: Some(encrypted.ciphertext_blob.clone()), ..Default::default() };
    let _: DecryptResponse = call_until_served(&three, "Decrypt", &request, &decrypt_id).await;
    let via_two = last_usage(&two, &key.key_id).await.expect("GetKeyLastUsage").key_last_usage;
    assert_eq!(via_two.operation.as_deref(), Some("Decrypt"));
    assert_eq!(via_two.kms_request_id, Some(served_request_id(&cluster, &decrypt_id)));
    assert_ne!(via_two.cloud_trail_event_id.as_deref(), Some(encrypt_event.as_str()));
    assert!(via_two.timestamp.expect("Timestamp") >= at);
    let decrypt_view = via_two.clone();

    // A failed call is no use.
    let wrong_context = DecryptRequest {
        ciphertext_blob: Some(encrypted.ciphertext_blob.clone()),
        encryption_context: Some([("k".to_owned(), "v".to_owned())].into()),
        ..Default::default()
    };
    assert_eq!(code(one.decrypt(&wrong_context).await), Some(ErrorCode::InvalidCiphertext));
    assert_eq!(last_usage(&one, &key.key_id).await.expect("GetKeyLastUsage").key_last_usage, decrypt_view);

    // Key ids and key ARNs only: an alias (name or ARN) is NotFoundException, as is an unknown key.
    let alias = AliasTargetRequest { alias_name: "alias/usage".into(), target_key_id: key.key_id.clone() };
    one.create_alias(&alias).await.expect("CreateAlias");
    assert_eq!(code(last_usage(&one, "alias/usage").await), Some(ErrorCode::NotFound));
    let alias_arn = "arn:aws:kms:us-east-1:111122223333:alias/usage";
    assert_eq!(code(last_usage(&one, alias_arn).await), Some(ErrorCode::NotFound));
    assert_eq!(code(last_usage(&one, &uuid::Uuid::new_v4().to_string()).await), Some(ErrorCode::NotFound));
    assert_eq!(code(last_usage(&one, "not-a-key").await), Some(ErrorCode::NotFound));
    let body = json!({});
    let missing: Result<serde_json::Value, _> = one.call("GetKeyLastUsage", &body).await;
    assert_eq!(code(missing), Some(ErrorCode::Validation));

    // Node 3 stops cleanly: meanwhile the others answer without it (node 2's Encrypt is all
    // they know); back up, its Decrypt is known again, read from its file.
    cluster.node(3).terminate();
    assert!(cluster.node(3).data_dir.join("key-usage.json").exists(), "written on shutdown");
    let without_three = last_usage(&one, &key.key_id).await.expect("GetKeyLastUsage without node 3");
    assert_eq!(without_three.key_last_usage.kms_request_id, Some(served_request_id(&cluster, &encrypt_id)));
    cluster.start_node(3).await;
    let started = Instant::now();
    loop {
        let answer = last_usage(&one, &key.key_id).await.expect("GetKeyLastUsage").key_last_usage;
        if answer == decrypt_view {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(10), "node 3 forgot its Decrypt: {answer:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // ReEncrypt is a use of its source and of its destination.
    let reencrypt_id = new_request_id();
    let request = ReEncryptRequest {
        ciphertext_blob: Some(encrypted.ciphertext_blob.clone()),
        destination_key_id: other.key_id.clone(),
        ..Default::default()
    };
    let _: ReEncryptResponse = call_until_served(&one, "ReEncrypt", &request, &reencrypt_id).await;
    for key_id in [&key.key_id, &other.key_id] {
        let answer = last_usage(&three, key_id).await.expect("GetKeyLastUsage").key_last_usage;
        assert_eq!(answer.operation.as_deref(), Some("ReEncrypt"), "{key_id}");
        assert_eq!(answer.kms_request_id, Some(served_request_id(&cluster, &reencrypt_id)), "{key_id}");
    }

    // A key pending deletion still answers.
    let schedule = json!({"KeyId": other.key_id, "PendingWindowInDays": 7});
    let _: serde_json::Value = one.call("ScheduleKeyDeletion", &schedule).await.expect("ScheduleKeyDeletion");
    let pending = last_usage(&two, &other.key_id).await.expect("GetKeyLastUsage of a key pending deletion");
    assert_eq!(pending.key_last_usage.operation.as_deref(), Some("ReEncrypt"));

    // A use served just before a SIGKILL (before any write of the file) is not lost: the node
    // completes its uses from its audit log when it starts again.
    let killed_id = new_request_id();
    let request = EncryptRequest {
        key_id: key.key_id.clone(),
        plaintext: Blob(b"last".to_vec()),
        ..Default::default()
    };
    let _: EncryptResponse = call_until_served(&three, "Encrypt", &request, &killed_id).await;
    cluster.node(3).kill();
    let killed_request = served_request_id(&cluster, &killed_id);
    cluster.start_node(3).await;
    let started = Instant::now();
    loop {
        let answer = last_usage(&one, &key.key_id).await.expect("GetKeyLastUsage").key_last_usage;
        if answer.kms_request_id.as_deref() == Some(killed_request.as_str()) {
            assert_eq!(answer.operation.as_deref(), Some("Encrypt"));
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "node 3 lost the use before its SIGKILL: {answer:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
