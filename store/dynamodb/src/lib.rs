//! DynamoDB storage engine: the [`EventStore`] port on the one table of design.md section 3.
//!
//! Appends are conditional puts on the key of each next version (`attribute_not_exists(PK)`), which *is* the
//! optimistic concurrency check; with guards they become one `TransactWriteItems`. Aggregates load with a
//! consistent, fully paginated Query on the base table, never the eventually consistent index.

pub mod attributes;
pub mod table;

use std::collections::HashMap;

use async_trait::async_trait;
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{AttributeValue, Delete, Put, TransactWriteItem, Update};
use aws_sdk_dynamodb::Client;
use aws_smithy_runtime_api::client::result::CreateUnhandledError;
use events::{EventEnvelope, RedactedEvent};
use store::keys::{self, EVENT_SK_PREFIX, SK_PK_INDEX};
use store::{
    codec, cursor, AggregateRef, AppendRequest, EventStore, Item, ItemKey, Page, Query,
    QueryTarget, ReadItem, Segment, StoreError, WriteOutcome,
};

use attributes::{from_item, key_attributes, key_of, to_item, DynamoItem};

pub use table::create_table;

/// A DynamoDB-backed [`EventStore`] over one table. Cheap to clone: the SDK client is shared.
#[derive(Clone)]
pub struct DynamoStore {
    client: Client,
    table: String,
}

impl DynamoStore {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        DynamoStore {
            client,
            table: table.into(),
        }
    }

    /// The store on the table named by `TABLE_NAME`, with a client from the shared SDK configuration.
    pub fn from_env(config: &lambda_support::SdkConfig) -> Result<Self, StoreError> {
        let table = std::env::var("TABLE_NAME")
            .map_err(|_| StoreError::InvalidRequest("TABLE_NAME is not set".into()))?;
        Ok(Self::new(Client::new(config), table))
    }

    /// What a Lambda function's `main` builds once: the store on `TABLE_NAME`, over the shared SDK
    /// configuration.
    pub async fn shared_from_env() -> Result<std::sync::Arc<dyn EventStore>, StoreError> {
        let config = lambda_support::sdk_config().await;
        Ok(std::sync::Arc::new(Self::from_env(&config)?))
    }

    pub fn client(&self) -> &Client {
        &self.client
    }

    pub fn table_name(&self) -> &str {
        &self.table
    }

    fn conflict(aggregate: &AggregateRef, expected_version: u64) -> StoreError {
        StoreError::VersionConflict {
            aggregate_type: aggregate.aggregate_type,
            aggregate_id: aggregate.aggregate_id.clone(),
            expected_version,
        }
    }

    fn event_item(event: &EventEnvelope) -> DynamoItem {
        let item = codec::encode_event(event);
        to_item(&item.key, &item.attributes)
    }

    /// A new item only: the put fails when an item with its key exists.
    /// A tally's move as a transaction item: the counter starts at 0, and an increase is conditional on the
    /// result staying within the limit.
    fn tally_update(&self, tally: &store::Tally) -> Result<TransactWriteItem, StoreError> {
        let mut update = Update::builder()
            .table_name(&self.table)
            .set_key(Some(key_attributes(&tally.key)))
            .update_expression("SET #field = if_not_exists(#field, :zero) + :delta")
            .expression_attribute_names("#field", &tally.field)
            .expression_attribute_values(":zero", AttributeValue::N("0".into()))
            .expression_attribute_values(":delta", AttributeValue::N(tally.delta.to_string()));
        if tally.delta > 0 {
            update = update
                .condition_expression("attribute_not_exists(#field) OR #field <= :ceiling")
                .expression_attribute_values(
                    ":ceiling",
                    AttributeValue::N((tally.at_most - tally.delta).to_string()),
                );
        }
        let update = update.build().map_err(StoreError::engine)?;
        Ok(TransactWriteItem::builder().update(update).build())
    }

    fn put_new(&self, item: DynamoItem) -> Result<TransactWriteItem, StoreError> {
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(PK)")
            .build()
            .map_err(StoreError::engine)?;
        Ok(TransactWriteItem::builder().put(put).build())
    }
}

