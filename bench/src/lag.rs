//! Projection lag as a client sees it (`make bench-lag`): commands at a steady rate, and for each accepted one
//! the time from its answer to the first `GET /debts/{id}` that shows its version (the `ETag`), polled the
//! way a client that must wait for its write would poll.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use http::{Method, StatusCode};
use serde_json::json;
use tokio::task::JoinSet;

use crate::client::Client;
use crate::stats::{millis, Samples};

/// How long a watcher waits for a version before it counts the write as never seen.
const GIVE_UP_AFTER: Duration = Duration::from_secs(30);

/// The first poll comes this soon after the answer; each later one waits half as long again, up to
/// [`POLL_CEILING`]: fine steps where the lag is small, few requests where it is large.
const FIRST_POLL: Duration = Duration::from_millis(5);
const POLL_CEILING: Duration = Duration::from_millis(250);

/// Each user keeps at most this many debts; past it, every command of theirs is an update.
const DEBTS_PER_USER: usize = 20;

/// A steady stream of commands.
#[derive(Debug, Clone)]
pub struct LagPlan {
    pub address: SocketAddr,
    /// Commands per second, spread evenly (an open loop: a slow answer does not slow the next command).
    pub rate: f64,
    pub duration: Duration,
    /// How many users the commands are spread over.
    pub users: usize,
    /// Prefix of the generated usernames (unique per run).
    pub run: String,
    /// Every how many accepted commands one is watched (1: all of them). Each watched command costs a
    /// handful of reads; on a store that shares the machine (DynamoDB Local), watching every one of 150
    /// commands a second would be most of the load.
    pub watch_every: usize,
}

/// What one run measured.
#[derive(Debug, Default)]
pub struct LagReport {
    pub sent: usize,
    pub accepted: usize,
    /// Commands answered with something else than 2xx, or not at all.
    pub failed: usize,
    /// Those, by status ("none" for no answer).
    pub failures: std::collections::BTreeMap<String, usize>,
    /// Accepted commands whose version no read showed within [`GIVE_UP_AFTER`].
    pub unseen: usize,
    /// Per accepted command, its answer to the read that first showed it.
    pub lags: Vec<Duration>,
    /// How long commands were sent for.
    pub window: Duration,
}

impl LagReport {
    /// The lags, sorted for their percentiles.
    pub fn lags(&self) -> Samples {
        Samples::new(self.lags.clone())
    }

    /// Commands accepted per second of sending.
    pub fn achieved_rate(&self) -> f64 {
        self.accepted as f64 / self.window.as_secs_f64().max(f64::EPSILON)
    }

    /// One line: rate, answers, p50/p99/max lag.
    pub fn summary(&self) -> String {
        let lags = self.lags();
        format!(
            "{} commands sent, {} accepted ({:.0}/s), {} failed {:?}, {} never seen; lag p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
            self.sent,
            self.accepted,
            self.achieved_rate(),
            self.failed,
            self.failures,
            self.unseen,
            millis(lags.median()),
            millis(lags.percentile(0.99)),
            millis(lags.max())
        )
    }
}

/// Idle connections, each signed in as one user; a command or a read takes one and puts it back.
struct Connections {
    address: SocketAddr,
    idle: Mutex<HashMap<usize, Vec<Client>>>,
    tokens: Vec<String>,
}

impl Connections {
    fn take(&self, user: usize) -> Client {
        let idle = self
            .idle
            .lock()
            .expect("no panics hold the pool")
            .get_mut(&user)
            .and_then(Vec::pop);
        idle.unwrap_or_else(|| {
            let mut client = Client::new(self.address);
            client.use_token(self.tokens[user].clone());
            client
        })
    }

    fn give_back(&self, user: usize, client: Client) {
        self.idle
            .lock()
            .expect("no panics hold the pool")
            .entry(user)
            .or_default()
            .push(client);
    }
}

/// Which user's debts a command changes, and which debt: a small deterministic generator (xorshift), so
/// that two runs send the same mix.
struct Mix {
    state: u64,
    debts: Vec<Vec<String>>,
    /// Debts with a command under way: not picked again until it is answered, as one client would not race
    /// itself (two commands on one debt at once are a version conflict, the API's answer to a race).
    busy: std::collections::HashSet<String>,
}

impl Mix {
    fn next(&mut self, bound: usize) -> usize {
        self.state ^= self.state << 13;
        self.state ^= self.state >> 7;
        self.state ^= self.state << 17;
        (self.state % bound as u64) as usize
    }
}

/// The version a command's answer reports (its `ETag`, `"3"`).
impl Mix {
    /// The next command's user, and the debt it updates (`None`: it creates one). A debt with a command under
    /// way is not picked; a user whose picked debt is busy creates one more (even past the cap).
    fn pick(&mut self, users: usize) -> (usize, Option<String>) {
        let user = self.next(users);
        let owned = self.debts[user].len();
        let pick = (owned > 0).then(|| {
            let n = self.next(owned);
            self.debts[user][n].clone()
        });
        match pick {
            Some(debt)
                if !self.busy.contains(&debt) && (owned >= DEBTS_PER_USER || self.next(5) >= 2) =>
            {
                self.busy.insert(debt.clone());
                (user, Some(debt))
            }
            _ => (user, None),
        }
    }
}

/// Signs up `plan.users` users; their connections.
async fn sign_up(plan: &LagPlan) -> Result<Connections, String> {
    let mut tokens = Vec::new();
    for n in 0..plan.users {
        let mut client = Client::new(plan.address);
        client.sign_up(&format!("{}_{n}", plan.run)).await?;
        tokens.push(client.token().unwrap_or_default().to_owned());
    }
    Ok(Connections {
        address: plan.address,
        idle: Mutex::new(HashMap::new()),
        tokens,
    })
}

