//! Delivery of log files and digest files to a trail's S3 bucket, through S3 as the
//! CloudTrail service principal (so the bucket policy decides), following
//! <https://docs.aws.amazon.com/awscloudtrail/latest/userguide/cloudtrail-find-log-files.html>,
//! <https://docs.aws.amazon.com/awscloudtrail/latest/userguide/cloudtrail-log-file-examples.html>
//! and the digest pages named in [`crate::digest`].
//!
//! Log files: every delivery run, the events a trail selects since its S3 cursor become
//! gzip JSON files `{"Records":[...]}` of at most [`FILE_EVENTS`] records. The cursor
//! moves, in the same store write that queues the file for the next digest, only after
//! S3 accepted the object, so a refused delivery is retried on the next run and shown in
//! GetTrailStatus meanwhile. A crash between PutObject and that write delivers the same
//! events again in a new file (at least once, as AWS warns too), and the first file is
//! in no digest.
//!
//! Digests: every hour, a trail with log file validation gets one digest listing the
//! files delivered since the previous digest, signed and linked to it.

use std::io::Write as _;
use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use chrono::{DateTime, Utc};
use mamori_aws::{AccountId, AwsError, Region};
use mamori_service::Dispatcher;
use rand::Rng as _;
use serde_json::{Value, json};

use crate::delivery::{PRINCIPAL, selected};
use crate::digest::{self, DigestTarget};
use crate::state::{
    DELIVERY_VIEW, LogFileEntry, PreviousDigest, TRAILS, Trail, part_region, trail_parts,
};

/// Records per log file.
pub const FILE_EVENTS: usize = 1_000;
/// Log files delivered per trail and run (the rest waits for the next run).
const MAX_FILES_PER_RUN: usize = 100;

/// `[prefix/]AWSLogs/<account>/CloudTrail/<region>/YYYY/MM/DD/<account>_CloudTrail_<region>_<YYYYMMDDTHHmmZ>_<unique>.json.gz`.
pub fn log_file_key(
    prefix: Option<&str>,
    account: &str,
    region: &str,
    at: DateTime<Utc>,
    unique: &str,
) -> String {
    let key = format!(
        "AWSLogs/{account}/CloudTrail/{region}/{ymd}/{account}_CloudTrail_{region}_{ts}_{unique}.json.gz",
        ymd = at.format("%Y/%m/%d"),
        ts = at.format("%Y%m%dT%H%MZ"),
    );
    digest::with_prefix(prefix, key)
}

/// The body of a log file: `{"Records":[...]}` from records already in JSON.
pub fn log_file_body<'a>(records: impl IntoIterator<Item = &'a str>) -> Vec<u8> {
    let mut out = br#"{"Records":["#.to_vec();
    for (i, rec) in records.into_iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.extend_from_slice(rec.as_bytes());
    }
    out.extend_from_slice(b"]}");
    out
}

/// Gzip of `bytes`.
pub fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    // Writing into a Vec cannot fail.
    let _ = enc.write_all(bytes);
    enc.finish().unwrap_or_default()
}

fn unique_suffix() -> String {
    rand::thread_rng()
        .sample_iter(&rand::distributions::Alphanumeric)
        .take(16)
        .map(char::from)
        .collect()
}

fn ids(trail: &Trail) -> Option<(AccountId, Region)> {
    Some((AccountId::parse(&trail.account)?, Region::parse(&trail.home_region)?))
}

fn logging_trails(dispatcher: &Dispatcher) -> Vec<Trail> {
    match dispatcher.store().read(|tx| TRAILS.everywhere(tx)) {
        Ok(t) => t.into_iter().map(|(_, _, t)| t).collect(),
        Err(err) => {
            tracing::error!(error = %err, "cannot read trails");
            Vec::new()
        }
    }
}

async fn put_object(
    dispatcher: &Arc<Dispatcher>,
    trail: &Trail,
    key: &str,
    gz: &[u8],
    metadata: Option<Value>,
) -> Result<(), AwsError> {
    let (account, region) =
        ids(trail).ok_or_else(|| AwsError::internal("trail with an invalid account or region"))?;
    let mut input = json!({
        "Bucket": trail.s3_bucket_name,
        "Key": key,
        "Body": B64.encode(gz),
        "ACL": "bucket-owner-full-control",
        "ContentType": "application/json",
    });
    if let Some(m) = metadata {
        input["Metadata"] = m;
    }
    // GAP: the trail's KmsKeyId is not applied (the bucket's default encryption is).
    // The bucket policy sees aws:SourceArn = the trail and aws:SourceAccount.
    dispatcher
        .call_as_service_from(PRINCIPAL, &trail.arn(), account, region, "s3", "PutObject", input)
        .await?;
    Ok(())
}

