//! Append-only, time-ordered records (log events, metric datapoints, trail events),
//! kept apart from documents so large volumes stay out of memory and retention can
//! delete by time.

use std::marker::PhantomData;

use rusqlite::params;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::{Result, Tx};

/// A typed series, declared once by a service:
/// `const EVENTS: Series<LogEvent> = Series::new("logs.events");`
#[derive(Debug)]
pub struct Series<T> {
    ns: &'static str,
    _t: PhantomData<fn() -> T>,
}

impl<T> Clone for Series<T> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<T> Copy for Series<T> {}

/// A record read back from a series.
#[derive(Debug, Clone, PartialEq)]
pub struct Record<T> {
    /// Insertion id, increasing: a stable cursor for pagination.
    pub id: i64,
    /// The stream within the partition (a log stream, a metric id).
    pub stream: String,
    /// Time in milliseconds since the epoch.
    pub ts: i64,
    /// The record.
    pub value: T,
}

impl<T: Serialize + DeserializeOwned> Series<T> {
    /// A series in namespace `ns`.
    pub const fn new(ns: &'static str) -> Self {
        Self { ns, _t: PhantomData }
    }

    /// Appends a record; returns its id.
    pub fn append(&self, tx: &Tx<'_>, part: &str, stream: &str, ts: i64, value: &T) -> Result<i64> {
        let body = serde_json::to_vec(value)?;
        tx.tx
            .prepare_cached(
                "INSERT INTO series (ns, part, stream, ts, body) VALUES (?1, ?2, ?3, ?4, ?5)",
            )?
            .execute(params![self.ns, part, stream, ts, body])?;
        Ok(tx.tx.last_insert_rowid())
    }

    /// Appends many records, as [`Series::append`] does one by one, with multi-row
    /// inserts (fewer statement runs and one body buffer per chunk). Rows are
    /// `(partition, stream, ts, value)`; ids increase in row order.
    pub fn append_all<'v>(
        &self,
        tx: &Tx<'_>,
        rows: impl IntoIterator<Item = (&'v str, &'v str, i64, &'v T)>,
    ) -> Result<()>
    where
        T: 'v,
    {
        let mut buf = Vec::new();
        let mut chunk: Vec<(&str, &str, i64, std::ops::Range<usize>)> = Vec::with_capacity(CHUNK);
        for (part, stream, ts, value) in rows {
            let start = buf.len();
            serde_json::to_writer(&mut buf, value)?;
            chunk.push((part, stream, ts, start..buf.len()));
            if chunk.len() == CHUNK {
                self.insert_chunk(tx, &chunk, &buf)?;
                chunk.clear();
                buf.clear();
            }
        }
        self.insert_chunk(tx, &chunk, &buf)
    }

    fn insert_chunk(
        &self,
        tx: &Tx<'_>,
        rows: &[(&str, &str, i64, std::ops::Range<usize>)],
        buf: &[u8],
    ) -> Result<()> {
        if rows.len() < CHUNK {
            // A short tail: one cached single-row statement rather than a statement per length.
            let mut stmt = tx.tx.prepare_cached(
                "INSERT INTO series (ns, part, stream, ts, body) VALUES (?1, ?2, ?3, ?4, ?5)",
            )?;
            for (part, stream, ts, body) in rows {
                stmt.execute(params![self.ns, part, stream, ts, &buf[body.clone()]])?;
            }
            return Ok(());
        }
        let mut stmt = tx.tx.prepare_cached(&CHUNK_SQL)?;
        let bodies: Vec<&[u8]> = rows.iter().map(|r| &buf[r.3.clone()]).collect();
        let mut args: Vec<&dyn rusqlite::ToSql> = Vec::with_capacity(rows.len() * 5);
        for (row, body) in rows.iter().zip(&bodies) {
            args.extend([&self.ns as &dyn rusqlite::ToSql, &row.0, &row.1, &row.2, body]);
        }
        stmt.execute(args.as_slice())?;
        Ok(())
    }

