//! Bucket operations: CreateBucket, DeleteBucket, HeadBucket, ListBuckets and
//! GetBucketLocation, following
//! <https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucketnamingrules.html> and
//! <https://docs.aws.amazon.com/AmazonS3/latest/API/API_CreateBucket.html>.

use mamori_aws::AwsError;
use mamori_service::Context;
use serde_json::{Value, json};

use super::{bucket_of, check_acl, has_grant_headers, now_ms, owner, s, secs};
use crate::S3;
use crate::state::{BUCKET_PARTITION, BUCKETS, Bucket, OBJECTS, UPLOADS, db};

/// Checks S3's general purpose bucket naming rules.
pub fn valid_bucket_name(name: &str) -> bool {
    let b = name.as_bytes();
    let edge = |c: u8| c.is_ascii_lowercase() || c.is_ascii_digit();
    (3..=63).contains(&b.len())
        && b.iter().all(|&c| edge(c) || c == b'.' || c == b'-')
        && edge(b[0])
        && edge(b[b.len() - 1])
        && !name.contains("..")
        && !name.contains(".-")
        && !name.contains("-.")
        && name.parse::<std::net::Ipv4Addr>().is_err()
        && !["xn--", "sthree-", "amzn-s3-demo-"].iter().any(|p| name.starts_with(p))
        && !["-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3"]
            .iter()
            .any(|p| name.ends_with(p))
}

pub fn create_bucket(ctx: &Context, input: Value) -> Result<Value, AwsError> {
    let name = s(&input, "Bucket").unwrap_or_default().to_owned();
    if !valid_bucket_name(&name) {
        return Err(AwsError::new("InvalidBucketName", "The specified bucket is not valid.")
            .with_status(400)
            .with_extra("BucketName", name.as_str()));
    }
    let region = ctx.region.as_str();
    let constraint =
        input.pointer("/CreateBucketConfiguration/LocationConstraint").and_then(Value::as_str);
    match constraint {
        None | Some("") if region == "us-east-1" => {}
        Some(c) if c == region && region != "us-east-1" => {}
        Some("us-east-1") => {
            return Err(AwsError::new(
                "InvalidLocationConstraint",
                "The specified location-constraint is not valid",
            )
            .with_status(400)
            .with_extra("LocationConstraint", "us-east-1"));
        }
        other => {
            let c = other.filter(|c| !c.is_empty()).unwrap_or("unspecified");
            return Err(AwsError::new(
                "IllegalLocationConstraintException",
                format!("The {c} location constraint is incompatible for the region specific endpoint this request was sent to."),
            )
            .with_status(400));
        }
    }
    if input.get("ObjectLockEnabledForBucket").and_then(Value::as_bool) == Some(true) {
        // GAP: object lock (retention, legal hold) is not built; refused rather than ignored.
        return Err(AwsError::new("NotImplemented", "mamori does not support S3 Object Lock")
            .with_status(501));
    }
    let ownership = s(&input, "ObjectOwnership").unwrap_or("BucketOwnerEnforced").to_owned();
    let acl = s(&input, "ACL").map(str::to_owned);
    let mut bucket = Bucket {
        name: name.clone(),
        account: ctx.account.as_str().to_owned(),
        region: region.to_owned(),
        created: now_ms(ctx),
        ownership: Some(ownership),
        acl: acl.clone(),
        ..Bucket::default()
    };
    bucket.account_public_access_block = crate::state::read(ctx.dispatcher.store(), |tx| {
        crate::state::account_pab(tx, &bucket.account)
    })?;
    check_acl(&bucket, acl.as_deref(), has_grant_headers(&input))?;
    if let Some(tags) = input.pointer("/CreateBucketConfiguration/Tags").and_then(Value::as_array) {
        bucket.tags = tags.clone();
    }
    crate::state::write(ctx.dispatcher.store(), |tx| {
        if let Some(existing) = BUCKETS.get(tx, BUCKET_PARTITION, &name).map_err(db)? {
            if existing.account != bucket.account {
                return Err(AwsError::new(
                    "BucketAlreadyExists",
                    "The requested bucket name is not available. The bucket namespace is shared by all users of the system. Please select a different name and try again.",
                )
                .with_extra("BucketName", name.as_str()));
            }
            // AWS keeps answering 200 in us-east-1 for a bucket the caller already owns.
            if region == "us-east-1" && existing.region == "us-east-1" {
                return Ok(());
            }
            return Err(AwsError::new(
                "BucketAlreadyOwnedByYou",
                "Your previous request to create the named bucket succeeded and you already own it.",
            )
            .with_extra("BucketName", name.as_str()));
        }
        BUCKETS.put(tx, BUCKET_PARTITION, &name, &bucket).map_err(db)
    })?;
    tracing::info!(target: "s3", bucket = %name, region, "bucket created");
    Ok(json!({"Location": format!("/{name}"), "BucketArn": format!("arn:aws:s3:::{name}")}))
}

