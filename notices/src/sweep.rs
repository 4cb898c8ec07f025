//! The notice sweep: the scheduled command that asks each debt whose time has come for its notices. It reads
//! the time index ([`store::notice_index`]) hour by hour, every shard of an hour at once, from the hour after
//! the last one it finished up to the current one; for each entry it loads the debt, asks the decider
//! (`DebtCommand::Notify`, the owner's date and settings), appends what it decides with the same conditional
//! write as any command, writes the debt's next entry and removes the one it swept. Running twice, twice at
//! once or after an outage appends each notice once: the decider knows the notices already in the log, and
//! the append is conditional on the version it decided on. An hour is marked finished once it ended more
//! than [`GRACE_HOURS`] ago, so an entry the projector writes into the current hour is still found. A debt
//! that cannot be swept (its events unreadable, a write refused) is moved to the next hour and counted, so it
//! holds up nothing else.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, NaiveDate, Utc};
use domain::{Debt, DebtAggregate, DebtCommand, DebtState, Decider};
use events::{EventEnvelope, EventPayload};
use futures_util::{stream, StreamExt, TryStreamExt};
use read_model::notices::{notice_entry, notice_settings, NoticeSettings};
use serde::Serialize;
use store::notice_index::{
    entries_query, mark_swept, swept_through, NoticeEntry, NoticeHour, NOTICE_SHARDS,
};
use store::{AggregateRef, AppendRequest, EventLog, Page, ReadModel, Records, StoreError, Stores};
use tokio::sync::Mutex;
use uuid::Uuid;

/// Hours after its end that an hour is still read again before it is marked finished: the projector writes
/// an entry due now into the current hour, and the write must land before the hour's last reading.
pub const GRACE_HOURS: i64 = 1;

/// How far back the first sweep of a table looks (no hour is marked finished yet).
pub const FIRST_SWEEP_HOURS: i64 = 24;

/// The most hours one run reads: after a longer outage the next runs go on from where it stopped.
pub const MAX_HOURS_PER_RUN: i64 = 7 * 24;

/// Entries read per page of a shard.
const ENTRIES_PER_PAGE: u32 = 200;

/// Debts of one shard asked at once; every shard of an hour is read at once.
const CONCURRENT_DEBTS: usize = 8;

/// What the sweep reads and writes: the debts' events (sealed, as every command reads them), the owners'
/// profiles (their zone and settings) and the index.
#[derive(Clone)]
pub struct SweepDeps {
    pub events: Arc<dyn EventLog>,
    pub read_model: Arc<dyn ReadModel>,
    pub records: Arc<dyn Records>,
}

impl SweepDeps {
    pub fn new(stores: &Stores) -> Self {
        SweepDeps {
            events: Arc::clone(&stores.events),
            read_model: Arc::clone(&stores.read_model),
            records: Arc::clone(&stores.records),
        }
    }
}

/// What one run did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SweepReport {
    /// The hours read.
    pub hours: u32,
    /// The index entries found in them.
    pub entries: u64,
    /// The notices appended, and the debts they went to.
    pub notices: u64,
    pub debts_notified: u64,
    /// Entries left for the next run: their debt changed twice while it was being asked.
    pub conflicts: u64,
    /// Entries whose debt could not be swept (an error reading or writing it): moved to the next hour.
    pub failed: u64,
    /// The last hour now marked finished (`2026-12-05T14`).
    pub swept_through: Option<String>,
}

/// What sweeping one entry did.
enum Swept {
    Notified(u64),
    Nothing,
    Conflict,
    Failed,
}

