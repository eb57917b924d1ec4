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
use trent_wire::admin::{DevCredentials, InitRequest, InitResponse, SealStatusResponse, UnsealRequest};

use crate::cli::DevArgs;
use crate::config::{ArnScope, NodeConfig, PeerSpec};

/// The file dev mode writes its endpoints, credentials and unseal share to.
pub const CREDENTIALS_FILE: &str = "dev-credentials.json";

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

/// Runs the dev cluster until `shutdown` (Ctrl-C or SIGTERM, also one that arrived during
/// start-up).
pub async fn run(args: DevArgs, shutdown: crate::ShutdownSignal) -> anyhow::Result<()> {
    let members = layout(&args)?;
    crate::private_files::create_dir(&args.data_dir)
        .with_context(|| format!("cannot create {}", args.data_dir.display()))?;
    // An earlier run's credentials unseal a cluster that is already initialised; the file is
    // removed so that a script never mistakes it for this run's.
    let credentials_path = args.data_dir.join(CREDENTIALS_FILE);
    let previous: Option<DevCredentials> =
        std::fs::read(&credentials_path).ok().and_then(|bytes| serde_json::from_slice(&bytes).ok());
    match std::fs::remove_file(&credentials_path) {
        Ok(()) => {}
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
        Err(error) => return Err(error).context("cannot remove the old dev-credentials.json"),
    }
    // Even on loopback, the cluster initialises only for this process: other local users could
    // otherwise race it to POST /v1/sys/init.
    let init_token_path = args.data_dir.join("init-token");
    let init_token = crate::secret_file::read_or_create(&init_token_path)?;
    let init_token = String::from_utf8_lossy(&init_token).into_owned();
    if let [member] = members.as_slice() {
        let mut config = NodeConfig {
            peers: members.clone(),
            bootstrap: true,
            insecure_plaintext: true,
            init_token_file: Some(init_token_path.clone()),
            ..NodeConfig::new(
                member.node_id,
                member.api_addr.clone(),
                member.peer_addr.clone(),
                node_dir(&args.data_dir, member.node_id),
            )
        };
        args.test_hooks.clone().apply(&mut config);
        let running = crate::server::start(config).await?;
        wait_for_leader(&running.node).await?;
        let ready = init_and_unseal(&members, previous, &init_token).await;
        let credentials = match ready {
            Ok(credentials) => credentials,
            Err(error) => {
                running.shutdown().await;
                return Err(error);
            }
        };
        announce(&args.data_dir, &credentials)?;
        let failure = tokio::select! {
            () = shutdown.wait() => None,
            reason = running.failed() => Some(reason),
        };
        let mut running = running;
        running.stop().await;
        if let Some(reason) = failure {
            // As `trentd server` does: a failed disk can leave a blocking task that would keep
            // the runtime (and so the process) from ever ending.
            eprintln!("Error: Raft stopped ({reason}); the dev node is out of service");
            std::process::exit(1);
        }
        return Ok(());
    }

    let exe = std::env::current_exe().context("cannot find the trentd executable")?;
    let peer_secret = peer_secret_file(&args.data_dir)?;
    let mut children = Vec::new();
    for member in &members {
        let files = [peer_secret.as_path(), init_token_path.as_path()];
        match spawn_node(&exe, &args, member, &members, &files) {
            Ok(child) => children.push(child),
            Err(error) => {
                stop_all(&mut children);
                return Err(error);
            }
        }
    }
    let ready = match wait_for_cluster(&members).await {
        Ok(()) => init_and_unseal(&members, previous, &init_token).await,
        Err(error) => Err(error),
    };
    let credentials = match ready {
        Ok(credentials) => credentials,
        Err(error) => {
            stop_all(&mut children);
            return Err(error);
        }
    };
    announce(&args.data_dir, &credentials)?;
    shutdown.wait().await;
    stop_all(&mut children);
    Ok(())
}

/// The dev cluster's shared peer secret, `<data-dir>/peer-secret` (0600): made on the first run,
/// reused after, so the nodes of a data directory keep talking across restarts.
fn peer_secret_file(data_dir: &Path) -> anyhow::Result<PathBuf> {
    let path = data_dir.join("peer-secret");
    crate::secret_file::read_or_create(&path)?;
    Ok(path)
}

fn spawn_node(
    exe: &Path,
    args: &DevArgs,
    member: &PeerSpec,
    members: &[PeerSpec],
    [peer_secret, init_token]: &[&Path; 2],
) -> anyhow::Result<Child> {
    let data_dir = args.data_dir.as_path();
    let dir = node_dir(data_dir, member.node_id);
    crate::private_files::create_dir(&dir)?;
    let log = std::fs::File::create(data_dir.join(format!("node-{}.log", member.node_id)))?;
    let mut command = Command::new(exe);
    command
        .arg("server")
        .args(["--node-id", &member.node_id.to_string()])
        .args(["--api-addr", &member.api_addr])
        .args(["--peer-addr", &member.peer_addr])
        .arg("--data-dir")
        .arg(&dir)
        .arg("--bootstrap")
        .arg("--insecure-plaintext")
        .arg("--peer-secret-file")
        .arg(peer_secret)
        .arg("--init-token-file")
        .arg(init_token)
        .args(args.test_hooks.to_args());
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
    let client = crate::peer::PeerClient::new(None)?;
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
    // An uninitialised or sealed node is not ready (503) but still says who its leader is.
    let (_, body) = client.get_any_status(api_addr, "/v1/sys/health", Duration::from_secs(1)).await?;
    Ok(serde_json::from_slice(&body).ok())
}