    /// Records of `streams` (all streams when empty) with `start <= ts < end`, ordered by
    /// (ts, id), starting after the cursor `(ts, id)`, at most `limit`; newest first when
    /// `backward`.
    #[allow(clippy::too_many_arguments)]
    pub fn range(
        &self,
        tx: &Tx<'_>,
        part: &str,
        streams: &[&str],
        start: i64,
        end: i64,
        after: Option<(i64, i64)>,
        limit: usize,
        backward: bool,
    ) -> Result<Vec<Record<T>>> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let (cts, cid) =
            after.unwrap_or(if backward { (i64::MAX, i64::MAX) } else { (i64::MIN, i64::MIN) });
        let (cmp, order) = if backward { ("<", "DESC") } else { (">", "ASC") };
        let stream_filter = if streams.is_empty() {
            String::new()
        } else {
            format!(" AND stream IN ({})", vec!["?"; streams.len()].join(","))
        };
        let sql = format!(
            "SELECT id, stream, ts, body FROM series WHERE ns = ? AND part = ? AND ts >= ? AND ts < ?
             AND (ts, id) {cmp} (?, ?){stream_filter} ORDER BY ts {order}, id {order} LIMIT ?"
        );
        let mut stmt = tx.tx.prepare_cached(&sql)?;
        let mut args: Vec<&dyn rusqlite::ToSql> = vec![&self.ns, &part, &start, &end, &cts, &cid];
        for s in streams {
            args.push(s);
        }
        args.push(&limit);
        read_records(&mut stmt, args.as_slice())
    }

    /// Deletes records of a stream (every stream when `None`) older than `before`.
    pub fn delete_before(
        &self,
        tx: &Tx<'_>,
        part: &str,
        stream: Option<&str>,
        before: i64,
    ) -> Result<usize> {
        let n = match stream {
            Some(s) => tx
                .tx
                .prepare_cached(
                    "DELETE FROM series WHERE ns = ?1 AND part = ?2 AND stream = ?3 AND ts < ?4",
                )?
                .execute(params![self.ns, part, s, before])?,
            None => tx
                .tx
                .prepare_cached("DELETE FROM series WHERE ns = ?1 AND part = ?2 AND ts < ?3")?
                .execute(params![self.ns, part, before])?,
        };
        Ok(n)
    }

    /// Deletes records of every partition older than `before`.
    pub fn delete_before_everywhere(&self, tx: &Tx<'_>, before: i64) -> Result<usize> {
        Ok(tx
            .tx
            .prepare_cached("DELETE FROM series WHERE ns = ?1 AND ts < ?2")?
            .execute(params![self.ns, before])?)
    }

    /// Deletes the records with the given ids (from [`Series::append`] or a [`Record`]);
    /// returns how many there were. Used by outboxes that remove what was delivered.
    pub fn delete_ids(&self, tx: &Tx<'_>, part: &str, ids: &[i64]) -> Result<usize> {
        let mut stmt =
            tx.tx.prepare_cached("DELETE FROM series WHERE id = ?1 AND ns = ?2 AND part = ?3")?;
        let mut n = 0;
        for id in ids {
            n += stmt.execute(params![id, self.ns, part])?;
        }
        Ok(n)
    }

    /// Deletes the records of one stream with `start <= ts < end` (a roll-up replaces
    /// them with coarser records).
    pub fn delete_range(
        &self,
        tx: &Tx<'_>,
        part: &str,
        stream: &str,
        start: i64,
        end: i64,
    ) -> Result<usize> {
        Ok(tx
            .tx
            .prepare_cached(
                "DELETE FROM series WHERE ns = ?1 AND part = ?2 AND stream = ?3 AND ts >= ?4 AND ts < ?5",
            )?
            .execute(params![self.ns, part, stream, start, end])?)
    }

    /// Deletes every record of a stream.
    pub fn delete_stream(&self, tx: &Tx<'_>, part: &str, stream: &str) -> Result<usize> {
        Ok(tx
            .tx
            .prepare_cached("DELETE FROM series WHERE ns = ?1 AND part = ?2 AND stream = ?3")?
            .execute(params![self.ns, part, stream])?)
    }
}

/// Rows per multi-row insert of [`Series::append_all`] (5 parameters each, well under
/// SQLite's limit of 32,766).
const CHUNK: usize = 32;

/// The multi-row insert of [`CHUNK`] rows.
static CHUNK_SQL: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    let rows = vec!["(?, ?, ?, ?, ?)"; CHUNK].join(", ");
    format!("INSERT INTO series (ns, part, stream, ts, body) VALUES {rows}")
});