/// Sends the commands of `plan` and measures each one's lag.
pub async fn measure(plan: &LagPlan) -> Result<LagReport, String> {
    let connections = Arc::new(sign_up(plan).await?);
    let mix = Arc::new(Mutex::new(Mix {
        state: 0x2545_f491_4f6c_dd1d,
        debts: vec![Vec::new(); plan.users],
        busy: std::collections::HashSet::new(),
    }));
    let interval = Duration::from_secs_f64(1.0 / plan.rate);
    let started = Instant::now();
    let mut commands = JoinSet::new();
    let mut sent = 0usize;
    while started.elapsed() < plan.duration {
        tokio::time::sleep_until((started + interval.mul_f64(sent as f64)).into()).await;
        let (user, debt) = mix.lock().expect("no panics hold the mix").pick(plan.users);
        let watched = sent.is_multiple_of(plan.watch_every.max(1));
        commands.spawn(one_command(
            Arc::clone(&connections),
            Arc::clone(&mix),
            (user, debt),
            format!("{}.{:02}", 100 + sent % 900, sent % 100),
            watched,
        ));
        sent += 1;
    }
    let mut report = LagReport {
        sent,
        window: started.elapsed(),
        ..LagReport::default()
    };
    while let Some(joined) = commands.join_next().await {
        report.add(joined.map_err(|e| e.to_string())?);
    }
    Ok(report)
}

/// One command, and when `watched`, the wait for a read to show it.
async fn one_command(
    connections: Arc<Connections>,
    mix: Arc<Mutex<Mix>>,
    (user, debt): (usize, Option<String>),
    balance: String,
    watched: bool,
) -> Result<Watched, String> {
    let told = command(&connections, user, debt.clone(), &balance).await;
    {
        let mut mix = mix.lock().expect("no panics hold the mix");
        if let Some(debt) = debt {
            mix.busy.remove(&debt);
        }
        if let Ok((debt_id, _, _, true)) = &told {
            mix.debts[user].push(debt_id.clone());
        }
    }
    let (debt_id, version, answered, _) = told?;
    if !watched {
        return Ok(Watched::No);
    }
    Ok(match watch(&connections, user, &debt_id, version).await {
        Some(seen) => Watched::Seen(seen - answered),
        None => Watched::Unseen,
    })
}

impl LagReport {
    fn add(&mut self, outcome: Result<Watched, String>) {
        match outcome {
            Ok(Watched::Seen(lag)) => {
                self.accepted += 1;
                self.lags.push(lag);
            }
            Ok(Watched::Unseen) => {
                self.accepted += 1;
                self.unseen += 1;
            }
            Ok(Watched::No) => self.accepted += 1,
            Err(status) => {
                self.failed += 1;
                *self.failures.entry(status).or_default() += 1;
            }
        }
    }
}

/// What watching an accepted command found.
enum Watched {
    Seen(Duration),
    Unseen,
    /// Not one of the watched commands.
    No,
}

/// What a command was told: on a 2xx, the debt, the version it answered, when the answer arrived, and
/// whether the debt is new; else its status ("none" without an answer).
type Told = Result<(String, u64, Instant, bool), String>;

/// Creates a debt for `user` (no `debt`) or sets the balance of `debt`.
async fn command(
    connections: &Connections,
    user: usize,
    debt: Option<String>,
    balance: &str,
) -> Told {
    let mut client = connections.take(user);
    let answer = match &debt {
        None => {
            let body = json!({
                "debt_name": "Lag probe", "principal": "1000.00", "interest_rate": "4.5",
                "start_date": "2025-01-01", "payment_frequency": "monthly", "current_balance": balance
            });
            client.call(Method::POST, "/debts", Some(body), &[]).await
        }
        Some(id) => {
            let body = json!({ "current_balance": balance });
            client
                .call(Method::PUT, &format!("/debts/{id}"), Some(body), &[])
                .await
        }
    };
    let answered = Instant::now();
    connections.give_back(user, client);
    let answer = answer.map_err(|_| "none".to_owned())?;
    if !answer.status.is_success() {
        return Err(answer.status.as_u16().to_string());
    }
    let version = answer.version().ok_or("no ETag")?;
    let debt_id = answer.body["data"]["debt_id"]
        .as_str()
        .ok_or("no debt_id")?
        .to_owned();
    Ok((debt_id, version, answered, debt.is_none()))
}

/// Polls `GET /debts/{debt_id}` until it shows `version` or later; when that answer arrived, or `None` when
/// none did within [`GIVE_UP_AFTER`].
async fn watch(
    connections: &Connections,
    user: usize,
    debt_id: &str,
    version: u64,
) -> Option<Instant> {
    let started = Instant::now();
    let mut wait = FIRST_POLL;
    let path = format!("/debts/{debt_id}");
    while started.elapsed() < GIVE_UP_AFTER {
        tokio::time::sleep(wait).await;
        wait = (wait * 3 / 2).min(POLL_CEILING);
        let mut client = connections.take(user);
        let answer = client.call(Method::GET, &path, None, &[]).await;
        let seen = Instant::now();
        connections.give_back(user, client);
        let shown = answer
            .ok()
            .filter(|a| a.status == StatusCode::OK)
            .and_then(|a| a.version());
        if shown.is_some_and(|shown| shown >= version) {
            return Some(seen);
        }
    }
    None
}
