//! TLS on real `trentd` processes: the client API speaks only TLS and proves itself with a
//! certificate from the cluster CA; the peer port also demands a client certificate from that CA
//! (mutual TLS); a server given neither TLS nor `--insecure-plaintext` refuses to start; and
//! `trentd healthcheck` says whether a node is ready.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a panic in a test is a failed test

mod support;

use std::process::Command;
use std::time::Duration;

use support::{ClusterCerts, ProcessCluster};
use trent_client::{ClientError, ClientOptions, RetryPolicy, TrentClient};
use trent_node::peer::{PeerClient, PeerError};
use trent_node::tls::{NodeTls, TlsFiles};

/// A peer client presenting `name`'s certificate from `certs`, trusting `trusted`'s CA.
fn peer_client_as(certs: &ClusterCerts, name: &str, trusted: &ClusterCerts) -> PeerClient {
    let files = TlsFiles {
        cert: certs.dir.join(format!("{name}.pem")),
        key: certs.dir.join(format!("{name}.key")),
        ca: trusted.ca_path(),
    };
    let tls = NodeTls::load(&files).expect("load TLS");
    PeerClient::new(Some(tls.peer_client)).expect("peer client")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_peer_port_accepts_only_certificates_the_cluster_ca_issued() {
    let cluster = ProcessCluster::start(1, &[]).await;
    let peer_addr = cluster.nodes[0].peer_addr.clone();
    let timeout = Duration::from_secs(5);

    // A fellow node's certificate gets through TLS to HTTP: a GET is answered (with an error
    // status, as the peer API only takes POSTs).
    let fellow = peer_client_as(&cluster.certs, "node2", &cluster.certs);
    let answer = fellow.get(&peer_addr, "/no-such-peer-path", timeout).await;
    assert!(matches!(answer, Err(PeerError::Status { .. })), "{answer:?}");

    // No client certificate: the handshake fails.
    let anonymous = PeerClient::new(Some(cluster.certs.client_tls())).expect("client");
    let answer = anonymous.get(&peer_addr, "/no-such-peer-path", timeout).await;
    assert!(matches!(answer, Err(PeerError::Unreachable { .. })), "{answer:?}");

    // A certificate from another CA, even with a name the cluster knows: refused.
    let foreign_dir = tempfile::tempdir().expect("tempdir");
    let foreign = ClusterCerts::generate(foreign_dir.path().join("certs"));
    let impostor = peer_client_as(&foreign, "node2", &cluster.certs);
    let answer = impostor.get(&peer_addr, "/no-such-peer-path", timeout).await;
    assert!(matches!(answer, Err(PeerError::Unreachable { .. })), "{answer:?}");

    // Plain HTTP on the peer port: no answer.
    let plain = PeerClient::new(None).expect("client");
    assert!(plain.get(&peer_addr, "/no-such-peer-path", timeout).await.is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_client_api_speaks_only_tls_with_the_cluster_certificate() {
    let cluster = ProcessCluster::start(1, &[]).await;
    let api_addr = cluster.nodes[0].api_addr.clone();
    let no_retries = ClientOptions { retry: RetryPolicy::none(), ..cluster.client_options() };

    let trusted =
        TrentClient::with_options(vec![format!("https://{api_addr}")], no_retries.clone()).expect("client");
    trusted.list_keys(&Default::default()).await.expect("TLS with the cluster CA");
    let by_name = TrentClient::with_options(
        vec![format!("https://localhost:{}", api_addr.rsplit(':').next().expect("port"))],
        no_retries.clone(),
    )
    .expect("client");
    by_name.list_keys(&Default::default()).await.expect("the certificate names localhost too");

    let foreign_dir = tempfile::tempdir().expect("tempdir");
    let foreign = ClusterCerts::generate(foreign_dir.path().join("certs"));
    let wrong_ca = ClientOptions { ca_bundle: Some(foreign.ca_bundle()), ..no_retries.clone() };
    let distrusting =
        TrentClient::with_options(vec![format!("https://{api_addr}")], wrong_ca).expect("client");
    match distrusting.list_keys(&Default::default()).await {
        Err(ClientError::Connect { message, .. }) => {
            assert!(message.contains("UnknownIssuer"), "{message}")
        }
        other => panic!("a certificate from an untrusted CA must fail the handshake: {other:?}"),
    }

    let plain = TrentClient::with_options(vec![format!("http://{api_addr}")], no_retries).expect("client");
    assert!(
        matches!(
            plain.list_keys(&Default::default()).await,
            Err(ClientError::Transport { .. } | ClientError::Connect { .. })
        ),
        "plain HTTP gets no answer from a TLS port"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_needs_tls_or_an_explicit_plaintext_flag() {
    let dir = tempfile::tempdir().expect("tempdir");
    let output = Command::new(env!("CARGO_BIN_EXE_trentd"))
        .args(["server", "--node-id", "1", "--api-addr", "127.0.0.1:0", "--peer-addr", "127.0.0.1:0"])
        .arg("--data-dir")
        .arg(dir.path())
        .output()
        .expect("run trentd");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success());
    assert!(stderr.contains("TLS is required"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");

    let certs = ClusterCerts::generate(dir.path().join("certs"));
    let mut both = vec!["server", "--node-id", "1", "--insecure-plaintext"]
        .into_iter()
        .map(String::from)
        .collect::<Vec<_>>();
    both.extend(certs.node_args(1));
    let output = Command::new(env!("CARGO_BIN_EXE_trentd")).args(&both).output().expect("run trentd");
    assert!(!output.status.success(), "TLS files and --insecure-plaintext conflict");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn healthcheck_exits_zero_only_when_the_node_is_ready_over_trusted_tls() {
    let cluster = ProcessCluster::start(1, &[]).await;
    let url = format!("https://{}/v1/sys/health", cluster.nodes[0].api_addr);
    let healthcheck = |url: &str, ca: &std::path::Path| {
        Command::new(env!("CARGO_BIN_EXE_trentd"))
            .args(["healthcheck", "--url", url, "--ca"])
            .arg(ca)
            .output()
            .expect("run healthcheck")
    };
    let healthy = healthcheck(&url, &cluster.certs.ca_path());
    assert!(healthy.status.success(), "{}", String::from_utf8_lossy(&healthy.stderr));
    assert!(String::from_utf8_lossy(&healthy.stdout).contains("node 1 is ready"));

    let foreign_dir = tempfile::tempdir().expect("tempdir");
    let foreign = ClusterCerts::generate(foreign_dir.path().join("certs"));
    assert_eq!(healthcheck(&url, &foreign.ca_path()).status.code(), Some(1), "untrusted certificate");
    let closed = format!("https://127.0.0.1:{}/v1/sys/health", support::free_port());
    assert_eq!(healthcheck(&closed, &cluster.certs.ca_path()).status.code(), Some(1), "nobody listening");
}
