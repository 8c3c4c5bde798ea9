//! Append-only, time-ordered records stored many to a row: the layout for high-volume
//! series (CloudTrail events, log events), where one row and its index entries per
//! record cost more than shaping the record itself.
//!
//! A write groups its records by partition and stream, sorts each group by time and
//! cuts it into blocks of at most [`BLOCK_RECORDS`] records, [`BLOCK_BYTES`] bytes and
//! [`BLOCK_SPAN_MS`] of time. A block is one row: its time range, its record count and
//! the id of its last record (the row id). Its records' ids are the `n` ids ending
//! there, in time order, so ids increase in insertion order across blocks, as
//! [`crate::Series`] ids do, and a cursor `(ts, id)` or `id` stays valid when older
//! records are deleted (retention removes a block's oldest records, keeping the others'
//! ids).
//!
//! Reads walk the blocks in the order of their time bounds, through indexes on both
//! bounds, and emit a record once no block left to read can hold an earlier one (in the
//! order asked for). So a read decodes the blocks that hold what it returns, plus at
//! most those overlapping the last of them, however far back the history goes.
//!
//! Block body: a single record is its stored form. Several are a header of `n` entries
//! `(ts: i64 LE, end: u32 LE)`, `end` the offset after the record in the part that
//! follows the header, then the records one after another. A body of
//! [`COMPRESS_FROM`] bytes or more is stored LZ4-compressed (`codec` 1, the block
//! format with its length before it) when that saves an eighth or more: records of one
//! stream repeat most of their bytes, so a block of CloudTrail events shrinks about
//! eightfold, which is what an in-memory store holds and an on-disk one writes twice
//! (WAL, then database file).

use std::cell::RefCell;
use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::marker::PhantomData;
use std::ops::Range;

use rusqlite::params;

use crate::{Record, Result, StoreError, Tx};

/// How a block series stores its records: a format of the type's own, since these are
/// the records read and written by the million (JSON inside JSON would escape every
/// quote of a log message on the way in and unescape it on the way out).
pub trait BlockRecord: Sized {
    /// Appends the stored form of `self` to `out`.
    fn encode(&self, out: &mut Vec<u8>);
    /// Reads a record back from its stored form.
    fn decode(bytes: &[u8]) -> Result<Self>;
}

/// Most records in one block.
pub const BLOCK_RECORDS: usize = 4_096;
/// A block is closed once its records' JSON reaches this many bytes.
pub const BLOCK_BYTES: usize = 1 << 20;
/// Most time between a block's first and last record. Reads rely on it: a block whose
/// newest record is at `t` holds nothing older than `t - BLOCK_SPAN_MS`.
pub const BLOCK_SPAN_MS: i64 = 60_000;

const HEADER_ENTRY: usize = 12;

/// Bodies of at least this many bytes are stored compressed when that pays.
pub const COMPRESS_FROM: usize = 1024;
/// `codec` of a body stored as it is.
const RAW: i64 = 0;
/// `codec` of an LZ4 body (block format, its decompressed length first as u32 LE).
const LZ4: i64 = 1;
/// The most a compressed body may claim to decompress to: far above any block (a block
/// closes past BLOCK_BYTES, plus its last record), so a damaged length is refused
/// instead of allocated.
const MAX_RAW: usize = 256 << 20;

/// Buffers for block bodies, kept by each thread from one block (and one call) to the
/// next: a fresh megabyte per block cost page faults and zeroing on every block
/// written or read.
#[derive(Default)]
struct Scratch {
    /// A body being written, before packing.
    body: Vec<u8>,
    /// A packed body.
    packed: Vec<u8>,
    /// A body read back, unpacked.
    unpacked: Vec<u8>,
}

thread_local! {
    static SCRATCH: RefCell<Scratch> = RefCell::new(Scratch::default());
}

/// Buffers that grew past this (a block whose last record is huge) are not kept: a
/// thread keeps at most three of about a block's size.
const KEEP_SCRATCH: usize = 2 * BLOCK_BYTES;

/// Runs `f` with this thread's scratch buffers (fresh ones if they are in use).
fn with_scratch<R>(f: impl FnOnce(&mut Scratch) -> R) -> R {
    SCRATCH.with(|cell| match cell.try_borrow_mut() {
        Ok(mut scratch) => {
            let res = f(&mut scratch);
            let Scratch { body, packed, unpacked } = &mut *scratch;
            for buf in [body, packed, unpacked] {
                if buf.capacity() > KEEP_SCRATCH {
                    *buf = Vec::new();
                }
            }
            res
        }
        Err(_) => f(&mut Scratch::default()),
    })
}

/// Makes `buf` at least `len` bytes long (zeroing only what it never held) and returns
/// its first `len` bytes.
fn room(buf: &mut Vec<u8>, len: usize) -> &mut [u8] {
    if buf.len() < len {
        buf.resize(len, 0);
    }
    &mut buf[..len]
}

/// The stored form of a block body and its codec, packed into `out` when compressed.
fn pack<'a>(raw: &'a [u8], out: &'a mut Vec<u8>) -> (&'a [u8], i64) {
    if raw.len() >= COMPRESS_FROM
        && let Ok(len) = u32::try_from(raw.len())
    {
        let max = 4 + lz4_flex::block::get_maximum_output_size(raw.len());
        let dst = room(out, max);
        dst[..4].copy_from_slice(&len.to_le_bytes());
        if let Ok(n) = lz4_flex::block::compress_into(raw, &mut dst[4..])
            && 4 + n <= raw.len() - raw.len() / 8
        {
            return (&out[..4 + n], LZ4);
        }
    }
    (raw, RAW)
}

