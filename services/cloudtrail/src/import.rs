//! Import of real CloudTrail records (from log files as AWS delivers them, see
//! <https://docs.aws.amazon.com/awscloudtrail/latest/userguide/cloudtrail-log-file-examples.html>)
//! into event history, where trails then deliver them like any other event: a detection
//! engineer replays production activity through metric filters and alarms.
//!
//! Records arrive as raw JSON text and are stored as that text: only the few top-level
//! fields event history needs are read (borrowed, never building a `serde_json::Value`),
//! and `--rebase-time` rewrites `eventTime` in place in the text. Reading those fields is
//! the only pass over a record's JSON: it also checks that the record is one valid JSON
//! value, so a body of one record per line ([`ndjson_records`]) is split without reading
//! its JSON at all.

use std::borrow::Cow;

use chrono::{DateTime, Datelike, TimeDelta, Utc};
use mamori_store::{BlockRecord, Store};
use serde::Deserialize;
use serde_json::value::RawValue;

use crate::state::{EVENTS, EventHeader, StoredEvent};

/// The outcome of an import batch.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ImportReport {
    /// Records stored.
    pub imported: usize,
    /// Records refused, with the reason (index in the batch: reason).
    pub rejected: Vec<String>,
}

/// The JSON form of the body of `POST /_mamori/cloudtrail/import`, borrowed from the
/// request (the CLI sends [`ndjson_records`] instead).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImportRequest<'a> {
    /// The records, as raw JSON.
    #[serde(borrow)]
    pub records: Vec<&'a RawValue>,
    /// Seconds added to every `eventTime`.
    pub shift_seconds: Option<i64>,
}

/// The records of an `application/x-ndjson` import body, one per line, as the CLI sends
/// them. A JSON text has no raw line break outside its strings, nor inside them (they
/// are escaped there), so the lines are the records: each is read when it is stored.
pub fn ndjson_records(body: &str) -> Vec<&str> {
    let body = body.strip_suffix('\n').unwrap_or(body);
    if body.is_empty() {
        return Vec::new();
    }
    body.split('\n').collect()
}

/// The top-level fields of a record that event history and delivery need. Every field
/// is kept raw and read leniently: a field of an unexpected type counts as absent.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Fields<'a> {
    #[serde(borrow)]
    event_time: Option<&'a RawValue>,
    #[serde(borrow)]
    event_name: Option<&'a RawValue>,
    #[serde(borrow)]
    event_source: Option<&'a RawValue>,
    #[serde(borrow)]
    aws_region: Option<&'a RawValue>,
    #[serde(borrow)]
    recipient_account_id: Option<&'a RawValue>,
    #[serde(borrow)]
    event_category: Option<&'a RawValue>,
    #[serde(borrow)]
    management_event: Option<&'a RawValue>,
    #[serde(borrow)]
    read_only: Option<&'a RawValue>,
    #[serde(rename = "eventID", borrow)]
    event_id: Option<&'a RawValue>,
    /// Read in the same pass as the rest; absent when it is not an object.
    #[serde(borrow, default, deserialize_with = "identity_if_object")]
    user_identity: Option<Identity<'a>>,
}

/// `userIdentity` when it is an object; any other value is skipped and counts as absent.
fn identity_if_object<'de, D: serde::Deserializer<'de>>(
    de: D,
) -> Result<Option<Identity<'de>>, D::Error> {
    struct IfObject;
    impl<'de> serde::de::Visitor<'de> for IfObject {
        type Value = Option<Identity<'de>>;
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("any JSON value")
        }
        fn visit_map<A: serde::de::MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
            Identity::deserialize(serde::de::value::MapAccessDeserializer::new(map)).map(Some)
        }
        fn visit_seq<A: serde::de::SeqAccess<'de>>(
            self,
            mut seq: A,
        ) -> Result<Self::Value, A::Error> {
            while seq.next_element::<serde::de::IgnoredAny>()?.is_some() {}
            Ok(None)
        }
        fn visit_unit<E>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_str<E>(self, _: &str) -> Result<Self::Value, E> {
            Ok(None)
        }
    }
    de.deserialize_any(IfObject)
}

