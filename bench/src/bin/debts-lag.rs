//! `debts-lag`: projection lag under a steady write rate (`make bench-lag`). Sends commands (creates and
//! balance updates, spread over a few users) at `--rate` per second for `--seconds`, and for each accepted one
//! measures the time from its answer to the first `GET /debts/{id}` showing its version; prints p50, p99 and
//! max. With `--ramp`, then steps through rising rates (`--step-seconds` each) and prints the highest at
//! which the p99 stays under one second.
//!
//!     debts-lag --url http://127.0.0.1:3000 --rate 150 --seconds 60 --ramp 100,150,200,300,400,600

use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

use bench::lag::{measure, LagPlan, LagReport};
use bench::stats::millis;
use clap::Parser;

/// The p99 the ramp holds each rate to.
const P99_LIMIT: Duration = Duration::from_secs(1);

/// Projection lag under a steady write rate, and optionally the highest rate whose p99 stays under 1 s.
#[derive(Parser)]
struct Args {
    /// The server, as http://HOST:PORT.
    #[arg(long = "url", env = "API_URL", default_value = "http://127.0.0.1:3000", value_parser = bench::server_address)]
    address: SocketAddr,
    /// Commands per second.
    #[arg(long, default_value_t = 150.0, value_parser = positive)]
    rate: f64,
    #[arg(long, default_value_t = 60)]
    seconds: u64,
    #[arg(long, default_value_t = 16, value_parser = clap::value_parser!(u64).range(1..))]
    users: u64,
    /// Rising rates to step through after the main run.
    #[arg(long, value_delimiter = ',', value_parser = positive)]
    ramp: Vec<f64>,
    #[arg(long, default_value_t = 15)]
    step_seconds: u64,
    /// What the report calls the server.
    #[arg(long, default_value = "this server")]
    label: String,
    /// Every how many accepted commands one is watched.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..))]
    watch_every: u64,
    #[arg(long, default_value_t = 10)]
    warmup_seconds: u64,
}

fn positive(text: &str) -> Result<f64, String> {
    text.parse()
        .ok()
        .filter(|rate: &f64| *rate > 0.0)
        .ok_or_else(|| format!("{text} is not a positive number"))
}

async fn run(
    args: &Args,
    rate: f64,
    seconds: u64,
    step: usize,
    watch_every: usize,
) -> Result<LagReport, String> {
    let plan = LagPlan {
        address: args.address,
        rate,
        duration: Duration::from_secs(seconds),
        users: args.users as usize,
        run: format!(
            "lag{step}_{}",
            &uuid::Uuid::new_v4().simple().to_string()[..8]
        ),
        watch_every,
    };
    measure(&plan).await
}

/// Whether a run held its rate (nine in ten of the commands it was to send were accepted) and its p99.
fn held(report: &LagReport, rate: f64, seconds: u64) -> bool {
    report.failed == 0
        && report.unseen == 0
        && report.accepted as f64 >= 0.9 * rate * seconds as f64
        && report.lags().percentile(0.99) < P99_LIMIT
}

/// Steps through the ramp's rates until one is not held; the highest that was.
async fn ramp(args: &Args) -> Result<Option<f64>, String> {
    let mut highest = None;
    for (step, &rate) in args.ramp.iter().enumerate() {
        let report = run(
            args,
            rate,
            args.step_seconds,
            step + 1,
            args.watch_every as usize,
        )
        .await?;
        let ok = held(&report, rate, args.step_seconds);
        println!(
            "  ramp {rate:>5.0}/s for {} s: {} -> {}",
            args.step_seconds,
            report.summary(),
            if ok { "p99 under 1 s" } else { "NOT held" }
        );
        if !ok {
            break;
        }
        highest = Some(rate);
    }
    Ok(highest)
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    println!(
        "{}: {} commands/s for {} s over {} users",
        args.label, args.rate, args.seconds, args.users
    );
    if args.warmup_seconds > 0 {
        // The same commands, unmeasured: a server (and DynamoDB Local's JVM) just started is not yet what
        // it will be a few seconds on.
        if let Err(error) = run(&args, args.rate, args.warmup_seconds, 0, usize::MAX).await {
            eprintln!("debts-lag: {error}");
            return ExitCode::FAILURE;
        }
    }
    let main = match run(&args, args.rate, args.seconds, 0, args.watch_every as usize).await {
        Ok(report) => report,
        Err(error) => {
            eprintln!("debts-lag: {error}");
            return ExitCode::FAILURE;
        }
    };
    println!("  {}", main.summary());
    let highest = match ramp(&args).await {
        Ok(highest) => highest,
        Err(error) => {
            eprintln!("debts-lag: {error}");
            return ExitCode::FAILURE;
        }
    };
    println!(
        "LAG {}",
        serde_json::json!({
            "store": args.label,
            "rate": args.rate,
            "seconds": args.seconds,
            "accepted": main.accepted,
            "failed": main.failed,
            "unseen": main.unseen,
            "p50_ms": millis(main.lags().median()),
            "p99_ms": millis(main.lags().percentile(0.99)),
            "max_ms": millis(main.lags().max()),
            "highest_rate_p99_under_1s": highest,
        })
    );
    if main.failed > 0 || main.unseen > 0 {
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}
