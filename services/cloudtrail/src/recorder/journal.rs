//! The recorder's journal, for a store on disk: the events of calls that wait for them
//! (writes and failures) are appended here and synced, a few microseconds of writing and
//! one `fdatasync` for all the calls of a batch, so that the calls can be answered at
//! once while the events keep gathering for the store. Once the store holds them, with
//! the number of the last frame it holds in the same transaction, the file is emptied.
//! When the recorder starts, it stores what a crash left here and the store lacks.
//!
//! A frame: payload length (u32), CRC-32 of the sequence number and payload (u32),
//! sequence number (u64), payload; integers little-endian. The payload is the batch's
//! records, each: partition length (u16), partition, time in ms (i64), data event (u8),
//! stored form length (u32), stored form. Reading stops at the first frame that is cut
//! or whose CRC does not match: a crash can tear only the last write, whose callers were
//! never answered.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::Path;

use mamori_store::{Collection, Packed, Store, StoreError, Tx};

use super::Batch;
use crate::state::EVENTS;

/// The journal's file, in the store's directory.
pub(super) const FILE: &str = "cloudtrail-journal";

/// The number of the last frame whose records the store holds, written with them.
const APPLIED: Collection<u64> = Collection::new("cloudtrail.journal");

/// The journal file and the number of its last frame.
pub(super) struct Journal {
    file: File,
    seq: u64,
    /// Bytes written since the file was last emptied.
    len: u64,
    frame: Vec<u8>,
    /// A failed write left a cut frame that could not be cut off: the file is not
    /// appended to again (every frame after the cut would be unreadable).
    broken: bool,
}

impl Journal {
    /// Opens the journal of the store in `dir`, first storing the records of every frame
    /// the store does not hold yet (what a crash left), then emptying the file.
    pub(super) fn open(dir: &Path, store: &Store) -> Result<Self, StoreError> {
        let path = dir.join(FILE);
        let left = match std::fs::read(&path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
            Err(e) => return Err(e.into()),
        };
        let frames = frames(&left);
        let applied = store.read(|tx| APPLIED.get(tx, "", "applied"))?.unwrap_or(0);
        let mut replay = Batch::default();
        let mut seq = applied;
        for (n, batch) in &frames {
            if *n > applied {
                replay.append(batch);
            }
            seq = seq.max(*n);
        }
        if !replay.records.is_empty() {
            let packed = EVENTS.pack_raw(replay.iter());
            store.write(|tx| store_applied(tx, &packed, Some(seq)))?;
            tracing::info!(
                n_events = replay.records.len(),
                "stored the CloudTrail events the journal kept through a crash"
            );
        }
        let file = OpenOptions::new().create(true).append(true).open(&path)?;
        file.set_len(0)?;
        file.sync_all()?;
        // The file's name, once: a crash must not lose the file itself.
        File::open(dir)?.sync_all()?;
        Ok(Self { file, seq, len: 0, frame: Vec::new(), broken: false })
    }

    /// Appends `batch` as one frame and syncs it: once this returns, a crash keeps it.
    pub(super) fn append(&mut self, batch: &Batch) -> std::io::Result<()> {
        if self.broken {
            return Err(std::io::Error::other("the journal has a cut frame at its end"));
        }
        self.seq += 1;
        encode_frame(self.seq, batch, &mut self.frame);
        let written = self.file.write_all(&self.frame).and_then(|()| self.file.sync_data());
        if let Err(err) = written {
            // A frame cut by a failed write would hide every frame after it from the
            // reader: the file goes back to its last whole frame.
            self.broken = self.file.set_len(self.len).is_err();
            return Err(err);
        }
        self.len += self.frame.len() as u64;
        Ok(())
    }

    /// The number of the last frame appended, which the store records with the frames'
    /// records (see [`store_applied`]).
    pub(super) fn seq(&self) -> u64 {
        self.seq
    }

    /// Empties the file, once the store holds every record in it.
    pub(super) fn clear(&mut self) -> std::io::Result<()> {
        if self.len > 0 {
            self.file.set_len(0)?;
            self.len = 0;
        }
        Ok(())
    }
}

/// Inserts `packed` records, and, when they include the records of the journal's frames
/// through number `applied`, that number.
pub(super) fn store_applied(
    tx: &Tx<'_>,
    packed: &Packed<'_>,
    applied: Option<u64>,
) -> Result<(), StoreError> {
    packed.insert(tx)?;
    if let Some(seq) = applied {
        APPLIED.put(tx, "", "applied", &seq)?;
    }
    Ok(())
}

