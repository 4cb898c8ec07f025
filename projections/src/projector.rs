//! The DynamoDB Streams Lambda: each record of an event item names an aggregate to catch up; everything else
//! (read items, guards, credentials) is ignored. Each aggregate is caught up once per batch, whatever the
//! number of its records, concurrently with the batch's other aggregates; when it fails, all its records
//! are reported (`ReportBatchItemFailures`) and the other aggregates' progress stands. Each written read
//! item's lag (from its newest event to the write) is logged, and the batch's largest is a metric.

use std::sync::OnceLock;

use aws_lambda_events::dynamodb::{Event, EventRecord};
use aws_lambda_events::streams::{DynamoDbBatchItemFailure, DynamoDbEventResponse};
use chrono::{DateTime, Utc};
use futures_util::{stream, StreamExt};
use serde_dynamo::AttributeValue;
use serde_json::Value;
use store::{keys, AggregateRef, ItemKey, Stores};

use crate::catch_up::{catch_up, Projected};
use crate::notice_index;

/// The key of the event item a stream record is about, or `None` for any other item.
pub fn event_key_of(record: &EventRecord) -> Option<ItemKey> {
    let keys_json = serde_json::to_value(&record.change.keys).ok()?;
    let text = |name: &str| {
        keys_json
            .get(name)?
            .get("S")
            .and_then(Value::as_str)
            .map(str::to_owned)
    };
    let key = ItemKey::new(text("PK")?, text("SK")?);
    keys::parse_event_key(&key).map(|_| key)
}

/// The aggregate an event item's stream record names, or `None` for any other item.
pub fn aggregate_of(record: &EventRecord) -> Option<AggregateRef> {
    AggregateRef::of_event_key(&event_key_of(record)?)
}

/// Groups values by aggregate: aggregates in order of first appearance, each with its values in order.
pub fn group_by_aggregate<T>(
    values: impl IntoIterator<Item = (AggregateRef, T)>,
) -> Vec<(AggregateRef, Vec<T>)> {
    let mut groups: Vec<(AggregateRef, Vec<T>)> = Vec::new();
    for (aggregate, value) in values {
        match groups.iter_mut().find(|(a, _)| *a == aggregate) {
            Some((_, group)) => group.push(value),
            None => groups.push((aggregate, vec![value])),
        }
    }
    groups
}

/// How many aggregates of one batch are caught up at once. Each catch-up is three or four round trips to
/// the table; one after another, a shard projected about one aggregate per four round trips and fell
/// behind the writes (issue 18).
pub const CONCURRENT_CATCH_UPS: usize = 16;

/// How the projector measures and judges its lag: the clock it reads when a read item has been written, and
/// the lag past which it warns. Lambda's is [`LagWatch::from_env`]; a test brings its own clock.
#[derive(Clone)]
pub struct LagWatch {
    pub clock: fn() -> DateTime<Utc>,
    pub warn_after: chrono::Duration,
}

impl LagWatch {
    /// The system clock, and a warning past `PROJECTION_LAG_WARN_MS` (default one second), read once per
    /// process.
    pub fn from_env() -> &'static LagWatch {
        static WATCH: OnceLock<LagWatch> = OnceLock::new();
        WATCH.get_or_init(|| {
            let millis = std::env::var("PROJECTION_LAG_WARN_MS")
                .ok()
                .and_then(|raw| raw.parse().ok())
                .unwrap_or(1000);
            LagWatch {
                clock: Utc::now,
                warn_after: chrono::Duration::milliseconds(millis),
            }
        })
    }
}

/// A text attribute of the record's new image (`actor`, `event_type`), when the record carries an image.
fn image_text(record: &EventRecord, name: &str) -> Option<String> {
    match record.change.new_image.get(name)? {
        AttributeValue::S(text) => Some(text.clone()),
        _ => None,
    }
}

/// What the projector keeps of one stream record: its sequence number (to report it), who caused its event
/// and the event's type.
struct Seen {
    sequence: String,
    actor: Option<String>,
    event_type: Option<String>,
    /// For a `UserUpdated`: whether it changed what notices follow (the time zone or the notification
    /// settings), rather than only the calendar feed.
    settings_changed: bool,
}

/// Whether the record's image is a `UserUpdated` whose `data.changes` holds `time_zone` or
/// `notifications`.
fn changes_notice_settings(record: &EventRecord) -> bool {
    let Some(AttributeValue::M(data)) = record.change.new_image.get("data") else {
        return false;
    };
    match data.get("changes") {
        Some(AttributeValue::M(changes)) => {
            changes.contains_key("time_zone") || changes.contains_key("notifications")
        }
        _ => false,
    }
}

