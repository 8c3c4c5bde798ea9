//! Access to a bucket from another account, which S3 grants only when the bucket policy
//! does (<https://docs.aws.amazon.com/AmazonS3/latest/userguide/example-walkthroughs-managing-access-example2.html>).
//!
//! The authorizer cannot tell which account owns an S3 resource (bucket ARNs carry no
//! account), so it treats every bucket as the caller's own, where an identity policy
//! alone allows. For a caller of another account this module therefore evaluates the
//! bucket policy by itself and requires it to allow: without it, any policy on a bucket
//! would let another account's administrators in.

use mamori_aws::AwsError;
use mamori_policy::{AttachedPolicy, ContextValue, DecisionEffect, Policy, PolicyKind, PolicySet};
use mamori_service::{Context, PrincipalKind};
use serde_json::Value;

use crate::state::Bucket;

/// Refuses a caller of another account unless the bucket policy allows the request.
// GAP: the caller's own identity policies (which AWS also requires across accounts) are
// evaluated by the authorizer with the bucket treated as same-account; global condition
// keys other than the request's own (s3:*) are absent here, so such conditions fail
// closed.
pub fn check(
    ctx: &Context,
    operation: &str,
    input: &Value,
    bucket: &Bucket,
) -> Result<(), AwsError> {
    if ctx.account.as_str() == bucket.account
        || matches!(ctx.principal.kind, PrincipalKind::Service(_))
    {
        return Ok(());
    }
    let denied = || AwsError::new("AccessDenied", "Access Denied");
    let Some(doc) = &bucket.policy else { return Err(denied()) };
    let policy = Policy::parse(doc, PolicyKind::Resource).map_err(|_| denied())?;
    let kind = match &ctx.principal.kind {
        PrincipalKind::Root => mamori_policy::PrincipalKind::Root,
        PrincipalKind::IamUser { .. } => mamori_policy::PrincipalKind::IamUser,
        PrincipalKind::AssumedRole { role, .. } => mamori_policy::PrincipalKind::AssumedRole {
            role_arn: format!("arn:aws:iam::{}:role/{role}", ctx.principal.account),
        },
        _ => mamori_policy::PrincipalKind::Anonymous,
    };
    let principal = mamori_policy::Principal {
        arn: ctx.principal.arn.clone(),
        account: ctx.principal.account.as_str().to_owned(),
        kind,
        service_linked_role: false,
        canonical_user: None,
    };
    let req = crate::authz::request(operation, input);
    let mut context = std::collections::BTreeMap::new();
    for (k, v) in &req.conditions {
        let value = match v.as_slice() {
            [one] => ContextValue::from(one.as_str()),
            many => ContextValue::Multi(
                many.iter().map(|s| mamori_policy::Value::String(s.clone())).collect(),
            ),
        };
        context.insert(k.clone(), value);
    }
    let set = PolicySet {
        resource_policy: Some(AttachedPolicy { label: "bucket policy".into(), policy }),
        resource_account: Some(bucket.account.clone()),
        resource_policy_required: true,
        ..PolicySet::default()
    };
    let request =
        mamori_policy::Request { principal, action: req.action, resources: req.resources, context }
            .with_principal_keys();
    if mamori_policy::evaluate(&request, &set).effect == DecisionEffect::Allow {
        Ok(())
    } else {
        tracing::debug!(target: "s3", bucket = %bucket.name, caller = %ctx.principal.arn, operation, "cross-account request refused by the bucket policy");
        Err(denied())
    }
}
