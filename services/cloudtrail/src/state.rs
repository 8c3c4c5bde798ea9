//! CloudTrail's durable state: recorded events (a series per account and region) and
//! trails (documents per account, keyed by name).

use chrono::{DateTime, Utc};
use mamori_store::{BlockRecord, BlockSeries, Collection, StoreError};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// One recorded event, with the fields event history filters on.
#[derive(Debug, Clone)]
pub struct StoredEvent {
    /// `eventID`.
    pub event_id: String,
    /// `eventName`.
    pub event_name: String,
    /// `eventSource`.
    pub event_source: String,
    /// `readOnly`.
    pub read_only: bool,
    /// The access key that signed the call.
    pub access_key_id: String,
    /// The user name event history shows.
    pub username: String,
    /// A data event (never in event history; trails only on request).
    pub data: bool,
    /// The full record, as JSON text.
    pub record: String,
}

/// The fields of a [`StoredEvent`] before its record, borrowed: what a writer that
/// serializes the record straight into the stored form puts first
/// ([`EventHeader::encode`], then the record's JSON).
#[derive(Debug, Clone, Copy)]
pub struct EventHeader<'a> {
    /// `eventID`.
    pub event_id: &'a str,
    /// `eventName`.
    pub event_name: &'a str,
    /// `eventSource`.
    pub event_source: &'a str,
    /// `readOnly`.
    pub read_only: bool,
    /// The access key that signed the call.
    pub access_key_id: &'a str,
    /// The user name event history shows.
    pub username: &'a str,
    /// A data event.
    pub data: bool,
}

/// The first byte of an event's stored form: `1`, a flag byte (read-only 1, data 2), the
/// five header strings each as a little-endian `u32` length and its bytes, then the
/// record's JSON to the end. Events stored before block series are JSON objects (`{`).
const EVENT_FORM: u8 = 1;

impl EventHeader<'_> {
    /// Appends the stored form's header to `out`.
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.push(EVENT_FORM);
        out.push(u8::from(self.read_only) | (u8::from(self.data) << 1));
        for s in
            [self.event_id, self.event_name, self.event_source, self.access_key_id, self.username]
        {
            // Header strings are ids and names of a few dozen bytes.
            out.extend_from_slice(&u32::try_from(s.len()).unwrap_or(u32::MAX).to_le_bytes());
            out.extend_from_slice(s.as_bytes());
        }
    }
}

/// The form events were stored in before block series.
#[derive(Deserialize)]
struct JsonEvent {
    event_id: String,
    event_name: String,
    event_source: String,
    read_only: bool,
    access_key_id: String,
    username: String,
    data: bool,
    record: Box<serde_json::value::RawValue>,
}

impl BlockRecord for StoredEvent {
    fn encode(&self, out: &mut Vec<u8>) {
        EventHeader {
            event_id: &self.event_id,
            event_name: &self.event_name,
            event_source: &self.event_source,
            read_only: self.read_only,
            access_key_id: &self.access_key_id,
            username: &self.username,
            data: self.data,
        }
        .encode(out);
        out.extend_from_slice(self.record.as_bytes());
    }

    fn decode(bytes: &[u8]) -> mamori_store::Result<Self> {
        let malformed = || StoreError::Malformed("CloudTrail event".into());
        match bytes {
            [EVENT_FORM, flags, rest @ ..] => {
                let mut rest = rest;
                let mut next = || -> mamori_store::Result<String> {
                    let len = rest.get(..4).ok_or_else(malformed)?;
                    let len = u32::from_le_bytes(len.try_into().map_err(|_| malformed())?) as usize;
                    let s = rest.get(4..4 + len).ok_or_else(malformed)?;
                    let s = std::str::from_utf8(s).map_err(|_| malformed())?.to_owned();
                    rest = &rest[4 + len..];
                    Ok(s)
                };
                let (event_id, event_name, event_source) = (next()?, next()?, next()?);
                let (access_key_id, username) = (next()?, next()?);
                let record = std::str::from_utf8(rest).map_err(|_| malformed())?.to_owned();
                Ok(Self {
                    event_id,
                    event_name,
                    event_source,
                    read_only: flags & 1 != 0,
                    access_key_id,
                    username,
                    data: flags & 2 != 0,
                    record,
                })
            }
            [b'{', ..] => {
                let j: JsonEvent = serde_json::from_slice(bytes)?;
                Ok(Self {
                    event_id: j.event_id,
                    event_name: j.event_name,
                    event_source: j.event_source,
                    read_only: j.read_only,
                    access_key_id: j.access_key_id,
                    username: j.username,
                    data: j.data,
                    record: String::from(Box::<str>::from(j.record)),
                })
            }
            _ => Err(malformed()),
        }
    }
}

