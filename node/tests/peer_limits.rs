//! Even an authenticated peer is held to limits: a forwarded batch has at most the proposer's
//! 256 writes, and snapshot chunks are refused once they would add up past the largest
//! snapshot a node installs (chunks accumulate in memory until the last).
#![allow(clippy::unwrap_used, clippy::expect_used)] // a panic in a test is a failed test

mod support;

use std::time::Duration;

use openraft::raft::InstallSnapshotRequest;
use openraft::{SnapshotMeta, Vote};
use support::{ClusterCerts, ProcessCluster};
use trent_node::peer::protocol::{LeaderOp, LeaderReply, INSTALL_SNAPSHOT, LEADER_OP};
use trent_node::peer::{PeerClient, PeerError};
use trent_node::tls::{NodeTls, TlsFiles};
use trent_node::write_path::{ForwardedProposal, Proposal};
use trent_storage::{Command, KeyId, RequestId, TypeConfig};
use trent_wire::ErrorCode;

/// A peer client presenting `name`'s certificate from `certs`.
fn peer_client_as(certs: &ClusterCerts, name: &str) -> PeerClient {
    let files = TlsFiles {
        cert: certs.dir.join(format!("{name}.pem")),
        key: certs.dir.join(format!("{name}.key")),
        ca: certs.ca_path(),
    };
    PeerClient::new(Some(NodeTls::load(&files).unwrap().peer_client)).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forwarded_batch_over_the_proposers_cap_is_refused_unapplied() {
    let cluster = ProcessCluster::start(1, &[]).await;
    let peer = peer_client_as(&cluster.certs, "node2");
    let key = support::create_key(&cluster.client_of(1), "stays enabled").await.unwrap();
    let key_id = KeyId::parse(&key).unwrap();
    let disable = |_| ForwardedProposal {
        request_id: RequestId(uuid::Uuid::new_v4()),
        proposal: Proposal::Command(Command::DisableKey { key_id }),
    };
    let batch = LeaderOp::WriteBatch((0..257).map(disable).collect());
    let body = support::peer_encode(&batch);
    let reply =
        peer.post(&cluster.nodes[0].peer_addr, LEADER_OP, body, Duration::from_secs(10)).await.unwrap();
    match trent_storage::codec::decode::<LeaderReply>(&reply).unwrap() {
        LeaderReply::Failed(error) => assert_eq!(error.code, ErrorCode::Validation, "{error}"),
        other => panic!("a 257-write batch was answered {other:?}"),
    }
    let described = cluster.client_of(1).describe_key(&support::kms::key(&key)).await.unwrap();
    assert_eq!(described.key_metadata.key_state, trent_client::wire::model::KeyState::Enabled);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn snapshot_chunks_past_the_largest_snapshot_are_refused() {
    let cluster = ProcessCluster::start(1, &[]).await;
    let peer = peer_client_as(&cluster.certs, "node2");
    let chunk = InstallSnapshotRequest::<TypeConfig> {
        vote: Vote::new_committed(1, 2),
        meta: SnapshotMeta {
            last_log_id: None,
            last_membership: Default::default(),
            snapshot_id: "huge".into(),
        },
        offset: trent_storage::MAX_SNAPSHOT_BYTES as u64 - 4,
        data: vec![0; 8],
        done: false,
    };
    let body = support::peer_encode(&chunk);
    let answer =
        peer.post(&cluster.nodes[0].peer_addr, INSTALL_SNAPSHOT, body, Duration::from_secs(10)).await;
    assert!(matches!(answer, Err(PeerError::Status { status: 413, .. })), "{answer:?}");
    support::create_key(&cluster.client_of(1), "still serving").await.unwrap();
}
