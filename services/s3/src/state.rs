//! What S3 keeps in the store: buckets with their configurations, objects (every
//! version of a key in one document) and multipart uploads, following
//! <https://docs.aws.amazon.com/AmazonS3/latest/userguide/UsingBucket.html> and
//! <https://docs.aws.amazon.com/AmazonS3/latest/userguide/Versioning.html>.
//!
//! Bucket names are global, so buckets live in one partition and objects and uploads
//! are partitioned by bucket name. Bodies are files on disk (`blob.rs`); a document
//! only names its body file, so an object exists once its document is committed.

use std::collections::BTreeMap;

use mamori_aws::AwsError;
use mamori_store::{Collection, Series, StoreError};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Buckets, keyed by name, in [`BUCKET_PARTITION`].
pub const BUCKETS: Collection<Bucket> = Collection::new("s3.buckets");
/// Objects, partitioned by bucket and keyed by object key.
pub const OBJECTS: Collection<ObjectEntry> = Collection::new("s3.objects");
/// Multipart uploads in progress, partitioned by bucket, keyed by upload id.
pub const UPLOADS: Collection<Upload> = Collection::new("s3.uploads");
/// Server access log records waiting for delivery, partitioned by target bucket.
pub const ACCESS_LOG: Series<String> = Series::new("s3.access_log");

/// Account-level public access block configurations (S3 Control), in
/// [`BUCKET_PARTITION`] under the account id, in the neutral form Put received.
pub const ACCOUNT_PABS: Collection<Value> = Collection::new("s3.account-public-access-block");

/// The partition of [`BUCKETS`].
pub const BUCKET_PARTITION: &str = "global";

/// The version id of objects written while versioning was never enabled or suspended.
pub const NULL_VERSION: &str = "null";

/// A bucket and its configurations. Configurations are kept in the neutral form the
/// Put operation received, so Get returns exactly what was put.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Bucket {
    pub name: String,
    pub account: String,
    pub region: String,
    /// Epoch milliseconds.
    pub created: i64,
    #[serde(default)]
    pub tags: Vec<Value>,
    #[serde(default)]
    pub policy: Option<String>,
    /// `Enabled` or `Suspended`; `None` when versioning was never enabled.
    #[serde(default)]
    pub versioning: Option<String>,
    #[serde(default)]
    pub mfa_delete: Option<String>,
    #[serde(default)]
    pub acl: Option<String>,
    #[serde(default)]
    pub encryption: Option<Value>,
    #[serde(default)]
    pub lifecycle: Option<Value>,
    #[serde(default)]
    pub logging: Option<Value>,
    #[serde(default)]
    pub public_access_block: Option<Value>,
    #[serde(default)]
    pub ownership: Option<String>,
    #[serde(default)]
    pub cors: Option<Value>,
    #[serde(default)]
    pub website: Option<Value>,
    #[serde(default)]
    pub notification: Option<Value>,
    /// The owner account's public access block, filled in by [`load_bucket`] and
    /// [`find_bucket`] and never stored with the bucket.
    #[serde(skip)]
    pub account_public_access_block: Option<Value>,
}

impl Bucket {
    /// The bucket ARN (`arn:aws:s3:::name`).
    pub fn arn(&self) -> String {
        format!("arn:aws:s3:::{}", self.name)
    }

    /// The object ownership setting (`BucketOwnerEnforced` unless set, as for every
    /// bucket created since April 2023).
    pub fn ownership(&self) -> &str {
        self.ownership.as_deref().unwrap_or("BucketOwnerEnforced")
    }

    /// A flag of the public access block in effect: S3 applies the most restrictive
    /// combination of the bucket's and the owner account's settings
    /// (<https://docs.aws.amazon.com/AmazonS3/latest/userguide/access-control-block-public-access.html>).
    pub fn pab(&self, flag: &str) -> bool {
        let set = |conf: &Option<Value>| {
            conf.as_ref().and_then(|p| p.get(flag)).and_then(Value::as_bool).unwrap_or(false)
        };
        set(&self.public_access_block) || set(&self.account_public_access_block)
    }
}

/// A public access block configuration as S3 keeps and returns it: all four settings,
/// the ones a request left out as `false`.
pub fn complete_pab(conf: &Value) -> Value {
    let flag = |name: &str| conf.get(name).and_then(Value::as_bool).unwrap_or(false);
    serde_json::json!({
        "BlockPublicAcls": flag("BlockPublicAcls"),
        "IgnorePublicAcls": flag("IgnorePublicAcls"),
        "BlockPublicPolicy": flag("BlockPublicPolicy"),
        "RestrictPublicBuckets": flag("RestrictPublicBuckets"),
    })
}

/// Every version of one key, newest first.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ObjectEntry {
    pub versions: Vec<Version>,
}

impl ObjectEntry {
    /// The current version, unless it is a delete marker.
    pub fn current(&self) -> Option<&Version> {
        self.versions.first().filter(|v| !v.delete_marker)
    }

