//! Embedded storage engine: the one table of the design in a single SQLite file (WAL mode), item for item,
//! so local runs and tests hold exactly what DynamoDB would.
//!
//! Every item is a row `(pk, sk, version, deleted, attrs)`; `attrs` is the item's attributes as a JSON object
//! (the same map the DynamoDB engine writes as attributes), `version` and `deleted` are copied into columns so
//! the guarded writes can test them. An index on `(sk, pk)` serves the scans by SK range (replay's listings).

mod connection;
mod event_log;
mod read_model;
mod records;

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use rusqlite::{params, Connection, ErrorCode, OptionalExtension};
use serde_json::Value;
use store::{
    attributes_from_json, cursor, Attributes, Item, ItemKey, Page, Query, QueryTarget, StoreError,
    StoreResult,
};

use connection::{busy, Cached, Readers, CHECKPOINT_PAGES};

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
CREATE INDEX IF NOT EXISTS expiry_index ON items (json_extract(attrs, '$.expires_at'))
    WHERE version IS NULL;
";

/// How often expired items are removed: DynamoDB's TTL removes them in the background too, within days
/// (every reader of an expiring item enforces its time itself, on both engines).
const EXPIRY_SWEEP_EVERY_SECS: i64 = 600;

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
    /// How many of those background checkpoints have started and finished: a test waits for the last.
    checkpoints: Arc<(std::sync::atomic::AtomicU64, std::sync::atomic::AtomicU64)>,
    /// When (Unix seconds) the next write starts a sweep of expired items in the blocking pool: the first
    /// write after opening, then every [`EXPIRY_SWEEP_EVERY_SECS`].
    next_expiry_sweep: Arc<std::sync::atomic::AtomicI64>,
    /// How many of those sweeps have started and finished: a test waits for the last.
    expiry_sweeps: Arc<(std::sync::atomic::AtomicU64, std::sync::atomic::AtomicU64)>,
    /// The change feed: the key of every committed event, in commit order (the local stand-in for
    /// DynamoDB Streams).
    feed: Option<tokio::sync::mpsc::UnboundedSender<ItemKey>>,
}

impl SqliteStore {
    /// Opens (creating if needed) the store in the file at `path`.
    pub fn open(path: impl AsRef<Path>) -> StoreResult<Self> {
        let path = path.as_ref();
        // Readable by its owner only: SQLite gives the `-wal` and `-shm` files the database file's mode, so
        // creating it first with 0600 covers all three (SQLite would create it with the umask's 0644).
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            std::fs::OpenOptions::new()
                .write(true)
                .create(true)
                .truncate(false)
                .mode(0o600)
                .open(path)
                .map_err(StoreError::engine)?;
        }
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
    ) -> StoreResult<(Self, tokio::sync::mpsc::UnboundedReceiver<ItemKey>)> {
        let (sender, receiver) = tokio::sync::mpsc::unbounded_channel();
        let mut store = Self::open(path)?;
        store.feed = Some(sender);
        Ok((store, receiver))
    }

    /// A store that lives in memory only, for tests.
    pub fn in_memory() -> StoreResult<Self> {
        Self::setup(Connection::open_in_memory().map_err(StoreError::engine)?)
    }

    fn setup(mut connection: Connection) -> StoreResult<Self> {
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
            checkpoints: Arc::default(),
            next_expiry_sweep: Arc::default(),
            expiry_sweeps: Arc::default(),
            feed: None,
        })
    }
}

impl SqliteStore {
    /// Removes every item (never an event or a read item) whose `expires_at` (Unix seconds, the table's TTL
    /// attribute) is `now` or earlier, as DynamoDB's TTL does: idempotency records, login throttles, daily
    /// counters. Answers how many went.
    pub async fn remove_expired(&self, now: i64) -> StoreResult<usize> {
        self.with_connection(move |connection| remove_expired(connection, now))
            .await
    }

    /// Starts a sweep of expired items when one is due.
    pub(crate) fn sweep_if_due(&self) {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |since| {
                i64::try_from(since.as_secs()).unwrap_or(i64::MAX)
            });
        let due = self.next_expiry_sweep.load(Ordering::Acquire);
        if now < due
            || self
                .next_expiry_sweep
                .compare_exchange(
                    due,
                    now + EXPIRY_SWEEP_EVERY_SECS,
                    Ordering::AcqRel,
                    Ordering::Acquire,
                )
                .is_err()
        {
            return;
        }
        let writer = Arc::clone(&self.writer);
        let sweeps = Arc::clone(&self.expiry_sweeps);
        sweeps.0.fetch_add(1, Ordering::SeqCst);
        tokio::task::spawn_blocking(move || {
            let connection = writer
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            match remove_expired(&connection, now) {
                Ok(0) => {}
                Ok(removed) => tracing::debug!(removed, "expired items removed"),
                Err(error) => {
                    tracing::warn!(%error, "expired items not removed; the next sweep tries again")
                }
            }
            sweeps.1.fetch_add(1, Ordering::SeqCst);
        });
    }
}

