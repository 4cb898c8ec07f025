//! A bounded mixed workload against a running server: the load test (`make test-load`, `make bench-load`)
//! and the crash test drive the API with it.
//!
//! Each client is one user on one keep-alive connection, so its commands reach the server one after another and
//! it knows exactly what it was told: every 2xx command is written to a [`Ledger`]. The audit
//! ([`crate::audit`]) then reads every debt's history and read item back through the API and compares them
//! with the ledger.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use http::{Method, StatusCode};
use serde_json::{json, Value};

use crate::client::{Answer, Client, Unanswered};
use crate::stats::{millis, Samples};

/// The operations of the mix, as they are reported.
pub const OPERATIONS: [&str; 8] = [
    "create",
    "update+if-match",
    "update",
    "update stale",
    "delete",
    "get",
    "list",
    "history",
];

/// What one debt went through, as its client was told.
#[derive(Debug, Clone, Default)]
pub struct DebtRecord {
    /// The event type of every command that got a 2xx, in order (its position + 1 is its version).
    pub accepted: Vec<&'static str>,
    /// The balance the last accepted create or update set, as the API prints it.
    pub balance: String,
    pub deleted: bool,
    /// A command on this debt got no answer (the server died under it): it may or may not have been recorded.
    pub in_doubt: bool,
}

/// Everything the clients did and were told.
#[derive(Default)]
pub struct Ledger {
    /// Per debt id: its owner's client index and its record.
    pub debts: BTreeMap<String, (usize, DebtRecord)>,
    /// Per operation: the latency of every answered request.
    pub latencies: BTreeMap<&'static str, Vec<Duration>>,
    /// Per operation and status: how many answers.
    pub statuses: BTreeMap<(&'static str, u16), usize>,
    /// Requests that got no answer.
    pub unanswered: usize,
    /// Answers that broke the contract (a 5xx, or a status the operation cannot give), with what was sent.
    pub violations: Vec<String>,
    /// Commands answered 2xx.
    pub accepted_commands: usize,
    /// The signed-in clients, by index, for the audit.
    pub clients: Vec<Client>,
    pub elapsed: Duration,
}

impl Ledger {
    /// The record of a debt this client created.
    fn debt(&mut self, id: &str) -> &mut DebtRecord {
        &mut self.debts.get_mut(id).expect("a created debt").1
    }

    fn merge(&mut self, other: Ledger) {
        self.debts.extend(other.debts);
        for (op, mut samples) in other.latencies {
            self.latencies.entry(op).or_default().append(&mut samples);
        }
        for (key, n) in other.statuses {
            *self.statuses.entry(key).or_default() += n;
        }
        self.unanswered += other.unanswered;
        self.accepted_commands += other.accepted_commands;
        self.violations.extend(other.violations);
    }

    pub fn answered(&self) -> usize {
        self.statuses.values().sum()
    }
}

/// How to drive the load.
#[derive(Debug, Clone)]
pub struct LoadPlan {
    pub address: SocketAddr,
    pub clients: usize,
    pub duration: Duration,
    /// Prefix of the generated usernames (unique per run).
    pub run: String,
}

/// What a caller sees of a load under way, and how it stops it.
#[derive(Debug, Default)]
pub struct Control {
    /// Set to stop every client after its current request.
    pub stop: AtomicBool,
    /// Clients signed up so far.
    pub signed_up: AtomicUsize,
    /// Commands answered 2xx so far, across clients.
    pub accepted: AtomicUsize,
}

/// Runs the mix from `plan.clients` concurrent clients until `plan.duration` has passed or `control.stop` is
/// set; a client stops early when a request of its gets no answer (the server is gone).
pub async fn drive(plan: &LoadPlan, control: Arc<Control>) -> Result<Ledger, String> {
    let mut signed_in = Vec::new();
    for n in 0..plan.clients {
        let mut client = Client::new(plan.address);
        client.sign_up(&format!("{}_{n}", plan.run)).await?;
        signed_in.push(client);
        control.signed_up.fetch_add(1, Ordering::SeqCst);
    }
    let started = Instant::now();
    let deadline = started + plan.duration;
    let tasks: Vec<_> = signed_in
        .into_iter()
        .enumerate()
        .map(|(n, client)| {
            let control = Arc::clone(&control);
            tokio::spawn(async move { work(n, client, deadline, &control).await })
        })
        .collect();
    let mut ledger = Ledger::default();
    let mut clients = Vec::new();
    for task in tasks {
        let (client, part) = task.await.map_err(|e| e.to_string())?;
        ledger.merge(part);
        clients.push(client);
    }
    ledger.clients = clients;
    ledger.elapsed = started.elapsed();
    Ok(ledger)
}

/// A small deterministic generator (xorshift64*), so a run needs no `rand` and can be repeated.
struct Dice(u64);

impl Dice {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) % n
    }
}

