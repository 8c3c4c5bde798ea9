//! What CloudWatch Logs keeps in the store, and the small rules shared by every
//! operation: name validation, ARNs and pagination tokens, following
//! <https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_LogGroup.html>
//! and <https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_LogStream.html>.
//!
//! Layout:
//! - groups: documents under `account/region`, keyed by group name;
//! - streams: documents under `account/region`, keyed `group:stream` (a group name never
//!   holds `:`, so the prefix `group:` selects exactly one group's streams);
//! - metric filters: documents under `account/region`, keyed `group:filter`;
//! - events: a block series partitioned per group (`account/region/group`), one stream
//!   per log stream, so a group's retention and deletion are one range delete; an event
//!   is stored as its ingestion time and the message's bytes ([`Event`]'s codec);
//! - the metric outbox: a series in one partition, one stream per `account/region`, holding
//!   the datapoints not yet accepted by CloudWatch.

use std::collections::BTreeMap;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use mamori_aws::AwsError;
use mamori_store::{BlockRecord, BlockSeries, Collection, Series, StoreError};
use serde::{Deserialize, Serialize};

use crate::errors::invalid;

/// A log group.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LogGroup {
    pub name: String,
    pub creation_time: i64,
    pub retention_in_days: Option<i32>,
    pub kms_key_id: Option<String>,
    pub log_group_class: String,
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
    #[serde(default)]
    pub metric_filter_count: usize,
}

/// A log stream.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LogStream {
    pub name: String,
    pub creation_time: i64,
    pub first_event_timestamp: Option<i64>,
    pub last_event_timestamp: Option<i64>,
    pub last_ingestion_time: Option<i64>,
    /// Incremented by every accepted `PutLogEvents`.
    pub sequence: u64,
}

/// A stored log event (timestamp and id live in the series record).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Event {
    /// The message.
    pub m: String,
    /// Ingestion time, epoch milliseconds.
    pub i: i64,
}

/// The first byte of an event in its stored form: `1`, the ingestion time (8 bytes,
/// little-endian), then the message as it came. Events stored before block series are
/// JSON objects, so they start with `{`.
const EVENT_FORM: u8 = 1;

impl BlockRecord for Event {
    fn encode(&self, out: &mut Vec<u8>) {
        out.push(EVENT_FORM);
        out.extend_from_slice(&self.i.to_le_bytes());
        out.extend_from_slice(self.m.as_bytes());
    }

    fn decode(bytes: &[u8]) -> mamori_store::Result<Self> {
        match bytes.split_first() {
            Some((&EVENT_FORM, rest)) if rest.len() >= 8 => {
                let (i, m) = rest.split_at(8);
                let i = i64::from_le_bytes(i.try_into().unwrap_or_default());
                let m = std::str::from_utf8(m)
                    .map_err(|_| StoreError::Malformed("log event is not UTF-8".into()))?;
                Ok(Self { m: m.to_owned(), i })
            }
            Some((b'{', _)) => Ok(serde_json::from_slice(bytes)?),
            _ => Err(StoreError::Malformed("log event of an unknown form".into())),
        }
    }
}

/// A metric filter, as `PutMetricFilter` received it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MetricFilter {
    pub filter_name: String,
    pub filter_pattern: String,
    pub log_group_name: String,
    pub creation_time: i64,
    pub metric_name: String,
    pub metric_namespace: String,
    pub metric_value: String,
    pub default_value: Option<f64>,
    #[serde(default)]
    pub dimensions: BTreeMap<String, String>,
    pub unit: Option<String>,
}

/// A statistic set (of one second's matches, or a minute's default value) waiting for
/// CloudWatch to accept it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PendingDatapoint {
    pub log_group: String,
    pub filter_name: String,
    pub namespace: String,
    pub metric_name: String,
    pub dimensions: Vec<(String, String)>,
    /// When, epoch seconds. (Stored as `minute` by versions that aggregated per minute.)
    #[serde(alias = "minute")]
    pub timestamp: i64,
    pub sample_count: f64,
    pub sum: f64,
    pub minimum: f64,
    pub maximum: f64,
    pub unit: Option<String>,
}

