//! `replay-cli`: rebuilds read items from the event log, from a command line (`make replay`); the same
//! replay runs on AWS as the `replay` Lambda function (`functions/events/src/bin/replay.rs`).
//!
//!   replay-cli --all | --user NAME | --debt ID  [--dry-run] [--store sqlite|dynamodb] [--data-dir DIR]
//!              [--table NAME] [--segments N]
//!
//! With `--store dynamodb` the table comes from `--table` or `TABLE_NAME` (default `debts`) and the endpoint
//! from the usual AWS variables; the SQLite store is `DATA_DIR/debts.sqlite` (default `.data`).

use std::process::ExitCode;

use clap::Parser;
use projections::replay::{replay, Progress, ReplayOptions, Scope};
use tools::cli::{parse_args, per_second, Failure, StoreArgs};

/// Rebuilds read items from the event log: every aggregate's, one user's (with their debts), or one debt's.
#[derive(Parser)]
#[command(name = "replay-cli")]
struct Args {
    #[command(flatten)]
    scope: ScopeArgs,
    /// Report what would change, write nothing.
    #[arg(long)]
    dry_run: bool,
    /// Parallel scan segments.
    #[arg(long)]
    segments: Option<u32>,
    #[command(flatten)]
    store: StoreArgs,
}

#[derive(clap::Args)]
#[group(required = true, multiple = false)]
struct ScopeArgs {
    /// Every aggregate.
    #[arg(long)]
    all: bool,
    /// One user and the debts in their partition.
    #[arg(long)]
    user: Option<String>,
    /// One debt.
    #[arg(long)]
    debt: Option<String>,
}

impl Args {
    fn options(&self) -> ReplayOptions {
        let scope = match (&self.scope.user, &self.scope.debt) {
            (Some(user), _) => Scope::User(user.clone()),
            (_, Some(debt)) => Scope::Debt(debt.clone()),
            _ => Scope::All,
        };
        let mut options = ReplayOptions::new(scope);
        options.dry_run = self.dry_run;
        if let Some(segments) = self.segments {
            options.segments = segments;
        }
        options
    }
}

fn print_progress(progress: Progress) {
    let (done, total, events) = (progress.done, progress.total, progress.events);
    let events_rate = per_second(events, progress.elapsed);
    let aggregates_rate = per_second(done, progress.elapsed);
    eprintln!("replay: {done}/{total} aggregates, {events} events, {events_rate:.0} events/s, {aggregates_rate:.0} aggregates/s");
}

async fn run() -> Result<(), Failure> {
    let args: Args = parse_args()?;
    let options = args.options();
    let store = (args.store.open().await).map_err(|m| Failure::Usage(format!("replay: {m}")))?;
    let report = replay(&store.stores, &options, print_progress)
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
