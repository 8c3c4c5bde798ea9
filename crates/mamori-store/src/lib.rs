//! Durable state for mamori.
//!
//! Services never write SQL: they declare typed [`Collection`]s (documents keyed by a
//! partition, usually `account/region`, and a key) and [`Series`] (append-only,
//! time-ordered records such as metric datapoints; [`BlockSeries`] for the high-volume
//! ones, log and trail events, stored many records to a row) and use them inside a
//! [`Store::write`] or [`Store::read`] transaction. A write transaction is committed,
//! and with `synchronous=FULL` on disk, before `write` returns, so whatever a handler
//! acknowledges survives a crash. SQLite is the only backend today; everything
//! SQLite-specific stays in this crate so another backend can implement the same API.
//!
//! Writes are group-committed: a writer that finishes its transaction while other
//! writers wait for the connection leaves the commit to the last of them, so concurrent
//! writers share one commit (one fsync). Each writer's changes are a savepoint of the
//! shared transaction, so a failing writer rolls back only its own; `write` still returns
//! only once its changes are committed. Readers commit a pending batch before they read,
//! so they never see changes that are not yet durable.
#![warn(missing_docs)]

mod blocks;
mod collection;
mod series;

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};

pub use blocks::{BLOCK_BYTES, BLOCK_RECORDS, BLOCK_SPAN_MS, BlockRecord, BlockSeries, Packed};
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
    /// A stored record is not in the form its type reads (a schema bug or corruption).
    #[error("stored record is malformed: {0}")]
    Malformed(String),
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
    // Block series (blocks.rs): many records to a row for the high-volume series, whose
    // rows moved here (and with them the only reader of `series_by_id`), one block each (a single record's block is its JSON, and the block
    // id is its record's id, so delivery cursors and page tokens stay valid).
    "CREATE TABLE blocks (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        ns TEXT NOT NULL, part TEXT NOT NULL, stream TEXT NOT NULL,
        t_min INTEGER NOT NULL, t_max INTEGER NOT NULL, n INTEGER NOT NULL,
        body BLOB NOT NULL
    );
    CREATE INDEX blocks_stream_t_max ON blocks (ns, part, stream, t_max, t_min);
    CREATE INDEX blocks_stream_t_min ON blocks (ns, part, stream, t_min, t_max);
    CREATE INDEX blocks_part_t_max ON blocks (ns, part, t_max, t_min);
    CREATE INDEX blocks_part_t_min ON blocks (ns, part, t_min, t_max);
    CREATE INDEX blocks_by_id ON blocks (ns, part, id);
    INSERT INTO blocks (id, ns, part, stream, t_min, t_max, n, body)
        SELECT id, ns, part, stream, ts, ts, 1, body FROM series
        WHERE ns IN ('cloudtrail.events', 'logs.events') ORDER BY id;
    DELETE FROM series WHERE ns IN ('cloudtrail.events', 'logs.events');
    DROP INDEX IF EXISTS series_by_id;",
    // Block bodies may be compressed (blocks.rs, `codec`); the blocks written before
    // are stored as they are.
    "ALTER TABLE blocks ADD COLUMN codec INTEGER NOT NULL DEFAULT 0;",
];

/// The durable store shared by every service.
#[derive(Clone)]
pub struct Store {
    inner: Arc<Inner>,
}

struct Inner {
    conn: Mutex<Conn>,
    /// Writers waiting for the connection: while there are any, a finished writer leaves
    /// the commit to them.
    waiting: AtomicUsize,
    /// The outcome of the batches committed so far.
    done: Mutex<Committed>,
    committed: Condvar,
    /// The directory of a store on disk, whose commits survive a crash.
    dir: Option<std::path::PathBuf>,
}

struct Conn {
    db: rusqlite::Connection,
    /// A batch transaction is open.
    open: bool,
    /// The number of the open (or last) batch.
    batch: u64,
    /// Writers in the open batch.
    members: usize,
    /// Most writers in one batch.
    max_batch: usize,
}

