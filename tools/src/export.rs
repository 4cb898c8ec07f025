//! Event export: the event log as NDJSON, one documented envelope per line, for analysts and for a new bus
//! consumer's backfill. It streams: aggregates are listed a page at a time and each one's history is loaded,
//! filtered, written and dropped before the next, so memory stays flat however long the log is (the one bound
//! is the longest single history). Lines are grouped by aggregate, oldest first within each.

use std::io::Write;
use std::time::{Duration, Instant};

use chrono::{DateTime, NaiveDate, Utc};
use events::{AggregateType, EventEnvelope, EventPayload};
use store::{AggregateRef, EventLog, Scan, StoreError};

/// Which events to export. Every condition given must hold.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExportFilter {
    /// Events that occurred at or after this instant.
    pub since: Option<DateTime<Utc>>,
    /// Events that occurred before this instant.
    pub until: Option<DateTime<Utc>>,
    /// Event types to keep (`DebtCreated`, ...); empty keeps all.
    pub types: Vec<String>,
    /// Only this user's events: their `UserCreated` and the events of the debts they own.
    pub user: Option<String>,
}

impl ExportFilter {
    /// Reads `--since`/`--until` values: RFC 3339, or a date meaning that day's UTC midnight.
    pub fn parse_instant(text: &str) -> Result<DateTime<Utc>, String> {
        if let Ok(instant) = DateTime::parse_from_rfc3339(text) {
            return Ok(instant.with_timezone(&Utc));
        }
        NaiveDate::parse_from_str(text, "%Y-%m-%d")
            .map(|day| day.and_hms_opt(0, 0, 0).expect("midnight exists").and_utc())
            .map_err(|_| format!("{text} is neither an RFC 3339 time nor a YYYY-MM-DD date"))
    }

    /// Reads a `--type` value: one or more comma-separated event types.
    pub fn add_types(&mut self, text: &str) -> Result<(), String> {
        for name in text.split(',').map(str::trim).filter(|t| !t.is_empty()) {
            if !EventPayload::TYPES.contains(&name) {
                return Err(format!(
                    "unknown event type {name}: use {}",
                    EventPayload::TYPES.join(", ")
                ));
            }
            self.types.push(name.to_owned());
        }
        Ok(())
    }

    fn keeps(&self, event: &EventEnvelope) -> bool {
        self.since.is_none_or(|since| event.occurred_at >= since)
            && self.until.is_none_or(|until| event.occurred_at < until)
            && (self.types.is_empty() || self.types.iter().any(|t| t == event.event_type()))
    }

    /// Whether an aggregate can belong to the user asked for before its history is read: another user
    /// cannot; a debt can until its creation says who owns it.
    fn may_own(&self, aggregate: &AggregateRef) -> bool {
        match (&self.user, aggregate.aggregate_type) {
            (Some(user), AggregateType::User) => &aggregate.aggregate_id == user,
            _ => true,
        }
    }

    /// Whether a debt's history belongs to the user asked for (always, when none is, and for users that
    /// passed [`ExportFilter::may_own`]).
    fn owns(&self, history: &[EventEnvelope]) -> bool {
        match (&self.user, history.first().map(|e| &e.payload)) {
            (Some(user), Some(EventPayload::DebtCreated(created))) => &created.owner == user,
            (Some(_), Some(EventPayload::UserCreated(_))) | (None, _) => true,
            (Some(_), _) => false,
        }
    }
}

/// How far an export has got.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ExportProgress {
    pub aggregates: u64,
    pub events_read: u64,
    pub events_written: u64,
    pub elapsed: Duration,
}

#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("writing the export failed: {0}")]
    Write(#[from] std::io::Error),
}

/// Writes every event `filter` keeps to `out` as NDJSON; `progress` hears about it about once a second and
/// once at the end, whose figures are also returned. `store` gives the events as exported (personal fields
/// opened); `stored` is the same log as the engine holds it, where, for one user's export, each debt's owner
/// is read from its stored creation before anything of it is opened: another user's events are never
/// decrypted (the owner is never sealed).
pub async fn export(
    store: &dyn EventLog,
    stored: &dyn EventLog,
    filter: &ExportFilter,
    out: &mut dyn Write,
    mut progress: impl FnMut(ExportProgress),
) -> Result<ExportProgress, ExportError> {
    let started = Instant::now();
    let mut last_report = started;
    let mut done = ExportProgress::default();
    let mut cursor: Option<String> = None;
    loop {
        let page = store
            .list_aggregates(Scan::whole(cursor.as_deref()))
            .await?;
        for aggregate in page.items {
            if !filter.may_own(&aggregate) {
                continue;
            }
            if filter.user.is_some() && aggregate.aggregate_type == AggregateType::Debt {
                let first = stored.first_event(&aggregate).await?;
                if !first.is_some_and(|first| filter.owns(std::slice::from_ref(&first))) {
                    continue;
                }
            }
            let history = store.load_events(&aggregate, 0).await?;
            done.aggregates += 1;
            done.events_read += history.len() as u64;
            if !filter.owns(&history) {
                continue;
            }
            for event in history.iter().filter(|e| filter.keeps(e)) {
                serde_json::to_writer(&mut *out, event).map_err(std::io::Error::from)?;
                out.write_all(b"\n")?;
                done.events_written += 1;
            }
            if last_report.elapsed() >= Duration::from_secs(1) {
                last_report = Instant::now();
                done.elapsed = started.elapsed();
                progress(done);
            }
        }
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    out.flush()?;
    done.elapsed = started.elapsed();
    progress(done);
    Ok(done)
}