/// The parts of `userIdentity` event history shows.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Identity<'a> {
    #[serde(rename = "type", borrow)]
    kind: Option<&'a RawValue>,
    #[serde(borrow)]
    user_name: Option<&'a RawValue>,
    #[serde(borrow)]
    arn: Option<&'a RawValue>,
    #[serde(borrow)]
    invoked_by: Option<&'a RawValue>,
    #[serde(borrow)]
    access_key_id: Option<&'a RawValue>,
    #[serde(borrow)]
    account_id: Option<&'a RawValue>,
}

/// A raw JSON value as a string, when it is one.
fn text<'a>(raw: Option<&'a RawValue>) -> Option<Cow<'a, str>> {
    let raw = raw?.get();
    if !raw.starts_with('"') {
        return None;
    }
    if !raw.contains('\\') {
        return Some(Cow::Borrowed(&raw[1..raw.len() - 1]));
    }
    serde_json::from_str::<String>(raw).ok().map(Cow::Owned)
}

fn is_true(raw: Option<&RawValue>) -> bool {
    raw.is_some_and(|r| r.get() == "true")
}

/// The username event history shows for a record from a real log file.
fn username(id: &Identity<'_>) -> String {
    if let Some(name) = text(id.user_name) {
        return name.into_owned();
    }
    match text(id.kind).as_deref() {
        Some("Root") => "root".into(),
        Some("AssumedRole") => {
            text(id.arn).and_then(|a| a.rsplit('/').next().map(str::to_owned)).unwrap_or_default()
        }
        Some("AWSService") => text(id.invoked_by).unwrap_or_default().into_owned(),
        _ => String::new(),
    }
}

/// A pretty-printed record (from a file someone reformatted) made compact, as CloudTrail
/// writes records: whitespace outside strings is dropped; strings are kept as they are
/// (`raw` is valid JSON, and so is what is left of it). The CLI compacts such a record to
/// send it as one line of an NDJSON body.
pub fn compact(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    let (mut in_string, mut escaped) = (false, false);
    for c in raw.chars() {
        if in_string {
            out.push(c);
            match c {
                _ if escaped => escaped = false,
                '\\' => escaped = true,
                '"' => in_string = false,
                _ => {}
            }
        } else if !c.is_ascii_whitespace() {
            in_string = c == '"';
            out.push(c);
        }
    }
    out
}

/// The stored form of one record (partition `account/region`, `eventTime` in
/// milliseconds, event), or why it is refused. Public only for the fuzz target in `fuzz/`
/// and the property tests; [`import_records`] writes the same form with [`write_stored`].
#[doc(hidden)]
pub fn to_stored(
    rec: &str,
    shift: Option<TimeDelta>,
) -> Result<(String, i64, StoredEvent), &'static str> {
    let mut out = Vec::new();
    let placed = write_stored(rec, shift, &mut out)?;
    let ev = StoredEvent::decode(&out).map_err(|_| "not a CloudTrail record")?;
    Ok((format!("{}/{}", placed.account, placed.region), placed.ts, ev))
}

/// Where a stored record goes.
struct Placed<'r> {
    /// Its account and region: its partition.
    account: Cow<'r, str>,
    region: Cow<'r, str>,
    /// Its `eventTime`, in milliseconds.
    ts: i64,
    /// Whether it is a data event.
    data: bool,
}

