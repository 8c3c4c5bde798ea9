//! Work on the clock: the orphan sweep at start, lifecycle rules
//! (<https://docs.aws.amazon.com/AmazonS3/latest/userguide/lifecycle-expire-general-considerations.html>)
//! and server access log delivery
//! (<https://docs.aws.amazon.com/AmazonS3/latest/userguide/LogFormat.html>).

use std::collections::HashSet;
use std::sync::Arc;

use base64::Engine as _;
use chrono::{DateTime, TimeDelta, Utc};
use mamori_aws::AwsError;
use mamori_service::{Context, Dispatcher, PrincipalKind, Task};
use serde_json::{Value, json};

use crate::S3;
use crate::ops::{delete_key, remove_version_blobs};
use crate::state::{ACCESS_LOG, BUCKET_PARTITION, BUCKETS, Bucket, OBJECTS, UPLOADS, Version, db};

const DAY_MS: i64 = 86_400_000;
/// How often access logs are delivered (AWS delivers within hours; this is sooner).
const LOG_INTERVAL_SECS: i64 = 60;

/// Sweeps orphaned bodies and registers the lifecycle and access log tasks.
pub fn register_tasks(dispatcher: &Arc<Dispatcher>, svc: Arc<S3>) {
    match sweep(dispatcher, &svc) {
        Ok(n) if n > 0 => {
            tracing::info!(target: "s3", removed = n, "removed orphaned object bodies")
        }
        Ok(_) => {}
        Err(e) => {
            tracing::error!(target: "s3", error = %e.message, cause = e.cause.as_deref().unwrap_or(""), "orphan sweep failed")
        }
    }
    let now = dispatcher.clock().now();
    let (d, s) = (dispatcher.clone(), svc.clone());
    dispatcher.scheduler().register_coalesced(
        Task {
            name: "s3.lifecycle",
            interval: TimeDelta::hours(1),
            run: Arc::new(move |due| {
                let (d, s) = (d.clone(), s.clone());
                Box::pin(async move {
                    if let Err(e) = run_lifecycle(&d, &s, due) {
                        tracing::error!(target: "s3", error = %e.message, cause = e.cause.as_deref().unwrap_or(""), "lifecycle run failed");
                    }
                })
            }),
        },
        now,
    );
    let d = dispatcher.clone();
    dispatcher.scheduler().register_coalesced(
        Task {
            name: "s3.access_logs",
            interval: TimeDelta::seconds(LOG_INTERVAL_SECS),
            run: Arc::new(move |due| {
                let d = d.clone();
                Box::pin(async move { deliver_logs(&d, due).await })
            }),
        },
        now,
    );
}

/// Removes body files no committed metadata names.
fn sweep(dispatcher: &Dispatcher, s3: &S3) -> Result<usize, AwsError> {
    let referenced: HashSet<String> = crate::state::read(dispatcher.store(), |tx| {
        let mut set = HashSet::new();
        for (_, _, entry) in OBJECTS.everywhere(tx).map_err(db)? {
            set.extend(entry.versions.into_iter().filter_map(|v| v.blob));
        }
        for (_, _, upload) in UPLOADS.everywhere(tx).map_err(db)? {
            set.extend(upload.parts.into_values().map(|p| p.blob));
        }
        Ok::<_, AwsError>(set)
    })?;
    Ok(s3.blobs().sweep(&referenced))
}

/// The instant an object written at `ms` expires after `days`: the creation time plus
/// the days, rounded up to the next midnight UTC, as S3 computes it.
pub fn expiry(ms: i64, days: i64) -> i64 {
    let t = ms + days * DAY_MS;
    (t + DAY_MS - 1).div_euclid(DAY_MS) * DAY_MS
}

/// Whether a rule's filter selects an object.
fn selects(rule: &Value, key: &str, v: &Version) -> bool {
    let prefix_ok = |p: Option<&str>| p.is_none_or(|p| key.starts_with(p));
    let tag_ok = |t: &Value| {
        v.tags.iter().any(|x| x.get("Key") == t.get("Key") && x.get("Value") == t.get("Value"))
    };
    let size_ok = |f: &Value| {
        f.get("ObjectSizeGreaterThan").and_then(Value::as_u64).is_none_or(|n| v.size > n)
            && f.get("ObjectSizeLessThan").and_then(Value::as_u64).is_none_or(|n| v.size < n)
    };
    match rule.get("Filter") {
        None => prefix_ok(rule.get("Prefix").and_then(Value::as_str)),
        Some(f) => match f.get("And") {
            Some(and) => {
                prefix_ok(and.get("Prefix").and_then(Value::as_str))
                    && and.get("Tags").and_then(Value::as_array).into_iter().flatten().all(tag_ok)
                    && size_ok(and)
            }
            None => {
                prefix_ok(f.get("Prefix").and_then(Value::as_str))
                    && f.get("Tag").is_none_or(tag_ok)
                    && size_ok(f)
            }
        },
    }
}

