//! DynamoDB storage engine: the [`EventStore`] port on the one table of design.md section 3.
//!
//! Appends are conditional puts on the key of each next version (`attribute_not_exists(PK)`), which *is* the
//! optimistic concurrency check; with guards they become one `TransactWriteItems`. Aggregates load with a
//! consistent, fully paginated Query on the base table, never the eventually consistent index.

pub mod attributes;
mod event_log;
mod read_model;
mod records;
pub mod table;

use std::collections::HashMap;

use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::types::{AttributeValue, Put, TransactWriteItem};
use aws_sdk_dynamodb::Client;
use aws_smithy_runtime_api::client::result::CreateUnhandledError;
use store::{cursor, Item, ItemKey, Page, Query, QueryTarget, Scan, StoreError, StoreResult};

use attributes::{from_item, key_attributes, key_of, DynamoItem};

pub use table::create_table;

/// A DynamoDB-backed storage engine over one table (every role of the port). Cheap to clone: the SDK client
/// is shared.
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

    pub fn client(&self) -> &Client {
        &self.client
    }

    pub fn table_name(&self) -> &str {
        &self.table
    }

    /// A new item only: the put fails when an item with its key exists.
    fn put_new(&self, item: DynamoItem) -> StoreResult<TransactWriteItem> {
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
        page: Scan<'_>,
        scan: aws_sdk_dynamodb::operation::scan::builders::ScanFluentBuilder,
    ) -> StoreResult<Page<DynamoItem>> {
        let Scan { segment, cursor } = page;
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

    /// One `TransactWriteItems` of `writes`, all or nothing.
    async fn transact(
        &self,
        writes: Vec<TransactWriteItem>,
    ) -> Result<
        aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsOutput,
        SdkError<aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError>,
    > {
        self.client
            .transact_write_items()
            .set_transact_items(Some(writes))
            .send()
            .await
    }

    /// The item at `key`, read consistently.
    async fn get(&self, key: &ItemKey) -> StoreResult<Option<Item>> {
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

    /// Deletes the item at `key`, whether or not it exists.
    async fn delete(&self, key: &ItemKey) -> StoreResult<()> {
        self.client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(key_attributes(key)))
            .send()
            .await
            .map_err(service_error)?;
        Ok(())
    }

    /// One page of live items of a partition: what both a records query and a read-model query read.
    async fn query_items(&self, query: &Query) -> StoreResult<Page<Item>> {
        let mut start_key = query.start_after()?.map(|key| key_attributes(&key));
        let QueryTarget {
            pk: hash,
            sk_prefix: prefix,
        } = &query.target;
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
                .consistent_read(true)
                .key_condition_expression(&condition)
                .filter_expression("attribute_not_exists(#d) OR #d = :live")
                .expression_attribute_names("#h", "PK")
                .expression_attribute_names("#d", "deleted")
                .set_expression_attribute_values(Some(values.clone()))
                .scan_index_forward(query.ascending)
                .limit((limit - items.len()) as i32)
                .set_exclusive_start_key(start_key.take());
            if !prefix.is_empty() {
                request = request.expression_attribute_names("#r", "SK");
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