/// One run of the sweep at `now`: every unfinished hour up to the current one (at most
/// [`MAX_HOURS_PER_RUN`]). A store error stops the run; what it finished stands.
pub async fn sweep(
    deps: &SweepDeps,
    now: DateTime<Utc>,
    run: Uuid,
) -> Result<SweepReport, StoreError> {
    let current = NoticeHour::containing(now);
    let mut hour = match swept_through(deps.records.as_ref()).await? {
        Some(done) => done.next(),
        None => current.before(FIRST_SWEEP_HOURS),
    };
    let last = current.min(hour.after(MAX_HOURS_PER_RUN - 1));
    let finished_by = current.before(GRACE_HOURS + 1);
    let owners = Owners::default();
    let mut report = SweepReport::default();
    while hour <= last {
        sweep_hour(deps, hour, now, run, &owners, &mut report).await?;
        report.hours += 1;
        if hour <= finished_by && report.conflicts == 0 {
            mark_swept(deps.records.as_ref(), hour).await?;
            report.swept_through = Some(hour.label());
        }
        hour = hour.next();
    }
    Ok(report)
}

/// The owners' settings met in one run, each read once.
#[derive(Default)]
struct Owners(Mutex<HashMap<String, Option<NoticeSettings>>>);

impl Owners {
    async fn settings(
        &self,
        model: &dyn ReadModel,
        owner: &str,
    ) -> Result<Option<NoticeSettings>, StoreError> {
        if let Some(known) = self.0.lock().await.get(owner) {
            return Ok(known.clone());
        }
        let settings = notice_settings(model, owner).await?;
        self.0
            .lock()
            .await
            .insert(owner.to_owned(), settings.clone());
        Ok(settings)
    }
}

async fn sweep_hour(
    deps: &SweepDeps,
    hour: NoticeHour,
    now: DateTime<Utc>,
    run: Uuid,
    owners: &Owners,
    report: &mut SweepReport,
) -> Result<(), StoreError> {
    let outcomes: Vec<Vec<Swept>> = stream::iter(0..NOTICE_SHARDS)
        .map(|shard| sweep_shard(deps, hour, shard, now, run, owners))
        .buffer_unordered(usize::from(NOTICE_SHARDS))
        .try_collect()
        .await?;
    for swept in outcomes.into_iter().flatten() {
        report.entries += 1;
        match swept {
            Swept::Notified(notices) => {
                report.notices += notices;
                report.debts_notified += 1;
            }
            Swept::Nothing => {}
            Swept::Conflict => report.conflicts += 1,
            Swept::Failed => report.failed += 1,
        }
    }
    Ok(())
}

async fn sweep_shard(
    deps: &SweepDeps,
    hour: NoticeHour,
    shard: u16,
    now: DateTime<Utc>,
    run: Uuid,
    owners: &Owners,
) -> Result<Vec<Swept>, StoreError> {
    let mut outcomes = Vec::new();
    let mut cursor = None;
    loop {
        let page: Page<_> = deps
            .records
            .query(&entries_query(hour, shard, ENTRIES_PER_PAGE).after(cursor))
            .await?;
        let entries: Vec<NoticeEntry> = page
            .items
            .iter()
            .filter_map(NoticeEntry::from_item)
            .collect();
        let swept: Vec<Swept> = stream::iter(entries)
            .map(|entry| async move {
                match sweep_entry(deps, &entry, now, run, owners).await {
                    Ok(swept) => Ok(swept),
                    Err(error) => {
                        tracing::error!(debt_id = %entry.debt_id, %error, "the debt could not be swept; retried in an hour");
                        retry_later(deps, &entry, now).await.map(|()| Swept::Failed)
                    }
                }
            })
            .buffer_unordered(CONCURRENT_DEBTS)
            .try_collect()
            .await?;
        outcomes.extend(swept);
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => return Ok(outcomes),
        }
    }
}

/// Moves a debt that could not be swept to the next hour, so it holds up neither the other debts nor the
/// hour's progress; a store that cannot take even that fails the run.
async fn retry_later(
    deps: &SweepDeps,
    entry: &NoticeEntry,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let later = NoticeEntry {
        at: NoticeHour::containing(now).next().start(),
        ..entry.clone()
    };
    deps.records.put_item(&later.to_item()).await?;
    if later.key() != entry.key() {
        deps.records.delete_item(&entry.key()).await?;
    }
    Ok(())
}

