//! Starting and stopping one node: open storage, start Raft, bind the client and peer ports,
//! bootstrap a fresh cluster when asked, run the deletion sweeper, and shut all of it down in
//! order.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use openraft::error::InitializeError;
use openraft::error::RaftError;
use openraft::Raft;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::config::{NodeConfig, TransportError};
use crate::freshness::Freshness;
use crate::http::body::BodyBudget;
use crate::http::connections::{ConnectionGate, ConnectionLimits};
use crate::http::listener::ListenerOptions;
use crate::network::Network;
use crate::node::Node;
use crate::peer::auth::PeerSecret;
use crate::peer::PeerClient;
use crate::proposer::Proposer;

/// Why a node could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The data directory could not be opened.
    #[error("cannot open data directory: {0}")]
    Storage(#[from] trent_storage::OpenError),
    /// The Raft configuration is invalid.
    #[error("invalid Raft configuration: {0}")]
    RaftConfig(#[from] crate::config::TimingError),
    /// Raft did not start or initialise.
    #[error("Raft: {0}")]
    Raft(String),
    /// TLS was not configured, or its files are unusable.
    #[error("{0}")]
    Transport(#[from] crate::config::TransportError),
    /// A listen address could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: String,
        /// Why.
        source: std::io::Error,
    },
    /// The audit log could not be opened: a node that cannot record calls does not serve them.
    #[error("cannot open the audit log in {}: {error}", dir.display())]
    Audit {
        /// Its directory.
        dir: std::path::PathBuf,
        /// Why.
        error: trent_audit::AuditError,
    },
}

/// A started node and the tasks serving it.
pub struct RunningNode {
    /// The node.
    pub node: Arc<Node>,
    /// The bound client API address.
    pub api_addr: SocketAddr,
    /// The bound peer API address.
    pub peer_addr: SocketAddr,
    shutdown: watch::Sender<bool>,
    /// Set once Raft has stopped on its own (see [`crate::health::raft_failure`]).
    failure: watch::Receiver<Option<String>>,
    tasks: Vec<JoinHandle<()>>,
}

/// Starts a node from `config`.
pub async fn start(config: NodeConfig) -> Result<RunningNode, StartError> {
    #[cfg(feature = "jepsen-planted-bug")]
    if crate::planted_bug::active().is_none() {
        return Err(StartError::Raft("TRENT_JEPSEN_PLANTED_BUG must be early-ack or stale-crypto".into()));
    }
    raise_file_limit(
        config.limits.max_connections + ConnectionLimits::PEER.max_connections + FILES_BESIDES_CONNECTIONS,
    );
    let (log_store, state_machine) = trent_storage::open(&config.data_dir, config.disk_options())?;
    let registry = state_machine.registry();
    let disk = state_machine.disk().clone();
    let tls = config.load_tls()?;
    let peer_tls = tls.as_ref().map(|tls| tls.peer_client.clone());
    let peer_secret = peer_secret(&config, tls.is_some(), state_machine.member_count())?;
    let init_token = match &config.init_token_file {
        Some(path) => Some(crate::secret_file::read(path).map_err(TransportError::from)?),
        None => None,
    };
    let mut peers = PeerClient::new(peer_tls).map_err(|error| {
        crate::config::TransportError::Tls(crate::tls::TlsError::Config(error.to_string()))
    })?;
    if let Some(secret) = &peer_secret {
        peers = peers.with_peer_secret(secret.clone());
    }
    let raft_config = Arc::new(config.raft.raft_config("trent")?);
    let freshness = Arc::new(Freshness::new(Duration::from_millis(config.raft.consistency_bound_ms)));
    let raft = Raft::new(
        config.node_id,
        raft_config,
        Network::new(peers.clone(), registry.clone()),
        log_store.clone(),
        state_machine,
    )
    .await
    .map_err(|error| StartError::Raft(error.to_string()))?;

    let api_listener = bind(&config.api_addr).await?;
    let peer_listener = bind(&config.peer_addr).await?;
    let api_addr = local_addr(&api_listener, &config.api_addr)?;
    let peer_addr = local_addr(&peer_listener, &config.peer_addr)?;

    let bootstrap = config.bootstrap;
    // The idempotency header changes what a write does: it must be signed like x-amz-*.
    let verifier =
        trent_sigv4::SigV4Verifier::new(config.arn.region.clone(), "kms").require_signed_prefix("x-trent-");
    let body_budget = BodyBudget::new(config.limits.max_request_memory_mib.saturating_mul(1024 * 1024));
    let client_gate = ConnectionGate::new(config.limits.connections());
    let peer_gate = ConnectionGate::new(ConnectionLimits::PEER);
    let policies = crate::authorization::policies::PolicyCache::new(&config.arn.account_id);
    let clock = crate::clock::Clock::new(config.clock_offset_ms, config.test_clock_file.clone());
    if config.test_clock_file.is_some() {
        tracing::warn!("started with a test clock file: this node's date is whatever the file says");
    }
    let audit_dir = config.audit_dir();
    let audit = if config.audit.unaudited_bench_only {
        crate::audit::AuditTrail::unaudited(&audit_dir)
    } else {
        crate::audit::AuditTrail::open(&audit_dir, config.audit.rotation())
            .map_err(|error| StartError::Audit { dir: audit_dir.clone(), error })?
    };
    let key_usage = Arc::new(crate::key_usage::KeyUsageTracker::load(&config.data_dir, clock.now_ms()));
    match key_usage.replay_audit(&audit_dir) {
        Ok(0) => {}
        Ok(applied) => tracing::info!(applied, "key usage completed from the audit log"),
        Err(error) => tracing::warn!(%error, "key usage not completed from the audit log"),
    }
    let config = Arc::new(config);
    let node = Arc::new_cyclic(|node| Node {
        verifier,
        config,
        raft,
        registry,
        log_store,
        disk,
        peers,
        proposer: Proposer::start(node.clone()),
        seal: crate::seal::state::Seal::default(),
        freshness,
        body_budget,
        peer_body_budget: BodyBudget::new(crate::peer::protocol::MAX_PEER_REQUEST_MEMORY_BYTES),
        peer_secret,
        init_token,
        membership_gate: tokio::sync::Mutex::new(()),
        policies,
        key_generation: Default::default(),
        key_usage,
        clock,
        audit,
    });
    let (shutdown, shutdown_rx) = watch::channel(false);
    let mut tasks = Vec::new();
    let peer_node = node.clone();
    let peer_options = ListenerOptions {
        gate: peer_gate,
        tls: tls.as_ref().map(|tls| tls.peer.clone()),
        // Mutual TLS: a finished handshake is a certificate the cluster CA issued.
        handshake_proves: true,
    };
    tasks.push(tokio::spawn(crate::http::listener::serve(
        peer_listener,
        move |request| crate::peer::service::handle(peer_node.clone(), request),
        peer_options,
        shutdown_rx.clone(),
    )));
    let api_node = node.clone();
    let api_options = ListenerOptions {
        gate: client_gate,
        tls: tls.as_ref().map(|tls| tls.api.clone()),
        handshake_proves: false,
    };
    tasks.push(tokio::spawn(crate::http::listener::serve(
        api_listener,
        move |request| crate::api::handle(api_node.clone(), request),
        api_options,
        shutdown_rx.clone(),
    )));
    tasks.push(tokio::spawn(crate::freshness::renew(node.clone(), shutdown_rx.clone())));
    tasks.push(tokio::spawn(crate::sweeper::run(node.clone(), shutdown_rx.clone())));
    tasks.push(tokio::spawn(crate::feature_level::run(node.clone(), shutdown_rx.clone())));
    tasks.push(tokio::spawn(crate::audit::sign_periodically(node.clone(), shutdown_rx.clone())));
    tasks.push(tokio::spawn(crate::key_usage::run(node.clone(), shutdown_rx.clone())));
    let (failed, failure) = watch::channel(None);
    let watched = node.clone();
    tasks.push(tokio::spawn(async move {
        if let Some(reason) = crate::health::raft_failure(&watched, shutdown_rx).await {
            let _ = failed.send(Some(reason));
        }
    }));

    if bootstrap {
        initialize(&node).await?;
    }
    let transport = if tls.is_some() { "TLS (mutual TLS between peers)" } else { "plain HTTP" };
    if tls.is_none() && !(api_addr.ip().is_loopback() && peer_addr.ip().is_loopback()) {
        tracing::warn!(
            %api_addr,
            %peer_addr,
            "serving plain HTTP beyond loopback: requests, replies and Raft traffic cross the network unencrypted"
        );
    }
    tracing::info!(node_id = node.id(), %api_addr, %peer_addr, transport, "node started");
    if node.init_token.is_none() && !node.registry.read().is_initialized() && !api_addr.ip().is_loopback() {
        tracing::warn!(
            %api_addr,
            "uninitialised and started without --init-token-file: whoever reaches POST /v1/sys/init first initialises the cluster and receives its unseal shares"
        );
    }
    #[cfg(feature = "jepsen-planted-bug")]
    tracing::warn!(bug = ?crate::planted_bug::active(), "built with jepsen-planted-bug: this node breaks its promises on purpose");
    Ok(RunningNode { node, api_addr, peer_addr, shutdown, failure, tasks })
}

async fn initialize(node: &Node) -> Result<(), StartError> {
    let members = node.config.initial_members();
    match node.raft.initialize(members).await {
        Ok(()) => {
            tracing::info!("initialised a new cluster");
            Ok(())
        }
        Err(RaftError::APIError(InitializeError::NotAllowed(_))) => {
            tracing::info!("cluster already initialised; joining it");
            Ok(())
        }
        Err(error) => Err(StartError::Raft(error.to_string())),
    }
}

/// The secret plaintext peers sign with: from the configured file; or, for a node alone in its
/// cluster (by configuration and by its stored membership), a random one nobody else knows, so
/// its peer port refuses everyone; with TLS none (mutual TLS authenticates peers).
fn peer_secret(
    config: &NodeConfig,
    tls: bool,
    stored_members: usize,
) -> Result<Option<Arc<PeerSecret>>, TransportError> {
    if tls {
        return Ok(None);
    }
    if let Some(path) = &config.peer_secret_file {
        return Ok(Some(Arc::new(PeerSecret::load(path)?)));
    }
    let alone = config.initial_members().len() <= 1 && stored_members <= 1;
    if !alone {
        return Err(TransportError::PeerSecretRequired);
    }
    tracing::info!("plain HTTP without a peer secret file: this lone node's peer port accepts nobody");
    Ok(Some(Arc::new(PeerSecret::ephemeral()?)))
}

/// File descriptors a node needs beside its connections: sled's files, snapshots, peer clients.
const FILES_BESIDES_CONNECTIONS: usize = 256;

/// Raises the soft open-file limit to the hard one, so the connection caps, not the kernel,
/// decide when connections are refused; warns if even the hard limit is below `needed`.
fn raise_file_limit(needed: usize) {
    let mut limit = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
    // SAFETY: getrlimit/setrlimit(2) read and write the struct we pass, nothing else.
    let got = unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) };
    if got != 0 {
        return;
    }
    if limit.rlim_cur < limit.rlim_max {
        let raised = libc::rlimit { rlim_cur: limit.rlim_max, rlim_max: limit.rlim_max };
        // SAFETY: as above.
        if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &raised) } == 0 {
            limit = raised;
        }
    }
    if (limit.rlim_cur as usize) < needed {
        tracing::warn!(
            open_files = limit.rlim_cur,
            needed,
            "the open-file limit is below what the connection caps allow: raise it (ulimit -n) or lower --max-connections"
        );
    }
}

