//! Multipart upload: CreateMultipartUpload, UploadPart, UploadPartCopy,
//! CompleteMultipartUpload, AbortMultipartUpload, ListParts and ListMultipartUploads,
//! following <https://docs.aws.amazon.com/AmazonS3/latest/userguide/mpuoverview.html>.
//! Parts are body files of their own; completion writes one new body (the parts in
//! order) before the object's metadata is committed, then drops the part files. The
//! ETag is the MD5 of the parts' binary MD5s followed by `-N`.

use base64::Engine as _;
use mamori_aws::AwsError;
use mamori_service::Context;
use md5::{Digest as _, Md5};
use serde_json::{Value, json};

use super::copy::copy_source;
use super::objects::{commit_version, parse_range, read_body, store_body, template, write_answer};
use super::{bucket_of, now_ms, owner, s, secs};
use crate::S3;
use crate::checksum;
use crate::state::{Part, UPLOADS, Upload, Version, db, invalid_argument, malformed_xml};

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;
/// The smallest part but the last (5 MiB).
const MIN_PART: u64 = 5 * 1024 * 1024;

fn no_such_upload(id: &str) -> AwsError {
    AwsError::new(
        "NoSuchUpload",
        "The specified upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed.",
    )
    .with_extra("UploadId", id)
}

fn load_upload(
    tx: &mamori_store::Tx<'_>,
    bucket: &str,
    id: &str,
    key: &str,
) -> Result<Upload, AwsError> {
    UPLOADS
        .get(tx, bucket, id)
        .map_err(db)?
        .filter(|u| u.key == key)
        .ok_or_else(|| no_such_upload(id))
}

pub fn create_multipart_upload(ctx: &Context, input: Value) -> Result<Value, AwsError> {
    let key = s(&input, "Key").unwrap_or_default().to_owned();
    let id = format!("{}{}", uuid::Uuid::new_v4().simple(), uuid::Uuid::new_v4().simple());
    let bucket = crate::state::write(ctx.dispatcher.store(), |tx| {
        let bucket = bucket_of(ctx, tx, &input)?;
        let upload = Upload {
            key: key.clone(),
            initiated: now_ms(ctx),
            initiator: ctx.principal.arn.clone(),
            template: template(ctx, &bucket, &input)?,
            parts: Default::default(),
        };
        UPLOADS.put(tx, &bucket.name, &id, &upload).map_err(db)?;
        Ok::<_, AwsError>(bucket)
    })?;
    let mut res = json!({"Bucket": bucket.name, "Key": key, "UploadId": id, "ServerSideEncryption": "AES256"});
    if let Some(alg) = s(&input, "ChecksumAlgorithm") {
        res["ChecksumAlgorithm"] = json!(alg);
    }
    Ok(res)
}

pub async fn upload_part(
    s3: &S3,
    ctx: &Context,
    operation: &str,
    input: Value,
) -> Result<Value, AwsError> {
    let key = s(&input, "Key").unwrap_or_default().to_owned();
    let id = s(&input, "UploadId").unwrap_or_default().to_owned();
    let number = input.get("PartNumber").and_then(Value::as_i64).unwrap_or(0);
    if !(1..=10_000).contains(&number) {
        return Err(invalid_argument(
            "Part number must be an integer between 1 and 10000, inclusive",
        )
        .with_extra("ArgumentName", "partNumber")
        .with_extra("ArgumentValue", number.to_string()));
    }
    let number = u32::try_from(number).map_err(AwsError::internal)?;
    let bucket = crate::state::read(ctx.dispatcher.store(), |tx| {
        let bucket = bucket_of(ctx, tx, &input)?;
        load_upload(tx, &bucket.name, &id, &key)?;
        Ok::<_, AwsError>(bucket)
    })?;
    let (body, stored_checksum) = if operation == "UploadPartCopy" {
        let (_, src) = copy_source(ctx, s(&input, "CopySource").unwrap_or_default())?;
        let body = read_body(s3, &src)?;
        match s(&input, "CopySourceRange") {
            Some(r) => match parse_range(Some(r), src.size)? {
                Some((a, b)) => (body[a as usize..=b as usize].to_vec(), None),
                None => {
                    return Err(invalid_argument(
                        "The x-amz-copy-source-range value must be of the form bytes=first-last where first and last are the zero-based offsets of the first and last bytes to copy",
                    ));
                }
            },
            None => (body, None),
        }
    } else {
        let body = match s(&input, "Body") {
            Some(b) => B64.decode(b).map_err(AwsError::internal)?,
            None => Vec::new(),
        };
        let c = checksum::verify(&input, &body)?;
        (body, c)
    };
    let etag = format!("\"{}\"", checksum::md5_hex(&body));
    let size = body.len() as u64;
    let blob = store_body(s3, body).await?;
    let part = Part {
        etag: etag.clone(),
        size,
        blob: blob.id.clone(),
        wrapped_key: blob.wrapped_key,
        last_modified: now_ms(ctx),
    };
    let res = crate::state::write(ctx.dispatcher.store(), |tx| {
        let mut upload = load_upload(tx, &bucket.name, &id, &key)?;
        let old = upload.parts.insert(number, part);
        UPLOADS.put(tx, &bucket.name, &id, &upload).map_err(db)?;
        Ok::<_, AwsError>(old)
    });
    match res {
        Ok(Some(old)) => s3.blobs().remove(&old.blob),
        Ok(None) => {}
        Err(e) => {
            s3.blobs().remove(&blob.id);
            return Err(e);
        }
    }
    if operation == "UploadPartCopy" {
        return Ok(
            json!({"CopyPartResult": {"ETag": etag, "LastModified": secs(now_ms(ctx))}, "ServerSideEncryption": "AES256"}),
        );
    }
    let mut res = json!({"ETag": etag, "ServerSideEncryption": "AES256"});
    if let Some((member, value)) = stored_checksum {
        res[member] = json!(value);
    }
    Ok(res)
}

