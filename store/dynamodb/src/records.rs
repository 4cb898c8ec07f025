//! Plain records on DynamoDB: credentials, idempotency records, ledger entries and counters.

use async_trait::async_trait;
use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue, TransactWriteItem, Update};
use store::{CountOnce, Item, ItemKey, Page, Query, Records, StoreError, StoreResult};

use crate::attributes::{key_attributes, to_attribute, to_item};
use crate::{classified, service_error, DynamoStore};

#[async_trait]
impl Records for DynamoStore {
    async fn get_item(&self, key: &ItemKey) -> StoreResult<Option<Item>> {
        self.get(key).await
    }

    async fn put_item(&self, item: &Item) -> StoreResult<()> {
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

    async fn replace_item_if(
        &self,
        item: &Item,
        field: &str,
        expected: &serde_json::Value,
    ) -> StoreResult<bool> {
        store::ensure_not_event(&item.key)?;
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(to_item(&item.key, &item.attributes)))
            .condition_expression("#field = :expected")
            .expression_attribute_names("#field", field)
            .expression_attribute_values(":expected", to_attribute(expected))
            .send()
            .await;
        match result {
            Ok(_) => Ok(true),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|e| e.is_conditional_check_failed_exception()) =>
            {
                Ok(false)
            }
            Err(e) => Err(service_error(e)),
        }
    }

    async fn delete_item(&self, key: &ItemKey) -> StoreResult<()> {
        store::ensure_not_event(key)?;
        self.delete(key).await
    }

    async fn query(&self, query: &Query) -> StoreResult<Page<Item>> {
        self.query_items(query).await
    }

    async fn add_to_count(
        &self,
        key: &ItemKey,
        field: &str,
        delta: i64,
        expires_at: i64,
    ) -> StoreResult<i64> {
        store::ensure_not_event(key)?;
        let updated = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key_attributes(key)))
            .update_expression("ADD #f :d SET #t = :t")
            .expression_attribute_names("#f", field)
            .expression_attribute_names("#t", store::keys::TTL_ATTRIBUTE)
            .expression_attribute_values(":d", AttributeValue::N(delta.to_string()))
            .expression_attribute_values(":t", AttributeValue::N(expires_at.to_string()))
            .return_values(ReturnValue::UpdatedNew)
            .send()
            .await
            .map_err(service_error)?;
        updated
            .attributes()
            .and_then(|a| a.get(field))
            .and_then(|v| v.as_n().ok())
            .and_then(|n| n.parse().ok())
            .ok_or_else(|| StoreError::Corrupt {
                pk: key.pk.clone(),
                sk: key.sk.clone(),
                reason: format!("{field} is not an integer after an add"),
            })
    }

    async fn increment_once(&self, count: &CountOnce<'_>) -> StoreResult<bool> {
        store::ensure_countable(count)?;
        let mut add = Update::builder()
            .table_name(&self.table)
            .set_key(Some(key_attributes(count.counter)));
        let mut clauses = Vec::with_capacity(count.increments.len());
        for (index, (field, delta)) in count.increments.iter().enumerate() {
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
            self.put_new(key_attributes(count.marker))?,
            TransactWriteItem::builder().update(add).build(),
        ];
        match self.transact(writes).await {
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
}