async fn bind(addr: &str) -> Result<TcpListener, StartError> {
    TcpListener::bind(addr).await.map_err(|source| StartError::Bind { addr: addr.to_owned(), source })
}

fn local_addr(listener: &TcpListener, addr: &str) -> Result<SocketAddr, StartError> {
    listener.local_addr().map_err(|source| StartError::Bind { addr: addr.to_owned(), source })
}

impl RunningNode {
    /// Resolves with the reason once Raft has stopped on its own: the node is out of service
    /// and should be shut down and restarted. Never resolves during a requested shutdown.
    pub async fn failed(&self) -> String {
        let mut failure = self.failure.clone();
        let reason = match failure.wait_for(Option::is_some).await {
            Ok(reason) => reason.clone(),
            Err(_) => None,
        };
        match reason {
            Some(reason) => reason,
            None => std::future::pending().await,
        }
    }

    /// Stops accepting requests, stops Raft and flushes storage, then drops the node (and so
    /// closes sled, which flushes once more).
    pub async fn shutdown(mut self) {
        self.stop().await;
    }

    /// [`RunningNode::shutdown`] without dropping anything: for a process about to exit, which
    /// must not hang in sled's close on a disk that failed (sled flushes on drop, and waits
    /// forever for a write that failed).
    pub async fn stop(&mut self) {
        let _ = self.shutdown.send(true);
        match tokio::time::timeout(Duration::from_secs(10), self.node.raft.shutdown()).await {
            Ok(Ok(())) => {}
            Ok(Err(error)) => tracing::warn!(%error, "Raft did not shut down cleanly"),
            Err(_) => tracing::warn!("Raft did not shut down within 10 s; stopping anyway"),
        }
        for task in std::mem::take(&mut self.tasks) {
            let _ = tokio::time::timeout(Duration::from_secs(5), task).await;
        }
        // Uses recorded by calls that finished after the tracker's own last write.
        crate::key_usage::persist(&self.node);
        if let Err(error) = self.node.disk.flush().await {
            tracing::warn!(%error, "final flush failed");
        }
        tracing::info!("node stopped");
    }
}
