//! Replay of the whole table as a resumable job: one Lambda invocation (15 minutes at most) cannot scan a
//! large table, so the work is cut into scan segments, each of which keeps a checkpoint in the table (its
//! phase and the cursor of the page it reached) and moves on page by page. An invocation works until its
//! deadline and stops between pages; the next one (a new invocation, or `make replay` run again) continues
//! from the checkpoints and never redoes a finished segment. A segment first rebuilds the aggregates whose
//! events its scan finds, then removes the read items it finds whose aggregate has no events.
//!
//! Redoing a page (a run killed after the page's writes, before its checkpoint) is harmless: a rebuild is
//! idempotent and a repair never replaces a newer version; only the counts then include the page twice.
//! Checkpoints are records of the table (`REPLAY#{job}`), readable while the job runs ([`status`]).

use std::sync::Arc;
use std::time::Instant;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use store::{Item, ItemKey, ReadItemKind, Scan, Segment, StoreError, Stores};
use tokio::task::JoinSet;
use uuid::Uuid;

use crate::projection;
use crate::replay::{count_outcome, rebuild_concurrently, remove_orphans, ReplayReport};

/// The partition of a job's records.
fn job_pk(job_id: &str) -> String {
    format!("{}{job_id}", store::keys::REPLAY_PK_PREFIX)
}

fn status_key(job_id: &str) -> ItemKey {
    ItemKey::new(job_pk(job_id), "STATUS")
}

fn segment_key(job_id: &str, index: u32) -> ItemKey {
    ItemKey::new(job_pk(job_id), format!("SEGMENT#{index:05}"))
}

/// How a job runs: chosen when it starts, kept in its status record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobSettings {
    /// Scan segments (1-1000), worked concurrently.
    pub segments: u32,
    /// Aggregates of one page rebuilt at the same time, per segment.
    pub concurrency: usize,
    pub dry_run: bool,
}

/// Where a segment is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// Rebuilding the aggregates the scan finds.
    Aggregates,
    /// Removing read items whose aggregate has no events.
    ReadItems,
    Done,
}

/// A segment's checkpoint: its phase, the cursor of the next page, and what it has done so far.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Checkpoint {
    pub index: u32,
    pub phase: Phase,
    pub cursor: Option<String>,
    /// Pages this segment has finished.
    pub pages: u64,
    pub report: ReplayReport,
}

/// A job as its records show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobStatus {
    pub job_id: String,
    pub settings: JobSettings,
    pub segments_done: u32,
    /// The sums of every segment's figures.
    pub totals: ReplayReport,
    pub finished: bool,
}

fn to_attributes<T: Serialize>(value: &T) -> store::Attributes {
    match serde_json::to_value(value).expect("a job record serialises") {
        Value::Object(map) => map,
        _ => unreachable!("job records are objects"),
    }
}

fn from_item<T: for<'de> Deserialize<'de>>(item: Item) -> Result<T, StoreError> {
    serde_json::from_value(Value::Object(item.attributes)).map_err(|e| StoreError::Corrupt {
        pk: item.key.pk,
        sk: item.key.sk,
        reason: e.to_string(),
    })
}

/// Starts a job over the whole table: its status and one checkpoint per segment, every segment at its
/// first page. Answers the job's id.
pub async fn start(stores: &Stores, settings: JobSettings) -> Result<String, StoreError> {
    if !(1..=1000).contains(&settings.segments) {
        return Err(StoreError::InvalidRequest(
            "a replay job has 1-1000 segments".into(),
        ));
    }
    let job_id = Uuid::new_v4().to_string();
    for index in 0..settings.segments {
        let checkpoint = Checkpoint {
            index,
            phase: Phase::Aggregates,
            cursor: None,
            pages: 0,
            report: ReplayReport {
                dry_run: settings.dry_run,
                ..ReplayReport::default()
            },
        };
        save(stores, &job_id, &checkpoint).await?;
    }
    // The status last: a job whose status exists has all its checkpoints.
    stores
        .records
        .put_item(&Item {
            key: status_key(&job_id),
            attributes: to_attributes(&settings),
        })
        .await?;
    Ok(job_id)
}

