//! The read model on DynamoDB: read items put under condition expressions on their `version` and
//! `deleted` attributes, so stale and repeated writes lose.

use async_trait::async_trait;
use aws_sdk_dynamodb::types::AttributeValue;
use serde_json::Value;
use store::{
    ItemKey, Overwrite, Page, Query, ReadItem, ReadItemKind, ReadModel, Scan, SortKeyMatch,
    StoreResult, WriteOutcome,
};

use crate::attributes::{from_item, to_item};
use crate::{service_error, DynamoStore};

impl DynamoStore {
    /// A put of a read item under `condition` (over `#v` version, `#d` deleted, `:v`, `:false`); a failed
    /// condition means the stored item wins.
    async fn guarded_write(&self, item: &ReadItem, condition: &str) -> StoreResult<WriteOutcome> {
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

/// When a put may replace the stored read item, as a condition expression (see `guarded_write`).
fn condition_to_write(overwrite: Overwrite, tombstone: bool) -> &'static str {
    const OLDER_LIVE: &str =
        "attribute_not_exists(PK) OR (#v < :v AND (attribute_not_exists(#d) OR #d = :false))";
    const NOT_NEWER_LIVE: &str =
        "attribute_not_exists(PK) OR (#v <= :v AND (attribute_not_exists(#d) OR #d = :false))";
    match (overwrite, tombstone) {
        (Overwrite::Older, _) => OLDER_LIVE,
        // A tombstone may only be repaired by a tombstone.
        (Overwrite::NotNewer, true) => "attribute_not_exists(PK) OR #v <= :v",
        (Overwrite::NotNewer, false) => NOT_NEWER_LIVE,
    }
}

#[async_trait]
impl ReadModel for DynamoStore {
    async fn read_item_json(&self, key: &ItemKey) -> StoreResult<Option<String>> {
        Ok(self
            .get(key)
            .await?
            .map(|item| Value::Object(item.attributes).to_string()))
    }

    async fn write_read_item(&self, item: &ReadItem, rule: Overwrite) -> StoreResult<WriteOutcome> {
        let condition = condition_to_write(rule, item.deleted);
        self.guarded_write(item, condition).await
    }

    async fn delete_read_item(&self, key: &ItemKey) -> StoreResult<()> {
        self.delete(key).await
    }

    async fn list_read_items(
        &self,
        kinds: &[ReadItemKind],
        page: Scan<'_>,
    ) -> StoreResult<Page<ReadItem>> {
        if kinds.is_empty() {
            return Ok(Page {
                items: Vec::new(),
                next_cursor: None,
            });
        }
        // One clause per kind: `(begins_with(PK, :p0) AND SK = :s0) OR (... AND begins_with(SK, :s1))`.
        let mut scan = self.client.scan();
        let mut clauses = Vec::with_capacity(kinds.len());
        for (n, kind) in kinds.iter().enumerate() {
            let (condition, sk) = match kind.sk {
                SortKeyMatch::Exactly(sk) => (format!("SK = :s{n}"), sk),
                SortKeyMatch::Prefix(prefix) => (format!("begins_with(SK, :s{n})"), prefix),
            };
            clauses.push(format!("(begins_with(PK, :p{n}) AND {condition})"));
            scan = scan
                .expression_attribute_values(
                    format!(":p{n}"),
                    AttributeValue::S(kind.pk_prefix.into()),
                )
                .expression_attribute_values(format!(":s{n}"), AttributeValue::S(sk.into()));
        }
        let scan = scan.filter_expression(clauses.join(" OR "));
        let page = self.scan_page(page, scan).await?;
        let mut items = Vec::new();
        for item in page.items {
            items.push(ReadItem::decode(from_item(item)?)?);
        }
        Ok(Page {
            items,
            next_cursor: page.next_cursor,
        })
    }

    async fn query_read_items(&self, query: &Query) -> StoreResult<Page<ReadItem>> {
        self.query_items(query).await?.into_read_items()
    }
}
