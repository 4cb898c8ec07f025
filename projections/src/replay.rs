//! Replay: rebuilds read items from the event log. For every aggregate found in the events (parallel scan
//! segments), the read item its whole history makes is compared with the stored one and repaired where they
//! differ; read items whose aggregate has no events are removed. Safe while traffic continues: repairs never
//! replace a newer version, and a read item is only removed after its aggregate's first event is confirmed
//! absent. Replay also writes the debt ledger entries (`store::ledger`) a debt's events imply and the table
//! lacks (debts recorded before the ledger existed), so `as_of` listings find them. `dry_run` reports the
//! same figures and writes nothing.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use events::{AggregateType, EventPayload};
use serde::{Deserialize, Serialize};
use store::ledger::{ledger_item, LedgerEntry};
use store::{
    all_pages, keys, read_item, AggregateRef, ItemKey, Page, ReadItem, Scan, Segment, StoreError,
    Stores, WriteOutcome,
};
use tokio::task::JoinSet;

use crate::catch_up::rebuild;
use crate::projection::{self, following};

/// Which aggregates to replay.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    All,
    /// One user and the debts in their partition.
    User(String),
    Debt(String),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReplayOptions {
    pub scope: Scope,
    #[serde(default)]
    pub dry_run: bool,
    /// Parallel scan segments when listing (DynamoDB reads each segment concurrently).
    #[serde(default = "default_segments")]
    pub segments: u32,
    /// Aggregates rebuilt at the same time.
    #[serde(default = "default_concurrency")]
    pub concurrency: usize,
}

fn default_segments() -> u32 {
    4
}

fn default_concurrency() -> usize {
    16
}

impl ReplayOptions {
    pub fn new(scope: Scope) -> Self {
        ReplayOptions {
            scope,
            dry_run: false,
            segments: default_segments(),
            concurrency: default_concurrency(),
        }
    }
}

/// What a replay found and did (in a dry run: would do).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReplayReport {
    /// Aggregates whose read item was checked.
    pub checked: u64,
    /// Events read to rebuild them.
    pub events: u64,
    /// Read items rewritten because they differed from their history.
    pub rewritten: u64,
    /// Read items removed because their aggregate has no events.
    pub removed: u64,
    /// Read items left alone because live traffic had already moved them past the replayed version.
    pub skipped_newer: u64,
    /// Debt ledger entries written because the table lacked them.
    #[serde(default)]
    pub ledger_entries_written: u64,
    pub dry_run: bool,
    pub elapsed_ms: u64,
}

impl ReplayReport {
    pub fn events_per_second(&self) -> f64 {
        self.events as f64 / (self.elapsed_ms.max(1) as f64 / 1000.0)
    }
}

/// A progress line's figures.
#[derive(Debug, Clone, Copy)]
pub struct Progress {
    pub done: u64,
    pub total: u64,
    pub events: u64,
    pub elapsed: Duration,
}

/// Lists through every scan segment in parallel; `page` reads one page of one segment.
async fn scan_segments<T, F, Fut>(
    stores: &Stores,
    segments: u32,
    page: F,
) -> Result<Vec<T>, StoreError>
where
    T: Send + 'static,
    F: Fn(Stores, Segment, Option<String>) -> Fut + Clone + Send + Sync + 'static,
    Fut: std::future::Future<Output = Result<Page<T>, StoreError>> + Send,
{
    let mut tasks = JoinSet::new();
    for index in 0..segments {
        let (stores, page) = (stores.clone(), page.clone());
        let segment = Segment {
            index,
            total: segments,
        };
        tasks.spawn(async move { all_pages(|cursor| page(stores.clone(), segment, cursor)).await });
    }
    let mut items = Vec::new();
    while let Some(listed) = tasks.join_next().await {
        items.extend(listed.map_err(StoreError::engine)??);
    }
    Ok(items)
}