fn remove_expired(connection: &Connection, now: i64) -> StoreResult<usize> {
    // The partial expression index keeps this to the expiring items, whatever the number of events.
    connection
        .execute_cached(
            "DELETE FROM items WHERE version IS NULL AND json_extract(attrs, '$.expires_at') <= ?1",
            params![now],
        )
        .map_err(StoreError::engine)
}

pub(crate) fn to_json(attributes: &Attributes) -> String {
    Value::Object(attributes.clone()).to_string()
}

/// SQLite integers are signed; versions are bounded by the key format far below `i64::MAX`.
pub(crate) fn sql_version(version: u64) -> StoreResult<i64> {
    i64::try_from(version).map_err(|_| StoreError::InvalidRequest("version out of range".into()))
}

pub(crate) fn is_unique_violation(error: &rusqlite::Error) -> bool {
    matches!(error, rusqlite::Error::SqliteFailure(e, _) if e.code == ErrorCode::ConstraintViolation)
}

/// A key just below everything that starts with `prefix`, and one just above it, for range scans.
pub(crate) fn prefix_range(prefix: &str) -> (String, String) {
    (prefix.to_owned(), format!("{prefix}\u{10FFFF}"))
}

/// FNV-1a: a hash that is the same in every process, to split aggregates into scan segments.
pub(crate) fn stable_hash(text: &str) -> u32 {
    text.bytes().fold(0x811c_9dc5_u32, |hash, byte| {
        (hash ^ u32::from(byte)).wrapping_mul(0x0100_0193)
    })
}

/// The stored attributes of the item `key`, if there is one.
pub(crate) fn stored_attributes(
    connection: &Connection,
    key: &ItemKey,
) -> StoreResult<Option<Attributes>> {
    stored_text(connection, key)?
        .map(|text| attributes_from_json(key, &text))
        .transpose()
}

