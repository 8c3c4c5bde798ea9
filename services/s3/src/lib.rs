//! Amazon S3, following the API reference
//! <https://docs.aws.amazon.com/AmazonS3/latest/API/Welcome.html> and the user guide.
//!
//! Metadata (buckets, object versions, uploads) lives in the store; bodies are encrypted
//! files under the data directory (`blob.rs`), written before the metadata that names
//! them is committed, so an object is visible only once complete. Bucket policies are
//! handed to the IAM authorizer through [`Service::resource_policy`], with the S3 action
//! and condition keys from [`Service::authz`]. Lifecycle rules and server access log
//! delivery run on the scheduler (`tasks.rs`).

mod authz;
pub mod blob;
mod cfn;
mod checksum;
mod control;
mod cross_account;
mod mfa;
mod ops;
mod state;
mod tasks;

use std::collections::HashMap;
use std::path::Path;
use std::sync::RwLock;

use mamori_aws::AwsError;
use mamori_service::{AuthzRequest, Context, OpSpec, PrincipalKind, Service, async_trait};
use serde_json::Value;

pub use control::S3Control;
pub use tasks::register_tasks;

/// The parsers of request headers S3 takes from clients, public only for the fuzz
/// target in `fuzz/` and the property tests in `tests/`.
#[doc(hidden)]
pub mod headers {
    pub use crate::mfa::{MfaHeader, parse as parse_mfa};
    pub use crate::ops::{parse_copy_source, parse_range, parse_tag_header};
}

use crate::blob::BlobStore;

/// The S3 service.
#[derive(Debug)]
pub struct S3 {
    blobs: BlobStore,
    /// Source bucket -> logging target (bucket, prefix), `None` when logging is off.
    logging: RwLock<HashMap<String, Option<(String, String)>>>,
}

impl S3 {
    /// S3 with its bodies and master key under `data_dir`.
    pub fn new(data_dir: &Path) -> std::io::Result<Self> {
        Ok(Self { blobs: BlobStore::open(data_dir)?, logging: RwLock::default() })
    }

    /// The body store.
    pub fn blobs(&self) -> &BlobStore {
        &self.blobs
    }

    fn forget_logging(&self, bucket: &str) {
        self.logging.write().unwrap_or_else(|e| e.into_inner()).remove(bucket);
    }
}