/// Delivers the log files of every logging trail.
pub async fn deliver_all(dispatcher: &Arc<Dispatcher>, now: DateTime<Utc>) {
    // Events recorded before this instant are in the store before the cursor is read.
    dispatcher.flush_audit().await;
    for trail in logging_trails(dispatcher) {
        let stopped_with_backlog = !trail.is_logging && !trail.status.stop_cursors.is_empty();
        if !(trail.is_logging || stopped_with_backlog) || trail.s3_bucket_name.is_empty() {
            continue;
        }
        // A stopped trail delivers the backlog of the partitions it had when it stopped.
        let parts = if trail.is_logging {
            match dispatcher.store().read(|tx| trail_parts(tx, &trail)) {
                Ok(p) => p,
                Err(err) => {
                    tracing::error!(error = %err, trail = %trail.arn(), "cannot list the trail's regions");
                    continue;
                }
            }
        } else {
            trail.status.stop_cursors.iter().map(|(p, _)| p.clone()).collect()
        };
        let (account, name) = (trail.account.clone(), trail.name.clone());
        let mut next = Some(trail);
        for part in &parts {
            for _ in 0..MAX_FILES_PER_RUN {
                let Some(t) = next.take() else { break };
                let more = deliver_file(dispatcher, t, part, now).await;
                next = dispatcher.store().read(|tx| TRAILS.get(tx, &account, &name)).ok().flatten();
                if !more {
                    break;
                }
            }
        }
    }
}

/// Delivers one file of the events of partition `part`; true when a full file went out
/// and more may be waiting.
async fn deliver_file(
    dispatcher: &Arc<Dispatcher>,
    trail: Trail,
    part: &str,
    now: DateTime<Utc>,
) -> bool {
    let region = part_region(part);
    let store = dispatcher.store();
    // A partition without a cursor appeared after logging started: all of it is new.
    let cursor = trail.status.s3_cursor.iter().find(|(p, _)| p == part).map_or(0, |(_, c)| *c);
    let mut records = match store.read(|tx| DELIVERY_VIEW.since_id(tx, part, cursor, FILE_EVENTS)) {
        Ok(r) => r,
        Err(err) => {
            tracing::error!(error = %err, trail = %trail.arn(), "cannot read events to deliver");
            return false;
        }
    };
    // A stopped trail delivers what was recorded before StopLogging, then nothing.
    let stop = if trail.is_logging {
        None
    } else {
        trail.status.stop_cursors.iter().find(|(p, _)| p == part).map(|(_, c)| *c)
    };
    let mut full = records.len() == FILE_EVENTS;
    if let Some(stop) = stop {
        records.retain(|r| r.id <= stop);
        full = full && records.last().is_some_and(|r| r.id < stop);
        if records.is_empty() {
            let res = store.write(|tx| {
                let Some(mut current) = TRAILS.get(tx, &trail.account, &trail.name)? else {
                    return Ok(());
                };
                if !current.is_logging {
                    current.status.stop_cursors.retain(|(p, _)| p != part);
                }
                TRAILS.put(tx, &trail.account, &trail.name, &current)
            });
            if let Err(err) = res {
                tracing::error!(error = %err, trail = %trail.arn(), "cannot save the S3 delivery status");
            }
            return false;
        }
    }
    if records.is_empty() {
        return false;
    }
    let last_id = records.last().map_or(cursor, |r| r.id);
    let chosen: Vec<_> = records.iter().filter(|r| selected(&trail, &r.value)).collect();
    let mut file = None;
    let mut result = Ok(());
    if !chosen.is_empty() {
        let body = log_file_body(chosen.iter().map(|r| r.value.record.as_str()));
        let key = log_file_key(
            trail.s3_key_prefix.as_deref(),
            &trail.account,
            region,
            now,
            &unique_suffix(),
        );
        result = put_object(dispatcher, &trail, &key, &gzip(&body), None).await;
        file = Some(LogFileEntry {
            bucket: trail.s3_bucket_name.clone(),
            key,
            hash: digest::sha256_hex(&body),
            newest_ms: chosen.iter().map(|r| r.ts).max().unwrap_or_default(),
            oldest_ms: chosen.iter().map(|r| r.ts).min().unwrap_or_default(),
        });
    }
    let res = store.write(|tx| {
        let Some(mut current) = TRAILS.get(tx, &trail.account, &trail.name)? else { return Ok(()) };
        let s = &mut current.status;
        match &result {
            Ok(()) => {
                s.s3_cursor.retain(|(p, _)| p != part);
                s.s3_cursor.push((part.to_owned(), last_id));
                if let Some(f) = &file {
                    s.latest_delivery_time = Some(now);
                    s.latest_delivery_attempt_time = Some(now);
                    s.latest_delivery_attempt_succeeded = Some(now);
                    s.latest_delivery_error = None;
                    if current.log_file_validation_enabled {
                        let begun = current.start_logging_time.unwrap_or(now).min(now);
                        let chain = s.chain_mut(region, &current.home_region, begun);
                        chain.start.get_or_insert(now);
                        chain.log_files.push(f.clone());
                    }
                }
            }
            Err(e) => {
                s.latest_delivery_attempt_time = Some(now);
                s.latest_delivery_error = Some(e.code.clone());
            }
        }
        TRAILS.put(tx, &trail.account, &trail.name, &current)
    });
    if let Err(err) = res {
        tracing::error!(error = %err, trail = %trail.arn(), "cannot save the S3 delivery status");
        return false;
    }
    match (result, file) {
        (Ok(()), Some(f)) => {
            tracing::info!(trail = %trail.arn(), bucket = %f.bucket, key = %f.key, n_events = chosen.len(), "log file delivered");
            notify(dispatcher, &trail, &f.key, now).await;
            full
        }
        (Ok(()), None) => full,
        (Err(e), _) => {
            tracing::warn!(trail = %trail.arn(), bucket = %trail.s3_bucket_name, code = %e.code, error = %e.message, "log file delivery failed; will retry");
            false
        }
    }
}

