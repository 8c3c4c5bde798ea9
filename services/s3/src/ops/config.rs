//! Bucket configurations: policy (and its public status), ACLs, public access block,
//! ownership controls, default encryption, versioning (with MFA Delete), lifecycle,
//! logging, tagging, CORS, website and notification, following
//! <https://docs.aws.amazon.com/AmazonS3/latest/userguide/access-control-block-public-access.html>,
//! <https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucket-encryption.html>,
//! <https://docs.aws.amazon.com/AmazonS3/latest/userguide/MultiFactorAuthenticationDelete.html>
//! and <https://docs.aws.amazon.com/AmazonS3/latest/userguide/intro-lifecycle-rules.html>.

use mamori_aws::AwsError;
use mamori_policy::{Policy, PolicyKind};
use mamori_service::Context;
use serde_json::{Value, json};

use super::{bucket_of, check_acl, grants, has_grant_headers, owner, s};
use crate::S3;
use crate::state::{BUCKET_PARTITION, BUCKETS, Bucket, db, invalid_argument, malformed_xml};

/// Runs a bucket configuration operation.
pub fn call(s3: &S3, ctx: &Context, op: &str, input: Value) -> Result<Value, AwsError> {
    let get = |f: &dyn Fn(&Bucket) -> Result<Value, AwsError>| {
        crate::state::read(ctx.dispatcher.store(), |tx| bucket_of(ctx, tx, &input))
            .and_then(|b| f(&b))
    };
    let not_found = |code: &str, msg: &str| {
        AwsError::new(code, msg)
            .with_status(404)
            .with_extra("BucketName", s(&input, "Bucket").unwrap_or_default())
    };
    match op {
        "GetBucketPolicy" => get(&|b| {
            b.policy
                .as_ref()
                .map(|p| json!({"Policy": p}))
                .ok_or_else(|| not_found("NoSuchBucketPolicy", "The bucket policy does not exist"))
        }),
        "GetBucketPolicyStatus" => get(&|b| match &b.policy {
            Some(p) => Ok(json!({"PolicyStatus": {"IsPublic": is_public_policy(p)}})),
            None => Err(not_found("NoSuchBucketPolicy", "The bucket policy does not exist")),
        }),
        "PutBucketPolicy" => {
            let doc = s(&input, "Policy").unwrap_or_default().to_owned();
            update(ctx, &input, |b| {
                check_policy(&doc, &b.name)?;
                if b.pab("BlockPublicPolicy") && is_public_policy(&doc) {
                    return Err(AwsError::new(
                        "AccessDenied",
                        format!(
                            "User: {} is not authorized to perform: s3:PutBucketPolicy on resource: \"{}\" because public policies are blocked by the BlockPublicPolicy block public access setting.",
                            ctx.principal.arn,
                            b.arn()
                        ),
                    ));
                }
                b.policy = Some(doc.clone());
                Ok(())
            })
        }
        "DeleteBucketPolicy" => update(ctx, &input, |b| {
            b.policy = None;
            Ok(())
        }),
        "GetBucketAcl" => get(&|b| {
            Ok(json!({"Owner": owner(&b.account), "Grants": grants(&b.account, b.acl.as_deref())}))
        }),
        "PutBucketAcl" => {
            let acl = s(&input, "ACL").map(str::to_owned);
            let explicit = has_grant_headers(&input) || input.get("AccessControlPolicy").is_some();
            update(ctx, &input, |b| {
                check_acl(b, acl.as_deref(), explicit)?;
                b.acl = acl.clone();
                Ok(())
            })
        }
        "GetPublicAccessBlock" => get(&|b| {
            b.public_access_block
                .as_ref()
                .map(|p| json!({"PublicAccessBlockConfiguration": p}))
                .ok_or_else(|| {
                    not_found(
                        "NoSuchPublicAccessBlockConfiguration",
                        "The public access block configuration was not found",
                    )
                })
        }),
        "PutPublicAccessBlock" => {
            let conf = input
                .get("PublicAccessBlockConfiguration")
                .map(crate::state::complete_pab)
                .ok_or_else(malformed_xml)?;
            update(ctx, &input, |b| {
                b.public_access_block = Some(conf.clone());
                Ok(())
            })
        }
        "DeletePublicAccessBlock" => update(ctx, &input, |b| {
            b.public_access_block = None;
            Ok(())
        }),
        "GetBucketOwnershipControls" => get(&|b| match &b.ownership {
            Some(o) => Ok(json!({"OwnershipControls": {"Rules": [{"ObjectOwnership": o}]}})),
            None => Err(not_found(
                "OwnershipControlsNotFoundError",
                "The bucket ownership controls were not found",
            )),
        }),
        "PutBucketOwnershipControls" => {
            let o = input
                .pointer("/OwnershipControls/Rules/0/ObjectOwnership")
                .and_then(Value::as_str)
                .ok_or_else(malformed_xml)?
                .to_owned();
            update(ctx, &input, |b| {
                if o == "BucketOwnerEnforced" && b.acl.as_deref().is_some_and(super::is_public_acl)
                {
                    return Err(AwsError::new("InvalidBucketAclWithObjectOwnership", "Bucket cannot have ACLs set with ObjectOwnership's BucketOwnerEnforced setting").with_status(400));
                }
                b.ownership = Some(o.clone());
                Ok(())
            })
        }
        "DeleteBucketOwnershipControls" => update(ctx, &input, |b| {
            b.ownership = None;
            Ok(())
        }),
        "GetBucketEncryption" => get(&|b| {
            // Every bucket has SSE-S3 default encryption since January 2023.
            let conf = b.encryption.clone().unwrap_or_else(|| {
                json!({"Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}, "BucketKeyEnabled": false}]})
            });
            Ok(json!({"ServerSideEncryptionConfiguration": conf}))
        }),
        "PutBucketEncryption" => {
            let conf = input
                .get("ServerSideEncryptionConfiguration")
                .cloned()
                .ok_or_else(malformed_xml)?;
            let rule = conf
                .pointer("/Rules/0/ApplyServerSideEncryptionByDefault")
                .ok_or_else(malformed_xml)?;
            if s(rule, "SSEAlgorithm") == Some("AES256") && rule.get("KMSMasterKeyID").is_some() {
                return Err(invalid_argument(
                    "a KMSMasterKeyID is not applicable if the default sse algorithm is not aws:kms or aws:kms:dsse",
                ));
            }
            update(ctx, &input, |b| {
                b.encryption = Some(conf.clone());
                Ok(())
            })
        }
        "DeleteBucketEncryption" => update(ctx, &input, |b| {
            b.encryption = None;
            Ok(())
        }),
        "GetBucketVersioning" => get(&|b| {
            let mut res = json!({});
            if let Some(v) = &b.versioning {
                res["Status"] = json!(v);
            }
            if let Some(m) = &b.mfa_delete {
                res["MFADelete"] = json!(m);
            }
            Ok(res)
        }),
        "PutBucketVersioning" => put_versioning(ctx, &input),
        "GetBucketLifecycleConfiguration" => get(&|b| {
            b.lifecycle
                .as_ref()
                .map(|l| json!({"Rules": l.get("Rules").cloned().unwrap_or(json!([]))}))
                .ok_or_else(|| {
                    not_found(
                        "NoSuchLifecycleConfiguration",
                        "The lifecycle configuration does not exist",
                    )
                })
        }),
        "PutBucketLifecycleConfiguration" => {
            let conf = input.get("LifecycleConfiguration").cloned().ok_or_else(malformed_xml)?;
            check_lifecycle(&conf)?;
            update(ctx, &input, |b| {
                b.lifecycle = Some(conf.clone());
                Ok(())
            })
        }
        "DeleteBucketLifecycle" => update(ctx, &input, |b| {
            b.lifecycle = None;
            Ok(())
        }),
        "GetBucketLogging" => get(&|b| {
            Ok(b.logging.clone().map(|l| json!({"LoggingEnabled": l})).unwrap_or(json!({})))
        }),
        "PutBucketLogging" => {
            let enabled = input.pointer("/BucketLoggingStatus/LoggingEnabled").cloned();
            if let Some(target) = enabled.as_ref().and_then(|e| s(e, "TargetBucket")) {
                let target_bucket = crate::state::read(ctx.dispatcher.store(), |tx| {
                    BUCKETS.get(tx, BUCKET_PARTITION, target).map_err(db)
                })?;
                match target_bucket {
                    Some(t) if t.account == ctx.account.as_str() => {}
                    Some(_) => {
                        return Err(AwsError::new("InvalidTargetBucketForLogging", "The owner for the bucket to be logged and the target bucket must be the same.").with_status(400).with_extra("TargetBucket", target));
                    }
                    None => {
                        return Err(AwsError::new(
                            "InvalidTargetBucketForLogging",
                            "The target bucket for logging does not exist",
                        )
                        .with_status(400)
                        .with_extra("TargetBucket", target));
                    }
                }
            }
            let res = update(ctx, &input, |b| {
                b.logging = enabled.clone();
                Ok(())
            });
            s3.forget_logging(s(&input, "Bucket").unwrap_or_default());
            res
        }
        "GetBucketTagging" => get(&|b| {
            if b.tags.is_empty() {
                return Err(not_found("NoSuchTagSet", "The TagSet does not exist"));
            }
            Ok(json!({"TagSet": b.tags}))
        }),
        "PutBucketTagging" => {
            let tags = input
                .pointer("/Tagging/TagSet")
                .and_then(Value::as_array)
                .cloned()
                .ok_or_else(malformed_xml)?;
            if tags.len() > 50 {
                return Err(AwsError::new(
                    "InvalidTag",
                    "Bucket tag count cannot be greater than 50",
                )
                .with_status(400));
            }
            update(ctx, &input, |b| {
                b.tags = tags.clone();
                Ok(())
            })
        }
        "DeleteBucketTagging" => update(ctx, &input, |b| {
            b.tags.clear();
            Ok(())
        }),
        "GetBucketCors" => get(&|b| {
            b.cors
                .as_ref()
                .map(|c| json!({"CORSRules": c.get("CORSRules").cloned().unwrap_or(json!([]))}))
                .ok_or_else(|| {
                    not_found("NoSuchCORSConfiguration", "The CORS configuration does not exist")
                })
        }),
        "PutBucketCors" => stored(ctx, &input, "CORSConfiguration", |b, v| b.cors = v),
        "DeleteBucketCors" => update(ctx, &input, |b| {
            b.cors = None;
            Ok(())
        }),
        "GetBucketWebsite" => get(&|b| {
            b.website.clone().ok_or_else(|| {
                not_found(
                    "NoSuchWebsiteConfiguration",
                    "The specified bucket does not have a website configuration",
                )
            })
        }),
        "PutBucketWebsite" => stored(ctx, &input, "WebsiteConfiguration", |b, v| b.website = v),
        "DeleteBucketWebsite" => update(ctx, &input, |b| {
            b.website = None;
            Ok(())
        }),
        "GetBucketNotificationConfiguration" => {
            get(&|b| Ok(b.notification.clone().unwrap_or(json!({}))))
        }
        "PutBucketNotificationConfiguration" => {
            stored(ctx, &input, "NotificationConfiguration", |b, v| b.notification = v)
        }
        other => Err(AwsError::not_implemented("s3", other)),
    }
}

/// Reads, changes and writes a bucket in one transaction.
fn update(
    ctx: &Context,
    input: &Value,
    f: impl FnOnce(&mut Bucket) -> Result<(), AwsError>,
) -> Result<Value, AwsError> {
    crate::state::write(ctx.dispatcher.store(), |tx| {
        let mut b = bucket_of(ctx, tx, input)?;
        f(&mut b)?;
        BUCKETS.put(tx, BUCKET_PARTITION, &b.name.clone(), &b).map_err(db)?;
        tracing::info!(target: "s3", bucket = %b.name, "bucket configuration changed");
        Ok(json!({}))
    })
}

fn stored(
    ctx: &Context,
    input: &Value,
    member: &str,
    set: impl FnOnce(&mut Bucket, Option<Value>),
) -> Result<Value, AwsError> {
    let conf = input.get(member).cloned().ok_or_else(malformed_xml)?;
    update(ctx, input, |b| {
        set(b, Some(conf));
        Ok(())
    })
}

/// Validates a bucket policy as S3 does: the policy grammar, and every resource within
/// this bucket.
pub fn check_policy(doc: &str, bucket: &str) -> Result<(), AwsError> {
    let malformed = |m: String| AwsError::new("MalformedPolicy", m).with_status(400);
    Policy::parse(doc, PolicyKind::Resource).map_err(|e| malformed(e.to_string()))?;
    let raw: Value = serde_json::from_str(doc).map_err(|e| malformed(e.to_string()))?;
    let statements = match raw.get("Statement") {
        Some(Value::Array(a)) => a.clone(),
        Some(one) => vec![one.clone()],
        None => Vec::new(),
    };
    let own = format!("arn:aws:s3:::{bucket}");
    for st in &statements {
        let resources = match st.get("Resource") {
            Some(Value::String(r)) => vec![r.clone()],
            Some(Value::Array(a)) => {
                a.iter().filter_map(Value::as_str).map(str::to_owned).collect()
            }
            _ => Vec::new(),
        };
        for r in resources {
            let within = r == own || r.starts_with(&format!("{own}/")) || r == "*";
            if !within {
                return Err(malformed("Policy has invalid resource".into()));
            }
        }
    }
    Ok(())
}

/// Whether a policy is public in S3's sense: some Allow statement admits every principal
/// without a condition that pins the caller to fixed values.
pub fn is_public_policy(doc: &str) -> bool {
    const PINNING: &[&str] = &[
        "aws:sourcearn",
        "aws:sourceaccount",
        "aws:sourceowner",
        "aws:sourcevpc",
        "aws:sourcevpce",
        "aws:principalaccount",
        "aws:principalarn",
        "aws:principalorgid",
        "aws:sourceip",
        "aws:userid",
        "aws:principalorgpaths",
        "aws:sourceorgid",
        "s3:dataaccesspointaccount",
        "s3:dataaccesspointarn",
    ];
    let Ok(raw) = serde_json::from_str::<Value>(doc) else { return false };
    let statements = match raw.get("Statement") {
        Some(Value::Array(a)) => a.clone(),
        Some(one) => vec![one.clone()],
        None => Vec::new(),
    };
    statements.iter().any(|st| {
        let allow = s(st, "Effect") == Some("Allow");
        let everyone = match st.get("Principal") {
            Some(Value::String(p)) => p == "*",
            Some(Value::Object(m)) => m.get("AWS").is_some_and(|a| match a {
                Value::String(p) => p == "*",
                Value::Array(l) => l.iter().any(|p| p == "*"),
                _ => false,
            }),
            _ => false,
        };
        let pinned = st.get("Condition").and_then(Value::as_object).is_some_and(|ops| {
            ops.values().filter_map(Value::as_object).flat_map(|m| m.iter()).any(|(k, v)| {
                let fixed = match v {
                    Value::String(s) => !s.contains('*'),
                    Value::Array(l) => {
                        l.iter().all(|x| x.as_str().is_some_and(|s| !s.contains('*')))
                    }
                    _ => true,
                };
                PINNING.contains(&k.to_ascii_lowercase().as_str()) && fixed
            })
        });
        allow && everyone && !pinned
    })
}

fn put_versioning(ctx: &Context, input: &Value) -> Result<Value, AwsError> {
    let conf = input.get("VersioningConfiguration").cloned().ok_or_else(malformed_xml)?;
    let status = s(&conf, "Status").map(str::to_owned);
    let mfa_delete = s(&conf, "MFADelete").map(str::to_owned);
    let mfa_header = s(input, "MFA");
    crate::state::write(ctx.dispatcher.store(), |tx| {
        let mut b = bucket_of(ctx, tx, input)?;
        // Setting MFADelete (either way) and any change to a bucket that has it need the
        // owner's root user with a valid x-amz-mfa.
        if mfa_delete.is_some() || b.mfa_delete.as_deref() == Some("Enabled") {
            crate::mfa::verify(ctx, tx, &b, mfa_header)?;
        }
        if let Some(m) = &mfa_delete {
            b.mfa_delete = Some(m.clone());
        }
        if let Some(st) = &status {
            b.versioning = Some(st.clone());
        }
        BUCKETS.put(tx, BUCKET_PARTITION, &b.name.clone(), &b).map_err(db)?;
        tracing::info!(target: "s3", bucket = %b.name, status = ?status, mfa_delete = ?mfa_delete, "bucket versioning changed");
        Ok(json!({}))
    })
}

/// Checks lifecycle rules as S3 does on PutBucketLifecycleConfiguration.
pub fn check_lifecycle(conf: &Value) -> Result<(), AwsError> {
    let rules = conf.get("Rules").and_then(Value::as_array).ok_or_else(malformed_xml)?;
    if rules.is_empty() || rules.len() > 1000 {
        return Err(malformed_xml());
    }
    let mut ids = std::collections::HashSet::new();
    for r in rules {
        if let Some(id) = s(r, "ID") {
            if id.len() > 255 {
                return Err(invalid_argument("ID length should not exceed allowed limit of 255"));
            }
            if !ids.insert(id.to_owned()) {
                return Err(invalid_argument(
                    "Rule ID must be unique. Found same ID for more than one rule",
                ));
            }
        }
        if r.get("Filter").is_some() && r.get("Prefix").is_some() {
            return Err(malformed_xml());
        }
        let actions = [
            "Expiration",
            "Transitions",
            "NoncurrentVersionExpiration",
            "NoncurrentVersionTransitions",
            "AbortIncompleteMultipartUpload",
        ];
        if !actions.iter().any(|a| r.get(*a).is_some()) {
            return Err(AwsError::new(
                "InvalidRequest",
                "At least one action needs to be specified in a rule",
            ));
        }
        if let Some(e) = r.get("Expiration") {
            if e.get("Days").and_then(Value::as_i64).is_some_and(|d| d <= 0) {
                return Err(invalid_argument(
                    "'Days' for Expiration action must be a positive integer",
                ));
            }
            if let Some(date) = e.get("Date").and_then(Value::as_f64)
                && (date as i64) % 86_400 != 0
            {
                return Err(invalid_argument("'Date' must be at midnight GMT"));
            }
            let n = ["Days", "Date", "ExpiredObjectDeleteMarker"]
                .iter()
                .filter(|k| e.get(**k).is_some())
                .count();
            if n != 1 {
                return Err(malformed_xml());
            }
        }
        if r.pointer("/NoncurrentVersionExpiration/NoncurrentDays")
            .and_then(Value::as_i64)
            .is_some_and(|d| d <= 0)
        {
            return Err(invalid_argument(
                "'NoncurrentDays' for NoncurrentVersionExpiration action must be a positive integer",
            ));
        }
        if r.pointer("/AbortIncompleteMultipartUpload/DaysAfterInitiation")
            .and_then(Value::as_i64)
            .is_some_and(|d| d <= 0)
        {
            return Err(invalid_argument(
                "'DaysAfterInitiation' for AbortIncompleteMultipartUpload action must be a positive integer",
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn public_policies() {
        let st = |body: &str| format!(r#"{{"Version":"2012-10-17","Statement":[{body}]}}"#);
        let cases = [
            (
                st(
                    r#"{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"}"#,
                ),
                true,
            ),
            (
                st(
                    r#"{"Effect":"Allow","Principal":{"AWS":"*"},"Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"}"#,
                ),
                true,
            ),
            (
                st(
                    r#"{"Effect":"Deny","Principal":"*","Action":"s3:*","Resource":"arn:aws:s3:::b/*"}"#,
                ),
                false,
            ),
            (
                st(
                    r#"{"Effect":"Allow","Principal":{"Service":"cloudtrail.amazonaws.com"},"Action":"s3:PutObject","Resource":"arn:aws:s3:::b/*"}"#,
                ),
                false,
            ),
            (
                st(
                    r#"{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*","Condition":{"StringEquals":{"aws:SourceAccount":"123456789012"}}}"#,
                ),
                false,
            ),
            (
                st(
                    r#"{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*","Condition":{"StringLike":{"aws:SourceArn":"*"}}}"#,
                ),
                true,
            ),
        ];
        for (doc, public) in cases {
            assert_eq!(is_public_policy(&doc), public, "{doc}");
        }
    }

    #[test]
    fn policy_validation() {
        let ok = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"}]}"#;
        assert!(check_policy(ok, "b").is_ok());
        let cases = [
            "not json",
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"}]}"#,
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::other/*"}]}"#,
        ];
        for doc in cases {
            assert_eq!(check_policy(doc, "b").unwrap_err().code, "MalformedPolicy", "{doc}");
        }
    }

    #[test]
    fn lifecycle_validation() {
        let cases = [
            (
                json!({"Rules": [{"Status": "Enabled", "Filter": {"Prefix": ""}, "Expiration": {"Days": 1}}]}),
                None,
            ),
            (
                json!({"Rules": [{"Status": "Enabled", "Filter": {}, "Expiration": {"Days": 0}}]}),
                Some("InvalidArgument"),
            ),
            (json!({"Rules": [{"Status": "Enabled", "Filter": {}}]}), Some("InvalidRequest")),
            (json!({"Rules": []}), Some("MalformedXML")),
            (
                json!({"Rules": [{"Status": "Enabled", "Filter": {}, "Expiration": {"Date": 1000.0}}]}),
                Some("InvalidArgument"),
            ),
        ];
        for (conf, want) in cases {
            assert_eq!(check_lifecycle(&conf).err().map(|e| e.code).as_deref(), want, "{conf}");
        }
    }
}
