//! `export-events`: writes the event log as NDJSON, one documented envelope per line, streaming.
//!
//!   export-events [--since TIME] [--until TIME] [--type T[,T...]]... [--user NAME] [--output FILE]
//!                 [--store sqlite|dynamodb] [--data-dir DIR] [--table NAME]
//!
//! TIME is RFC 3339 or YYYY-MM-DD (UTC midnight); `--since` is inclusive, `--until` exclusive. Lines go to
//! stdout unless `--output` names a file; progress and the summary go to stderr. Stores as for `replay`.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use tools::cli::{Failure, StoreArgs};
use tools::export::{export, ExportFilter, ExportProgress};

const USAGE: &str =
    "usage: export-events [--since TIME] [--until TIME] [--type T[,T...]] [--user NAME] \
[--output FILE] [--store sqlite|dynamodb] [--data-dir DIR] [--table NAME]";

struct Args {
    filter: ExportFilter,
    output: Option<PathBuf>,
    store: StoreArgs,
}

fn parse_args(mut args: impl Iterator<Item = String>) -> Result<Args, String> {
    let mut parsed = Args {
        filter: ExportFilter::default(),
        output: None,
        store: StoreArgs::from_env(),
    };
    while let Some(arg) = args.next() {
        let mut value = |name: &str| args.next().ok_or_else(|| format!("{name} needs a value"));
        match arg.as_str() {
            "--since" => {
                parsed.filter.since = Some(ExportFilter::parse_instant(&value("--since")?)?)
            }
            "--until" => {
                parsed.filter.until = Some(ExportFilter::parse_instant(&value("--until")?)?)
            }
            "--type" => parsed.filter.add_types(&value("--type")?)?,
            "--user" => parsed.filter.user = Some(value("--user")?.to_lowercase()),
            "--output" | "-o" => parsed.output = Some(PathBuf::from(value("--output")?)),
            "--help" | "-h" => return Err(USAGE.into()),
            other if parsed.store.accept(other, &mut value)? => {}
            other => return Err(format!("unknown argument {other}\n{USAGE}")),
        }
    }
    if let (Some(since), Some(until)) = (parsed.filter.since, parsed.filter.until) {
        if since >= until {
            return Err("--since must be before --until".into());
        }
    }
    Ok(parsed)
}

fn report(progress: ExportProgress) {
    let seconds = progress.elapsed.as_secs_f64().max(0.001);
    eprintln!(
        "export: {} aggregates, {} events read, {} written, {:.0} events/s",
        progress.aggregates,
        progress.events_read,
        progress.events_written,
        progress.events_read as f64 / seconds
    );
}

/// This process's peak resident set size (Linux's `VmHWM`), so a user can see that memory stays flat.
fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

async fn run() -> Result<(), Failure> {
    let args = parse_args(std::env::args().skip(1)).map_err(Failure::Usage)?;
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
    export(store.stores.events.as_ref(), &args.filter, &mut out, report)
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