/// Applies every bucket's enabled lifecycle rules as of `due`.
pub fn run_lifecycle(dispatcher: &Dispatcher, s3: &S3, due: DateTime<Utc>) -> Result<(), AwsError> {
    let now = due.timestamp_millis();
    let buckets: Vec<Bucket> =
        crate::state::read(dispatcher.store(), |tx| BUCKETS.all(tx, BUCKET_PARTITION).map_err(db))?
            .into_iter()
            .map(|(_, b)| b)
            .filter(|b| b.lifecycle.is_some())
            .collect();
    for bucket in buckets {
        let rules: Vec<Value> = bucket
            .lifecycle
            .as_ref()
            .and_then(|l| l.get("Rules"))
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter(|r| r.get("Status").and_then(Value::as_str) == Some("Enabled"))
            .cloned()
            .collect();
        let removed = crate::state::write(dispatcher.store(), |tx| {
            let mut removed: Vec<Version> = Vec::new();
            let mut expired = 0usize;
            for (key, _) in OBJECTS.all(tx, &bucket.name).map_err(db)? {
                for rule in &rules {
                    expired += apply_rule(tx, &bucket, rule, &key, now, &mut removed)?;
                }
            }
            for (id, upload) in UPLOADS.all(tx, &bucket.name).map_err(db)? {
                let days = rules.iter().find_map(|r| {
                    let d = r
                        .pointer("/AbortIncompleteMultipartUpload/DaysAfterInitiation")?
                        .as_i64()?;
                    selects(r, &upload.key, &upload.template).then_some(d)
                });
                if days.is_some_and(|d| expiry(upload.initiated, d) <= now) {
                    UPLOADS.delete(tx, &bucket.name, &id).map_err(db)?;
                    removed.extend(
                        upload
                            .parts
                            .into_values()
                            .map(|p| Version { blob: Some(p.blob), ..Version::default() }),
                    );
                    tracing::info!(target: "s3", bucket = %bucket.name, upload = %id, "lifecycle aborted an incomplete multipart upload");
                }
            }
            if expired > 0 {
                tracing::info!(target: "s3", bucket = %bucket.name, expired, "lifecycle expired objects");
            }
            Ok::<_, AwsError>(removed)
        })?;
        remove_version_blobs(s3, &removed);
    }
    Ok(())
}

fn apply_rule(
    tx: &mamori_store::Tx<'_>,
    bucket: &Bucket,
    rule: &Value,
    key: &str,
    now: i64,
    removed: &mut Vec<Version>,
) -> Result<usize, AwsError> {
    // The entry may have changed under an earlier rule of this run.
    let Some(entry) = OBJECTS.get(tx, &bucket.name, key).map_err(db)? else { return Ok(0) };
    let mut n = 0;
    if let Some(cur) = entry.current()
        && selects(rule, key, cur)
    {
        let exp = rule.get("Expiration");
        let due = exp
            .and_then(|e| e.get("Days"))
            .and_then(Value::as_i64)
            .map(|d| expiry(cur.last_modified, d))
            .or_else(|| {
                exp.and_then(|e| e.get("Date")).and_then(Value::as_f64).map(|d| (d * 1000.0) as i64)
            });
        if due.is_some_and(|d| d <= now) {
            let out = delete_key(tx, bucket, key, None, now)?;
            removed.extend(out.removed);
            n += 1;
        }
    }
    let entry = OBJECTS.get(tx, &bucket.name, key).map_err(db)?.unwrap_or_default();
    if let Some(days) =
        rule.pointer("/NoncurrentVersionExpiration/NoncurrentDays").and_then(Value::as_i64)
    {
        // A version becomes noncurrent when the next newer one is written.
        let doomed: Vec<String> = entry
            .versions
            .windows(2)
            .filter(|w| selects(rule, key, &w[1]) && expiry(w[0].last_modified, days) <= now)
            .map(|w| w[1].version_id.clone())
            .collect();
        for id in doomed {
            let out = delete_key(tx, bucket, key, Some(&id), now)?;
            removed.extend(out.removed);
            n += 1;
        }
    }
    if rule.pointer("/Expiration/ExpiredObjectDeleteMarker").and_then(Value::as_bool) == Some(true)
    {
        let entry = OBJECTS.get(tx, &bucket.name, key).map_err(db)?.unwrap_or_default();
        if entry.versions.len() == 1 && entry.versions[0].delete_marker {
            OBJECTS.delete(tx, &bucket.name, key).map_err(db)?;
            n += 1;
        }
    }
    Ok(n)
}