#[derive(Default)]
struct Committed {
    /// Every batch up to this number is finished.
    through: u64,
    /// Batches whose commit failed, with the error.
    failed: Vec<(u64, String)>,
}

/// Most writers sharing one commit, so a stream of writers cannot delay it for long.
/// `MAMORI_STORE_MAX_BATCH=1` turns group commit off (one commit per writer), for
/// benchmarks that compare the two.
const MAX_BATCH: usize = 64;

fn max_batch() -> usize {
    std::env::var("MAMORI_STORE_MAX_BATCH")
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|n| *n >= 1)
        .unwrap_or(MAX_BATCH)
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Store")
    }
}

/// Runs one transaction-control statement from the connection's statement cache: every
/// read and write runs several, and parsing them each time was a tenth of the
/// CloudTrail writer's time.
fn exec(db: &rusqlite::Connection, sql: &str) -> rusqlite::Result<()> {
    db.prepare_cached(sql)?.execute([]).map(drop)
}

/// A transaction, read-only or read-write.
pub struct Tx<'a> {
    tx: &'a rusqlite::Connection,
}

/// Rolls a writer's savepoint back unless it was released, also when the writer panics
/// (the panicking writer then commits the rest of its batch, so the writers waiting on it
/// return at once).
struct Savepoint<'a> {
    db: &'a rusqlite::Connection,
    armed: bool,
}

impl Drop for Savepoint<'_> {
    fn drop(&mut self) {
        if self.armed {
            let _ = exec(self.db, "ROLLBACK TO w").and_then(|()| exec(self.db, "RELEASE w"));
        }
    }
}

impl Store {
    /// Opens (creating if needed) the store under `dir`, in WAL mode.
    pub fn open(dir: &Path) -> Result<Self> {
        std::fs::create_dir_all(dir)?;
        let conn = rusqlite::Connection::open(dir.join("mamori.sqlite3"))?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        Self::init(conn, Some(dir.to_path_buf()))
    }

    /// A store that lives in memory and is gone when the process ends.
    pub fn in_memory() -> Result<Self> {
        let conn = rusqlite::Connection::open_in_memory()?;
        // Each page of an in-memory database is an allocation of its own: 16 KiB pages
        // take four times fewer for the blocks of events, which are most of the bytes
        // (importing trail files: +5 to +13 % events/s against 4 KiB, docs/PERFORMANCE.md).
        // On disk the default stays, so a small document change writes a small WAL frame.
        conn.pragma_update(None, "page_size", 16_384)?;
        Self::init(conn, None)
    }

    /// The directory of a store on disk, whose commits survive the process (a crash
    /// included); `None` for a store in memory.
    pub fn dir(&self) -> Option<&Path> {
        self.inner.dir.as_deref()
    }

    fn init(mut conn: rusqlite::Connection, dir: Option<std::path::PathBuf>) -> Result<Self> {
        // Every service's statements share this connection's cache; rusqlite keeps 16 by
        // default, fewer than the services use, so statements were parsed again and again.
        conn.set_prepared_statement_cache_capacity(256);
        conn.pragma_update(None, "foreign_keys", "ON")?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        let version: usize = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
        let tx = conn.transaction()?;
        for (i, sql) in MIGRATIONS.iter().enumerate().skip(version) {
            tx.execute_batch(sql)?;
            tx.pragma_update(None, "user_version", i + 1)?;
        }
        tx.commit()?;
        let conn = Conn { db: conn, open: false, batch: 0, members: 0, max_batch: max_batch() };
        Ok(Self {
            inner: Arc::new(Inner {
                conn: Mutex::new(conn),
                waiting: AtomicUsize::new(0),
                done: Mutex::new(Committed::default()),
                committed: Condvar::new(),
                dir,
            }),
        })
    }

