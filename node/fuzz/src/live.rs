//! One single-node cluster in this process, as `node/tests/support` and `trentd dev` start it:
//! `trent_node::server::start` on free loopback ports with data in
//! `/tmp/trent-fuzz-<target>-<pid>`, leader of itself, initialised with one share (threshold
//! 1) and unsealed. A target keeps it (and the two-worker tokio runtime it runs on) in a
//! `OnceLock` for the rest of the process. Writes go through Raft to sled on disk for real.

use std::future::Future;
use std::net::TcpListener;
use std::path::PathBuf;
use std::time::Duration;

use tokio::runtime::Runtime;
use trent_node::config::{NodeConfig, RaftTiming};
use trent_node::server::RunningNode;
use trent_node::Node;
use trent_wire::admin::InitResponse;

/// The fuzzed node's id.
pub const NODE_ID: u64 = 1;
/// Snapshots are built this often (entries) instead of every 5,000: building one checks every
/// registry invariant (`RegistryRows::check`), and a failure stops Raft, which
/// [`LiveNode::assert_alive`] turns into a crash.
const SNAPSHOT_EVERY_ENTRIES: u64 = 1_000;

/// The running node and what initialising it returned.
pub struct LiveNode {
    /// Runs the node's tasks; each input is one `block_on`.
    pub runtime: Runtime,
    /// The node and its listeners.
    pub running: RunningNode,
    /// The init answer: one unseal share (threshold 1) and the administrator's access key.
    pub init: InitResponse,
}

impl LiveNode {
    /// Starts, initialises and unseals the node; `target` names its data directory.
    pub fn start(target: &str) -> LiveNode {
        if let Ok(filter) = std::env::var("TRENT_FUZZ_LOG") {
            let _ = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).try_init();
        }
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .thread_name("trent-fuzz-node")
            .build()
            .expect("tokio runtime");
        let (running, init) = runtime.block_on(start_node(target));
        LiveNode { runtime, running, init }
    }

    /// The node.
    pub fn node(&self) -> &Node {
        &self.running.node
    }

    /// Runs `future` on the node's runtime.
    pub fn block_on<F: Future>(&self, future: F) -> F::Output {
        self.runtime.block_on(future)
    }

    /// The log index of the last snapshot built (each build checked every registry invariant).
    pub fn snapshot_index(&self) -> Option<u64> {
        self.node().raft.metrics().borrow().snapshot.map(|log_id| log_id.index)
    }

    /// Panics unless Raft still runs and this node leads itself (waiting up to 5 s for a
    /// leadership that moved, e.g. after a vote, to come back). A node task that panicked has
    /// already aborted the process (libfuzzer-sys aborts on every panic).
    pub fn assert_alive(&self) {
        let node = self.node();
        let metrics = node.raft.metrics().borrow().clone();
        if let Err(fatal) = &metrics.running_state {
            panic!("Raft has stopped: {fatal}");
        }
        if metrics.current_leader != Some(NODE_ID) {
            let led = self.block_on(
                node.raft
                    .wait(Some(Duration::from_secs(5)))
                    .metrics(|metrics| metrics.current_leader == Some(NODE_ID), "leads itself again"),
            );
            if let Err(error) = led {
                panic!(
                    "the node no longer leads itself ({error}); state {:?}",
                    node.raft.metrics().borrow().state
                );
            }
        }
    }
}

/// A data directory for this process; directories of fuzz processes that are gone are removed.
fn data_dir(target: &str) -> PathBuf {
    const PREFIX: &str = "trent-fuzz-";
    let tmp = std::env::temp_dir();
    if let Ok(entries) = std::fs::read_dir(&tmp) {
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            let pid = name.strip_prefix(PREFIX).and_then(|rest| rest.rsplit_once('-')).map(|(_, pid)| pid);
            if let Some(pid) = pid.and_then(|pid| pid.parse::<u32>().ok()) {
                if !PathBuf::from(format!("/proc/{pid}")).exists() {
                    let _ = std::fs::remove_dir_all(entry.path());
                }
            }
        }
    }
    let dir = tmp.join(format!("{PREFIX}{target}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create the fuzz data directory");
    dir
}

/// A loopback port nothing listens on (bound, then released).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").expect("bind an ephemeral port").local_addr().expect("local addr").port()
}

async fn start_node(target: &str) -> (RunningNode, InitResponse) {
    let config = NodeConfig {
        bootstrap: true,
        insecure_plaintext: true,
        sled_cache_mib: 8,
        raft: RaftTiming { snapshot_every_entries: SNAPSHOT_EVERY_ENTRIES, ..RaftTiming::default() },
        ..NodeConfig::new(
            NODE_ID,
            format!("127.0.0.1:{}", free_port()),
            format!("127.0.0.1:{}", free_port()),
            data_dir(target).join("node-1"),
        )
    };
    let running = trent_node::server::start(config).await.expect("start the node");
    running
        .node
        .raft
        .wait(Some(Duration::from_secs(20)))
        .metrics(|metrics| metrics.current_leader == Some(NODE_ID), "leader")
        .await
        .expect("the single node becomes leader");
    let node = &running.node;
    let init = trent_node::admin::init::initialize(node, 1, 1, None).await.expect("initialise");
    node.submit_unseal_share(&init.shares[0]).expect("unseal");
    assert!(!node.seal.status().sealed, "the node is still sealed");
    (running, init)
}