pub const GROUPS: Collection<LogGroup> = Collection::new("logs.groups");
pub const STREAMS: Collection<LogStream> = Collection::new("logs.streams");
pub const METRIC_FILTERS: Collection<MetricFilter> = Collection::new("logs.metric_filters");
pub const EVENTS: BlockSeries<Event> = BlockSeries::new("logs.events");
pub const OUTBOX: Series<PendingDatapoint> = Series::new("logs.metric_outbox");
/// The one partition of [`OUTBOX`]; its streams are `account/region`.
pub const OUTBOX_PART: &str = "outbox";

/// The retention values AWS accepts, in days.
pub const RETENTION_DAYS: &[i32] = &[
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922,
    3288, 3653,
];

/// The series partition of a group's events.
pub fn events_part(part: &str, group: &str) -> String {
    format!("{part}/{group}")
}

/// The document key of a stream or metric filter of `group`.
pub fn child_key(group: &str, name: &str) -> String {
    format!("{group}:{name}")
}

/// `arn:aws:logs:<region>:<account>:log-group:<name>` (AWS's `logGroupArn`).
pub fn group_arn(region: &str, account: &str, group: &str) -> String {
    format!("arn:aws:logs:{region}:{account}:log-group:{group}")
}

/// `arn:aws:logs:<region>:<account>:log-group:<group>:log-stream:<stream>`.
pub fn stream_arn(region: &str, account: &str, group: &str, stream: &str) -> String {
    format!("{}:log-stream:{stream}", group_arn(region, account, group))
}

/// The group name of a log group identifier: a name, or a log group ARN with or without
/// the trailing `:*`.
pub fn group_from_identifier(identifier: &str) -> Result<String, AwsError> {
    let Some(rest) = identifier.strip_prefix("arn:") else {
        check_group_name(identifier, "logGroupIdentifier")?;
        return Ok(identifier.to_owned());
    };
    let arn = mamori_aws::Arn::parse(&format!("arn:{rest}"))
        .map_err(|_| invalid(format!("Invalid log group ARN: {identifier}")))?;
    let name = arn
        .resource
        .strip_prefix("log-group:")
        .map(|r| r.strip_suffix(":*").unwrap_or(r))
        .filter(|_| arn.service == "logs")
        .ok_or_else(|| invalid(format!("Invalid log group ARN: {identifier}")))?;
    check_group_name(name, "logGroupIdentifier")?;
    Ok(name.to_owned())
}

fn constraint(value: &str, member: &str, rule: &str) -> AwsError {
    invalid(format!(
        "1 validation error detected: Value '{value}' at '{member}' failed to satisfy constraint: {rule}"
    ))
}

/// Log group names: 1-512 characters of `[\.\-_/#A-Za-z0-9]`.
pub fn check_group_name(name: &str, member: &str) -> Result<(), AwsError> {
    if name.is_empty() || name.len() > 512 {
        return Err(constraint(name, member, "Member must have length between 1 and 512"));
    }
    if !name.bytes().all(|b| b.is_ascii_alphanumeric() || b"._-/#".contains(&b)) {
        return Err(constraint(
            name,
            member,
            r"Member must satisfy regular expression pattern: [\.\-_/#A-Za-z0-9]+",
        ));
    }
    Ok(())
}

/// Log stream and filter names: 1-512 characters, none of them `:` or `*`.
pub fn check_stream_name(name: &str, member: &str) -> Result<(), AwsError> {
    if name.is_empty() || name.chars().count() > 512 {
        return Err(constraint(name, member, "Member must have length between 1 and 512"));
    }
    if name.contains([':', '*']) {
        return Err(constraint(
            name,
            member,
            "Member must satisfy regular expression pattern: [^:*]*",
        ));
    }
    Ok(())
}

