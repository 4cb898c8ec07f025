//! Plain records on SQLite: credentials, idempotency records, ledger entries and counters.

use async_trait::async_trait;
use rusqlite::params;
use store::{CountOnce, Item, ItemKey, Page, Query, Records, StoreError, StoreResult};

use crate::connection::Cached;
use crate::{
    add_to_counter, delete_row, is_unique_violation, query_items, stored_attributes, to_json,
    SqliteStore,
};

#[async_trait]
impl Records for SqliteStore {
    async fn get_item(&self, key: &ItemKey) -> StoreResult<Option<Item>> {
        let key = key.clone();
        self.read(move |connection| {
            let attributes = stored_attributes(connection, &key)?;
            Ok(attributes.map(|attributes| Item { key, attributes }))
        })
        .await
    }

    async fn put_item(&self, item: &Item) -> StoreResult<()> {
        store::ensure_not_event(&item.key)?;
        let item = item.clone();
        self.with_connection(move |connection| {
            connection
                .execute_cached(
                    "INSERT INTO items (pk, sk, attrs) VALUES (?1, ?2, ?3)
                     ON CONFLICT (pk, sk) DO UPDATE SET attrs = excluded.attrs",
                    params![item.key.pk, item.key.sk, to_json(&item.attributes)],
                )
                .map_err(StoreError::engine)?;
            Ok(())
        })
        .await
    }

    async fn replace_item_if(
        &self,
        item: &Item,
        field: &str,
        expected: &serde_json::Value,
    ) -> StoreResult<bool> {
        store::ensure_not_event(&item.key)?;
        let item = item.clone();
        let (path, expected) = (format!("$.\"{field}\""), expected.to_string());
        self.with_connection(move |connection| {
            let changed = connection
                .execute_cached(
                    "UPDATE items SET attrs = ?3 WHERE pk = ?1 AND sk = ?2
                     AND json_extract(attrs, ?4) IS json_extract(?5, '$')",
                    params![
                        item.key.pk,
                        item.key.sk,
                        to_json(&item.attributes),
                        path,
                        expected
                    ],
                )
                .map_err(StoreError::engine)?;
            Ok(changed == 1)
        })
        .await
    }

    async fn delete_item(&self, key: &ItemKey) -> StoreResult<()> {
        store::ensure_not_event(key)?;
        delete_row(self, key).await
    }

    async fn query(&self, query: &Query) -> StoreResult<Page<Item>> {
        query_items(self, query).await
    }

    async fn add_to_count(
        &self,
        key: &ItemKey,
        field: &str,
        delta: i64,
        expires_at: i64,
    ) -> StoreResult<i64> {
        store::ensure_not_event(key)?;
        let (key, field) = (key.clone(), field.to_owned());
        // The one writer connection runs the transaction alone: the read and the write are one step.
        self.with_connection(move |connection| {
            let tx = connection.transaction().map_err(StoreError::engine)?;
            let count = add_to_counter(&tx, &key, &field, delta)?;
            tx.execute_cached(
                "UPDATE items SET attrs = json_set(attrs, '$.' || ?3, ?4) WHERE pk = ?1 AND sk = ?2",
                params![key.pk, key.sk, store::keys::TTL_ATTRIBUTE, expires_at],
            )
            .map_err(StoreError::engine)?;
            tx.commit().map_err(StoreError::engine)?;
            Ok(count)
        })
        .await
    }

    async fn increment_once(&self, count: &CountOnce<'_>) -> StoreResult<bool> {
        store::ensure_countable(count)?;
        let (marker, counter) = (count.marker.clone(), count.counter.clone());
        let increments: Vec<(String, i64)> = count
            .increments
            .iter()
            .map(|(field, delta)| ((*field).to_owned(), *delta))
            .collect();
        self.with_connection(move |connection| {
            let tx = connection.transaction().map_err(StoreError::engine)?;
            let inserted = tx.execute_cached(
                "INSERT INTO items (pk, sk, attrs) VALUES (?1, ?2, '{}')",
                params![marker.pk, marker.sk],
            );
            match inserted {
                Ok(_) => {}
                Err(e) if is_unique_violation(&e) => return Ok(false),
                Err(e) => return Err(StoreError::engine(e)),
            }
            for (field, delta) in &increments {
                add_to_counter(&tx, &counter, field, *delta)?;
            }
            tx.commit().map_err(StoreError::engine)?;
            Ok(true)
        })
        .await
    }
}
