//! The read model on SQLite: read items as rows whose `version` and `deleted` columns the guarded upserts
//! test, with the same rules as the DynamoDB engine's condition expressions.

use async_trait::async_trait;
use rusqlite::{params, params_from_iter};
use store::{
    cursor, ItemKey, Overwrite, Page, Query, ReadItem, ReadItemKind, ReadModel, Scan, SortKeyMatch,
    StoreError, StoreResult, WriteOutcome,
};

use crate::{
    delete_row, prefix_range, query_items, sql_version, stable_hash, stored_text, to_json,
    SqliteStore,
};

/// When an upsert may replace the stored read item, in SQL over the stored row (`items`) and the new one
/// (`excluded`): the same rules as the DynamoDB engine's condition expressions.
fn upsert_rule(overwrite: Overwrite) -> &'static str {
    match overwrite {
        Overwrite::Older => "items.deleted = 0 AND items.version < excluded.version",
        // A tombstone may only be repaired by a tombstone.
        Overwrite::NotNewer => {
            "(items.deleted = 0 OR excluded.deleted = 1) AND items.version <= excluded.version"
        }
    }
}

#[async_trait]
impl ReadModel for SqliteStore {
    async fn read_item_json(&self, key: &ItemKey) -> StoreResult<Option<String>> {
        let key = key.clone();
        self.read(move |connection| stored_text(connection, &key))
            .await
    }

    /// An upsert whose update only fires where the overwrite's rule holds for the stored item: the same
    /// rules as the DynamoDB engine's condition expressions.
    async fn write_read_item(&self, item: &ReadItem, rule: Overwrite) -> StoreResult<WriteOutcome> {
        let rule = upsert_rule(rule);
        let stored = item.to_item();
        let version = sql_version(item.version)?;
        let deleted = item.deleted;
        self.with_connection(move |connection| {
            let sql = format!(
                "INSERT INTO items (pk, sk, version, deleted, attrs) VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT (pk, sk) DO UPDATE SET
                     version = excluded.version, deleted = excluded.deleted, attrs = excluded.attrs
                 WHERE {rule}"
            );
            let changed = connection
                .prepare_cached(&sql)
                .and_then(|mut statement| {
                    statement.execute(params![
                        stored.key.pk,
                        stored.key.sk,
                        version,
                        deleted,
                        to_json(&stored.attributes)
                    ])
                })
                .map_err(StoreError::engine)?;
            Ok(if changed == 1 {
                WriteOutcome::Written
            } else {
                WriteOutcome::Stale
            })
        })
        .await
    }

    async fn delete_read_item(&self, key: &ItemKey) -> StoreResult<()> {
        delete_row(self, key).await
    }

    async fn list_read_items(
        &self,
        kinds: &[ReadItemKind],
        scan: Scan<'_>,
    ) -> StoreResult<Page<ReadItem>> {
        let Scan { segment, cursor } = scan;
        const PAGE: i64 = 500;
        segment.validate()?;
        if kinds.is_empty() {
            return Ok(Page {
                items: Vec::new(),
                next_cursor: None,
            });
        }
        let start_after = cursor.map(cursor::decode_any).transpose()?;
        let (after_pk, after_sk) = start_after.map(|k| (k.pk, k.sk)).unwrap_or_default();
        let (filter, mut values) = kinds_filter(kinds);
        let n = values.len();
        let sql = format!(
            "SELECT pk, sk, attrs FROM items WHERE ({filter}) AND (pk, sk) > (?{}, ?{}) ORDER BY pk, sk LIMIT {PAGE}",
            n + 1,
            n + 2
        );
        values.extend([after_pk, after_sk]);
        self.read(move |connection| {
            let mut statement = connection
                .prepare_cached(&sql)
                .map_err(StoreError::engine)?;
            let rows: Vec<(ItemKey, String)> = statement
                .query_map(params_from_iter(values.iter()), |row| {
                    Ok((
                        ItemKey::new(row.get::<_, String>(0)?, row.get::<_, String>(1)?),
                        row.get::<_, String>(2)?,
                    ))
                })
                .map_err(StoreError::engine)?
                .collect::<Result<_, _>>()
                .map_err(StoreError::engine)?;
            let next_cursor = (rows.len() as i64 == PAGE)
                .then(|| rows.last().map(|(key, _)| cursor::encode(key)))
                .flatten();
            let mut items = Vec::new();
            for (key, text) in rows {
                if stable_hash(&key.pk) % segment.total != segment.index {
                    continue;
                }
                let item = store::Item {
                    attributes: store::attributes_from_json(&key, &text)?,
                    key,
                };
                items.push(ReadItem::decode(item)?);
            }
            Ok(Page { items, next_cursor })
        })
        .await
    }

    async fn query_read_items(&self, query: &Query) -> StoreResult<Page<ReadItem>> {
        query_items(self, query).await?.into_read_items()
    }
}

/// The SQL condition that selects the read items of `kinds`, with its parameters (`?1`, `?2`, ...): one range
/// test per kind, `pk` within its prefix's range and `sk` equal to its key or within its prefix's range.
fn kinds_filter(kinds: &[ReadItemKind]) -> (String, Vec<String>) {
    let mut clauses = Vec::with_capacity(kinds.len());
    let mut values: Vec<String> = Vec::new();
    for kind in kinds {
        let (pk_lo, pk_hi) = prefix_range(kind.pk_prefix);
        let n = values.len();
        values.extend([pk_lo, pk_hi]);
        match kind.sk {
            SortKeyMatch::Exactly(sk) => {
                clauses.push(format!(
                    "(pk >= ?{} AND pk < ?{} AND sk = ?{})",
                    n + 1,
                    n + 2,
                    n + 3
                ));
                values.push(sk.to_owned());
            }
            SortKeyMatch::Prefix(prefix) => {
                let (sk_lo, sk_hi) = prefix_range(prefix);
                let range = format!("sk >= ?{} AND sk < ?{}", n + 3, n + 4);
                clauses.push(format!(
                    "(pk >= ?{} AND pk < ?{} AND {range})",
                    n + 1,
                    n + 2
                ));
                values.extend([sk_lo, sk_hi]);
            }
        }
    }
    (clauses.join(" OR "), values)
}
