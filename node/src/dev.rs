//! `trentd dev`: a development cluster on loopback with nothing to set up.
//!
//! One node runs in this process; `--nodes 3` starts three `trentd server` processes on
//! consecutive ports (client API from `--addr`, peer API 1000 ports higher), bootstraps them as
//! one cluster, and stops them on Ctrl-C or SIGTERM. `<data-dir>/dev-credentials.json` tells
//! scripts where the cluster is.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use anyhow::{bail, Context};
use trent_wire::admin::DevCredentials;

use crate::cli::DevArgs;
use crate::config::{ArnScope, NodeConfig, PeerSpec, RaftTiming};

/// Distance from a node's client port to its peer port in dev mode.
pub const PEER_PORT_OFFSET: u16 = 1000;

/// The dev cluster's layout: one entry per node.
fn layout(args: &DevArgs) -> anyhow::Result<Vec<PeerSpec>> {
    let base: SocketAddr =
        args.addr.parse().with_context(|| format!("--addr {} is not host:port", args.addr))?;
    (0..u16::from(args.nodes))
        .map(|i| {
            let api_port = base.port().checked_add(i).context("port out of range")?;
            let peer_port = api_port.checked_add(PEER_PORT_OFFSET).context("port out of range")?;
            Ok(PeerSpec {
                node_id: u64::from(i) + 1,
                api_addr: SocketAddr::new(base.ip(), api_port).to_string(),
                peer_addr: SocketAddr::new(base.ip(), peer_port).to_string(),
            })
        })
        .collect()
}

fn node_dir(data_dir: &Path, node_id: u64) -> PathBuf {
    data_dir.join(format!("node-{node_id}"))
}

/// Runs the dev cluster until Ctrl-C or SIGTERM.
pub async fn run(args: DevArgs) -> anyhow::Result<()> {
    let members = layout(&args)?;
    std::fs::create_dir_all(&args.data_dir)
        .with_context(|| format!("cannot create {}", args.data_dir.display()))?;
    // A credentials file from an earlier run must not be mistaken for this one.
    match std::fs::remove_file(args.data_dir.join("dev-credentials.json")) {
        Ok(()) => {}
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
        Err(error) => return Err(error).context("cannot remove the old dev-credentials.json"),
    }
    if let [member] = members.as_slice() {
        let config = NodeConfig {
            node_id: member.node_id,
            api_addr: member.api_addr.clone(),
            peer_addr: member.peer_addr.clone(),
            advertise_api_addr: None,
            advertise_peer_addr: None,
            data_dir: node_dir(&args.data_dir, member.node_id),
            peers: members.clone(),
            bootstrap: true,
            arn: ArnScope::default(),
            raft: RaftTiming::default(),
            sled_cache_mib: 32,
            clock_offset_ms: 0,
        };
        let running = crate::server::start(config).await?;
        wait_for_leader(&running.node).await?;
        announce(&args.data_dir, &members)?;
        crate::shutdown_signal().await;
        running.shutdown().await;
        return Ok(());
    }

    let exe = std::env::current_exe().context("cannot find the trentd executable")?;
    let mut children = Vec::new();
    for member in &members {
        match spawn_node(&exe, &args.data_dir, member, &members) {
            Ok(child) => children.push(child),
            Err(error) => {
                stop_all(&mut children);
                return Err(error);
            }
        }
    }
    let ready = wait_for_cluster(&members).await;
    if let Err(error) = ready {
        stop_all(&mut children);
        return Err(error);
    }
    announce(&args.data_dir, &members)?;
    crate::shutdown_signal().await;
    stop_all(&mut children);
    Ok(())
}

