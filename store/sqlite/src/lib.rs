//! Embedded storage engine: the one table of the design in a single SQLite file (WAL mode), item for item,
//! so local runs and tests hold exactly what DynamoDB would.
//!
//! Every item is a row `(pk, sk, version, deleted, attrs)`; `attrs` is the item's attributes as a JSON object
//! (the same map the DynamoDB engine writes as attributes), `version` and `deleted` are copied into columns so
//! the guarded writes can test them. An index on `(sk, pk)` plays the `SK-PK-index`.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, TryLockError};

use async_trait::async_trait;
use events::{EventEnvelope, RedactedEvent};
use rusqlite::{params, Connection, ErrorCode, OpenFlags, OptionalExtension, Params, Row};
use serde_json::Value;
use store::keys::{self, EVENT_SK_PREFIX};
use store::{
    codec, cursor, AggregateRef, AppendRequest, Attributes, EventStore, Item, ItemKey, Page, Query,
    QueryTarget, ReadItem, Segment, StoreError, WriteOutcome,
};

/// Every statement is prepared once per connection and reused: parsing the SQL again was a tenth of a
/// read's time under load (issue 16's profile of the local gateway).
trait Cached {
    fn query_row_cached<T, P: Params>(
        &self,
        sql: &str,
        params: P,
        row: impl FnOnce(&Row<'_>) -> rusqlite::Result<T>,
    ) -> rusqlite::Result<T>;

    fn execute_cached<P: Params>(&self, sql: &str, params: P) -> rusqlite::Result<usize>;
}

impl Cached for Connection {
    fn query_row_cached<T, P: Params>(
        &self,
        sql: &str,
        params: P,
        row: impl FnOnce(&Row<'_>) -> rusqlite::Result<T>,
    ) -> rusqlite::Result<T> {
        self.prepare_cached(sql)?.query_row(params, row)
    }

    fn execute_cached<P: Params>(&self, sql: &str, params: P) -> rusqlite::Result<usize> {
        self.prepare_cached(sql)?.execute(params)
    }
}

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS items (
    pk      TEXT    NOT NULL,
    sk      TEXT    NOT NULL,
    version INTEGER,
    deleted INTEGER NOT NULL DEFAULT 0,
    attrs   TEXT    NOT NULL,
    PRIMARY KEY (pk, sk)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS sk_pk_index ON items (sk, pk);
";

/// How the writer waits for a write lock another process holds: not at all on a task's thread (the write
/// moves to the blocking pool), and there as `busy_timeout = 5000` would.
mod busy {
    use std::cell::Cell;
    use std::time::Duration;

    thread_local! {
        static REFUSING: Cell<bool> = const { Cell::new(false) };
        static REFUSED: Cell<bool> = const { Cell::new(false) };
    }

    /// The work met a lock held elsewhere and gave up; it changed nothing.
    pub(crate) struct Refused;

    /// Runs `work` with every wait for a lock refused.
    pub(crate) fn refusing<T>(work: impl FnOnce() -> T) -> Result<T, Refused> {
        struct Reset;
        impl Drop for Reset {
            fn drop(&mut self) {
                REFUSING.set(false);
            }
        }
        REFUSED.set(false);
        REFUSING.set(true);
        let reset = Reset;
        let result = work();
        drop(reset);
        if REFUSED.replace(false) {
            Err(Refused)
        } else {
            Ok(result)
        }
    }

    /// The writer's busy handler: `true` retries, `false` gives up (the statement fails with `SQLITE_BUSY`).
    pub(crate) fn handler(attempts: i32) -> bool {
        if REFUSING.get() {
            REFUSED.set(true);
            return false;
        }
        std::thread::sleep(Duration::from_millis(5));
        attempts < 1000
    }
}

/// SQLite's default threshold for its automatic checkpoint, which this store runs itself.
const CHECKPOINT_PAGES: i32 = 1000;

/// A reader waits for a checkpoint as the writer does. (Memory-mapped reads, `mmap_size`, were tried for
/// replay and measured slower: 34,000-38,000 against 46,000-56,000 events/s at 100,000 events.)
const READER_PRAGMAS: &str = "PRAGMA busy_timeout = 5000;";

/// A SQLite-backed [`EventStore`]. Cloning shares the connections.
#[derive(Clone)]
pub struct SqliteStore {
    /// One connection serialises writers, which is what SQLite does anyway. A write runs on the calling
    /// thread when the connection is free: with `synchronous = NORMAL` a commit only appends to the WAL
    /// (the syncs happen at checkpoints, see `checkpoint_due`), so it takes tens of microseconds, less
    /// than the hop to the blocking pool and back (a third of create-debt's time on its own thread in issue
    /// 16's profile). A write that would wait for the lock waits in the blocking pool instead.
    writer: Arc<Mutex<Connection>>,
    /// Read-only connections to the same file (WAL lets readers run beside the writer), used on the calling
    /// thread: a point read takes microseconds, less than the hop to the blocking pool and back, which was a
    /// quarter of the local gateway's time (issue 16's profile). `None` for an in-memory store, whose data
    /// only its one connection can see.
    readers: Option<Arc<Readers>>,
    /// Set by the writer's WAL hook when a commit leaves the WAL at [`CHECKPOINT_PAGES`] pages or more;
    /// the write that sees it starts a checkpoint in the blocking pool, on the writer connection (the
    /// writes that come meanwhile wait there, never on a task's thread). That is SQLite's automatic
    /// checkpoint (same threshold, same passive mode) moved off the writing thread: it syncs the files, which
    /// can take milliseconds. Holding the writer lets the checkpoint copy every frame, so that the next
    /// write starts the WAL over. `None` in memory, where there is no WAL.
    checkpoint_due: Option<Arc<AtomicBool>>,
    /// The change feed: the key of every committed event, in commit order (the local stand-in for
    /// DynamoDB Streams).
    feed: Option<tokio::sync::mpsc::UnboundedSender<ItemKey>>,
}

/// Idle read-only connections, opened on demand: as many as reads ever ran at once, which is at most the
/// number of threads that call the store (each read finishes before its thread does anything else).
struct Readers {
    path: PathBuf,
    idle: Mutex<Vec<Connection>>,
}

impl Readers {
    /// Idle connections kept beyond this are closed: more threads than this never read at once here.
    const MAX_IDLE: usize = 16;

    fn open(&self) -> Result<Connection, StoreError> {
        let connection = Connection::open_with_flags(
            &self.path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(StoreError::engine)?;
        connection
            .execute_batch(READER_PRAGMAS)
            .map_err(StoreError::engine)?;
        connection.set_prepared_statement_cache_capacity(64);
        Ok(connection)
    }

    fn with<T>(
        &self,
        work: impl FnOnce(&Connection) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let idle = self.lock().pop();
        let connection = match idle {
            Some(connection) => connection,
            None => self.open()?,
        };
        let result = work(&connection);
        let mut idle = self.lock();
        if idle.len() < Self::MAX_IDLE {
            idle.push(connection);
        }
        result
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Connection>> {
        self.idle
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl SqliteStore {
    /// Opens (creating if needed) the store in the file at `path`.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, StoreError> {
        let path = path.as_ref();
        let mut store = Self::setup(Connection::open(path).map_err(StoreError::engine)?)?;
        store.readers = Some(Arc::new(Readers {
            path: path.to_owned(),
            idle: Mutex::new(Vec::new()),
        }));
        let due = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&due);
        // Replaces the automatic checkpoint (SQLite's is a WAL hook too).
        store
            .writer()
            .wal_hook(Some(move |_: &mut rusqlite::hooks::Wal, pages: i32| {
                if pages >= CHECKPOINT_PAGES {
                    flag.store(true, Ordering::Release);
                }
                Ok(())
            }))
            .map_err(StoreError::engine)?;
        store.checkpoint_due = Some(due);
        Ok(store)
    }

    /// Opens the store with a change feed: the receiver gets the key of every event after its commit.
    pub fn open_with_feed(
        path: impl AsRef<Path>,
    ) -> Result<(Self, tokio::sync::mpsc::UnboundedReceiver<ItemKey>), StoreError> {
        let (sender, receiver) = tokio::sync::mpsc::unbounded_channel();
        let mut store = Self::open(path)?;
        store.feed = Some(sender);
        Ok((store, receiver))
    }

    /// A store that lives in memory only, for tests.
    pub fn in_memory() -> Result<Self, StoreError> {
        Self::setup(Connection::open_in_memory().map_err(StoreError::engine)?)
    }

    fn setup(mut connection: Connection) -> Result<Self, StoreError> {
        connection
            .busy_handler(Some(busy::handler))
            .map_err(StoreError::engine)?;
        connection
            .execute_batch(
                "PRAGMA journal_mode = WAL;
                 PRAGMA synchronous = NORMAL;
                 PRAGMA secure_delete = ON;",
            )
            .map_err(StoreError::engine)?;
        connection
            .execute_batch(SCHEMA)
            .map_err(StoreError::engine)?;
        // Room for every statement the engine writes (about 20, queries by target and order included).
        connection.set_prepared_statement_cache_capacity(64);
        Ok(SqliteStore {
            writer: Arc::new(Mutex::new(connection)),
            readers: None,
            checkpoint_due: None,
            feed: None,
        })
    }

    fn writer(&self) -> std::sync::MutexGuard<'_, Connection> {
        self.writer
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Runs `work` on the writer connection: here when the connection is free and no other process holds
    /// the database's write lock, else in the blocking pool, where waiting holds up no task. `work` may run
    /// twice: a first try here that found the lock taken failed before it changed anything.
    async fn with_connection<T, F>(&self, mut work: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnMut(&mut Connection) -> Result<T, StoreError> + Send + 'static,
    {
        let tried = match self.writer.try_lock() {
            Ok(mut connection) => Some(busy::refusing(|| work(&mut connection))),
            Err(TryLockError::Poisoned(poisoned)) => {
                Some(busy::refusing(|| work(&mut poisoned.into_inner())))
            }
            Err(TryLockError::WouldBlock) => None,
        };
        let result = match tried {
            Some(Ok(result)) => result,
            Some(Err(busy::Refused)) | None => {
                let connection = Arc::clone(&self.writer);
                tokio::task::spawn_blocking(move || {
                    let mut connection = connection
                        .lock()
                        .unwrap_or_else(|poisoned| poisoned.into_inner());
                    work(&mut connection)
                })
                .await
                .map_err(StoreError::engine)?
            }
        };
        self.checkpoint_if_due();
        result
    }

    fn checkpoint_if_due(&self) {
        let Some(due) = &self.checkpoint_due else {
            return;
        };
        if due.swap(false, Ordering::AcqRel) {
            let writer = Arc::clone(&self.writer);
            tokio::task::spawn_blocking(move || {
                let connection = writer
                    .lock()
                    .unwrap_or_else(|poisoned| poisoned.into_inner());
                if let Err(error) =
                    connection.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()))
                {
                    tracing::warn!(%error, "WAL checkpoint failed; the next commit asks again");
                }
            });
        }
    }

    /// Runs the read `work` on a read-only connection on this thread, or, in memory, on the writer.
    async fn read<T, F>(&self, work: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
    {
        match &self.readers {
            Some(readers) => readers.with(work),
            // In memory, the writer is the only connection: no other process can hold a lock on it.
            None => work(&self.writer()),
        }
    }
}

impl SqliteStore {
    /// An upsert whose update only fires where `rule` holds for the stored item: the same rules as the
    /// DynamoDB engine's condition expressions.
    async fn guarded_write(
        &self,
        item: &ReadItem,
        rule: &'static str,
    ) -> Result<WriteOutcome, StoreError> {
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
}

fn to_json(attributes: &Attributes) -> String {
    Value::Object(attributes.clone()).to_string()
}

fn from_json(key: &ItemKey, text: &str) -> Result<Attributes, StoreError> {
    let mut reader = serde_json::Deserializer::from_str(text);
    serde::Deserializer::deserialize_map(&mut reader, SizedMap)
        .and_then(|map| reader.end().map(|()| map))
        .map_err(|_| StoreError::Corrupt {
            pk: key.pk.clone(),
            sk: key.sk.clone(),
            reason: "attributes are not a JSON object".into(),
        })
}

/// Reads a JSON object into a map sized for a read item up front: grown from empty, its index was
/// rehashed four times per item (issue 16's instruction count).
struct SizedMap;

impl<'de> serde::de::Visitor<'de> for SizedMap {
    type Value = Attributes;

    fn expecting(&self, formatter: &mut std::fmt::Formatter) -> std::fmt::Result {
        formatter.write_str("a JSON object")
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(
        self,
        mut entries: A,
    ) -> Result<Attributes, A::Error> {
        let mut map = Attributes::with_capacity(entries.size_hint().unwrap_or(32));
        while let Some((name, value)) = entries.next_entry::<String, Value>()? {
            map.insert(name, value);
        }
        Ok(map)
    }
}

/// SQLite integers are signed; versions are bounded by the key format far below `i64::MAX`.
fn sql_version(version: u64) -> Result<i64, StoreError> {
    i64::try_from(version).map_err(|_| StoreError::InvalidRequest("version out of range".into()))
}

fn is_unique_violation(error: &rusqlite::Error) -> bool {
    matches!(error, rusqlite::Error::SqliteFailure(e, _) if e.code == ErrorCode::ConstraintViolation)
}

/// A key just below everything that starts with `prefix`, and one just above it, for range scans.
fn prefix_range(prefix: &str) -> (String, String) {
    (prefix.to_owned(), format!("{prefix}\u{10FFFF}"))
}

/// FNV-1a: a hash that is the same in every process, to split aggregates into scan segments.
fn stable_hash(text: &str) -> u32 {
    text.bytes().fold(0x811c_9dc5_u32, |hash, byte| {
        (hash ^ u32::from(byte)).wrapping_mul(0x0100_0193)
    })
}

/// The stored attributes of the item `key`, if there is one.
fn stored_attributes(
    connection: &Connection,
    key: &ItemKey,
) -> Result<Option<Attributes>, StoreError> {
    stored_text(connection, key)?
        .map(|text| from_json(key, &text))
        .transpose()
}

/// The item's attributes as stored: the text of one JSON object.
fn stored_text(connection: &Connection, key: &ItemKey) -> Result<Option<String>, StoreError> {
    connection
        .query_row_cached(
            "SELECT attrs FROM items WHERE pk = ?1 AND sk = ?2",
            params![key.pk, key.sk],
            |row| row.get(0),
        )
        .optional()
        .map_err(StoreError::engine)
}

/// Adds `delta` to the integer `field` of the item `key` (created at 0 when missing) inside `tx`, and answers
/// the new count. The write lock SQLite holds until commit makes the read-add-write atomic against every
/// other writer; a caller that refuses the count returns an error and the dropped `tx` rolls it back.
fn add_to_counter(
    tx: &rusqlite::Transaction<'_>,
    key: &ItemKey,
    field: &str,
    delta: i64,
) -> Result<i64, StoreError> {
    let mut attributes = stored_attributes(tx, key)?.unwrap_or_default();
    let count = attributes.get(field).and_then(Value::as_i64).unwrap_or(0) + delta;
    attributes.insert(field.to_owned(), Value::from(count));
    tx.execute_cached(
        "INSERT INTO items (pk, sk, attrs) VALUES (?1, ?2, ?3)
         ON CONFLICT (pk, sk) DO UPDATE SET attrs = excluded.attrs",
        params![key.pk, key.sk, to_json(&attributes)],
    )
    .map_err(StoreError::engine)?;
    Ok(count)
}

/// The guards, removals and tallies of an append, in its transaction.
fn write_beside_events(
    tx: &rusqlite::Transaction<'_>,
    request: &AppendRequest,
) -> Result<(), StoreError> {
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
impl EventStore for SqliteStore {
    async fn append(&self, request: AppendRequest) -> Result<(), StoreError> {
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

    async fn redact_legacy_event(&self, redaction: &RedactedEvent) -> Result<(), StoreError> {
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

    async fn purge_residue(&self) -> Result<(), StoreError> {
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
                let attributes = from_json(&key, &text)?;
                events.push(codec::decode_event(Item { key, attributes })?);
            }
            Ok(events)
        })
        .await
    }

    async fn list_aggregates(
        &self,
        segment: Segment,
        cursor: Option<&str>,
    ) -> Result<Page<AggregateRef>, StoreError> {
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

    async fn get_item(&self, key: &ItemKey) -> Result<Option<Item>, StoreError> {
        let key = key.clone();
        self.read(move |connection| {
            let attributes = stored_attributes(connection, &key)?;
            Ok(attributes.map(|attributes| Item { key, attributes }))
        })
        .await
    }

    async fn get_item_json(&self, key: &ItemKey) -> Result<Option<String>, StoreError> {
        let key = key.clone();
        self.read(move |connection| stored_text(connection, &key))
            .await
    }

    async fn put_read_item(&self, item: &ReadItem) -> Result<WriteOutcome, StoreError> {
        self.guarded_write(
            item,
            "items.deleted = 0 AND items.version < excluded.version",
        )
        .await
    }

    async fn repair_read_item(&self, item: &ReadItem) -> Result<WriteOutcome, StoreError> {
        // A tombstone may only be repaired by a tombstone.
        self.guarded_write(
            item,
            "(items.deleted = 0 OR excluded.deleted = 1) AND items.version <= excluded.version",
        )
        .await
    }

    async fn list_read_items(
        &self,
        segment: Segment,
        cursor: Option<&str>,
    ) -> Result<Page<ReadItem>, StoreError> {
        const PAGE: i64 = 500;
        segment.validate()?;
        let start_after = cursor.map(cursor::decode_any).transpose()?;
        let (users_lo, users_hi) = prefix_range(keys::USER_PK_PREFIX);
        let (debts_lo, debts_hi) = prefix_range(keys::DEBT_SK_PREFIX);
        self.read(move |connection| {
            let mut statement = connection
                .prepare_cached(
                    "SELECT pk, sk, attrs FROM items
                     WHERE pk >= ?1 AND pk < ?2 AND (sk = ?3 OR (sk >= ?4 AND sk < ?5))
                       AND (pk, sk) > (?6, ?7)
                     ORDER BY pk, sk LIMIT ?8",
                )
                .map_err(StoreError::engine)?;
            let (after_pk, after_sk) = start_after.map(|k| (k.pk, k.sk)).unwrap_or_default();
            let parameters = params![
                users_lo,
                users_hi,
                keys::USER_INFO_SK,
                debts_lo,
                debts_hi,
                after_pk,
                after_sk,
                PAGE
            ];
            let rows: Vec<(ItemKey, String)> = statement
                .query_map(parameters, |row| {
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
                let item = Item {
                    attributes: from_json(&key, &text)?,
                    key,
                };
                items.push(ReadItem::decode(item)?);
            }
            Ok(Page { items, next_cursor })
        })
        .await
    }

    async fn put_item(&self, item: &Item) -> Result<(), StoreError> {
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

    async fn delete_read_item(&self, key: &ItemKey) -> Result<(), StoreError> {
        let key = key.clone();
        self.with_connection(move |connection| {
            connection
                .execute_cached(
                    "DELETE FROM items WHERE pk = ?1 AND sk = ?2",
                    params![key.pk, key.sk],
                )
                .map_err(StoreError::engine)?;
            Ok(())
        })
        .await
    }

    async fn increment_once(
        &self,
        marker: &ItemKey,
        counter: &ItemKey,
        increments: &[(&str, i64)],
    ) -> Result<bool, StoreError> {
        store::ensure_countable(marker, counter, increments)?;
        let (marker, counter) = (marker.clone(), counter.clone());
        let increments: Vec<(String, i64)> = increments
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

    async fn query(&self, query: &Query) -> Result<Page<Item>, StoreError> {
        let start_after = query.start_after()?;
        let query = query.clone();
        self.read(move |connection| {
            // The partition key column, the range key column and their values, per target.
            let (hash_col, range_col, hash, prefix) = match &query.target {
                QueryTarget::Partition { pk, sk_prefix } => {
                    ("pk", "sk", pk.clone(), sk_prefix.clone())
                }
                QueryTarget::SkPkIndex { sk, pk_prefix } => {
                    ("sk", "pk", sk.clone(), pk_prefix.clone())
                }
            };
            let (lo, hi) = prefix_range(&prefix);
            let (order, after_op) = if query.ascending {
                ("ASC", ">")
            } else {
                ("DESC", "<")
            };
            let after = start_after.map(|key| match query.target {
                QueryTarget::Partition { .. } => key.sk,
                QueryTarget::SkPkIndex { .. } => key.pk,
            });
            let sql = format!(
                "SELECT pk, sk, attrs FROM items
                 WHERE {hash_col} = ?1 AND {range_col} >= ?2 AND {range_col} < ?3 AND deleted = 0
                   AND (?4 IS NULL OR {range_col} {after_op} ?4)
                 ORDER BY {range_col} {order} LIMIT ?5"
            );
            let mut statement = connection
                .prepare_cached(&sql)
                .map_err(StoreError::engine)?;
            // One extra row tells whether another page follows.
            let fetch = i64::from(query.limit) + 1;
            let mut rows = statement
                .query(params![hash, lo, hi, after, fetch])
                .map_err(StoreError::engine)?;
            let mut items = Vec::with_capacity(fetch as usize);
            while let Some(row) = rows.next().map_err(StoreError::engine)? {
                let key = ItemKey::new(
                    row.get::<_, String>(0).map_err(StoreError::engine)?,
                    row.get::<_, String>(1).map_err(StoreError::engine)?,
                );
                // Parsed where SQLite holds the text, not from a copy of it.
                let text = row.get_ref(2).and_then(|value| Ok(value.as_str()?));
                let attributes = from_json(&key, text.map_err(StoreError::engine)?)?;
                items.push(Item { key, attributes });
            }
            let next_cursor = if items.len() > query.limit as usize {
                items.truncate(query.limit as usize);
                items.last().map(|item| cursor::encode(&item.key))
            } else {
                None
            };
            Ok(Page { items, next_cursor })
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    /// A store in a new file under the system's temporary directory, removed with it.
    struct StoreFile {
        store: SqliteStore,
        dir: PathBuf,
    }

    impl StoreFile {
        fn new(name: &str) -> Self {
            let nanos = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos();
            let dir =
                std::env::temp_dir().join(format!("sqlite-{name}-{}-{nanos}", std::process::id()));
            std::fs::create_dir_all(&dir).unwrap();
            let store = SqliteStore::open(dir.join("store.db")).unwrap();
            StoreFile { store, dir }
        }

        fn wal_size(&self) -> u64 {
            std::fs::metadata(self.dir.join("store.db-wal")).map_or(0, |m| m.len())
        }
    }

    impl Drop for StoreFile {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }

    /// Items of most of a page each (a page is 4 KiB), one commit each.
    async fn write_pages(store: &SqliteStore, from: usize, count: usize) {
        for n in from..from + count {
            let mut attributes = Attributes::new();
            attributes.insert("filler".into(), Value::from("x".repeat(3000)));
            let key = ItemKey::new(format!("ITEM#{n:06}"), "DATA");
            store.put_item(&Item { key, attributes }).await.unwrap();
        }
    }

    const PAGE: u64 = 4096;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_wal_is_checkpointed_in_the_background_and_starts_over() {
        let file = StoreFile::new("background");
        let (store, wal_size) = (&file.store, || file.wal_size());
        // Each write adds five pages or so to the WAL (its row, its overflow, the index pages above).
        write_pages(store, 0, 300).await;
        let after_first = wal_size();
        assert!(
            after_first > 1000 * PAGE,
            "the WAL holds the writes: {after_first} bytes"
        );
        // The background run copies the WAL into the database; the next write starts the WAL over.
        tokio::time::sleep(Duration::from_millis(500)).await;
        write_pages(store, 300, 300).await;
        let after_second = wal_size();
        assert!(
            after_second < after_first + 300 * PAGE,
            "the second 300 writes reused the WAL ({after_first} then {after_second} bytes)"
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn writes_without_a_pause_still_keep_the_wal_bounded() {
        let file = StoreFile::new("ceiling");
        let (store, wal_size) = (&file.store, || file.wal_size());
        write_pages(store, 0, 3000).await;
        let size = wal_size();
        let threshold = u64::try_from(CHECKPOINT_PAGES).unwrap() * PAGE;
        assert!(
            size < 2 * threshold,
            "3,000 writes without a pause left a WAL of {size} bytes"
        );
    }
}