impl DynamoStore {
    /// One page of a filtered parallel scan: `scan` carries the filter; this adds table, segment and cursor.
    async fn scan_page(
        &self,
        segment: Segment,
        cursor: Option<&str>,
        scan: aws_sdk_dynamodb::operation::scan::builders::ScanFluentBuilder,
    ) -> Result<Page<DynamoItem>, StoreError> {
        segment.validate()?;
        let start_key = cursor
            .map(cursor::decode_any)
            .transpose()?
            .map(|key| key_attributes(&key));
        let page = scan
            .table_name(&self.table)
            .segment(segment.index as i32)
            .total_segments(segment.total as i32)
            .set_exclusive_start_key(start_key)
            .send()
            .await
            .map_err(service_error)?;
        let next_cursor = match page.last_evaluated_key() {
            Some(key) if !key.is_empty() => Some(cursor::encode(&key_of(key)?)),
            _ => None,
        };
        Ok(Page {
            items: page.items.unwrap_or_default(),
            next_cursor,
        })
    }

    /// A put of a read item under `condition` (over `#v` version, `#d` deleted, `:v`, `:false`); a failed
    /// condition means the stored item wins.
    async fn guarded_write(
        &self,
        item: &ReadItem,
        condition: &str,
    ) -> Result<WriteOutcome, StoreError> {
        let stored = item.to_item();
        let mut request = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(to_item(&stored.key, &stored.attributes)))
            .condition_expression(condition)
            .expression_attribute_names("#v", "version")
            .expression_attribute_values(":v", AttributeValue::N(item.version.to_string()));
        // DynamoDB refuses placeholders the expression does not use.
        if condition.contains("#d") {
            request = request
                .expression_attribute_names("#d", "deleted")
                .expression_attribute_values(":false", AttributeValue::Bool(false));
        }
        let result = request.send().await;
        match result {
            Ok(_) => Ok(WriteOutcome::Written),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|e| e.is_conditional_check_failed_exception()) =>
            {
                Ok(WriteOutcome::Stale)
            }
            Err(e) => Err(service_error(e)),
        }
    }
}

/// A failed request as the port reports it: `Busy` when DynamoDB throttled it (after the SDK's retries),
/// otherwise an engine error.
fn service_error<E, R>(error: SdkError<E, R>) -> StoreError
where
    E: ProvideErrorMetadata + CreateUnhandledError + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    classified(error.into_service_error())
}

fn classified<E>(error: E) -> StoreError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    if error.code().is_some_and(is_throttling) {
        StoreError::Busy
    } else {
        StoreError::engine(error)
    }
}

/// Throttling, as an exception's code or a cancellation reason's (`ThrottlingError`,
/// `ProvisionedThroughputExceeded`).
fn is_throttling(code: &str) -> bool {
    store::THROTTLING_CODES.contains(&code)
        || matches!(code, "ThrottlingError" | "ProvisionedThroughputExceeded")
}

/// The item of a cancelled transaction that another writer took, from the cancellation reasons (one per
/// item, in the order of `names`): a failed condition, or a conflict with another transaction on that item.
/// `None` when no item says so (throttling, validation).
fn lost_item<'n>(reasons: &[Option<&str>], names: &'n [Written<'n>]) -> Option<&'n Written<'n>> {
    let lost = |code: &Option<&str>| {
        matches!(code, Some("ConditionalCheckFailed" | "TransactionConflict"))
    };
    names.get(reasons.iter().position(lost)?)
}

/// What a cancelled append means for the item that lost it. A tally's failed condition is its limit; a tally
/// in a transaction conflict only met a concurrent append to the same counter, which a retry gets past.
fn cancelled_by(lost: &Written<'_>, conflict: bool) -> Option<StoreError> {
    match lost {
        Written::Tally(_) if conflict => Some(StoreError::Busy),
        Written::Tally(name) => Some(StoreError::LimitReached {
            name: (*name).to_owned(),
        }),
        Written::Guard(name) => Some(StoreError::GuardTaken {
            name: (*name).to_owned(),
        }),
        Written::Event | Written::Removal => None,
    }
}