/// Metric names and namespaces: 1-255 characters, none of `:`, `*` or `$`.
pub fn check_metric_name(name: &str, member: &str) -> Result<(), AwsError> {
    if name.is_empty() || name.chars().count() > 255 {
        return Err(constraint(name, member, "Member must have length between 1 and 255"));
    }
    if name.contains([':', '*', '$']) {
        return Err(constraint(
            name,
            member,
            "Member must satisfy regular expression pattern: [^:*$]*",
        ));
    }
    Ok(())
}

/// Encodes a pagination token: opaque to clients, a string we can read back.
pub fn encode_token(raw: &str) -> String {
    URL_SAFE_NO_PAD.encode(raw)
}

/// Decodes a pagination token made by [`encode_token`].
pub fn decode_token(token: &str) -> Result<String, AwsError> {
    URL_SAFE_NO_PAD
        .decode(token)
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .ok_or_else(|| invalid("The specified nextToken is invalid."))
}

/// A `(timestamp, id)` cursor into an event series, as text `ts,id`.
pub fn encode_cursor(cursor: (i64, i64)) -> String {
    encode_token(&format!("{},{}", cursor.0, cursor.1))
}

/// Reads a cursor made by [`encode_cursor`].
pub fn decode_cursor(token: &str) -> Result<(i64, i64), AwsError> {
    let raw = decode_token(token)?;
    let bad = || invalid("The specified nextToken is invalid.");
    let (ts, id) = raw.split_once(',').ok_or_else(bad)?;
    Ok((ts.parse().map_err(|_| bad())?, id.parse().map_err(|_| bad())?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_read_back_in_both_stored_forms() {
        for m in ["", "plain", "{\"json\": \"inside\"}", "ünicode \n lines"] {
            let mut out = Vec::new();
            Event { m: m.into(), i: -5 }.encode(&mut out);
            assert_eq!(out.len(), 9 + m.len(), "no escaping: {m:?}");
            let ev = Event::decode(&out).unwrap();
            assert_eq!((ev.m.as_str(), ev.i), (m, -5));
        }
        // Events stored before block series, as JSON.
        let ev = Event::decode(br#"{"m":"old \"one\"","i":7}"#).unwrap();
        assert_eq!((ev.m.as_str(), ev.i), ("old \"one\"", 7));
        for bad in [&b""[..], b"\x01short", b"\x02aaaaaaaaa", b"\x01\0\0\0\0\0\0\0\0\xff"] {
            assert!(Event::decode(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn group_names() {
        let cases = [
            ("/aws/cloudtrail/x", true),
            ("a.b-c_d#e", true),
            ("", false),
            ("has space", false),
            ("colon:no", false),
            ("ünicode", false),
        ];
        for (name, ok) in cases {
            assert_eq!(check_group_name(name, "logGroupName").is_ok(), ok, "{name:?}");
        }
        assert!(check_group_name(&"a".repeat(512), "logGroupName").is_ok());
        assert!(check_group_name(&"a".repeat(513), "logGroupName").is_err());
    }

    #[test]
    fn stream_names() {
        let cases =
            [("2024/01/01/[$LATEST]abc", true), ("a b", true), ("a:b", false), ("a*", false)];
        for (name, ok) in cases {
            assert_eq!(check_stream_name(name, "logStreamName").is_ok(), ok, "{name:?}");
        }
    }

    #[test]
    fn identifiers_and_cursors() {
        let cases = [
            ("grp", Some("grp")),
            ("arn:aws:logs:us-east-1:000000000000:log-group:grp:*", Some("grp")),
            ("arn:aws:logs:us-east-1:000000000000:log-group:/a/b", Some("/a/b")),
            ("arn:aws:sns:us-east-1:000000000000:topic", None),
            ("bad name", None),
        ];
        for (id, want) in cases {
            assert_eq!(group_from_identifier(id).ok().as_deref(), want, "{id:?}");
        }
        for c in [(0, 1), (-5, i64::MAX), (i64::MIN, i64::MIN)] {
            assert_eq!(decode_cursor(&encode_cursor(c)).unwrap(), c);
        }
        assert!(decode_cursor("!!").is_err());
    }
}
