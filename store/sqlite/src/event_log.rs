//! The event log on SQLite: each event a row keyed by its version, appended in one transaction with its
//! guards, tallies and removals; the change feed hears of each commit.

use async_trait::async_trait;
use events::{EventEnvelope, RedactedEvent};
use rusqlite::{params, OptionalExtension};
use store::keys::{self, EVENT_SK_PREFIX};
use store::{
    codec, cursor, AggregateRef, AppendRequest, EventLog, Item, ItemKey, Page, Scan, StoreError,
    StoreResult,
};

use crate::connection::Cached;
use crate::{
    add_to_counter, is_unique_violation, prefix_range, sql_version, stable_hash, stored_attributes,
    to_json, SqliteStore,
};

/// The requirements, guards, removals and tallies of an append, in its transaction.
fn write_beside_events(tx: &rusqlite::Transaction<'_>, request: &AppendRequest) -> StoreResult<()> {
    for requirement in &request.requirements {
        let key = &requirement.key;
        let found = tx
            .query_row_cached(
                "SELECT 1 FROM items WHERE pk = ?1 AND sk = ?2",
                params![key.pk, key.sk],
                |_| Ok(()),
            )
            .optional()
            .map_err(StoreError::engine)?;
        if found.is_none() {
            return Err(StoreError::RequirementMissing {
                name: requirement.name.clone(),
            });
        }
    }
    for guard in &request.guards {
        let key = &guard.item.key;
        let inserted = tx.execute_cached(
            "INSERT INTO items (pk, sk, attrs) VALUES (?1, ?2, ?3)",
            params![key.pk, key.sk, to_json(&guard.item.attributes)],
        );
        match inserted {
            Ok(_) => {}
            Err(e) if is_unique_violation(&e) => {
                return Err(StoreError::GuardTaken {
                    name: guard.name.clone(),
                })
            }
            Err(e) => return Err(StoreError::engine(e)),
        }
    }
    for key in &request.removals {
        tx.execute_cached(
            "DELETE FROM items WHERE pk = ?1 AND sk = ?2",
            params![key.pk, key.sk],
        )
        .map_err(StoreError::engine)?;
    }
    for tally in &request.tallies {
        let count = add_to_counter(tx, &tally.key, &tally.field, tally.delta)?;
        if tally.delta > 0 && count > tally.at_most {
            return Err(StoreError::LimitReached {
                name: tally.name.clone(),
            });
        }
    }
    Ok(())
}

#[async_trait]
impl EventLog for SqliteStore {
    async fn append(&self, request: AppendRequest) -> StoreResult<()> {
        let aggregate = request.aggregate()?;
        let items: Vec<(u64, Item)> = request
            .events
            .iter()
            .map(|event| (event.version, codec::encode_event(event)))
            .collect();
        let feed = self.feed.clone();
        self.with_connection(move |connection| {
            let tx = connection.transaction().map_err(StoreError::engine)?;
            for (version, Item { key, attributes }) in &items {
                let inserted = tx.execute_cached(
                    "INSERT INTO items (pk, sk, version, attrs) VALUES (?1, ?2, ?3, ?4)",
                    params![key.pk, key.sk, sql_version(*version)?, to_json(attributes)],
                );
                match inserted {
                    Ok(_) => {}
                    Err(e) if is_unique_violation(&e) => {
                        return Err(StoreError::VersionConflict {
                            aggregate_type: aggregate.aggregate_type,
                            aggregate_id: aggregate.aggregate_id.clone(),
                            expected_version: request.expected_version,
                        })
                    }
                    Err(e) => return Err(StoreError::engine(e)),
                }
            }
            write_beside_events(&tx, &request)?;
            // Dropping `tx` on any early return above rolls everything back.
            tx.commit().map_err(StoreError::engine)?;
            // Fed here, still holding the connection: in commit order, and even when the caller has stopped
            // waiting (a write runs to its end, on the caller's thread or in its blocking task).
            if let Some(feed) = &feed {
                for (_, item) in &items {
                    // A closed feed only means nobody is projecting (the server is stopping).
                    let _ = feed.send(item.key.clone());
                }
            }
            Ok(())
        })
        .await
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
        self.read(move |connection| {
            let mut statement = connection
                .prepare_cached(
                    "SELECT sk, attrs FROM items WHERE pk = ?1 AND sk BETWEEN ?2 AND ?3 ORDER BY sk",
                )
                .map_err(StoreError::engine)?;
            let rows = statement
                .query_map(params![pk, from, to], |row| {
                    Ok((row.get::<_, String>(0)?, row.get::<_, String>(1)?))
                })
                .map_err(StoreError::engine)?;
            let mut events = Vec::new();
            for row in rows {
                let (sk, text) = row.map_err(StoreError::engine)?;
                let key = ItemKey::new(pk.clone(), sk);
                let attributes = store::attributes_from_json(&key, &text)?;
                events.push(codec::decode_event(Item { key, attributes })?);
            }
            Ok(events)
        })
        .await
    }

