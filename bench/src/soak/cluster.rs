//! The cluster under test: `trentd dev --nodes 3` started as a child (which starts the three
//! nodes as its own children and writes `dev-credentials.json`), the nodes' pids found in /proc,
//! and the whole of it stopped with SIGTERM to the dev process — on success, on error and on
//! Ctrl-C (the guard's `Drop`), and by the kernel if this process dies (`PR_SET_PDEATHSIG`).

use std::net::{SocketAddr, TcpListener};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::Context;
use trent_wire::admin::DevCredentials;

use crate::soak::health;

/// The file dev mode writes when the cluster is up and unsealed.
const CREDENTIALS_FILE: &str = "dev-credentials.json";
/// Distance from a node's client port to its peer port in dev mode.
const PEER_PORT_OFFSET: u16 = 1000;
/// How long dev mode may take to start, initialise and unseal the nodes.
const START_TIMEOUT: Duration = Duration::from_secs(90);
/// How long the nodes may take to answer health with a leader once dev mode is up.
const READY_TIMEOUT: Duration = Duration::from_secs(30);
/// How long the dev process may take to stop its nodes after SIGTERM before it is killed.
const STOP_TIMEOUT: Duration = Duration::from_secs(30);

/// One node of the cluster.
#[derive(Debug, Clone)]
pub struct Node {
    /// Its Raft id, 1-based.
    pub id: usize,
    /// Its process id.
    pub pid: u32,
    /// Its client API address.
    pub api_addr: SocketAddr,
    /// Its log file.
    pub log: PathBuf,
}

/// A running dev cluster; stopped when dropped.
pub struct Cluster {
    child: Option<Child>,
    /// The data directory (node data, node logs, `dev.log`).
    pub data_dir: PathBuf,
    /// Endpoints and credentials from `dev-credentials.json`.
    pub credentials: DevCredentials,
    /// The nodes, in id order.
    pub nodes: Vec<Node>,
}

/// How the stop went.
#[derive(Debug, Clone, serde::Serialize)]
pub struct StopOutcome {
    /// The dev process exited by itself within the timeout after SIGTERM.
    pub clean: bool,
    /// Its exit status, as text.
    pub status: String,
    /// Node processes that were still alive after the dev process ended (then sent SIGTERM).
    pub leftover_nodes: Vec<usize>,
}

/// Whether `count` client ports from `port` and their peer ports are free on loopback.
fn check_ports(port: u16, count: usize) -> anyhow::Result<()> {
    for index in 0..count as u16 {
        for candidate in [port + index, port + index + PEER_PORT_OFFSET] {
            TcpListener::bind(("127.0.0.1", candidate))
                .with_context(|| format!("port {candidate} is in use: choose another --port"))?;
        }
    }
    Ok(())
}

