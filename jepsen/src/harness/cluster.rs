//! A three-node Trent cluster the harness owns: nodes in their own network namespaces with
//! mutual TLS between them, initialised and unsealed as an operator would, and the clients that
//! reach each node from the host.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use trent_client::wire::admin::{HealthResponse, InitRequest};
use trent_client::{CaBundle, ClientOptions, RetryPolicy, Signing, TrentClient};

use super::audit::AuditTrail;
use super::netns::Network;
use super::process::NodeProcess;
use super::HarnessError;

/// The client API port on every node (each node has its own address).
pub const API_PORT: u16 = 8200;
/// The peer API port on every node.
pub const PEER_PORT: u16 = 8201;
/// Nodes in the cluster.
pub const NODES: u8 = 3;

/// How a cluster is started.
#[derive(Debug, Clone)]
pub struct ClusterConfig {
    /// The `trentd` binary.
    pub trentd: PathBuf,
    /// Where data directories, certificates and logs go.
    pub dir: PathBuf,
    /// Network id (1–250): namespaces `tj<net>-…`, addresses `10.77.<net>.0/24`.
    pub net: u8,
    /// The nodes' consistency bound, ms.
    pub consistency_bound_ms: u64,
    /// Log entries between snapshots (small, so snapshots are taken and installed under faults).
    pub snapshot_every: u64,
    /// Per-attempt timeout of the workload's clients.
    pub op_timeout: Duration,
}

/// A running cluster.
pub struct Cluster {
    config: ClusterConfig,
    nodes: Vec<NodeProcess>,
    shares: Vec<String>,
    signing: Option<Signing>,
    ca: CaBundle,
    /// One single-attempt client per node (index `node - 1`), signing as the administrator.
    op_clients: Vec<TrentClient>,
    // Dropped last: namespaces go after the processes in them.
    network: Network,
}

impl Cluster {
    /// Creates the network, certificates and nodes, starts them, waits for a leader, then
    /// initialises the cluster (3 shares, threshold 2) and unseals every node.
    pub async fn start(config: ClusterConfig) -> Result<Cluster, HarnessError> {
        let network = Network::create(config.net, NODES).await?;
        let certs = config.dir.join("certs");
        write_certificates(&network, &certs)?;
        let ca = CaBundle::from_pem_file(&certs.join("ca.pem"))
            .map_err(|error| HarnessError::client("cannot read the cluster CA", error))?;
        let nodes = (1..=NODES).map(|id| node_process(&config, &network, &certs, id)).collect();
        let mut cluster =
            Cluster { config, nodes, shares: Vec::new(), signing: None, ca, op_clients: Vec::new(), network };
        for node in &mut cluster.nodes {
            node.start(0)?;
        }
        cluster.wait_for(Duration::from_secs(30), "a leader", |cluster| cluster.leader()).await?;
        cluster.initialise().await?;
        for id in 1..=NODES {
            cluster.unseal(id).await?;
        }
        Ok(cluster)
    }

    /// The network the nodes are on.
    pub fn network(&self) -> &Network {
        &self.network
    }

    /// The single-attempt client of node `id` (1-based), for the workload.
    pub fn op_client(&self, id: u8) -> &TrentClient {
        &self.op_clients[usize::from(id - 1)]
    }

    /// One single-attempt client per node (index `node - 1`) signing as `signing`.
    pub fn op_clients_signing_as(&self, signing: &Signing) -> Result<Vec<TrentClient>, HarnessError> {
        let options = ClientOptions {
            timeout: self.config.op_timeout,
            signing: Some(signing.clone()),
            ..self.options(false)
        };
        (1..=NODES)
            .map(|id| TrentClient::with_options(vec![self.endpoint(id)], options.clone()))
            .collect::<Result<_, _>>()
            .map_err(|error| HarnessError::client("cannot make a client", error))
    }

    /// A client of node `id` that retries (8 attempts, backoff), for set-up and final reads.
    pub fn patient_client(&self, id: u8) -> Result<TrentClient, HarnessError> {
        let options = ClientOptions { timeout: self.config.op_timeout, ..self.options(true) };
        TrentClient::with_options(vec![self.endpoint(id)], options)
            .map_err(|error| HarnessError::client("cannot make a client", error))
    }

    /// A client of node `id` for the final reads: three attempts, short backoff; `None` before
    /// the cluster is initialised.
    pub fn final_client(&self, id: u8) -> Option<TrentClient> {
        let retry = RetryPolicy::new(3, Duration::from_millis(200), Duration::from_secs(2));
        let options = ClientOptions { timeout: self.config.op_timeout, retry, ..self.options(false) };
        self.signing.as_ref()?;
        TrentClient::with_options(vec![self.endpoint(id)], options).ok()
    }

