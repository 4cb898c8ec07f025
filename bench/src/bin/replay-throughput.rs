//! Measures replay throughput: seeds a store with N events (debts of ten events each, spread over 100
//! users), then replays every projection from an empty read model and reports events per second. Runs on
//! SQLite and, when DynamoDB Local is up (`make bench-replay` starts it), on DynamoDB Local.
//!
//!   replay-throughput [--events 10000,100000] [--store sqlite,dynamodb]
//!
//! With two sizes or more, a `BENCH` row for `make bench` compares the largest log with the smallest.

use std::sync::Arc;
use std::time::Instant;

use bench::report::{seed, Row};
use bench::Runs;
use clap::Parser;
use projections::replay::{replay, ReplayOptions, Scope};
use store::Stores;

/// Replay throughput for logs of each size, on each engine.
#[derive(Parser)]
struct Args {
    #[command(flatten)]
    runs: Runs,
}

#[tokio::main]
async fn main() {
    let Runs {
        events: sizes,
        engines: stores,
    } = Args::parse().runs;
    println!(
        "{:<9} {:>8} {:>11} {:>10} {:>12}",
        "store", "events", "aggregates", "replay ms", "events/s"
    );
    for engine in stores {
        let mut rates = Vec::new();
        let engine_name = engine.name();
        for &events in &sizes {
            let store = engine.open().await;
            let seeding = Instant::now();
            seed(Arc::clone(&store) as _, events).await;
            eprintln!(
                "seeded {events} events on {engine_name} in {:.1} s",
                seeding.elapsed().as_secs_f64()
            );
            let report = replay(&Stores::of(store), &ReplayOptions::new(Scope::All), |p| {
                eprintln!("  {}/{} aggregates, {} events", p.done, p.total, p.events)
            })
            .await
            .unwrap();
            assert_eq!(report.events, events, "every event replayed");
            println!(
                "{engine_name:<9} {events:>8} {:>11} {:>10} {:>12.0}",
                report.checked,
                report.elapsed_ms,
                report.events_per_second()
            );
            rates.push((events, report.events_per_second()));
        }
        if let (Some(&(small, small_rate)), Some(&(large, large_rate))) =
            (rates.first(), rates.last())
        {
            if large > small {
                // Per-event cost grows by rate(small) / rate(large) from the small log to the large one.
                let growth = small_rate / large_rate;
                Row {
                    figure: &format!("replay on {engine_name}, {large} events"),
                    goal: "≥ 50,000 events/s; per-event cost ≤ 1.2× the smaller log's",
                    value: format!("{large_rate:.0} events/s"),
                    reference: format!("{small} events: {small_rate:.0} events/s"),
                    ratio: growth,
                    met: large_rate >= 50_000.0 && growth <= 1.2,
                }
                .print();
            }
        }
    }
}