async fn list_aggregates(stores: &Stores, segments: u32) -> Result<Vec<AggregateRef>, StoreError> {
    let mut aggregates = scan_segments(stores, segments, |stores, segment, cursor| async move {
        stores
            .events
            .list_aggregates(Scan {
                segment,
                cursor: cursor.as_deref(),
            })
            .await
    })
    .await?;
    aggregates.sort();
    Ok(aggregates)
}

/// Every read item of every registered kind, tombstones included.
async fn list_read_items(stores: &Stores, segments: u32) -> Result<Vec<ReadItem>, StoreError> {
    let kinds = Arc::new(projection::kinds());
    scan_segments(stores, segments, move |stores, segment, cursor| {
        let kinds = Arc::clone(&kinds);
        async move {
            stores
                .read_model
                .list_read_items(
                    &kinds,
                    Scan {
                        segment,
                        cursor: cursor.as_deref(),
                    },
                )
                .await
        }
    })
    .await
}

/// What a replay works through: the aggregates to rebuild, and the read items that must each turn out to
/// belong to one of them (any that does not, and has no events, is an orphan).
struct Plan {
    aggregates: Vec<AggregateRef>,
    read_items: Vec<ReadItem>,
}

/// Chooses what the scope covers. `All` and `User` scan the read items (tombstones included), and `User` also
/// the debts' first events. `Debt` reads the debt's first event for its owner and then the one read item in
/// the owner's partition; only a debt with no events at all (an orphaned read item, or a wrong id) is looked
/// for by scanning the read items, since nothing else says whose partition holds it.
async fn plan(stores: &Stores, options: &ReplayOptions) -> Result<Plan, StoreError> {
    let segments = options.segments.max(1);
    match &options.scope {
        Scope::All => Ok(Plan {
            aggregates: list_aggregates(stores, segments).await?,
            read_items: list_read_items(stores, segments).await?,
        }),
        Scope::Debt(id) => {
            let debt = AggregateRef::debt(id.clone());
            let owner = match stores.events.first_event(&debt).await? {
                Some(first) => match first.payload {
                    EventPayload::DebtCreated(created) => Some(created.owner),
                    _ => None,
                },
                None => None,
            };
            let read_items = match owner {
                Some(owner) => {
                    read_item(stores.read_model.as_ref(), &keys::debt_read_key(&owner, id))
                        .await?
                        .into_iter()
                        .collect()
                }
                None => {
                    let sk = keys::debt_read_sk(id);
                    list_read_items(stores, segments)
                        .await?
                        .into_iter()
                        .filter(|i| i.key.sk == sk && i.key.pk.starts_with(keys::USER_PK_PREFIX))
                        .collect()
                }
            };
            Ok(Plan {
                aggregates: vec![debt],
                read_items,
            })
        }
        Scope::User(username) => {
            let partition = keys::user_info_key(username).pk;
            let read_items: Vec<ReadItem> = list_read_items(stores, segments)
                .await?
                .into_iter()
                .filter(|i| i.key.pk == partition)
                .collect();
            let mut aggregates: Vec<AggregateRef> = read_items
                .iter()
                .filter_map(|i| projection::aggregate_of(&i.key))
                .collect();
            // From the events too: a debt whose read item was never written has no item to list.
            aggregates.push(AggregateRef::user(username.clone()));
            aggregates.extend(debts_owned_by(stores, segments, username).await?);
            aggregates.sort();
            aggregates.dedup();
            Ok(Plan {
                aggregates,
                read_items,
            })
        }
    }
}

/// The debts whose first event names `owner`, found from the events (as `--all` lists aggregates).
async fn debts_owned_by(
    stores: &Stores,
    segments: u32,
    owner: &str,
) -> Result<Vec<AggregateRef>, StoreError> {
    let mut owned = Vec::new();
    for aggregate in list_aggregates(stores, segments).await? {
        if aggregate.aggregate_type != AggregateType::Debt {
            continue;
        }
        let Some(first) = stores.events.first_event(&aggregate).await? else {
            continue;
        };
        if let EventPayload::DebtCreated(created) = first.payload {
            if created.owner == owner {
                owned.push(aggregate);
            }
        }
    }
    Ok(owned)
}

