//! `trent operator`: initialise the cluster, unseal every node with each share typed once, seal,
//! and show seal status per node; and `trent access-keys`.

use std::io::BufRead;

use anyhow::Context;
use clap::{Args, Subcommand};
use trent_client::wire::admin::InitRequest;
use trent_client::TrentClient;
use zeroize::Zeroizing;

/// `trent operator ...`
#[derive(Debug, Subcommand)]
pub enum OperatorCommand {
    /// Initialise the cluster: prints the unseal shares and the first access key, once.
    Init(InitArgs),
    /// Unseal every endpoint: each share (arguments, or one per line on stdin) goes to every node.
    Unseal(UnsealArgs),
    /// Seal every endpoint: drops the root key and keyring from memory.
    Seal,
    /// Seal status of every endpoint.
    Status,
    /// A new split of the root key into shares (the old ones stop unsealing once a node is
    /// unsealed with the new ones).
    Rekey(InitArgs),
    /// Add a barrier key version; new secrets are sealed with it.
    Rotate,
    /// Make a cluster CA and a TLS certificate per node (no server is contacted).
    GenCerts(GenCertsArgs),
}

/// `trent operator gen-certs`.
#[derive(Debug, Args)]
pub struct GenCertsArgs {
    /// Directory to write `ca.pem`, `ca.key`, `<node>.pem` and `<node>.key` into.
    #[arg(long, value_name = "DIR")]
    pub out_dir: std::path::PathBuf,
    /// A node's host name, as peers and clients reach it; repeat per node.
    #[arg(long = "node", value_name = "NAME", required = true)]
    pub nodes: Vec<String>,
    /// Another DNS name or IP address every node certificate carries (e.g. localhost, 127.0.0.1).
    #[arg(long = "san", value_name = "NAME")]
    pub extra_names: Vec<String>,
    /// Validity in days.
    #[arg(long, default_value_t = 825)]
    pub days: u32,
    /// Replace files that already exist.
    #[arg(long)]
    pub force: bool,
    /// Issue the node certificates from this existing CA certificate (PEM) instead of a new CA.
    #[arg(long, value_name = "PEM", requires = "issuer_key")]
    pub issuer_cert: Option<std::path::PathBuf>,
    /// The existing CA's private key (PEM), with `--issuer-cert`.
    #[arg(long, value_name = "PEM", requires = "issuer_cert")]
    pub issuer_key: Option<std::path::PathBuf>,
}

/// Writes a CA and node certificates; needs no cluster.
pub fn gen_certs(json: bool, args: GenCertsArgs) -> anyhow::Result<()> {
    let made = match (&args.issuer_cert, &args.issuer_key) {
        (Some(cert), Some(key)) => {
            let read = |path: &std::path::Path| {
                std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))
            };
            let key = Zeroizing::new(read(key)?);
            trent_client::certs::issue(&read(cert)?, &key, &args.nodes, &args.extra_names, args.days)?
        }
        _ => trent_client::certs::generate(&args.nodes, &args.extra_names, args.days)?,
    };
    let written = made.write_to(&args.out_dir, args.force)?;
    if json {
        let paths: Vec<String> = written.iter().map(|path| path.display().to_string()).collect();
        println!("{}", serde_json::to_string_pretty(&serde_json::json!({ "files": paths }))?);
    } else {
        for path in &written {
            println!("wrote {}", path.display());
        }
        println!(
            "Nodes: --tls-cert <node>.pem --tls-key <node>.key --tls-ca ca.pem. Clients: --ca-cert ca.pem."
        );
        println!("Keep ca.key offline: it is only needed to issue more node certificates.");
    }
    Ok(())
}

/// `trent access-keys ...`
#[derive(Debug, Subcommand)]
pub enum AccessKeysCommand {
    /// Create an access key; prints its secret once.
    Create {
        /// What it is for.
        #[arg(long, default_value = "")]
        description: String,
        /// The user it acts as (see `trent users`); `admin` when not given.
        #[arg(long, value_name = "NAME", value_parser = super::args::parse_user_name)]
        user: Option<String>,
    },
    /// List access keys and the user each acts as (never their secrets).
    List,
    /// Delete an access key (the last one cannot be deleted).
    Delete {
        /// The access key id.
        access_key_id: String,
    },
}