/// Appends the stored form of one record (JSON text, not yet checked) to `out` (nothing
/// when it is refused); returns where it goes, or why it is refused.
fn write_stored<'r>(
    rec: &'r str,
    shift: Option<TimeDelta>,
    out: &mut Vec<u8>,
) -> Result<Placed<'r>, &'static str> {
    let raw = rec.trim_ascii();
    if !raw.starts_with('{') {
        return Err("not a JSON object");
    }
    // The one pass over the record: it reads these fields and checks the rest is JSON
    // (serde_json refuses trailing characters and malformed members it skips).
    let f: Fields<'_> = serde_json::from_str(raw).map_err(|_| "not a CloudTrail record")?;
    let time = text(f.event_time)
        .and_then(|t| DateTime::parse_from_rfc3339(&t).ok())
        .ok_or("eventTime is missing or not an ISO 8601 time")?;
    let mut time = time.with_timezone(&Utc);
    let (Some(name), Some(source), Some(region)) =
        (text(f.event_name), text(f.event_source), text(f.aws_region))
    else {
        return Err("eventName, eventSource or awsRegion is missing");
    };
    let id = f.user_identity;
    let account = text(f.recipient_account_id)
        .or_else(|| id.as_ref().and_then(|i| text(i.account_id)))
        .unwrap_or_default();
    if account.len() != 12 || !account.bytes().all(|b| b.is_ascii_digit()) {
        return Err("no 12-digit recipientAccountId");
    }
    let record: Cow<'_, str> = match (shift, f.event_time) {
        (Some(shift), Some(old)) => {
            // Beyond the years RFC 3339 can write (0000-9999) the new time could not be
            // written back, and far enough it would overflow.
            time = time
                .checked_add_signed(shift)
                .filter(|t| (0..=9999).contains(&t.year()))
                .ok_or("eventTime shifted past the year 9999 or before the year 0")?;
            // Splice the new time over the old value, which lies inside `raw`. Fractional
            // seconds (CloudTrail writes none) are kept, so the text agrees with the
            // stored time.
            let at = old.get().as_ptr() as usize - raw.as_ptr() as usize;
            let new = format!("\"{}\"", time.format("%Y-%m-%dT%H:%M:%S%.fZ"));
            let mut out = String::with_capacity(raw.len() + new.len());
            out.push_str(&raw[..at]);
            out.push_str(&new);
            out.push_str(&raw[at + old.get().len()..]);
            Cow::Owned(if out.contains('\n') { compact(&out) } else { out })
        }
        _ if raw.contains('\n') => Cow::Owned(compact(raw)),
        _ => Cow::Borrowed(raw),
    };
    let data = text(f.event_category).as_deref() == Some("Data")
        || f.management_event.is_some_and(|r| r.get() == "false");
    let mut new_id = uuid::Uuid::encode_buffer();
    let event_id = match text(f.event_id) {
        Some(id) => id,
        None => Cow::Borrowed(&*uuid::Uuid::new_v4().hyphenated().encode_lower(&mut new_id)),
    };
    let access_key_id = id.as_ref().and_then(|i| text(i.access_key_id)).unwrap_or_default();
    let username = id.as_ref().map(username).unwrap_or_default();
    EventHeader {
        event_id: &event_id,
        event_name: &name,
        event_source: &source,
        read_only: is_true(f.read_only),
        access_key_id: &access_key_id,
        username: &username,
        data,
    }
    .encode(out);
    out.extend_from_slice(record.as_bytes());
    Ok(Placed { account, region, ts: time.timestamp_millis(), data })
}

/// Delivers the imported records to the trails' log groups now rather than at the next
/// interval.
pub fn deliver_soon(dispatcher: &std::sync::Arc<mamori_service::Dispatcher>) {
    crate::delivery::deliver_soon(dispatcher);
}