    /// Node `id`'s health, or `None` if it does not answer within a second.
    pub async fn health(&self, id: u8) -> Option<HealthResponse> {
        let options = ClientOptions { timeout: Duration::from_secs(1), ..self.options(false) };
        let client = TrentClient::with_options(vec![self.endpoint(id)], options).ok()?;
        client.health(0).await.ok()
    }

    /// The leader a majority of running nodes name, if there is one.
    pub async fn leader(&self) -> Option<u8> {
        let mut votes = [0u8; NODES as usize + 1];
        for id in 1..=NODES {
            if let Some(leader) = self.health(id).await.and_then(|health| health.leader_id) {
                if let Ok(leader) = u8::try_from(leader) {
                    if (1..=NODES).contains(&leader) {
                        votes[usize::from(leader)] += 1;
                    }
                }
            }
        }
        (1..=NODES).find(|id| votes[usize::from(*id)] > NODES / 2)
    }

    /// SIGKILLs node `id`.
    pub async fn kill(&mut self, id: u8) {
        self.node_mut(id).kill().await;
    }

    /// Stops node `id` with SIGTERM (SIGKILL after 10 s).
    pub async fn terminate(&mut self, id: u8) {
        self.node_mut(id).terminate(Duration::from_secs(10)).await;
    }

    /// SIGSTOPs node `id`.
    pub fn pause(&mut self, id: u8) {
        self.node_mut(id).pause();
    }

    /// SIGCONTs node `id`.
    pub fn resume(&mut self, id: u8) {
        self.node_mut(id).resume();
    }

    /// Whether node `id`'s process is running (paused counts as running).
    pub fn is_running(&mut self, id: u8) -> bool {
        self.node_mut(id).is_running()
    }

    /// Whether node `id` is paused.
    pub fn is_paused(&self, id: u8) -> bool {
        self.nodes[usize::from(id - 1)].is_paused()
    }

    /// Starts node `id` again on its data directory (its wall clock shifted by
    /// `clock_offset_ms`), waits until it answers and unseals it: every node restarts sealed.
    pub async fn restart(&mut self, id: u8, clock_offset_ms: i64) -> Result<(), HarnessError> {
        if !self.is_running(id) {
            self.node_mut(id).start(clock_offset_ms)?;
        }
        let what = format!("node {id} answering");
        self.wait_for(Duration::from_secs(30), &what, |cluster| async move { cluster.health(id).await })
            .await?;
        self.unseal(id).await
    }