/// A block body as it was packed, from its stored form (unpacked into `out` when it is
/// compressed).
fn unpack<'a>(stored: &'a [u8], codec: i64, id: i64, out: &'a mut Vec<u8>) -> Result<&'a [u8]> {
    match codec {
        RAW => Ok(stored),
        LZ4 => {
            let claimed = stored
                .get(..4)
                .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize)
                .ok_or_else(|| StoreError::Malformed(format!("block {id} is truncated")))?;
            if claimed > MAX_RAW {
                return Err(StoreError::Malformed(format!(
                    "block {id} claims {claimed} bytes, more than a block holds"
                )));
            }
            match lz4_flex::block::decompress_into(&stored[4..], room(out, claimed)) {
                Ok(n) if n == claimed => Ok(&out[..n]),
                Ok(n) => Err(StoreError::Malformed(format!(
                    "block {id} decompresses to {n} bytes, not the {claimed} it claims"
                ))),
                Err(e) => {
                    Err(StoreError::Malformed(format!("block {id} does not decompress: {e}")))
                }
            }
        }
        other => Err(StoreError::Malformed(format!("block {id} has unknown codec {other}"))),
    }
}

/// A typed series stored in blocks, declared once by a service:
/// `const EVENTS: BlockSeries<Event> = BlockSeries::new("logs.events");`
/// Its operations mean what [`crate::Series`]'s of the same name mean.
#[derive(Debug)]
pub struct BlockSeries<T> {
    ns: &'static str,
    _t: PhantomData<fn() -> T>,
}

impl<T> Clone for BlockSeries<T> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<T> Copy for BlockSeries<T> {}

/// The records of one partition and stream to append: `((part, stream), [(ts, json)])`.
type Group<'v, 'b> = ((&'v str, &'v str), Vec<(i64, &'b [u8])>);

/// Blocks ready to be inserted by [`Packed::insert`] (from [`BlockSeries::pack`]).
#[derive(Debug)]
pub struct Packed<'v> {
    ns: &'static str,
    blocks: Vec<PackedBlock<'v>>,
    /// The stored bodies of the blocks, one after another.
    data: Vec<u8>,
}

#[derive(Debug)]
struct PackedBlock<'v> {
    part: &'v str,
    stream: &'v str,
    n: usize,
    t_min: i64,
    t_max: i64,
    codec: i64,
    /// Where the stored body lies in [`Packed::data`].
    body: Range<usize>,
}

impl Packed<'_> {
    /// Inserts the blocks: ids increase in the order of time within each partition and
    /// stream of the packed records (ties keep the order given), and every id is above
    /// those of earlier appends.
    pub fn insert(&self, tx: &Tx<'_>) -> Result<()> {
        if self.blocks.is_empty() {
            return Ok(());
        }
        let mut seq: i64 = tx
            .tx
            .prepare_cached(
                "SELECT COALESCE((SELECT seq FROM sqlite_sequence WHERE name = 'blocks'), 0)",
            )?
            .query_row([], |r| r.get(0))?;
        let mut stmt = tx.tx.prepare_cached(
            "INSERT INTO blocks (id, ns, part, stream, t_min, t_max, n, body, codec)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        )?;
        for b in &self.blocks {
            let n = b.n as i64;
            seq += n;
            let body = &self.data[b.body.clone()];
            stmt.execute(params![
                seq, self.ns, b.part, b.stream, b.t_min, b.t_max, n, body, b.codec
            ])?;
        }
        Ok(())
    }
}

/// A record read from a block.
struct Item<T> {
    id: i64,
    ts: i64,
    stream: std::rc::Rc<str>,
    value: T,
}

impl<T> Item<T> {
    fn into_record(self) -> Record<T> {
        Record { id: self.id, stream: self.stream.to_string(), ts: self.ts, value: self.value }
    }
}

/// The records of a block row, still in their stored form.
struct Entries<'r> {
    stream: &'r str,
    body: &'r [u8],
    /// `(id, ts, where the record lies in body)`, in time order.
    items: Vec<(i64, i64, Range<usize>)>,
}

impl Entries<'_> {
    /// Decodes the records `keep` accepts (by id and time).
    fn decode<T: BlockRecord>(&self, keep: impl Fn(i64, i64) -> bool) -> Result<Vec<Item<T>>> {
        let mut stream = None;
        let mut out = Vec::new();
        for (id, ts, r) in &self.items {
            if keep(*id, *ts) {
                let stream = stream.get_or_insert_with(|| std::rc::Rc::<str>::from(self.stream));
                let value = T::decode(&self.body[r.clone()])?;
                out.push(Item { id: *id, ts: *ts, stream: stream.clone(), value });
            }
        }
        Ok(out)
    }
}

impl<T: BlockRecord> BlockSeries<T> {
    /// A block series in namespace `ns`.
    pub const fn new(ns: &'static str) -> Self {
        Self { ns, _t: PhantomData }
    }

    /// Appends records `(partition, stream, ts, value)`. Ids increase in the order of
    /// time within each partition and stream of this call (ties keep the order given),
    /// and every id is above those of earlier appends.
    pub fn append_all<'v>(
        &self,
        tx: &Tx<'_>,
        rows: impl IntoIterator<Item = (&'v str, &'v str, i64, &'v T)>,
    ) -> Result<()>
    where
        T: 'v,
    {
        self.pack(rows).insert(tx)
    }

    /// The blocks [`Self::append_all`] would write, cut, encoded and packed without the
    /// store: a writer packs before [`crate::Store::write`] and inserts inside it, so
    /// that compression does not hold up the other users of the store's one connection.
    pub fn pack<'v>(
        &self,
        rows: impl IntoIterator<Item = (&'v str, &'v str, i64, &'v T)>,
    ) -> Packed<'v>
    where
        T: 'v,
    {
        let mut buf = Vec::new();
        let mut spans = Vec::new();
        for (part, stream, ts, value) in rows {
            let start = buf.len();
            value.encode(&mut buf);
            spans.push((part, stream, ts, start..buf.len()));
        }
        self.pack_raw(spans.iter().map(|(p, s, ts, r)| (*p, *s, *ts, &buf[r.clone()])))
    }

