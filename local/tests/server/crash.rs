//! The crash test: `debts-local` killed with SIGKILL in the middle of a write load, then started again on the
//! same data directory. Every command that got a 2xx must be in the log, the read model must converge (the
//! start-up catch-up), and nothing the clients were told was accepted may be lost.
//!
//! The embedded store runs SQLite in WAL mode with `synchronous = NORMAL`: a commit is in the WAL (in the
//! operating system's page cache) before the answer is sent, so a killed process loses nothing it answered.
//! Power loss is another matter; docs/architecture.md says what that setting promises there.

use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use bench::audit::audit;
use bench::load::{drive, report, Control, LoadPlan};

use crate::support::{data_dir, free_port, start};

/// How many commands the clients must have had accepted when the server is killed.
const ACCEPTED_BEFORE_THE_KILL: usize = 50;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_server_loses_nothing_it_accepted() {
    let (data_dir, port) = (data_dir("crash"), free_port());
    let mut server = start(&data_dir, port);
    let plan = LoadPlan {
        address: SocketAddr::from(([127, 0, 0, 1], port)),
        clients: 8,
        duration: Duration::from_secs(60),
        run: format!("crash_{}", &uuid::Uuid::new_v4().simple().to_string()[..8]),
    };
    let control = Arc::new(Control::default());
    let load = tokio::spawn({
        let control = Arc::clone(&control);
        async move { drive(&plan, control).await }
    });
    // Every client signs up (a password hash each), then the writes run: the plug is pulled once the clients
    // have had 50 commands accepted, however long that takes on this machine.
    while control.accepted.load(Ordering::SeqCst) < ACCEPTED_BEFORE_THE_KILL && !load.is_finished()
    {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    server.kill().expect("SIGKILL the server");
    server.wait().unwrap();
    let mut ledger = load
        .await
        .unwrap()
        .expect("the clients signed up before the kill");
    println!("before the kill:\n{}", report(&ledger));
    let accepted: usize = ledger.debts.values().map(|(_, d)| d.accepted.len()).sum();
    assert!(
        accepted >= ACCEPTED_BEFORE_THE_KILL,
        "the kill should come in the middle of a load, after {accepted} accepted commands"
    );
    assert!(ledger.violations.is_empty(), "{:?}", ledger.violations);

    let mut restarted = start(&data_dir, port);
    let found = audit(&mut ledger, Duration::from_secs(120)).await;
    let _ = restarted.kill();
    let _ = restarted.wait();
    let _ = std::fs::remove_dir_all(&data_dir);
    println!(
        "after the restart: {} debts, {} accepted commands, {} events in their logs, {} in doubt, read model converged in {:.2} s",
        ledger.debts.len(),
        accepted,
        found.events,
        ledger.debts.values().filter(|(_, d)| d.in_doubt).count(),
        found.convergence.as_secs_f64()
    );
    assert!(found.problems.is_empty(), "{:#?}", found.problems);
    assert_eq!(found.converged, ledger.debts.len());
}
