//! Leader failover under load, alone in its own test binary so that no other cluster competes
//! for the two cores while it measures how fast writes resume.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a panic in a test is a failed test

mod support;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use support::{all_key_ids, create_key, ProcessCluster};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killing_the_leader_elects_a_new_one_and_writes_resume_within_two_seconds() {
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
    let first_after = create_key(&writer, "first after kill").await.expect("write after leader kill");
    let resumed_after = killed_at.elapsed();
    println!("writes resumed {resumed_after:?} after SIGKILL of leader {leader}");
    assert!(resumed_after < Duration::from_secs(2), "writes resumed only after {resumed_after:?}");

    tokio::time::sleep(Duration::from_millis(500)).await;
    stop.store(true, Ordering::Relaxed);
    let mut acknowledged = vec![first_after];
    for writer in writers {
        acknowledged.extend(writer.await.expect("writer task"));
    }
    assert!(acknowledged.len() > 10, "writers made too little progress: {}", acknowledged.len());

    let new_leader = cluster.wait_for_leader(Duration::from_secs(5)).await;
    assert_ne!(new_leader, leader);
    for survivor in &survivors {
        let keys = all_key_ids(&cluster.client_of(*survivor)).await;
        for key_id in &acknowledged {
            assert!(keys.contains(key_id), "acknowledged key {key_id} missing on node {survivor}");
        }
    }
}