fn encode_frame(seq: u64, batch: &Batch, out: &mut Vec<u8>) {
    out.clear();
    out.extend_from_slice(&[0; 8]);
    out.extend_from_slice(&seq.to_le_bytes());
    for (part, stream, ts, body) in batch.iter() {
        // Partitions are `account/region`, far shorter than u16::MAX.
        let part = &part.as_bytes()[..part.len().min(u16::MAX as usize)];
        out.extend_from_slice(&(part.len() as u16).to_le_bytes());
        out.extend_from_slice(part);
        out.extend_from_slice(&ts.to_le_bytes());
        out.push(u8::from(stream == "data"));
        out.extend_from_slice(&(body.len() as u32).to_le_bytes());
        out.extend_from_slice(body);
    }
    let payload_len = (out.len() - 16) as u32;
    let crc = crc32fast::hash(&out[8..]);
    out[..4].copy_from_slice(&payload_len.to_le_bytes());
    out[4..8].copy_from_slice(&crc.to_le_bytes());
}

/// The frames of a journal, up to the first that is cut or corrupt.
pub(super) fn frames(mut bytes: &[u8]) -> Vec<(u64, Batch)> {
    let mut out = Vec::new();
    while let Some(frame) = next_frame(&mut bytes) {
        out.push(frame);
    }
    out
}

fn next_frame(bytes: &mut &[u8]) -> Option<(u64, Batch)> {
    let len = u32::from_le_bytes(bytes.get(..4)?.try_into().ok()?) as usize;
    let crc = u32::from_le_bytes(bytes.get(4..8)?.try_into().ok()?);
    let checked = bytes.get(8..16usize.checked_add(len)?)?;
    if crc32fast::hash(checked) != crc {
        return None;
    }
    let seq = u64::from_le_bytes(checked[..8].try_into().ok()?);
    let mut payload = &checked[8..];
    let mut batch = Batch::default();
    while !payload.is_empty() {
        let part_len = u16::from_le_bytes(take(&mut payload, 2)?.try_into().ok()?) as usize;
        let part = std::str::from_utf8(take(&mut payload, part_len)?).ok()?;
        let ts = i64::from_le_bytes(take(&mut payload, 8)?.try_into().ok()?);
        let data = match take(&mut payload, 1)?[0] {
            0 => false,
            1 => true,
            _ => return None,
        };
        let body_len = u32::from_le_bytes(take(&mut payload, 4)?.try_into().ok()?) as usize;
        let body = take(&mut payload, body_len)?;
        batch.push_stored(part, ts, data, body);
    }
    *bytes = &bytes[16 + len..];
    Some((seq, batch))
}

/// The frames at the start of `bytes`, encoded again, back to back.
pub(super) fn reencode(bytes: &[u8]) -> Vec<u8> {
    let (mut out, mut frame) = (Vec::new(), Vec::new());
    for (seq, batch) in frames(bytes) {
        encode_frame(seq, &batch, &mut frame);
        out.extend_from_slice(&frame);
    }
    out
}

