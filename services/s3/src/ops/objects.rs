//! Object operations: PutObject, GetObject/HeadObject (ranges, conditions), DeleteObject,
//! DeleteObjects, CopyObject, object tagging and canned object ACLs, following
//! <https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutObject.html>,
//! <https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetObject.html> and
//! <https://docs.aws.amazon.com/AmazonS3/latest/userguide/DeletingObjectVersions.html>.

use std::collections::BTreeMap;

use base64::Engine as _;
use mamori_aws::AwsError;
use mamori_service::Context;
use serde_json::{Map, Value, json};

use super::{
    answer_version, bucket_of, check_acl, has_grant_headers, now_ms, parse_tag_header,
    push_version, s, secs,
};
use crate::S3;
use crate::checksum;
use crate::state::{
    Bucket, NULL_VERSION, OBJECTS, ObjectEntry, Version, db, invalid_argument, no_such_key,
};

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

/// Representation headers stored with an object and returned by GetObject.
const STORED_HEADERS: &[&str] = &[
    "ContentType",
    "CacheControl",
    "ContentDisposition",
    "ContentEncoding",
    "ContentLanguage",
    "WebsiteRedirectLocation",
];

/// The response-* query overrides of GetObject and the members they replace.
const OVERRIDES: &[(&str, &str)] = &[
    ("ResponseContentType", "ContentType"),
    ("ResponseCacheControl", "CacheControl"),
    ("ResponseContentDisposition", "ContentDisposition"),
    ("ResponseContentEncoding", "ContentEncoding"),
    ("ResponseContentLanguage", "ContentLanguage"),
];

/// The stored attributes of a new object from a PutObject/CreateMultipartUpload input.
pub fn template(ctx: &Context, bucket: &Bucket, input: &Value) -> Result<Version, AwsError> {
    if input.get("SSECustomerKey").is_some() || input.get("SSECustomerAlgorithm").is_some() {
        // GAP: SSE-C needs the customer key on every read; not built.
        return Err(
            AwsError::new("NotImplemented", "mamori does not support SSE-C").with_status(501)
        );
    }
    if input.get("ObjectLockMode").is_some() || input.get("WriteOffsetBytes").is_some() {
        return Err(AwsError::new(
            "NotImplemented",
            "mamori does not support object lock or appends",
        )
        .with_status(501));
    }
    let acl = s(input, "ACL");
    check_acl(bucket, acl, has_grant_headers(input))?;
    let mut headers = BTreeMap::new();
    for h in STORED_HEADERS {
        if let Some(v) = s(input, h) {
            // aws-chunked is the transfer framing, not the object's encoding.
            let v = if *h == "ContentEncoding" {
                v.split(',')
                    .map(str::trim)
                    .filter(|c| !c.eq_ignore_ascii_case("aws-chunked"))
                    .collect::<Vec<_>>()
                    .join(",")
            } else {
                v.to_owned()
            };
            if !v.is_empty() {
                headers.insert((*h).to_owned(), v);
            }
        }
    }
    if let Some(e) = input.get("Expires").and_then(Value::as_f64) {
        headers.insert("Expires".into(), e.to_string());
    }
    let metadata = input
        .get("Metadata")
        .and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .map(|(k, v)| (k.to_ascii_lowercase(), v.as_str().unwrap_or_default().to_owned()))
                .collect()
        })
        .unwrap_or_default();
    let tags = match s(input, "Tagging") {
        Some(t) => parse_tag_header(t)?,
        None => Vec::new(),
    };
    let (sse, kms_key_id) = encryption(ctx, bucket, input);
    Ok(Version {
        last_modified: now_ms(ctx),
        headers,
        metadata,
        tags,
        acl: acl.map(str::to_owned),
        sse: Some(sse),
        kms_key_id,
        storage_class: s(input, "StorageClass").filter(|c| *c != "STANDARD").map(str::to_owned),
        ..Version::default()
    })
}

