//! The destination checks CreateTrail and UpdateTrail make, following
//! <https://docs.aws.amazon.com/awscloudtrail/latest/userguide/create-s3-bucket-policy-for-cloudtrail.html>
//! and <https://docs.aws.amazon.com/awscloudtrail/latest/userguide/cloudtrail-permissions-for-sns-notifications.html>:
//! the bucket exists and its policy lets CloudTrail write log files, the SNS topic's
//! policy lets CloudTrail publish, the CloudWatch Logs group exists.
//!
//! The bucket and topic policies are read through their services as the caller (with
//! `invokedBy: cloudtrail.amazonaws.com`, as a service acting for the caller) and
//! evaluated here with mamori-policy for the CloudTrail service principal.

use mamori_aws::AwsError;
use mamori_policy::{
    AttachedPolicy, DecisionEffect, Policy, PolicyKind, PolicySet, Principal, Request, evaluate,
};
use mamori_service::{AuthzRequest, Context};
use serde_json::{Value, json};

use crate::delivery::PRINCIPAL;
use crate::ops::trails::log_group_name;
use crate::role;

/// The caller's context for a read CloudTrail makes on its behalf.
fn on_behalf(ctx: &Context) -> Context {
    let mut c = ctx.clone();
    c.invoked_by = Some(PRINCIPAL.to_owned());
    c
}

/// Whether resource policy `doc` allows the CloudTrail service principal `action` on
/// `resource` with `context` condition keys.
pub fn service_allowed(doc: &str, action: &str, resource: &str, context: &[(&str, &str)]) -> bool {
    let Ok(policy) = Policy::parse(doc, PolicyKind::Resource) else { return false };
    let set = PolicySet {
        resource_policy: Some(AttachedPolicy { label: "resource-policy".into(), policy }),
        ..PolicySet::default()
    };
    let mut req = Request::new(Principal::service(PRINCIPAL), action, resource);
    for (k, v) in context {
        req = req.with_context(k, *v);
    }
    evaluate(&req.with_principal_keys(), &set).effect == DecisionEffect::Allow
}

/// What a trail's bucket check found: nothing wrong, or S3 is not served at all.
pub enum BucketCheck {
    /// The bucket exists and its policy allows delivery.
    Ok,
    /// S3 is not served: the trail is accepted and its deliveries report it.
    NoS3(String),
}

/// Checks the bucket exists and its policy lets CloudTrail read its ACL and put log
/// files under `[prefix/]AWSLogs/<account>/` with `x-amz-acl: bucket-owner-full-control`.
pub async fn check_bucket(
    ctx: &Context,
    bucket: &str,
    prefix: Option<&str>,
    trail_arn: &str,
) -> Result<BucketCheck, AwsError> {
    let res = ctx
        .dispatcher
        .call(&on_behalf(ctx), "s3", "GetBucketPolicy", json!({"Bucket": bucket}))
        .await;
    let insufficient = || {
        AwsError::new(
            "InsufficientS3BucketPolicyException",
            format!("Incorrect S3 bucket policy is detected for bucket: {bucket}"),
        )
    };
    let doc = match res {
        Ok(v) => v["Policy"].as_str().unwrap_or_default().to_owned(),
        Err(e) if e.code == "NotImplemented" => {
            // GAP: without S3 the bucket cannot be checked; deliveries report the error.
            return Ok(BucketCheck::NoS3(
                "S3 is not implemented by mamori yet; log files are not delivered to S3".into(),
            ));
        }
        Err(e) if e.code == "NoSuchBucketPolicy" => return Err(insufficient()),
        Err(e) if e.code == "NoSuchBucket" => {
            return Err(AwsError::new(
                "S3BucketDoesNotExistException",
                format!("S3 bucket {bucket} does not exist."),
            ));
        }
        Err(e) => return Err(e),
    };
    let key = crate::digest::with_prefix(
        prefix,
        format!("AWSLogs/{}/CloudTrail/{}/check", ctx.account, ctx.region),
    );
    let resource = format!("arn:aws:s3:::{bucket}/{key}");
    let context = [
        ("s3:x-amz-acl", "bucket-owner-full-control"),
        ("aws:SourceArn", trail_arn),
        ("aws:SourceAccount", ctx.account.as_str()),
    ];
    // AWS asks for both: reading the bucket ACL and putting objects with the owner's ACL.
    let bucket_arn = format!("arn:aws:s3:::{bucket}");
    if service_allowed(&doc, "s3:GetBucketAcl", &bucket_arn, &context[1..])
        && service_allowed(&doc, "s3:PutObject", &resource, &context)
    {
        Ok(BucketCheck::Ok)
    } else {
        Err(insufficient())
    }
}

/// Checks the topic's policy lets CloudTrail publish to it.
pub async fn check_topic(ctx: &Context, topic_arn: &str, trail_arn: &str) -> Result<(), AwsError> {
    let res = ctx
        .dispatcher
        .call(&on_behalf(ctx), "sns", "GetTopicAttributes", json!({"TopicArn": topic_arn}))
        .await;
    let insufficient = || {
        AwsError::new(
            "InsufficientSnsTopicPolicyException",
            format!("Incorrect SNS topic policy is detected for topic: {topic_arn}"),
        )
    };
    let attrs: Value = match res {
        Ok(v) => v,
        Err(e) if e.code == "NotImplemented" => return Ok(()),
        Err(e) if e.code == "NotFoundException" => return Err(insufficient()),
        Err(e) => return Err(e),
    };
    let doc = attrs["Attributes"]["Policy"].as_str().unwrap_or_default();
    let context = [("aws:SourceArn", trail_arn), ("aws:SourceAccount", ctx.account.as_str())];
    if service_allowed(doc, "sns:Publish", topic_arn, &context) {
        Ok(())
    } else {
        Err(insufficient())
    }
}

