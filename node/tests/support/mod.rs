//! Test support: real `trentd` processes on loopback ports with real sled directories, and an
//! in-process node for API tests. Shared by the integration tests in this directory.

#![allow(dead_code)]

pub mod disk_scan;
pub mod kms;

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tempfile::TempDir;
use trent_client::wire::kms::CreateKeyRequest;
use trent_client::ClientError;
use trent_client::{ClientOptions, RetryPolicy, Signing, TrentClient};
use trent_node::config::{NodeConfig, RaftTiming};
use trent_node::server::RunningNode;
use trent_wire::admin::HealthResponse;

/// Creates a default key with `description`; returns its id.
pub async fn create_key(client: &TrentClient, description: &str) -> Result<String, ClientError> {
    let request = CreateKeyRequest { description: Some(description.into()), ..Default::default() };
    Ok(client.create_key(&request).await?.key_metadata.key_id)
}

/// Every key id the node behind `client` lists.
pub async fn all_key_ids(client: &TrentClient) -> std::collections::BTreeSet<String> {
    client.list_all_keys().await.expect("list keys").into_iter().map(|entry| entry.key_id).collect()
}

/// Whether a test that needs root (mounts, network namespaces) can run. When it cannot, it fails,
/// unless `TRENT_SKIP_PRIVILEGED_TESTS=1` says skipping is intended: CI never passes a test that
/// did not run.
pub fn privileged(test: &str) -> bool {
    // SAFETY: geteuid(2) has no preconditions and touches no memory.
    if unsafe { libc::geteuid() } == 0 {
        return true;
    }
    assert!(
        std::env::var_os("TRENT_SKIP_PRIVILEGED_TESTS").is_some_and(|value| value == "1"),
        "{test} needs root; run it as root, or set TRENT_SKIP_PRIVILEGED_TESTS=1 to skip it on purpose"
    );
    println!("SKIPPED {test} (TRENT_SKIP_PRIVILEGED_TESTS=1): not root");
    false
}

/// A tmpfs mounted at a path for the test's life (tests that fill a disk; they need root).
pub struct SmallDisk {
    pub path: PathBuf,
}

impl SmallDisk {
    pub fn mount(path: PathBuf, size: &str) -> SmallDisk {
        std::fs::create_dir_all(&path).expect("create the mount point");
        let mounted = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(&path)
            .status()
            .expect("run mount");
        assert!(mounted.success(), "mount tmpfs at {}", path.display());
        SmallDisk { path }
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.path).status();
    }
}

/// `value` in the format a node of this build sends its peers once the cluster is at the
/// highest level it supports (a node refuses a newer format than it reads).
pub fn peer_encode<T: serde::Serialize>(value: &T) -> Vec<u8> {
    let format = trent_storage::features::format_for_level(trent_storage::SUPPORTED_LEVEL);
    trent_storage::codec::encode_at(format, value).expect("encode")
}

/// A loopback port reserved for this test process (see [`reserve_ports`]).
pub fn free_port() -> u16 {
    reserve_ports(&[0])
}

/// Lowest and highest port handed to tests: below the kernel's ephemeral range (32768 and up by
/// default), so no outgoing connection can take a port between our pick and `trentd`'s bind.
const TEST_PORTS: std::ops::Range<u16> = 20_000..32_000;