/// The encryption of a new object: the request's header, else the bucket default, else
/// SSE-S3 (S3 encrypts every new object since January 2023).
fn encryption(ctx: &Context, bucket: &Bucket, input: &Value) -> (String, Option<String>) {
    let default = bucket
        .encryption
        .as_ref()
        .and_then(|e| e.pointer("/Rules/0/ApplyServerSideEncryptionByDefault"));
    let alg = s(input, "ServerSideEncryption")
        .or_else(|| default.and_then(|d| s(d, "SSEAlgorithm")))
        .unwrap_or("AES256");
    if alg.starts_with("aws:kms") {
        // GAP: until KMS exists, aws:kms objects are encrypted with the SSE-S3 master key;
        // the key id is stored and answered.
        let key = s(input, "SSEKMSKeyId")
            .or_else(|| default.and_then(|d| s(d, "KMSMasterKeyID")))
            .map(str::to_owned)
            .unwrap_or_else(|| {
                format!("arn:aws:kms:{}:{}:alias/aws/s3", ctx.region.as_str(), bucket.account)
            });
        (alg.to_owned(), Some(key))
    } else {
        ("AES256".to_owned(), None)
    }
}

/// Writes a body durably (off the async threads).
pub async fn store_body(s3: &S3, body: Vec<u8>) -> Result<crate::blob::StoredBlob, AwsError> {
    tokio::task::block_in_place(|| s3.blobs().put(&body))
}

/// Reads a version's body.
pub fn read_body(s3: &S3, v: &Version) -> Result<Vec<u8>, AwsError> {
    match (&v.blob, &v.wrapped_key) {
        (Some(id), Some(k)) => tokio::task::block_in_place(|| s3.blobs().get(id, k)),
        _ => Ok(Vec::new()),
    }
}

/// Removes the body files of versions that are gone.
pub fn remove_version_blobs(s3: &S3, versions: &[Version]) {
    for v in versions {
        if let Some(id) = &v.blob {
            s3.blobs().remove(id);
        }
    }
}

fn decode_body(input: &Value) -> Result<Vec<u8>, AwsError> {
    match s(input, "Body") {
        Some(b) => B64.decode(b).map_err(AwsError::internal),
        None => Ok(Vec::new()),
    }
}