    /// Like [`Self::pack`], for records already in their stored form (a writer that builds
    /// it in one pass saves building a `T` only to encode it): each body must decode as a
    /// `T`.
    pub fn pack_raw<'v, 'b>(
        &self,
        rows: impl IntoIterator<Item = (&'v str, &'v str, i64, &'b [u8])>,
    ) -> Packed<'v> {
        // Few groups per call (a writer batch spans a handful of partitions), so a list.
        let mut groups: Vec<Group<'v, 'b>> = Vec::new();
        for (part, stream, ts, body) in rows {
            match groups.iter_mut().find(|(k, _)| *k == (part, stream)) {
                Some((_, g)) => g.push((ts, body)),
                None => groups.push(((part, stream), vec![(ts, body)])),
            }
        }
        let mut out = Packed { ns: self.ns, blocks: Vec::new(), data: Vec::new() };
        with_scratch(|Scratch { body, packed, .. }| {
            for ((part, stream), mut group) in groups {
                group.sort_by_key(|(ts, _)| *ts);
                let mut rest = group.as_slice();
                while !rest.is_empty() {
                    let n = block_len(rest);
                    let block = &rest[..n];
                    rest = &rest[n..];
                    encode(block, body);
                    let (stored, codec) = pack(body, packed);
                    let start = out.data.len();
                    out.data.extend_from_slice(stored);
                    out.blocks.push(PackedBlock {
                        part,
                        stream,
                        n,
                        t_min: block[0].0,
                        t_max: block[n - 1].0,
                        codec,
                        body: start..out.data.len(),
                    });
                }
            }
        });
        out
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
        let mut out = Vec::new();
        if limit == 0 || start >= end {
            return Ok(out);
        }
        let stream_filter = match streams.len() {
            0 => String::new(),
            1 => " AND stream = ?".to_owned(),
            n => format!(" AND stream IN ({})", vec!["?"; n].join(",")),
        };
        // Which index walks the blocks in order: by stream for one stream, by partition
        // otherwise (the stream list is then a filter).
        let index = if streams.len() == 1 { "stream" } else { "part" };
        if backward {
            let (cts, cid) = after.unwrap_or((i64::MAX, i64::MAX));
            // Records at or before `last` (before `end`, not after the cursor) are in
            // blocks starting at or before it, so ending at or before `last + span`
            // (inclusive bounds, so that saturating at i64::MAX loses nothing).
            let last = end.min(cts.saturating_add(1)) - 1;
            let sql = format!(
                "SELECT id, stream, n, t_min, t_max, body, codec FROM blocks INDEXED BY blocks_{index}_t_max
                 WHERE ns = ? AND part = ?{stream_filter}
                 AND t_max >= ? AND t_max <= ? AND t_min <= ?
                 ORDER BY t_max DESC, id DESC"
            );
            let last_max = last.saturating_add(BLOCK_SPAN_MS);
            let mut args: Vec<&dyn rusqlite::ToSql> = vec![&self.ns, &part];
            args.extend(streams.iter().map(|s| s as &dyn rusqlite::ToSql));
            args.extend([&start as &dyn rusqlite::ToSql, &last_max, &last]);
            let keep = |id, ts| ts >= start && ts < end && (ts, id) < (cts, cid);
            let mut heap: BinaryHeap<Newest<T>> = BinaryHeap::new();
            walk(tx, &sql, &args, T_MAX, |bound, block| {
                // Blocks still to read end at or before `bound`: what is newer comes first.
                while heap.peek().is_some_and(|top| bound.is_none_or(|b| top.0.ts > b)) {
                    if let Some(Newest(r)) = heap.pop() {
                        out.push(r.into_record());
                    }
                    if out.len() == limit {
                        return Ok(false);
                    }
                }
                heap.extend(block.decode(keep)?.into_iter().map(Newest));
                Ok(true)
            })?;
        } else {
            let (cts, cid) = after.unwrap_or((i64::MIN, i64::MIN));
            let lo = start.max(cts);
            let sql = format!(
                "SELECT id, stream, n, t_min, t_max, body, codec FROM blocks INDEXED BY blocks_{index}_t_min
                 WHERE ns = ? AND part = ?{stream_filter}
                 AND t_min >= ? AND t_min < ? AND t_max >= ?
                 ORDER BY t_min ASC, id ASC"
            );
            let lo_min = lo.saturating_sub(BLOCK_SPAN_MS);
            let mut args: Vec<&dyn rusqlite::ToSql> = vec![&self.ns, &part];
            args.extend(streams.iter().map(|s| s as &dyn rusqlite::ToSql));
            args.extend([&lo_min as &dyn rusqlite::ToSql, &end, &lo]);
            let keep = |id, ts| ts >= start && ts < end && (ts, id) > (cts, cid);
            let mut heap: BinaryHeap<Reverse<Newest<T>>> = BinaryHeap::new();
            walk(tx, &sql, &args, T_MIN, |bound, block| {
                // Blocks still to read start at or after `bound`: what is older comes first.
                while heap.peek().is_some_and(|Reverse(top)| bound.is_none_or(|b| top.0.ts < b)) {
                    if let Some(Reverse(Newest(r))) = heap.pop() {
                        out.push(r.into_record());
                    }
                    if out.len() == limit {
                        return Ok(false);
                    }
                }
                heap.extend(block.decode(keep)?.into_iter().map(|r| Reverse(Newest(r))));
                Ok(true)
            })?;
        }
        Ok(out)
    }

