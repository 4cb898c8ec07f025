//! `replay-cli`: rebuilds read items from the event log, from a command line (`make replay`); the same
//! replay runs on AWS as the `replay` Lambda function (`projections/src/bin/replay.rs`).
//!
//!   replay-cli --all | --user NAME | --debt ID  [--dry-run] [--store sqlite|dynamodb] [--data-dir DIR]
//!              [--table NAME] [--segments N]
//!
//! With `--store dynamodb` the table comes from `--table` or `TABLE_NAME` (default `debts`) and the endpoint
//! from the usual AWS variables; the SQLite store is `DATA_DIR/debts.sqlite` (default `.data`).

use std::process::ExitCode;

use projections::replay::{replay, Progress, ReplayOptions, Scope};
use tools::cli::{Failure, StoreArgs};

const USAGE: &str =
    "usage: replay-cli (--all | --user NAME | --debt ID) [--dry-run] [--store sqlite|dynamodb] \
[--data-dir DIR] [--table NAME] [--segments N]";

struct Args {
    options: ReplayOptions,
    store: StoreArgs,
}

fn parse_args(mut args: impl Iterator<Item = String>) -> Result<Args, String> {
    let mut scope = None;
    let mut dry_run = false;
    let mut store = StoreArgs::from_env();
    let mut segments = None;
    while let Some(arg) = args.next() {
        let mut value = |name: &str| args.next().ok_or_else(|| format!("{name} needs a value"));
        match arg.as_str() {
            "--all" => scope = Some(Scope::All),
            "--user" => scope = Some(Scope::User(value("--user")?)),
            "--debt" => scope = Some(Scope::Debt(value("--debt")?)),
            "--dry-run" => dry_run = true,
            "--segments" => {
                segments = Some(
                    value("--segments")?
                        .parse()
                        .map_err(|_| "--segments needs a number")?,
                )
            }
            "--help" | "-h" => return Err(USAGE.into()),
            other if store.accept(other, &mut value)? => {}
            other => return Err(format!("unknown argument {other}\n{USAGE}")),
        }
    }
    let mut options = ReplayOptions::new(scope.ok_or(USAGE)?);
    options.dry_run = dry_run;
    if let Some(segments) = segments {
        options.segments = segments;
    }
    Ok(Args { options, store })
}

fn print_progress(progress: Progress) {
    let seconds = progress.elapsed.as_secs_f64().max(0.001);
    eprintln!(
        "replay: {}/{} aggregates, {} events, {:.0} events/s, {:.0} aggregates/s",
        progress.done,
        progress.total,
        progress.events,
        progress.events as f64 / seconds,
        progress.done as f64 / seconds
    );
}

async fn run() -> Result<(), Failure> {
    let args = parse_args(std::env::args().skip(1)).map_err(Failure::Usage)?;
    let store = (args.store.open().await).map_err(|m| Failure::Usage(format!("replay: {m}")))?;
    let report = replay(&store.stores, &args.options, print_progress)
        .await
        .map_err(|e| Failure::Failed(format!("replay failed: {e}")))?;
    println!(
        "replay {}: checked {}, rewritten {}, removed {}, skipped (newer) {}, {} events in {} ms ({:.0} events/s)",
        if report.dry_run { "(dry run, nothing written)" } else { "done" },
        report.checked,
        report.rewritten,
        report.removed,
        report.skipped_newer,
        report.events,
        report.elapsed_ms,
        report.events_per_second()
    );
    Ok(())
}

#[tokio::main]
async fn main() -> ExitCode {
    Failure::exit(run().await)
}