impl DynamoStore {
    /// Events and guards in one `TransactWriteItems`; a cancellation says which item lost.
    async fn append_transaction(
        &self,
        request: &AppendRequest,
        aggregate: &AggregateRef,
    ) -> Result<(), StoreError> {
        let mut writes = Vec::new();
        let mut names = Vec::new();
        for event in &request.events {
            writes.push(self.put_new(Self::event_item(event))?);
            names.push(Written::Event);
        }
        for guard in &request.guards {
            writes.push(self.put_new(to_item(&guard.item.key, &guard.item.attributes))?);
            names.push(Written::Guard(&guard.name));
        }
        for tally in &request.tallies {
            writes.push(self.tally_update(tally)?);
            names.push(Written::Tally(&tally.name));
        }
        for key in &request.removals {
            let delete = Delete::builder()
                .table_name(&self.table)
                .set_key(Some(key_attributes(key)))
                .build()
                .map_err(StoreError::engine)?;
            writes.push(TransactWriteItem::builder().delete(delete).build());
            names.push(Written::Removal);
        }
        let result = self
            .client
            .transact_write_items()
            .set_transact_items(Some(writes))
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(SdkError::ServiceError(service)) => match service.into_err() {
                TransactWriteItemsError::TransactionCanceledException(cancelled) => {
                    let codes: Vec<Option<String>> = cancelled
                        .cancellation_reasons()
                        .iter()
                        .map(|r| r.code().map(str::to_owned))
                        .collect();
                    let reasons: Vec<Option<&str>> = codes.iter().map(Option::as_deref).collect();
                    let conflict = reasons.contains(&Some("TransactionConflict"));
                    Err(match lost_item(&reasons, &names) {
                        Some(lost) => cancelled_by(lost, conflict)
                            .unwrap_or_else(|| Self::conflict(aggregate, request.expected_version)),
                        None if reasons.iter().flatten().any(|code| is_throttling(code)) => {
                            StoreError::Busy
                        }
                        None => StoreError::engine(cancelled),
                    })
                }
                other => Err(classified(other)),
            },
            Err(e) => Err(service_error(e)),
        }
    }
}

