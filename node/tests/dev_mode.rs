//! `trentd dev`: one node or three processes on consecutive ports, a credentials file that
//! tells scripts where they are, and a clean stop on SIGTERM.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a panic in a test is a failed test

mod support;

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use trent_client::wire::admin::DevCredentials;
use trent_client::wire::kms::{CreateKeyRequest, KeyIdRequest};
use trent_client::TrentClient;

/// A base port whose next `count` ports, and those 1000 above (dev mode's peer ports), are free.
fn free_port_run(count: u16) -> u16 {
    let offsets: Vec<u16> = (0..count).chain(1000..1000 + count).collect();
    support::reserve_ports(&offsets)
}

/// The credentials file `child` wrote: one written before it started (an earlier run's, which
/// the new run reads and then removes) does not count.
fn wait_for_credentials(path: &Path, child: &mut Child) -> DevCredentials {
    // File times come from a coarse clock (a few ms behind); the earlier run wrote its file well
    // before it was stopped.
    let started = std::time::SystemTime::now() - Duration::from_millis(20);
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let fresh = std::fs::metadata(path).and_then(|meta| meta.modified()).is_ok_and(|at| at >= started);
        if let Some(bytes) = fresh.then(|| std::fs::read(path).ok()).flatten() {
            if let Ok(credentials) = serde_json::from_slice(&bytes) {
                return credentials;
            }
        }
        assert!(child.try_wait().expect("poll dev").is_none(), "trentd dev exited early");
        assert!(Instant::now() < deadline, "no dev-credentials.json within 30 s");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn terminate(child: &mut Child) {
    // SAFETY: kill(2) on a child we spawned.
    unsafe {
        libc::kill(child.id() as libc::pid_t, libc::SIGTERM);
    }
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        if let Some(status) = child.try_wait().expect("wait") {
            assert!(status.success(), "trentd dev exited with {status}");
            return;
        }
        assert!(Instant::now() < deadline, "trentd dev ignored SIGTERM");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn spawn_dev(nodes: u16, base: u16, dir: &Path, env: &[(&str, &str)]) -> Child {
    spawn_dev_with(nodes, base, dir, env, &[])
}

fn spawn_dev_with(nodes: u16, base: u16, dir: &Path, env: &[(&str, &str)], flags: &[&str]) -> Child {
    Command::new(env!("CARGO_BIN_EXE_trentd"))
        .args(["dev", "--nodes", &nodes.to_string(), "--addr", &format!("127.0.0.1:{base}"), "--data-dir"])
        .arg(dir)
        .args(flags)
        .envs(env.iter().copied())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn trentd dev")
}

/// Every directory under `dir` (and `dir`) is 0700 and every file 0600: the credentials file
/// holds the unseal share and a secret key, the data sealed secrets.
fn assert_private(dir: &Path) {
    use std::os::unix::fs::PermissionsExt;
    let mode = |path: &Path| std::fs::metadata(path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(dir), 0o700, "{}", dir.display());
    let mut files = 0;
    let mut pending = vec![dir.to_path_buf()];
    while let Some(next) = pending.pop() {
        for entry in std::fs::read_dir(&next).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                assert_eq!(mode(&path), 0o700, "{}", path.display());
                pending.push(path);
            } else {
                assert_eq!(mode(&path), 0o600, "{}", path.display());
                files += 1;
            }
        }
    }
    assert!(files >= 3, "credentials, sled's files: {files}");
}

fn assert_ports_free(base: u16, nodes: u16) {
    for port in (0..nodes).map(|i| base + i) {
        assert!(
            std::net::TcpListener::bind(("127.0.0.1", port)).is_ok(),
            "port {port} still in use after dev stopped"
        );
    }
}