/// Reads `(id, stream, ts, body)` rows into records.
fn read_records<T: DeserializeOwned>(
    stmt: &mut rusqlite::CachedStatement<'_>,
    args: impl rusqlite::Params,
) -> Result<Vec<Record<T>>> {
    let mut rows = stmt.query(args)?;
    let mut res = Vec::new();
    while let Some(r) = rows.next()? {
        // The body is parsed where SQLite holds it, without copying it out first.
        let body = r.get_ref(3)?;
        let body = body.as_blob().or_else(|_| body.as_str().map(str::as_bytes)).map_err(|e| {
            rusqlite::Error::FromSqlConversionFailure(3, body.data_type(), Box::new(e))
        })?;
        let value = serde_json::from_slice(body)?;
        res.push(Record { id: r.get(0)?, stream: r.get(1)?, ts: r.get(2)?, value });
    }
    Ok(res)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Store;

    const EVENTS: Series<String> = Series::new("test.events");

    #[test]
    fn append_all_matches_append() {
        let store = Store::in_memory().unwrap();
        let values: Vec<String> = (0..CHUNK * 2 + 5).map(|i| format!("v{i}")).collect();
        store
            .write(|tx| {
                EVENTS.append(tx, "p", "a", 0, &"first".to_owned())?;
                let rows = values
                    .iter()
                    .enumerate()
                    .map(|(i, v)| (if i % 2 == 0 { "p" } else { "q" }, "s", i as i64, v));
                EVENTS.append_all(tx, rows)?;
                EVENTS.append_all(tx, std::iter::empty())
            })
            .unwrap();
        let all = |part| {
            let mut recs =
                store.read(|tx| EVENTS.range(tx, part, &[], i64::MIN, i64::MAX, None, 1000, false));
            recs.as_mut().unwrap().sort_by_key(|r| r.id);
            recs.unwrap()
        };
        let (p, q) = (all("p"), all("q"));
        assert_eq!(p.len() + q.len(), values.len() + 1);
        assert_eq!(p[0].value, "first");
        let mut got: Vec<(i64, i64, String)> =
            p[1..].iter().chain(&q).map(|r| (r.id, r.ts, r.value.clone())).collect();
        got.sort();
        // In row order: ids increase with the row index, and each value kept its time.
        assert!(got.windows(2).all(|w| w[0].1 < w[1].1));
        for (i, (_, ts, v)) in got.iter().enumerate() {
            assert_eq!((*ts, v.as_str()), (i as i64, values[i].as_str()));
        }
        assert!(q.iter().all(|r| r.stream == "s" && r.ts % 2 == 1));
    }

    #[test]
    fn ranges_pages_and_retention() {
        let store = Store::in_memory().unwrap();
        store
            .write(|tx| {
                for (stream, ts) in [("a", 10), ("b", 20), ("a", 30), ("a", 30), ("b", 40)] {
                    EVENTS.append(tx, "p", stream, ts, &format!("{stream}{ts}"))?;
                }
                Ok::<_, crate::StoreError>(())
            })
            .unwrap();
        let all = store.read(|tx| EVENTS.range(tx, "p", &[], 0, 100, None, 10, false)).unwrap();
        assert_eq!(all.iter().map(|r| r.ts).collect::<Vec<_>>(), [10, 20, 30, 30, 40]);
        let a = store.read(|tx| EVENTS.range(tx, "p", &["a"], 0, 100, None, 2, false)).unwrap();
        assert_eq!(a.len(), 2);
        let next = store
            .read(|tx| EVENTS.range(tx, "p", &["a"], 0, 100, Some((a[1].ts, a[1].id)), 10, false))
            .unwrap();
        assert_eq!(next.len(), 1);
        assert_eq!(next[0].ts, 30);
        let back = store.read(|tx| EVENTS.range(tx, "p", &[], 0, 35, None, 10, true)).unwrap();
        assert_eq!(back.first().map(|r| r.ts), Some(30));
        let gone = store.write(|tx| EVENTS.delete_before(tx, "p", None, 25)).unwrap();
        assert_eq!(gone, 2);
        let gone = store.write(|tx| EVENTS.delete_range(tx, "p", "b", 40, 41)).unwrap();
        assert_eq!(gone, 1);
        // Ids of another partition or namespace are left alone.
        let ids: Vec<i64> = back.iter().map(|r| r.id).collect();
        assert_eq!(store.write(|tx| EVENTS.delete_ids(tx, "other", &ids)).unwrap(), 0);
        assert_eq!(store.write(|tx| EVENTS.delete_ids(tx, "p", &ids)).unwrap(), 2);
        let left = store.read(|tx| EVENTS.range(tx, "p", &[], 0, 100, None, 10, false)).unwrap();
        assert!(left.is_empty());
    }
}
