//! A bounded, deterministic stand-in for `fuzz/fuzz_targets/import_record.rs`, so that
//! `cargo test` on stable checks the same properties of the import's record reader:
//! records modelled on the log file examples of
//! <https://docs.aws.amazon.com/awscloudtrail/latest/userguide/cloudtrail-log-file-examples.html>
//! are mutated (character by character, by a new `eventTime`, pretty-printed) and random
//! strings are thrown in; nothing may panic, only valid JSON is accepted, and an
//! accepted record is stored as valid, compact JSON equal to the input except for the
//! shifted `eventTime`, with the fields event history shows read as serde_json reads
//! them.

use chrono::{DateTime, TimeDelta};
use mamori_cloudtrail::import::to_stored;
use mamori_mutate::Rng;
use serde_json::Value;

const SEEDS: [&str; 5] = [
    r#"{"eventVersion":"1.08","userIdentity":{"type":"IAMUser","principalId":"EX_PRINCIPAL_ID","arn":"arn:aws:iam::123456789012:user/Alice","accountId":"123456789012","accessKeyId":"AKIAIOSFODNN7EXAMPLE","userName":"Alice"},"eventTime":"2014-03-06T21:22:54Z","eventSource":"ec2.amazonaws.com","eventName":"StartInstances","awsRegion":"us-east-2","sourceIPAddress":"205.251.233.176","userAgent":"ec2-api-tools 1.6.12.2","requestParameters":{"instancesSet":{"items":[{"instanceId":"i-ebeaf9e2"}]}},"responseElements":null,"requestID":"example-1","eventID":"example-2","eventType":"AwsApiCall","managementEvent":true,"recipientAccountId":"123456789012"}"#,
    r#"{"eventVersion":"1.08","userIdentity":{"type":"AssumedRole","arn":"arn:aws:sts::123456789012:assumed-role/Admin/session","accountId":"123456789012","accessKeyId":"ASIAEXAMPLE"},"eventTime":"2023-01-01T00:00:00.5Z","eventSource":"s3.amazonaws.com","eventName":"GetObject","awsRegion":"eu-west-1","readOnly":true,"eventCategory":"Data","managementEvent":false,"recipientAccountId":"123456789012"}"#,
    r#"{"userIdentity":{"type":"Root","accountId":"111122223333"},"eventTime":"2023-06-30T23:59:59+09:00","eventSource":"signin.amazonaws.com","eventName":"Console\u004cogin","awsRegion":"us-east-1","additionalEventData":{"MFAUsed":"No"},"responseElements":{"ConsoleLogin":"Success"}}"#,
    r#"{"userIdentity":{"type":"AWSService","invokedBy":"cloudtrail.amazonaws.com"},"eventTime":"9999-12-31T23:59:59Z","eventSource":"kms.amazonaws.com","eventName":"Decrypt \"quoted\"","awsRegion":"ap-northeast-1","recipientAccountId":"444455556666","eventTime2":"x"}"#,
    "{\n  \"eventTime\": \"0000-01-01T00:00:00Z\",\n  \"eventName\": \"A \\\" b\",\n  \"eventSource\": \"s\",\n  \"awsRegion\": \"r\",\n  \"recipientAccountId\": \"111122223333\",\n  \"requestParameters\": {\"k\": [1, 2.5e3, -0], \"t\": \"x  y\\n\"}\n}",
];

const CHARS: &[char] =
    &['{', '}', '[', ']', '"', ':', ',', '\\', ' ', '\n', '\t', 'u', '0', '9', 'Z', 'T', '-', 'é'];

const TIMES: [&str; 8] = [
    "\"2014-03-06T21:22:54Z\"",
    "\"1970-01-01T00:00:00.123456789-23:59\"",
    "\"2016-12-31T23:59:60Z\"",
    "\"9999-12-31T23:59:59.999Z\"",
    "\"0000-01-01T00:00:00Z\"",
    "\"2014-03-06T21:22:54\"",
    "\"2014\\u002d03-06T21:22:54Z\"",
    "1394140974",
];

/// The shifts `--rebase-time` may ask for, extremes included.
const SHIFTS: [Option<TimeDelta>; 6] = [
    None,
    Some(TimeDelta::zero()),
    Some(TimeDelta::days(1)),
    Some(TimeDelta::days(-365 * 3000)),
    Some(TimeDelta::MAX),
    Some(TimeDelta::MIN),
];

