//! The storage crash test, short: a few power cuts under a real writer must lose nothing, and the
//! same test must catch a writer whose syncs do nothing. Needs root and loop devices; without
//! them it says so and passes.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a panic in a test is a failed test

use std::path::PathBuf;
use std::time::Duration;

use trent_jepsen::crash::{image, plan, run_iteration, IterationConfig, IterationReport, Summary};

fn writer_exe() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_trent-jepsen-crash"))
}

/// Whether the test can run here; prints why not when it cannot.
fn machine_can_cut_power(test: &str) -> bool {
    match image::unavailable_reason() {
        None => true,
        Some(reason) => {
            println!("SKIPPED {test}: {reason}");
            false
        }
    }
}

async fn iteration(seed: u64, cut_after: Duration, planted_no_fsync: bool) -> IterationReport {
    let config = IterationConfig { writer_exe: writer_exe(), seed, cut_after, planted_no_fsync };
    let report = run_iteration(config).await.expect("the iteration runs");
    println!("{report}");
    report
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_writes_survive_a_power_cut() {
    if !machine_can_cut_power("acknowledged_writes_survive_a_power_cut") {
        return;
    }
    let mut summary = Summary::default();
    for (seed, cut_after) in plan(0x7e57, 6, (50, 1500)) {
        summary.add(&iteration(seed, cut_after, false).await);
    }
    println!("{summary}");
    assert!(summary.acked_logs > 0, "the writer acknowledged nothing: the test proved nothing");
    assert!(
        summary.is_clean(),
        "acknowledged writes were lost or the store recovered inconsistent: {summary}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_writer_that_acknowledges_without_syncing_loses_writes() {
    if !machine_can_cut_power("a_writer_that_acknowledges_without_syncing_loses_writes") {
        return;
    }
    let report = iteration(0x0bad, Duration::from_millis(800), true).await;
    assert!(report.recovery.acked_logs > 0, "the planted writer acknowledged nothing: {report}");
    assert!(report.recovery.lost() > 0, "writes acknowledged without a sync all survived: {report}");
}
