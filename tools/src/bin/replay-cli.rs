//! `replay-cli`: rebuilds read items from the event log, from a command line (`make replay`); the same
//! replay runs on AWS as the `replay` Lambda function (`functions/events/src/bin/replay.rs`).
//!
//!   replay-cli --all | --user NAME | --debt ID | --resume JOB | --status JOB
//!              [--dry-run] [--segments N] [--store sqlite|dynamodb] [--data-dir DIR] [--table NAME]
//!
//! `--all` runs as a job (`projections::replay_job`): it prints the job's id first, keeps a checkpoint per
//! scan segment in the store, and shows its progress each second; a job stopped on the way (Ctrl-C, a crash)
//! goes on with `--resume JOB` from its checkpoints, never redoing a finished page. `--status JOB` shows how
//! far a job got (on AWS too, against the table).
//!
//! With `--store dynamodb` the table comes from `--table` or `TABLE_NAME` (default `debts`) and the endpoint
//! from the usual AWS variables; the SQLite store is `DATA_DIR/debts.sqlite` (default `.data`).

use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Parser;
use projections::replay::{replay, Progress, ReplayOptions, Scope};
use projections::replay_job::{self, JobSettings, JobStatus};
use store::Stores;
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
    /// Go on with a job an earlier run started.
    #[arg(long, value_name = "JOB")]
    resume: Option<String>,
    /// Show how far a job got, and change nothing.
    #[arg(long, value_name = "JOB")]
    status: Option<String>,
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

fn print_status(status: &JobStatus, rate: f64) {
    let totals = &status.totals;
    eprintln!(
        "replay job {}: {}/{} segments done, {} aggregates, {} events, {rate:.0} events/s, rewritten {}, removed {}{}",
        status.job_id,
        status.segments_done,
        status.settings.segments,
        totals.checked,
        totals.events,
        totals.rewritten,
        totals.removed,
        if status.settings.dry_run { " (dry run)" } else { "" }
    );
}

async fn job_status(stores: &Stores, job_id: &str) -> Result<JobStatus, Failure> {
    replay_job::status(stores, job_id)
        .await
        .map_err(|e| Failure::Failed(format!("replay: {e}")))?
        .ok_or_else(|| Failure::Usage(format!("replay: no job {job_id}")))
}

/// Runs the job to its end, showing its progress each second (the events rate of this run).
async fn run_job(stores: &Stores, job_id: &str) -> Result<(), Failure> {
    let before = job_status(stores, job_id).await?.totals.events;
    let started = Instant::now();
    let watched = stores.clone();
    let watched_id = job_id.to_owned();
    let watcher = tokio::spawn(async move {
        loop {
            tokio::time::sleep(Duration::from_secs(1)).await;
            if let Ok(Some(status)) = replay_job::status(&watched, &watched_id).await {
                let done = status.totals.events.saturating_sub(before);
                print_status(&status, per_second(done, started.elapsed()));
            }
        }
    });
    let result = replay_job::run(stores, job_id, Arc::new(|| true)).await;
    watcher.abort();
    let status = result.map_err(|e| Failure::Failed(format!("replay failed: {e}")))?;
    let done = status.totals.events.saturating_sub(before);
    print_status(&status, per_second(done, started.elapsed()));
    println!(
        "replay job {} {}: checked {}, rewritten {}, removed {}, skipped (newer) {}, {} events ({} in this run, {:.0} events/s)",
        status.job_id,
        if status.settings.dry_run { "done (dry run, nothing written)" } else { "done" },
        status.totals.checked,
        status.totals.rewritten,
        status.totals.removed,
        status.totals.skipped_newer,
        status.totals.events,
        done,
        per_second(done, started.elapsed())
    );
    Ok(())
}

async fn run() -> Result<(), Failure> {
    let args: Args = parse_args()?;
    let options = args.options();
    let store = (args.store.open().await).map_err(|m| Failure::Usage(format!("replay: {m}")))?;
    let stores = &store.stores;
    if let Some(job_id) = &args.scope.status {
        print_status(&job_status(stores, job_id).await?, 0.0);
        return Ok(());
    }
    if let Some(job_id) = &args.scope.resume {
        return run_job(stores, job_id).await;
    }
    if options.scope == Scope::All {
        let settings = JobSettings {
            segments: options.segments,
            concurrency: options.concurrency,
            dry_run: options.dry_run,
        };
        let job_id = replay_job::start(stores, settings)
            .await
            .map_err(|e| Failure::Failed(format!("replay: {e}")))?;
        eprintln!(
            "replay job {job_id} started ({} segments); if it stops, go on with: replay-cli --resume {job_id}",
            settings.segments
        );
        return run_job(stores, &job_id).await;
    }
    let report = replay(stores, &options, print_progress)
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