const OPS: &[OpSpec] = &[
    OpSpec {
        name: "CreateBucket",
        gaps: &["explicit x-amz-grant-* headers are refused", "object lock is refused"],
    },
    OpSpec { name: "DeleteBucket", gaps: &[] },
    OpSpec { name: "HeadBucket", gaps: &[] },
    OpSpec { name: "ListBuckets", gaps: &[] },
    OpSpec { name: "GetBucketLocation", gaps: &[] },
    OpSpec { name: "PutBucketTagging", gaps: &[] },
    OpSpec { name: "GetBucketTagging", gaps: &[] },
    OpSpec { name: "DeleteBucketTagging", gaps: &[] },
    OpSpec {
        name: "PutObject",
        gaps: &[
            "SSE-C, object lock and WriteOffsetBytes are refused",
            "aws:kms is stored and answered but bodies are encrypted with the SSE-S3 key until KMS exists",
        ],
    },
    OpSpec { name: "GetObject", gaps: &["PartNumber is ignored", "one byte range only"] },
    OpSpec { name: "HeadObject", gaps: &["PartNumber is ignored"] },
    OpSpec { name: "DeleteObject", gaps: &[] },
    OpSpec { name: "DeleteObjects", gaps: &[] },
    OpSpec { name: "CopyObject", gaps: &[] },
    OpSpec { name: "ListObjects", gaps: &[] },
    OpSpec { name: "ListObjectsV2", gaps: &["FetchOwner always returns the owner"] },
    OpSpec {
        name: "ListObjectVersions",
        gaps: &["pages end between keys, never inside a key's versions"],
    },
    OpSpec { name: "PutObjectTagging", gaps: &[] },
    OpSpec { name: "GetObjectTagging", gaps: &[] },
    OpSpec { name: "DeleteObjectTagging", gaps: &[] },
    OpSpec { name: "CreateMultipartUpload", gaps: &[] },
    OpSpec { name: "UploadPart", gaps: &[] },
    OpSpec { name: "UploadPartCopy", gaps: &[] },
    OpSpec {
        name: "CompleteMultipartUpload",
        gaps: &["composite checksums of parts are not computed"],
    },
    OpSpec { name: "AbortMultipartUpload", gaps: &[] },
    OpSpec { name: "ListParts", gaps: &[] },
    OpSpec { name: "ListMultipartUploads", gaps: &["Delimiter is ignored"] },
    OpSpec { name: "PutBucketPolicy", gaps: &[] },
    OpSpec { name: "GetBucketPolicy", gaps: &[] },
    OpSpec { name: "DeleteBucketPolicy", gaps: &[] },
    OpSpec { name: "GetBucketPolicyStatus", gaps: &[] },
    OpSpec { name: "GetBucketAcl", gaps: &["grants are derived from the canned ACL"] },
    OpSpec {
        name: "PutBucketAcl",
        gaps: &["canned ACLs only; AccessControlPolicy bodies and grant headers are refused"],
    },
    OpSpec { name: "GetObjectAcl", gaps: &["grants are derived from the canned ACL"] },
    OpSpec {
        name: "PutObjectAcl",
        gaps: &["canned ACLs only; AccessControlPolicy bodies and grant headers are refused"],
    },
    OpSpec {
        name: "PutPublicAccessBlock",
        gaps: &["IgnorePublicAcls has nothing to ignore: ACLs grant no access in mamori"],
    },
    OpSpec { name: "GetPublicAccessBlock", gaps: &[] },
    OpSpec { name: "DeletePublicAccessBlock", gaps: &[] },
    OpSpec { name: "PutBucketOwnershipControls", gaps: &[] },
    OpSpec { name: "GetBucketOwnershipControls", gaps: &[] },
    OpSpec { name: "DeleteBucketOwnershipControls", gaps: &[] },
    OpSpec { name: "PutBucketEncryption", gaps: &["aws:kms keys are stored, not used"] },
    OpSpec { name: "GetBucketEncryption", gaps: &[] },
    OpSpec { name: "DeleteBucketEncryption", gaps: &[] },
    OpSpec {
        name: "PutBucketVersioning",
        gaps: &[
            "a wrong x-amz-mfa serial or code answers S3's generic AccessDenied message",
            "x-amz-mfa is accepted over plain HTTP (mamori serves no TLS; AWS requires HTTPS)",
        ],
    },
    OpSpec { name: "GetBucketVersioning", gaps: &[] },
    OpSpec {
        name: "PutBucketLifecycleConfiguration",
        gaps: &["transitions are stored, not applied (one storage class)"],
    },
    OpSpec { name: "GetBucketLifecycleConfiguration", gaps: &[] },
    OpSpec { name: "DeleteBucketLifecycle", gaps: &[] },
    OpSpec {
        name: "PutBucketLogging",
        gaps: &[
            "TargetGrants and TargetObjectKeyFormat are stored, not used",
            "requests refused by authorization are not logged",
        ],
    },
    OpSpec { name: "GetBucketLogging", gaps: &[] },
    OpSpec { name: "PutBucketCors", gaps: &["stored only: no CORS preflight is served"] },
    OpSpec { name: "GetBucketCors", gaps: &[] },
    OpSpec { name: "DeleteBucketCors", gaps: &[] },
    OpSpec { name: "PutBucketWebsite", gaps: &["stored only: no website endpoint"] },
    OpSpec { name: "GetBucketWebsite", gaps: &[] },
    OpSpec { name: "DeleteBucketWebsite", gaps: &[] },
    OpSpec {
        name: "PutBucketNotificationConfiguration",
        gaps: &["stored only: no notification is sent"],
    },
    OpSpec { name: "GetBucketNotificationConfiguration", gaps: &[] },
];