async fn save(stores: &Stores, job_id: &str, checkpoint: &Checkpoint) -> Result<(), StoreError> {
    stores
        .records
        .put_item(&Item {
            key: segment_key(job_id, checkpoint.index),
            attributes: to_attributes(checkpoint),
        })
        .await
}

async fn settings_of(stores: &Stores, job_id: &str) -> Result<Option<JobSettings>, StoreError> {
    match stores.records.get_item(&status_key(job_id)).await? {
        Some(item) => from_item(item).map(Some),
        None => Ok(None),
    }
}

/// Segment `index`'s checkpoint.
pub async fn checkpoint(
    stores: &Stores,
    job_id: &str,
    index: u32,
) -> Result<Checkpoint, StoreError> {
    let key = segment_key(job_id, index);
    match stores.records.get_item(&key).await? {
        Some(item) => from_item(item),
        None => Err(StoreError::Corrupt {
            pk: key.pk,
            sk: key.sk,
            reason: "a started job lacks this segment's checkpoint".into(),
        }),
    }
}

/// The job's status from its records; `None` when there is no such job.
pub async fn status(stores: &Stores, job_id: &str) -> Result<Option<JobStatus>, StoreError> {
    let Some(settings) = settings_of(stores, job_id).await? else {
        return Ok(None);
    };
    let mut totals = ReplayReport {
        dry_run: settings.dry_run,
        ..ReplayReport::default()
    };
    let mut segments_done = 0;
    for index in 0..settings.segments {
        let checkpoint = checkpoint(stores, job_id, index).await?;
        segments_done += u32::from(checkpoint.phase == Phase::Done);
        add(&mut totals, &checkpoint.report);
    }
    Ok(Some(JobStatus {
        job_id: job_id.to_owned(),
        settings,
        segments_done,
        totals,
        finished: segments_done == settings.segments,
    }))
}

fn add(totals: &mut ReplayReport, more: &ReplayReport) {
    totals.checked += more.checked;
    totals.events += more.events;
    totals.rewritten += more.rewritten;
    totals.removed += more.removed;
    totals.skipped_newer += more.skipped_newer;
    totals.ledger_entries_written += more.ledger_entries_written;
    totals.elapsed_ms = totals.elapsed_ms.max(more.elapsed_ms);
}

/// Whether a run may start another page (asked between pages, so a page under way always finishes): a
/// Lambda function's says no a minute before its deadline.
pub type KeepGoing = Arc<dyn Fn() -> bool + Send + Sync>;

/// Until `deadline`.
pub fn until(deadline: Instant) -> KeepGoing {
    Arc::new(move || Instant::now() < deadline)
}

/// Works on every unfinished segment of the job, concurrently, while `keep_going` says so and until each is
/// done. Answers the job's status after.
pub async fn run(
    stores: &Stores,
    job_id: &str,
    keep_going: KeepGoing,
) -> Result<JobStatus, StoreError> {
    let settings = settings_of(stores, job_id)
        .await?
        .ok_or_else(|| StoreError::InvalidRequest(format!("no replay job {job_id}")))?;
    let kinds = Arc::new(projection::kinds());
    let mut tasks = JoinSet::new();
    for index in 0..settings.segments {
        let (stores, job_id, kinds) = (stores.clone(), job_id.to_owned(), Arc::clone(&kinds));
        let keep_going = Arc::clone(&keep_going);
        tasks.spawn(async move {
            run_segment(&stores, &job_id, index, settings, &kinds, &*keep_going).await
        });
    }
    while let Some(done) = tasks.join_next().await {
        done.map_err(StoreError::engine)??;
    }
    status(stores, job_id)
        .await?
        .ok_or_else(|| StoreError::InvalidRequest(format!("no replay job {job_id}")))
}