/// Initialises a fresh cluster with one unseal share (or reuses the credentials of an earlier
/// run on the same data directory) and unseals every node.
async fn init_and_unseal(
    members: &[PeerSpec],
    previous: Option<DevCredentials>,
    init_token: &str,
) -> anyhow::Result<DevCredentials> {
    let client = crate::peer::PeerClient::new(None)?;
    let first = members.first().context("no nodes")?;
    let status: SealStatusResponse = get_json(&client, &first.api_addr, "/v1/sys/status").await?;
    let endpoints: Vec<String> = members.iter().map(|member| format!("http://{}", member.api_addr)).collect();
    let region = ArnScope::default().region;
    let credentials = if status.initialized {
        let previous = previous.context(
            "this data directory holds an initialised cluster but no dev-credentials.json; remove the directory to start afresh",
        )?;
        DevCredentials { endpoints, region, ..previous }
    } else {
        let access_key_id = std::env::var("TRENT_DEV_ACCESS_KEY_ID").ok();
        let secret_access_key = std::env::var("TRENT_DEV_SECRET_ACCESS_KEY").ok();
        let request = InitRequest {
            shares: 1,
            threshold: 1,
            access_key_id,
            secret_access_key,
            init_token: Some(init_token.to_owned()),
        };
        let body = serde_json::to_vec(&request)?;
        let reply = client
            .post(&first.api_addr, "/v1/sys/init", body, Duration::from_secs(10))
            .await
            .context(
            "cannot initialise the dev cluster (check TRENT_DEV_ACCESS_KEY_ID / TRENT_DEV_SECRET_ACCESS_KEY)",
        )?;
        let answer: InitResponse = serde_json::from_slice(&reply)?;
        DevCredentials {
            endpoints,
            region,
            access_key_id: answer.access_key_id,
            secret_access_key: answer.secret_access_key,
            unseal_shares: answer.shares,
            threshold: answer.threshold,
        }
    };
    for member in members {
        unseal(&client, &member.api_addr, &credentials).await?;
    }
    Ok(credentials)
}

/// Gives `api_addr` the shares until it is unsealed; waits for it to learn the keyring first.
async fn unseal(
    client: &crate::peer::PeerClient,
    api_addr: &str,
    credentials: &DevCredentials,
) -> anyhow::Result<()> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    loop {
        for share in &credentials.unseal_shares {
            let body = serde_json::to_vec(&UnsealRequest { share: Some(share.clone()), reset: false })?;
            let _ = client.post(api_addr, "/v1/sys/unseal", body, Duration::from_secs(5)).await;
        }
        let status: SealStatusResponse = get_json(client, api_addr, "/v1/sys/status").await?;
        if !status.sealed {
            return Ok(());
        }
        if tokio::time::Instant::now() > deadline {
            bail!("node {api_addr} did not unseal within 15 s; see its log");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn get_json<T: serde::de::DeserializeOwned>(
    client: &crate::peer::PeerClient,
    api_addr: &str,
    path: &str,
) -> anyhow::Result<T> {
    let body = client.get(api_addr, path, Duration::from_secs(5)).await?;
    Ok(serde_json::from_slice(&body)?)
}

fn announce(data_dir: &Path, credentials: &DevCredentials) -> anyhow::Result<()> {
    let path = data_dir.join(CREDENTIALS_FILE);
    // Written aside and renamed, so a script polling for the file never reads half of it.
    let partial = data_dir.join(format!("{CREDENTIALS_FILE}.partial"));
    crate::private_files::write(&partial, &serde_json::to_vec_pretty(credentials)?)
        .with_context(|| format!("cannot write {}", partial.display()))?;
    std::fs::rename(&partial, &path).with_context(|| format!("cannot write {}", path.display()))?;
    let nodes = credentials.endpoints.len();
    println!("Trent dev cluster is running ({nodes} node{}), unsealed.", if nodes == 1 { "" } else { "s" });
    for endpoint in &credentials.endpoints {
        println!("  endpoint:          {endpoint}");
    }
    println!("  region:            {}", credentials.region);
    println!("  access key id:     {}", credentials.access_key_id);
    println!("  secret access key: {}", credentials.secret_access_key);
    for share in &credentials.unseal_shares {
        println!("  unseal share:      {share}");
    }
    println!("  data:              {}", data_dir.display());
    println!("  credentials file:  {}", path.display());
    println!("Dev mode keeps the share and secret in the credentials file: never use it for real keys.");
    if let Some(first) = credentials.endpoints.first() {
        println!(
            "Try: AWS_ACCESS_KEY_ID={} AWS_SECRET_ACCESS_KEY=... aws kms create-key --endpoint-url {first} --region {}",
            credentials.access_key_id, credentials.region
        );
    }
    println!("Stop with Ctrl-C.");
    Ok(())
}