pub async fn complete_multipart_upload(
    s3: &S3,
    ctx: &Context,
    input: Value,
) -> Result<Value, AwsError> {
    let key = s(&input, "Key").unwrap_or_default().to_owned();
    let id = s(&input, "UploadId").unwrap_or_default().to_owned();
    let asked = input
        .pointer("/MultipartUpload/Parts")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let (bucket, upload) = crate::state::read(ctx.dispatcher.store(), |tx| {
        let bucket = bucket_of(ctx, tx, &input)?;
        let upload = load_upload(tx, &bucket.name, &id, &key)?;
        Ok::<_, AwsError>((bucket, upload))
    })?;
    if asked.is_empty() {
        return Err(malformed_xml());
    }
    let invalid_part = || {
        AwsError::new(
            "InvalidPart",
            "One or more of the specified parts could not be found.  The part may not have been uploaded, or the specified entity tag may not match the part's entity tag.",
        )
        .with_status(400)
    };
    let mut chosen = Vec::new();
    let mut prev = 0;
    for p in &asked {
        let n = p.get("PartNumber").and_then(Value::as_u64).unwrap_or(0);
        if n <= prev {
            return Err(AwsError::new("InvalidPartOrder", "The list of parts was not in ascending order. Parts must be ordered by part number.").with_status(400));
        }
        prev = n;
        let part =
            u32::try_from(n).ok().and_then(|n| upload.parts.get(&n)).ok_or_else(invalid_part)?;
        let etag = s(p, "ETag").unwrap_or_default();
        if etag.trim_matches('"') != part.etag.trim_matches('"') {
            return Err(invalid_part());
        }
        chosen.push(part.clone());
    }
    for p in &chosen[..chosen.len() - 1] {
        if p.size < MIN_PART {
            return Err(AwsError::new(
                "EntityTooSmall",
                "Your proposed upload is smaller than the minimum allowed size",
            )
            .with_status(400)
            .with_extra("ProposedSize", p.size.to_string())
            .with_extra("MinSizeAllowed", MIN_PART.to_string()));
        }
    }
    let mut body = Vec::with_capacity(chosen.iter().map(|p| p.size as usize).sum());
    let mut md5s = Vec::with_capacity(chosen.len() * 16);
    for p in &chosen {
        let bytes = tokio::task::block_in_place(|| s3.blobs().get(&p.blob, &p.wrapped_key))?;
        md5s.extend_from_slice(&Md5::digest(&bytes));
        body.extend_from_slice(&bytes);
    }
    let mut v: Version = upload.template.clone();
    v.etag = format!("\"{}-{}\"", hex::encode(Md5::digest(&md5s)), chosen.len());
    v.size = body.len() as u64;
    v.parts_count = Some(u32::try_from(chosen.len()).map_err(AwsError::internal)?);
    v.last_modified = now_ms(ctx);
    let blob = store_body(s3, body).await?;
    v.blob = Some(blob.id);
    v.wrapped_key = Some(blob.wrapped_key);
    let (bucket, v) = commit_version(s3, ctx, &bucket.name, &key, v, |tx, _| {
        // The upload ends in the same transaction as the object appears.
        if !UPLOADS.delete(tx, &bucket.name, &id).map_err(db)? {
            return Err(no_such_upload(&id));
        }
        Ok(())
    })?;
    for p in upload.parts.values() {
        s3.blobs().remove(&p.blob);
    }
    tracing::debug!(target: "s3", bucket = %bucket.name, key = %key, parts = chosen.len(), "multipart upload completed");
    let mut res = write_answer(&bucket, &v);
    res["Bucket"] = json!(bucket.name);
    res["Key"] = json!(key);
    res["Location"] = json!(format!("/{}/{}", bucket.name, key));
    Ok(res)
}

