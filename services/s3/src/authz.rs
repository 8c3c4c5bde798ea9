//! The IAM action, resources and condition keys of each S3 operation, from
//! <https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazons3.html>
//! and <https://docs.aws.amazon.com/AmazonS3/latest/userguide/using-with-s3-policy-actions.html>.
//! Operation names differ from action names: `HeadObject` is `s3:GetObject`,
//! `ListObjectsV2` is `s3:ListBucket`, `DeleteObjects` is `s3:DeleteObject` per key.

use mamori_service::AuthzRequest;
use serde_json::Value;

/// The authorization request of `operation`.
pub fn request(operation: &str, input: &Value) -> AuthzRequest {
    let s = |k: &str| input.get(k).and_then(Value::as_str);
    let bucket = s("Bucket").unwrap_or("*");
    let bucket_arn = format!("arn:aws:s3:::{bucket}");
    let object_arn = |key: &str| format!("arn:aws:s3:::{bucket}/{key}");
    let object = object_arn(s("Key").unwrap_or("*"));
    let versioned = s("VersionId").is_some();
    let (action, resources): (&str, Vec<String>) = match operation {
        "ListBuckets" => ("ListAllMyBuckets", vec!["*".into()]),
        "HeadBucket" | "ListObjects" | "ListObjectsV2" => ("ListBucket", vec![bucket_arn]),
        "ListObjectVersions" => ("ListBucketVersions", vec![bucket_arn]),
        "ListMultipartUploads" => ("ListBucketMultipartUploads", vec![bucket_arn]),
        "GetObject" | "HeadObject" if versioned => ("GetObjectVersion", vec![object]),
        "GetObject" | "HeadObject" => ("GetObject", vec![object]),
        "PutObject"
        | "CopyObject"
        | "CreateMultipartUpload"
        | "UploadPart"
        | "UploadPartCopy"
        | "CompleteMultipartUpload" => ("PutObject", vec![object]),
        "DeleteObject" if versioned => ("DeleteObjectVersion", vec![object]),
        "DeleteObject" => ("DeleteObject", vec![object]),
        "DeleteObjects" => {
            let keys: Vec<String> = input
                .pointer("/Delete/Objects")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(|o| o.get("Key").and_then(Value::as_str))
                .map(object_arn)
                .collect();
            ("DeleteObject", if keys.is_empty() { vec![object_arn("*")] } else { keys })
        }
        "AbortMultipartUpload" => ("AbortMultipartUpload", vec![object]),
        "ListParts" => ("ListMultipartUploadParts", vec![object]),
        "GetObjectAcl" | "PutObjectAcl" | "GetObjectTagging" | "PutObjectTagging" if versioned => {
            (version_action(operation), vec![object])
        }
        "GetObjectAcl" | "PutObjectAcl" | "GetObjectTagging" | "PutObjectTagging" => {
            (operation, vec![object])
        }
        "DeleteObjectTagging" if versioned => ("DeleteObjectVersionTagging", vec![object]),
        "DeleteObjectTagging" => ("DeleteObjectTagging", vec![object]),
        "PutBucketEncryption" | "DeleteBucketEncryption" => {
            ("PutEncryptionConfiguration", vec![bucket_arn])
        }
        "GetBucketEncryption" => ("GetEncryptionConfiguration", vec![bucket_arn]),
        "PutBucketLifecycleConfiguration" | "DeleteBucketLifecycle" => {
            ("PutLifecycleConfiguration", vec![bucket_arn])
        }
        "GetBucketLifecycleConfiguration" => ("GetLifecycleConfiguration", vec![bucket_arn]),
        "PutPublicAccessBlock" | "DeletePublicAccessBlock" => {
            ("PutBucketPublicAccessBlock", vec![bucket_arn])
        }
        "GetPublicAccessBlock" => ("GetBucketPublicAccessBlock", vec![bucket_arn]),
        "DeleteBucketOwnershipControls" => ("PutBucketOwnershipControls", vec![bucket_arn]),
        "DeleteBucketTagging" => ("PutBucketTagging", vec![bucket_arn]),
        "PutBucketCors" | "DeleteBucketCors" => ("PutBucketCORS", vec![bucket_arn]),
        "GetBucketCors" => ("GetBucketCORS", vec![bucket_arn]),
        "DeleteBucketWebsite" => ("DeleteBucketWebsite", vec![bucket_arn]),
        "PutBucketNotificationConfiguration" => ("PutBucketNotification", vec![bucket_arn]),
        "GetBucketNotificationConfiguration" => ("GetBucketNotification", vec![bucket_arn]),
        other => (other, vec![bucket_arn]),
    };
    let mut req = AuthzRequest::new(format!("s3:{action}"), resources);
    if let Some(acl) = s("ACL") {
        req = req.with_condition("s3:x-amz-acl", vec![acl.to_owned()]);
    }
    if matches!(operation, "ListObjects" | "ListObjectsV2" | "ListObjectVersions") {
        req = req.with_condition("s3:prefix", vec![s("Prefix").unwrap_or("").to_owned()]);
        if let Some(d) = s("Delimiter") {
            req = req.with_condition("s3:delimiter", vec![d.to_owned()]);
        }
        let max = input.get("MaxKeys").and_then(Value::as_i64).unwrap_or(1000);
        req = req.with_condition("s3:max-keys", vec![max.to_string()]);
    }
    if let Some(sse) = s("ServerSideEncryption") {
        req = req.with_condition("s3:x-amz-server-side-encryption", vec![sse.to_owned()]);
    }
    if let Some(src) = s("CopySource") {
        req = req.with_condition("s3:x-amz-copy-source", vec![src.to_owned()]);
    }
    if let Some(v) = s("VersionId") {
        req = req.with_condition("s3:VersionId", vec![v.to_owned()]);
    }
    req
}