/// The S3 access log operation name (`REST.GET.OBJECT`).
fn log_operation(op: &str) -> String {
    let (verb, what) = match op {
        "GetObject" => ("GET", "OBJECT"),
        "HeadObject" => ("HEAD", "OBJECT"),
        "PutObject" => ("PUT", "OBJECT"),
        "CopyObject" => ("PUT", "OBJECT_COPY"),
        "DeleteObject" => ("DELETE", "OBJECT"),
        "DeleteObjects" => ("POST", "MULTI_OBJECT_DELETE"),
        "ListObjects" | "ListObjectsV2" => ("GET", "BUCKET"),
        "ListObjectVersions" => ("GET", "VERSIONS"),
        "HeadBucket" => ("HEAD", "BUCKET"),
        "CreateMultipartUpload" => ("POST", "UPLOADS"),
        "UploadPart" => ("PUT", "PART"),
        "CompleteMultipartUpload" => ("POST", "UPLOAD"),
        "AbortMultipartUpload" => ("DELETE", "UPLOAD"),
        other => return format!("REST.{}", other.to_ascii_uppercase()),
    };
    format!("REST.{verb}.{what}")
}

/// Buffers an access log record when the bucket has logging enabled.
pub fn record_access(
    s3: &S3,
    ctx: &Context,
    op: &str,
    bucket: &str,
    key: Option<&str>,
    res: &Result<Value, AwsError>,
) {
    // The delivery itself is not logged, or logging would feed itself.
    if matches!(&ctx.principal.kind, PrincipalKind::Service(s) if s == "logging.s3.amazonaws.com") {
        return;
    }
    let cached = s3.logging.read().unwrap_or_else(|e| e.into_inner()).get(bucket).cloned();
    let target = match cached {
        Some(t) => t,
        None => {
            let t = ctx
                .dispatcher
                .store()
                .read(|tx| BUCKETS.get(tx, BUCKET_PARTITION, bucket))
                .ok()
                .flatten()
                .and_then(|b| b.logging)
                .and_then(|l| {
                    Some((
                        l.get("TargetBucket")?.as_str()?.to_owned(),
                        l.get("TargetPrefix").and_then(Value::as_str).unwrap_or("").to_owned(),
                    ))
                });
            s3.logging
                .write()
                .unwrap_or_else(|e| e.into_inner())
                .insert(bucket.to_owned(), t.clone());
            t
        }
    };
    let Some((target_bucket, _)) = target else { return };
    let owner = crate::ops::canonical_id(ctx.account.as_str());
    let (status, code) = match res {
        Ok(v) if op == "GetObject" && v.get("ContentRange").is_some() => (206, "-".to_owned()),
        Ok(_) => (200, "-".to_owned()),
        Err(e) => (e.status.unwrap_or_else(|| error_status(&e.code)), e.code.clone()),
    };
    let size = res.as_ref().ok().and_then(|v| v.get("ContentLength")).and_then(Value::as_u64);
    let sent =
        if op == "GetObject" { size.map_or("-".into(), |s| s.to_string()) } else { "-".to_owned() };
    let key_text = key.map_or("-".to_owned(), |k| k.to_owned());
    let uri = match key {
        Some(k) => format!("{} /{bucket}/{k} HTTP/1.1", log_verb(op)),
        None => format!("{} /{bucket} HTTP/1.1", log_verb(op)),
    };
    let line = format!(
        "{owner} {bucket} [{}] {} {} {} {} {key_text} \"{uri}\" {status} {code} {sent} {} 1 1 \"-\" \"{}\" - {} SigV4 - AuthHeader {bucket}.s3.{}.amazonaws.com - - -",
        ctx.time.format("%d/%b/%Y:%H:%M:%S +0000"),
        ctx.source_ip,
        ctx.principal.arn,
        ctx.request_id,
        log_operation(op),
        size.map_or("-".into(), |s| s.to_string()),
        ctx.user_agent.replace('"', "'"),
        ctx.request_id,
        ctx.region.as_str(),
    );
    let written = ctx.dispatcher.store().write(|tx| {
        ACCESS_LOG.append(tx, &target_bucket, bucket, ctx.time.timestamp_millis(), &line)
    });
    if let Err(e) = written {
        tracing::warn!(target: "s3", bucket, error = %e, "cannot buffer access log record");
    }
}

/// The HTTP status of an S3 error the handler left to the model.
fn error_status(code: &str) -> u16 {
    match code {
        "NoSuchKey"
        | "NoSuchBucket"
        | "NoSuchUpload"
        | "NoSuchVersion"
        | "NoSuchBucketPolicy"
        | "NoSuchLifecycleConfiguration"
        | "NoSuchTagSet" => 404,
        "AccessDenied" | "InvalidObjectState" => 403,
        "BucketAlreadyExists" | "BucketAlreadyOwnedByYou" | "BucketNotEmpty" => 409,
        _ => 400,
    }
}