/// The item's attributes as stored: the text of one JSON object.
pub(crate) fn stored_text(connection: &Connection, key: &ItemKey) -> StoreResult<Option<String>> {
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
pub(crate) fn add_to_counter(
    tx: &rusqlite::Transaction<'_>,
    key: &ItemKey,
    field: &str,
    delta: i64,
) -> StoreResult<i64> {
    let mut attributes = stored_attributes(tx, key)?.unwrap_or_default();
    let count = attributes
        .get(field)
        .and_then(Value::as_i64)
        .unwrap_or(0)
        .checked_add(delta)
        .ok_or_else(|| {
            StoreError::InvalidRequest(format!("{field} of {}/{} would overflow", key.pk, key.sk))
        })?;
    attributes.insert(field.to_owned(), Value::from(count));
    tx.execute_cached(
        "INSERT INTO items (pk, sk, attrs) VALUES (?1, ?2, ?3)
         ON CONFLICT (pk, sk) DO UPDATE SET attrs = excluded.attrs",
        params![key.pk, key.sk, to_json(&attributes)],
    )
    .map_err(StoreError::engine)?;
    Ok(count)
}

/// Removes the row at `key`, if any.
pub(crate) async fn delete_row(store: &SqliteStore, key: &ItemKey) -> StoreResult<()> {
    let key = key.clone();
    store
        .with_connection(move |connection| {
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

/// One page of live items of a partition: what both a records query and a read-model query read.
pub(crate) async fn query_items(store: &SqliteStore, query: &Query) -> StoreResult<Page<Item>> {
    let start_after = query.start_after()?;
    let query = query.clone();
    store
        .read(move |connection| {
            let QueryTarget {
                pk: hash,
                sk_prefix: prefix,
            } = query.target.clone();
            let (lo, hi) = prefix_range(&prefix);
            let (order, after_op) = if query.ascending {
                ("ASC", ">")
            } else {
                ("DESC", "<")
            };
            let after = start_after.map(|key| key.sk);
            let sql = format!(
                "SELECT pk, sk, attrs FROM items
             WHERE pk = ?1 AND sk >= ?2 AND sk < ?3 AND deleted = 0
               AND (?4 IS NULL OR sk {after_op} ?4)
             ORDER BY sk {order} LIMIT ?5"
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
                let attributes = attributes_from_json(&key, text.map_err(StoreError::engine)?)?;
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

#[cfg(test)]
mod tests {
    use std::path::PathBuf;
    use std::time::Duration;

    use store::Records;

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

    /// A store in a new file after `count` writes of most of a page each, and its WAL's size.
    async fn written(name: &str, count: usize) -> (StoreFile, u64) {
        let file = StoreFile::new(name);
        write_pages(&file.store, 0, count).await;
        let size = file.wal_size();
        (file, size)
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_wal_is_checkpointed_in_the_background_and_starts_over() {
        // Each write adds five pages or so to the WAL (its row, its overflow, the index pages above).
        let (file, after_first) = written("background", 300).await;
        let store = &file.store;
        assert!(
            after_first > 1000 * PAGE,
            "the WAL holds the writes: {after_first} bytes"
        );
        // The background run copies the WAL into the database; the next write starts the WAL over.
        let (started, done) = &*store.checkpoints;
        while done.load(Ordering::SeqCst) == 0
            || done.load(Ordering::SeqCst) < started.load(Ordering::SeqCst)
        {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        write_pages(store, 300, 300).await;
        let after_second = file.wal_size();
        assert!(
            after_second < after_first + 300 * PAGE,
            "the second 300 writes reused the WAL ({after_first} then {after_second} bytes)"
        );
    }

    fn expiring(pk: &str, expires_at: Option<i64>) -> Item {
        let mut attributes = Attributes::new();
        attributes.insert("request".into(), Value::from("digest"));
        if let Some(at) = expires_at {
            attributes.insert(store::keys::TTL_ATTRIBUTE.into(), Value::from(at));
        }
        Item {
            key: ItemKey::new(pk, "IDEMPOTENCY"),
            attributes,
        }
    }

    /// Finding 9 of issue 30: expired records stayed on SQLite forever (DynamoDB's TTL removes them). Now
    /// they are removed, through an index that holds only items without a version, and nothing else goes.
    #[tokio::test]
    async fn expired_items_are_removed_and_nothing_else() {
        let file = StoreFile::new("expiry");
        let store = &file.store;
        let (now, hour) = (4_000_000_000, 3600);
        for item in [
            expiring("OLD#1", Some(now - hour)),
            expiring("OLD#2", Some(now)),
            expiring("NEW", Some(now + hour)),
            expiring("FOREVER", None),
        ] {
            store.put_item(&item).await.unwrap();
        }
        assert_eq!(store.remove_expired(now).await.unwrap(), 2);
        for (pk, kept) in [
            ("OLD#1", false),
            ("OLD#2", false),
            ("NEW", true),
            ("FOREVER", true),
        ] {
            let found = store
                .get_item(&ItemKey::new(pk, "IDEMPOTENCY"))
                .await
                .unwrap();
            assert_eq!(found.is_some(), kept, "{pk}");
        }
        let plan: Vec<String> = {
            let connection = store.writer();
            let mut statement = connection
                .prepare(
                    "EXPLAIN QUERY PLAN DELETE FROM items WHERE version IS NULL \
                     AND json_extract(attrs, '$.expires_at') <= 1",
                )
                .unwrap();
            statement
                .query_map([], |row| row.get::<_, String>(3))
                .unwrap()
                .map(Result::unwrap)
                .collect()
        };
        assert!(
            plan.iter().any(|step| step.contains("expiry_index")),
            "{plan:?}"
        );
    }

    /// The first write after opening starts a sweep in the background, and the next is not due for ten
    /// minutes: no write pays for it, and a write does not start one each time.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_write_starts_a_sweep_when_one_is_due() {
        let file = StoreFile::new("sweep");
        let store = &file.store;
        store.put_item(&expiring("GONE", Some(1))).await.unwrap();
        let (started, done) = &*store.expiry_sweeps;
        while done.load(Ordering::SeqCst) == 0 {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        assert_eq!(started.load(Ordering::SeqCst), 1);
        assert!(store
            .get_item(&ItemKey::new("GONE", "IDEMPOTENCY"))
            .await
            .unwrap()
            .is_none());
        store.put_item(&expiring("LATER", Some(1))).await.unwrap();
        assert_eq!(started.load(Ordering::SeqCst), 1, "not due again yet");
        assert!(store
            .get_item(&ItemKey::new("LATER", "IDEMPOTENCY"))
            .await
            .unwrap()
            .is_some());
    }

    /// Finding 16 of issue 30: a counter at the top of `i64` refuses another increment (it panicked in a
    /// debug build, wrapped in a release one) and keeps its value.
    #[tokio::test]
    async fn a_counter_never_overflows() {
        use store::CountOnce;
        let file = StoreFile::new("overflow");
        let counter = ItemKey::new("STATS#DAILY", "2026-12-05");
        let mut attributes = Attributes::new();
        attributes.insert("events".into(), Value::from(i64::MAX));
        let full = Item {
            key: counter.clone(),
            attributes,
        };
        file.store.put_item(&full).await.unwrap();
        let marker = ItemKey::new("STATS#EVENT#x", "COUNTED");
        let count = CountOnce {
            marker: &marker,
            counter: &counter,
            increments: &[("events", 1)],
        };
        let refused = file.store.increment_once(&count).await;
        assert!(
            matches!(refused, Err(StoreError::InvalidRequest(_))),
            "{refused:?}"
        );
        let added = file.store.add_to_count(&counter, "events", 1, 0).await;
        assert!(added.is_err(), "{added:?}");
        assert_eq!(file.store.get_item(&counter).await.unwrap(), Some(full));
        assert_eq!(
            file.store.get_item(&marker).await.unwrap(),
            None,
            "nothing half done"
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn writes_without_a_pause_still_keep_the_wal_bounded() {
        let (_file, size) = written("ceiling", 3000).await;
        let threshold = u64::try_from(CHECKPOINT_PAGES).unwrap() * PAGE;
        assert!(
            size < 2 * threshold,
            "3,000 writes without a pause left a WAL of {size} bytes"
        );
    }
}
