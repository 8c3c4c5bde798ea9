//! The CloudWatch Logs role of a trail: CloudTrail assumes it (STS `AssumeRole` as
//! `cloudtrail.amazonaws.com`, so the role's trust policy decides, with the trail as
//! `aws:SourceArn`) and writes to the log group with the session, so the role's
//! permissions decide every `CreateLogStream` and `PutLogEvents`, following
//! <https://docs.aws.amazon.com/awscloudtrail/latest/userguide/send-cloudtrail-events-to-cloudwatch-logs.html>.
//!
//! Sessions are kept per trail and role until shortly before they expire, so a delivery
//! run costs no STS call; the authorizer evaluates the role's current policies on every
//! call, so a permission removed from the role stops the next delivery (reported in
//! GetTrailStatus), as in AWS.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, TimeDelta, Utc};
use mamori_aws::{AccountId, AwsError, Region};
use mamori_service::{Context, Dispatcher};
use serde_json::json;

use crate::delivery::PRINCIPAL;

/// The session name CloudTrail's sessions carry.
const SESSION_NAME: &str = "CloudTrail";
/// A session is renewed when it has less than this left.
const RENEW_BEFORE: TimeDelta = TimeDelta::minutes(5);

/// A live session: its access key and when it ends.
#[derive(Debug, Clone)]
struct Session {
    access_key_id: String,
    expires: DateTime<Utc>,
}

type Sessions = Mutex<HashMap<(String, String), Session>>;

fn sessions() -> &'static Sessions {
    static SESSIONS: std::sync::OnceLock<Sessions> = std::sync::OnceLock::new();
    SESSIONS.get_or_init(Sessions::default)
}

/// Forgets the session of `trail_arn` (after the role or the trail changed).
pub fn forget(trail_arn: &str) {
    sessions().lock().unwrap_or_else(|e| e.into_inner()).retain(|(t, _), _| t != trail_arn);
}

/// The context of a call CloudTrail makes to CloudWatch Logs for `trail_arn` as the role
/// `role_arn`, in `account`/`region`. Errors are STS's (the trust policy refused, the role
/// does not exist).
pub async fn logs_context(
    dispatcher: &Arc<Dispatcher>,
    trail_arn: &str,
    role_arn: &str,
    account: &AccountId,
    region: &Region,
) -> Result<Context, AwsError> {
    let now = dispatcher.clock().now();
    let key = (trail_arn.to_owned(), role_arn.to_owned());
    let cached = sessions().lock().unwrap_or_else(|e| e.into_inner()).get(&key).cloned();
    let credential = cached
        .filter(|s| s.expires - now > RENEW_BEFORE)
        .and_then(|s| dispatcher.credentials().lookup(&s.access_key_id));
    let credential = match credential {
        Some(c) => c,
        None => {
            let session = assume(dispatcher, trail_arn, role_arn, account, region).await?;
            let credential =
                dispatcher.credentials().lookup(&session.access_key_id).ok_or_else(|| {
                    AwsError::internal("STS returned credentials that do not resolve")
                })?;
            sessions().lock().unwrap_or_else(|e| e.into_inner()).insert(key, session);
            credential
        }
    };
    let mut ctx = Context::internal(
        dispatcher.clone(),
        credential.principal,
        account.clone(),
        region.clone(),
    );
    ctx.invoked_by = Some(PRINCIPAL.to_owned());
    ctx.source_ip = PRINCIPAL.to_owned();
    ctx.user_agent = PRINCIPAL.to_owned();
    Ok(ctx)
}

async fn assume(
    dispatcher: &Arc<Dispatcher>,
    trail_arn: &str,
    role_arn: &str,
    account: &AccountId,
    region: &Region,
) -> Result<Session, AwsError> {
    let out = dispatcher
        .call_as_service_from(
            PRINCIPAL,
            trail_arn,
            account.clone(),
            region.clone(),
            "sts",
            "AssumeRole",
            json!({"RoleArn": role_arn, "RoleSessionName": SESSION_NAME}),
        )
        .await?;
    let creds = &out["Credentials"];
    let access_key_id = creds["AccessKeyId"].as_str().unwrap_or_default().to_owned();
    let expires = creds["Expiration"]
        .as_f64()
        .and_then(|s| DateTime::from_timestamp_millis((s * 1000.0) as i64))
        .unwrap_or_else(|| dispatcher.clock().now() + TimeDelta::minutes(15));
    tracing::debug!(
        trail = trail_arn,
        role = role_arn,
        "CloudTrail assumed the CloudWatch Logs role"
    );
    Ok(Session { access_key_id, expires })
}