async fn run_segment(
    stores: &Stores,
    job_id: &str,
    index: u32,
    settings: JobSettings,
    kinds: &[ReadItemKind],
    keep_going: &(dyn Fn() -> bool + Send + Sync),
) -> Result<(), StoreError> {
    let mut checkpoint = checkpoint(stores, job_id, index).await?;
    let segment = Segment {
        index,
        total: settings.segments,
    };
    while checkpoint.phase != Phase::Done && keep_going() {
        let started = Instant::now();
        let scan = Scan {
            segment,
            cursor: checkpoint.cursor.as_deref(),
        };
        let next_cursor = match checkpoint.phase {
            Phase::Aggregates => {
                let page = stores.events.list_aggregates(scan).await?;
                let report = &mut checkpoint.report;
                rebuild_concurrently(
                    stores,
                    page.items,
                    settings.concurrency,
                    settings.dry_run,
                    |done| count_outcome(report, &done),
                )
                .await?;
                page.next_cursor
            }
            Phase::ReadItems => {
                let page = stores.read_model.list_read_items(kinds, scan).await?;
                checkpoint.report.removed +=
                    remove_orphans(stores, page.items.iter(), settings.dry_run).await?;
                page.next_cursor
            }
            Phase::Done => unreachable!("the loop stops at Done"),
        };
        checkpoint.pages += 1;
        checkpoint.report.elapsed_ms += started.elapsed().as_millis() as u64;
        match next_cursor {
            Some(cursor) => checkpoint.cursor = Some(cursor),
            None => {
                checkpoint.cursor = None;
                checkpoint.phase = match checkpoint.phase {
                    Phase::Aggregates => Phase::ReadItems,
                    _ => Phase::Done,
                };
            }
        }
        save(stores, job_id, &checkpoint).await?;
    }
    Ok(())
}

/// The bus event that continues a job: its `source` and `detail-type` (a rule on the bus delivers it to the
/// `replay` function; `infrastructure/components/stack.py` names the same).
pub const CONTINUATION_SOURCE: &str = "debts.replay";
pub const CONTINUATION_DETAIL_TYPE: &str = "ReplayJobContinues";

/// Where an unfinished job goes on: a new invocation of the `replay` function (on AWS, an event on the bus
/// that a rule delivers to it, asynchronously), or nothing where one process runs the job to its end.
#[async_trait::async_trait]
pub trait Continuation: Send + Sync {
    async fn continue_job(&self, job_id: &str) -> Result<(), String>;
}

/// A job's id, as the continuation event's `detail` carries it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobRef {
    pub job_id: String,
}

/// What the `replay` function is asked (its JSON input).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(untagged)]
pub enum ReplayRequest {
    /// The continuation event from the bus: its `detail` names the job.
    Continue { detail: JobRef },
    /// `{"job_id": ...}`: resume a job by hand (after a failure that outlived Lambda's retries).
    Resume { job_id: String },
    /// `{"scope": ..., "dry_run": ..., "segments": ...}`: a new replay. The whole table becomes a job; one
    /// user or one debt is replayed at once.
    Start(crate::replay::ReplayOptions),
}

/// What the `replay` function answers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum ReplayAnswer {
    Replayed(ReplayReport),
    Job(JobStatus),
}

#[derive(Debug, thiserror::Error)]
pub enum ReplayJobError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("the job {job_id} could not be continued: {reason}")]
    Continuation { job_id: String, reason: String },
}

/// The `replay` function: starts or resumes, works while `keep_going` says so, and hands an unfinished job
/// to `continuation`.
pub async fn handle(
    stores: &Stores,
    request: ReplayRequest,
    keep_going: KeepGoing,
    continuation: &dyn Continuation,
) -> Result<ReplayAnswer, ReplayJobError> {
    let job_id = match request {
        ReplayRequest::Start(options) if options.scope != crate::replay::Scope::All => {
            let report = crate::replay::replay(stores, &options, |_| {}).await?;
            return Ok(ReplayAnswer::Replayed(report));
        }
        ReplayRequest::Start(options) => {
            let settings = JobSettings {
                segments: options.segments,
                concurrency: options.concurrency,
                dry_run: options.dry_run,
            };
            start(stores, settings).await?
        }
        ReplayRequest::Resume { job_id }
        | ReplayRequest::Continue {
            detail: JobRef { job_id },
        } => job_id,
    };
    let status = run(stores, &job_id, keep_going).await?;
    tracing::info!(
        job_id = %status.job_id,
        segments_done = status.segments_done,
        segments = status.settings.segments,
        checked = status.totals.checked,
        events = status.totals.events,
        "replay job"
    );
    if !status.finished {
        continuation.continue_job(&job_id).await.map_err(|reason| {
            ReplayJobError::Continuation {
                job_id: job_id.clone(),
                reason,
            }
        })?;
    }
    Ok(ReplayAnswer::Job(status))
}