fn take<'b>(bytes: &mut &'b [u8], n: usize) -> Option<&'b [u8]> {
    let (head, rest) = (bytes.get(..n)?, bytes.get(n..)?);
    *bytes = rest;
    Some(head)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn batch(records: &[(&str, i64, bool, &str)]) -> Batch {
        let mut b = Batch::default();
        for (part, ts, data, body) in records {
            b.push_stored(part, *ts, *data, body.as_bytes());
        }
        b
    }

    /// The stored form of an event with id `id`.
    fn stored(id: &str) -> String {
        let mut out = Vec::new();
        crate::state::EventHeader {
            event_id: id,
            event_name: "CreateTopic",
            event_source: "sns.amazonaws.com",
            read_only: false,
            access_key_id: "",
            username: "root",
            data: false,
        }
        .encode(&mut out);
        out.extend_from_slice(format!(r#"{{"eventID":"{id}"}}"#).as_bytes());
        String::from_utf8(out).unwrap()
    }

    fn rows(b: &Batch) -> Vec<(String, String, i64, Vec<u8>)> {
        b.iter().map(|(p, s, t, body)| (p.into(), s.into(), t, body.to_vec())).collect()
    }

    fn count(store: &Store) -> usize {
        store
            .read(|tx| {
                EVENTS.range(tx, "111122223333/eu-west-1", &[], i64::MIN, i64::MAX, None, 99, false)
            })
            .unwrap()
            .len()
    }

    #[test]
    fn frames_read_back_and_a_cut_or_corrupt_one_ends_the_journal() {
        let first = batch(&[
            ("111122223333/eu-west-1", 1, false, "one"),
            ("444455556666/us-east-1", 2, true, "two"),
        ]);
        let second = batch(&[("111122223333/eu-west-1", 3, false, "three")]);
        let (mut bytes, mut frame) = (Vec::new(), Vec::new());
        encode_frame(7, &first, &mut frame);
        bytes.extend_from_slice(&frame);
        let first_len = bytes.len();
        encode_frame(8, &second, &mut frame);
        bytes.extend_from_slice(&frame);
        let read = frames(&bytes);
        assert_eq!(read.len(), 2);
        assert_eq!(reencode(&bytes), bytes, "frames encode back byte for byte");
        assert_eq!((read[0].0, rows(&read[0].1)), (7, rows(&first)));
        assert_eq!((read[1].0, rows(&read[1].1)), (8, rows(&second)));
        // A crash tears the last write anywhere: the frames before it are whole.
        for cut in 0..bytes.len() {
            let n = frames(&bytes[..cut]).len();
            assert_eq!(n, usize::from(cut >= first_len), "cut at {cut}");
        }
        // A data flag other than 0 or 1 would not encode back: the frame is refused.
        let mut bad = bytes[..first_len].to_vec();
        let flag = 16 + 2 + "111122223333/eu-west-1".len() + 8;
        bad[flag] = 2;
        let crc = crc32fast::hash(&bad[8..]);
        bad[4..8].copy_from_slice(&crc.to_le_bytes());
        assert!(frames(&bad).is_empty());
        bad[flag] = 1;
        let crc = crc32fast::hash(&bad[8..]);
        bad[4..8].copy_from_slice(&crc.to_le_bytes());
        assert_eq!(frames(&bad).len(), 1, "the same frame with a data flag of 1 is read");
        for flip in 0..bytes.len() {
            let mut bad = bytes.clone();
            bad[flip] ^= 0x40;
            assert!(frames(&bad).len() < 2, "a flipped byte at {flip} is noticed");
            assert!(bad.starts_with(&reencode(&bad)), "what is read is what is there");
        }
    }

    #[test]
    fn the_fuzz_seeds_read_as_they_are_meant_to() {
        let seeds = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/seeds/journal");
        let read = |name: &str| {
            let bytes = std::fs::read(seeds.join(name)).unwrap();
            // The first byte is the fuzz target's mode.
            let bytes = &bytes[1..];
            assert!(bytes.starts_with(&reencode(bytes)), "{name}");
            frames(bytes).iter().map(|(seq, b)| (*seq, b.records.len())).collect::<Vec<_>>()
        };
        assert_eq!(read("two_frames"), [(1, 2), (2, 1)]);
        assert_eq!(read("torn_tail"), [(1, 2)]);
        assert_eq!(read("empty_frame"), [(3, 0)]);
        // What the fuzzer found (its CRC set by the target): a data flag other than 0 or 1.
        assert_eq!(read("data_flag_not_0_or_1"), []);
    }

    #[test]
    fn what_a_crash_leaves_is_stored_once_when_the_journal_opens() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let mut journal = Journal::open(dir.path(), &store).unwrap();
        let (a, b, c) = (stored("a"), stored("b"), stored("c"));
        let first = batch(&[
            ("111122223333/eu-west-1", 1, false, &a),
            ("111122223333/eu-west-1", 2, false, &b),
        ]);
        let second = batch(&[("111122223333/eu-west-1", 3, false, &c)]);
        journal.append(&first).unwrap();
        // The store holds the first frame, and the crash came before the file was emptied.
        let packed = EVENTS.pack_raw(first.iter());
        store.write(|tx| store_applied(tx, &packed, Some(journal.seq()))).unwrap();
        journal.append(&second).unwrap();
        drop(journal);
        assert_eq!(count(&store), 2);
        let journal = Journal::open(dir.path(), &store).unwrap();
        assert_eq!(count(&store), 3, "the second frame is stored, the first not again");
        assert_eq!(journal.seq(), 2);
        assert_eq!(std::fs::metadata(dir.path().join(FILE)).unwrap().len(), 0);
        drop(journal);
        Journal::open(dir.path(), &store).unwrap();
        assert_eq!(count(&store), 3, "an empty journal stores nothing");
    }
}
