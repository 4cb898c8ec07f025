//! Measures replay throughput: seeds a store with N events (debts of ten events each, spread over 100
//! users), then replays every projection from an empty read model and reports events per second. Runs on
//! SQLite and, when DynamoDB Local is up (`make bench-replay` starts it), on DynamoDB Local.
//!
//!   replay-throughput [--events 10000,100000] [--store sqlite,dynamodb]

use std::sync::Arc;
use std::time::Instant;

use integration_tests::bench::{list_arg, seed};
use integration_tests::{dynamodb_store, sqlite_store};
use projections::replay::{replay, ReplayOptions, Scope};

#[tokio::main]
async fn main() {
    let sizes: Vec<u64> = list_arg("--events", "10000,100000")
        .iter()
        .map(|n| n.parse().unwrap())
        .collect();
    let stores = list_arg("--store", "sqlite,dynamodb");
    println!(
        "{:<9} {:>8} {:>11} {:>10} {:>12}",
        "store", "events", "aggregates", "replay ms", "events/s"
    );
    for engine in &stores {
        for &events in &sizes {
            let store = match engine.as_str() {
                "sqlite" => sqlite_store().await,
                "dynamodb" => dynamodb_store().await,
                other => panic!("unknown store {other}"),
            };
            let seeding = Instant::now();
            seed(&store, events).await;
            eprintln!(
                "seeded {events} events on {engine} in {:.1} s",
                seeding.elapsed().as_secs_f64()
            );
            let report = replay(Arc::clone(&store), &ReplayOptions::new(Scope::All), |p| {
                eprintln!("  {}/{} aggregates, {} events", p.done, p.total, p.events)
            })
            .await
            .unwrap();
            assert_eq!(report.events, events, "every event replayed");
            println!(
                "{engine:<9} {events:>8} {:>11} {:>10} {:>12.0}",
                report.checked,
                report.elapsed_ms,
                report.events_per_second()
            );
        }
    }
}
