//! Object copies and object sub-resources: CopyObject (and the source side of
//! UploadPartCopy), object tagging and canned object ACLs, following
//! <https://docs.aws.amazon.com/AmazonS3/latest/API/API_CopyObject.html>,
//! <https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutObjectTagging.html> and
//! <https://docs.aws.amazon.com/AmazonS3/latest/userguide/acl-overview.html#canned-acl>.

use mamori_aws::AwsError;
use mamori_service::Context;
use serde_json::{Value, json};

use super::objects::{
    check_conditions, commit_version, find_version, precondition_failed, read_body, store_body,
    template, write_answer,
};
use super::{bucket_of, check_acl, grants, has_grant_headers, s, secs};
use crate::S3;
use crate::checksum;
use crate::state::{Bucket, OBJECTS, Version, db, invalid_argument, no_such_key};

/// Parses `x-amz-copy-source` (`bucket/key[?versionId=id]`, URL-encoded).
pub fn parse_copy_source(src: &str) -> Result<(String, String, Option<String>), AwsError> {
    let (path, query) = src.split_once('?').unwrap_or((src, ""));
    let path = percent_encoding::percent_decode_str(path.trim_start_matches('/'))
        .decode_utf8_lossy()
        .into_owned();
    let bad = || {
        invalid_argument("Invalid copy source object key")
            .with_extra("ArgumentName", "x-amz-copy-source")
    };
    let (bucket, key) = path.split_once('/').ok_or_else(bad)?;
    if bucket.is_empty() || key.is_empty() {
        return Err(bad());
    }
    let version = query.split('&').find_map(|p| p.strip_prefix("versionId=")).map(str::to_owned);
    Ok((bucket.to_owned(), key.to_owned(), version))
}

/// Loads the source version of a copy, once the caller is allowed to read it
/// (`s3:GetObject`, or `s3:GetObjectVersion` for a version, under the source bucket's
/// policy), as S3 requires of CopyObject and UploadPartCopy.
pub fn copy_source(ctx: &Context, src: &str) -> Result<(Bucket, Version), AwsError> {
    let (sb, sk, sv) = parse_copy_source(src)?;
    let policy = crate::state::read(ctx.dispatcher.store(), |tx| {
        Ok(crate::state::BUCKETS
            .get(tx, crate::state::BUCKET_PARTITION, &sb)
            .map_err(db)?
            .and_then(|b| b.policy))
    })?;
    let action = if sv.is_some() { "s3:GetObjectVersion" } else { "s3:GetObject" };
    let request =
        mamori_service::AuthzRequest::new(action, vec![format!("arn:aws:s3:::{sb}/{sk}")]);
    ctx.dispatcher.authorize_also(ctx, "s3", &request, policy.as_deref(), &json!({}))?;
    crate::state::read(ctx.dispatcher.store(), |tx| {
        let bucket = bucket_of(ctx, tx, &json!({"Bucket": sb}))?;
        let entry = OBJECTS.get(tx, &sb, &sk).map_err(db)?;
        let input = match &sv {
            Some(v) => json!({"VersionId": v}),
            None => json!({}),
        };
        let v = find_version(entry.as_ref(), &input, &sk)?.clone();
        Ok((bucket, v))
    })
}