/// A base port such that `base + offset` is free for every offset, reserved until this process
/// exits. Test binaries run in parallel, so each port is claimed with an advisory lock on a file
/// named after it (released by the kernel when the process dies, even on a crash), then checked
/// by binding it.
pub fn reserve_ports(offsets: &[u16]) -> u16 {
    static HELD: std::sync::Mutex<Vec<std::fs::File>> = std::sync::Mutex::new(Vec::new());
    let dir = std::env::temp_dir().join("trent-test-ports");
    std::fs::create_dir_all(&dir).expect("port lock directory");
    let highest = offsets.iter().copied().max().unwrap_or(0);
    let span = u32::from(TEST_PORTS.end - TEST_PORTS.start - highest);
    let seed =
        std::process::id() ^ std::time::SystemTime::UNIX_EPOCH.elapsed().map_or(0, |d| d.subsec_nanos());
    for attempt in 0..span {
        let base = TEST_PORTS.start + ((seed.wrapping_add(attempt.wrapping_mul(7919))) % span) as u16;
        let mut claimed = Vec::with_capacity(offsets.len());
        for port in offsets.iter().map(|offset| base + offset) {
            let Ok(file) =
                std::fs::OpenOptions::new().create(true).append(true).open(dir.join(port.to_string()))
            else {
                break;
            };
            if file.try_lock().is_err() || TcpListener::bind(("127.0.0.1", port)).is_err() {
                break;
            }
            claimed.push(file);
        }
        if claimed.len() == offsets.len() {
            HELD.lock().unwrap_or_else(std::sync::PoisonError::into_inner).extend(claimed);
            return base;
        }
    }
    panic!("no free test ports in {TEST_PORTS:?}");
}

/// One `trentd server` process.
pub struct ProcessNode {
    pub id: u64,
    pub api_addr: String,
    pub peer_addr: String,
    pub data_dir: PathBuf,
    pub log_path: PathBuf,
    pub args: Vec<String>,
    child: Option<Child>,
}

impl ProcessNode {
    pub fn endpoint(&self) -> String {
        format!("https://{}", self.api_addr)
    }

    /// Starts (or restarts) the process with its recorded arguments.
    pub fn start(&mut self) {
        assert!(self.child.is_none(), "node {} is already running", self.id);
        let log =
            std::fs::OpenOptions::new().create(true).append(true).open(&self.log_path).expect("open log");
        let child = Command::new(env!("CARGO_BIN_EXE_trentd"))
            .arg("server")
            .args(&self.args)
            .env("RUST_LOG", "info,openraft=warn")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("spawn trentd");
        self.child = Some(child);
    }

    /// SIGKILL: no chance to flush or say goodbye.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// SIGTERM, then waits for the process to stop on its own (it flushes and leaves cleanly).
    pub fn terminate(&mut self) {
        if let Some(mut child) = self.child.take() {
            let pid = libc::pid_t::try_from(child.id()).expect("pid");
            // SAFETY: kill(2) with a pid we spawned and still own (not yet reaped).
            unsafe { libc::kill(pid, libc::SIGTERM) };
            let _ = child.wait();
        }
    }

    pub fn is_running(&self) -> bool {
        self.child.is_some()
    }

    /// How the process ended, if it has (without waiting).
    pub fn exit_status(&mut self) -> Option<std::process::ExitStatus> {
        self.child.as_mut()?.try_wait().ok().flatten()
    }

    /// The process id while the process runs (for signals such as SIGSTOP).
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log_path).unwrap_or_default()
    }
}

impl Drop for ProcessNode {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A cluster of `trentd` processes.
pub struct ProcessCluster {
    pub nodes: Vec<ProcessNode>,
    pub dir: TempDir,
    /// The unseal shares from init.
    pub shares: Vec<String>,
    /// The administrator's credentials from init; clients sign with them.
    pub signing: Option<Signing>,
    /// The cluster's CA and node certificates (nodes talk TLS, and mutual TLS between them).
    pub certs: ClusterCerts,
}

/// Certificates of a test cluster, made the way `trent operator gen-certs` makes them: a CA and
/// one certificate per node name `node<N>` (valid for 127.0.0.1 and localhost), in `dir`.
pub struct ClusterCerts {
    pub dir: PathBuf,
}

/// Most node ids a test cluster has certificates for (joiners included).
const MAX_TEST_NODES: u64 = 7;

impl ClusterCerts {
    pub fn generate(dir: PathBuf) -> ClusterCerts {
        let names: Vec<String> = (1..=MAX_TEST_NODES).map(|id| format!("node{id}")).collect();
        let extra = ["127.0.0.1".to_owned(), "localhost".to_owned()];
        trent_client::certs::generate(&names, &extra, 2)
            .expect("certificates")
            .write_to(&dir, false)
            .expect("write certificates");
        ClusterCerts { dir }
    }