/// One client's debts that are still open, with their current version.
type Live = Vec<(String, u64)>;

async fn work(
    n: usize,
    mut client: Client,
    deadline: Instant,
    control: &Control,
) -> (Client, Ledger) {
    let mut dice = Dice(0x9e37_79b9_7f4a_7c15 ^ (n as u64 + 1));
    let mut ledger = Ledger::default();
    let mut live: Live = Vec::new();
    let mut step = 0u64;
    while Instant::now() < deadline && !control.stop.load(Ordering::Relaxed) {
        step += 1;
        let accepted_before = ledger.accepted_commands;
        let roll = dice.below(100);
        let pick = (!live.is_empty()).then(|| dice.below(live.len() as u64) as usize);
        let outcome = match (roll, pick) {
            // Below the 1,000-debt limit of one user, with room to spare for a long run.
            (0..=24, Some(i)) if live.len() >= 900 => {
                delete(&mut client, i, &mut live, &mut ledger).await
            }
            (_, None) | (0..=24, _) => create(&mut client, n, step, &mut live, &mut ledger).await,
            (25..=49, Some(i)) => {
                update(&mut client, i, Some(0), step, &mut live, &mut ledger).await
            }
            (50..=59, Some(i)) => update(&mut client, i, None, step, &mut live, &mut ledger).await,
            (60..=64, Some(i)) if live[i].1 > 1 => {
                update(&mut client, i, Some(1), step, &mut live, &mut ledger).await
            }
            (65..=72, Some(i)) => delete(&mut client, i, &mut live, &mut ledger).await,
            (73..=86, Some(i)) => {
                let path = format!("/debts/{}", live[i].0);
                read(&mut client, "get", &path, &mut ledger).await
            }
            (87..=94, _) => read(&mut client, "list", "/debts?limit=50", &mut ledger).await,
            (_, Some(i)) => {
                let path = format!("/debts/{}/history?limit=20", live[i].0);
                read(&mut client, "history", &path, &mut ledger).await
            }
        };
        control
            .accepted
            .fetch_add(ledger.accepted_commands - accepted_before, Ordering::SeqCst);
        if outcome.is_err() {
            ledger.unanswered += 1;
            break;
        }
    }
    (client, ledger)
}

/// Sends one request and books its latency and status; `Err` when no answer came.
async fn timed(
    client: &mut Client,
    ledger: &mut Ledger,
    op: &'static str,
    (method, path): (Method, &str),
    body: Option<Value>,
    headers: &[(&str, String)],
) -> Result<Answer, Unanswered> {
    let started = Instant::now();
    let answer = client.call(method.clone(), path, body, headers).await?;
    ledger
        .latencies
        .entry(op)
        .or_default()
        .push(started.elapsed());
    *ledger
        .statuses
        .entry((op, answer.status.as_u16()))
        .or_default() += 1;
    if answer.status.is_server_error() {
        ledger.violations.push(format!(
            "{op}: {method} {path} answered {}: {}",
            answer.status, answer.body
        ));
    }
    Ok(answer)
}

fn expect(ledger: &mut Ledger, op: &str, answer: &Answer, allowed: &[StatusCode]) -> bool {
    let ok = allowed.contains(&answer.status);
    if !ok && !answer.status.is_server_error() {
        ledger.violations.push(format!(
            "{op}: answered {} ({})",
            answer.status, answer.body
        ));
    }
    ok
}

