//! `export-events`: writes the event log as NDJSON, one documented envelope per line, streaming.
//!
//!   export-events [--since TIME] [--until TIME] [--type T[,T...]]... [--user NAME] [--output FILE]
//!                 [--sealed] [--store sqlite|dynamodb] [--data-dir DIR] [--table NAME]
//!
//! Personal fields are opened (decrypted), as an access request needs, unless `--sealed` asks for them as
//! the store holds them: the ciphertext the bus carries and the lake keeps, decrypting nothing.
//!
//! TIME is RFC 3339 or YYYY-MM-DD (UTC midnight); `--since` is inclusive, `--until` exclusive. Lines go to
//! stdout unless `--output` names a file; progress and the summary go to stderr. Stores as for `replay`.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use chrono::{DateTime, Utc};
use clap::Parser;
use tools::cli::{parse_args, per_second, Failure, StoreArgs};
use tools::export::{export, ExportFilter, ExportProgress};

/// Writes the event log as NDJSON, one documented envelope per line, streaming.
#[derive(Parser)]
#[command(name = "export-events")]
struct Args {
    /// Events recorded at or after TIME (RFC 3339, or YYYY-MM-DD for UTC midnight).
    #[arg(long, value_name = "TIME", value_parser = ExportFilter::parse_instant)]
    since: Option<DateTime<Utc>>,
    /// Events recorded before TIME.
    #[arg(long, value_name = "TIME", value_parser = ExportFilter::parse_instant)]
    until: Option<DateTime<Utc>>,
    /// Only these event types (comma-separated; repeatable).
    #[arg(long = "type", value_name = "T[,T...]")]
    types: Vec<String>,
    /// Only this user's events and their debts'.
    #[arg(long)]
    user: Option<String>,
    /// Write to FILE instead of stdout.
    #[arg(long, short)]
    output: Option<PathBuf>,
    /// Write personal fields sealed, as stored (the lake's and the bus's form); decrypt nothing.
    #[arg(long)]
    sealed: bool,
    #[command(flatten)]
    store: StoreArgs,
}

impl Args {
    fn filter(&self) -> Result<ExportFilter, String> {
        let mut filter = ExportFilter {
            since: self.since,
            until: self.until,
            user: self.user.as_deref().map(str::to_lowercase),
            ..ExportFilter::default()
        };
        for types in &self.types {
            filter.add_types(types)?;
        }
        if let (Some(since), Some(until)) = (filter.since, filter.until) {
            if since >= until {
                return Err("--since must be before --until".into());
            }
        }
        Ok(filter)
    }
}

fn report(progress: ExportProgress) {
    let ExportProgress {
        aggregates,
        events_read,
        events_written,
        elapsed,
    } = progress;
    let rate = per_second(events_read, elapsed);
    eprintln!("export: {aggregates} aggregates, {events_read} events read, {events_written} written, {rate:.0} events/s");
}

/// This process's peak resident set size (Linux's `VmHWM`), so a user can see that memory stays flat.
fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

async fn run() -> Result<(), Failure> {
    let args: Args = parse_args()?;
    let filter = args
        .filter()
        .map_err(|e| Failure::Usage(format!("export-events: {e}")))?;
    let store =
        (args.store.open().await).map_err(|m| Failure::Usage(format!("export-events: {m}")))?;
    let mut out: Box<dyn Write> = match &args.output {
        Some(path) => Box::new(BufWriter::new(File::create(path).map_err(|e| {
            Failure::Usage(format!(
                "export-events: cannot write {}: {e}",
                path.display()
            ))
        })?)),
        None => Box::new(BufWriter::new(std::io::stdout().lock())),
    };
    let events = if args.sealed {
        store.engine_events.as_ref()
    } else {
        store.stores.events.as_ref()
    };
    export(
        events,
        store.engine_events.as_ref(),
        &filter,
        &mut out,
        report,
    )
    .await
    .map_err(|e| Failure::Failed(format!("export-events failed: {e}")))?;
    if let Some(kib) = peak_rss_kib() {
        eprintln!("export: peak RSS {:.1} MiB", kib as f64 / 1024.0);
    }
    Ok(())
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    Failure::exit(run().await)
}