fn version_action(operation: &str) -> &'static str {
    match operation {
        "GetObjectAcl" => "GetObjectVersionAcl",
        "PutObjectAcl" => "PutObjectVersionAcl",
        "GetObjectTagging" => "GetObjectVersionTagging",
        _ => "PutObjectVersionTagging",
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn actions_and_resources() {
        let cases: &[(&str, Value, &str, &[&str])] = &[
            (
                "HeadObject",
                json!({"Bucket": "b", "Key": "k"}),
                "s3:GetObject",
                &["arn:aws:s3:::b/k"],
            ),
            ("ListObjectsV2", json!({"Bucket": "b"}), "s3:ListBucket", &["arn:aws:s3:::b"]),
            ("ListBuckets", json!({}), "s3:ListAllMyBuckets", &["*"]),
            (
                "DeleteObjects",
                json!({"Bucket": "b", "Delete": {"Objects": [{"Key": "x"}, {"Key": "y"}]}}),
                "s3:DeleteObject",
                &["arn:aws:s3:::b/x", "arn:aws:s3:::b/y"],
            ),
            (
                "DeleteObject",
                json!({"Bucket": "b", "Key": "k", "VersionId": "v"}),
                "s3:DeleteObjectVersion",
                &["arn:aws:s3:::b/k"],
            ),
            (
                "PutBucketEncryption",
                json!({"Bucket": "b"}),
                "s3:PutEncryptionConfiguration",
                &["arn:aws:s3:::b"],
            ),
            (
                "UploadPart",
                json!({"Bucket": "b", "Key": "k"}),
                "s3:PutObject",
                &["arn:aws:s3:::b/k"],
            ),
            ("GetBucketPolicy", json!({"Bucket": "b"}), "s3:GetBucketPolicy", &["arn:aws:s3:::b"]),
        ];
        for (op, input, action, resources) in cases {
            let req = request(op, input);
            assert_eq!(req.action, *action, "{op}");
            assert_eq!(
                req.resources,
                resources.iter().map(|s| s.to_string()).collect::<Vec<_>>(),
                "{op}"
            );
        }
        let put = request(
            "PutObject",
            &json!({"Bucket": "b", "Key": "k", "ACL": "bucket-owner-full-control"}),
        );
        assert_eq!(
            put.conditions,
            vec![("s3:x-amz-acl".to_owned(), vec!["bucket-owner-full-control".to_owned()])]
        );
    }
}
