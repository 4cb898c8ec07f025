//! The audit of what a load left behind: every debt's history holds exactly the commands its client was told
//! were accepted, and its read item converges to the last of them.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use http::{Method, StatusCode};

use crate::client::Client;
use crate::load::{DebtRecord, Ledger};

/// What the audit found.
#[derive(Debug, Default)]
pub struct Audit {
    /// Events in the logs of the audited debts.
    pub events: usize,
    /// Debts whose read item shows their last accepted write (or is gone, when deleted).
    pub converged: usize,
    pub problems: Vec<String>,
    /// How long the read model took to show every debt's last write, from the start of the audit.
    pub convergence: Duration,
}

/// Checks the ledger against the server: each debt's history holds exactly its accepted commands (a debt
/// `in_doubt` may hold one more, the unanswered one), and its read item converges to the last accepted write
/// within `patience`.
pub async fn audit(ledger: &mut Ledger, patience: Duration) -> Audit {
    let mut found = Audit::default();
    let started = Instant::now();
    let debts: Vec<(String, usize, DebtRecord)> = ledger
        .debts
        .iter()
        .map(|(id, (owner, record))| (id.clone(), *owner, record.clone()))
        .collect();
    let mut versions = BTreeMap::new();
    for (id, owner, record) in &debts {
        let client = &mut ledger.clients[*owner];
        match history(client, id).await {
            Ok(types) => {
                found.events += types.len();
                if let Some(problem) = compare(id, record, &types) {
                    found.problems.push(problem);
                }
                versions.insert(id.clone(), types);
            }
            Err(e) => found.problems.push(format!("{id}: history: {e}")),
        }
    }
    let mut pending: Vec<&(String, usize, DebtRecord)> = debts.iter().collect();
    while !pending.is_empty() && started.elapsed() < patience {
        let mut still = Vec::new();
        for debt in pending {
            let logged = versions.get(&debt.0).map_or(&[][..], Vec::as_slice);
            if !converged(&mut ledger.clients[debt.1], debt, logged).await {
                still.push(debt);
            }
        }
        pending = still;
        if !pending.is_empty() {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    found.convergence = started.elapsed();
    found.converged = debts.len() - pending.len();
    for (id, _, record) in pending {
        found.problems.push(format!(
            "{id}: the read item never showed the last write ({} commands, deleted: {})",
            record.accepted.len(),
            record.deleted
        ));
    }
    found
}

/// A debt's event types, all pages of its history.
async fn history(client: &mut Client, id: &str) -> Result<Vec<String>, String> {
    let mut types = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            None => format!("/debts/{id}/history?limit=100"),
            Some(c) => format!("/debts/{id}/history?limit=100&cursor={c}"),
        };
        let answer = client
            .call(Method::GET, &path, None, &[])
            .await
            .map_err(|e| e.to_string())?;
        if answer.status != StatusCode::OK {
            return Err(format!("{path} answered {}", answer.status));
        }
        for (position, entry) in answer.body["data"]
            .as_array()
            .into_iter()
            .flatten()
            .enumerate()
        {
            let expected = (types.len() + 1) as u64;
            if entry["version"].as_u64() != Some(expected) {
                return Err(format!(
                    "entry {position} has version {}, expected {expected}",
                    entry["version"]
                ));
            }
            types.push(entry["event_type"].as_str().unwrap_or_default().to_owned());
        }
        match answer.body["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => return Ok(types),
        }
    }
}

fn compare(id: &str, record: &DebtRecord, logged: &[String]) -> Option<String> {
    let accepted: Vec<&str> = record.accepted.to_vec();
    let logged_types: Vec<&str> = logged.iter().map(String::as_str).collect();
    let exact = logged_types == accepted;
    let one_more = record.in_doubt
        && logged_types.len() == accepted.len() + 1
        && logged_types.starts_with(&accepted);
    (!exact && !one_more)
        .then(|| format!("{id}: accepted {accepted:?}, the log holds {logged_types:?}"))
}

/// Whether the debt's read item shows the last event of its log (and, without doubt, the last balance set).
async fn converged(
    client: &mut Client,
    (id, _, record): &(String, usize, DebtRecord),
    logged: &[String],
) -> bool {
    let Ok(answer) = client
        .call(Method::GET, &format!("/debts/{id}"), None, &[])
        .await
    else {
        return false;
    };
    if logged.last().is_some_and(|last| last == "DebtDeleted") {
        return answer.status == StatusCode::NOT_FOUND;
    }
    answer.status == StatusCode::OK
        && answer.version() == Some(logged.len() as u64)
        && (record.in_doubt || answer.body["data"]["current_balance"] == record.balance.as_str())
}