/// Names of the items of a transaction, in order, so a cancellation reason can say which one failed.
enum Written<'a> {
    Event,
    Guard(&'a str),
    Tally(&'a str),
    /// An unconditional delete: it never loses.
    Removal,
}

#[async_trait]
impl EventStore for DynamoStore {
    async fn append(&self, request: AppendRequest) -> Result<(), StoreError> {
        let aggregate = request.aggregate()?;
        // The common case (one event, no guard) is a plain conditional put: half the cost of a transaction.
        if let ([event], [], [], []) = (
            request.events.as_slice(),
            request.guards.as_slice(),
            request.tallies.as_slice(),
            request.removals.as_slice(),
        ) {
            let result = self
                .client
                .put_item()
                .table_name(&self.table)
                .set_item(Some(Self::event_item(event)))
                .condition_expression("attribute_not_exists(PK)")
                .send()
                .await;
            return match result {
                Ok(_) => Ok(()),
                // A transaction writing the same key at the same moment also means another writer won.
                Err(e)
                    if e.as_service_error().is_some_and(|e| {
                        e.is_conditional_check_failed_exception()
                            || e.is_transaction_conflict_exception()
                    }) =>
                {
                    Err(Self::conflict(&aggregate, request.expected_version))
                }
                Err(e) => Err(service_error(e)),
            };
        }

        self.append_transaction(&request, &aggregate).await
    }

    async fn load_events(
        &self,
        aggregate: &AggregateRef,
        after_version: u64,
    ) -> Result<Vec<EventEnvelope>, StoreError> {
        let (pk, from, to) = keys::events_after(
            aggregate.aggregate_type,
            &aggregate.aggregate_id,
            after_version,
        );
        let mut events = Vec::new();
        let mut start_key: Option<DynamoItem> = None;
        // Query pages stop at 1 MB: follow LastEvaluatedKey until the history is complete.
        loop {
            let page = self
                .client
                .query()
                .table_name(&self.table)
                .consistent_read(true)
                .key_condition_expression("PK = :pk AND SK BETWEEN :from AND :to")
                .expression_attribute_values(":pk", AttributeValue::S(pk.clone()))
                .expression_attribute_values(":from", AttributeValue::S(from.clone()))
                .expression_attribute_values(":to", AttributeValue::S(to.clone()))
                .set_exclusive_start_key(start_key.take())
                .send()
                .await
                .map_err(service_error)?;
            for item in page.items.unwrap_or_default() {
                events.push(codec::decode_event(from_item(item)?)?);
            }
            match page.last_evaluated_key {
                Some(key) if !key.is_empty() => start_key = Some(key),
                _ => return Ok(events),
            }
        }
    }

    async fn list_aggregates(
        &self,
        segment: Segment,
        cursor: Option<&str>,
    ) -> Result<Page<AggregateRef>, StoreError> {
        // Every aggregate has exactly one version-1 event: scanning for those lists each aggregate once.
        let page = self
            .scan_page(
                segment,
                cursor,
                self.client
                    .scan()
                    .filter_expression("#v = :one AND begins_with(SK, :events)")
                    .projection_expression("PK, SK")
                    .expression_attribute_names("#v", "version")
                    .expression_attribute_values(":one", AttributeValue::N("1".into()))
                    .expression_attribute_values(
                        ":events",
                        AttributeValue::S(EVENT_SK_PREFIX.into()),
                    ),
            )
            .await?;
        let mut items = Vec::new();
        for item in &page.items {
            items.extend(AggregateRef::of_event_key(&key_of(item)?));
        }
        Ok(Page {
            items,
            next_cursor: page.next_cursor,
        })
    }

    async fn get_item(&self, key: &ItemKey) -> Result<Option<Item>, StoreError> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .consistent_read(true)
            .set_key(Some(key_attributes(key)))
            .send()
            .await
            .map_err(service_error)?;
        output.item.map(from_item).transpose()
    }

    async fn redact_legacy_event(&self, redaction: &RedactedEvent) -> Result<(), StoreError> {
        let key = keys::event_key(
            redaction.aggregate_type,
            &redaction.aggregate_id,
            redaction.version,
        );
        let stored = self
            .get_item(&key)
            .await?
            .ok_or_else(|| StoreError::InvalidRequest(format!("no event {}/{}", key.pk, key.sk)))?;
        let redacted = store::codec::redact_legacy_event(stored, redaction)?;
        // Only over the same event: a key reused by anything else is left alone.
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(to_item(&redacted.key, &redacted.attributes)))
            .condition_expression("event_id = :id")
            .expression_attribute_values(":id", AttributeValue::S(redaction.event_id.to_string()))
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|e| e.is_conditional_check_failed_exception()) =>
            {
                Err(StoreError::InvalidRequest(format!(
                    "{}/{} is not event {}",
                    key.pk, key.sk, redaction.event_id
                )))
            }
            Err(e) => Err(service_error(e)),
        }
    }

    async fn put_read_item(&self, item: &ReadItem) -> Result<WriteOutcome, StoreError> {
        self.guarded_write(
            item,
            "attribute_not_exists(PK) OR (#v < :v AND (attribute_not_exists(#d) OR #d = :false))",
        )
        .await
    }

    async fn repair_read_item(&self, item: &ReadItem) -> Result<WriteOutcome, StoreError> {
        // A tombstone may only be repaired by a tombstone.
        let rule = if item.deleted {
            "attribute_not_exists(PK) OR #v <= :v"
        } else {
            "attribute_not_exists(PK) OR (#v <= :v AND (attribute_not_exists(#d) OR #d = :false))"
        };
        self.guarded_write(item, rule).await
    }

    async fn list_read_items(
        &self,
        segment: Segment,
        cursor: Option<&str>,
    ) -> Result<Page<ReadItem>, StoreError> {
        let page = self
            .scan_page(
                segment,
                cursor,
                self.client
                    .scan()
                    .filter_expression(
                        "begins_with(PK, :user) AND (SK = :info OR begins_with(SK, :debt))",
                    )
                    .expression_attribute_values(
                        ":user",
                        AttributeValue::S(keys::USER_PK_PREFIX.into()),
                    )
                    .expression_attribute_values(
                        ":info",
                        AttributeValue::S(keys::USER_INFO_SK.into()),
                    )
                    .expression_attribute_values(
                        ":debt",
                        AttributeValue::S(keys::DEBT_SK_PREFIX.into()),
                    ),
            )
            .await?;
        let mut items = Vec::new();
        for item in page.items {
            items.push(ReadItem::decode(from_item(item)?)?);
        }
        Ok(Page {
            items,
            next_cursor: page.next_cursor,
        })
    }

    async fn put_item(&self, item: &Item) -> Result<(), StoreError> {
        store::ensure_not_event(&item.key)?;
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(to_item(&item.key, &item.attributes)))
            .send()
            .await
            .map_err(service_error)?;
        Ok(())
    }

    async fn delete_read_item(&self, key: &ItemKey) -> Result<(), StoreError> {
        self.client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(key_attributes(key)))
            .send()
            .await
            .map_err(service_error)?;
        Ok(())
    }

    async fn increment_once(
        &self,
        marker: &ItemKey,
        counter: &ItemKey,
        increments: &[(&str, i64)],
    ) -> Result<bool, StoreError> {
        store::ensure_countable(marker, counter, increments)?;
        let mut add = Update::builder()
            .table_name(&self.table)
            .set_key(Some(key_attributes(counter)));
        let mut clauses = Vec::with_capacity(increments.len());
        for (index, (field, delta)) in increments.iter().enumerate() {
            clauses.push(format!("#f{index} :v{index}"));
            add = add
                .expression_attribute_names(format!("#f{index}"), *field)
                .expression_attribute_values(
                    format!(":v{index}"),
                    AttributeValue::N(delta.to_string()),
                );
        }
        let add = add
            .update_expression(format!("ADD {}", clauses.join(", ")))
            .build()
            .map_err(StoreError::engine)?;
        let writes = vec![
            self.put_new(key_attributes(marker))?,
            TransactWriteItem::builder().update(add).build(),
        ];
        let result = self
            .client
            .transact_write_items()
            .set_transact_items(Some(writes))
            .send()
            .await;
        match result {
            Ok(_) => Ok(true),
            Err(SdkError::ServiceError(service)) => match service.into_err() {
                TransactWriteItemsError::TransactionCanceledException(cancelled)
                    if cancelled
                        .cancellation_reasons()
                        .first()
                        .and_then(|r| r.code())
                        == Some("ConditionalCheckFailed") =>
                {
                    Ok(false)
                }
                other => Err(classified(other)),
            },
            Err(e) => Err(service_error(e)),
        }
    }

    async fn query(&self, query: &Query) -> Result<Page<Item>, StoreError> {
        let mut start_key = query.start_after()?.map(|key| key_attributes(&key));
        let (index, hash_attr, range_attr, hash, prefix, consistent) = match &query.target {
            QueryTarget::Partition { pk, sk_prefix } => (None, "PK", "SK", pk, sk_prefix, true),
            QueryTarget::SkPkIndex { sk, pk_prefix } => {
                (Some(SK_PK_INDEX), "SK", "PK", sk, pk_prefix, false)
            }
        };
        let mut condition = "#h = :h".to_owned();
        let mut values = HashMap::from([(":h".to_owned(), AttributeValue::S(hash.clone()))]);
        if !prefix.is_empty() {
            condition.push_str(" AND begins_with(#r, :prefix)");
            values.insert(":prefix".into(), AttributeValue::S(prefix.clone()));
        }
        values.insert(":live".into(), AttributeValue::Bool(false));
        let limit = query.limit as usize;
        let mut items: Vec<Item> = Vec::new();
        // Tombstones are filtered after DynamoDB's Limit, so keep reading until the page is full or the
        // range is exhausted.
        loop {
            let mut request = self
                .client
                .query()
                .table_name(&self.table)
                .set_index_name(index.map(str::to_owned))
                .consistent_read(consistent)
                .key_condition_expression(&condition)
                .filter_expression("attribute_not_exists(#d) OR #d = :live")
                .expression_attribute_names("#h", hash_attr)
                .expression_attribute_names("#d", "deleted")
                .set_expression_attribute_values(Some(values.clone()))
                .scan_index_forward(query.ascending)
                .limit((limit - items.len()) as i32)
                .set_exclusive_start_key(start_key.take());
            if !prefix.is_empty() {
                request = request.expression_attribute_names("#r", range_attr);
            }
            let page = request.send().await.map_err(service_error)?;
            for item in page.items.unwrap_or_default() {
                items.push(from_item(item)?);
            }
            let more = page.last_evaluated_key.filter(|k| !k.is_empty());
            match more {
                None => {
                    return Ok(Page {
                        items,
                        next_cursor: None,
                    })
                }
                Some(_) if items.len() >= limit => {
                    let next_cursor = items.last().map(|item| cursor::encode(&item.key));
                    return Ok(Page { items, next_cursor });
                }
                Some(key) => start_key = Some(key),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cancelled_append_says_who_won() {
        let names = [
            Written::Event,
            Written::Guard("credentials"),
            Written::Guard("email"),
        ];
        let of = |reasons: &[Option<&str>]| lost_item(reasons, &names);
        assert!(matches!(
            of(&[Some("ConditionalCheckFailed"), Some("None"), Some("None")]),
            Some(Written::Event)
        ));
        // Two registrations racing: DynamoDB cancels one with TransactionConflict, not a failed condition.
        assert!(matches!(
            of(&[Some("TransactionConflict"), Some("None"), Some("None")]),
            Some(Written::Event)
        ));
        assert!(matches!(
            of(&[Some("None"), Some("None"), Some("TransactionConflict")]),
            Some(Written::Guard("email"))
        ));
        assert!(of(&[Some("ThrottlingError"), Some("None"), Some("None")]).is_none());
        assert!(
            is_throttling("ThrottlingError")
                && is_throttling("ProvisionedThroughputExceededException")
        );
        assert!(!is_throttling("ValidationException"));
    }
}