/// Recorded events, partition `account/region`, stream `management` or `data`, time =
/// `eventTime` in milliseconds.
pub const EVENTS: BlockSeries<StoredEvent> = BlockSeries::new(EVENTS_NS);
/// [`EVENTS`] read as trails' deliveries read them.
pub const DELIVERY_VIEW: BlockSeries<DeliveryEvent> = BlockSeries::new(EVENTS_NS);
const EVENTS_NS: &str = "cloudtrail.events";

/// A stored event as a trail's deliveries read it ([`DELIVERY_VIEW`]): its record and what
/// decides whether the trail selects it. A delivery reads thousands of events at a time
/// and needs none of the five header strings event history shows, so decoding copies the
/// header out as one buffer (kept so the event encodes back as it was stored) instead of
/// five strings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryEvent {
    /// The stored form's header, flags and strings, as stored.
    header: Vec<u8>,
    /// Where `eventSource` lies in `header` (checked to be UTF-8 when decoded).
    source: std::ops::Range<usize>,
    /// The full record, as JSON text.
    pub record: String,
}

impl DeliveryEvent {
    /// A data event.
    pub fn data(&self) -> bool {
        self.header.get(1).is_some_and(|flags| flags & 2 != 0)
    }

    /// `eventSource`.
    pub fn event_source(&self) -> &str {
        self.header.get(self.source.clone()).and_then(|s| std::str::from_utf8(s).ok()).unwrap_or("")
    }
}

impl BlockRecord for DeliveryEvent {
    fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.header);
        out.extend_from_slice(self.record.as_bytes());
    }

    fn decode(bytes: &[u8]) -> mamori_store::Result<Self> {
        let malformed = || StoreError::Malformed("CloudTrail event".into());
        if bytes.first() != Some(&EVENT_FORM) {
            // The form before block series: read in full, then put in today's form.
            let ev = StoredEvent::decode(bytes)?;
            let mut stored = Vec::new();
            ev.encode(&mut stored);
            return Self::decode(&stored);
        }
        // The form, flags, then five length-prefixed strings; eventSource is the third.
        let (mut at, mut source) = (2, 0..0);
        for i in 0..5 {
            let len = bytes.get(at..at + 4).ok_or_else(malformed)?;
            let len = u32::from_le_bytes(len.try_into().map_err(|_| malformed())?) as usize;
            let end =
                at.checked_add(4 + len).filter(|&e| e <= bytes.len()).ok_or_else(malformed)?;
            if i == 2 {
                std::str::from_utf8(&bytes[at + 4..end]).map_err(|_| malformed())?;
                source = at + 4..end;
            }
            at = end;
        }
        let record = std::str::from_utf8(&bytes[at..]).map_err(|_| malformed())?.to_owned();
        Ok(Self { header: bytes[..at].to_vec(), source, record })
    }
}

