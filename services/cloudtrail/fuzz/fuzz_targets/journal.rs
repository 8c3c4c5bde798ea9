//! Fuzzes the reader of the recorder's journal, the file a crash leaves next to the store
//! with the events of calls answered but not yet stored. Nothing may panic, and the
//! frames it reads, encoded again, are exactly the bytes at the start of the file: it
//! reads nothing that is not there, cut or corrupt frames included. Random bytes seldom
//! pass a frame's CRC, so when the first byte is odd the target first sets the first
//! frame's CRC to match what follows, to reach the reading of records.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mamori_cloudtrail::recorder::reencode_journal;

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else { return };
    let mut journal = rest.to_vec();
    if mode % 2 == 1 && journal.len() >= 16 {
        let len = u32::from_le_bytes(journal[..4].try_into().unwrap()) as usize;
        let end = 16usize.saturating_add(len).min(journal.len());
        let crc = crc32fast::hash(&journal[8..end]);
        journal[4..8].copy_from_slice(&crc.to_le_bytes());
    }
    let read = reencode_journal(&journal);
    assert!(journal.starts_with(&read), "read {} bytes that are not the journal's", read.len());
});