/// Replays the scope, calling `progress` about once a second.
pub async fn replay(
    stores: &Stores,
    options: &ReplayOptions,
    mut progress: impl FnMut(Progress),
) -> Result<ReplayReport, StoreError> {
    let started = Instant::now();
    let Plan {
        aggregates,
        read_items,
    } = plan(stores, options).await?;
    let total = aggregates.len() as u64;
    let mut report = ReplayReport {
        dry_run: options.dry_run,
        ..ReplayReport::default()
    };
    let report_progress = |report: &ReplayReport| Progress {
        done: report.checked,
        total,
        events: report.events,
        elapsed: started.elapsed(),
    };
    let expected = rebuild_all(stores, options, aggregates, &mut report, |report| {
        progress(report_progress(report))
    })
    .await?;
    let orphans = read_items.iter().filter(|i| !expected.contains(&i.key));
    report.removed = remove_orphans(stores, orphans, options.dry_run).await?;
    report.elapsed_ms = started.elapsed().as_millis() as u64;
    progress(report_progress(&report));
    Ok(report)
}

/// Rebuilds the aggregates, `concurrency` at a time, counting into `report`; answers the keys of the read
/// items their histories make.
async fn rebuild_all(
    stores: &Stores,
    options: &ReplayOptions,
    aggregates: Vec<AggregateRef>,
    report: &mut ReplayReport,
    mut progress: impl FnMut(&ReplayReport),
) -> Result<HashSet<ItemKey>, StoreError> {
    let mut expected = HashSet::new();
    let mut last_progress = Instant::now();
    rebuild_concurrently(
        stores,
        aggregates,
        options.concurrency,
        options.dry_run,
        |outcome| {
            count_outcome(report, &outcome);
            expected.extend(outcome.items.into_iter().map(|(key, _)| key));
            if last_progress.elapsed() >= Duration::from_secs(1) {
                last_progress = Instant::now();
                progress(report);
            }
        },
    )
    .await?;
    Ok(expected)
}

/// Replays `aggregates`, `concurrency` at a time, handing each outcome to `each` as it ends.
pub(crate) async fn rebuild_concurrently(
    stores: &Stores,
    aggregates: Vec<AggregateRef>,
    concurrency: usize,
    dry_run: bool,
    mut each: impl FnMut(Outcome),
) -> Result<(), StoreError> {
    let mut pending = aggregates.into_iter();
    let mut tasks = JoinSet::new();
    loop {
        while tasks.len() < concurrency.max(1) {
            let Some(aggregate) = pending.next() else {
                break;
            };
            let stores = stores.clone();
            tasks.spawn(async move { replay_one(&stores, &aggregate, dry_run).await });
        }
        let Some(done) = tasks.join_next().await else {
            return Ok(());
        };
        each(done.map_err(StoreError::engine)??);
    }
}

/// Adds what replaying one aggregate did to `report`.
pub(crate) fn count_outcome(report: &mut ReplayReport, outcome: &Outcome) {
    report.checked += 1;
    report.events += outcome.events;
    report.ledger_entries_written += outcome.ledger_entries_written;
    for (_, action) in &outcome.items {
        match action {
            Action::Unchanged => {}
            Action::Rewritten => report.rewritten += 1,
            Action::SkippedNewer => report.skipped_newer += 1,
        }
    }
}

/// Removes the read items whose aggregate has no events, confirmed at the source (live traffic may have
/// created the aggregate since the listing); answers how many (in a dry run: would be) removed.
pub(crate) async fn remove_orphans<'a>(
    stores: &Stores,
    candidates: impl Iterator<Item = &'a ReadItem>,
    dry_run: bool,
) -> Result<u64, StoreError> {
    let mut removed = 0;
    for item in candidates {
        if let Some(aggregate) = projection::aggregate_of(&item.key) {
            if stores.events.first_event(&aggregate).await?.is_some() {
                continue;
            }
        }
        removed += 1;
        if !dry_run {
            stores.read_model.delete_read_item(&item.key).await?;
        }
        tracing::info!(pk = %item.key.pk, sk = %item.key.sk, dry_run, "orphan read item");
    }
    Ok(removed)
}