/// Asks one debt for its notices, appends them, writes its next entry and removes `entry`.
async fn sweep_entry(
    deps: &SweepDeps,
    entry: &NoticeEntry,
    now: DateTime<Utc>,
    run: Uuid,
    owners: &Owners,
) -> Result<Swept, StoreError> {
    let Some(settings) = owners
        .settings(deps.read_model.as_ref(), &entry.owner)
        .await?
    else {
        // The owner erased their account: nothing is said to them any more.
        deps.records.delete_item(&entry.key()).await?;
        return Ok(Swept::Nothing);
    };
    let aggregate = AggregateRef::debt(&entry.debt_id);
    for _attempt in 1..=2 {
        let history = deps.events.load_events(&aggregate, 0).await?;
        let (Some(first), Some(version)) = (history.first(), history.last().map(|e| e.version))
        else {
            deps.records.delete_item(&entry.key()).await?;
            return Ok(Swept::Nothing);
        };
        let tracked_from = first.occurred_at.date_naive();
        let mut state = Debt::fold(history.iter().map(|e| &e.payload));
        let command = DebtCommand::Notify {
            today: settings.zone.date_at(now),
            tracked_from,
            settings: settings.notifications.clone(),
        };
        let payloads = Debt::decide(&command, &state).unwrap_or_default();
        let appended = payloads.len() as u64;
        // A debt at its limit of events takes no more notices; its owner still sees its due dates.
        if appended > 0 && version < domain::limits::MAX_EVENTS_PER_DEBT {
            let events = stamped(entry, version, payloads, run, now);
            match deps
                .events
                .append(AppendRequest::new(version, events.clone()))
                .await
            {
                // The state the notices leave, for the next entry: evolved, not folded again.
                Ok(()) => {
                    state = events
                        .iter()
                        .fold(state, |s, e| Debt::evolve(s, &e.payload))
                }
                Err(StoreError::VersionConflict { .. }) => continue,
                Err(error) => return Err(error),
            }
        }
        reindex(deps, entry, &state, tracked_from, &settings, now).await?;
        return Ok(if appended > 0 {
            Swept::Notified(appended)
        } else {
            Swept::Nothing
        });
    }
    tracing::info!(debt_id = %entry.debt_id, "the debt kept changing; left for the next sweep");
    Ok(Swept::Conflict)
}

/// Writes the debt's next entry (from its state with the notices just appended), then removes the swept
/// one: in that order, so a crash between the two leaves an entry too many, never none.
async fn reindex(
    deps: &SweepDeps,
    swept: &NoticeEntry,
    state: &DebtAggregate,
    tracked_from: NaiveDate,
    settings: &NoticeSettings,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let next = match &state.state {
        DebtState::Open(debt) => notice_entry(
            &swept.debt_id,
            debt,
            &state.notices,
            tracked_from,
            settings,
            now,
        ),
        _ => None,
    };
    if let Some(next) = &next {
        deps.records.put_item(&next.to_item()).await?;
    }
    if next.as_ref().map(NoticeEntry::key) != Some(swept.key()) {
        deps.records.delete_item(&swept.key()).await?;
    }
    Ok(())
}

/// The notices as events of the debt after `version`: addressed to its owner (their actor, as every event
/// of a debt), under the run's correlation id, so a run's notices can be found together.
fn stamped(
    entry: &NoticeEntry,
    version: u64,
    payloads: Vec<EventPayload>,
    run: Uuid,
    now: DateTime<Utc>,
) -> Vec<EventEnvelope> {
    payloads
        .into_iter()
        .zip(version + 1..)
        .map(|(payload, version)| {
            EventEnvelope::new(&entry.debt_id, version, payload, now, &entry.owner, run)
        })
        .collect()
}