pub fn delete_bucket(s3: &S3, ctx: &Context, input: Value) -> Result<Value, AwsError> {
    let name = s(&input, "Bucket").unwrap_or_default().to_owned();
    crate::state::write(ctx.dispatcher.store(), |tx| {
        bucket_of(ctx, tx, &input)?;
        let has_objects = !OBJECTS.scan(tx, &name, "", None, 1).map_err(db)?.is_empty();
        let has_uploads = !UPLOADS.scan(tx, &name, "", None, 1).map_err(db)?.is_empty();
        if has_objects || has_uploads {
            return Err(AwsError::new(
                "BucketNotEmpty",
                "The bucket you tried to delete is not empty",
            )
            .with_status(409)
            .with_extra("BucketName", name.as_str()));
        }
        BUCKETS.delete(tx, BUCKET_PARTITION, &name).map_err(db)?;
        Ok(())
    })?;
    s3.forget_logging(&name);
    tracing::info!(target: "s3", bucket = %name, "bucket deleted");
    Ok(json!({}))
}

pub fn head_bucket(ctx: &Context, input: Value) -> Result<Value, AwsError> {
    let bucket = crate::state::read(ctx.dispatcher.store(), |tx| bucket_of(ctx, tx, &input))?;
    Ok(json!({"BucketRegion": bucket.region, "BucketArn": bucket.arn()}))
}

pub fn list_buckets(ctx: &Context, input: Value) -> Result<Value, AwsError> {
    let prefix = s(&input, "Prefix").unwrap_or_default();
    let after = s(&input, "ContinuationToken");
    let max = input.get("MaxBuckets").and_then(Value::as_u64).unwrap_or(10_000) as usize;
    let mut all: Vec<Bucket> = crate::state::read(ctx.dispatcher.store(), |tx| {
        BUCKETS.scan(tx, BUCKET_PARTITION, prefix, after, usize::MAX).map_err(db)
    })?
    .into_iter()
    .map(|(_, b)| b)
    .filter(|b| b.account == ctx.account.as_str())
    .filter(|b| s(&input, "BucketRegion").is_none_or(|r| r == b.region))
    .collect();
    let truncated = all.len() > max;
    all.truncate(max);
    let buckets: Vec<Value> = all
        .iter()
        .map(|b| {
            json!({"Name": b.name, "CreationDate": secs(b.created), "BucketRegion": b.region, "BucketArn": b.arn()})
        })
        .collect();
    let mut res = json!({"Buckets": buckets, "Owner": owner(ctx.account.as_str())});
    if truncated && let Some(last) = all.last() {
        res["ContinuationToken"] = json!(last.name);
    }
    if !prefix.is_empty() {
        res["Prefix"] = json!(prefix);
    }
    Ok(res)
}

pub fn get_bucket_location(ctx: &Context, input: Value) -> Result<Value, AwsError> {
    let bucket = crate::state::read(ctx.dispatcher.store(), |tx| bucket_of(ctx, tx, &input))?;
    // us-east-1 buckets answer an empty LocationConstraint.
    let region = if bucket.region == "us-east-1" { String::new() } else { bucket.region };
    Ok(json!({"LocationConstraint": region}))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_names() {
        let cases = [
            ("my-bucket", true),
            ("a.b.c", true),
            ("abc", true),
            ("ab", false),
            ("My-Bucket", false),
            ("-abc", false),
            ("abc-", false),
            ("a..b", false),
            ("a.-b", false),
            ("192.168.5.4", false),
            ("xn--abc", false),
            ("abc-s3alias", false),
            ("under_score", false),
            (&"a".repeat(64), false),
            (&"a".repeat(63), true),
        ];
        for (name, ok) in cases {
            assert_eq!(valid_bucket_name(name), ok, "{name}");
        }
    }
}
