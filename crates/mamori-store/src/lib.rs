//! Durable state for mamori.
//!
//! Services never write SQL: they declare typed [`Collection`]s (documents keyed by a
//! partition, usually `account/region`, and a key) and [`Series`] (append-only,
//! time-ordered records such as log events and metric datapoints) and use them inside a
//! [`Store::write`] or [`Store::read`] transaction. A write transaction is committed,
//! and with `synchronous=FULL` on disk, before `write` returns, so whatever a handler
//! acknowledges survives a crash. SQLite is the only backend today; everything
//! SQLite-specific stays in this crate so another backend can implement the same API.
#![warn(missing_docs)]

mod collection;
mod series;

use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard, Weak};

pub use collection::Collection;
pub use series::{Record, Series};

/// A store failure. These are server faults: callers answer 500 and log the cause.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database failed.
    #[error("database error: {0}")]
    Db(#[from] rusqlite::Error),
    /// A stored document did not decode (a schema bug).
    #[error("stored document does not decode: {0}")]
    Decode(#[from] serde_json::Error),
    /// The data directory could not be prepared.
    #[error("cannot open the data directory: {0}")]
    Io(#[from] std::io::Error),
}

/// A result of a store operation.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// Schema migrations, applied in order; `PRAGMA user_version` records how many ran.
const MIGRATIONS: &[&str] = &["CREATE TABLE documents (
        ns TEXT NOT NULL, part TEXT NOT NULL, key TEXT NOT NULL, body BLOB NOT NULL,
        PRIMARY KEY (ns, part, key)
    ) WITHOUT ROWID;
    CREATE TABLE series (
        id INTEGER PRIMARY KEY,
        ns TEXT NOT NULL, part TEXT NOT NULL, stream TEXT NOT NULL,
        ts INTEGER NOT NULL, body BLOB NOT NULL
    );
    CREATE INDEX series_by_time ON series (ns, part, stream, ts, id);
    CREATE INDEX series_by_ns_time ON series (ns, ts);"];

/// The durable store shared by every service.
#[derive(Clone)]
pub struct Store {
    conn: Arc<Mutex<rusqlite::Connection>>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Store")
    }
}

/// How often the background connection checkpoints the WAL into the database file.
const CHECKPOINT_EVERY: std::time::Duration = std::time::Duration::from_millis(100);

/// Checkpoints the WAL of the database at `path` until the store that `owner` belongs to
/// is dropped. `PASSIVE` never blocks writers or readers; a round that cannot copy every
/// frame (a reader still needs old ones) leaves the rest to the next round.
fn spawn_checkpointer(path: &Path, owner: Weak<Mutex<rusqlite::Connection>>) -> Result<()> {
    let conn = rusqlite::Connection::open(path)?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.busy_timeout(std::time::Duration::from_millis(50))?;
    std::thread::Builder::new().name("mamori-checkpoint".into()).spawn(move || {
        while owner.strong_count() > 0 {
            std::thread::sleep(CHECKPOINT_EVERY);
            // A failed round (busy, or an I/O error the next commit will report to its
            // caller) is retried on the next one; the WAL keeps every committed frame.
            let _ = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()));
        }
    })?;
    Ok(())
}

/// A transaction, read-only or read-write.
pub struct Tx<'a> {
    tx: rusqlite::Transaction<'a>,
}

impl Store {
    /// Opens (creating if needed) the store under `dir`, in WAL mode.
    pub fn open(dir: &Path) -> Result<Self> {
        std::fs::create_dir_all(dir)?;
        let path = dir.join("mamori.sqlite3");
        let conn = rusqlite::Connection::open(&path)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        // Checkpoints run on a background connection rather than inside whichever commit
        // crosses the WAL threshold, so a commit costs one WAL append and one fsync and
        // never holds the store lock while the database file is written and synced
        // (profiled: the checkpoint was 15% of PutLogEvents' CPU, inside the lock).
        conn.pragma_update(None, "wal_autocheckpoint", 0)?;
        // 32 MiB of page cache (the default is 2 MiB) keeps index pages of busy series
        // in memory.
        conn.pragma_update(None, "cache_size", -32_768)?;
        let store = Self::init(conn)?;
        spawn_checkpointer(&path, Arc::downgrade(&store.conn))?;
        Ok(store)
    }

