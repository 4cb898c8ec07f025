//! Measures replay as a resumable job on DynamoDB Local (`make bench-replay-job` starts it): seeds one table
//! with N events (debts of ten events each over 100 users), then
//!
//! 1. runs a dry-run job over the whole table with 4, 8 and 1 scan segments in turn (each reads every event
//!    and rebuilds every read item, writing nothing, so the three runs do the same work) and reports
//!    events/s for each, against the 1-segment run;
//! 2. starts `replay-cli --all --dry-run` (release build, beside this binary) with 4 segments, kills it
//!    (SIGKILL) halfway through the 4-segment run's time, reads the job's checkpoints, resumes it with
//!    `replay-cli --resume JOB`, and shows that the segments finished before the kill kept their page counts
//!    (nothing redone) and that the job read every event once.
//!
//!   replay-job [--events 1000000] [--segments 4,8,1] [--no-kill]
//!
//! `--segments` chooses the runs and their order (the ratios are against the 1-segment run, which must be
//! among them); `--no-kill` leaves out step 2.

use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bench::report::{seed, Row};
use clap::Parser;
use projections::replay_job::{self, JobSettings, JobStatus};
use store::{Engine, Stores};

#[derive(Parser)]
struct Args {
    /// Events to seed.
    #[arg(long, default_value_t = 1_000_000)]
    events: u64,
    /// Segment counts to run, in this order; 1 is the reference and must be among them.
    #[arg(long, value_delimiter = ',', default_value = "4,8,1")]
    segments: Vec<u32>,
    /// Leave out the killed-and-resumed run (it follows the 4-segment run when 4 is among the segments).
    #[arg(long)]
    no_kill: bool,
}

async fn job(stores: &Stores, segments: u32) -> (JobStatus, Duration) {
    let settings = JobSettings {
        segments,
        concurrency: 16,
        dry_run: true,
    };
    let job_id = replay_job::start(stores, settings).await.unwrap();
    let started = Instant::now();
    let status = replay_job::run(stores, &job_id, Arc::new(|| true))
        .await
        .unwrap();
    (status, started.elapsed())
}

/// Every segment's page count, by segment.
async fn pages(stores: &Stores, job_id: &str, segments: u32) -> Vec<(u64, bool)> {
    let mut found = Vec::new();
    for index in 0..segments {
        let checkpoint = replay_job::checkpoint(stores, job_id, index).await.unwrap();
        found.push((
            checkpoint.pages,
            checkpoint.phase == replay_job::Phase::Done,
        ));
    }
    found
}

fn replay_cli(table: &str, args: &[&str]) -> Command {
    let path = std::env::current_exe()
        .unwrap()
        .with_file_name("replay-cli");
    let mut command = Command::new(path);
    command
        .args(["--store", "dynamodb", "--table", table])
        .args(args)
        .env("DATA_DIR", std::env::temp_dir().join("replay-job-bench"));
    command
}

#[tokio::main]
async fn main() {
    let Args {
        events,
        segments,
        no_kill,
    } = Args::parse();
    assert!(
        segments.contains(&1),
        "--segments must include 1, the reference"
    );
    let table = integration_tests::dynamodb_table().await;
    let table_name = table.table_name().to_owned();
    let engine: Arc<dyn Engine> = Arc::new(table);
    let seeding = Instant::now();
    seed(Arc::clone(&engine) as _, events).await;
    eprintln!(
        "seeded {events} events on DynamoDB Local in {:.1} s",
        seeding.elapsed().as_secs_f64()
    );
    let stores = Stores::of(engine);
    println!(
        "{:<9} {:>8} {:>11} {:>10} {:>12}",
        "segments", "events", "aggregates", "job ms", "events/s"
    );
    // Each row prints as its run ends; the killed run follows the 4-segment one, whose time it halves.
    let mut rates = Vec::new();
    for &count in &segments {
        let (rate, took) = by_segments(&stores, events, count).await;
        rates.push((count, rate));
        if count == 4 && !no_kill {
            killed_and_resumed(&stores, &table_name, events, took).await;
        }
    }
    let single = rates.iter().find(|(count, _)| *count == 1).unwrap().1;
    for (count, rate) in rates.into_iter().filter(|(count, _)| *count != 1) {
        Row {
            figure: &format!("replay job on DynamoDB Local, {events} events, {count} segments"),
            goal: "faster than one segment",
            value: format!("{rate:.0} events/s"),
            reference: format!("1 segment: {single:.0} events/s"),
            ratio: rate / single,
            met: rate > single,
        }
        .print();
    }
}

/// Runs a dry-run job with `segments` segments; answers its events/s and how long it took.
async fn by_segments(stores: &Stores, events: u64, segments: u32) -> (f64, Duration) {
    {
        let (status, took) = job(stores, segments).await;
        assert!(
            status.finished && status.totals.events == events,
            "{status:?}"
        );
        let rate = events as f64 / took.as_secs_f64();
        println!(
            "{segments:<9} {events:>8} {:>11} {:>10} {rate:>12.0}",
            status.totals.checked,
            took.as_millis()
        );
        (rate, took)
    }
}

/// Starts `replay-cli --all` (a 4-segment dry run), kills it (SIGKILL) after `after`; answers its job's id.
fn start_and_kill(table_name: &str, after: Duration) -> String {
    let mut child = replay_cli(table_name, &["--all", "--dry-run", "--segments", "4"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run replay-cli (make bench-replay-job builds it beside this binary)");
    let stderr = child.stderr.take().unwrap();
    let first_line = std::thread::spawn(move || {
        use std::io::BufRead;
        let mut lines = std::io::BufReader::new(stderr).lines();
        let first = lines.next().unwrap().unwrap();
        for _ in lines {}
        first
    });
    std::thread::sleep(after);
    child.kill().unwrap();
    child.wait().unwrap();
    let first = first_line.join().unwrap();
    first
        .split_whitespace()
        .nth(2)
        .unwrap_or_else(|| panic!("replay-cli names its job first: {first}"))
        .to_owned()
}

/// `replay-cli` killed halfway through a 4-segment job, then resumed: finished segments are not redone.
async fn killed_and_resumed(
    stores: &Stores,
    table_name: &str,
    events: u64,
    four_segments: Duration,
) {
    let job_id = start_and_kill(table_name, four_segments / 2);
    let killed = replay_job::status(stores, &job_id).await.unwrap().unwrap();
    let before = pages(stores, &job_id, 4).await;
    eprintln!(
        "killed after {} ms: {}/4 segments done, {} events read, pages per segment {before:?}",
        (four_segments / 2).as_millis(),
        killed.segments_done,
        killed.totals.events
    );
    let resuming = Instant::now();
    let resumed = replay_cli(table_name, &["--resume", &job_id])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert!(resumed.success());
    let took = resuming.elapsed();
    let done = replay_job::status(stores, &job_id).await.unwrap().unwrap();
    let after = pages(stores, &job_id, 4).await;
    for (segment, (was, now)) in before.iter().zip(&after).enumerate() {
        if was.1 {
            assert_eq!(
                was, now,
                "segment {segment} was done before the kill and was not redone"
            );
        }
    }
    assert!(done.finished);
    println!(
        "killed at {} ms with {}/4 segments done and {} of {events} events read; resumed in {} ms; \
         finished segments redone: 0; events counted at the end: {} (redone: {})",
        (four_segments / 2).as_millis(),
        killed.segments_done,
        killed.totals.events,
        took.as_millis(),
        done.totals.events,
        done.totals.events.saturating_sub(events)
    );
}
