//! What the benchmark binaries share: the seeded event log they measure, and the rows of `make bench`'s
//! table.

use std::sync::Arc;

use store::ledger::{ledger_item, LedgerEntry};
use store::{AppendRequest, EventLog};
use tokio::task::JoinSet;

use integration_tests::{debt_created, debt_updated, user_created};

pub const EVENTS_PER_DEBT: u64 = 10;
pub const USERS: usize = 100;

/// Appends `events` events: 100 users, then debts of ten events each, eight appends at a time; each debt with
/// the ledger entry create-debt writes in the same transaction, so the log is one the API could have written
/// (replay only backfills entries missing from logs older than the ledger).
pub async fn seed(store: Arc<dyn EventLog>, events: u64) {
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
        let store = Arc::clone(&store);
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