fn spawn_node(exe: &Path, data_dir: &Path, member: &PeerSpec, members: &[PeerSpec]) -> anyhow::Result<Child> {
    let dir = node_dir(data_dir, member.node_id);
    std::fs::create_dir_all(&dir)?;
    let log = std::fs::File::create(data_dir.join(format!("node-{}.log", member.node_id)))?;
    let mut command = Command::new(exe);
    command
        .arg("server")
        .args(["--node-id", &member.node_id.to_string()])
        .args(["--api-addr", &member.api_addr])
        .args(["--peer-addr", &member.peer_addr])
        .arg("--data-dir")
        .arg(&dir)
        .arg("--bootstrap");
    for peer in members {
        command.arg("--peer").arg(format!("{},{},{}", peer.node_id, peer.api_addr, peer.peer_addr));
    }
    command.stdin(Stdio::null()).stdout(Stdio::null()).stderr(log);
    command.spawn().with_context(|| format!("cannot start node {}", member.node_id))
}

fn stop_all(children: &mut [Child]) {
    for child in children.iter() {
        // SIGTERM lets each node flush and leave cleanly.
        // SAFETY: kill(2) with a pid we spawned and own; no memory is touched.
        unsafe {
            libc::kill(child.id() as libc::pid_t, libc::SIGTERM);
        }
    }
    for child in children.iter_mut() {
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        loop {
            match child.try_wait() {
                Ok(Some(_)) => break,
                Ok(None) if std::time::Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(50))
                }
                _ => {
                    let _ = child.kill();
                    let _ = child.wait();
                    break;
                }
            }
        }
    }
}

async fn wait_for_leader(node: &crate::node::Node) -> anyhow::Result<()> {
    node.raft
        .wait(Some(Duration::from_secs(15)))
        .metrics(|metrics| metrics.current_leader.is_some(), "a leader")
        .await
        .context("no leader was elected")?;
    Ok(())
}

async fn wait_for_cluster(members: &[PeerSpec]) -> anyhow::Result<()> {
    let client = crate::peer::PeerClient::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let mut ready = 0;
        for member in members {
            if let Ok(Some(health)) = fetch_health(&client, &member.api_addr).await {
                if health.leader_id.is_some() {
                    ready += 1;
                }
            }
        }
        if ready == members.len() {
            return Ok(());
        }
        if tokio::time::Instant::now() > deadline {
            bail!("the dev cluster did not elect a leader within 30 s; see the node-*.log files");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn fetch_health(
    client: &crate::peer::PeerClient,
    api_addr: &str,
) -> anyhow::Result<Option<trent_wire::admin::HealthResponse>> {
    let body = client.get(api_addr, "/v1/sys/health", Duration::from_secs(1)).await?;
    Ok(serde_json::from_slice(&body).ok())
}

fn announce(data_dir: &Path, members: &[PeerSpec]) -> anyhow::Result<()> {
    let endpoints: Vec<String> = members.iter().map(|member| format!("http://{}", member.api_addr)).collect();
    let credentials = DevCredentials { endpoints: endpoints.clone(), region: ArnScope::default().region };
    let path = data_dir.join("dev-credentials.json");
    // Written aside and renamed, so a script polling for the file never reads half of it.
    let partial = data_dir.join("dev-credentials.json.partial");
    std::fs::write(&partial, serde_json::to_vec_pretty(&credentials)?)
        .with_context(|| format!("cannot write {}", partial.display()))?;
    std::fs::rename(&partial, &path).with_context(|| format!("cannot write {}", path.display()))?;
    println!(
        "Trent dev cluster is running ({} node{}).",
        members.len(),
        if members.len() == 1 { "" } else { "s" }
    );
    for endpoint in &endpoints {
        println!("  endpoint:    {endpoint}");
    }
    println!("  region:      {}", credentials.region);
    println!("  data:        {}", data_dir.display());
    println!("  credentials: {}", path.display());
    if let Some(first) = endpoints.first() {
        println!("Try: aws kms create-key --endpoint-url {first} --region {}", credentials.region);
    }
    println!("Stop with Ctrl-C.");
    Ok(())
}
