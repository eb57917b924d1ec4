//! `trentd`: parses arguments and runs a dev cluster or one server node.

use anyhow::Context;
use clap::Parser;
use trent_node::cli::{Cli, Mode};

/// glibc malloc spent over a tenth of the leader's CPU under write load (sled copies tree nodes
/// on every insert); mimalloc's thread-local free lists cut that.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,openraft=warn".into()),
        )
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr)
        .init();
    // Everything trentd writes (sled, snapshots, dev credentials) is for this user only.
    trent_node::private_files::private_by_default();
    let cli = Cli::parse();
    let shutdown = trent_node::ShutdownSignal::install();
    match cli.command {
        Mode::Dev(args) => trent_node::dev::run(args, shutdown).await,
        Mode::Healthcheck(args) => match trent_node::healthcheck::run(args).await {
            Ok(summary) => {
                println!("{summary}");
                Ok(())
            }
            Err(error) => {
                eprintln!("unhealthy: {error}");
                std::process::exit(1)
            }
        },
        Mode::Server(args) => {
            let config = args.into_config().map_err(anyhow::Error::msg).context("invalid configuration")?;
            let mut running = trent_node::server::start(config).await?;
            let failure = tokio::select! {
                () = shutdown.wait() => None,
                reason = running.failed() => Some(reason),
            };
            running.stop().await;
            // Exit here rather than return: dropping the node closes sled, and dropping the
            // runtime waits for every blocking task; on a disk that failed either can hang.
            match failure {
                // Out of service for good: exit non-zero so that a supervisor restarts the node.
                Some(reason) => {
                    eprintln!("Error: Raft stopped ({reason}); the node is out of service");
                    std::process::exit(1)
                }
                None => std::process::exit(0),
            }
        }
    }
}