/// A trail.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Trail {
    /// Name.
    pub name: String,
    /// Home region.
    pub home_region: String,
    /// Owner account.
    pub account: String,
    /// Bucket for log files.
    pub s3_bucket_name: String,
    /// Key prefix in the bucket.
    pub s3_key_prefix: Option<String>,
    /// SNS topic notified of deliveries.
    pub sns_topic_name: Option<String>,
    /// Global service events included.
    pub include_global_service_events: bool,
    /// Records every region.
    pub is_multi_region_trail: bool,
    /// Digest files enabled.
    pub log_file_validation_enabled: bool,
    /// CloudWatch Logs group ARN.
    pub cloud_watch_logs_log_group_arn: Option<String>,
    /// Role CloudTrail uses for CloudWatch Logs.
    pub cloud_watch_logs_role_arn: Option<String>,
    /// KMS key for log files.
    pub kms_key_id: Option<String>,
    /// Organization trail.
    pub is_organization_trail: bool,
    /// Basic event selectors as given (empty: all management events).
    pub event_selectors: Vec<Value>,
    /// Advanced event selectors as given.
    pub advanced_event_selectors: Vec<Value>,
    /// Insight selectors as given.
    pub insight_selectors: Vec<Value>,
    /// Tags.
    pub tags: Vec<(String, String)>,
    /// Whether logging is on.
    pub is_logging: bool,
    /// When logging started.
    pub start_logging_time: Option<DateTime<Utc>>,
    /// When logging stopped.
    pub stop_logging_time: Option<DateTime<Utc>>,
    /// Delivery progress and errors.
    pub status: DeliveryStatus,
}

/// What GetTrailStatus reports about deliveries.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct DeliveryStatus {
    /// Last event id delivered to CloudWatch Logs, per partition.
    pub logs_cursor: Vec<(String, i64)>,
    /// Log streams known to exist in the trail's group (one per region delivered).
    #[serde(default)]
    pub logs_streams: Vec<String>,
    /// Last successful CloudWatch Logs delivery.
    pub latest_cloud_watch_logs_delivery_time: Option<DateTime<Utc>>,
    /// Last CloudWatch Logs delivery error.
    pub latest_cloud_watch_logs_delivery_error: Option<String>,
    /// Last S3 delivery error (the S3 error code, as AWS reports it).
    pub latest_delivery_error: Option<String>,
    /// Last event id delivered to S3, per partition.
    #[serde(default)]
    pub s3_cursor: Vec<(String, i64)>,
    /// After StopLogging: per partition, the last event id recorded before it, still to
    /// be delivered to S3.
    #[serde(default)]
    pub stop_cursors: Vec<(String, i64)>,
    /// Last successful log file delivery.
    #[serde(default)]
    pub latest_delivery_time: Option<DateTime<Utc>>,
    /// Last log file delivery attempt, and the last one that succeeded.
    #[serde(default)]
    pub latest_delivery_attempt_time: Option<DateTime<Utc>>,
    /// Last log file delivery attempt that succeeded.
    #[serde(default)]
    pub latest_delivery_attempt_succeeded: Option<DateTime<Utc>>,
    /// Last SNS notification sent.
    #[serde(default)]
    pub latest_notification_time: Option<DateTime<Utc>>,
    /// Last SNS notification error.
    #[serde(default)]
    pub latest_notification_error: Option<String>,
    /// Last SNS notification attempt.
    #[serde(default)]
    pub latest_notification_attempt_time: Option<DateTime<Utc>>,
    /// Last SNS notification attempt that succeeded.
    #[serde(default)]
    pub latest_notification_attempt_succeeded: Option<DateTime<Utc>>,
    /// Last digest file delivered.
    #[serde(default)]
    pub latest_digest_delivery_time: Option<DateTime<Utc>>,
    /// Last digest delivery error.
    #[serde(default)]
    pub latest_digest_delivery_error: Option<String>,
    /// The digest chain of the home region: what the next digest file covers and links to.
    #[serde(default)]
    pub digest: DigestChain,
    /// The digest chains of the other regions a multi-region trail delivers.
    #[serde(default)]
    pub region_digests: Vec<(String, DigestChain)>,
}

impl DeliveryStatus {
    /// The digest chain of `region` (the home region's is [`Self::digest`]), made empty,
    /// starting at `start`, when there is none yet.
    pub fn chain_mut(
        &mut self,
        region: &str,
        home: &str,
        start: DateTime<Utc>,
    ) -> &mut DigestChain {
        if region == home {
            return &mut self.digest;
        }
        let at = match self.region_digests.iter().position(|(r, _)| r == region) {
            Some(at) => at,
            None => {
                let chain = DigestChain { start: Some(start), ..DigestChain::default() };
                self.region_digests.push((region.to_owned(), chain));
                self.region_digests.len() - 1
            }
        };
        &mut self.region_digests[at].1
    }