fn log_verb(op: &str) -> &'static str {
    match op {
        "PutObject" | "CopyObject" | "UploadPart" | "CreateBucket" => "PUT",
        "DeleteObject" | "DeleteBucket" | "AbortMultipartUpload" => "DELETE",
        "HeadObject" | "HeadBucket" => "HEAD",
        "DeleteObjects" | "CreateMultipartUpload" | "CompleteMultipartUpload" => "POST",
        _ => "GET",
    }
}

/// Delivers buffered records as one object per target bucket, through the dispatcher
/// as `logging.s3.amazonaws.com`, deleting them only once the object is stored.
async fn deliver_logs(dispatcher: &Arc<Dispatcher>, due: DateTime<Utc>) {
    let targets: Vec<Bucket> = match dispatcher.store().read(|tx| BUCKETS.all(tx, BUCKET_PARTITION))
    {
        Ok(all) => all.into_iter().map(|(_, b)| b).collect(),
        Err(e) => {
            tracing::warn!(target: "s3", error = %e, "cannot read buckets for log delivery");
            return;
        }
    };
    for source in targets.iter().filter(|b| b.logging.is_some()) {
        let Some(l) = &source.logging else { continue };
        let Some(target) = l.get("TargetBucket").and_then(Value::as_str) else { continue };
        let prefix = l.get("TargetPrefix").and_then(Value::as_str).unwrap_or("");
        let records = dispatcher.store().read(|tx| {
            ACCESS_LOG.range(
                tx,
                target,
                &[source.name.as_str()],
                i64::MIN,
                i64::MAX,
                None,
                10_000,
                false,
            )
        });
        let records = match records {
            Ok(r) if !r.is_empty() => r,
            Ok(_) => continue,
            Err(e) => {
                tracing::warn!(target: "s3", error = %e, "cannot read access log records");
                continue;
            }
        };
        let body: String = records.iter().map(|r| format!("{}\n", r.value)).collect();
        let key = format!(
            "{prefix}{}-{}",
            due.format("%Y-%m-%d-%H-%M-%S"),
            &uuid::Uuid::new_v4().simple().to_string()[..16].to_ascii_uppercase()
        );
        let Some(account) = mamori_aws::AccountId::parse(&source.account) else { continue };
        let Some(region) = mamori_aws::Region::parse(&source.region) else { continue };
        let input = json!({
            "Bucket": target,
            "Key": key,
            "Body": base64::engine::general_purpose::STANDARD.encode(body.as_bytes()),
            "ContentType": "text/plain",
        });
        match dispatcher
            .call_as_service("logging.s3.amazonaws.com", account, region, "s3", "PutObject", input)
            .await
        {
            Ok(_) => {
                let ids: Vec<i64> = records.iter().map(|r| r.id).collect();
                if let Err(e) =
                    dispatcher.store().write(|tx| ACCESS_LOG.delete_ids(tx, target, &ids))
                {
                    tracing::warn!(target: "s3", error = %e, "cannot drop delivered access log records");
                }
                tracing::info!(target: "s3", source = %source.name, target, key = %key, records = ids.len(), "access log delivered");
            }
            Err(e) => {
                tracing::warn!(target: "s3", source = %source.name, target, code = %e.code, "access log delivery failed")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expiry_rounds_to_next_midnight() {
        let jan1_noon = 1_704_110_400_000; // 2024-01-01T12:00:00Z
        let jan3 = 1_704_240_000_000; // 2024-01-03T00:00:00Z
        assert_eq!(expiry(jan1_noon, 1), jan3);
        assert_eq!(expiry(jan3, 1), jan3 + DAY_MS);
    }

    #[test]
    fn filters() {
        let v = Version {
            size: 10,
            tags: vec![json!({"Key": "t", "Value": "1"})],
            ..Version::default()
        };
        let cases = [
            (json!({"Prefix": "logs/"}), "logs/a", true),
            (json!({"Prefix": "logs/"}), "other", false),
            (json!({"Filter": {"Prefix": ""}}), "x", true),
            (json!({"Filter": {"Tag": {"Key": "t", "Value": "1"}}}), "x", true),
            (json!({"Filter": {"Tag": {"Key": "t", "Value": "2"}}}), "x", false),
            (
                json!({"Filter": {"And": {"Prefix": "a", "Tags": [{"Key": "t", "Value": "1"}]}}}),
                "ab",
                true,
            ),
            (json!({"Filter": {"ObjectSizeGreaterThan": 20}}), "x", false),
        ];
        for (rule, key, want) in cases {
            assert_eq!(selects(&rule, key, &v), want, "{rule} {key}");
        }
    }
}