/// Commits a new version of `key`, removing the bodies it replaced; the new body is
/// removed again if the commit fails, so nothing half-written stays visible.
/// `precondition` runs in the same transaction, before the version is added.
pub fn commit_version(
    s3: &S3,
    ctx: &Context,
    bucket_name: &str,
    key: &str,
    v: Version,
    precondition: impl FnOnce(&mamori_store::Tx<'_>, Option<&Version>) -> Result<(), AwsError>,
) -> Result<(Bucket, Version), AwsError> {
    let new_blob = v.blob.clone();
    let res = crate::state::write(ctx.dispatcher.store(), |tx| {
        let bucket = crate::state::load_bucket(tx, bucket_name)?;
        let mut entry = OBJECTS.get(tx, bucket_name, key).map_err(db)?.unwrap_or_default();
        precondition(tx, entry.current())?;
        let removed = push_version(&mut entry, v, &bucket);
        OBJECTS.put(tx, bucket_name, key, &entry).map_err(db)?;
        Ok::<_, AwsError>((bucket, entry.versions[0].clone(), removed))
    });
    match res {
        Ok((bucket, v, removed)) => {
            remove_version_blobs(s3, &removed);
            Ok((bucket, v))
        }
        Err(e) => {
            if let Some(id) = new_blob {
                s3.blobs().remove(&id);
            }
            Err(e)
        }
    }
}

pub async fn put_object(s3: &S3, ctx: &Context, input: Value) -> Result<Value, AwsError> {
    let key = s(&input, "Key").unwrap_or_default().to_owned();
    let bucket = crate::state::read(ctx.dispatcher.store(), |tx| bucket_of(ctx, tx, &input))?;
    let mut v = template(ctx, &bucket, &input)?;
    let body = decode_body(&input)?;
    v.checksum = checksum::verify(&input, &body)?;
    v.etag = format!("\"{}\"", checksum::md5_hex(&body));
    v.size = body.len() as u64;
    let blob = store_body(s3, body).await?;
    v.blob = Some(blob.id);
    v.wrapped_key = Some(blob.wrapped_key);
    let if_match = s(&input, "IfMatch").map(str::to_owned);
    let if_none = s(&input, "IfNoneMatch").map(str::to_owned);
    let key_for_err = key.clone();
    let (bucket, v) = commit_version(s3, ctx, &bucket.name, &key, v, |_, current| {
        if if_none.as_deref() == Some("*") && current.is_some() {
            return Err(precondition_failed("If-None-Match"));
        }
        if let Some(want) = &if_match {
            match current {
                None => return Err(no_such_key(&key_for_err)),
                Some(c) if !etag_matches(want, &c.etag) => {
                    return Err(precondition_failed("If-Match"));
                }
                _ => {}
            }
        }
        Ok(())
    })?;
    tracing::debug!(target: "s3", bucket = %bucket.name, key = %key, size = v.size, "object stored");
    let mut res = write_answer(&bucket, &v);
    if let Some((member, value)) = &v.checksum {
        res[member] = json!(value);
    }
    Ok(res)
}

/// The members PutObject, CopyObject and CompleteMultipartUpload share.
pub fn write_answer(bucket: &Bucket, v: &Version) -> Value {
    let mut res = json!({"ETag": v.etag, "ServerSideEncryption": v.sse});
    if let Some(id) = answer_version(bucket, v) {
        res["VersionId"] = json!(id);
    }
    if let Some(k) = &v.kms_key_id {
        res["SSEKMSKeyId"] = json!(k);
    }
    res
}

pub fn precondition_failed(condition: &str) -> AwsError {
    AwsError::new(
        "PreconditionFailed",
        "At least one of the pre-conditions you specified did not hold",
    )
    .with_status(412)
    .with_extra("Condition", condition)
}

fn etag_matches(list: &str, etag: &str) -> bool {
    list.split(',')
        .map(str::trim)
        .any(|t| t == "*" || t == etag || t.trim_matches('"') == etag.trim_matches('"'))
}

/// Finds the version a read names: `VersionId`, else the current one.
pub fn find_version<'a>(
    entry: Option<&'a ObjectEntry>,
    input: &Value,
    key: &str,
) -> Result<&'a Version, AwsError> {
    match s(input, "VersionId") {
        Some(id) => {
            let v = entry.and_then(|e| e.version(id)).ok_or_else(|| {
                AwsError::new("NoSuchVersion", "The specified version does not exist.")
                    .with_status(404)
                    .with_extra("Key", key)
                    .with_extra("VersionId", id)
            })?;
            if v.delete_marker {
                return Err(AwsError::new(
                    "MethodNotAllowed",
                    "The specified method is not allowed against this resource.",
                )
                .with_status(405));
            }
            Ok(v)
        }
        None => entry.and_then(ObjectEntry::current).ok_or_else(|| no_such_key(key)),
    }
}

/// Evaluates GetObject's conditional headers (RFC 7232 order, as S3 documents).
pub fn check_conditions(input: &Value, v: &Version) -> Result<(), AwsError> {
    let modified = v.last_modified / 1000;
    let at = |k: &str| input.get(k).and_then(Value::as_f64).map(|t| t as i64);
    let if_match = s(input, "IfMatch");
    if let Some(want) = if_match {
        if !etag_matches(want, &v.etag) {
            return Err(precondition_failed("If-Match"));
        }
    } else if at("IfUnmodifiedSince").is_some_and(|t| modified > t) {
        return Err(precondition_failed("If-Unmodified-Since"));
    }
    let not_modified = || AwsError::new("NotModified", "Not Modified").with_status(304);
    if let Some(none) = s(input, "IfNoneMatch") {
        if etag_matches(none, &v.etag) {
            return Err(not_modified());
        }
    } else if at("IfModifiedSince").is_some_and(|t| modified <= t) {
        return Err(not_modified());
    }
    Ok(())
}

