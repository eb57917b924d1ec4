//! Health tells the truth: `GET /v1/sys/health` (ready) and `/v1/sys/health/live` answer 503 with
//! the reasons for a node that is sealed, uninitialised, cut off from its quorum or whose Raft
//! has stopped, and `trentd healthcheck` exits non-zero for each. Health once answered 200 with
//! `"role": "shutdown"` for a dead node, and compose kept it.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a panic in a test is a failed test

mod support;

use std::time::{Duration, Instant};

use support::{InProcessNode, ProcessCluster};
use trent_wire::admin::HealthResponse;

/// `trentd healthcheck` against node `id`: its exit status and what it printed.
fn healthcheck(cluster: &ProcessCluster, id: u64, live: bool) -> (bool, String) {
    let url = format!("{}/v1/sys/health", cluster.endpoint(id));
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_trentd"));
    command.args(["healthcheck", "--url", &url, "--ca"]).arg(cluster.certs.ca_path());
    if live {
        command.arg("--live");
    }
    let output = command.output().expect("run trentd healthcheck");
    let said =
        format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    (output.status.success(), said)
}

/// Status and body of `path` on node `id`.
async fn get(cluster: &ProcessCluster, id: u64, path: &str) -> (u16, HealthResponse) {
    let api_addr = cluster.nodes.iter().find(|node| node.id == id).unwrap().api_addr.clone();
    let client = trent_node::peer::PeerClient::new(Some(cluster.certs.client_tls())).unwrap();
    let (status, body) = client.get_any_status(&api_addr, path, Duration::from_secs(5)).await.unwrap();
    (status, serde_json::from_slice(&body).unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_sealed_or_uninitialised_node_is_live_but_not_ready() {
    let mut cluster = ProcessCluster::start_uninitialised(1, tempfile::tempdir().unwrap()).await;
    let (status, health) = get(&cluster, 1, "/v1/sys/health").await;
    assert_eq!(status, 503, "{health:?}");
    assert!(health.live && !health.ready, "{health:?}");
    assert!(health.problems.iter().any(|problem| problem == "not initialised"), "{health:?}");
    assert!(health.problems.iter().any(|problem| problem == "sealed"), "{health:?}");
    assert_eq!(get(&cluster, 1, "/v1/sys/health/live").await.0, 200);
    let (ready, said) = healthcheck(&cluster, 1, false);
    assert!(!ready && said.contains("sealed"), "healthcheck of a sealed node: {said}");
    let (live, said) = healthcheck(&cluster, 1, true);
    assert!(live, "a sealed node is live: {said}");

    cluster.initialize_and_unseal().await;
    let (status, health) = get(&cluster, 1, "/v1/sys/health").await;
    assert_eq!(status, 200, "{health:?}");
    assert!(health.ready && health.problems.is_empty(), "{health:?}");
    assert_eq!(get(&cluster, 1, "/v1/sys/health/ready").await.0, 200);
    let (ready, said) = healthcheck(&cluster, 1, false);
    assert!(ready, "an unsealed node is ready: {said}");

    cluster.client_of(1).seal(0).await.expect("seal");
    let (status, health) = get(&cluster, 1, "/v1/sys/health").await;
    assert_eq!((status, health.problems.clone()), (503, vec!["sealed".to_owned()]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_node_cut_off_from_its_quorum_is_not_ready() {
    let mut cluster = ProcessCluster::start(3, &[]).await;
    let leader = cluster.wait_for_leader(Duration::from_secs(10)).await;
    let others = cluster.followers(leader);
    for id in &others {
        let pid = cluster.node(*id).pid().unwrap();
        // SAFETY: kill(2) on a child process we own; no memory is touched.
        unsafe { libc::kill(pid as libc::pid_t, libc::SIGSTOP) };
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    let health = loop {
        let (status, health) = get(&cluster, leader, "/v1/sys/health").await;
        if status == 503 {
            break health;
        }
        assert!(Instant::now() < deadline, "the cut-off leader stayed ready: {health:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(health.live, "{health:?}");
    assert!(
        health.problems.iter().any(|problem| problem.starts_with("not in touch with a leader")),
        "{health:?}"
    );
    let (ready, said) = healthcheck(&cluster, leader, false);
    assert!(!ready && said.contains("not in touch"), "{said}");
    for id in &others {
        let pid = cluster.node(*id).pid().unwrap();
        // SAFETY: as above.
        unsafe { libc::kill(pid as libc::pid_t, libc::SIGCONT) };
    }
    let deadline = Instant::now() + Duration::from_secs(15);
    while get(&cluster, leader, "/v1/sys/health").await.0 != 200 {
        assert!(Instant::now() < deadline, "the node did not become ready again");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_whose_raft_stopped_is_neither_live_nor_ready() {
    let node = InProcessNode::start().await;
    let running = node.running.as_ref().unwrap();
    // Raft stops under the node (as on a fatal storage error), not through RunningNode::shutdown.
    running.node.raft.shutdown().await.unwrap();
    let reason = tokio::time::timeout(Duration::from_secs(5), running.failed()).await;
    assert!(reason.is_ok(), "the node did not notice that its Raft stopped");
    let health = trent_node::health::health(&running.node).await;
    assert!(!health.live && !health.ready, "{health:?}");
    assert!(health.problems.iter().any(|problem| problem.starts_with("raft stopped")), "{health:?}");
    let client = trent_node::peer::PeerClient::new(None).unwrap();
    let addr = node.endpoint.trim_start_matches("http://").to_owned();
    for path in ["/v1/sys/health", "/v1/sys/health/live"] {
        let (status, _) = client.get_any_status(&addr, path, Duration::from_secs(5)).await.unwrap();
        assert_eq!(status, 503, "{path}");
    }
    node.stop().await;
}