async fn create(
    client: &mut Client,
    n: usize,
    step: u64,
    live: &mut Live,
    ledger: &mut Ledger,
) -> Result<(), Unanswered> {
    let body = json!({"debt_name": format!("Load {n}-{step}"), "principal": "100000.00",
                      "interest_rate": "4.5", "start_date": "2025-01-01",
                      "payment_frequency": "monthly", "creditor": "Load Bank"});
    let answer = timed(
        client,
        ledger,
        "create",
        (Method::POST, "/debts"),
        Some(body),
        &[],
    )
    .await?;
    if expect(ledger, "create", &answer, &[StatusCode::CREATED]) {
        let id = answer.body["data"]["debt_id"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        let record = DebtRecord {
            accepted: vec!["DebtCreated"],
            balance: "100000.00".into(),
            ..DebtRecord::default()
        };
        ledger.debts.insert(id.clone(), (n, record));
        ledger.accepted_commands += 1;
        live.push((id, 1));
    }
    Ok(())
}

/// `if_match`: `None` sends none, `Some(0)` the current version, `Some(k)` a version `k` behind (stale, 412).
async fn update(
    client: &mut Client,
    i: usize,
    if_match: Option<u64>,
    step: u64,
    live: &mut Live,
    ledger: &mut Ledger,
) -> Result<(), Unanswered> {
    let (id, version) = live[i].clone();
    let balance = format!("{}.{:02}", 1 + step % 90_000, step % 100);
    let op = match if_match {
        None => "update",
        Some(0) => "update+if-match",
        Some(_) => "update stale",
    };
    let headers: Vec<(&str, String)> = if_match
        .map(|behind| ("if-match", format!("\"{}\"", version - behind)))
        .into_iter()
        .collect();
    let path = format!("/debts/{id}");
    let body = json!({ "current_balance": balance });
    let answer = timed(
        client,
        ledger,
        op,
        (Method::PUT, &path),
        Some(body),
        &headers,
    )
    .await;
    let Ok(answer) = answer else {
        ledger.debt(&id).in_doubt = true;
        return answer.map(|_| ());
    };
    if if_match.is_some_and(|behind| behind > 0) {
        expect(ledger, op, &answer, &[StatusCode::PRECONDITION_FAILED]);
    } else if expect(ledger, op, &answer, &[StatusCode::OK]) {
        let record = ledger.debt(&id);
        record.accepted.push("DebtUpdated");
        record.balance = balance;
        ledger.accepted_commands += 1;
        live[i].1 = answer.version().unwrap_or(version + 1);
    }
    Ok(())
}

async fn delete(
    client: &mut Client,
    i: usize,
    live: &mut Live,
    ledger: &mut Ledger,
) -> Result<(), Unanswered> {
    let (id, _) = live[i].clone();
    let path = format!("/debts/{id}");
    let answer = timed(client, ledger, "delete", (Method::DELETE, &path), None, &[]).await;
    let Ok(answer) = answer else {
        ledger.debt(&id).in_doubt = true;
        return answer.map(|_| ());
    };
    if expect(ledger, "delete", &answer, &[StatusCode::OK]) {
        let record = ledger.debt(&id);
        record.accepted.push("DebtDeleted");
        record.deleted = true;
        ledger.accepted_commands += 1;
        live.swap_remove(i);
    }
    Ok(())
}

async fn read(
    client: &mut Client,
    op: &'static str,
    path: &str,
    ledger: &mut Ledger,
) -> Result<(), Unanswered> {
    let answer = timed(client, ledger, op, (Method::GET, path), None, &[]).await?;
    // A read may run ahead of the projection of a debt this client just created: 404 is allowed then.
    expect(
        ledger,
        op,
        &answer,
        &[StatusCode::OK, StatusCode::NOT_FOUND],
    );
    Ok(())
}

/// The report: requests per second, p50/p99 per operation, the statuses seen.
pub fn report(ledger: &Ledger) -> String {
    let seconds = ledger.elapsed.as_secs_f64().max(f64::EPSILON);
    let mut out = format!(
        "{} requests in {:.1} s from {} clients: {:.0} requests/s, {} unanswered\n",
        ledger.answered(),
        seconds,
        ledger.clients.len(),
        ledger.answered() as f64 / seconds,
        ledger.unanswered
    );
    for op in OPERATIONS {
        let samples = Samples::new(ledger.latencies.get(op).cloned().unwrap_or_default());
        let statuses: Vec<String> = ledger
            .statuses
            .iter()
            .filter(|((o, _), _)| *o == op)
            .map(|((_, status), n)| format!("{status}x{n}"))
            .collect();
        out.push_str(&format!(
            "  {op:<16} n={:<6} p50 {:>7.2} ms  p99 {:>7.2} ms  {}\n",
            samples.len(),
            millis(samples.median()),
            millis(samples.percentile(0.99)),
            statuses.join(" ")
        ));
    }
    out
}