    /// A store that lives in memory and is gone when the process ends.
    pub fn in_memory() -> Result<Self> {
        Self::init(rusqlite::Connection::open_in_memory()?)
    }

    fn init(mut conn: rusqlite::Connection) -> Result<Self> {
        conn.pragma_update(None, "foreign_keys", "ON")?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        let version: usize = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
        let tx = conn.transaction()?;
        for (i, sql) in MIGRATIONS.iter().enumerate().skip(version) {
            tx.execute_batch(sql)?;
            tx.pragma_update(None, "user_version", i + 1)?;
        }
        tx.commit()?;
        Ok(Self { conn: Arc::new(Mutex::new(conn)) })
    }

    fn lock(&self) -> MutexGuard<'_, rusqlite::Connection> {
        // A panic while holding the lock leaves SQLite consistent (the transaction rolls
        // back on drop), so a poisoned lock is safe to reuse.
        self.conn.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Runs `f` in a read-write transaction, committed before this returns. An error from
    /// `f` rolls everything back.
    pub fn write<T, E: From<StoreError>>(
        &self,
        f: impl FnOnce(&Tx<'_>) -> Result<T, E>,
    ) -> Result<T, E> {
        let mut conn = self.lock();
        let tx = conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(StoreError::from)?;
        let tx = Tx { tx };
        let res = f(&tx)?;
        tx.tx.commit().map_err(StoreError::from)?;
        Ok(res)
    }

    /// Runs `f` in a read transaction.
    pub fn read<T, E: From<StoreError>>(
        &self,
        f: impl FnOnce(&Tx<'_>) -> Result<T, E>,
    ) -> Result<T, E> {
        let mut conn = self.lock();
        let tx = Tx { tx: conn.transaction().map_err(StoreError::from)? };
        f(&tx)
    }

    /// Deletes everything (the admin reset).
    pub fn reset(&self) -> Result<()> {
        self.write(|tx| {
            tx.tx.execute_batch("DELETE FROM documents; DELETE FROM series;")?;
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use serde::{Deserialize, Serialize};

    use super::*;

    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    struct Topic {
        name: String,
    }

    const TOPICS: Collection<Topic> = Collection::new("test.topics");

    #[test]
    fn writes_survive_reopen() {
        let dir = tempfile::tempdir().unwrap();
        {
            let store = Store::open(dir.path()).unwrap();
            store
                .write(|tx| TOPICS.put(tx, "acct/us-east-1", "a", &Topic { name: "a".into() }))
                .unwrap();
        }
        let store = Store::open(dir.path()).unwrap();
        let got = store.read(|tx| TOPICS.get(tx, "acct/us-east-1", "a")).unwrap();
        assert_eq!(got, Some(Topic { name: "a".into() }));
    }

    const BLOBS: Series<String> = Series::new("test.blobs");

    #[test]
    fn wal_is_checkpointed_in_the_background() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("mamori.sqlite3");
        let store = Store::open(dir.path()).unwrap();
        let before = std::fs::metadata(&db).unwrap().len();
        let blob = "x".repeat(1000);
        store
            .write(|tx| {
                for i in 0..2000 {
                    BLOBS.append(tx, "p", "s", i, &blob)?;
                }
                Ok::<_, StoreError>(())
            })
            .unwrap();
        // Commits no longer checkpoint; the background connection moves the pages.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        while std::fs::metadata(&db).unwrap().len() < before + 1_000_000 {
            assert!(std::time::Instant::now() < deadline, "the WAL was never checkpointed");
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        drop(store);
        let store = Store::open(dir.path()).unwrap();
        let n = store.read(|tx| BLOBS.range(tx, "p", &[], 0, i64::MAX, None, 5000, false)).unwrap();
        assert_eq!(n.len(), 2000);
    }

    #[test]
    fn failed_transactions_roll_back() {
        let store = Store::in_memory().unwrap();
        let res: Result<()> = store.write(|tx| {
            TOPICS.put(tx, "p", "a", &Topic { name: "a".into() })?;
            Err(StoreError::Io(std::io::Error::other("boom")))
        });
        assert!(res.is_err());
        assert_eq!(store.read(|tx| TOPICS.get(tx, "p", "a")).unwrap(), None);
    }
}
