//! Measures the way out of the event log: export throughput for N events (NDJSON to a sink), and the
//! analytics consumer's throughput for the first M of them, delivered by 8 concurrent workers (as 8
//! concurrent Lambda invocations would), first time and redelivered. SQLite and DynamoDB Local
//! (`make bench-events` starts it).
//!
//!   event-throughput [--events 10000,100000] [--dynamodb-events 10000] [--analytics-events 10000]
//!                    [--store sqlite,dynamodb]
//!
//! DynamoDB Local defaults to 10,000 events only: seeding 100,000 takes it over ten minutes (its per-request
//! cost grows with the table, see the replay benchmark), which measures the emulator, not this code.

use std::sync::Arc;
use std::time::Instant;

use bench::report::seed;
use bench::{EngineName, Runs};
use clap::Parser;
use events::EventEnvelope;
use store::Stores;
use tokio::task::JoinSet;
use tools::export::{export, ExportFilter};

const WORKERS: usize = 8;

/// Export throughput, and the analytics consumer's, on each engine.
#[derive(Parser)]
struct Args {
    #[command(flatten)]
    runs: Runs,
    /// Log sizes on DynamoDB Local.
    #[arg(long, value_delimiter = ',', default_value = "10000")]
    dynamodb_events: Vec<u64>,
    /// How many of the events the analytics consumer gets.
    #[arg(long, default_value_t = 10_000)]
    analytics_events: usize,
}

/// Delivers `events` to the analytics consumer with `WORKERS` concurrent workers; returns events per second.
async fn deliver(stores: &Stores, events: &Arc<Vec<EventEnvelope>>) -> f64 {
    let started = Instant::now();
    let mut workers = JoinSet::new();
    for worker in 0..WORKERS {
        let (stores, events) = (stores.clone(), Arc::clone(events));
        workers.spawn(async move {
            for event in events.iter().skip(worker).step_by(WORKERS) {
                analytics::record_event(&stores, event).await.unwrap();
            }
        });
    }
    workers.join_all().await;
    events.len() as f64 / started.elapsed().as_secs_f64()
}

#[tokio::main]
async fn main() {
    let args = Args::parse();
    println!(
        "{:<9} {:>8} {:>10} {:>15} {:>16} {:>19}",
        "store", "events", "export ms", "export events/s", "analytics events", "analytics events/s"
    );
    for &engine in &args.runs.engines {
        let sizes = match engine {
            EngineName::Dynamodb => &args.dynamodb_events,
            EngineName::Sqlite => &args.runs.events,
        };
        let engine_name = engine.name();
        for &size in sizes {
            let store = Stores::of(engine.open().await);
            seed(Arc::clone(&store.events), size).await;

            let mut ndjson = Vec::new();
            let started = Instant::now();
            let done = export(
                store.events.as_ref(),
                store.events.as_ref(),
                &ExportFilter::default(),
                &mut ndjson,
                |_| {},
            )
            .await
            .unwrap();
            let export_ms = started.elapsed().as_millis();
            assert_eq!(done.events_written, size, "every event exported");

            let events: Arc<Vec<EventEnvelope>> = Arc::new(
                String::from_utf8(ndjson)
                    .unwrap()
                    .lines()
                    .take(args.analytics_events)
                    .map(|line| serde_json::from_str(line).unwrap())
                    .collect(),
            );
            let first = deliver(&store, &events).await;
            let again = deliver(&store, &events).await;
            println!(
                "{engine_name:<9} {size:>8} {export_ms:>10} {:>15.0} {:>16} {:>19}",
                size as f64 / (export_ms.max(1) as f64 / 1000.0),
                events.len(),
                format!("{first:.0} (again {again:.0})")
            );
        }
    }
}