    /// Records of a partition with an id greater than `after_id`, in id (insertion) order,
    /// at most `limit`: a cursor that never skips a record appended later with an earlier
    /// time.
    pub fn since_id(
        &self,
        tx: &Tx<'_>,
        part: &str,
        after_id: i64,
        limit: usize,
    ) -> Result<Vec<Record<T>>> {
        let mut out = Vec::new();
        if limit == 0 {
            return Ok(out);
        }
        let mut stmt = tx.tx.prepare_cached(
            "SELECT id, stream, n, t_min, t_max, body, codec FROM blocks INDEXED BY blocks_by_id
             WHERE ns = ?1 AND part = ?2 AND id > ?3 ORDER BY id",
        )?;
        let mut rows = stmt.query(params![self.ns, part, after_id])?;
        with_scratch(|scratch| {
            while let Some(row) = rows.next()? {
                let wanted = limit - out.len();
                let block = entries(row, &mut scratch.unpacked)?;
                let kept = block.items.iter().filter(|(id, ..)| *id > after_id).take(wanted);
                let last = kept.last().map_or(i64::MIN, |(id, ..)| *id);
                out.extend(
                    block
                        .decode(|id, _| id > after_id && id <= last)?
                        .into_iter()
                        .map(Item::into_record),
                );
                if out.len() == limit {
                    break;
                }
            }
            Ok(out)
        })
    }

    /// The partitions holding records whose name starts with `prefix`, in name order (a
    /// skip scan: the cost grows with the number of partitions, not of records).
    pub fn parts(&self, tx: &Tx<'_>, prefix: &str) -> Result<Vec<String>> {
        let mut stmt = tx.tx.prepare_cached(
            "WITH RECURSIVE p(part) AS (
                 SELECT (SELECT MIN(part) FROM blocks WHERE ns = ?1 AND part >= ?2)
                 UNION ALL
                 SELECT (SELECT MIN(b.part) FROM blocks b WHERE b.ns = ?1 AND b.part > p.part)
                 FROM p WHERE p.part IS NOT NULL AND substr(p.part, 1, length(?2)) = ?2
             )
             SELECT part FROM p WHERE part IS NOT NULL AND substr(part, 1, length(?2)) = ?2",
        )?;
        let rows = stmt.query_map(params![self.ns, prefix], |r| r.get::<_, String>(0))?;
        Ok(rows.collect::<std::result::Result<_, _>>()?)
    }

    /// The highest id in a partition (0 when empty).
    pub fn last_id(&self, tx: &Tx<'_>, part: &str) -> Result<i64> {
        Ok(tx
            .tx
            .prepare_cached("SELECT COALESCE(MAX(id), 0) FROM blocks INDEXED BY blocks_by_id WHERE ns = ?1 AND part = ?2")?
            .query_row(params![self.ns, part], |r| r.get(0))?)
    }

    /// Deletes records of a stream (every stream when `None`) older than `before`;
    /// returns how many.
    pub fn delete_before(
        &self,
        tx: &Tx<'_>,
        part: &str,
        stream: Option<&str>,
        before: i64,
    ) -> Result<usize> {
        let (filter, index) = match stream {
            Some(_) => (" AND stream = ?", "stream"),
            None => ("", "part"),
        };
        let mut args: Vec<&dyn rusqlite::ToSql> = vec![&self.ns, &part];
        if let Some(s) = &stream {
            args.push(s);
        }
        args.push(&before);
        let whole = format!(
            "SELECT COALESCE(SUM(n), 0) FROM blocks INDEXED BY blocks_{index}_t_max
             WHERE ns = ? AND part = ?{filter} AND t_max < ?"
        );
        let mut gone: i64 =
            tx.tx.prepare_cached(&whole)?.query_row(args.as_slice(), |r| r.get(0))?;
        let delete = format!(
            "DELETE FROM blocks WHERE id IN (SELECT id FROM blocks INDEXED BY blocks_{index}_t_max
             WHERE ns = ? AND part = ?{filter} AND t_max < ?)"
        );
        tx.tx.prepare_cached(&delete)?.execute(args.as_slice())?;
        // What is left older than `before` starts blocks that go on past it.
        let straddling = format!(
            "SELECT id, stream, n, t_min, t_max, body, codec FROM blocks INDEXED BY blocks_{index}_t_min
             WHERE ns = ? AND part = ?{filter} AND t_min < ?"
        );
        let mut trimmed = Vec::new();
        {
            let mut stmt = tx.tx.prepare_cached(&straddling)?;
            let mut rows = stmt.query(args.as_slice())?;
            with_scratch(|Scratch { body, packed, unpacked }| -> Result<()> {
                while let Some(row) = rows.next()? {
                    let id: i64 = row.get(0)?;
                    let block = entries(row, unpacked)?;
                    let keep: Vec<(i64, &[u8])> = block
                        .items
                        .iter()
                        .filter(|(_, ts, _)| *ts >= before)
                        .map(|(_, ts, r)| (*ts, &block.body[r.clone()]))
                        .collect();
                    gone += (block.items.len() - keep.len()) as i64;
                    // A straddling block ends at or after `before`: it keeps its last record.
                    let Some(&(t_min, _)) = keep.first() else { continue };
                    encode(&keep, body);
                    let (stored, codec) = pack(body, packed);
                    trimmed.push((id, keep.len() as i64, t_min, stored.to_vec(), codec));
                }
                Ok(())
            })?;
        }
        let mut update = tx.tx.prepare_cached(
            "UPDATE blocks SET n = ?2, t_min = ?3, body = ?4, codec = ?5 WHERE id = ?1",
        )?;
        for (id, n, t_min, body, codec) in trimmed {
            update.execute(params![id, n, t_min, body, codec])?;
        }
        Ok(usize::try_from(gone).unwrap_or(usize::MAX))
    }

    /// Deletes records of every partition older than `before`; returns how many.
    pub fn delete_before_everywhere(&self, tx: &Tx<'_>, before: i64) -> Result<usize> {
        let mut gone = 0;
        for part in self.parts(tx, "")? {
            gone += self.delete_before(tx, &part, None, before)?;
        }
        Ok(gone)
    }

    /// Deletes every record of a stream; returns how many.
    pub fn delete_stream(&self, tx: &Tx<'_>, part: &str, stream: &str) -> Result<usize> {
        let n: i64 = tx
            .tx
            .prepare_cached(
                "SELECT COALESCE(SUM(n), 0) FROM blocks WHERE ns = ?1 AND part = ?2 AND stream = ?3",
            )?
            .query_row(params![self.ns, part, stream], |r| r.get(0))?;
        tx.tx
            .prepare_cached("DELETE FROM blocks WHERE ns = ?1 AND part = ?2 AND stream = ?3")?
            .execute(params![self.ns, part, stream])?;
        Ok(usize::try_from(n).unwrap_or(usize::MAX))
    }
}

