//! Reading the log back: filters, paging with a cursor, digests skipped, and files before the
//! cursor never opened.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a panic in a test is a failed test

mod support;

use support::*;
use trent_audit::{query, Filter, RotationPolicy, MAX_QUERY_LIMIT};

fn sequences(page: &trent_audit::QueryPage) -> Vec<u64> {
    page.events.iter().map(|stored| stored.sequence).collect()
}

fn names(page: &trent_audit::QueryPage) -> Vec<String> {
    page.events.iter().map(|stored| stored.event.request_id.clone()).collect()
}

#[test]
fn pages_follow_the_cursor_and_skip_digests() {
    let dir = tempfile::tempdir().unwrap();
    drop(write_log(dir.path(), small_files(6000), 25, 10));
    let mut after = None;
    let mut seen = Vec::new();
    loop {
        let page = query(dir.path(), &Filter::default(), after, 7).unwrap();
        assert!(page.events.len() <= 7);
        seen.extend(names(&page));
        match page.next_after {
            Some(next) => after = Some(next),
            None => break,
        }
    }
    let expected: Vec<String> = (1..=25).map(|n| format!("req-{n}")).collect();
    assert_eq!(seen, expected);
}

#[test]
fn filters_match_name_key_principal_error_and_time() {
    let dir = tempfile::tempdir().unwrap();
    drop(write_log(dir.path(), RotationPolicy::default(), 20, 0));
    let run = |filter: Filter| names(&query(dir.path(), &filter, None, 100).unwrap());
    let ids = |ns: &[u64]| ns.iter().map(|n| format!("req-{n}")).collect::<Vec<_>>();

    assert_eq!(
        run(Filter { event_name: Some("Decrypt".into()), ..Filter::default() }),
        ids(&[4, 8, 12, 16, 20])
    );
    assert_eq!(
        run(Filter { key_id: Some("k1".into()), ..Filter::default() }),
        ids(&[1, 4, 7, 10, 13, 16, 19])
    );
    let arn = "arn:aws:kms:us-east-1:111122223333:key/k2".to_owned();
    assert_eq!(run(Filter { key_id: Some(arn), ..Filter::default() }), ids(&[2, 5, 8, 11, 14, 17, 20]));
    assert_eq!(run(Filter { key_id: Some("2".into()), ..Filter::default() }), ids(&[]), "no suffix match");
    let odd: Vec<u64> = (1..=20).filter(|n| n % 2 == 1).collect();
    assert_eq!(run(Filter { principal: Some("u1".into()), ..Filter::default() }), ids(&odd));
    assert_eq!(run(Filter { principal: Some("AKu1".into()), ..Filter::default() }), ids(&odd));
    let user_arn = "arn:aws:iam::111122223333:user/u1".to_owned();
    assert_eq!(run(Filter { principal: Some(user_arn), ..Filter::default() }), ids(&odd));
    assert_eq!(run(Filter { error_code: Some("*".into()), ..Filter::default() }), ids(&[5, 10, 15, 20]));
    assert_eq!(run(Filter { error_code: Some("Other".into()), ..Filter::default() }), ids(&[]));
    let window = Filter { start_time: Some(time(3)), end_time: Some(time(6)), ..Filter::default() };
    assert_eq!(run(window), ids(&[3, 4, 5, 6]));
    let both =
        Filter { event_name: Some("Decrypt".into()), error_code: Some("*".into()), ..Filter::default() };
    assert_eq!(run(both), ids(&[20]));
}

#[test]
fn limits_are_capped() {
    let dir = tempfile::tempdir().unwrap();
    drop(write_log(dir.path(), RotationPolicy::default(), 3, 0));
    let page = query(dir.path(), &Filter::default(), None, 0).unwrap();
    assert_eq!(sequences(&page), [1]);
    assert_eq!(page.next_after, Some(1));
    let page = query(dir.path(), &Filter::default(), None, usize::MAX).unwrap();
    assert_eq!(sequences(&page), [1, 2, 3]);
    assert_eq!(page.next_after, None);
    assert_eq!(MAX_QUERY_LIMIT, 1000);
}

#[test]
fn files_entirely_before_the_cursor_are_not_read() {
    let dir = tempfile::tempdir().unwrap();
    drop(write_log(dir.path(), small_files(6000), 20, 0));
    let files = log_files(dir.path());
    assert!(files.len() >= 3);
    let second_first = sequence_of(&lines(&files[1])[0]);
    // Garbage in the first file would be an error if it were read.
    std::fs::write(&files[0], b"garbage\n").unwrap();
    assert!(query(dir.path(), &Filter::default(), None, 10).is_err());
    let page = query(dir.path(), &Filter::default(), Some(second_first - 1), 1000).unwrap();
    assert_eq!(page.events.first().map(|stored| stored.sequence), Some(second_first));
    assert_eq!(page.events.last().map(|stored| stored.sequence), Some(20));
}