/// Checks the CloudWatch Logs destination: the group exists and a role is named.
pub async fn check_logs_destination(
    ctx: &Context,
    trail_arn: &str,
    group_arn: Option<&str>,
    role_arn: Option<&str>,
) -> Result<(), AwsError> {
    let Some(group_arn) = group_arn else {
        if role_arn.is_some() {
            return Err(AwsError::new(
                "InvalidCloudWatchLogsLogGroupArnException",
                "You must specify a log group ARN along with a role ARN.",
            ));
        }
        return Ok(());
    };
    // AWS answers a missing group and a role without the permissions alike.
    let invalid_group = || {
        AwsError::new(
            "InvalidCloudWatchLogsLogGroupArnException",
            "Access denied. Check the permissions for your role.",
        )
    };
    let name = log_group_name(group_arn).ok_or_else(invalid_group)?;
    let Some(role_arn) =
        role_arn.filter(|r| r.starts_with("arn:aws:iam::") && r.contains(":role/"))
    else {
        return Err(AwsError::new(
            "InvalidCloudWatchLogsRoleArnException",
            "You must specify a valid IAM role ARN along with a log group ARN.",
        ));
    };
    let found = ctx
        .dispatcher
        .call_as_service(
            PRINCIPAL,
            ctx.account.clone(),
            ctx.region.clone(),
            "logs",
            "DescribeLogGroups",
            json!({"logGroupNamePrefix": name}),
        )
        .await;
    let exists = found.is_ok_and(|v| {
        v["logGroups"].as_array().is_some_and(|g| g.iter().any(|g| g["logGroupName"] == name))
    });
    if !exists {
        return Err(invalid_group());
    }
    // CloudTrail must be able to assume the role (its trust policy decides) ...
    let session =
        role::logs_context(&ctx.dispatcher, trail_arn, role_arn, &ctx.account, &ctx.region)
            .await
            .map_err(|e| {
            tracing::debug!(role = role_arn, code = %e.code, "CloudTrail cannot assume the role");
            AwsError::new(
                "InvalidCloudWatchLogsRoleArnException",
                "Access denied. Check the trust relationships for your role.",
            )
        })?;
    // ... and the role must let it create the trail's stream and put events into it.
    let stream = format!("{}_CloudTrail_{}", ctx.account, ctx.region);
    let stream_arn =
        format!("arn:aws:logs:{}:{}:log-group:{name}:log-stream:{stream}", ctx.region, ctx.account);
    for action in ["logs:CreateLogStream", "logs:PutLogEvents"] {
        let request = AuthzRequest::new(action, vec![stream_arn.clone()]);
        if let Err(e) = ctx.dispatcher.authorize_also(&session, "logs", &request, None, &json!({}))
        {
            tracing::debug!(role = role_arn, action, code = %e.code, "the role cannot write to the group");
            return Err(invalid_group());
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const SEED: &str = r#"{"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"Service": "cloudtrail.amazonaws.com"},
         "Action": ["s3:GetBucketAcl"], "Resource": ["arn:aws:s3:::b"]},
        {"Effect": "Allow", "Principal": {"Service": "cloudtrail.amazonaws.com"},
         "Action": ["s3:PutObject"], "Resource": ["arn:aws:s3:::b/AWSLogs/111122223333/*"],
         "Condition": {"StringEquals": {"s3:x-amz-acl": "bucket-owner-full-control"}}}]}"#;

    #[test]
    fn the_seed_bucket_policy_lets_cloudtrail_write_its_own_prefix_only() {
        let acl = ("s3:x-amz-acl", "bucket-owner-full-control");
        let cases = [
            ("arn:aws:s3:::b/AWSLogs/111122223333/CloudTrail/x", vec![acl], true),
            ("arn:aws:s3:::b/AWSLogs/111122223333/CloudTrail/x", vec![], false),
            ("arn:aws:s3:::b/AWSLogs/444455556666/CloudTrail/x", vec![acl], false),
            ("arn:aws:s3:::b/other/AWSLogs/111122223333/x", vec![acl], false),
        ];
        for (resource, ctx, ok) in cases {
            assert_eq!(service_allowed(SEED, "s3:PutObject", resource, &ctx), ok, "{resource}");
        }
        assert!(!service_allowed("not json", "s3:PutObject", "arn:aws:s3:::b/x", &[]));
        let other_service = SEED.replace("cloudtrail.amazonaws.com", "config.amazonaws.com");
        let res = "arn:aws:s3:::b/AWSLogs/111122223333/CloudTrail/x";
        assert!(!service_allowed(&other_service, "s3:PutObject", res, &[acl]));
        assert!(service_allowed(SEED, "s3:GetBucketAcl", "arn:aws:s3:::b", &[]));
        assert!(!service_allowed(SEED, "s3:GetBucketAcl", "arn:aws:s3:::other", &[]));
    }
}