    pub fn ca_path(&self) -> PathBuf {
        self.dir.join("ca.pem")
    }

    /// The `trentd server` flags for node `id`'s certificate.
    pub fn node_args(&self, id: u64) -> Vec<String> {
        assert!(id <= MAX_TEST_NODES, "no certificate for node {id}");
        let path = |name: String| self.dir.join(name).display().to_string();
        vec![
            "--tls-cert".into(),
            path(format!("node{id}.pem")),
            "--tls-key".into(),
            path(format!("node{id}.key")),
            "--tls-ca".into(),
            path("ca.pem".into()),
        ]
    }

    /// What clients trust.
    pub fn ca_bundle(&self) -> trent_client::CaBundle {
        trent_client::CaBundle::from_pem_file(&self.ca_path()).expect("CA bundle")
    }

    /// A rustls client config that trusts the cluster CA and presents no certificate.
    pub fn client_tls(&self) -> std::sync::Arc<rustls::ClientConfig> {
        std::sync::Arc::new(trent_node::tls::verifying_client_config(&self.ca_path()).expect("client TLS"))
    }
}

impl ProcessCluster {
    /// POSTs JSON to the admin API at `api_addr`, over TLS; the body on success.
    pub async fn admin_post(
        &self,
        api_addr: &str,
        path: &str,
        body: &impl serde::Serialize,
    ) -> Result<Vec<u8>, String> {
        let body = serde_json::to_vec(body).map_err(|error| error.to_string())?;
        self.admin_http()
            .post(api_addr, path, body, Duration::from_secs(10))
            .await
            .map(|bytes| bytes.to_vec())
            .map_err(|error| error.to_string())
    }

    /// POSTs JSON to the admin API at `api_addr`, over TLS; the body on success, the AWS error
    /// otherwise (the body says which).
    pub async fn admin_call(
        &self,
        api_addr: &str,
        path: &str,
        body: &impl serde::Serialize,
    ) -> Result<Vec<u8>, trent_wire::KmsError> {
        let body = serde_json::to_vec(body).expect("encode");
        let (status, answer) = self
            .admin_http()
            .post_any_status(api_addr, path, body, Duration::from_secs(10))
            .await
            .expect("answer");
        if status == 200 {
            return Ok(answer.to_vec());
        }
        let error: trent_wire::ErrorBody = serde_json::from_slice(&answer).expect("an AWS error body");
        let code = trent_wire::ErrorCode::parse(&error.error_type).expect("a known error code");
        Err(trent_wire::KmsError::new(code, error.message))
    }

    /// GETs the admin API at `api_addr`, over TLS; the body on success.
    pub async fn admin_get(&self, api_addr: &str, path: &str) -> Result<Vec<u8>, String> {
        self.admin_http()
            .get(api_addr, path, Duration::from_secs(10))
            .await
            .map(|bytes| bytes.to_vec())
            .map_err(|error| error.to_string())
    }

    fn admin_http(&self) -> trent_node::peer::PeerClient {
        trent_node::peer::PeerClient::new(Some(self.certs.client_tls())).expect("admin client")
    }

    /// Client options that trust the cluster CA and sign as the administrator.
    pub fn client_options(&self) -> ClientOptions {
        ClientOptions {
            signing: self.signing.clone(),
            ca_bundle: Some(self.certs.ca_bundle()),
            ..ClientOptions::default()
        }
    }
}

impl ProcessCluster {
    /// Starts `count` bootstrapped voters, plus `extra_args` on each, waits for a leader, then
    /// initialises the cluster and unseals every node.
    pub async fn start(count: u64, extra_args: &[&str]) -> ProcessCluster {
        Self::start_in(count, extra_args, tempfile::tempdir().expect("tempdir")).await
    }