/// Whether the notice sweep's time index needs the aggregate's entries written again after these records:
/// a debt changed by anything but a notice (the sweep that appends a notice writes the next entry itself),
/// or a user whose time zone or notification settings changed (not a calendar feed alone). A record without
/// an image says nothing of its type: written again.
fn moves_notices(aggregate: &AggregateRef, records: &[Seen]) -> bool {
    let types = || records.iter().map(|seen| seen.event_type.as_deref());
    match aggregate.aggregate_type {
        events::AggregateType::Debt => types().any(|t| {
            !matches!(
                t,
                Some("PaymentDueSoon" | "PaymentMissed" | "PromoEndingSoon")
            )
        }),
        events::AggregateType::User => {
            records.iter().any(|seen| match seen.event_type.as_deref() {
                None => true,
                Some("UserUpdated") => seen.settings_changed,
                Some(_) => false,
            })
        }
    }
}

/// Writes the time-index entries the aggregate's new state calls for (see [`moves_notices`]).
async fn index_notices(
    stores: &Stores,
    aggregate: &AggregateRef,
    owner_hint: Option<&str>,
    written: Option<&store::ReadItem>,
    now: DateTime<Utc>,
) -> Result<(), store::StoreError> {
    match (aggregate.aggregate_type, written) {
        (events::AggregateType::Debt, Some(item)) => {
            notice_index::index_debt_item(stores, item, now).await
        }
        (events::AggregateType::Debt, None) => match owner_hint {
            Some(owner) => {
                let key = keys::debt_read_key(owner, &aggregate.aggregate_id);
                notice_index::index_debt_at(stores, &key, now).await
            }
            None => Ok(()),
        },
        (events::AggregateType::User, _) => {
            notice_index::index_owners_debts(stores, &aggregate.aggregate_id, now)
                .await
                .map(|_| ())
        }
    }
}

/// Catches the aggregate up, then writes the time-index entries its records call for.
async fn project_aggregate(
    stores: &Stores,
    aggregate: &AggregateRef,
    records: &[Seen],
    watch: &LagWatch,
) -> Result<Projected, store::StoreError> {
    let hint = records.iter().rev().find_map(|seen| seen.actor.clone());
    let projected = catch_up(stores, aggregate, hint.as_deref()).await?;
    if moves_notices(aggregate, records) {
        let written = match &projected {
            Projected::Written { item, .. } => Some(item),
            _ => None,
        };
        index_notices(stores, aggregate, hint.as_deref(), written, (watch.clock)()).await?;
    }
    Ok(projected)
}

/// Projects a batch of stream records; the response lists the records to retry. Distinct aggregates are
/// caught up concurrently, at most [`CONCURRENT_CATCH_UPS`] at a time; each aggregate once, whatever the
/// number of its records, so its events are applied in order from the store.
pub async fn project_batch(event: &Event, stores: &Stores) -> DynamoDbEventResponse {
    project_batch_watched(event, stores, LagWatch::from_env()).await
}

/// [`project_batch`], measuring lag with `watch`.
pub async fn project_batch_watched(
    event: &Event,
    stores: &Stores,
    watch: &LagWatch,
) -> DynamoDbEventResponse {
    let order = group_by_aggregate(event.records.iter().filter_map(|record| {
        let seen = Seen {
            sequence: record.change.sequence_number.clone().unwrap_or_default(),
            actor: image_text(record, "actor"),
            event_type: image_text(record, "event_type"),
            settings_changed: changes_notice_settings(record),
        };
        Some((aggregate_of(record)?, seen))
    }));
    let outcomes: Vec<_> = stream::iter(order)
        .map(|(aggregate, records)| async move {
            let outcome = project_aggregate(stores, &aggregate, &records, watch).await;
            (aggregate, records, outcome, (watch.clock)())
        })
        .buffer_unordered(CONCURRENT_CATCH_UPS)
        .collect()
        .await;
    let mut response = DynamoDbEventResponse::default();
    let mut worst_lag: Option<chrono::Duration> = None;
    for (aggregate, records, outcome, finished) in outcomes {
        match outcome {
            Ok(Projected::Written { newest, .. }) => {
                // From the newest event's commit (its `occurred_at`, taken just before) to its read item.
                let lag = (finished - newest).max(chrono::Duration::zero());
                let lag_ms = lag.num_milliseconds();
                if lag > watch.warn_after {
                    tracing::warn!(aggregate = %aggregate.aggregate_id, lag_ms, "projection lag past its threshold");
                } else {
                    tracing::info!(aggregate = %aggregate.aggregate_id, lag_ms, "projected");
                }
                worst_lag = worst_lag.max(Some(lag));
            }
            Ok(outcome) => {
                tracing::info!(aggregate = %aggregate.aggregate_id, ?outcome, "nothing to write");
            }
            Err(error) => {
                tracing::error!(aggregate = %aggregate.aggregate_id, %error, "projection failed; records reported for retry");
                for seen in records {
                    let mut failure = DynamoDbBatchItemFailure::default();
                    failure.item_identifier = Some(seen.sequence);
                    response.batch_item_failures.push(failure);
                }
            }
        }
    }
    if let Some(lag) = worst_lag {
        // The batch's largest lag: what the slowest read item of the batch waited.
        lambda_support::metrics::emit(
            &[("Function", "projector")],
            &[(
                "ProjectionLag",
                lag.num_milliseconds() as f64,
                lambda_support::metrics::Unit::Milliseconds,
            )],
        );
    }
    response
}