/// Stores `records`, shifting each `eventTime` by `shift` when given (so that old
/// activity happens "now" for alarms that look at recent minutes).
// GAP: import through the 14 CIS filters passes 100,000 events/s on two cores in most
// runs but not all: 50,000 records in memory 93,000 to 131,000 (median 116,000), on disk
// 101,000 to 114,000 in one run and 78,000 to 91,000 in a slower phase of this VM. The
// run is CPU-bound, on reading each record's fields, the filters' pass over each event,
// and compressing every record twice, in history and the log group (docs/PERFORMANCE.md).
pub fn import_records(
    store: &Store,
    records: &[&str],
    shift: Option<TimeDelta>,
) -> Result<ImportReport, mamori_store::StoreError> {
    let mut report = ImportReport::default();
    let mut buf = Vec::with_capacity(records.iter().map(|r| r.len() + 128).sum());
    let mut rows = Vec::with_capacity(records.len());
    // The partitions met, `account/region`; a log file's records nearly always share one.
    let mut parts: Vec<String> = Vec::new();
    for (i, rec) in records.iter().enumerate() {
        let start = buf.len();
        match write_stored(rec, shift, &mut buf) {
            Ok(Placed { account, region, ts, data }) => {
                // The account is 12 digits: the first `/` ends it.
                let is = |p: &String| p.split_once('/') == Some((&*account, &*region));
                let part = match parts.iter().rposition(is) {
                    Some(at) => at,
                    None => {
                        parts.push(format!("{account}/{region}"));
                        parts.len() - 1
                    }
                };
                rows.push((part, ts, data, start..buf.len()));
            }
            Err(why) => report.rejected.push(format!("record {i}: {why}")),
        }
    }
    // Compressed before taking the store, which the delivery and request threads share.
    let packed = EVENTS.pack_raw(rows.iter().map(|(part, ts, data, r)| {
        let stream = if *data { "data" } else { "management" };
        (parts[*part].as_str(), stream, *ts, &buf[r.clone()])
    }));
    store.write(|tx| packed.insert(tx))?;
    report.imported = rows.len();
    Ok(report)
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;

    fn raw(v: &Value) -> String {
        serde_json::to_string(v).unwrap()
    }

    #[test]
    fn imports_valid_records_and_reports_the_rest() {
        let store = Store::in_memory().unwrap();
        let good = json!({"eventVersion": "1.08", "eventTime": "2023-01-01T00:00:00Z", "eventName": "StopLogging",
            "eventSource": "cloudtrail.amazonaws.com", "awsRegion": "us-east-1", "recipientAccountId": "111122223333",
            "userIdentity": {"type": "IAMUser", "userName": "alice", "accessKeyId": "AKIA1", "eventTime": "nested"},
            "eventID": "e1", "readOnly": false});
        let no_time = json!({"eventName": "X"});
        let no_account = json!({"eventTime": "2023-01-01T00:00:00Z", "eventName": "X", "eventSource": "s", "awsRegion": "r"});
        let recs = [raw(&good), raw(&no_time), raw(&no_account), raw(&json!([1]))];
        let recs: Vec<&str> = recs.iter().map(String::as_str).collect();
        let report = import_records(&store, &recs, Some(TimeDelta::days(1))).unwrap();
        assert_eq!(report.imported, 1);
        assert_eq!(
            report.rejected,
            [
                "record 1: eventTime is missing or not an ISO 8601 time",
                "record 2: no 12-digit recipientAccountId",
                "record 3: not a JSON object"
            ]
        );
        let got = store.read(|tx| EVENTS.since_id(tx, "111122223333/us-east-1", 0, 10)).unwrap();
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].value.username, "alice");
        assert_eq!(got[0].value.access_key_id, "AKIA1");
        assert_eq!(got[0].ts, 1_672_617_600_000);
        let rec: Value = serde_json::from_str(got[0].value.record.as_str()).unwrap();
        assert_eq!(rec["eventTime"], "2023-01-02T00:00:00Z", "shifted");
        assert_eq!(rec["userIdentity"]["eventTime"], "nested", "only the top-level time");
        let mut want = good.clone();
        want["eventTime"] = json!("2023-01-02T00:00:00Z");
        assert_eq!(rec, want, "the rest of the record is kept as it came");
    }

    #[test]
    fn records_go_to_their_account_and_region() {
        let store = Store::in_memory().unwrap();
        let rec = |n: usize, account: &str, region: &str| {
            raw(&json!({"eventTime": "2023-01-01T00:00:00Z", "eventName": format!("E{n}"),
                "eventSource": "s", "awsRegion": region, "recipientAccountId": account}))
        };
        let recs = [
            rec(0, "111122223333", "us-east-1"),
            rec(1, "111122223333", "eu-west-1"),
            rec(2, "444455556666", "us-east-1"),
            rec(3, "111122223333", "us-east-1"),
        ];
        let recs: Vec<&str> = recs.iter().map(String::as_str).collect();
        assert_eq!(import_records(&store, &recs, None).unwrap().imported, 4);
        for (part, want) in [
            ("111122223333/us-east-1", &["E0", "E3"][..]),
            ("111122223333/eu-west-1", &["E1"]),
            ("444455556666/us-east-1", &["E2"]),
        ] {
            let got = store.read(|tx| EVENTS.since_id(tx, part, 0, 10)).unwrap();
            let names: Vec<&str> = got.iter().map(|r| r.value.event_name.as_str()).collect();
            assert_eq!(names, want, "{part}");
        }
    }

    #[test]
    fn pretty_printed_records_are_stored_compact() {
        let pretty = "{\n  \"eventTime\": \"2023-01-01T00:00:00Z\",\n  \"eventName\": \"A \\\" b\",\n  \"eventSource\": \"s\",\n  \"awsRegion\": \"r\",\n  \"recipientAccountId\": \"111122223333\",\n  \"requestParameters\": {\"k\": [1, 2], \"t\": \"x  y\"}\n}";
        let (_, _, ev) = to_stored(pretty, None).unwrap();
        assert_eq!(
            ev.record.as_str(),
            r#"{"eventTime":"2023-01-01T00:00:00Z","eventName":"A \" b","eventSource":"s","awsRegion":"r","recipientAccountId":"111122223333","requestParameters":{"k":[1,2],"t":"x  y"}}"#
        );
        assert_eq!(ev.event_name, "A \" b");
    }

    #[test]
    fn shifted_times_are_written_back_as_rfc_3339_or_refused() {
        // eventTime, shift, the stored eventTime (or the reason for the refusal); found by
        // tests/import_mutations.rs: the year 10000 was written `+10000`, a shift past
        // chrono's range panicked, and fractional seconds were dropped from the text
        // though kept in the stored time.
        let refused = Err("eventTime shifted past the year 9999 or before the year 0");
        let cases = [
            ("2023-01-01T00:00:00Z", TimeDelta::days(1), Ok("2023-01-02T00:00:00Z")),
            ("2023-01-01T00:00:00.5Z", TimeDelta::days(1), Ok("2023-01-02T00:00:00.500Z")),
            ("2023-01-01T09:00:00+09:00", TimeDelta::zero(), Ok("2023-01-01T00:00:00Z")),
            ("9999-12-31T23:59:59Z", TimeDelta::seconds(1), refused),
            ("0000-01-01T00:00:00Z", TimeDelta::seconds(-1), refused),
            ("2023-01-01T00:00:00Z", TimeDelta::MAX, refused),
            ("2023-01-01T00:00:00Z", TimeDelta::MIN, refused),
        ];
        for (time, shift, want) in cases {
            let v = json!({"eventTime": time, "eventName": "N", "eventSource": "s",
                "awsRegion": "r", "recipientAccountId": "111122223333"});
            let got = to_stored(&raw(&v), Some(shift)).map(|(_, ts, ev)| {
                let rec: Value = serde_json::from_str(ev.record.as_str()).unwrap();
                let text = rec["eventTime"].as_str().unwrap().to_owned();
                let parsed = DateTime::parse_from_rfc3339(&text).unwrap();
                assert_eq!(parsed.timestamp_millis(), ts, "{time} {shift:?}");
                text
            });
            assert_eq!(got.as_deref().map_err(|e| *e), want, "{time} {shift:?}");
        }
    }

    #[test]
    fn fields_are_read_as_event_history_needs_them() {
        // record, username, data event
        let cases = [
            (r#"{"userIdentity": {"type": "Root"}}"#, "root", false),
            (
                r#"{"userIdentity": {"type": "AssumedRole", "arn": "arn:aws:sts::1:assumed-role/R/sess"}}"#,
                "sess",
                false,
            ),
            (
                r#"{"userIdentity": {"type": "AWSService", "invokedBy": "s3.amazonaws.com"}, "eventCategory": "Data"}"#,
                "s3.amazonaws.com",
                true,
            ),
            (
                r#"{"userIdentity": {"type": "IAMUser", "userName": "b\u00f6b"}, "managementEvent": false}"#,
                "böb",
                true,
            ),
            (r#"{"userIdentity": 7, "eventName": "Odd"}"#, "", false),
            (r#"{"userIdentity": [{"type": "Root"}], "eventName": "Odd"}"#, "", false),
            (r#"{"userIdentity": null, "eventName": "Odd"}"#, "", false),
            (r#"{"userIdentity": "Root", "eventName": "Odd"}"#, "", false),
        ];
        for (extra, user, data) in cases {
            let mut v: Value = serde_json::from_str(extra).unwrap();
            for (k, x) in [
                ("eventTime", "2023-01-01T00:00:00.5Z"),
                ("eventSource", "s"),
                ("awsRegion", "r"),
                ("recipientAccountId", "111122223333"),
            ] {
                v[k] = json!(x);
            }
            if v.get("eventName").is_none() {
                v["eventName"] = json!("N");
            }
            let r = raw(&v);
            let (part, ts, ev) = to_stored(&r, None).unwrap();
            assert_eq!((part.as_str(), ts), ("111122223333/r", 1_672_531_200_500), "{extra}");
            assert_eq!((ev.username.as_str(), ev.data), (user, data), "{extra}");
            assert_eq!(ev.record, r, "stored as it came: {extra}");
        }
    }

    #[test]
    fn ndjson_lines_are_records_and_malformed_ones_are_refused() {
        let ok = r#"{"eventTime": "2023-01-01T00:00:00Z", "eventName": "N", "eventSource": "s", "awsRegion": "r", "recipientAccountId": "111122223333"}"#;
        let cut = &ok[..ok.len() - 1];
        // The line is the only check the record gets: everything malformed is refused.
        let lines = [
            ok.to_owned(),
            format!("  {ok}\r"),
            cut.to_owned(),
            format!("{ok}{ok}"),
            format!("{ok},"),
            ok.replace("\"N\"", "\"N\\u00\""),
            ok.replace("\"s\"", "\"s\t\""),
            ok.replace("\"r\"", "[1,]"),
            String::new(),
        ];
        let body = lines.join("\n") + "\n";
        let recs = ndjson_records(&body);
        assert_eq!(recs.len(), lines.len(), "a line per record, the last newline ends one");
        let store = Store::in_memory().unwrap();
        let report = import_records(&store, &recs, None).unwrap();
        assert_eq!(report.imported, 2);
        let refused: Vec<&str> =
            report.rejected.iter().map(|r| r.split(':').next().unwrap()).collect();
        assert_eq!(
            refused,
            ["record 2", "record 3", "record 4", "record 5", "record 6", "record 7", "record 8"]
        );
        let got = store.read(|tx| EVENTS.since_id(tx, "111122223333/r", 0, 10)).unwrap();
        assert!(
            got.iter().all(|r| r.value.record.as_str() == ok),
            "stored without the spaces around"
        );
        assert_eq!(ndjson_records(""), Vec::<&str>::new());
        assert_eq!(ndjson_records("{}"), ["{}"], "no final newline");
    }
}