    /// [`ProcessCluster::start`] with node N's data in `dir/node-N` (made beforehand, e.g. a
    /// small file system of its own).
    pub async fn start_in(count: u64, extra_args: &[&str], dir: TempDir) -> ProcessCluster {
        let mut cluster = Self::launch(count, extra_args, dir).await;
        cluster.initialize_and_unseal().await;
        cluster
    }

    /// Like [`ProcessCluster::start`] without initialising: every node stays sealed.
    pub async fn start_uninitialised(count: u64, dir: TempDir) -> ProcessCluster {
        Self::launch(count, &[], dir).await
    }

    /// [`ProcessCluster::start_uninitialised`] with `extra_args` on every node.
    pub async fn start_uninitialised_with(count: u64, dir: TempDir, extra_args: &[&str]) -> ProcessCluster {
        Self::launch(count, extra_args, dir).await
    }

    async fn launch(count: u64, extra_args: &[&str], dir: TempDir) -> ProcessCluster {
        let members: Vec<(u64, String, String)> = (1..=count)
            .map(|id| (id, format!("127.0.0.1:{}", free_port()), format!("127.0.0.1:{}", free_port())))
            .collect();
        Self::launch_at(&members, extra_args, dir).await
    }

    /// Starts a bootstrapped voter per `(id, api address, peer address)` of `members`, with data
    /// in `dir/node-N` (which may hold a data directory already), and waits for a leader.
    pub async fn launch_at(
        members: &[(u64, String, String)],
        extra_args: &[&str],
        dir: TempDir,
    ) -> ProcessCluster {
        let certs = ClusterCerts::generate(dir.path().join("certs"));
        let mut nodes = Vec::new();
        for (id, api_addr, peer_addr) in members {
            let mut args = node_args(*id, api_addr, peer_addr, &dir.path().join(format!("node-{id}")));
            args.extend(certs.node_args(*id));
            args.push("--bootstrap".into());
            for (peer_id, peer_api, peer_peer) in members {
                args.push("--peer".into());
                args.push(format!("{peer_id},{peer_api},{peer_peer}"));
            }
            args.extend(extra_args.iter().map(|arg| arg.to_string()));
            nodes.push(ProcessNode {
                id: *id,
                api_addr: api_addr.clone(),
                peer_addr: peer_addr.clone(),
                data_dir: dir.path().join(format!("node-{id}")),
                log_path: dir.path().join(format!("node-{id}.log")),
                args,
                child: None,
            });
        }
        for node in &mut nodes {
            node.start();
        }
        let cluster = ProcessCluster { nodes, dir, shares: Vec::new(), signing: None, certs };
        cluster.wait_for_leader(Duration::from_secs(20)).await;
        cluster
    }

    /// Initialises the cluster through node 1 and unseals every running node.
    pub async fn initialize_and_unseal(&mut self) {
        let request = trent_wire::admin::InitRequest { shares: 3, threshold: 2, ..Default::default() };
        let first = self.nodes[0].api_addr.clone();
        let reply = self.admin_post(&first, "/v1/sys/init", &request).await.expect("init");
        let answer: trent_wire::admin::InitResponse = serde_json::from_slice(&reply).expect("init answer");
        self.shares = answer.shares;
        self.signing = Some(Signing::new(answer.access_key_id, answer.secret_access_key, "us-east-1"));
        let running: Vec<u64> =
            self.nodes.iter().filter(|node| node.is_running()).map(|node| node.id).collect();
        for id in running {
            self.unseal(id).await;
        }
    }