/// Runs an access-key command.
pub async fn access_keys(client: &TrentClient, json: bool, command: AccessKeysCommand) -> anyhow::Result<()> {
    match command {
        AccessKeysCommand::Create { description, user } => {
            let created = client.create_user_access_key(&description, user.as_deref()).await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&created)?);
            } else {
                println!("Access key id:      {}", created.access_key_id);
                println!("Secret access key:  {}", created.secret_access_key);
                if !created.user.is_empty() {
                    println!("User:               {}", created.user);
                }
                println!("The secret is shown once and stored only sealed.");
            }
        }
        AccessKeysCommand::List => {
            let list = client.list_access_keys().await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&list)?);
            } else {
                println!("{}", super::render::access_key_list(&list.access_keys));
            }
        }
        AccessKeysCommand::Delete { access_key_id } => {
            client.delete_access_key(&access_key_id).await?;
            if json {
                println!("{}", serde_json::json!({ "deleted": access_key_id }));
            } else {
                println!("deleted {access_key_id}");
            }
        }
    }
    Ok(())
}

/// `trent operator init`.
#[derive(Debug, Args)]
pub struct InitArgs {
    /// Number of unseal shares.
    #[arg(long, default_value_t = 5)]
    pub shares: u32,
    /// Shares needed to unseal.
    #[arg(long, default_value_t = 3)]
    pub threshold: u32,
    /// The file the nodes were started with as `--init-token-file` (needed when they were).
    #[arg(long, value_name = "FILE")]
    pub init_token_file: Option<std::path::PathBuf>,
}

/// `trent operator unseal`.
#[derive(Debug, Args)]
pub struct UnsealArgs {
    /// Shares; read from stdin, one per line, when none are given.
    pub shares: Vec<String>,
}

