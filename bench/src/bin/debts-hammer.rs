//! `debts-hammer`: requests per second and latency of one GET, from N keep-alive connections for S seconds,
//! like `wrk -c N -d S` (`make bench-gateway` drives the local gateway and `bare-hyper` with it, one after the
//! other, so both get the same client). Prints one line: requests/s, p50, p99, and how many were not 200.
//!
//!     debts-hammer --url http://127.0.0.1:3000 --target gateway [--connections 32] [--seconds 10]
//!     debts-hammer --url http://127.0.0.1:3001 --target bare
//!
//! `gateway`: signs a fresh user up, records a debt, waits until it reads back, then hammers
//! `GET /debts/{id}` with the user's token. `bare`: hammers `GET /`.

use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use bench::client::Client;
use bench::stats::{millis, Samples};
use clap::{Parser, ValueEnum};
use http::Method;

/// What to hammer.
#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Target {
    /// `GET /debts/{id}` of a fresh user's debt, through the local gateway.
    Gateway,
    /// `GET /` of `bare-hyper`.
    Bare,
}

/// Requests per second and latency of one GET, from N keep-alive connections for S seconds.
#[derive(Parser)]
struct Plan {
    /// The server, as http://HOST:PORT.
    #[arg(long, value_parser = bench::server_address)]
    url: SocketAddr,
    #[arg(long, value_enum)]
    target: Target,
    #[arg(long, default_value_t = 32, value_parser = clap::value_parser!(u64).range(1..))]
    connections: u64,
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..))]
    seconds: u64,
}

/// A signed-up user's token and the path of a debt of theirs that reads back.
async fn a_debt(address: SocketAddr) -> Result<(String, String), String> {
    let mut client = Client::new(address);
    let user = format!("hammer_{}", &uuid::Uuid::new_v4().simple().to_string()[..8]);
    client.sign_up(&user).await?;
    let body = serde_json::json!({"debt_name": "Hammered", "principal": "1000", "interest_rate": "5",
                                  "start_date": "2025-01-01", "payment_frequency": "monthly"});
    let created = client
        .call(Method::POST, "/debts", Some(body), &[])
        .await
        .map_err(|e| e.to_string())?;
    let id = created.body["data"]["debt_id"]
        .as_str()
        .ok_or("no debt id")?
        .to_owned();
    let path = format!("/debts/{id}");
    for _ in 0..200 {
        if client
            .call(Method::GET, &path, None, &[])
            .await
            .is_ok_and(|a| a.status == 200)
        {
            return Ok((client.token().ok_or("no token")?.to_owned(), path));
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    Err("the debt never read back".into())
}

#[tokio::main]
async fn main() -> ExitCode {
    let plan = Plan::parse();
    let (token, path) = if plan.target == Target::Gateway {
        match a_debt(plan.url).await {
            Ok((token, path)) => (Some(token), path),
            Err(e) => {
                eprintln!("setup: {e}");
                return ExitCode::FAILURE;
            }
        }
    } else {
        (None, "/".to_owned())
    };
    let deadline = Instant::now() + Duration::from_secs(plan.seconds);
    let mut workers = tokio::task::JoinSet::new();
    for _ in 0..plan.connections {
        let (address, path, token) = (plan.url, path.clone(), token.clone());
        workers.spawn(async move {
            let mut client = Client::new(address);
            if let Some(token) = token {
                client.use_token(token);
            }
            let (mut latencies, mut failed) = (Vec::new(), 0u64);
            while Instant::now() < deadline {
                let started = Instant::now();
                match client.call(Method::GET, &path, None, &[]).await {
                    Ok(answer) if answer.status == 200 => latencies.push(started.elapsed()),
                    _ => failed += 1,
                }
            }
            (latencies, failed)
        });
    }
    let (mut latencies, mut failed) = (Vec::new(), 0);
    while let Some(done) = workers.join_next().await {
        let (mine, not_ok) = done.expect("a worker finished");
        latencies.extend(mine);
        failed += not_ok;
    }
    let latencies = Samples::new(latencies);
    println!(
        "{:.0} requests/s  p50 {:.2} ms  p99 {:.2} ms  not 200: {failed}",
        latencies.len() as f64 / plan.seconds as f64,
        millis(latencies.median()),
        millis(latencies.percentile(0.99)),
    );
    if failed > 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}