pub async fn copy_object(s3: &S3, ctx: &Context, input: Value) -> Result<Value, AwsError> {
    let key = s(&input, "Key").unwrap_or_default().to_owned();
    let src = s(&input, "CopySource").unwrap_or_default().to_owned();
    let (src_bucket, src_v) = copy_source(ctx, &src)?;
    let bucket = crate::state::read(ctx.dispatcher.store(), |tx| bucket_of(ctx, tx, &input))?;
    let cond = json!({
        "IfMatch": input.get("CopySourceIfMatch"),
        "IfNoneMatch": input.get("CopySourceIfNoneMatch"),
        "IfModifiedSince": input.get("CopySourceIfModifiedSince"),
        "IfUnmodifiedSince": input.get("CopySourceIfUnmodifiedSince"),
    });
    check_conditions(&cond, &src_v).map_err(|e| {
        if e.code == "NotModified" {
            precondition_failed("x-amz-copy-source-if-none-match")
        } else {
            e
        }
    })?;
    let replace = s(&input, "MetadataDirective") == Some("REPLACE");
    let same = src_bucket.name == bucket.name && parse_copy_source(&src)?.1 == key;
    let changes = replace
        || input.get("ServerSideEncryption").is_some()
        || input.get("StorageClass").is_some()
        || input.get("WebsiteRedirectLocation").is_some();
    if same && !changes {
        return Err(AwsError::new(
            "InvalidRequest",
            "This copy request is illegal because it is trying to copy an object to itself without changing the object's metadata, storage class, website redirect location or encryption attributes.",
        ));
    }
    let mut v = template(ctx, &bucket, &input)?;
    if !replace {
        v.headers = src_v.headers.clone();
        v.metadata = src_v.metadata.clone();
    }
    if s(&input, "TaggingDirective") != Some("REPLACE") {
        v.tags = src_v.tags.clone();
    }
    let body = read_body(s3, &src_v)?;
    v.etag = if src_v.parts_count.is_some() {
        format!("\"{}\"", checksum::md5_hex(&body))
    } else {
        src_v.etag.clone()
    };
    v.size = body.len() as u64;
    v.checksum = src_v.checksum.clone();
    let blob = store_body(s3, body).await?;
    v.blob = Some(blob.id);
    v.wrapped_key = Some(blob.wrapped_key);
    let (bucket, v) = commit_version(s3, ctx, &bucket.name, &key, v, |_, _| Ok(()))?;
    let mut res = write_answer(&bucket, &v);
    let etag = res.as_object_mut().and_then(|o| o.remove("ETag"));
    res["CopyObjectResult"] = json!({"ETag": etag, "LastModified": secs(v.last_modified)});
    if src_bucket.versioning.is_some() {
        res["CopySourceVersionId"] = json!(src_v.version_id);
    }
    Ok(res)
}

pub fn object_tagging(ctx: &Context, operation: &str, input: Value) -> Result<Value, AwsError> {
    let key = s(&input, "Key").unwrap_or_default().to_owned();
    let tags =
        input.pointer("/Tagging/TagSet").and_then(Value::as_array).cloned().unwrap_or_default();
    if operation == "PutObjectTagging" {
        super::check_tags(&tags)?;
    }
    crate::state::write(ctx.dispatcher.store(), |tx| {
        let bucket = bucket_of(ctx, tx, &input)?;
        let mut entry = OBJECTS.get(tx, &bucket.name, &key).map_err(db)?;
        let id = find_version(entry.as_ref(), &input, &key)?.version_id.clone();
        let Some(e) = entry.as_mut() else { return Err(no_such_key(&key)) };
        let Some(v) = e.versions.iter_mut().find(|v| v.version_id == id) else {
            return Err(no_such_key(&key));
        };
        let mut res = json!({});
        if bucket.versioning.is_some() {
            res["VersionId"] = json!(id);
        }
        match operation {
            "GetObjectTagging" => {
                res["TagSet"] = json!(v.tags);
                return Ok(res);
            }
            "PutObjectTagging" => v.tags = tags,
            _ => v.tags.clear(),
        }
        OBJECTS.put(tx, &bucket.name, &key, e).map_err(db)?;
        Ok(res)
    })
}

pub fn object_acl(ctx: &Context, operation: &str, input: Value) -> Result<Value, AwsError> {
    let key = s(&input, "Key").unwrap_or_default().to_owned();
    crate::state::write(ctx.dispatcher.store(), |tx| {
        let bucket = bucket_of(ctx, tx, &input)?;
        let mut entry = OBJECTS.get(tx, &bucket.name, &key).map_err(db)?;
        let id = find_version(entry.as_ref(), &input, &key)?.version_id.clone();
        let Some(e) = entry.as_mut() else { return Err(no_such_key(&key)) };
        let Some(v) = e.versions.iter_mut().find(|v| v.version_id == id) else {
            return Err(no_such_key(&key));
        };
        if operation == "GetObjectAcl" {
            return Ok(
                json!({"Owner": super::owner(&bucket.account), "Grants": grants(&bucket.account, v.acl.as_deref())}),
            );
        }
        let acl = s(&input, "ACL");
        check_acl(
            &bucket,
            acl,
            has_grant_headers(&input) || input.get("AccessControlPolicy").is_some(),
        )?;
        v.acl = acl.map(str::to_owned);
        OBJECTS.put(tx, &bucket.name, &key, e).map_err(db)?;
        Ok(json!({}))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copy_sources() {
        assert_eq!(
            parse_copy_source("/b/a%20b.txt").unwrap(),
            ("b".into(), "a b.txt".into(), None)
        );
        assert_eq!(
            parse_copy_source("b/k?versionId=v1").unwrap(),
            ("b".into(), "k".into(), Some("v1".into()))
        );
        assert!(parse_copy_source("b").is_err());
    }
}
