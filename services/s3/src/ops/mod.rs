//! Operation dispatch and the helpers the operation families share.

mod buckets;
mod config;
mod copy;
mod list;
mod multipart;
mod objects;

use mamori_aws::AwsError;
use mamori_service::{Context, PrincipalKind};
use serde_json::{Value, json};
use sha2::Digest as _;

use crate::S3;
use crate::state::{Bucket, NULL_VERSION, ObjectEntry, Version};

pub use config::is_public_policy;
pub use copy::parse_copy_source;
pub use objects::{delete_key, parse_range, remove_version_blobs};

/// Runs `operation`.
pub async fn call(
    s3: &S3,
    ctx: &Context,
    operation: &str,
    input: Value,
) -> Result<Value, AwsError> {
    match operation {
        "CreateBucket" => buckets::create_bucket(ctx, input),
        "DeleteBucket" => buckets::delete_bucket(s3, ctx, input),
        "HeadBucket" => buckets::head_bucket(ctx, input),
        "ListBuckets" => buckets::list_buckets(ctx, input),
        "GetBucketLocation" => buckets::get_bucket_location(ctx, input),
        "PutObject" => objects::put_object(s3, ctx, input).await,
        "GetObject" => objects::get_object(s3, ctx, input, true).await,
        "HeadObject" => objects::get_object(s3, ctx, input, false).await,
        "DeleteObject" => objects::delete_object(s3, ctx, input),
        "DeleteObjects" => objects::delete_objects(s3, ctx, input),
        "CopyObject" => copy::copy_object(s3, ctx, input).await,
        "PutObjectTagging" | "GetObjectTagging" | "DeleteObjectTagging" => {
            copy::object_tagging(ctx, operation, input)
        }
        "GetObjectAcl" | "PutObjectAcl" => copy::object_acl(ctx, operation, input),
        "ListObjects" => list::list_objects(ctx, input, false),
        "ListObjectsV2" => list::list_objects(ctx, input, true),
        "ListObjectVersions" => list::list_object_versions(ctx, input),
        "CreateMultipartUpload" => multipart::create_multipart_upload(ctx, input),
        "UploadPart" | "UploadPartCopy" => multipart::upload_part(s3, ctx, operation, input).await,
        "CompleteMultipartUpload" => multipart::complete_multipart_upload(s3, ctx, input).await,
        "AbortMultipartUpload" => multipart::abort_multipart_upload(s3, ctx, input),
        "ListParts" => multipart::list_parts(ctx, input),
        "ListMultipartUploads" => multipart::list_multipart_uploads(ctx, input),
        op => config::call(s3, ctx, op, input),
    }
}

/// A string member of the input.
pub fn s<'a>(input: &'a Value, key: &str) -> Option<&'a str> {
    input.get(key).and_then(Value::as_str)
}

/// The bucket named by the input, or `NoSuchBucket`; refuses callers from other
/// accounts unless a bucket policy (evaluated by the authorizer) admitted them.
pub fn bucket_of(
    ctx: &Context,
    tx: &mamori_store::Tx<'_>,
    input: &Value,
) -> Result<Bucket, AwsError> {
    let name = s(input, "Bucket").unwrap_or_default();
    let bucket = crate::state::load_bucket(tx, name)?;
    check_owner(ctx, &bucket)?;
    // x-amz-expected-bucket-owner: S3 answers 403 when the bucket is someone else's.
    if s(input, "ExpectedBucketOwner").is_some_and(|o| o != bucket.account) {
        return Err(AwsError::new("AccessDenied", "Access Denied"));
    }
    Ok(bucket)
}

/// Callers of another account reach a bucket only through its policy, which
/// `cross_account::check` evaluated before the handler ran.
pub fn check_owner(ctx: &Context, bucket: &Bucket) -> Result<(), AwsError> {
    let service = matches!(ctx.principal.kind, PrincipalKind::Service(_));
    if service || ctx.account.as_str() == bucket.account || bucket.policy.is_some() {
        return Ok(());
    }
    Err(AwsError::new("AccessDenied", "Access Denied"))
}

/// The request time in epoch milliseconds.
pub fn now_ms(ctx: &Context) -> i64 {
    ctx.time.timestamp_millis()
}

/// Epoch milliseconds as the neutral form's epoch seconds.
pub fn secs(ms: i64) -> Value {
    json!(ms as f64 / 1000.0)
}

/// The canonical user id S3 shows for an account.
pub fn canonical_id(account: &str) -> String {
    hex::encode(sha2::Sha256::digest(format!("mamori-canonical-{account}")))
}

/// The `Owner` structure of an account.
pub fn owner(account: &str) -> Value {
    json!({"ID": canonical_id(account), "DisplayName": account})
}

/// A fresh version id (32 characters, as S3's are).
pub fn new_version_id() -> String {
    let a = uuid::Uuid::new_v4().simple().to_string();
    a.chars().take(32).collect()
}

