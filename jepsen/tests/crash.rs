//! The storage crash test, short: a few power cuts under a real writer must lose nothing, and the
//! same test must catch a writer whose syncs do nothing. Needs root and loop devices; without
//! them it fails, unless `TRENT_SKIP_PRIVILEGED_TESTS=1` says that skipping is intended (a
//! developer's unprivileged machine): CI must never pass a test that did not run.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a panic in a test is a failed test

use std::path::PathBuf;
use std::time::Duration;

use trent_jepsen::crash::{image, plan, run_iteration, IterationConfig, IterationReport, Summary};

fn writer_exe() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_trent-jepsen-crash"))
}

/// Whether the test can run here. When it cannot, it fails, unless skipping was asked for.
fn machine_can_cut_power(test: &str) -> bool {
    let Some(reason) = image::unavailable_reason() else {
        return true;
    };
    assert!(
        std::env::var_os("TRENT_SKIP_PRIVILEGED_TESTS").is_some_and(|value| value == "1"),
        "{test} cannot run here ({reason}); run it as root with loop devices, or set TRENT_SKIP_PRIVILEGED_TESTS=1 to skip it on purpose"
    );
    println!("SKIPPED {test} (TRENT_SKIP_PRIVILEGED_TESTS=1): {reason}");
    false
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