    async fn first_event(&self, of: &AggregateRef) -> StoreResult<Option<EventEnvelope>> {
        let key = keys::event_key(of.aggregate_type, &of.aggregate_id, 1);
        self.read(move |connection| {
            let attributes = stored_attributes(connection, &key)?;
            attributes
                .map(|attributes| codec::decode_event(Item { key, attributes }))
                .transpose()
        })
        .await
    }

    async fn list_aggregates(&self, scan: Scan<'_>) -> StoreResult<Page<AggregateRef>> {
        let Scan { segment, cursor } = scan;
        const PAGE: i64 = 500;
        segment.validate()?;
        let start_after = cursor.map(cursor::decode_any).transpose()?;
        let (lo, hi) = prefix_range(EVENT_SK_PREFIX);
        self.read(move |connection| {
            // Every aggregate has exactly one version-1 event: listing those lists each aggregate once.
            let mut statement = connection
                .prepare_cached(
                    "SELECT pk, sk FROM items
                     WHERE version = 1 AND sk >= ?1 AND sk < ?2 AND (pk, sk) > (?3, ?4)
                     ORDER BY pk, sk LIMIT ?5",
                )
                .map_err(StoreError::engine)?;
            let (after_pk, after_sk) = start_after.map(|k| (k.pk, k.sk)).unwrap_or_default();
            let keys: Vec<ItemKey> = statement
                .query_map(params![lo, hi, after_pk, after_sk, PAGE], |row| {
                    Ok(ItemKey::new(
                        row.get::<_, String>(0)?,
                        row.get::<_, String>(1)?,
                    ))
                })
                .map_err(StoreError::engine)?
                .collect::<Result<_, _>>()
                .map_err(StoreError::engine)?;
            let next_cursor = (keys.len() as i64 == PAGE)
                .then(|| keys.last().map(cursor::encode))
                .flatten();
            let items = keys
                .iter()
                .filter(|key| stable_hash(&key.pk) % segment.total == segment.index)
                .filter_map(AggregateRef::of_event_key)
                .collect();
            Ok(Page { items, next_cursor })
        })
        .await
    }

    async fn redact_legacy_event(&self, redaction: &RedactedEvent) -> StoreResult<()> {
        let key = keys::event_key(
            redaction.aggregate_type,
            &redaction.aggregate_id,
            redaction.version,
        );
        let redaction = redaction.clone();
        self.with_connection(move |connection| {
            let tx = connection.transaction().map_err(StoreError::engine)?;
            let Some(attributes) = stored_attributes(&tx, &key)? else {
                return Err(StoreError::InvalidRequest(format!(
                    "no event {}/{}",
                    key.pk, key.sk
                )));
            };
            let stored = Item {
                key: key.clone(),
                attributes,
            };
            let redacted = codec::redact_legacy_event(stored, &redaction)?;
            tx.execute(
                "UPDATE items SET attrs = ?3 WHERE pk = ?1 AND sk = ?2",
                params![key.pk, key.sk, to_json(&redacted.attributes)],
            )
            .map_err(StoreError::engine)?;
            tx.commit().map_err(StoreError::engine)
        })
        .await
    }

    async fn purge_residue(&self) -> StoreResult<()> {
        // Only the writer writes, so only it needs `secure_delete`; the checkpoint copies every frame into
        // the database and empties the log, whose old frames would otherwise keep overwritten pages.
        let (busy, _, _): (i64, i64, i64) = self
            .with_connection(|connection| {
                connection
                    .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |row| {
                        Ok((row.get(0)?, row.get(1)?, row.get(2)?))
                    })
                    .map_err(StoreError::engine)
            })
            .await?;
        if busy != 0 {
            return Err(StoreError::Busy);
        }
        Ok(())
    }
}