/// A record ordered newest first in a max-heap: by (ts, id).
struct Newest<T>(Item<T>);

impl<T> PartialEq for Newest<T> {
    fn eq(&self, other: &Self) -> bool {
        (self.0.ts, self.0.id) == (other.0.ts, other.0.id)
    }
}
impl<T> Eq for Newest<T> {}
impl<T> PartialOrd for Newest<T> {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl<T> Ord for Newest<T> {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (self.0.ts, self.0.id).cmp(&(other.0.ts, other.0.id))
    }
}

/// Column of a block row holding its lower time bound.
const T_MIN: usize = 3;
/// Column of a block row holding its upper time bound.
const T_MAX: usize = 4;

/// Runs a block query and hands `f` each block with the bound (column `bound_col`) that
/// no block after it crosses, then once more with no block and no bound; `f` answers
/// whether to go on.
fn walk(
    tx: &Tx<'_>,
    sql: &str,
    args: &[&dyn rusqlite::ToSql],
    bound_col: usize,
    mut f: impl FnMut(Option<i64>, &Entries<'_>) -> Result<bool>,
) -> Result<()> {
    let mut stmt = tx.tx.prepare_cached(sql)?;
    let mut rows = stmt.query(args)?;
    let more = with_scratch(|scratch| -> Result<bool> {
        while let Some(row) = rows.next()? {
            let bound: i64 = row.get(bound_col)?;
            if !f(Some(bound), &entries(row, &mut scratch.unpacked)?)? {
                return Ok(false);
            }
        }
        Ok(true)
    })?;
    if more {
        f(None, &Entries { stream: "", body: &[], items: Vec::new() })?;
    }
    Ok(())
}

/// The records of a block row `(id, stream, n, t_min, t_max, body, codec)`; a compressed
/// body is unpacked into `scratch`.
fn entries<'r>(row: &'r rusqlite::Row<'_>, scratch: &'r mut Vec<u8>) -> Result<Entries<'r>> {
    let last: i64 = row.get(0)?;
    let stream = row.get_ref(1)?.as_str().map_err(rusqlite::Error::from)?;
    let n: i64 = row.get(2)?;
    let t_min: i64 = row.get(3)?;
    let body = row.get_ref(5)?;
    let body = body
        .as_blob()
        .or_else(|_| body.as_str().map(str::as_bytes))
        .map_err(|e| rusqlite::Error::FromSqlConversionFailure(5, body.data_type(), Box::new(e)))?;
    let body = unpack(body, row.get(6)?, last, scratch)?;
    if n == 1 {
        let items = vec![(last, t_min, 0..body.len())];
        return Ok(Entries { stream, body, items });
    }
    let spans = decode(body, usize::try_from(n).unwrap_or(0)).ok_or_else(|| {
        StoreError::Malformed(format!("block {last} does not hold its {n} records"))
    })?;
    let first = last - n + 1;
    let items =
        spans.into_iter().enumerate().map(|(i, (ts, r))| (first + i as i64, ts, r)).collect();
    Ok(Entries { stream, body, items })
}

/// How many records of `sorted` (by time) go into the next block.
fn block_len(sorted: &[(i64, &[u8])]) -> usize {
    let t0 = sorted[0].0;
    let mut bytes = 0;
    for (i, (ts, body)) in sorted.iter().enumerate() {
        if i == BLOCK_RECORDS
            || (i > 0 && (bytes >= BLOCK_BYTES || ts.saturating_sub(t0) > BLOCK_SPAN_MS))
        {
            return i;
        }
        bytes += body.len();
    }
    sorted.len()
}

/// Writes the body of a block of `records` (sorted by time) into `out`.
fn encode(records: &[(i64, &[u8])], out: &mut Vec<u8>) {
    out.clear();
    if let [(_, body)] = records {
        out.extend_from_slice(body);
        return;
    }
    out.reserve(records.len() * HEADER_ENTRY + records.iter().map(|r| r.1.len()).sum::<usize>());
    let mut end = 0u32;
    for (ts, body) in records {
        // A block's bodies stay far below 4 GiB (BLOCK_BYTES plus one record).
        end = end.saturating_add(u32::try_from(body.len()).unwrap_or(u32::MAX));
        out.extend_from_slice(&ts.to_le_bytes());
        out.extend_from_slice(&end.to_le_bytes());
    }
    for (_, body) in records {
        out.extend_from_slice(body);
    }
}