async fn run_dev(nodes: u16) {
    let dir = tempfile::tempdir().expect("tempdir");
    let base = free_port_run(nodes);
    let mut child = spawn_dev(nodes, base, dir.path(), &[]);

    let credentials = wait_for_credentials(&dir.path().join("dev-credentials.json"), &mut child);
    let expected: Vec<String> = (0..nodes).map(|i| format!("http://127.0.0.1:{}", base + i)).collect();
    assert_eq!(credentials.endpoints, expected);
    assert_eq!(credentials.region, "us-east-1");
    assert_eq!((credentials.unseal_shares.len(), credentials.threshold), (1, 1));
    assert!(credentials.access_key_id.starts_with("TRNT") && credentials.secret_access_key.len() == 40);

    let signed = |endpoint: &str| {
        let signing = trent_client::Signing::new(
            credentials.access_key_id.clone(),
            credentials.secret_access_key.clone(),
            "us-east-1",
        );
        let options = trent_client::ClientOptions { signing: Some(signing), ..Default::default() };
        TrentClient::with_options(vec![endpoint.to_owned()], options).expect("client")
    };
    let last = signed(&expected[expected.len() - 1]);
    let key_id = last.create_key(&CreateKeyRequest::default()).await.expect("create").key_metadata.key_id;
    let first = signed(&expected[0]);
    let describe = KeyIdRequest { key_id, grant_tokens: None };
    first.describe_key(&describe).await.expect("visible on the first node");
    assert_private(dir.path());
    terminate(&mut child);
    assert_ports_free(base, nodes);

    // Again on the same data directory: the same cluster, unsealed with the saved share.
    let mut child = spawn_dev(nodes, base, dir.path(), &[]);
    let again = wait_for_credentials(&dir.path().join("dev-credentials.json"), &mut child);
    assert_eq!(again.access_key_id, credentials.access_key_id);
    assert_eq!(again.unseal_shares, credentials.unseal_shares);
    first.describe_key(&describe).await.expect("the key survived a restart");
    terminate(&mut child);
    assert_ports_free(base, nodes);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dev_takes_its_admin_credentials_from_the_environment_when_given() {
    let dir = tempfile::tempdir().expect("tempdir");
    let base = free_port_run(1);
    let env =
        [("TRENT_DEV_ACCESS_KEY_ID", "DEVADMIN"), ("TRENT_DEV_SECRET_ACCESS_KEY", "dev-secret-key-123")];
    let mut child = spawn_dev(1, base, dir.path(), &env);
    let credentials = wait_for_credentials(&dir.path().join("dev-credentials.json"), &mut child);
    assert_eq!(credentials.access_key_id, "DEVADMIN");
    assert_eq!(credentials.secret_access_key, "dev-secret-key-123");
    terminate(&mut child);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dev_runs_one_node_and_writes_its_credentials_file() {
    run_dev(1).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dev_with_three_nodes_runs_three_processes_on_consecutive_ports() {
    run_dev(3).await;
}

/// The hidden test hooks (here `--feature-level-cap`, as the benchmark of ciphertext v1 uses it)
/// reach every node, in this process or in the three `trentd server` processes dev starts.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dev_passes_its_test_hooks_to_every_node() {
    for nodes in [1u16, 3] {
        let dir = tempfile::tempdir().expect("tempdir");
        let base = free_port_run(nodes);
        let mut child = spawn_dev_with(nodes, base, dir.path(), &[], &["--feature-level-cap", "3"]);
        let credentials = wait_for_credentials(&dir.path().join("dev-credentials.json"), &mut child);
        for endpoint in &credentials.endpoints {
            let signing = trent_client::Signing::new(
                credentials.access_key_id.clone(),
                credentials.secret_access_key.clone(),
                "us-east-1",
            );
            let options = trent_client::ClientOptions { signing: Some(signing), ..Default::default() };
            let client = TrentClient::with_options(vec![endpoint.clone()], options).expect("client");
            let view = client.cluster().await.expect("cluster view");
            assert_eq!(view.supported_feature_level, 3, "{nodes} nodes, {endpoint}");
        }
        terminate(&mut child);
    }
}