fn mutate(rng: &mut Rng, src: &str) -> String {
    match rng.below(6) {
        // A new eventTime, spelled any way.
        0 => {
            let mut v: Value = serde_json::from_str(src).expect("seeds are JSON");
            v["eventTime"] = serde_json::from_str(TIMES[rng.below(TIMES.len())]).unwrap();
            return serde_json::to_string(&v).unwrap();
        }
        // Pretty-printed, as a reformatted file has it.
        1 => {
            let v: Value = serde_json::from_str(src).expect("seeds are JSON");
            return serde_json::to_string_pretty(&v).unwrap();
        }
        _ => {}
    }
    mamori_mutate::mutate_chars(rng, src, CHARS)
}

fn random(rng: &mut Rng) -> String {
    let bytes: Vec<u8> = (0..rng.below(64)).map(|_| rng.next() as u8).collect();
    String::from_utf8_lossy(&bytes).into_owned()
}

fn millis(time: &str) -> i64 {
    DateTime::parse_from_rfc3339(time).expect("an RFC 3339 time").timestamp_millis()
}

/// The properties of the fuzz target, for one input; true when some shift accepted it.
fn check(text: &str) -> bool {
    let mut accepted = false;
    for shift in SHIFTS {
        let Ok((part, ts, ev)) = to_stored(text, shift) else { continue };
        accepted = true;
        // The reader is the only check a record gets: what it accepts is JSON.
        let input: Value = serde_json::from_str(text)
            .unwrap_or_else(|e| panic!("{text:?}: accepted but not JSON: {e}"));
        let mut stored: Value = serde_json::from_str(ev.record.as_str())
            .unwrap_or_else(|e| panic!("{text:?} {shift:?}: stored {:?}: {e}", ev.record.as_str()));
        let stored_time = stored["eventTime"].as_str().expect("a string eventTime").to_owned();
        assert!(!ev.record.as_str().contains('\n'), "{text:?}: not compacted");
        let old = millis(input["eventTime"].as_str().expect("a string eventTime"));
        let want = old + shift.map_or(0, |s| s.num_milliseconds());
        // chrono folds a leap second (`23:59:60`) into the next one when shifting it.
        assert!((ts - want).abs() <= 1000, "{text:?} {shift:?}: {ts} for {want}");
        assert_eq!(millis(&stored_time), ts, "{text:?} {shift:?}: the text says {stored_time}");
        if shift.is_none() && !text.contains('\n') {
            assert_eq!(ev.record.as_str(), text.trim_ascii(), "{text:?}: stored as it came");
        }
        let mut rest = input.clone();
        rest.as_object_mut().expect("an object").remove("eventTime");
        stored.as_object_mut().expect("an object").remove("eventTime");
        assert_eq!(stored, rest, "{text:?} {shift:?}: only eventTime changes");
        assert_eq!(Some(ev.event_name.as_str()), input["eventName"].as_str(), "{text:?}");
        assert_eq!(Some(ev.event_source.as_str()), input["eventSource"].as_str(), "{text:?}");
        let region = input["awsRegion"].as_str().expect("a region");
        assert!(part.len() == 13 + region.len() && part.ends_with(region), "{text:?}: {part}");
    }
    accepted
}

#[test]
fn mutated_records_never_panic_and_splice_only_the_time() {
    let mut rng = Rng(0x2545_F491_4F6C_DD1D);
    let (mut accepted, mut rejected) = (0, 0);
    for i in 0..6_000 {
        let text =
            if i % 7 == 6 { random(&mut rng) } else { mutate(&mut rng, SEEDS[i % SEEDS.len()]) };
        if check(&text) {
            accepted += 1;
        } else {
            rejected += 1;
        }
    }
    assert!(accepted > 1_000 && rejected > 500, "accepted {accepted}, rejected {rejected}");
}

#[test]
fn the_seeds_are_accepted() {
    for seed in SEEDS {
        assert!(check(seed), "{seed}");
    }
}

#[test]
fn the_fuzz_seeds_meet_the_properties() {
    // The fuzz target's seeds (a shift byte, then the record): those at the edge of valid
    // JSON are refused, the rest accepted, and all meet the target's properties.
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/fuzz/seeds/import_record");
    let mut seen = 0;
    for entry in std::fs::read_dir(dir).expect("the fuzz seeds") {
        let path = entry.expect("a seed").path();
        let data = std::fs::read(&path).expect("a readable seed");
        let text = std::str::from_utf8(&data[1..]).expect("a UTF-8 seed");
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default();
        let refused = matches!(name, "truncated" | "trailing_comma");
        assert_eq!(check(text), !refused, "{name}");
        seen += 1;
    }
    assert!(seen >= 9, "{seen} seeds");
}