/// The `(ts, byte range)` of each of the `n` records of a block body of several; `None`
/// when the body does not hold them.
fn decode(body: &[u8], n: usize) -> Option<Vec<(i64, Range<usize>)>> {
    let header = n.checked_mul(HEADER_ENTRY)?;
    let data = body.get(header..)?;
    let mut out = Vec::with_capacity(n);
    let mut start = 0usize;
    for entry in body[..header].chunks_exact(HEADER_ENTRY) {
        let ts = i64::from_le_bytes(entry[..8].try_into().ok()?);
        let end = u32::from_le_bytes(entry[8..].try_into().ok()?) as usize;
        if end < start || end > data.len() {
            return None;
        }
        out.push((ts, header + start..header + end));
        start = end;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use mamori_mutate::Rng;

    use super::*;
    use crate::Store;

    /// Stored as JSON, as the rows moved from the one-record-a-row layout are.
    impl BlockRecord for String {
        fn encode(&self, out: &mut Vec<u8>) {
            serde_json::to_writer(out, self).unwrap();
        }
        fn decode(bytes: &[u8]) -> Result<Self> {
            Ok(serde_json::from_slice(bytes)?)
        }
    }

    const EVENTS: BlockSeries<String> = BlockSeries::new("test.events");

    /// What the store should hold: `(id, part, stream, ts, value)`.
    #[derive(Default)]
    struct Model {
        rows: Vec<(i64, String, String, i64, String)>,
        seq: i64,
    }

    impl Model {
        /// Ids as the documented order gives them: groups in order of first appearance,
        /// each sorted by time (ties in the order given).
        fn append(&mut self, batch: &[(String, String, i64, String)]) {
            type Group = ((String, String), Vec<(i64, String)>);
            let mut groups: Vec<Group> = Vec::new();
            for (p, s, ts, v) in batch {
                let key = (p.clone(), s.clone());
                match groups.iter_mut().find(|(k, _)| *k == key) {
                    Some((_, g)) => g.push((*ts, v.clone())),
                    None => groups.push((key, vec![(*ts, v.clone())])),
                }
            }
            for ((p, s), mut g) in groups {
                g.sort_by_key(|(ts, _)| *ts);
                for (ts, v) in g {
                    self.seq += 1;
                    self.rows.push((self.seq, p.clone(), s.clone(), ts, v));
                }
            }
        }

        fn range(
            &self,
            part: &str,
            streams: &[&str],
            start: i64,
            end: i64,
            back: bool,
        ) -> Vec<(i64, i64, String)> {
            let mut v: Vec<(i64, i64, String)> = self
                .rows
                .iter()
                .filter(|r| r.1 == part && (streams.is_empty() || streams.contains(&r.2.as_str())))
                .filter(|r| r.3 >= start && r.3 < end)
                .map(|r| (r.3, r.0, r.4.clone()))
                .collect();
            v.sort();
            if back {
                v.reverse();
            }
            v
        }
    }

    fn paged_range(
        store: &Store,
        part: &str,
        streams: &[&str],
        start: i64,
        end: i64,
        page: usize,
        back: bool,
    ) -> Vec<(i64, i64, String)> {
        let mut got = Vec::new();
        let mut after = None;
        loop {
            let recs = store
                .read(|tx| EVENTS.range(tx, part, streams, start, end, after, page, back))
                .unwrap();
            assert!(recs.len() <= page);
            let done = recs.len() < page;
            for r in recs {
                after = Some((r.ts, r.id));
                got.push((r.ts, r.id, r.value));
            }
            if done {
                return got;
            }
        }
    }

    /// Random appends (spans past [`BLOCK_SPAN_MS`] and batches past [`BLOCK_RECORDS`]),
    /// paged reads in both directions, id cursors and retention, against a plain list.
    #[test]
    fn reads_agree_with_a_plain_list() {
        let store = Store::in_memory().unwrap();
        let mut model = Model::default();
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        let parts = ["p", "q"];
        let streams = ["a", "b", "c"];
        let mut n = 0;
        for round in 0..60 {
            let size = match round % 10 {
                0 => BLOCK_RECORDS + 300,
                1 => 1,
                _ => 1 + rng.below(200),
            };
            // Times cluster around a moving point, with some far from it.
            let base = (round as i64) * 20_000;
            let batch: Vec<(String, String, i64, String)> = (0..size)
                .map(|_| {
                    n += 1;
                    let ts = if rng.below(10) == 0 {
                        rng.below(1_500_000) as i64
                    } else {
                        base + rng.below(150_000) as i64
                    };
                    (
                        parts[rng.below(2)].to_owned(),
                        streams[rng.below(3)].to_owned(),
                        ts,
                        format!("v{n}"),
                    )
                })
                .collect();
            store
                .write(|tx| {
                    EVENTS.append_all(
                        tx,
                        batch.iter().map(|(p, s, ts, v)| (p.as_str(), s.as_str(), *ts, v)),
                    )
                })
                .unwrap();
            model.append(&batch);
            if round % 7 == 3 {
                let before = rng.below(400_000) as i64;
                let (part, stream) = (parts[rng.below(2)], streams[rng.below(3)]);
                let one = rng.below(2) == 0;
                let gone = store
                    .write(|tx| EVENTS.delete_before(tx, part, one.then_some(stream), before))
                    .unwrap();
                let len = model.rows.len();
                model.rows.retain(|r| !(r.1 == part && (!one || r.2 == stream) && r.3 < before));
                assert_eq!(
                    gone,
                    len - model.rows.len(),
                    "delete_before {part} {one} {stream} {before}"
                );
            }
            for _ in 0..4 {
                let part = parts[rng.below(2)];
                let chosen: Vec<&str> = match rng.below(3) {
                    0 => Vec::new(),
                    1 => vec![streams[rng.below(3)]],
                    _ => vec!["a", "c"],
                };
                let start = rng.below(1_000_000) as i64 - 100_000;
                let end = start + rng.below(1_500_000) as i64;
                let page = 1 + rng.below(700);
                let back = rng.below(2) == 0;
                let want = model.range(part, &chosen, start, end, back);
                let got = paged_range(&store, part, &chosen, start, end, page, back);
                assert_eq!(
                    got, want,
                    "round {round} {part} {chosen:?} {start}..{end} page {page} back {back}"
                );
            }
            let part = parts[rng.below(2)];
            let mut want: Vec<(i64, String)> =
                model.rows.iter().filter(|r| r.1 == part).map(|r| (r.0, r.4.clone())).collect();
            want.sort();
            let mut got = Vec::new();
            let mut cursor = 0;
            let page = 1 + rng.below(3000);
            loop {
                let recs = store.read(|tx| EVENTS.since_id(tx, part, cursor, page)).unwrap();
                let done = recs.len() < page;
                for r in recs {
                    cursor = r.id;
                    got.push((r.id, r.value));
                }
                if done {
                    break;
                }
            }
            assert_eq!(got, want, "since_id round {round}");
            let last = store.read(|tx| EVENTS.last_id(tx, part)).unwrap();
            assert!(last >= want.last().map_or(0, |w| w.0));
        }
        assert_eq!(store.read(|tx| EVENTS.parts(tx, "")).unwrap(), ["p", "q"]);
        let gone = store.write(|tx| EVENTS.delete_stream(tx, "p", "b")).unwrap();
        assert_eq!(gone, model.rows.iter().filter(|r| r.1 == "p" && r.2 == "b").count());
        assert!(
            store
                .read(|tx| EVENTS.range(tx, "p", &["b"], i64::MIN, i64::MAX, None, 10, false))
                .unwrap()
                .is_empty()
        );
        let left = model.rows.iter().filter(|r| r.3 >= 700_000).count()
            - model.rows.iter().filter(|r| r.1 == "p" && r.2 == "b" && r.3 >= 700_000).count();
        store.write(|tx| EVENTS.delete_before_everywhere(tx, 700_000)).unwrap();
        let all = |p| paged_range(&store, p, &[], i64::MIN, i64::MAX, 5000, false).len();
        assert_eq!(all("p") + all("q"), left);
        assert_eq!(codecs(&store), [RAW, LZ4], "both kinds of body were read");
    }

    /// The codecs of the blocks `store` holds, in codec order.
    fn codecs(store: &Store) -> Vec<i64> {
        store
            .read(|tx| -> Result<Vec<i64>> {
                let mut stmt = tx.tx.prepare("SELECT DISTINCT codec FROM blocks ORDER BY codec")?;
                let rows = stmt.query_map([], |r| r.get(0))?;
                Ok(rows.collect::<std::result::Result<_, _>>()?)
            })
            .unwrap()
    }

    #[test]
    fn single_records_stay_raw_and_blocks_are_compressed() {
        // The random appends of `reads_agree_with_a_plain_list` write single records
        // (stored as they are) and blocks of many (compressed); so do these.
        let store = Store::in_memory().unwrap();
        let many: Vec<String> = (0..200).map(|i| format!("v{i}")).collect();
        store
            .write(|tx| {
                EVENTS.append_all(tx, [("p", "a", 1, &"v".to_owned())])?;
                EVENTS.append_all(tx, many.iter().map(|v| ("p", "a", 2, v)))
            })
            .unwrap();
        assert_eq!(codecs(&store), [RAW, LZ4]);
        let got = store
            .read(|tx| EVENTS.range(tx, "p", &[], i64::MIN, i64::MAX, None, 1000, false))
            .unwrap();
        assert_eq!(got.len(), 201);
        assert_eq!(got[200].value, "v199");
    }

    #[test]
    fn bodies_are_packed_when_it_pays() {
        let repeated = br#"{"eventName":"GetCallerIdentity","eventSource":"sts"}"#.repeat(40);
        let mut rng = Rng(7);
        let noise: Vec<u8> = (0..4096).map(|_| rng.below(256) as u8).collect();
        let cases: [(&str, &[u8], i64); 4] = [
            ("empty", b"", RAW),
            ("short", b"{\"a\":1}", RAW),
            ("repetitive", &repeated, LZ4),
            ("incompressible", &noise, RAW),
        ];
        for (name, raw, codec) in cases {
            let (mut packed, mut unpacked) = (Vec::new(), Vec::new());
            let (stored, got) = pack(raw, &mut packed);
            assert_eq!(got, codec, "{name}");
            if codec == LZ4 {
                assert!(stored.len() * 5 < raw.len(), "{name}: {} bytes", stored.len());
                assert_eq!(
                    stored,
                    lz4_flex::compress_prepend_size(raw),
                    "{name}: the format blocks were first written in"
                );
            }
            assert_eq!(unpack(stored, got, 1, &mut unpacked).unwrap(), raw, "{name}");
            // A buffer that held a longer body before reads a shorter one right.
            let mut used = vec![7u8; 1 << 16];
            assert_eq!(unpack(stored, got, 1, &mut used).unwrap(), raw, "{name}, reused");
        }
    }

    #[test]
    fn scratch_buffers_are_kept_unless_oversized() {
        with_scratch(|s| room(&mut s.packed, 1000).fill(1));
        assert!(with_scratch(|s| s.packed.capacity()) >= 1000, "kept for the next block");
        with_scratch(|s| room(&mut s.unpacked, KEEP_SCRATCH + 1).fill(1));
        assert_eq!(with_scratch(|s| s.unpacked.capacity()), 0, "dropped past KEEP_SCRATCH");
        // A nested use (the buffers are taken) gets fresh ones instead of panicking.
        with_scratch(|outer| {
            room(&mut outer.body, 10);
            assert_eq!(with_scratch(|inner| inner.body.len()), 0);
        });
    }

    #[test]
    fn damaged_bodies_are_errors_not_panics() {
        let repeated = b"abcdefgh".repeat(512);
        let mut packed = Vec::new();
        let (good, _) = pack(&repeated, &mut packed);
        let mut flipped = good.to_vec();
        let last = flipped.len() - 1;
        flipped[last] ^= 0xff;
        let mut huge = good.to_vec();
        huge[..4].copy_from_slice(&u32::MAX.to_le_bytes());
        let cases: [(&str, &[u8], i64); 5] = [
            ("truncated length", &good[..2], LZ4),
            ("truncated data", &good[..good.len() / 2], LZ4),
            ("damaged data", &flipped, LZ4),
            ("length past any block", &huge, LZ4),
            ("unknown codec", good, 9),
        ];
        for (name, stored, codec) in cases {
            match unpack(stored, codec, 42, &mut Vec::new()) {
                Err(StoreError::Malformed(m)) => assert!(m.contains("block 42"), "{name}: {m}"),
                Ok(body) => assert_ne!(body, &repeated[..], "{name}: read back as good"),
                Err(e) => panic!("{name}: {e}"),
            }
        }
        // Through the store: a damaged block fails the read that meets it.
        let store = Store::in_memory().unwrap();
        let many: Vec<String> = (0..200).map(|i| format!("value {i}")).collect();
        store.write(|tx| EVENTS.append_all(tx, many.iter().map(|v| ("p", "a", 5, v)))).unwrap();
        store
            .write(|tx| -> Result<usize> {
                Ok(tx.tx.execute("UPDATE blocks SET body = substr(body, 1, 20)", [])?)
            })
            .unwrap();
        let read = store.read(|tx| EVENTS.range(tx, "p", &[], 0, 10, None, 10, false));
        assert!(matches!(read, Err(StoreError::Malformed(_))), "{:?}", read.map(|r| r.len()));
    }

    #[test]
    fn extreme_times_are_stored_and_read() {
        let store = Store::in_memory().unwrap();
        let times = [i64::MIN, i64::MIN + 1, -1, 0, i64::MAX - 1, i64::MAX];
        let values: Vec<String> = times.iter().map(|t| t.to_string()).collect();
        store
            .write(|tx| {
                EVENTS.append_all(tx, times.iter().zip(&values).map(|(t, v)| ("p", "s", *t, v)))
            })
            .unwrap();
        let read = |back| {
            paged_range(&store, "p", &["s"], i64::MIN, i64::MAX, 2, back)
                .into_iter()
                .map(|(ts, _, _)| ts)
                .collect::<Vec<_>>()
        };
        // `end` is exclusive, so i64::MAX itself is never in a range.
        assert_eq!(read(false), &times[..5]);
        assert_eq!(read(true), times[..5].iter().rev().copied().collect::<Vec<_>>());
        assert_eq!(store.write(|tx| EVENTS.delete_before(tx, "p", None, 0)).unwrap(), 3);
        assert_eq!(read(false), [0, i64::MAX - 1]);
    }

    #[test]
    fn blocks_are_cut_by_count_bytes_and_span() {
        let big = vec![b'x'; 300_000];
        let rows: Vec<(i64, &[u8])> = (0..10).map(|i| (i, &big[..])).collect();
        assert_eq!(block_len(&rows), 4, "1 MiB of bodies closes a block");
        let small: Vec<(i64, &[u8])> = (0..5000).map(|i| (i, &b"{}"[..])).collect();
        assert_eq!(block_len(&small), BLOCK_RECORDS);
        let spread: Vec<(i64, &[u8])> =
            [0, 10, BLOCK_SPAN_MS, BLOCK_SPAN_MS + 1].iter().map(|t| (*t, &b"1"[..])).collect();
        assert_eq!(block_len(&spread), 3);
        let one = [(0, &big[..]), (1, &big[..])];
        let mut body = Vec::new();
        encode(&one[..1], &mut body);
        assert_eq!(body, big, "a single record is stored as itself");
        encode(&one, &mut body);
        let spans = decode(&body, 2).unwrap();
        assert_eq!(
            spans.iter().map(|(ts, r)| (*ts, r.len())).collect::<Vec<_>>(),
            [(0, 300_000), (1, 300_000)]
        );
        assert!(decode(&body[..30], 2).is_none());
        assert!(decode(&body, 100_000).is_none());
    }

    /// Rows of the one-record-a-row layout move into blocks with their ids.
    #[test]
    fn the_migration_keeps_ids() {
        let conn = rusqlite::Connection::open_in_memory().unwrap();
        conn.execute_batch(&crate::MIGRATIONS[..3].join(";")).unwrap();
        conn.pragma_update(None, "user_version", 3).unwrap();
        conn.execute_batch(
            "INSERT INTO series (id, ns, part, stream, ts, body) VALUES
               (7, 'logs.events', 'g', 's', 100, '\"x\"'),
               (9, 'cloudtrail.events', 'a/r', 'management', 50, '\"y\"'),
               (12, 'cloudwatch.datapoints', 'a/r', 'm', 5, '1');",
        )
        .unwrap();
        let store = Store::init(conn, None).unwrap();
        const LOGS: BlockSeries<String> = BlockSeries::new("logs.events");
        const TRAIL: BlockSeries<String> = BlockSeries::new("cloudtrail.events");
        let l = store.read(|tx| LOGS.since_id(tx, "g", 0, 10)).unwrap();
        assert_eq!((l[0].id, l[0].ts, l[0].value.as_str()), (7, 100, "x"));
        let t = store
            .read(|tx| TRAIL.range(tx, "a/r", &["management"], 0, 100, None, 10, true))
            .unwrap();
        assert_eq!((t[0].id, t[0].value.as_str()), (9, "y"));
        store
            .write(|tx| TRAIL.append_all(tx, [("a/r", "management", 60, &"z".to_owned())]))
            .unwrap();
        assert_eq!(
            store.read(|tx| TRAIL.last_id(tx, "a/r")).unwrap(),
            10,
            "ids go on past the moved rows"
        );
    }
}