    fn lock(&self) -> MutexGuard<'_, Conn> {
        // A panic while holding the lock leaves SQLite consistent (the panicking writer's
        // savepoint rolls back on drop), so a poisoned lock is safe to reuse.
        self.inner.conn.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Commits the open batch and wakes its writers.
    fn commit_batch(&self, conn: &mut Conn) -> Result<()> {
        if !conn.open {
            return Ok(());
        }
        let res = exec(&conn.db, "COMMIT");
        if res.is_err() {
            let _ = exec(&conn.db, "ROLLBACK");
        }
        conn.open = false;
        conn.members = 0;
        let mut done = self.inner.done.lock().unwrap_or_else(|e| e.into_inner());
        done.through = conn.batch;
        if let Err(e) = &res {
            done.failed.push((conn.batch, e.to_string()));
            if done.failed.len() > 64 {
                done.failed.remove(0);
            }
        }
        self.inner.committed.notify_all();
        res.map_err(StoreError::from)
    }

    /// Runs `f` in a read-write transaction, committed before this returns. An error from
    /// `f` rolls its changes back.
    pub fn write<T, E: From<StoreError>>(
        &self,
        f: impl FnOnce(&Tx<'_>) -> Result<T, E>,
    ) -> Result<T, E> {
        self.inner.waiting.fetch_add(1, Ordering::SeqCst);
        let mut conn = self.lock();
        self.inner.waiting.fetch_sub(1, Ordering::SeqCst);
        if !conn.open {
            exec(&conn.db, "BEGIN IMMEDIATE").map_err(StoreError::from)?;
            conn.open = true;
            conn.batch += 1;
        }
        let batch = conn.batch;
        let mut panicked = None;
        let res = {
            let db = &conn.db;
            let mut sp = Savepoint { db, armed: false };
            match exec(db, "SAVEPOINT w") {
                Ok(()) => {
                    sp.armed = true;
                    let res = match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                        f(&Tx { tx: db })
                    })) {
                        Ok(res) => res,
                        Err(payload) => {
                            panicked = Some(payload);
                            Err(E::from(StoreError::Io(std::io::Error::other("writer panicked"))))
                        }
                    };
                    if panicked.is_none() && res.is_ok() {
                        match exec(db, "RELEASE w") {
                            Ok(()) => {
                                sp.armed = false;
                                res
                            }
                            Err(e) => Err(E::from(StoreError::from(e))),
                        }
                    } else {
                        res
                    }
                }
                Err(e) => Err(E::from(StoreError::from(e))),
            }
        };
        if let Some(payload) = panicked {
            // The savepoint rolled back; commit the rest of the batch so that the writers
            // waiting on it return now, then let the panic go on.
            let _ = self.commit_batch(&mut conn);
            drop(conn);
            std::panic::resume_unwind(payload);
        }
        conn.members += 1;
        if self.inner.waiting.load(Ordering::SeqCst) == 0 || conn.members >= conn.max_batch {
            let committed = self.commit_batch(&mut conn);
            drop(conn);
            committed?;
            return res;
        }
        drop(conn);
        let mut done = self.inner.done.lock().unwrap_or_else(|e| e.into_inner());
        while done.through < batch {
            done = self.inner.committed.wait(done).unwrap_or_else(|e| e.into_inner());
        }
        if let Some((_, e)) = done.failed.iter().find(|(b, _)| *b == batch) {
            return Err(E::from(StoreError::Io(std::io::Error::other(format!(
                "commit failed: {e}"
            )))));
        }
        drop(done);
        res
    }

    /// Runs `f` in a read transaction, after committing any pending writes.
    pub fn read<T, E: From<StoreError>>(
        &self,
        f: impl FnOnce(&Tx<'_>) -> Result<T, E>,
    ) -> Result<T, E> {
        let mut conn = self.lock();
        // Committing the pending batch first keeps readers to durable data, and frees the
        // writers waiting on it.
        let _ = self.commit_batch(&mut conn);
        let db = &conn.db;
        exec(db, "BEGIN DEFERRED").map_err(StoreError::from)?;
        let res = f(&Tx { tx: db });
        let _ = exec(db, "COMMIT");
        res
    }

    /// Deletes everything (the admin reset).
    pub fn reset(&self) -> Result<()> {
        self.write(|tx| {
            tx.tx
                .execute_batch("DELETE FROM documents; DELETE FROM series; DELETE FROM blocks;")?;
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
    fn concurrent_writers_share_commits_and_keep_their_own_outcome() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let threads: Vec<_> = (0..8)
            .map(|t| {
                let store = store.clone();
                std::thread::spawn(move || {
                    for i in 0..40 {
                        let key = format!("{t}-{i}");
                        let res: Result<()> = store.write(|tx| {
                            TOPICS.put(tx, "p", &key, &Topic { name: key.clone() })?;
                            if i % 5 == 0 {
                                return Err(StoreError::Io(std::io::Error::other("refused")));
                            }
                            Ok(())
                        });
                        assert_eq!(res.is_ok(), i % 5 != 0, "{key}");
                        // A write is visible as soon as it returned.
                        let got = store.read(|tx| TOPICS.get(tx, "p", &key)).unwrap();
                        assert_eq!(got.is_some(), i % 5 != 0, "{key}");
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        assert_eq!(store.read(|tx| TOPICS.count(tx, "p")).unwrap(), 8 * 32);
        drop(store);
        let reopened = Store::open(dir.path()).unwrap();
        assert_eq!(reopened.read(|tx| TOPICS.count(tx, "p")).unwrap(), 8 * 32);
    }

    #[test]
    fn a_panicking_writer_leaves_nothing_and_the_store_works_on() {
        let store = Store::in_memory().unwrap();
        let s2 = store.clone();
        let panicked = std::thread::spawn(move || {
            let _: Result<()> = s2.write(|tx| {
                TOPICS.put(tx, "p", "boom", &Topic { name: "boom".into() })?;
                panic!("writer bug");
            });
        })
        .join();
        assert!(panicked.is_err());
        store.write(|tx| TOPICS.put(tx, "p", "after", &Topic { name: "after".into() })).unwrap();
        assert_eq!(store.read(|tx| TOPICS.get(tx, "p", "boom")).unwrap(), None);
        assert!(store.read(|tx| TOPICS.get(tx, "p", "after")).unwrap().is_some());
    }

    /// A writer whose batch a later writer panics in is not left waiting for some other
    /// store call to commit it.
    #[test]
    fn a_panicking_writer_commits_the_batch_others_wait_on() {
        let store = Store::in_memory().unwrap();
        let (inside_tx, inside_rx) = std::sync::mpsc::channel();
        let (done_tx, done_rx) = std::sync::mpsc::channel();
        let a = store.clone();
        let first = std::thread::spawn(move || {
            let res = a.write(|tx| {
                TOPICS.put(tx, "p", "a", &Topic { name: "a".into() })?;
                inside_tx.send(()).unwrap();
                // Long enough for the second writer to queue on the lock, so this one
                // leaves its batch open for it.
                std::thread::sleep(std::time::Duration::from_millis(200));
                Ok::<_, StoreError>(())
            });
            done_tx.send(res.is_ok()).unwrap();
        });
        inside_rx.recv().unwrap();
        let b = store.clone();
        let second = std::thread::spawn(move || {
            let _: Result<()> = b.write(|_| panic!("writer bug"));
        });
        assert!(second.join().is_err());
        let committed = done_rx.recv_timeout(std::time::Duration::from_secs(10));
        assert_eq!(committed, Ok(true), "the first writer is still waiting on its batch");
        first.join().unwrap();
        assert!(store.read(|tx| TOPICS.get(tx, "p", "a")).unwrap().is_some());
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