/// A byte range `bytes=a-b`, `bytes=a-` or `bytes=-n` against `size`: `Ok(None)` for no
/// or an unparsable range (S3 then sends the whole object), `InvalidRange` when it
/// cannot be satisfied.
pub fn parse_range(header: Option<&str>, size: u64) -> Result<Option<(u64, u64)>, AwsError> {
    let Some(spec) = header.and_then(|h| h.trim().strip_prefix("bytes=")) else { return Ok(None) };
    if spec.contains(',') {
        return Ok(None);
    }
    let Some((a, b)) = spec.split_once('-') else { return Ok(None) };
    let unsatisfiable = || {
        AwsError::new("InvalidRange", "The requested range is not satisfiable")
            .with_status(416)
            .with_extra("RangeRequested", format!("bytes={spec}"))
            .with_extra("ActualObjectSize", size.to_string())
    };
    let (a, b) = (a.trim(), b.trim());
    let range = match (a.parse::<u64>().ok(), b.parse::<u64>().ok()) {
        (Some(start), _) if start >= size => return Err(unsatisfiable()),
        (Some(start), Some(end)) if end >= start => (start, end.min(size - 1)),
        (Some(_), Some(_)) => return Ok(None),
        (Some(start), None) if b.is_empty() => (start, size - 1),
        (None, Some(n)) if a.is_empty() => {
            // An empty object has no last byte to count back from (`size - 1` would
            // underflow); S3's answer there is not recorded, so it is refused like
            // `bytes=0-` on an empty object.
            if n == 0 || size == 0 {
                return Err(unsatisfiable());
            }
            (size.saturating_sub(n), size - 1)
        }
        _ => return Ok(None),
    };
    Ok(Some(range))
}

pub async fn get_object(
    s3: &S3,
    ctx: &Context,
    input: Value,
    with_body: bool,
) -> Result<Value, AwsError> {
    let key = s(&input, "Key").unwrap_or_default().to_owned();
    let (bucket, entry) = crate::state::read(ctx.dispatcher.store(), |tx| {
        let bucket = bucket_of(ctx, tx, &input)?;
        let entry = OBJECTS.get(tx, &bucket.name, &key).map_err(db)?;
        Ok::<_, AwsError>((bucket, entry))
    })?;
    let v = find_version(entry.as_ref(), &input, &key)?;
    check_conditions(&input, v)?;
    let range = parse_range(s(&input, "Range"), v.size)?;
    let mut res = Map::new();
    res.insert("ETag".into(), json!(v.etag));
    res.insert("LastModified".into(), secs(v.last_modified));
    res.insert("AcceptRanges".into(), json!("bytes"));
    res.insert("ContentType".into(), json!("binary/octet-stream"));
    for (k, val) in &v.headers {
        let value = if k == "Expires" {
            val.parse::<f64>().map(|f| json!(f)).unwrap_or(json!(val))
        } else {
            json!(val)
        };
        res.insert(k.clone(), value);
    }
    for (param, member) in OVERRIDES {
        if let Some(val) = s(&input, param) {
            res.insert((*member).to_owned(), json!(val));
        }
    }
    if !v.metadata.is_empty() {
        res.insert("Metadata".into(), json!(v.metadata));
    }
    if let Some(id) = answer_version(&bucket, v) {
        res.insert("VersionId".into(), json!(id));
    }
    res.insert("ServerSideEncryption".into(), json!(v.sse.as_deref().unwrap_or("AES256")));
    if let Some(k) = &v.kms_key_id {
        res.insert("SSEKMSKeyId".into(), json!(k));
    }
    if let Some(n) = v.parts_count {
        res.insert("PartsCount".into(), json!(n));
    }
    if !v.tags.is_empty() {
        res.insert("TagCount".into(), json!(v.tags.len()));
    }
    if let Some(c) = &v.storage_class {
        res.insert("StorageClass".into(), json!(c));
    }
    let checksum_mode = s(&input, "ChecksumMode") == Some("ENABLED");
    if checksum_mode
        && range.is_none()
        && let Some((member, value)) = &v.checksum
    {
        res.insert(member.clone(), json!(value));
        res.insert("ChecksumType".into(), json!("FULL_OBJECT"));
    }
    let (start, len) = match range {
        Some((a, b)) => {
            res.insert("ContentRange".into(), json!(format!("bytes {a}-{b}/{}", v.size)));
            (a, b - a + 1)
        }
        None => (0, v.size),
    };
    res.insert("ContentLength".into(), json!(len));
    if with_body {
        let body = match (&v.blob, &v.wrapped_key) {
            (Some(id), Some(k)) => {
                tokio::task::block_in_place(|| s3.blobs().get_range(id, k, start, len))?
            }
            _ => Vec::new(),
        };
        res.insert("Body".into(), json!(B64.encode(&body)));
    }
    Ok(Value::Object(res))
}