impl Cluster {
    /// Starts `trentd dev` with `nodes` nodes from client port `port` in `data_dir` and waits
    /// until every node answers health with a leader.
    pub async fn start(trentd: &Path, port: u16, nodes: usize, data_dir: &Path) -> anyhow::Result<Cluster> {
        anyhow::ensure!(
            trentd.is_file(),
            "{} not found (build it: cargo build --release -p trent-node)",
            trentd.display()
        );
        check_ports(port, nodes)?;
        std::fs::create_dir_all(data_dir).with_context(|| format!("cannot create {}", data_dir.display()))?;
        anyhow::ensure!(
            std::fs::read_dir(data_dir)?.next().is_none(),
            "{} is not empty: the soak needs a fresh cluster",
            data_dir.display()
        );
        let log_path = data_dir.join("dev.log");
        let log = std::fs::File::create(&log_path)?;
        let mut command = Command::new(trentd);
        command
            .arg("dev")
            .args(["--nodes", &nodes.to_string()])
            .args(["--addr", &format!("127.0.0.1:{port}")])
            .arg("--data-dir")
            .arg(data_dir)
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log);
        // SAFETY: prctl(PR_SET_PDEATHSIG) between fork and exec touches no memory. If this
        // process dies without cleaning up (even by SIGKILL), the kernel sends the dev process
        // SIGTERM, and it stops its nodes. The signal follows the thread that forks: this runs
        // on the main thread, which lives as long as the process.
        unsafe {
            command.pre_exec(|| {
                if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM) == 0 {
                    Ok(())
                } else {
                    Err(std::io::Error::last_os_error())
                }
            });
        }
        let child = command.spawn().with_context(|| format!("cannot start {}", trentd.display()))?;
        let mut cluster = Cluster {
            child: Some(child),
            data_dir: data_dir.to_owned(),
            credentials: DevCredentials {
                endpoints: Vec::new(),
                region: String::new(),
                access_key_id: String::new(),
                secret_access_key: String::new(),
                unseal_shares: Vec::new(),
                threshold: 0,
            },
            nodes: Vec::new(),
        };
        cluster.credentials = cluster.wait_for_credentials(&log_path).await?;
        cluster.nodes = cluster.find_nodes(port, nodes).await?;
        cluster.wait_until_ready().await?;
        Ok(cluster)
    }

    /// The dev process's pid.
    pub fn dev_pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// Waits for `dev-credentials.json`, failing early if the dev process exits.
    async fn wait_for_credentials(&mut self, log_path: &Path) -> anyhow::Result<DevCredentials> {
        let path = self.data_dir.join(CREDENTIALS_FILE);
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            if let Ok(bytes) = std::fs::read(&path) {
                return serde_json::from_slice(&bytes)
                    .with_context(|| format!("cannot parse {}", path.display()));
            }
            if let Some(status) = self.child.as_mut().and_then(|child| child.try_wait().ok().flatten()) {
                anyhow::bail!(
                    "trentd dev exited ({status}) before the cluster was up:\n{}",
                    tail(log_path, 20)
                );
            }
            anyhow::ensure!(
                Instant::now() < deadline,
                "trentd dev did not write {CREDENTIALS_FILE} within {START_TIMEOUT:?}:\n{}",
                tail(log_path, 20)
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Finds the node processes: children of the dev process whose command line names their id.
    async fn find_nodes(&self, port: u16, count: usize) -> anyhow::Result<Vec<Node>> {
        let dev_pid = self.dev_pid().context("the dev process is gone")?;
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let found = node_processes(dev_pid);
            let nodes: Vec<Node> = (1..=count)
                .filter_map(|id| {
                    let pid = found.iter().find(|(_, node_id)| *node_id == id).map(|(pid, _)| *pid)?;
                    Some(Node {
                        id,
                        pid,
                        api_addr: SocketAddr::from(([127, 0, 0, 1], port + id as u16 - 1)),
                        log: self.data_dir.join(format!("node-{id}.log")),
                    })
                })
                .collect();
            if nodes.len() == count {
                return Ok(nodes);
            }
            anyhow::ensure!(
                Instant::now() < deadline,
                "found {} of {count} node processes under the dev process {dev_pid}",
                nodes.len()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Waits until every node answers health 200, unsealed, with a leader.
    async fn wait_until_ready(&self) -> anyhow::Result<()> {
        let deadline = Instant::now() + READY_TIMEOUT;
        loop {
            let mut ready = 0;
            for node in &self.nodes {
                let probe = health::probe(node.api_addr, Duration::from_secs(2)).await;
                if probe.problem().is_none() && probe.leader_known {
                    ready += 1;
                }
            }
            if ready == self.nodes.len() {
                return Ok(());
            }
            anyhow::ensure!(
                Instant::now() < deadline,
                "the nodes did not all report a leader within {READY_TIMEOUT:?}"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// Stops the cluster: SIGTERM to the dev process (which stops its nodes), a wait, SIGKILL if
    /// it hangs; then SIGTERM to any node process it left behind.
    pub fn stop(&mut self) -> StopOutcome {
        let Some(mut child) = self.child.take() else {
            return StopOutcome { clean: true, status: "already stopped".into(), leftover_nodes: Vec::new() };
        };
        signal(child.id(), libc::SIGTERM);
        let deadline = Instant::now() + STOP_TIMEOUT;
        let (clean, status) = loop {
            match child.try_wait() {
                Ok(Some(status)) => break (true, status.to_string()),
                Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(50)),
                _ => {
                    let _ = child.kill();
                    let status =
                        child.wait().map_or_else(|error| error.to_string(), |status| status.to_string());
                    break (false, format!("killed after {STOP_TIMEOUT:?}: {status}"));
                }
            }
        };
        let leftover_nodes: Vec<usize> =
            self.nodes.iter().filter(|node| is_alive(node.pid)).map(|node| node.id).collect();
        for node in self.nodes.iter().filter(|node| leftover_nodes.contains(&node.id)) {
            signal(node.pid, libc::SIGTERM);
        }
        StopOutcome { clean, status, leftover_nodes }
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        if self.child.is_some() {
            self.stop();
        }
    }
}

/// `(pid, node id)` of each process whose parent is `parent` and whose command line is
/// `trentd server … --node-id N …`.
fn node_processes(parent: u32) -> Vec<(u32, usize)> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(Result::ok)
        .filter_map(|entry| entry.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| parent_of(*pid) == Some(parent))
        .filter_map(|pid| {
            let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
            let args: Vec<&[u8]> = cmdline.split(|byte| *byte == 0).collect();
            let at = args.iter().position(|arg| *arg == b"--node-id")?;
            let id = std::str::from_utf8(args.get(at + 1)?).ok()?.parse().ok()?;
            Some((pid, id))
        })
        .collect()
}

/// The parent pid of `pid`, from `/proc/<pid>/stat` (after the parenthesised command name).
fn parent_of(pid: u32) -> Option<u32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after_name = &stat[stat.rfind(')')? + 1..];
    after_name.split_whitespace().nth(1)?.parse().ok()
}

/// Whether `pid` is a live process (not gone, not a zombie).
pub fn is_alive(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => stat
            .rfind(')')
            .and_then(|end| stat[end + 1..].split_whitespace().next())
            .is_some_and(|state| state != "Z" && state != "X"),
        Err(_) => false,
    }
}

fn signal(pid: u32, signal: libc::c_int) {
    if let Ok(pid) = libc::pid_t::try_from(pid) {
        // SAFETY: kill(2) with the pid of a process this harness started; no memory is touched.
        unsafe {
            libc::kill(pid, signal);
        }
    }
}

/// The last `lines` lines of the file at `path`, for an error message.
fn tail(path: &Path, lines: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}