    /// Unseals node `id` with a threshold of shares, waiting for it to learn the keyring.
    pub async fn unseal(&self, id: u64) {
        let api_addr = self.nodes.iter().find(|node| node.id == id).expect("no such node").api_addr.clone();
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            for share in self.shares.iter().skip(1).take(2) {
                let request = trent_wire::admin::UnsealRequest { share: Some(share.clone()), reset: false };
                let _ = self.admin_post(&api_addr, "/v1/sys/unseal", &request).await;
            }
            if self.health(id).await.is_some_and(|health| !health.sealed) {
                return;
            }
            assert!(Instant::now() < deadline, "node {id} did not unseal:\n{}", self.logs());
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Starts (or restarts) node `id` and unseals it: every node comes back sealed.
    pub async fn start_node(&mut self, id: u64) {
        self.node(id).start();
        self.wait_until_up(id, Duration::from_secs(10)).await;
        self.unseal(id).await;
    }

    /// A node that is not a member yet (for join tests): no bootstrap, no peers.
    pub fn add_unstarted_node(&mut self, id: u64, extra_args: &[&str]) -> usize {
        let api_addr = format!("127.0.0.1:{}", free_port());
        let peer_addr = format!("127.0.0.1:{}", free_port());
        let data_dir = self.dir.path().join(format!("node-{id}"));
        let mut args = node_args(id, &api_addr, &peer_addr, &data_dir);
        args.extend(self.certs.node_args(id));
        args.extend(extra_args.iter().map(|arg| arg.to_string()));
        self.nodes.push(ProcessNode {
            id,
            api_addr,
            peer_addr,
            data_dir,
            log_path: self.dir.path().join(format!("node-{id}.log")),
            args,
            child: None,
        });
        self.nodes.len() - 1
    }

    /// Every node but `leader`.
    pub fn followers(&self, leader: u64) -> Vec<u64> {
        self.nodes.iter().map(|node| node.id).filter(|id| *id != leader).collect()
    }

    pub fn node(&mut self, id: u64) -> &mut ProcessNode {
        self.nodes.iter_mut().find(|node| node.id == id).expect("no such node")
    }

    pub fn endpoint(&self, id: u64) -> String {
        self.nodes.iter().find(|node| node.id == id).expect("no such node").endpoint()
    }

    /// A client pinned to one node, with no retries (tests see every error), signing as the
    /// administrator once the cluster is initialised.
    pub fn client_of(&self, id: u64) -> TrentClient {
        let options = ClientOptions { retry: RetryPolicy::none(), ..self.client_options() };
        TrentClient::with_options(vec![self.endpoint(id)], options).expect("client")
    }

    /// A client over the given nodes with the default retry budget, signing as the administrator.
    pub fn client_over(&self, ids: &[u64]) -> TrentClient {
        let options = self.client_options();
        TrentClient::with_options(ids.iter().map(|id| self.endpoint(*id)).collect(), options).expect("client")
    }

    /// Health of node `id`, or None if it does not answer.
    pub async fn health(&self, id: u64) -> Option<HealthResponse> {
        self.client_of(id).health(0).await.ok()
    }

    /// Waits until node `id` answers its health endpoint.
    pub async fn wait_until_up(&self, id: u64, within: Duration) {
        let deadline = Instant::now() + within;
        while self.health(id).await.is_none() {
            assert!(
                Instant::now() < deadline,
                "node {id} did not come up within {within:?}:\n{}",
                self.logs()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Waits until every running node agrees on one leader; returns its id.
    pub async fn wait_for_leader(&self, within: Duration) -> u64 {
        let deadline = Instant::now() + within;
        loop {
            let mut leaders = Vec::new();
            let mut all_answered = true;
            for node in self.nodes.iter().filter(|node| node.is_running()) {
                match self.health(node.id).await {
                    Some(health) => leaders.push(health.leader_id),
                    None => all_answered = false,
                }
            }
            if all_answered && !leaders.is_empty() {
                if let Some(Some(leader)) = leaders.first() {
                    if leaders.iter().all(|l| *l == Some(*leader)) && self.is_running(*leader) {
                        return *leader;
                    }
                }
            }
            assert!(Instant::now() < deadline, "no agreed leader within {within:?}:\n{}", self.logs());
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub fn is_running(&self, id: u64) -> bool {
        self.nodes.iter().any(|node| node.id == id && node.is_running())
    }

    /// Waits until node `id` has applied at least `index`.
    pub async fn wait_for_applied(&self, id: u64, index: u64, within: Duration) {
        let deadline = Instant::now() + within;
        loop {
            if let Some(health) = self.health(id).await {
                if health.last_applied_index.is_some_and(|applied| applied >= index) {
                    return;
                }
            }
            assert!(Instant::now() < deadline, "node {id} did not apply index {index} within {within:?}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Every node's log, for failure messages.
    pub fn logs(&self) -> String {
        self.nodes.iter().map(|node| format!("--- node {} ---\n{}", node.id, node.log())).collect()
    }
}

fn node_args(id: u64, api_addr: &str, peer_addr: &str, data_dir: &std::path::Path) -> Vec<String> {
    vec![
        "--node-id".into(),
        id.to_string(),
        "--api-addr".into(),
        api_addr.into(),
        "--peer-addr".into(),
        peer_addr.into(),
        "--data-dir".into(),
        data_dir.display().to_string(),
    ]
}

/// A single node in this process, for API tests.
pub struct InProcessNode {
    pub running: Option<RunningNode>,
    pub endpoint: String,
    pub dir: TempDir,
    /// The administrator's credentials.
    pub signing: Signing,
}

/// A bootstrapping single-node config on free loopback ports, data in `data_dir`.
pub fn single_node_config(data_dir: PathBuf, raft: RaftTiming) -> NodeConfig {
    let api_addr = format!("127.0.0.1:{}", free_port());
    let peer_addr = format!("127.0.0.1:{}", free_port());
    NodeConfig {
        bootstrap: true,
        raft,
        sled_cache_mib: 8,
        insecure_plaintext: true,
        ..NodeConfig::new(1, api_addr, peer_addr, data_dir)
    }
}

impl InProcessNode {
    pub async fn start() -> InProcessNode {
        Self::start_with(|_| {}).await
    }

    /// [`InProcessNode::start`] with `adjust` applied to the config first.
    pub async fn start_with(adjust: impl FnOnce(&mut NodeConfig)) -> InProcessNode {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut config = single_node_config(dir.path().join("node-1"), RaftTiming::default());
        adjust(&mut config);
        let running = trent_node::server::start(config).await.expect("start node");
        running
            .node
            .raft
            .wait(Some(Duration::from_secs(10)))
            .metrics(|metrics| metrics.current_leader == Some(1), "leader")
            .await
            .expect("single node becomes leader");
        let node = &running.node;
        let answer = trent_node::admin::init::initialize(node, 1, 1, None).await.expect("init");
        node.submit_unseal_share(&answer.shares[0]).expect("unseal");
        let endpoint = format!("http://{}", running.api_addr);
        let signing =
            Signing::new(answer.access_key_id.clone(), answer.secret_access_key.clone(), "us-east-1");
        InProcessNode { running: Some(running), endpoint, dir, signing }
    }

    /// A client with no retries, signing as the administrator.
    pub fn client(&self) -> TrentClient {
        Self::client_for(&self.endpoint, Some(self.signing.clone()))
    }

    /// A client with no retries for `endpoint`.
    pub fn client_for(endpoint: &str, signing: Option<Signing>) -> TrentClient {
        let options = ClientOptions { retry: RetryPolicy::none(), signing, ..ClientOptions::default() };
        TrentClient::with_options(vec![endpoint.to_owned()], options).expect("client")
    }

    /// Where this node's audit log lives.
    pub fn audit_dir(&self) -> PathBuf {
        self.dir.path().join("node-1").join("audit")
    }

    pub async fn stop(mut self) {
        if let Some(running) = self.running.take() {
            running.shutdown().await;
        }
    }
}
