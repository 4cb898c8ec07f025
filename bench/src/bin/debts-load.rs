//! `debts-load`: the load test (`make bench-load`). Drives a bounded mixed workload at a running server from
//! concurrent clients, prints requests per second and p50/p99 per operation, then audits what it left behind:
//! no 5xx, every accepted command exactly one event in its debt's history, every read item converged to the
//! last accepted write. Exits 1 when any of that fails.
//!
//!     debts-load --url http://127.0.0.1:3000 --clients 16 --seconds 60

use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use bench::audit::audit;
use bench::load::{drive, report, LoadPlan};
use clap::Parser;

/// The load test: a mixed workload from concurrent clients, then the audit of what it left behind.
#[derive(Parser)]
struct Args {
    /// The server, as http://HOST:PORT.
    #[arg(long, env = "API_URL", default_value = "http://127.0.0.1:3000", value_parser = bench::server_address)]
    url: SocketAddr,
    #[arg(long, default_value_t = 16, value_parser = clap::value_parser!(u64).range(1..))]
    clients: u64,
    #[arg(long, default_value_t = 60)]
    seconds: u64,
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    let plan = LoadPlan {
        address: args.url,
        clients: args.clients as usize,
        duration: Duration::from_secs(args.seconds),
        run: format!("load_{}", &uuid::Uuid::new_v4().simple().to_string()[..8]),
    };
    println!(
        "load: {} clients for {} s against http://{}",
        plan.clients,
        plan.duration.as_secs(),
        plan.address
    );
    let mut ledger = match drive(&plan, Arc::default()).await {
        Ok(ledger) => ledger,
        Err(e) => {
            eprintln!("load: cannot start: {e}");
            return ExitCode::FAILURE;
        }
    };
    print!("{}", report(&ledger));
    // The projector follows the writes asynchronously and can be far behind after a saturating load (the
    // projection-lag issue): the read model gets two minutes to converge, and how long it took is printed.
    let found = audit(&mut ledger, Duration::from_secs(120)).await;
    println!(
        "audit: {} debts, {} events (each accepted command exactly one), {} read items converged {:.2} s after the load",
        ledger.debts.len(),
        found.events,
        found.converged,
        found.convergence.as_secs_f64()
    );
    let failures: Vec<&String> = ledger.violations.iter().chain(&found.problems).collect();
    let unanswered =
        (ledger.unanswered > 0).then(|| format!("{} requests got no answer", ledger.unanswered));
    for failure in failures.iter().copied().chain(unanswered.as_ref()).take(20) {
        eprintln!("FAIL {failure}");
    }
    if failures.is_empty() && unanswered.is_none() {
        println!("audit: passed");
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
