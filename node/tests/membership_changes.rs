//! Membership changes cannot brick a cluster: promoting a learner that cannot acknowledge is
//! refused (it once made a voter the quorum waited for forever), every membership call is
//! bounded, and a cluster whose new configuration lost its quorum recovers the way
//! docs/operations.md tells an operator to: bring members back, then remove the dead one.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a panic in a test is a failed test

mod support;

use std::time::{Duration, Instant};

use support::ProcessCluster;
use trent_client::wire::admin::AddLearnerRequest;
use trent_client::ClientError;
use trent_wire::ErrorCode;

fn code(error: &ClientError) -> Option<ErrorCode> {
    match error {
        ClientError::Api(error) => Some(error.code),
        _ => None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn promoting_a_learner_nobody_runs_is_refused_and_the_cluster_keeps_serving() {
    let cluster = ProcessCluster::start(3, &[]).await;
    let leader = cluster.wait_for_leader(Duration::from_secs(10)).await;
    let follower = cluster.followers(leader)[0];
    let admin = cluster.client_of(follower);
    // The red team's learner: an address where nothing listens.
    let dead =
        AddLearnerRequest { node_id: 4, api_addr: "127.0.0.1:1".into(), peer_addr: "127.0.0.1:1".into() };
    let started = Instant::now();
    let added = admin.add_learner(&dead).await;
    assert!(
        started.elapsed() < Duration::from_secs(12),
        "adding a learner is bounded: {:?}",
        started.elapsed()
    );
    if let Err(error) = &added {
        assert_eq!(code(error), Some(ErrorCode::DependencyTimeout), "{error}");
    }
    let started = Instant::now();
    let refused = admin.promote(4).await.expect_err("a learner that cannot acknowledge is not promoted");
    assert_eq!(code(&refused), Some(ErrorCode::InvalidState), "{refused}");
    assert!(refused.to_string().contains("has not caught up"), "{refused}");
    assert!(started.elapsed() < Duration::from_secs(15), "the refusal took {:?}", started.elapsed());
    // Nothing changed: three voters still commit, and the learner goes as easily as it came.
    let view = admin.cluster().await.unwrap();
    assert_eq!(view.members.iter().filter(|member| member.voter).count(), 3, "{view:?}");
    support::create_key(&cluster.client_of(leader), "after the refused promotion").await.unwrap();
    let removed = admin.remove_member(4).await.expect("remove the learner");
    assert_eq!(removed.members.len(), 3);
    // Promoting something that is not a member, or already a voter, is refused by name.
    assert_eq!(code(&admin.promote(9).await.unwrap_err()), Some(ErrorCode::NotFound));
    assert_eq!(code(&admin.remove_member(9).await.unwrap_err()), Some(ErrorCode::NotFound));
    assert_eq!(code(&admin.promote(follower).await.unwrap_err()), Some(ErrorCode::AlreadyExists));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_operator_recovers_a_cluster_whose_new_configuration_lost_its_quorum() {
    let mut cluster = ProcessCluster::start(3, &[]).await;
    let leader = cluster.wait_for_leader(Duration::from_secs(10)).await;
    let index = cluster.add_unstarted_node(4, &[]);
    cluster.nodes[index].start();
    cluster.wait_until_up(4, Duration::from_secs(10)).await;
    let request = AddLearnerRequest {
        node_id: 4,
        api_addr: cluster.nodes[index].api_addr.clone(),
        peer_addr: cluster.nodes[index].peer_addr.clone(),
    };
    let admin = cluster.client_of(leader);
    admin.add_learner(&request).await.expect("add a running learner");
    admin.promote(4).await.expect("a caught-up learner is promoted");

    // Four voters need three. Node 4 dies for good, then one more voter goes down.
    cluster.node(4).kill();
    let down = cluster.followers(leader).into_iter().find(|id| *id != 4).unwrap();
    cluster.node(down).kill();
    let started = Instant::now();
    let stuck = admin.remove_member(4).await.expect_err("two of four voters cannot commit a removal");
    assert!(
        started.elapsed() < Duration::from_secs(12),
        "membership calls are bounded: {:?}",
        started.elapsed()
    );
    assert!(
        matches!(
            code(&stuck),
            Some(ErrorCode::DependencyTimeout | ErrorCode::ServiceUnavailable | ErrorCode::InvalidState)
        ),
        "{stuck}"
    );

    // The recovery docs/operations.md gives: bring back the member that can come back, so the
    // configuration has its quorum again, then remove the one that cannot.
    cluster.start_node(down).await;
    let leader = cluster.wait_for_leader(Duration::from_secs(20)).await;
    let admin = cluster.client_of(leader);
    let deadline = Instant::now() + Duration::from_secs(60);
    let removed = loop {
        match admin.remove_member(4).await {
            Ok(removed) => break removed,
            Err(error) => {
                assert!(
                    Instant::now() < deadline,
                    "the removal never went through: {error}\n{}",
                    cluster.logs()
                );
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
        }
    };
    assert_eq!(removed.members.iter().filter(|member| member.voter).count(), 3, "{removed:?}");
    support::create_key(&admin, "after the recovery").await.expect("three voters commit again");
}
