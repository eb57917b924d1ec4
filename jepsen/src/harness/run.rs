//! One run, start to finish: start the cluster, make the workload's keys, run the clients and
//! the nemesis together, heal, check (the history, the healed cluster, then the audit logs of
//! the stopped nodes), report.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use trent_client::wire::kms::CreateKeyRequest;

use super::audit::check_audit_trails;
use super::checks::{acknowledged_keys, check_final_state, check_history};
use super::cluster::{Cluster, ClusterConfig};
use super::nemesis::{self, NemesisKind, NemesisPlan};
use super::recorder::Recorder;
use super::report::{RunFacts, RunReport};
use super::workload::{Keys, Workload, WorkloadPlan};
use super::HarnessError;

/// Everything one run needs.
#[derive(Debug, Clone)]
pub struct RunConfig {
    /// The `trentd` binary to test.
    pub trentd: PathBuf,
    /// This run's directory (history, report, node logs and data).
    pub dir: PathBuf,
    /// Network id, 1–250.
    pub net: u8,
    /// Seeds the schedule and the clients.
    pub seed: u64,
    /// How long the clients run.
    pub duration: Duration,
    /// Faults to inject.
    pub nemeses: Vec<NemesisKind>,
    /// Concurrent clients.
    pub workers: usize,
    /// Mean pause of a client between calls.
    pub stagger: Duration,
    /// How long a client waits for one call before recording it as indeterminate.
    pub op_timeout: Duration,
    /// The nodes' consistency bound, ms.
    pub consistency_bound_ms: u64,
    /// Created keys whose material is compared across nodes at the end.
    pub split_brain_sample: usize,
    /// Keep the nodes' data directories afterwards.
    pub keep_data: bool,
}

/// Runs once and writes `history.jsonl`, `report.json` and `report.md` to `config.dir`.
pub async fn run(config: &RunConfig, progress: impl Fn(&str)) -> Result<RunReport, HarnessError> {
    std::fs::create_dir_all(&config.dir)
        .map_err(|error| HarnessError::io(format!("cannot create {}", config.dir.display()), error))?;
    let cluster_dir = config.dir.join("cluster");
    let cluster_config = ClusterConfig {
        trentd: config.trentd.clone(),
        dir: cluster_dir.clone(),
        net: config.net,
        consistency_bound_ms: config.consistency_bound_ms,
        snapshot_every: 500,
        op_timeout: config.op_timeout,
    };
    progress("starting a three-node cluster in network namespaces");
    let mut cluster = Cluster::start(cluster_config).await?;
    let plan = WorkloadPlan {
        workers: config.workers,
        duration: config.duration,
        register_slot: Duration::from_secs(30),
        revocation_cycle: Duration::from_secs(4),
        stagger: config.stagger,
        seed: config.seed,
    };
    progress("creating the workloads' keys");
    let keys = Arc::new(Keys::create(&cluster, &plan).await?);
    let probe_key = cluster
        .patient_client(1)?
        .create_key(&CreateKeyRequest {
            description: Some("jepsen recovery probe".to_owned()),
            ..CreateKeyRequest::default()
        })
        .await
        .map_err(|error| HarnessError::client("creating the probe key", error))?
        .key_metadata
        .key_id;
    // Crypto is served from each node's state, which may trail the leader by up to the bound:
    // let every node learn the new keys before the first call that needs them.
    tokio::time::sleep(Duration::from_millis(config.consistency_bound_ms) * 2).await;
    let recorder = Arc::new(Recorder::create(&config.dir.join("history.jsonl"))?);
    let workload = Arc::new(Workload::new(&cluster, recorder.clone(), keys.clone(), plan)?);
    let nemesis_plan = NemesisPlan {
        kinds: config.nemeses.clone(),
        seed: config.seed,
        last_start: config.duration.saturating_sub(Duration::from_secs(20)),
        probe_key: probe_key.clone(),
    };
    progress(&format!("running clients and nemeses for {} s", config.duration.as_secs()));
    let clients = tokio::spawn(workload.clone().run());
    let faults = nemesis::run(&mut cluster, &nemesis_plan, &recorder, &progress).await;
    progress("faults done; waiting for the clients");
    clients.await.map_err(HarnessError::panicked)??;
    progress("healing and waiting for the cluster to recover");
    let mut notes = nemesis::heal_everything(&mut cluster).await;
    if !nemesis::recover(&cluster, &probe_key).await {
        notes.push("the healed cluster did not recover".to_owned());
    }
    for note in &notes {
        progress(note);
    }
    progress("checking the history");
    let events = recorder.finish()?;
    let bound = Duration::from_millis(config.consistency_bound_ms);
    let history = check_history(&events, &keys, bound)?;
    progress("checking the final state on every node");
    let created = acknowledged_keys(&events);
    let blobs = workload.acked_blobs();
    let rotated = (keys.cipher.as_slice(), events.as_slice());
    let final_state = check_final_state(&cluster, &created, &blobs, config.split_brain_sample, rotated).await;
    progress("checking every node's audit log");
    let public_key = cluster.audit_public_key().await;
    // Read from the host once the nodes are stopped: the logs no longer move, and each closes
    // with a digest. Every node was healed above, so any torn tail a kill left is cut already.
    cluster.stop().await;
    let audit = check_audit_trails(&cluster.audit_trails(), &events, public_key);
    drop(cluster);
    notes.extend(history.notes.iter().cloned());
    notes.extend(final_state.notes.iter().cloned());
    notes.extend(audit.notes.iter().cloned());
    let facts = RunFacts {
        seed: config.seed,
        duration_s: config.duration.as_secs(),
        nemeses: config.nemeses.iter().map(|kind| format!("{kind:?}").to_lowercase()).collect(),
        workers: config.workers,
        consistency_bound_ms: config.consistency_bound_ms,
    };
    let report = RunReport::new(facts, &events, faults, history, final_state, audit, notes);
    write_report(&config.dir, &report)?;
    if !config.keep_data {
        remove_data(&cluster_dir);
    }
    Ok(report)
}

fn write_report(dir: &Path, report: &RunReport) -> Result<(), HarnessError> {
    let json = serde_json::to_vec_pretty(report)
        .map_err(|error| HarnessError::io("cannot encode the report", std::io::Error::other(error)))?;
    let write = |name: &str, bytes: &[u8]| {
        let path = dir.join(name);
        std::fs::write(&path, bytes)
            .map_err(|error| HarnessError::io(format!("cannot write {}", path.display()), error))
    };
    write("report.json", &json)?;
    write("report.md", report.to_markdown().as_bytes())
}

/// Deletes the nodes' data directories (large, and holding sealed key material), keeping logs
/// and certificates.
fn remove_data(cluster_dir: &Path) {
    let Ok(entries) = std::fs::read_dir(cluster_dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() && entry.file_name().to_string_lossy().starts_with("node-") {
            let _ = std::fs::remove_dir_all(path);
        }
    }
}
