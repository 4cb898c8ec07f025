//! The event log on DynamoDB: appends are conditional puts on the key of each next version
//! (`attribute_not_exists(PK)`), which *is* the optimistic concurrency check; with guards, tallies or
//! removals they become one `TransactWriteItems`. Aggregates load with a consistent, fully paginated Query on
//! the base table, never the eventually consistent index.

use async_trait::async_trait;
use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{AttributeValue, ConditionCheck, Delete, TransactWriteItem, Update};
use events::{EventEnvelope, RedactedEvent};
use store::keys::{self, EVENT_SK_PREFIX};
use store::{codec, AggregateRef, AppendRequest, EventLog, Page, Scan, StoreError, StoreResult};

use crate::attributes::{from_item, key_attributes, key_of, to_item, DynamoItem};
use crate::{classified, is_throttling, service_error, DynamoStore};

impl DynamoStore {
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

    /// A tally's move as a transaction item: the counter starts at 0, and an increase is conditional on the
    /// result staying within the limit.
    fn tally_update(&self, tally: &store::Tally) -> StoreResult<TransactWriteItem> {
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

    async fn append_transaction(
        &self,
        request: &AppendRequest,
        aggregate: &AggregateRef,
    ) -> StoreResult<()> {
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
        for requirement in &request.requirements {
            let check = ConditionCheck::builder()
                .table_name(&self.table)
                .set_key(Some(key_attributes(&requirement.key)))
                .condition_expression("attribute_exists(PK)")
                .build()
                .map_err(StoreError::engine)?;
            writes.push(TransactWriteItem::builder().condition_check(check).build());
            names.push(Written::Requirement(&requirement.name));
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
        match self.transact(writes).await {
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
        // A concurrent write of the required item (a login's hash upgrade): it still exists; retry.
        Written::Requirement(_) if conflict => Some(StoreError::Busy),
        Written::Requirement(name) => Some(StoreError::RequirementMissing {
            name: (*name).to_owned(),
        }),
        Written::Event | Written::Removal => None,
    }
}

/// Names of the items of a transaction, in order, so a cancellation reason can say which one failed.
enum Written<'a> {
    Event,
    Guard(&'a str),
    Tally(&'a str),
    /// A condition that the item exists.
    Requirement(&'a str),
    /// An unconditional delete: it never loses.
    Removal,
}

#[async_trait]
impl EventLog for DynamoStore {
    async fn append(&self, request: AppendRequest) -> StoreResult<()> {
        let aggregate = request.aggregate()?;
        // The common case (one event, no guard) is a plain conditional put: half the cost of a transaction.
        if let ([event], [], [], [], []) = (
            request.events.as_slice(),
            request.guards.as_slice(),
            request.tallies.as_slice(),
            request.removals.as_slice(),
            request.requirements.as_slice(),
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

    async fn load_events_through(
        &self,
        of: &AggregateRef,
        after: u64,
        through: u64,
    ) -> StoreResult<Vec<EventEnvelope>> {
        if through <= after {
            return Ok(Vec::new());
        }
        let (pk, from, to) = keys::events_between(of, after, through);
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

    async fn first_event(&self, of: &AggregateRef) -> StoreResult<Option<EventEnvelope>> {
        let key = keys::event_key(of.aggregate_type, &of.aggregate_id, 1);
        self.get(&key).await?.map(codec::decode_event).transpose()
    }

    async fn list_aggregates(&self, scan: Scan<'_>) -> StoreResult<Page<AggregateRef>> {
        // Every aggregate has exactly one version-1 event: scanning for those lists each aggregate once.
        let page = self
            .scan_page(
                scan,
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

    async fn redact_legacy_event(&self, redaction: &RedactedEvent) -> StoreResult<()> {
        let key = keys::event_key(
            redaction.aggregate_type,
            &redaction.aggregate_id,
            redaction.version,
        );
        let stored = self
            .get(&key)
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