/// Runs an operator command; `Ok(false)` when some node could not be reached or refused.
pub async fn run(client: &TrentClient, json: bool, command: OperatorCommand) -> anyhow::Result<bool> {
    match command {
        OperatorCommand::Init(args) => {
            let init_token = match &args.init_token_file {
                Some(path) => Some(
                    std::fs::read_to_string(path)
                        .with_context(|| format!("cannot read {}", path.display()))?
                        .trim()
                        .to_owned(),
                ),
                None => None,
            };
            let request = InitRequest {
                shares: args.shares,
                threshold: args.threshold,
                init_token,
                ..InitRequest::default()
            };
            let answer = client.init(&request).await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&answer)?);
            } else {
                for (n, share) in answer.shares.iter().enumerate() {
                    println!("Unseal share {}: {share}", n + 1);
                }
                println!("Threshold:          {}", answer.threshold);
                println!("Access key id:      {}", answer.access_key_id);
                println!("Secret access key:  {}", answer.secret_access_key);
                println!("These are shown once and stored nowhere. Keep the shares apart.");
            }
            Ok(true)
        }
        OperatorCommand::Unseal(args) => {
            let shares: Vec<Zeroizing<String>> = if args.shares.is_empty() {
                read_shares()?
            } else {
                args.shares.into_iter().map(Zeroizing::new).collect()
            };
            let mut outcomes: Vec<NodeOutcome> = Vec::new();
            for (index, endpoint) in client.endpoints().iter().enumerate() {
                let mut outcome = NodeOutcome::new(endpoint.to_string());
                for share in &shares {
                    match client.unseal(index, share).await {
                        Ok(status) => {
                            outcome.sealed = Some(status.sealed);
                            outcome.progress = Some(status.progress);
                            outcome.threshold = status.threshold;
                            if !status.sealed {
                                break;
                            }
                        }
                        Err(error) => {
                            // A node already unsealed by an earlier share needs no more.
                            if client.seal_status(index).await.is_ok_and(|status| !status.sealed) {
                                outcome.sealed = Some(false);
                                break;
                            }
                            outcome.errors.push(error.to_string());
                        }
                    }
                }
                outcomes.push(outcome);
            }
            report(json, &outcomes, |outcome| match outcome.sealed {
                Some(false) => "unsealed".to_owned(),
                _ => format!(
                    "sealed, {} of {} shares",
                    outcome.progress.unwrap_or(0),
                    outcome.threshold.map_or("?".to_owned(), |t| t.to_string())
                ),
            })
        }
        OperatorCommand::Seal => {
            let mut outcomes = Vec::new();
            for (index, endpoint) in client.endpoints().iter().enumerate() {
                let mut outcome = NodeOutcome::new(endpoint.to_string());
                match client.seal(index).await {
                    Ok(_) => outcome.sealed = Some(true),
                    Err(error) => outcome.errors.push(error.to_string()),
                }
                outcomes.push(outcome);
            }
            report(json, &outcomes, |_| "sealed".to_owned())
        }
        OperatorCommand::Rekey(args) => {
            let answer = client.rekey(args.shares, args.threshold).await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&answer)?);
            } else {
                for (n, share) in answer.shares.iter().enumerate() {
                    println!("Unseal share {}: {share}", n + 1);
                }
                println!(
                    "Threshold: {}. Unseal a node with these shares to confirm them: from then on the old shares no longer unseal. Destroy the old shares.",
                    answer.threshold
                );
            }
            Ok(true)
        }
        OperatorCommand::Rotate => {
            let answer = client.rotate_keyring().await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&answer)?);
            } else {
                println!("barrier key version {} now seals new secrets", answer.barrier_version);
            }
            Ok(true)
        }
        OperatorCommand::GenCerts(args) => {
            gen_certs(json, args)?;
            Ok(true)
        }
        OperatorCommand::Status => {
            let mut all_ok = true;
            let mut answers = Vec::new();
            for (index, endpoint) in client.endpoints().iter().enumerate() {
                match client.seal_status(index).await {
                    Ok(status) if json => {
                        let mut value = serde_json::to_value(&status)?;
                        if let Some(object) = value.as_object_mut() {
                            object.insert("endpoint".into(), endpoint.to_string().into());
                        }
                        answers.push(value);
                    }
                    Ok(status) => println!(
                        "{endpoint}: node {} {} {}{}",
                        status.node_id,
                        if status.initialized { "initialised" } else { "uninitialised" },
                        if status.sealed { "sealed" } else { "unsealed" },
                        match (status.sealed, status.threshold) {
                            (true, Some(threshold)) =>
                                format!(" ({} of {threshold} shares)", status.progress),
                            _ => String::new(),
                        }
                    ),
                    Err(error) => {
                        eprintln!("{endpoint}: {error}");
                        if json {
                            answers.push(serde_json::json!({ "endpoint": endpoint.to_string(), "error": error.to_string() }));
                        }
                        all_ok = false;
                    }
                }
            }
            if json {
                println!("{}", serde_json::to_string_pretty(&answers)?);
            }
            Ok(all_ok)
        }
    }
}

/// What one node said to an unseal or seal: its state afterwards, and every error on the way.
#[derive(Debug, serde::Serialize)]
struct NodeOutcome {
    endpoint: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    sealed: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    progress: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    threshold: Option<u8>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    errors: Vec<String>,
}

impl NodeOutcome {
    fn new(endpoint: String) -> NodeOutcome {
        NodeOutcome { endpoint, sealed: None, progress: None, threshold: None, errors: Vec::new() }
    }
}

/// Prints every node's outcome (errors to stderr in text mode); `Ok(false)` if any failed.
fn report(
    json: bool,
    outcomes: &[NodeOutcome],
    text: impl Fn(&NodeOutcome) -> String,
) -> anyhow::Result<bool> {
    if json {
        println!("{}", serde_json::to_string_pretty(outcomes)?);
    } else {
        for outcome in outcomes {
            for error in &outcome.errors {
                eprintln!("{}: {error}", outcome.endpoint);
            }
            if outcome.sealed.is_some() {
                println!("{}: {}", outcome.endpoint, text(outcome));
            }
        }
    }
    Ok(outcomes.iter().all(|outcome| outcome.errors.is_empty()))
}

fn read_shares() -> anyhow::Result<Vec<Zeroizing<String>>> {
    let mut shares = Vec::new();
    for line in std::io::stdin().lock().lines() {
        let line = Zeroizing::new(line.context("cannot read shares from stdin")?);
        let share = line.trim();
        if !share.is_empty() {
            shares.push(Zeroizing::new(share.to_owned()));
        }
    }
    anyhow::ensure!(!shares.is_empty(), "no shares given (as arguments or on stdin)");
    Ok(shares)
}