    /// Unseals node `id` with two shares, until its health says unsealed.
    pub async fn unseal(&self, id: u8) -> Result<(), HarnessError> {
        let options = ClientOptions { timeout: Duration::from_secs(2), ..self.options(false) };
        let client = TrentClient::with_options(vec![self.endpoint(id)], options)
            .map_err(|error| HarnessError::client("cannot make a client", error))?;
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if self.health(id).await.is_some_and(|health| !health.sealed) {
                return Ok(());
            }
            for share in self.shares.iter().take(2) {
                let _ = client.unseal(0, share).await;
            }
            if Instant::now() > deadline {
                return Err(HarnessError::Timeout {
                    what: format!("unsealing node {id} (see {})", self.log_path(id).display()),
                    within: Duration::from_secs(30),
                });
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Stops every node with SIGTERM (SIGKILL after 10 s), so that their audit logs stop
    /// growing and each unsealed node closes its log with a signed digest.
    pub async fn stop(&mut self) {
        for id in 1..=NODES {
            self.terminate(id).await;
        }
    }

    /// Every node's audit directory (`<data-dir>/audit`, the node's default).
    pub fn audit_trails(&self) -> Vec<AuditTrail> {
        (1..=NODES)
            .map(|id| AuditTrail { node: format!("node {id}"), dir: self.data_dir(id).join("audit") })
            .collect()
    }

    /// The cluster's audit digest public key (PEM) and the node that gave it: the first node up
    /// and unsealed that answers `GET /v1/sys/audit/public-key`.
    pub async fn audit_public_key(&self) -> Option<(String, Vec<u8>)> {
        for id in 1..=NODES {
            if self.health(id).await.is_none_or(|health| health.sealed) {
                continue;
            }
            let Some(client) = self.final_client(id) else { continue };
            if let Ok(key) = client.audit_public_key().await {
                return Some((format!("node {id}"), key.public_key.into_bytes()));
            }
        }
        None
    }

    /// Node `id`'s data directory.
    fn data_dir(&self, id: u8) -> PathBuf {
        data_dir(&self.config, id)
    }

    /// Where node `id`'s output goes.
    pub fn log_path(&self, id: u8) -> &Path {
        self.nodes[usize::from(id - 1)].log_path()
    }

    async fn initialise(&mut self) -> Result<(), HarnessError> {
        let client = TrentClient::with_options(vec![self.endpoint(1)], self.options(false))
            .map_err(|error| HarnessError::client("cannot make a client", error))?;
        let request = InitRequest { shares: 3, threshold: 2, ..InitRequest::default() };
        let answer = client.init(&request).await.map_err(|error| HarnessError::client("init", error))?;
        self.shares = answer.shares.clone();
        let signing =
            Signing::new(answer.access_key_id.clone(), answer.secret_access_key.clone(), "us-east-1");
        self.signing = Some(signing);
        let options = ClientOptions { timeout: self.config.op_timeout, ..self.options(false) };
        self.op_clients = (1..=NODES)
            .map(|id| TrentClient::with_options(vec![self.endpoint(id)], options.clone()))
            .collect::<Result<_, _>>()
            .map_err(|error| HarnessError::client("cannot make a client", error))?;
        Ok(())
    }

    /// Client options trusting the cluster CA; signed once initialised; retrying or not.
    fn options(&self, retry: bool) -> ClientOptions {
        ClientOptions {
            signing: self.signing.clone(),
            ca_bundle: Some(self.ca.clone()),
            retry: if retry { ClientOptions::default().retry } else { RetryPolicy::none() },
            ..ClientOptions::default()
        }
    }

    fn endpoint(&self, id: u8) -> String {
        format!("https://{}:{API_PORT}", self.network.address(id))
    }

    fn node_mut(&mut self, id: u8) -> &mut NodeProcess {
        &mut self.nodes[usize::from(id - 1)]
    }

    /// Polls `probe` every 100 ms until it gives `Some`, for up to `within`.
    async fn wait_for<'a, T, F, Fut>(
        &'a self,
        within: Duration,
        what: &str,
        probe: F,
    ) -> Result<T, HarnessError>
    where
        F: Fn(&'a Cluster) -> Fut,
        Fut: std::future::Future<Output = Option<T>>,
    {
        let deadline = Instant::now() + within;
        loop {
            if let Some(value) = probe(self).await {
                return Ok(value);
            }
            if Instant::now() > deadline {
                return Err(HarnessError::Timeout { what: what.to_owned(), within });
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

/// A CA and one certificate per node (`node<i>`, valid for the node's address), as
/// `trent operator gen-certs` makes them.
fn write_certificates(network: &Network, dir: &Path) -> Result<(), HarnessError> {
    let names: Vec<String> = (1..=NODES).map(|id| format!("node{id}")).collect();
    let addresses: Vec<String> = (1..=NODES).map(|id| network.address(id).to_string()).collect();
    let certificates = trent_client::certs::generate(&names, &addresses, 2)
        .map_err(|error| HarnessError::Certificates(error.to_string()))?;
    if dir.exists() {
        std::fs::remove_dir_all(dir)
            .map_err(|error| HarnessError::io("cannot clear old certificates", error))?;
    }
    certificates.write_to(dir, false).map_err(|error| HarnessError::Certificates(error.to_string()))?;
    Ok(())
}

fn data_dir(config: &ClusterConfig, id: u8) -> PathBuf {
    config.dir.join(format!("node-{id}"))
}

/// The `trentd server` command of node `id`: bootstrapped with all three as voters.
fn node_process(config: &ClusterConfig, network: &Network, certs: &Path, id: u8) -> NodeProcess {
    let address = network.address(id);
    let file = |name: String| certs.join(name).display().to_string();
    let mut args = vec![
        "server".to_owned(),
        format!("--node-id={id}"),
        format!("--api-addr={address}:{API_PORT}"),
        format!("--peer-addr={address}:{PEER_PORT}"),
        format!("--data-dir={}", data_dir(config, id).display()),
        format!("--tls-cert={}", file(format!("node{id}.pem"))),
        format!("--tls-key={}", file(format!("node{id}.key"))),
        format!("--tls-ca={}", file("ca.pem".to_owned())),
        format!("--consistency-bound-ms={}", config.consistency_bound_ms),
        format!("--snapshot-every={}", config.snapshot_every),
        "--bootstrap".to_owned(),
    ];
    for peer in 1..=NODES {
        let peer_address = network.address(peer);
        args.push(format!("--peer={peer},{peer_address}:{API_PORT},{peer_address}:{PEER_PORT}"));
    }
    let log_path = config.dir.join(format!("node-{id}.log"));
    NodeProcess::new(id, network.namespace(id), config.trentd.clone(), args, log_path)
}