/// What deleting one key (or one version) did.
pub struct Deleted {
    pub version_id: Option<String>,
    pub delete_marker: bool,
    pub removed: Vec<Version>,
}

/// Deletes `key` (or one version of it) inside a write transaction, following the
/// bucket's versioning state. Deleting a missing key succeeds, as in S3.
pub fn delete_key(
    tx: &mamori_store::Tx<'_>,
    bucket: &Bucket,
    key: &str,
    version_id: Option<&str>,
    now: i64,
) -> Result<Deleted, AwsError> {
    let mut entry = OBJECTS.get(tx, &bucket.name, key).map_err(db)?.unwrap_or_default();
    let mut out = Deleted { version_id: None, delete_marker: false, removed: Vec::new() };
    match version_id {
        Some(id) => {
            if let Some(i) = entry.versions.iter().position(|v| v.version_id == id) {
                let v = entry.versions.remove(i);
                out.delete_marker = v.delete_marker;
                out.removed.push(v);
            } else if id != NULL_VERSION && uuid_like(id).is_none() {
                return Err(invalid_argument("Invalid version id specified")
                    .with_extra("ArgumentName", "versionId"));
            }
            out.version_id = Some(id.to_owned());
        }
        None if bucket.versioning.is_none() => {
            out.removed = std::mem::take(&mut entry.versions);
        }
        // A delete marker is created even for a key that never existed, as in S3.
        None => {
            let marker = Version { delete_marker: true, last_modified: now, ..Version::default() };
            out.removed = push_version(&mut entry, marker, bucket);
            out.delete_marker = true;
            out.version_id = Some(entry.versions[0].version_id.clone());
        }
    }
    if entry.versions.is_empty() {
        OBJECTS.delete(tx, &bucket.name, key).map_err(db)?;
    } else {
        OBJECTS.put(tx, &bucket.name, key, &entry).map_err(db)?;
    }
    Ok(out)
}

fn uuid_like(id: &str) -> Option<()> {
    (!id.is_empty() && id.len() <= 1024).then_some(())
}

/// MFA Delete: once enabled, permanently deleting a version needs a valid `x-amz-mfa`
/// of the owner's root user; a plain delete (a delete marker) does not.
fn check_mfa(
    ctx: &Context,
    tx: &mamori_store::Tx<'_>,
    bucket: &Bucket,
    input: &Value,
    versioned: bool,
) -> Result<(), AwsError> {
    if versioned && bucket.mfa_delete.as_deref() == Some("Enabled") {
        crate::mfa::verify(ctx, tx, bucket, s(input, "MFA"))?;
    }
    Ok(())
}

pub fn delete_object(s3: &S3, ctx: &Context, input: Value) -> Result<Value, AwsError> {
    let key = s(&input, "Key").unwrap_or_default().to_owned();
    let version_id = s(&input, "VersionId");
    let (bucket, out) = crate::state::write(ctx.dispatcher.store(), |tx| {
        let bucket = bucket_of(ctx, tx, &input)?;
        check_mfa(ctx, tx, &bucket, &input, version_id.is_some())?;
        let out = delete_key(tx, &bucket, &key, version_id, now_ms(ctx))?;
        Ok::<_, AwsError>((bucket, out))
    })?;
    remove_version_blobs(s3, &out.removed);
    let mut res = json!({});
    if out.delete_marker {
        res["DeleteMarker"] = json!(true);
    }
    if (bucket.versioning.is_some() || version_id.is_some())
        && let Some(id) = out.version_id
    {
        res["VersionId"] = json!(id);
    }
    Ok(res)
}