    /// Every digest chain with its region, the home region's first.
    pub fn chains<'a>(&'a self, home: &'a str) -> impl Iterator<Item = (&'a str, &'a DigestChain)> {
        std::iter::once((home, &self.digest))
            .chain(self.region_digests.iter().map(|(r, c)| (r.as_str(), c)))
    }
}

/// The state of a trail's digest chain between two digest files.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct DigestChain {
    /// Start of the period the next digest covers (the end of the previous one, or when
    /// validation was turned on).
    pub start: Option<DateTime<Utc>>,
    /// Log files delivered since `start`.
    pub log_files: Vec<LogFileEntry>,
    /// The previous digest file, which the next one links to.
    pub previous: Option<PreviousDigest>,
}

/// A delivered log file, as a digest lists it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LogFileEntry {
    /// Bucket.
    pub bucket: String,
    /// Key.
    pub key: String,
    /// Hex SHA-256 of the uncompressed file.
    pub hash: String,
    /// `eventTime` of the newest record, milliseconds.
    pub newest_ms: i64,
    /// `eventTime` of the oldest record, milliseconds.
    pub oldest_ms: i64,
}

/// The last digest file of a chain.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PreviousDigest {
    /// Bucket.
    pub bucket: String,
    /// Key.
    pub key: String,
    /// Hex SHA-256 of the uncompressed digest file.
    pub hash: String,
    /// Hex signature.
    pub signature: String,
}

/// A digest signing key pair of one region.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SigningKey {
    /// Private key, PKCS#8 DER, base64.
    pub private_pkcs8: String,
    /// Public key, PKCS#1 DER, base64 (what ListPublicKeys returns).
    pub public_pkcs1: String,
    /// Hex fingerprint.
    pub fingerprint: String,
    /// Start of validity.
    pub valid_from: DateTime<Utc>,
    /// End of validity: the key is replaced after it.
    pub valid_to: DateTime<Utc>,
}

/// Digest signing keys, partition = region, key = fingerprint.
pub const SIGNING_KEYS: Collection<SigningKey> = Collection::new("cloudtrail.signing-keys");

impl Trail {
    /// `arn:aws:cloudtrail:<home region>:<account>:trail/<name>`.
    pub fn arn(&self) -> String {
        format!("arn:aws:cloudtrail:{}:{}:trail/{}", self.home_region, self.account, self.name)
    }

    /// The SNS topic ARN, when a topic is set.
    pub fn sns_topic_arn(&self) -> Option<String> {
        self.sns_topic_name.as_ref().map(|t| {
            if t.starts_with("arn:") {
                t.clone()
            } else {
                format!("arn:aws:sns:{}:{}:{t}", self.home_region, self.account)
            }
        })
    }

    /// Whether any custom selector is set.
    pub fn has_custom_event_selectors(&self) -> bool {
        !self.event_selectors.is_empty() || !self.advanced_event_selectors.is_empty()
    }
}

/// The event partitions (`<account>/<region>`) a trail delivers from, the home region's
/// first: a multi-region trail delivers every region of its account that has events.
pub fn trail_parts(tx: &mamori_store::Tx<'_>, trail: &Trail) -> mamori_store::Result<Vec<String>> {
    let home = format!("{}/{}", trail.account, trail.home_region);
    let mut parts = vec![home.clone()];
    if trail.is_multi_region_trail {
        let others = EVENTS.parts(tx, &format!("{}/", trail.account))?;
        parts.extend(others.into_iter().filter(|p| *p != home));
    }
    Ok(parts)
}

/// The region of a partition `<account>/<region>`.
pub fn part_region(part: &str) -> &str {
    part.split_once('/').map_or(part, |(_, r)| r)
}

/// A cursor at the newest event of each of `parts`: delivery starts after them.
pub fn cursors_now(
    tx: &mamori_store::Tx<'_>,
    parts: &[String],
) -> mamori_store::Result<Vec<(String, i64)>> {
    parts.iter().map(|p| Ok((p.clone(), EVENTS.last_id(tx, p)?))).collect()
}