enum Action {
    Unchanged,
    Rewritten,
    SkippedNewer,
}

/// What replaying one aggregate did: each read item it made, with what became of it.
pub(crate) struct Outcome {
    items: Vec<(ItemKey, Action)>,
    events: u64,
    ledger_entries_written: u64,
}

/// Writes the ledger entries a debt's rebuilt read item implies (its creation, and its deletion if deleted)
/// that the table lacks; answers how many (in a dry run: would be) written.
async fn backfill_ledger(
    stores: &Stores,
    rebuilt: &ReadItem,
    dry_run: bool,
) -> Result<u64, StoreError> {
    let view = match read_model::debt_view(rebuilt) {
        Ok(view) => view,
        Err(_) => return Ok(0),
    };
    let mut entries = vec![(LedgerEntry::Created, view.created_at)];
    if view.deleted {
        // A deletion is a debt's last event: its time is the view's last change.
        entries.push((LedgerEntry::Deleted, view.updated_at));
    }
    let mut written = 0;
    for (entry, at) in entries {
        let item = ledger_item(&view.fields.owner, &view.debt_id, entry, at);
        if stores.records.get_item(&item.key).await?.is_none() {
            written += 1;
            if !dry_run {
                stores.records.put_item(&item).await?;
            }
        }
    }
    Ok(written)
}

async fn replay_one(
    stores: &Stores,
    aggregate: &AggregateRef,
    dry_run: bool,
) -> Result<Outcome, StoreError> {
    let mut outcome = Outcome {
        items: Vec::new(),
        events: 0,
        ledger_entries_written: 0,
    };
    for projection in following(aggregate.aggregate_type) {
        let Some(rebuilt) = rebuild(stores.events.as_ref(), projection, aggregate).await? else {
            continue;
        };
        let action = repair(stores, &rebuilt, dry_run).await?;
        if aggregate.aggregate_type == AggregateType::Debt {
            outcome.ledger_entries_written += backfill_ledger(stores, &rebuilt, dry_run).await?;
            if !dry_run {
                // The time index is derived too: a rebuilt debt gets its entry (an extra one is harmless).
                crate::notice_index::index_debt_item(stores, &rebuilt, chrono::Utc::now()).await?;
            }
        }
        outcome.events = outcome.events.max(rebuilt.version);
        outcome.items.push((rebuilt.key, action));
    }
    Ok(outcome)
}

/// Compares the rebuilt item with the stored one and repairs it where they differ.
async fn repair(stores: &Stores, rebuilt: &ReadItem, dry_run: bool) -> Result<Action, StoreError> {
    let stored = read_item(stores.read_model.as_ref(), &rebuilt.key).await?;
    let action = match &stored {
        Some(stored) if same(stored, rebuilt) => Action::Unchanged,
        Some(stored) if stored.version > rebuilt.version => Action::SkippedNewer,
        _ if dry_run => Action::Rewritten,
        _ => match stores.read_model.repair_read_item(rebuilt).await? {
            WriteOutcome::Written => Action::Rewritten,
            WriteOutcome::Stale => Action::SkippedNewer,
        },
    };
    if matches!(action, Action::Rewritten) {
        tracing::info!(pk = %rebuilt.key.pk, sk = %rebuilt.key.sk, dry_run, "read item differs from its history");
    }
    Ok(action)
}

/// Equal as stored data: attribute order and JSON number spelling aside.
fn same(a: &ReadItem, b: &ReadItem) -> bool {
    a.version == b.version && a.deleted == b.deleted && a.attributes == b.attributes
}
