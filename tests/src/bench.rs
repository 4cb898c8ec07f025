//! What the benchmark binaries share: their arguments and the seeded event log they measure.

use std::sync::Arc;

use store::ledger::{ledger_item, LedgerEntry};
use store::{AppendRequest, EventStore};
use tokio::task::JoinSet;

use crate::{debt_created, debt_updated, user_created};

pub const EVENTS_PER_DEBT: u64 = 10;
pub const USERS: usize = 100;

pub fn list_arg(name: &str, default: &str) -> Vec<String> {
    let args: Vec<String> = std::env::args().collect();
    let value = args
        .iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
        .unwrap_or_else(|| default.to_owned());
    value.split(',').map(str::to_owned).collect()
}

/// Appends `events` events: 100 users, then debts of ten events each, eight appends at a time; each debt with
/// the ledger entry create-debt writes in the same transaction, so the log is one the API could have written
/// (replay only backfills entries missing from logs older than the ledger).
pub async fn seed(store: &Arc<dyn EventStore>, events: u64) {
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
            let owner = format!("user{}", d as usize % USERS);
            let created = debt_created(&id, &owner);
            let ledger = ledger_item(&owner, &id, LedgerEntry::Created, created.occurred_at);
            let mut history = vec![created];
            history.extend((2..=EVENTS_PER_DEBT).map(|v| debt_updated(&id, v, 20)));
            let append = AppendRequest::new(0, history).with_guard("ledger entry", ledger);
            store.append(append).await.unwrap();
        });
    }
    while let Some(done) = tasks.join_next().await {
        done.unwrap();
    }
}

/// One row of `make bench`'s table, printed as a line `BENCH {json}` that `scripts/bench.py` collects:
/// the figure, its goal, what this build measured, the reference measured in the same run, their ratio, and
/// whether the goal holds.
pub struct Row<'a> {
    pub figure: &'a str,
    pub goal: &'a str,
    pub value: String,
    pub reference: String,
    pub ratio: f64,
    pub met: bool,
}

impl Row<'_> {
    pub fn print(&self) {
        let row = serde_json::json!({
            "figure": self.figure, "goal": self.goal, "value": self.value,
            "reference": self.reference, "ratio": (self.ratio * 100.0).round() / 100.0, "met": self.met,
        });
        println!("BENCH {row}");
    }
}

/// Microseconds, for a row.
pub fn micros(duration: std::time::Duration) -> String {
    format!("{:.0} µs", duration.as_secs_f64() * 1e6)
}
