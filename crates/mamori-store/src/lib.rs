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
use std::sync::{Arc, Mutex, MutexGuard};

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
const MIGRATIONS: &[&str] = &[
    "CREATE TABLE documents (
        ns TEXT NOT NULL, part TEXT NOT NULL, key TEXT NOT NULL, body BLOB NOT NULL,
        PRIMARY KEY (ns, part, key)
    ) WITHOUT ROWID;
    CREATE TABLE series (
        id INTEGER PRIMARY KEY,
        ns TEXT NOT NULL, part TEXT NOT NULL, stream TEXT NOT NULL,
        ts INTEGER NOT NULL, body BLOB NOT NULL
    );
    CREATE INDEX series_by_time ON series (ns, part, stream, ts, id);
    CREATE INDEX series_by_ns_time ON series (ns, ts);",
    // Every append paid for this second index, which only the hourly expiry across
    // partitions used; that expiry can walk `series_by_time` by namespace instead.
    "DROP INDEX IF EXISTS series_by_ns_time;",
    // `since_id` and `last_id` read a partition in id order (CloudTrail's delivery
    // cursors); without this they walked every record of the partition and sorted it, so
    // each delivery cost grew with the whole history.
    "CREATE INDEX IF NOT EXISTS series_by_id ON series (ns, part, id);",
];

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

/// A transaction, read-only or read-write.
pub struct Tx<'a> {
    tx: rusqlite::Transaction<'a>,
}

impl Store {
    /// Opens (creating if needed) the store under `dir`, in WAL mode.
    pub fn open(dir: &Path) -> Result<Self> {
        std::fs::create_dir_all(dir)?;
        let conn = rusqlite::Connection::open(dir.join("mamori.sqlite3"))?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        Self::init(conn)
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
