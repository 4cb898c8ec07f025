//! A bounded mixed workload against a running server, and the audit of what it left behind: the load test
//! (`make bench-load`) and the crash test drive the API with it.
//!
//! Each client is one user on one keep-alive connection, so its commands reach the server one after another and
//! it knows exactly what it was told: every 2xx command is written to a [`Ledger`]. The audit then reads every
//! debt's history and read item back through the API and compares them with the ledger.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{Method, Request, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use serde_json::{json, Value};
use tokio::net::TcpStream;

use crate::stats::{millis, Samples};

/// How long one request may take before the client gives up on it (and counts it as unanswered).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// One HTTP answer: status, `ETag` and JSON body (`Null` when empty or not JSON).
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: StatusCode,
    pub etag: Option<String>,
    pub body: Value,
}

/// A keep-alive HTTP/1.1 connection to the server, reopened when the server closes it.
pub struct Client {
    address: SocketAddr,
    sender: Option<SendRequest<Full<Bytes>>>,
    token: Option<String>,
}

#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct Unanswered(String);

impl Client {
    pub fn new(address: SocketAddr) -> Self {
        Client {
            address,
            sender: None,
            token: None,
        }
    }

    async fn connection(&mut self) -> Result<&mut SendRequest<Full<Bytes>>, Unanswered> {
        if self.sender.as_ref().is_none_or(SendRequest::is_closed) {
            let stream = TcpStream::connect(self.address)
                .await
                .map_err(|e| Unanswered(format!("connect: {e}")))?;
            let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
                .await
                .map_err(|e| Unanswered(format!("handshake: {e}")))?;
            tokio::spawn(connection);
            self.sender = Some(sender);
        }
        Ok(self.sender.as_mut().expect("connected above"))
    }

    /// Sends one request; `Err` means no answer arrived (refused, reset, or timed out).
    pub async fn call(
        &mut self,
        method: Method,
        path: &str,
        body: Option<Value>,
        headers: &[(&str, String)],
    ) -> Result<Answer, Unanswered> {
        let mut request = Request::builder()
            .method(method)
            .uri(path)
            .header("host", self.address.to_string());
        if let Some(token) = &self.token {
            request = request.header("authorization", format!("Bearer {token}"));
        }
        for (name, value) in headers {
            request = request.header(*name, value);
        }
        let payload = match body {
            Some(body) => {
                request = request.header("content-type", "application/json");
                Bytes::from(body.to_string())
            }
            None => Bytes::new(),
        };
        let request = request
            .body(Full::new(payload))
            .map_err(|e| Unanswered(e.to_string()))?;
        let sender = self.connection().await?;
        let exchange = async {
            sender.ready().await?;
            let response = sender.send_request(request).await?;
            let (parts, body) = response.into_parts();
            Ok::<_, hyper::Error>((parts, body.collect().await?.to_bytes()))
        };
        let (parts, bytes) = match tokio::time::timeout(REQUEST_TIMEOUT, exchange).await {
            Ok(Ok(answer)) => answer,
            Ok(Err(e)) => {
                self.sender = None;
                return Err(Unanswered(e.to_string()));
            }
            Err(_) => {
                self.sender = None;
                return Err(Unanswered("timed out".into()));
            }
        };
        Ok(Answer {
            status: parts.status,
            etag: parts
                .headers
                .get("etag")
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned),
            body: serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        })
    }

    /// Later calls carry `token` (another client's, from its [`Client::sign_up`]).
    pub fn use_token(&mut self, token: String) {
        self.token = Some(token);
    }

    pub fn token(&self) -> Option<&str> {
        self.token.as_deref()
    }

    /// Registers a fresh user and logs in; later calls carry its token.
    pub async fn sign_up(&mut self, username: &str) -> Result<(), String> {
        let password = format!("pw-{username}-load");
        let registered = self
            .call(
                Method::POST,
                "/users",
                Some(
                    json!({"username": username, "email": format!("{username}@example.com"),
                            "full_name": "Load Test", "password": password}),
                ),
                &[],
            )
            .await
            .map_err(|e| e.to_string())?;
        if registered.status != StatusCode::CREATED {
            return Err(format!("register {username}: {}", registered.status));
        }
        let login = self
            .call(
                Method::POST,
                "/login",
                Some(json!({"username": username, "password": password})),
                &[],
            )
            .await
            .map_err(|e| e.to_string())?;
        self.token = login.body["token"].as_str().map(str::to_owned);
        self.token
            .as_ref()
            .map(|_| ())
            .ok_or_else(|| format!("login {username}: {}", login.status))
    }
}

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

fn version_of(answer: &Answer) -> Option<u64> {
    answer.etag.as_deref()?.trim_matches('"').parse().ok()
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
        live[i].1 = version_of(&answer).unwrap_or(version + 1);
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
        && version_of(&answer) == Some(logged.len() as u64)
        && (record.in_doubt || answer.body["data"]["current_balance"] == record.balance.as_str())
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