/// Publishes `{"s3Bucket": ..., "s3ObjectKey": [...]}` to the trail's topic.
async fn notify(dispatcher: &Arc<Dispatcher>, trail: &Trail, key: &str, now: DateTime<Utc>) {
    let (Some(topic), Some((account, region))) = (trail.sns_topic_arn(), ids(trail)) else {
        return;
    };
    let message = json!({"s3Bucket": trail.s3_bucket_name, "s3ObjectKey": [key]}).to_string();
    let input = json!({"TopicArn": topic, "Message": message});
    let result = dispatcher
        .call_as_service_from(PRINCIPAL, &trail.arn(), account, region, "sns", "Publish", input)
        .await;
    if let Err(e) = &result {
        tracing::warn!(trail = %trail.arn(), topic = %topic, code = %e.code, "delivery notification failed");
    }
    let res = dispatcher.store().write(|tx| {
        let Some(mut current) = TRAILS.get(tx, &trail.account, &trail.name)? else { return Ok(()) };
        let s = &mut current.status;
        s.latest_notification_attempt_time = Some(now);
        match &result {
            Ok(_) => {
                s.latest_notification_time = Some(now);
                s.latest_notification_attempt_succeeded = Some(now);
                s.latest_notification_error = None;
            }
            Err(e) => s.latest_notification_error = Some(e.code.clone()),
        }
        TRAILS.put(tx, &trail.account, &trail.name, &current)
    });
    if let Err(err) = res {
        tracing::error!(error = %err, trail = %trail.arn(), "cannot save the notification status");
    }
}

/// Delivers the hourly digest of every trail with log file validation: one per region
/// the trail delivers (a multi-region trail has a chain per region, from the first log
/// file of that region on).
pub async fn deliver_digests(dispatcher: &Arc<Dispatcher>, now: DateTime<Utc>) {
    for trail in logging_trails(dispatcher) {
        if !trail.log_file_validation_enabled {
            continue;
        }
        let regions: Vec<(String, bool)> = trail
            .status
            .chains(&trail.home_region)
            .map(|(r, c)| (r.to_owned(), !c.log_files.is_empty()))
            .collect();
        for (region, pending) in regions {
            if trail.is_logging || pending {
                deliver_digest(dispatcher, &trail.account, &trail.name, &region, now).await;
            }
        }
    }
}