#[async_trait]
impl Service for S3 {
    fn model_id(&self) -> &'static str {
        "s3"
    }

    fn operations(&self) -> &'static [OpSpec] {
        OPS
    }

    fn authz(&self, ctx: &Context, operation: &str, input: &Value) -> AuthzRequest {
        let _ = ctx;
        authz::request(operation, input)
    }

    fn resource_policy(&self, ctx: &Context, operation: &str, input: &Value) -> Option<String> {
        if matches!(operation, "CreateBucket" | "ListBuckets") {
            return None;
        }
        let bucket = input.get("Bucket").and_then(Value::as_str)?;
        ctx.dispatcher
            .store()
            .read(|tx| state::BUCKETS.get(tx, state::BUCKET_PARTITION, bucket))
            .ok()
            .flatten()
            .and_then(|b| b.policy)
    }

    async fn call(&self, ctx: &Context, operation: &str, input: Value) -> Result<Value, AwsError> {
        let bucket = input.get("Bucket").and_then(Value::as_str).map(str::to_owned);
        let key = input.get("Key").and_then(Value::as_str).map(str::to_owned);
        let mut policy = None;
        if let Some(name) = &bucket
            && operation != "CreateBucket"
        {
            let found = state::read(ctx.dispatcher.store(), |tx| state::find_bucket(tx, name))?;
            if let Some(b) = found {
                restrict_public_buckets(ctx, &b)?;
                cross_account::check(ctx, operation, &input, &b)?;
                policy = b.policy;
            }
        }
        let mut res = ops::call(self, ctx, operation, input).await;
        // S3 answers a missing key with 404 only to callers allowed to list the bucket;
        // anyone else gets 403, so that a read permission does not reveal which keys exist.
        if let (Err(e), Some(name)) = (&res, &bucket)
            && e.code == "NoSuchKey"
            && READS_OF_A_KEY.contains(&operation)
        {
            let list = self.authz(ctx, "ListObjectsV2", &serde_json::json!({"Bucket": name}));
            let allowed = ctx.dispatcher.authorize_also(
                ctx,
                "s3",
                &list,
                policy.as_deref(),
                &serde_json::json!({}),
            );
            if let Err(denied) = allowed {
                res = Err(denied);
            }
        }
        if let Some(bucket) = bucket {
            tasks::record_access(self, ctx, operation, &bucket, key.as_deref(), &res);
        }
        res
    }

    fn resource_providers(&self) -> Vec<std::sync::Arc<dyn mamori_service::ResourceProvider>> {
        vec![std::sync::Arc::new(cfn::S3Provider)]
    }

    fn reset(&self) {
        self.blobs.clear();
        self.logging.write().unwrap_or_else(|e| e.into_inner()).clear();
    }
}

/// RestrictPublicBuckets: a bucket with a public policy is open only to AWS service
/// principals and to callers of the owner's account; anonymous and other accounts' calls
/// are refused, whatever the policy grants them.
fn restrict_public_buckets(ctx: &Context, bucket: &state::Bucket) -> Result<(), AwsError> {
    let public = bucket.policy.as_deref().is_some_and(ops::is_public_policy);
    if !public || !bucket.pab("RestrictPublicBuckets") {
        return Ok(());
    }
    let allowed = match &ctx.principal.kind {
        PrincipalKind::Service(_) => true,
        PrincipalKind::Anonymous => false,
        _ => ctx.principal.account.as_str() == bucket.account,
    };
    if allowed {
        return Ok(());
    }
    tracing::debug!(target: "s3", bucket = %bucket.name, caller = %ctx.principal.arn, "refused by RestrictPublicBuckets");
    Err(AwsError::new("AccessDenied", "Access Denied"))
}

/// Operations whose `NoSuchKey` becomes `AccessDenied` for callers without
/// `s3:ListBucket`.
const READS_OF_A_KEY: &[&str] =
    &["GetObject", "HeadObject", "GetObjectTagging", "GetObjectAcl", "GetObjectAttributes"];

#[cfg(test)]
mod tests;