pub fn abort_multipart_upload(s3: &S3, ctx: &Context, input: Value) -> Result<Value, AwsError> {
    let key = s(&input, "Key").unwrap_or_default().to_owned();
    let id = s(&input, "UploadId").unwrap_or_default().to_owned();
    let upload = crate::state::write(ctx.dispatcher.store(), |tx| {
        let bucket = bucket_of(ctx, tx, &input)?;
        let upload = load_upload(tx, &bucket.name, &id, &key)?;
        UPLOADS.delete(tx, &bucket.name, &id).map_err(db)?;
        Ok::<_, AwsError>(upload)
    })?;
    abandon(s3, &upload);
    Ok(json!({}))
}

/// Removes the part files of an upload that is gone.
pub fn abandon(s3: &S3, upload: &Upload) {
    for p in upload.parts.values() {
        s3.blobs().remove(&p.blob);
    }
}

pub fn list_parts(ctx: &Context, input: Value) -> Result<Value, AwsError> {
    let key = s(&input, "Key").unwrap_or_default().to_owned();
    let id = s(&input, "UploadId").unwrap_or_default().to_owned();
    let max = input.get("MaxParts").and_then(Value::as_u64).unwrap_or(1000).min(1000) as usize;
    let marker = s(&input, "PartNumberMarker").and_then(|m| m.parse::<u32>().ok()).unwrap_or(0);
    let (bucket, upload) = crate::state::read(ctx.dispatcher.store(), |tx| {
        let bucket = bucket_of(ctx, tx, &input)?;
        let upload = load_upload(tx, &bucket.name, &id, &key)?;
        Ok::<_, AwsError>((bucket, upload))
    })?;
    let all: Vec<(&u32, &Part)> = upload.parts.range(marker + 1..).collect();
    let truncated = all.len() > max;
    let parts: Vec<Value> = all
        .iter()
        .take(max)
        .map(|(n, p)| json!({"PartNumber": n, "LastModified": secs(p.last_modified), "ETag": p.etag, "Size": p.size}))
        .collect();
    let mut res = json!({
        "Bucket": bucket.name, "Key": key, "UploadId": id, "MaxParts": max, "IsTruncated": truncated,
        "PartNumberMarker": marker,
        "Initiator": {"ID": upload.initiator, "DisplayName": upload.initiator},
        "Owner": owner(&bucket.account), "StorageClass": "STANDARD",
    });
    if !parts.is_empty() {
        res["Parts"] = json!(parts);
    }
    if truncated && let Some((n, _)) = all.get(max - 1) {
        res["NextPartNumberMarker"] = json!(n);
    }
    Ok(res)
}

pub fn list_multipart_uploads(ctx: &Context, input: Value) -> Result<Value, AwsError> {
    let prefix = s(&input, "Prefix").unwrap_or_default();
    let max = input.get("MaxUploads").and_then(Value::as_u64).unwrap_or(1000).min(1000) as usize;
    let key_marker = s(&input, "KeyMarker").unwrap_or_default();
    let id_marker = s(&input, "UploadIdMarker").unwrap_or_default();
    let (bucket, mut uploads) = crate::state::read(ctx.dispatcher.store(), |tx| {
        let bucket = bucket_of(ctx, tx, &input)?;
        let uploads = UPLOADS.all(tx, &bucket.name).map_err(db)?;
        Ok::<_, AwsError>((bucket, uploads))
    })?;
    uploads.retain(|(id, u)| {
        u.key.starts_with(prefix)
            && (key_marker.is_empty()
                || u.key.as_str() > key_marker
                || (u.key == key_marker && !id_marker.is_empty() && id.as_str() > id_marker))
    });
    uploads.sort_by(|(ia, a), (ib, b)| {
        (a.key.as_str(), a.initiated, ia).cmp(&(b.key.as_str(), b.initiated, ib))
    });
    let truncated = uploads.len() > max;
    uploads.truncate(max);
    let list: Vec<Value> = uploads
        .iter()
        .map(|(id, u)| {
            json!({
                "UploadId": id, "Key": u.key, "Initiated": secs(u.initiated), "StorageClass": "STANDARD",
                "Owner": owner(&bucket.account), "Initiator": {"ID": u.initiator, "DisplayName": u.initiator},
            })
        })
        .collect();
    let mut res = json!({
        "Bucket": bucket.name, "KeyMarker": key_marker, "UploadIdMarker": id_marker,
        "MaxUploads": max, "IsTruncated": truncated, "Prefix": prefix,
    });
    if truncated && let Some((id, u)) = uploads.last() {
        res["NextKeyMarker"] = json!(u.key);
        res["NextUploadIdMarker"] = json!(id);
    }
    if !list.is_empty() {
        res["Uploads"] = json!(list);
    }
    Ok(res)
}
