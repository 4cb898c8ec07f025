//! Measures replay throughput: seeds a store with N events (debts of ten events each, spread over 100
//! users), then replays every projection from an empty read model and reports events per second. Runs on
//! SQLite and, when DynamoDB Local is up (`make bench-replay` starts it), on DynamoDB Local.
//!
//!   replay-throughput [--events 10000,100000] [--store sqlite,dynamodb]

use std::sync::Arc;
use std::time::Instant;

use integration_tests::{debt_created, debt_updated, dynamodb_store, sqlite_store, user_created};
use projections::replay::{replay, ReplayOptions, Scope};
use store::{AppendRequest, EventStore};
use tokio::task::JoinSet;

const EVENTS_PER_DEBT: u64 = 10;
const USERS: usize = 100;

fn list_arg(name: &str, default: &str) -> Vec<String> {
    let args: Vec<String> = std::env::args().collect();
    let value = args
        .iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
        .unwrap_or_else(|| default.to_owned());
    value.split(',').map(str::to_owned).collect()
}

/// Appends `events` events: 100 users, then debts of ten events each, eight appends at a time.
async fn seed(store: &Arc<dyn EventStore>, events: u64) {
    for n in 0..USERS {
        let username = format!("user{n}");
        store
            .append(AppendRequest::new(
                0,
                vec![user_created(&username, &format!("{username}@example.com"))],
            ))
            .await
            .unwrap();
    }
    let debts = (events - USERS as u64) / EVENTS_PER_DEBT;
    let mut tasks = JoinSet::new();
    for d in 0..debts {
        if tasks.len() >= 8 {
            tasks.join_next().await.unwrap().unwrap();
        }
        let store = Arc::clone(store);
        tasks.spawn(async move {
            let id = uuid::Uuid::new_v4().to_string();
            let mut history = vec![debt_created(&id, &format!("user{}", d as usize % USERS))];
            history.extend((2..=EVENTS_PER_DEBT).map(|v| debt_updated(&id, v, 20)));
            store.append(AppendRequest::new(0, history)).await.unwrap();
        });
    }
    while let Some(done) = tasks.join_next().await {
        done.unwrap();
    }
}

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