/// Inserts `v` as the newest version under the bucket's versioning state, returning the
/// versions it replaced (the previous `null` version unless versioning is enabled).
pub fn push_version(entry: &mut ObjectEntry, mut v: Version, bucket: &Bucket) -> Vec<Version> {
    let mut removed = Vec::new();
    if bucket.versioning.as_deref() == Some("Enabled") {
        v.version_id = new_version_id();
    } else {
        v.version_id = NULL_VERSION.into();
        if let Some(i) = entry.versions.iter().position(|x| x.version_id == NULL_VERSION) {
            removed.push(entry.versions.remove(i));
        }
    }
    entry.versions.insert(0, v);
    removed
}

/// The `VersionId` to answer: present once versioning was ever configured.
pub fn answer_version(bucket: &Bucket, v: &Version) -> Option<String> {
    bucket.versioning.is_some().then(|| v.version_id.clone())
}

/// Parses `k=v&k2=v2` (the `x-amz-tagging` header) into a `TagSet`.
pub fn parse_tag_header(text: &str) -> Result<Vec<Value>, AwsError> {
    let tags: Vec<Value> =
        form_pairs(text).into_iter().map(|(k, v)| json!({"Key": k, "Value": v})).collect();
    check_tags(&tags)?;
    Ok(tags)
}

fn form_pairs(text: &str) -> Vec<(String, String)> {
    text.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            let dec = |x: &str| {
                percent_encoding::percent_decode_str(&x.replace('+', " "))
                    .decode_utf8_lossy()
                    .into_owned()
            };
            (dec(k), dec(v))
        })
        .collect()
}

/// S3's object tag limits: at most 10 tags, keys up to 128 characters and values up to
/// 256, keys unique.
pub fn check_tags(tags: &[Value]) -> Result<(), AwsError> {
    if tags.len() > 10 {
        return Err(
            AwsError::new("BadRequest", "Object tags cannot be greater than 10").with_status(400)
        );
    }
    let mut seen = std::collections::HashSet::new();
    for t in tags {
        let k = s(t, "Key").unwrap_or_default();
        let v = s(t, "Value").unwrap_or_default();
        if k.is_empty() || k.chars().count() > 128 || v.chars().count() > 256 {
            return Err(AwsError::new("InvalidTag", "The TagKey you have provided is invalid")
                .with_status(400));
        }
        if !seen.insert(k.to_owned()) {
            return Err(AwsError::new(
                "InvalidTag",
                "Cannot provide multiple Tags with the same key",
            )
            .with_status(400));
        }
    }
    Ok(())
}

// GAP: ACL grants give no access (only bucket and identity policies do), so
// IgnorePublicAcls has nothing to ignore, and a public-read object is not readable
// anonymously through its ACL alone.
/// Canned ACLs that grant access beyond the owner.
pub fn is_public_acl(acl: &str) -> bool {
    matches!(acl, "public-read" | "public-read-write" | "authenticated-read")
}

/// Checks a canned ACL against the bucket's ownership controls and public access block.
pub fn check_acl(bucket: &Bucket, acl: Option<&str>, has_grants: bool) -> Result<(), AwsError> {
    if has_grants {
        // GAP: explicit grants (x-amz-grant-*, AccessControlPolicy) are not modelled.
        return Err(
            AwsError::new("NotImplemented", "mamori supports canned ACLs only").with_status(501)
        );
    }
    let Some(acl) = acl else { return Ok(()) };
    if bucket.ownership() == "BucketOwnerEnforced"
        && !matches!(acl, "private" | "bucket-owner-full-control")
    {
        return Err(AwsError::new(
            "AccessControlListNotSupported",
            "The bucket does not allow ACLs",
        )
        .with_status(400));
    }
    if is_public_acl(acl) && bucket.pab("BlockPublicAcls") {
        return Err(AwsError::new("AccessDenied", "Access Denied"));
    }
    Ok(())
}

/// The `Grants` of a canned ACL.
pub fn grants(account: &str, acl: Option<&str>) -> Vec<Value> {
    let owner_grant = json!({
        "Grantee": {"Type": "CanonicalUser", "ID": canonical_id(account), "DisplayName": account},
        "Permission": "FULL_CONTROL",
    });
    let group = |uri: &str, perm: &str| json!({"Grantee": {"Type": "Group", "URI": uri}, "Permission": perm});
    let all = "http://acs.amazonaws.com/groups/global/AllUsers";
    let mut res = vec![owner_grant];
    match acl.unwrap_or("private") {
        "public-read" => res.push(group(all, "READ")),
        "public-read-write" => {
            res.push(group(all, "READ"));
            res.push(group(all, "WRITE"));
        }
        "authenticated-read" => {
            res.push(group("http://acs.amazonaws.com/groups/global/AuthenticatedUsers", "READ"));
        }
        _ => {}
    }
    res
}

/// Whether the input carries any explicit grant header.
pub fn has_grant_headers(input: &Value) -> bool {
    ["GrantFullControl", "GrantRead", "GrantReadACP", "GrantWrite", "GrantWriteACP"]
        .iter()
        .any(|k| input.get(*k).is_some())
}
