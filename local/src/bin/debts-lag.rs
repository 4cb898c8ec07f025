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

use local::lag::{measure, millis, LagPlan, LagReport};

/// The p99 the ramp holds each rate to.
const P99_LIMIT: Duration = Duration::from_secs(1);

struct Args {
    address: SocketAddr,
    rate: f64,
    seconds: u64,
    users: usize,
    ramp: Vec<f64>,
    step_seconds: u64,
    label: String,
    watch_every: usize,
    warmup_seconds: u64,
}

fn parse(args: &[String]) -> Option<Args> {
    let mut url = std::env::var("API_URL").unwrap_or_else(|_| "http://127.0.0.1:3000".into());
    let mut parsed = Args {
        address: "127.0.0.1:3000".parse().ok()?,
        rate: 150.0,
        seconds: 60,
        users: 16,
        ramp: Vec::new(),
        step_seconds: 15,
        label: "this server".into(),
        watch_every: 1,
        warmup_seconds: 10,
    };
    let mut args = args.iter();
    while let Some(flag) = args.next() {
        let value = args.next()?;
        match flag.as_str() {
            "--url" => url.clone_from(value),
            "--rate" => parsed.rate = value.parse().ok().filter(|r: &f64| *r > 0.0)?,
            "--seconds" => parsed.seconds = value.parse().ok()?,
            "--users" => parsed.users = value.parse().ok().filter(|n| *n > 0)?,
            "--ramp" => {
                parsed.ramp = value
                    .split(',')
                    .map(|r| r.parse().ok().filter(|r: &f64| *r > 0.0))
                    .collect::<Option<_>>()?;
            }
            "--step-seconds" => parsed.step_seconds = value.parse().ok()?,
            "--label" => parsed.label.clone_from(value),
            "--watch-every" => parsed.watch_every = value.parse().ok().filter(|n| *n > 0)?,
            "--warmup-seconds" => parsed.warmup_seconds = value.parse().ok()?,
            _ => return None,
        }
    }
    parsed.address = url
        .strip_prefix("http://")?
        .trim_end_matches('/')
        .parse()
        .ok()?;
    Some(parsed)
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
        users: args.users,
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
        && report.percentile(0.99) < P99_LIMIT
}

/// Steps through the ramp's rates until one is not held; the highest that was.
async fn ramp(args: &Args) -> Result<Option<f64>, String> {
    let mut highest = None;
    for (step, &rate) in args.ramp.iter().enumerate() {
        let report = run(args, rate, args.step_seconds, step + 1, args.watch_every).await?;
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
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(args) = parse(&args) else {
        eprintln!("usage: debts-lag [--url URL] [--rate N] [--seconds S] [--users N] [--ramp R1,R2,...] [--step-seconds S] [--warmup-seconds S] [--watch-every N] [--label TEXT]");
        return ExitCode::from(2);
    };
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
    let main = match run(&args, args.rate, args.seconds, 0, args.watch_every).await {
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
            "p50_ms": millis(main.percentile(0.5)),
            "p99_ms": millis(main.percentile(0.99)),
            "max_ms": millis(main.max()),
            "highest_rate_p99_under_1s": highest,
        })
    );
    if main.failed > 0 || main.unseen > 0 {
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}
