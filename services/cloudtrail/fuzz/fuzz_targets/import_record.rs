//! Fuzzes the reader of imported CloudTrail records
//! (<https://docs.aws.amazon.com/awscloudtrail/latest/userguide/cloudtrail-log-file-examples.html>):
//! the first byte picks a `--rebase-time` shift, the rest is one record. Nothing may
//! panic; only valid JSON is accepted; an accepted record is stored as valid, compact
//! JSON whose `eventTime` is the stored time and whose other members are the input's,
//! and the fields event history shows are read as serde_json reads them.
#![no_main]

use chrono::{DateTime, TimeDelta};
use libfuzzer_sys::fuzz_target;
use mamori_cloudtrail::import::to_stored;
use serde_json::Value;

const SHIFTS: [Option<TimeDelta>; 6] = [
    None,
    Some(TimeDelta::zero()),
    Some(TimeDelta::days(1)),
    Some(TimeDelta::days(-365 * 3000)),
    Some(TimeDelta::MAX),
    Some(TimeDelta::MIN),
];

fn millis(time: &str) -> i64 {
    DateTime::parse_from_rfc3339(time).expect("an RFC 3339 time").timestamp_millis()
}

fuzz_target!(|data: &[u8]| {
    let Some((&pick, rest)) = data.split_first() else { return };
    let Ok(text) = std::str::from_utf8(rest) else { return };
    let shift = SHIFTS[usize::from(pick) % SHIFTS.len()];
    let Ok((part, ts, ev)) = to_stored(text, shift) else { return };
    // The reader is the only check a record gets: what it accepts is JSON.
    let input: Value = serde_json::from_str(text).expect("an accepted record is JSON");
    let mut stored: Value = serde_json::from_str(ev.record.as_str()).expect("stored as JSON");
    assert!(!ev.record.as_str().contains('\n'), "stored compact");
    let stored_time = stored["eventTime"].as_str().expect("a string eventTime");
    assert_eq!(millis(stored_time), ts, "the text agrees with the stored time");
    let old = millis(input["eventTime"].as_str().expect("a string eventTime"));
    // chrono folds a leap second (`23:59:60`) into the next one when shifting it.
    assert!((ts - old - shift.map_or(0, |s| s.num_milliseconds())).abs() <= 1000);
    if shift.is_none() && !text.contains('\n') {
        assert_eq!(ev.record.as_str(), text.trim_ascii(), "stored as it came");
    }
    let mut others = input.clone();
    others.as_object_mut().expect("an object").remove("eventTime");
    stored.as_object_mut().expect("an object").remove("eventTime");
    assert_eq!(stored, others, "only eventTime changes");
    assert_eq!(Some(ev.event_name.as_str()), input["eventName"].as_str());
    assert_eq!(Some(ev.event_source.as_str()), input["eventSource"].as_str());
    assert!(part.ends_with(input["awsRegion"].as_str().expect("a region")));
});
