//! SQLite's plumbing under the engine: one writer connection (a write runs on the calling thread when it
//! can, else in the blocking pool), read-only connections beside it, statements prepared once, and the
//! checkpoint moved off the writing thread.

use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, TryLockError};

use rusqlite::{Connection, OpenFlags, Params, Row};
use store::StoreError;

use crate::SqliteStore;

/// Every statement is prepared once per connection and reused: parsing the SQL again was a tenth of a
/// read's time under load (issue 16's profile of the local gateway).
pub(crate) trait Cached {
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

/// How the writer waits for a write lock another process holds: not at all on a task's thread (the write
/// moves to the blocking pool), and there as `busy_timeout = 5000` would.
pub(crate) mod busy {
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
pub(crate) const CHECKPOINT_PAGES: i32 = 1000;

/// A reader waits for a checkpoint as the writer does. (Memory-mapped reads, `mmap_size`, were tried for
/// replay and measured slower: 34,000-38,000 against 46,000-56,000 events/s at 100,000 events.)
const READER_PRAGMAS: &str = "PRAGMA busy_timeout = 5000;";

/// number of threads that call the store (each read finishes before its thread does anything else).
/// Idle read-only connections, opened on demand: as many as reads ever ran at once, which is at most the
/// Idle read-only connections, opened on demand: as many as reads ever ran at once, which is at most the
/// number of threads that call the store (each read finishes before its thread does anything else).
pub(crate) struct Readers {
    pub(crate) path: PathBuf,
    pub(crate) idle: Mutex<Vec<Connection>>,
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
    pub(crate) fn writer(&self) -> std::sync::MutexGuard<'_, Connection> {
        self.writer
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Runs `work` on the writer connection: here when the connection is free and no other process holds
    /// the database's write lock, else in the blocking pool, where waiting holds up no task. `work` may run
    /// twice: a first try here that found the lock taken failed before it changed anything.
    pub(crate) async fn with_connection<T, F>(&self, mut work: F) -> Result<T, StoreError>
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
        self.sweep_if_due();
        result
    }

    fn checkpoint_if_due(&self) {
        let Some(due) = &self.checkpoint_due else {
            return;
        };
        if due.swap(false, Ordering::AcqRel) {
            let writer = Arc::clone(&self.writer);
            let checkpoints = Arc::clone(&self.checkpoints);
            checkpoints.0.fetch_add(1, Ordering::SeqCst);
            tokio::task::spawn_blocking(move || {
                let connection = writer
                    .lock()
                    .unwrap_or_else(|poisoned| poisoned.into_inner());
                if let Err(error) =
                    connection.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()))
                {
                    tracing::warn!(%error, "WAL checkpoint failed; the next commit asks again");
                }
                checkpoints.1.fetch_add(1, Ordering::SeqCst);
            });
        }
    }

    /// Runs the read `work` on a read-only connection on this thread, or, in memory, on the writer.
    pub(crate) async fn read<T, F>(&self, work: F) -> Result<T, StoreError>
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
