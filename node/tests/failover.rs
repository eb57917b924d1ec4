//! Leader failover under load, alone in its own test binary so that no other cluster competes
//! for the two cores. How fast writes resume is printed, not asserted (speed is measured by
//! `bench/`, never in tests): the test asserts that they resume and that nothing acknowledged
//! is lost.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a panic in a test is a failed test

mod support;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use support::{all_key_ids, create_key, ProcessCluster};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killing_the_leader_elects_a_new_one_and_writes_resume_without_losing_a_key() {
    let mut cluster = ProcessCluster::start(3, &[]).await;
    let leader = cluster.wait_for_leader(Duration::from_secs(10)).await;
    let survivors = cluster.followers(leader);

    // Writers keep going through the survivors before, during and after the kill; every key
    // they saw acknowledged must exist afterwards.
    let stop = Arc::new(AtomicBool::new(false));
    let mut writers = Vec::new();
    for writer in 0..4 {
        let client = cluster.client_over(&survivors);
        let stop = stop.clone();
        writers.push(tokio::spawn(async move {
            let mut acknowledged = Vec::new();
            let mut n = 0;
            while !stop.load(Ordering::Relaxed) {
                n += 1;
                if let Ok(key_id) = create_key(&client, &format!("writer {writer} key {n}")).await {
                    acknowledged.push(key_id);
                }
            }
            acknowledged
        }));
    }
    tokio::time::sleep(Duration::from_millis(500)).await;

    cluster.node(leader).kill();
    let killed_at = Instant::now();
    let writer = cluster.client_over(&survivors);
    // The client retries through the election; a failure here means writes did not resume.
    let first_after = create_key(&writer, "first after kill").await.expect("write after leader kill");
    println!("writes resumed {:?} after SIGKILL of leader {leader}", killed_at.elapsed());

    tokio::time::sleep(Duration::from_millis(500)).await;
    stop.store(true, Ordering::Relaxed);
    let mut acknowledged = Vec::new();
    for writer in writers {
        acknowledged.extend(writer.await.expect("writer task"));
    }
    assert!(!acknowledged.is_empty(), "the writers acknowledged nothing");
    acknowledged.push(first_after);

    let new_leader = cluster.wait_for_leader(Duration::from_secs(5)).await;
    assert_ne!(new_leader, leader);
    for survivor in &survivors {
        let keys = all_key_ids(&cluster.client_of(*survivor)).await;
        for key_id in &acknowledged {
            assert!(keys.contains(key_id), "acknowledged key {key_id} missing on node {survivor}");
        }
    }
}
