//! Peers authenticate each other in every mode. With `--insecure-plaintext`, every peer request
//! carries a MAC under the cluster's shared secret; a hand-made `POST /cluster/leader-op` once
//! disabled a key with no credentials at all. A plaintext node of a multi-node cluster without
//! a secret refuses to start; a lone one accepts nobody on its peer port.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a panic in a test is a failed test

mod support;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant, SystemTime};

use trent_client::wire::admin::DevCredentials;
use trent_client::wire::kms::CreateKeyRequest;
use trent_client::{ClientOptions, RetryPolicy, Signing, TrentClient};
use trent_node::peer::auth::{PeerSecret, PEER_AUTH_HEADER};
use trent_node::peer::protocol::{LeaderOp, LEADER_OP};
use trent_node::write_path::{ForwardedProposal, Proposal};
use trent_storage::{Command as RegistryCommand, KeyId, RequestId};

/// `POST path` with `body` and optional header lines to the plain-HTTP peer port `addr`; the
/// status.
async fn post(addr: &str, path: &str, body: &[u8], extra: &[(&str, String)]) -> u16 {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let mut head = format!(
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (name, value) in extra {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(body).await.unwrap();
    let mut raw = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut raw)).await.unwrap().unwrap();
    let text = String::from_utf8_lossy(&raw);
    text.split(' ')
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or_else(|| panic!("no status in {text:?}"))
}

struct DevCluster {
    child: std::process::Child,
    dir: tempfile::TempDir,
    credentials: DevCredentials,
    base: u16,
}

impl DevCluster {
    fn start() -> DevCluster {
        let offsets: Vec<u16> = (0..3).chain(1000..1003).collect();
        let base = support::reserve_ports(&offsets);
        let dir = tempfile::tempdir().unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_trentd"))
            .args(["dev", "--nodes", "3", "--addr", &format!("127.0.0.1:{base}"), "--data-dir"])
            .arg(dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let path = dir.path().join("dev-credentials.json");
        let deadline = Instant::now() + Duration::from_secs(60);
        let credentials = loop {
            if let Some(credentials) =
                std::fs::read(&path).ok().and_then(|bytes| serde_json::from_slice(&bytes).ok())
            {
                break credentials;
            }
            assert!(Instant::now() < deadline, "the dev cluster did not start");
            std::thread::sleep(Duration::from_millis(100));
        };
        DevCluster { child, dir, credentials, base }
    }

    fn peer_addr(&self, node: u16) -> String {
        format!("127.0.0.1:{}", self.base + node - 1 + 1000)
    }

    fn client(&self) -> TrentClient {
        let credentials = &self.credentials;
        let signing = Signing::new(
            credentials.access_key_id.clone(),
            credentials.secret_access_key.clone(),
            "us-east-1",
        );
        let options =
            ClientOptions { retry: RetryPolicy::none(), signing: Some(signing), ..ClientOptions::default() };
        TrentClient::with_options(credentials.endpoints.clone(), options).unwrap()
    }
}

impl Drop for DevCluster {
    fn drop(&mut self) {
        // SAFETY: kill(2) on the child we spawned.
        unsafe { libc::kill(self.child.id() as libc::pid_t, libc::SIGTERM) };
        let _ = self.child.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hand_made_leader_op_without_the_peer_secret_changes_nothing() {
    let cluster = DevCluster::start();
    let client = cluster.client();
    let created = client.create_key(&CreateKeyRequest::default()).await.unwrap();
    let key_id = KeyId::parse(&created.key_metadata.key_id).unwrap();
    // The red team's request: DisableKey as a forwarded write, straight to every peer port.
    let disable = LeaderOp::WriteBatch(vec![ForwardedProposal {
        request_id: RequestId(uuid::Uuid::new_v4()),
        proposal: Proposal::Command(RegistryCommand::DisableKey { key_id }),
    }]);
    let body = support::peer_encode(&disable);
    let wrong = PeerSecret::ephemeral().unwrap();
    let stale_secret = PeerSecret::load(&cluster.dir.path().join("peer-secret")).unwrap();
    for node in 1..=3 {
        let addr = cluster.peer_addr(node);
        assert_eq!(post(&addr, LEADER_OP, &body, &[]).await, 401, "no MAC, node {node}");
        let forged = wrong.sign("POST", LEADER_OP, &body, SystemTime::now());
        assert_eq!(post(&addr, LEADER_OP, &body, &[(PEER_AUTH_HEADER, forged)]).await, 401, "wrong secret");
        // The right secret, but a request captured two minutes ago: outside the window.
        let old = stale_secret.sign("POST", LEADER_OP, &body, SystemTime::now() - Duration::from_secs(120));
        assert_eq!(post(&addr, LEADER_OP, &body, &[(PEER_AUTH_HEADER, old)]).await, 401, "replayed");
        // A MAC over another body does not carry over to this one.
        let other = stale_secret.sign("POST", LEADER_OP, b"other", SystemTime::now());
        assert_eq!(post(&addr, LEADER_OP, &body, &[(PEER_AUTH_HEADER, other)]).await, 401, "other body");
    }
    let described = client.describe_key(&support::kms::key(&created.key_metadata.key_id)).await.unwrap();
    assert_eq!(described.key_metadata.key_state, trent_client::wire::model::KeyState::Enabled);
    // The peers themselves, holding the secret, still replicate: a write commits on all three.
    support::create_key(&client, "after the forgeries").await.unwrap();
    // And the secret file is for this user only.
    use std::os::unix::fs::PermissionsExt;
    let mode =
        std::fs::metadata(cluster.dir.path().join("peer-secret")).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
}

#[test]
fn a_plaintext_node_of_a_cluster_refuses_to_start_without_a_peer_secret() {
    let dir = tempfile::tempdir().unwrap();
    let ports: Vec<u16> = (0..2).map(|_| support::free_port()).collect();
    let output = Command::new(env!("CARGO_BIN_EXE_trentd"))
        .args(["server", "--node-id", "1", "--insecure-plaintext", "--bootstrap"])
        .args([
            "--api-addr",
            &format!("127.0.0.1:{}", ports[0]),
            "--peer-addr",
            &format!("127.0.0.1:{}", ports[1]),
        ])
        .arg("--data-dir")
        .arg(dir.path())
        .args(["--peer", &format!("1,127.0.0.1:{},127.0.0.1:{}", ports[0], ports[1])])
        .args(["--peer", "2,127.0.0.1:1,127.0.0.1:2"])
        .output()
        .unwrap();
    assert!(!output.status.success());
    let said = String::from_utf8_lossy(&output.stderr);
    assert!(said.contains("--peer-secret-file"), "{said}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lone_plaintext_node_accepts_nobody_on_its_peer_port() {
    let node = support::InProcessNode::start().await;
    let peer_addr = node.running.as_ref().unwrap().peer_addr.to_string();
    let body = support::peer_encode(&LeaderOp::ReadIndex);
    assert_eq!(post(&peer_addr, LEADER_OP, &body, &[]).await, 401);
    let guess = PeerSecret::ephemeral().unwrap().sign("POST", LEADER_OP, &body, SystemTime::now());
    assert_eq!(post(&peer_addr, LEADER_OP, &body, &[(PEER_AUTH_HEADER, guess)]).await, 401);
    node.stop().await;
}