async fn deliver_digest(
    dispatcher: &Arc<Dispatcher>,
    account: &str,
    name: &str,
    region: &str,
    now: DateTime<Utc>,
) {
    let store = dispatcher.store();
    // Read again: the previous region's digest changed the trail.
    let Ok(Some(trail)) = store.read(|tx| TRAILS.get(tx, account, name)) else { return };
    let home = trail.home_region.clone();
    let begun = trail.start_logging_time.unwrap_or(now).min(now);
    let mut status = trail.status.clone();
    let mut chain = status.chain_mut(region, &home, begun).clone();
    let start = *chain.start.get_or_insert(begun);
    if start >= now {
        return;
    }
    let result = match digest::current_signer(store, region, now).await {
        Err(e) => Err(AwsError::internal(e)),
        Ok(signer) => {
            let target = DigestTarget {
                account: &trail.account,
                region,
                home_region: &home,
                trail: &trail.name,
                bucket: &trail.s3_bucket_name,
                prefix: trail.s3_key_prefix.as_deref(),
                end: now,
            };
            let signed = digest::build(&target, &chain, &signer);
            let meta = json!({"signature": signed.signature, "signature-algorithm": digest::SIGNATURE_ALGORITHM});
            put_object(dispatcher, &trail, &signed.key, &gzip(&signed.body), Some(meta))
                .await
                .map(|()| signed)
        }
    };
    let res = store.write(|tx| {
        let Some(mut current) = TRAILS.get(tx, &trail.account, &trail.name)? else { return Ok(()) };
        let s = &mut current.status;
        match &result {
            Ok(signed) => {
                let c = s.chain_mut(region, &home, begun);
                // Files delivered while this digest was being made stay for the next one.
                c.log_files.retain(|f| !chain.log_files.iter().any(|g| g.key == f.key));
                c.start = Some(now);
                c.previous = Some(PreviousDigest {
                    bucket: trail.s3_bucket_name.clone(),
                    key: signed.key.clone(),
                    hash: signed.hash.clone(),
                    signature: signed.signature.clone(),
                });
                s.latest_digest_delivery_time = Some(now);
                s.latest_digest_delivery_error = None;
            }
            Err(e) => s.latest_digest_delivery_error = Some(e.code.clone()),
        }
        TRAILS.put(tx, &trail.account, &trail.name, &current)
    });
    if let Err(err) = res {
        tracing::error!(error = %err, trail = %trail.arn(), "cannot save the digest status");
    }
    match result {
        Ok(signed) => {
            tracing::info!(trail = %trail.arn(), region, key = %signed.key, n_files = chain.log_files.len(), "digest file delivered")
        }
        Err(e) => {
            tracing::warn!(trail = %trail.arn(), region, code = %e.code, error = %e.message, "digest delivery failed; will retry")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_file_keys_follow_the_documented_layout() {
        let at = DateTime::parse_from_rfc3339("2026-01-02T03:04:59Z").unwrap().to_utc();
        assert_eq!(
            log_file_key(None, "111122223333", "us-east-1", at, "Mu0KsOhtH1ar15ZZ"),
            "AWSLogs/111122223333/CloudTrail/us-east-1/2026/01/02/111122223333_CloudTrail_us-east-1_20260102T0304Z_Mu0KsOhtH1ar15ZZ.json.gz"
        );
        assert!(log_file_key(Some("p/q"), "1", "r", at, "u").starts_with("p/q/AWSLogs/1/"));
        assert_eq!(unique_suffix().len(), 16);
    }

    #[test]
    fn log_file_bodies_are_records_documents() {
        let body = log_file_body([r#"{"a":1}"#, r#"{"b":2}"#]);
        let v: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(v, json!({"Records": [{"a": 1}, {"b": 2}]}));
        let empty: Value = serde_json::from_slice(&log_file_body([])).unwrap();
        assert_eq!(empty, json!({"Records": []}));
        let gz = gzip(&body);
        let mut out = Vec::new();
        std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(gz.as_slice()), &mut out)
            .unwrap();
        assert_eq!(out, body);
    }
}