pub fn delete_objects(s3: &S3, ctx: &Context, input: Value) -> Result<Value, AwsError> {
    let objects =
        input.pointer("/Delete/Objects").and_then(Value::as_array).cloned().unwrap_or_default();
    if objects.is_empty() || objects.len() > 1000 {
        return Err(crate::state::malformed_xml());
    }
    let quiet = input.pointer("/Delete/Quiet").and_then(Value::as_bool).unwrap_or(false);
    let (deleted, errors, removed) = crate::state::write(ctx.dispatcher.store(), |tx| {
        let bucket = bucket_of(ctx, tx, &input)?;
        // With MFA Delete, a request deleting any version without x-amz-mfa fails as a
        // whole, and so does one whose x-amz-mfa is invalid, versions or not.
        if bucket.mfa_delete.as_deref() == Some("Enabled") {
            let versions = objects.iter().any(|o| s(o, "VersionId").is_some());
            if versions || s(&input, "MFA").is_some() {
                crate::mfa::verify(ctx, tx, &bucket, s(&input, "MFA"))?;
            }
        }
        let (mut deleted, mut errors, mut removed) = (Vec::new(), Vec::new(), Vec::new());
        for o in &objects {
            let key = s(o, "Key").unwrap_or_default();
            let vid = s(o, "VersionId");
            match delete_key(tx, &bucket, key, vid, now_ms(ctx)) {
                Ok(out) => {
                    let mut d = json!({"Key": key});
                    if let Some(v) = vid {
                        d["VersionId"] = json!(v);
                    }
                    if out.delete_marker {
                        d["DeleteMarker"] = json!(true);
                        if vid.is_none()
                            && let Some(id) = &out.version_id
                        {
                            d["DeleteMarkerVersionId"] = json!(id);
                        }
                    }
                    deleted.push(d);
                    removed.extend(out.removed);
                }
                Err(e) => errors.push(json!({"Key": key, "Code": e.code, "Message": e.message})),
            }
        }
        Ok::<_, AwsError>((deleted, errors, removed))
    })?;
    remove_version_blobs(s3, &removed);
    let mut res = json!({});
    if !quiet && !deleted.is_empty() {
        res["Deleted"] = json!(deleted);
    }
    if !errors.is_empty() {
        res["Errors"] = json!(errors);
    }
    Ok(res)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges() {
        type Case<'a> = (Option<&'a str>, u64, Result<Option<(u64, u64)>, &'a str>);
        let cases: &[Case<'_>] = &[
            (None, 10, Ok(None)),
            (Some("bytes=0-4"), 10, Ok(Some((0, 4)))),
            (Some("bytes=5-"), 10, Ok(Some((5, 9)))),
            (Some("bytes=-3"), 10, Ok(Some((7, 9)))),
            (Some("bytes=-30"), 10, Ok(Some((0, 9)))),
            (Some("bytes=8-100"), 10, Ok(Some((8, 9)))),
            (Some("bytes=10-"), 10, Err("InvalidRange")),
            (Some("bytes=20-30"), 10, Err("InvalidRange")),
            (Some("bytes=5-2"), 10, Ok(None)),
            (Some("bytes=abc"), 10, Ok(None)),
            (Some("items=0-1"), 10, Ok(None)),
            (Some("bytes=0-1,3-4"), 10, Ok(None)),
            // Found by tests/header_mutations.rs: `size - 1` underflowed.
            (Some("bytes=-5"), 0, Err("InvalidRange")),
            (Some("bytes=0-"), 0, Err("InvalidRange")),
            (Some("bytes=-1"), 1, Ok(Some((0, 0)))),
        ];
        for (h, size, want) in cases {
            let got = parse_range(*h, *size).map_err(|e| e.code);
            assert_eq!(got, want.map_err(str::to_owned), "{h:?}");
        }
    }
}