    /// The version with `version_id`.
    pub fn version(&self, version_id: &str) -> Option<&Version> {
        self.versions.iter().find(|v| v.version_id == version_id)
    }
}

/// One version of an object, or a delete marker.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Version {
    pub version_id: String,
    #[serde(default)]
    pub delete_marker: bool,
    /// Epoch milliseconds.
    pub last_modified: i64,
    #[serde(default)]
    pub etag: String,
    #[serde(default)]
    pub size: u64,
    /// The body file (see `blob.rs`), `None` for delete markers.
    #[serde(default)]
    pub blob: Option<String>,
    /// The object's data key wrapped by the master key (base64).
    #[serde(default)]
    pub wrapped_key: Option<String>,
    /// `AES256` or `aws:kms`.
    #[serde(default)]
    pub sse: Option<String>,
    #[serde(default)]
    pub kms_key_id: Option<String>,
    /// Content-Type, Cache-Control and the other stored representation headers, by
    /// their member names.
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    #[serde(default)]
    pub metadata: BTreeMap<String, String>,
    #[serde(default)]
    pub tags: Vec<Value>,
    /// The checksum member (`ChecksumCRC32`) and its base64 value.
    #[serde(default)]
    pub checksum: Option<(String, String)>,
    #[serde(default)]
    pub parts_count: Option<u32>,
    #[serde(default)]
    pub acl: Option<String>,
    #[serde(default)]
    pub storage_class: Option<String>,
}

/// A multipart upload in progress.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Upload {
    pub key: String,
    /// Epoch milliseconds.
    pub initiated: i64,
    pub initiator: String,
    /// The headers, metadata, tags, ACL and encryption the object will get.
    pub template: Version,
    #[serde(default)]
    pub parts: BTreeMap<u32, Part>,
}

/// An uploaded part.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Part {
    pub etag: String,
    pub size: u64,
    pub blob: String,
    pub wrapped_key: String,
    pub last_modified: i64,
}

/// Maps a store failure to an internal error.
pub fn db(e: StoreError) -> AwsError {
    AwsError::internal(e)
}

/// S3's `NoSuchBucket`.
pub fn no_such_bucket(name: &str) -> AwsError {
    AwsError::new("NoSuchBucket", "The specified bucket does not exist")
        .with_extra("BucketName", name)
}

/// S3's `NoSuchKey`.
pub fn no_such_key(key: &str) -> AwsError {
    AwsError::new("NoSuchKey", "The specified key does not exist.").with_extra("Key", key)
}

/// S3's `MalformedXML`.
pub fn malformed_xml() -> AwsError {
    AwsError::new(
        "MalformedXML",
        "The XML you provided was not well-formed or did not validate against our published schema",
    )
    .with_status(400)
}

/// S3's `InvalidArgument`.
pub fn invalid_argument(message: impl Into<String>) -> AwsError {
    AwsError::new("InvalidArgument", message).with_status(400)
}

/// Reads a bucket, or `NoSuchBucket`.
pub fn load_bucket(tx: &mamori_store::Tx<'_>, name: &str) -> Result<Bucket, AwsError> {
    find_bucket(tx, name)?.ok_or_else(|| no_such_bucket(name))
}

/// Reads a bucket with its owner account's public access block.
pub fn find_bucket(tx: &mamori_store::Tx<'_>, name: &str) -> Result<Option<Bucket>, AwsError> {
    let Some(mut bucket) = BUCKETS.get(tx, BUCKET_PARTITION, name).map_err(db)? else {
        return Ok(None);
    };
    bucket.account_public_access_block = account_pab(tx, &bucket.account)?;
    Ok(Some(bucket))
}

/// The account-level public access block of `account`.
pub fn account_pab(tx: &mamori_store::Tx<'_>, account: &str) -> Result<Option<Value>, AwsError> {
    ACCOUNT_PABS.get(tx, BUCKET_PARTITION, account).map_err(db)
}

/// An [`AwsError`] inside a store transaction (the store needs `From<StoreError>`).
struct TxError(AwsError);

impl From<StoreError> for TxError {
    fn from(e: StoreError) -> Self {
        Self(db(e))
    }
}

/// [`mamori_store::Store::read`] with S3's error type.
pub fn read<T>(
    store: &mamori_store::Store,
    f: impl FnOnce(&mamori_store::Tx<'_>) -> Result<T, AwsError>,
) -> Result<T, AwsError> {
    store.read(|tx| f(tx).map_err(TxError)).map_err(|e| e.0)
}

/// [`mamori_store::Store::write`] with S3's error type.
pub fn write<T>(
    store: &mamori_store::Store,
    f: impl FnOnce(&mamori_store::Tx<'_>) -> Result<T, AwsError>,
) -> Result<T, AwsError> {
    store.write(|tx| f(tx).map_err(TxError)).map_err(|e| e.0)
}
