//! The lag benchmark's own measure (`debts-lag`, `make bench-lag`), checked on a small run against a real
//! server: every command it sends is answered, every watched one is seen by a later read, and the lags it
//! reports are those of reads that came after the answers.

use std::time::Duration;

use bench::lag::{measure, LagPlan};

use crate::support::{data_dir, free_port, start};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_watched_command_is_seen_and_its_lag_measured() {
    let (data_dir, port) = (data_dir("lag"), free_port());
    let mut server = start(&data_dir, port);
    let plan = LagPlan {
        address: format!("127.0.0.1:{port}").parse().unwrap(),
        rate: 40.0,
        duration: Duration::from_secs(2),
        users: 3,
        run: format!(
            "lagtest_{}",
            &uuid::Uuid::new_v4().simple().to_string()[..8]
        ),
        watch_every: 2,
    };
    let report = measure(&plan).await.unwrap();
    server.kill().unwrap();
    let _ = server.wait();
    let _ = std::fs::remove_dir_all(&data_dir);

    assert!((79..=81).contains(&report.sent), "{}", report.summary());
    assert_eq!(report.accepted, report.sent, "{}", report.summary());
    assert_eq!(
        (report.failed, report.unseen),
        (0, 0),
        "{}",
        report.summary()
    );
    assert_eq!(
        report.lags.len(),
        report.sent.div_ceil(2),
        "every second command watched"
    );
    // Each lag runs from an answer to a later read that showed it: never zero. How long is the benchmark's
    // business, not this test's.
    assert!(
        report.lags.iter().all(|lag| *lag > Duration::ZERO),
        "{}",
        report.summary()
    );
}