/// Trails, partition = account id, key = name.
pub const TRAILS: Collection<Trail> = Collection::new("cloudtrail.trails");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_read_back_in_both_stored_forms() {
        let ev = StoredEvent {
            event_id: "e-1".into(),
            event_name: "CreateUser".into(),
            event_source: "iam.amazonaws.com".into(),
            read_only: false,
            access_key_id: String::new(),
            username: "ünicode".into(),
            data: true,
            record: r#"{"eventName":"CreateUser","x":"a\"b"}"#.into(),
        };
        let mut out = Vec::new();
        ev.encode(&mut out);
        assert!(out.ends_with(ev.record.as_bytes()), "the record is stored as its text");
        let back = StoredEvent::decode(&out).unwrap();
        assert_eq!(
            (back.event_id, back.event_name, back.event_source, back.username, back.record),
            (ev.event_id, ev.event_name, ev.event_source, ev.username, ev.record)
        );
        assert!(back.data && !back.read_only && back.access_key_id.is_empty());
        // Cut anywhere inside the header, the form is refused rather than misread.
        let header = out.len() - r#"{"eventName":"CreateUser","x":"a\"b"}"#.len();
        for cut in 0..header {
            assert!(StoredEvent::decode(&out[..cut]).is_err(), "cut at {cut}");
        }
        // Events stored before block series, as JSON with the record inline.
        let old = br#"{"event_id":"e","event_name":"N","event_source":"s","read_only":true,
            "access_key_id":"AK","username":"u","data":false,"record":{"a": 1}}"#;
        let old = StoredEvent::decode(old).unwrap();
        assert_eq!((old.access_key_id.as_str(), old.record.as_str()), ("AK", r#"{"a": 1}"#));
        assert!(old.read_only && !old.data);
    }

    #[test]
    fn deliveries_read_what_history_stored() {
        // (data, eventSource, username): a header string of several bytes per character,
        // and empty ones, around the source.
        let cases = [
            (true, "iam.amazonaws.com", "ünicode"),
            (false, "", ""),
            (false, "s3.amazonaws.com", "x"),
        ];
        for (data, source, username) in cases {
            let ev = StoredEvent {
                event_id: "e-1".into(),
                event_name: "CreateUser".into(),
                event_source: source.into(),
                read_only: true,
                access_key_id: "AKIA".into(),
                username: username.into(),
                data,
                record: r#"{"eventName":"CreateUser","x":"a\"b"}"#.into(),
            };
            let mut stored = Vec::new();
            ev.encode(&mut stored);
            let read = DeliveryEvent::decode(&stored).unwrap();
            assert_eq!(
                (read.data(), read.event_source(), read.record.as_str()),
                (data, source, ev.record.as_str())
            );
            let mut again = Vec::new();
            read.encode(&mut again);
            assert_eq!(again, stored, "encodes back as stored");
            let header = stored.len() - ev.record.len();
            for cut in 0..header {
                assert!(DeliveryEvent::decode(&stored[..cut]).is_err(), "cut at {cut}");
            }
        }
        let mut bad_source = Vec::new();
        EventHeader {
            event_id: "e",
            event_name: "n",
            event_source: "s",
            read_only: false,
            access_key_id: "",
            username: "",
            data: false,
        }
        .encode(&mut bad_source);
        let at = bad_source.iter().rposition(|&b| b == b's').unwrap();
        bad_source[at] = 0xff;
        assert!(DeliveryEvent::decode(&bad_source).is_err(), "an eventSource that is not UTF-8");
        let old = br#"{"event_id":"e","event_name":"N","event_source":"sts.amazonaws.com","read_only":true,
            "access_key_id":"AK","username":"u","data":true,"record":{"a": 1}}"#;
        let old = DeliveryEvent::decode(old).unwrap();
        assert_eq!(
            (old.data(), old.event_source(), old.record.as_str()),
            (true, "sts.amazonaws.com", r#"{"a": 1}"#)
        );
    }
}
