//! AWS Security Token Service, following
//! <https://docs.aws.amazon.com/STS/latest/APIReference/welcome.html>.
//!
//! Temporary credentials are written to the framework's `ACCESS_KEYS` collection with their
//! session token, expiry and session policies, so SigV4 accepts them at once and refuses
//! them after `Expiration` (on the server's clock, manual or real). The role's trust policy
//! is checked by the authorization hook on `sts:AssumeRole` (the IAM authorizer evaluates
//! it with the caller's identity policies); STS reads the role through an internal
//! `iam:GetRole` call, as services never read each other's state.

use base64::Engine as _;
use chrono::TimeDelta;
use mamori_aws::{AccountId, AwsError};
use mamori_policy::{Policy, PolicyKind, non_whitespace_len};
use mamori_service::{
    ACCESS_KEY_PARTITION, ACCESS_KEYS, AuthzRequest, Context, MFA_DEVICES, OpSpec, PrincipalKind,
    Service, StoredAccessKey, StoredPrincipalKind, async_trait, parse_input, to_output,
};
use mamori_store::StoreError;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// The STS service.
#[derive(Debug, Default)]
pub struct Sts;

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct GetCallerIdentityResponse<'a> {
    user_id: &'a str,
    account: &'a str,
    arn: &'a str,
}

const OPS: &[OpSpec] = &[
    OpSpec { name: "GetCallerIdentity", gaps: &[] },
    OpSpec {
        name: "AssumeRole",
        gaps: &[
            "Tags, TransitiveTagKeys, SourceIdentity and ProvidedContexts are ignored",
            "SerialNumber/TokenCode: only virtual MFA devices of IAM users",
        ],
    },
    OpSpec {
        name: "GetSessionToken",
        gaps: &[
            "SerialNumber/TokenCode: only virtual MFA devices (of IAM users and the root user)",
        ],
    },
    OpSpec {
        name: "GetAccessKeyInfo",
        gaps: &["only keys mamori issued (and the root key) are known"],
    },
];

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct AssumeRoleInput {
    role_arn: String,
    role_session_name: String,
    policy: Option<String>,
    #[serde(default)]
    policy_arns: Vec<PolicyArn>,
    duration_seconds: Option<i64>,
    serial_number: Option<String>,
    token_code: Option<String>,
}

#[derive(Deserialize)]
struct PolicyArn {
    arn: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct SessionTokenInput {
    duration_seconds: Option<i64>,
    serial_number: Option<String>,
    token_code: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct AccessKeyInfoInput {
    access_key_id: String,
}

#[async_trait]
impl Service for Sts {
    fn model_id(&self) -> &'static str {
        "sts"
    }

    fn operations(&self) -> &'static [OpSpec] {
        OPS
    }

    fn authz(&self, _: &Context, operation: &str, input: &Value) -> AuthzRequest {
        let resource = match operation {
            "AssumeRole" => input.get("RoleArn").and_then(Value::as_str).unwrap_or("*"),
            _ => "*",
        };
        AuthzRequest::new(format!("sts:{operation}"), vec![resource.to_owned()])
    }

    async fn call(&self, ctx: &Context, operation: &str, input: Value) -> Result<Value, AwsError> {
        match operation {
            "GetCallerIdentity" => get_caller_identity(ctx),
            "AssumeRole" => assume_role(ctx, parse_input(input)?).await,
            "GetSessionToken" => get_session_token(ctx, parse_input(input)?),
            "GetAccessKeyInfo" => get_access_key_info(ctx, parse_input(input)?),
            other => Err(AwsError::not_implemented("sts", other)),
        }
    }
}

/// Implements `GetCallerIdentity`: the caller's user id, account and ARN.
fn get_caller_identity(ctx: &Context) -> Result<Value, AwsError> {
    let p = &ctx.principal;
    to_output(&GetCallerIdentityResponse {
        user_id: &p.user_id,
        account: p.account.as_str(),
        arn: &p.arn,
    })
}

fn db(e: StoreError) -> AwsError {
    AwsError::internal(e)
}

fn random_chars(n: usize, alphabet: &[u8]) -> String {
    let mut bytes = Vec::new();
    while bytes.len() < n {
        bytes.extend_from_slice(uuid::Uuid::new_v4().as_bytes());
    }
    bytes.iter().take(n).map(|b| alphabet[usize::from(*b) % alphabet.len()] as char).collect()
}

const UPPER32: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
const B64: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Writes temporary credentials and returns their `Credentials` structure.
fn issue(ctx: &Context, mut key: StoredAccessKey, duration: i64) -> Result<Value, AwsError> {
    let id = format!("ASIA{}", random_chars(16, UPPER32));
    let token = base64::engine::general_purpose::STANDARD.encode(format!(
        "mamori-session:{}:{}",
        id,
        random_chars(64, B64)
    ));
    let expires = ctx.time + TimeDelta::seconds(duration);
    key.secret = random_chars(40, B64);
    key.session_token = Some(token.clone());
    key.expires = Some(expires);
    ctx.dispatcher
        .store()
        .write(|tx| ACCESS_KEYS.put(tx, ACCESS_KEY_PARTITION, &id, &key))
        .map_err(db)?;
    tracing::info!(principal = %key.arn, key = %id, expires = %expires, "temporary credentials issued");
    Ok(json!({"AccessKeyId": id, "SecretAccessKey": key.secret, "SessionToken": token,
        "Expiration": expires.timestamp() as f64}))
}

fn validation(msg: impl Into<String>) -> AwsError {
    AwsError::new("ValidationError", msg).with_status(400)
}

fn malformed(e: mamori_policy::PolicyError) -> AwsError {
    AwsError::new("MalformedPolicyDocumentException", e.iam_message())
}

fn mfa_denied(msg: &str) -> AwsError {
    AwsError::new("AccessDenied", msg).with_status(403)
}

/// The MFA state of a new session: checks `serial`/`code` against the caller's enabled
/// virtual device at `ctx.time` (consuming the code), or carries over the caller's own.
fn session_mfa(
    ctx: &Context,
    serial: Option<&str>,
    code: Option<&str>,
) -> Result<(bool, Option<chrono::DateTime<chrono::Utc>>), AwsError> {
    let store = ctx.dispatcher.store();
    let (serial, code) = match (serial, code) {
        (None, None) => {
            // A session made from an MFA session keeps its MFA and the time it was checked.
            let own = match &ctx.principal.access_key_id {
                Some(k) if ctx.principal.mfa => {
                    store.read(|tx| ACCESS_KEYS.get(tx, ACCESS_KEY_PARTITION, k)).map_err(db)?
                }
                _ => None,
            };
            return Ok((ctx.principal.mfa, own.and_then(|k| k.mfa_time)));
        }
        (Some(s), Some(c)) => (s, c),
        _ => {
            return Err(mfa_denied(
                "MultiFactorAuthentication failed, must provide both MFA serial number and one time pass code.",
            ));
        }
    };
    let invalid =
        || mfa_denied("MultiFactorAuthentication failed with invalid MFA one time pass code. ");
    let user = match &ctx.principal.kind {
        PrincipalKind::IamUser { name } => name.clone(),
        // Root's device (created with `mamori iam root-mfa`) is enabled for root's ARN.
        PrincipalKind::Root => mamori_service::root_arn(ctx.principal.account.as_str()),
        // GAP: role sessions' own MFA devices are not modelled.
        _ => return Err(invalid()),
    };
    let acct = ctx.principal.account.as_str().to_owned();
    store
        .write(|tx| {
            let Some(mut device) = MFA_DEVICES.get(tx, &acct, serial)? else {
                return Ok(Err(invalid()));
            };
            let step = match &device.user {
                Some((u, _)) if *u == user => device.check(code, ctx.time),
                _ => None,
            };
            let Some(step) = step else { return Ok(Err(invalid())) };
            device.last_step = step;
            MFA_DEVICES.put(tx, &acct, serial, &device)?;
            Ok(Ok(()))
        })
        .map_err(db)??;
    tracing::info!(principal = %ctx.principal.arn, serial, "MFA code accepted");
    Ok((true, Some(ctx.time)))
}

/// Implements `AssumeRole`.
async fn assume_role(ctx: &Context, input: AssumeRoleInput) -> Result<Value, AwsError> {
    let session = &input.role_session_name;
    let ok_char = |c: char| c.is_ascii_alphanumeric() || "_+=,.@-".contains(c);
    if session.len() < 2 || session.len() > 64 || !session.chars().all(ok_char) {
        return Err(validation(format!(
            "1 validation error detected: Value '{session}' at 'roleSessionName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]*"
        )));
    }
    let rest = input.role_arn.strip_prefix("arn:aws:iam::").unwrap_or_default();
    let (account, path_name) = rest.split_once(":role/").unwrap_or_default();
    let (Some(account), Some(role_name)) =
        (AccountId::parse(account), path_name.rsplit('/').next())
    else {
        return Err(validation(format!("{} is invalid", input.role_arn)));
    };
    let role = ctx
        .dispatcher
        .call_as_service(
            "sts.amazonaws.com",
            account.clone(),
            ctx.region.clone(),
            "iam",
            "GetRole",
            json!({"RoleName": role_name}),
        )
        .await
        .map_err(|e| {
            if e.code.starts_with("NoSuchEntity") {
                // The authorizer already refuses a role it cannot find; this is a race.
                AwsError::new(
                    "AccessDenied",
                    format!(
                        "User: {} is not authorized to perform: sts:AssumeRole on resource: {}",
                        ctx.principal.arn, input.role_arn
                    ),
                )
                .with_status(403)
            } else {
                e
            }
        })?;
    let role = &role["Role"];
    let max = role["MaxSessionDuration"].as_i64().unwrap_or(3600);
    let duration = input.duration_seconds.unwrap_or(3600);
    if duration > max {
        return Err(validation(
            "The requested DurationSeconds exceeds the MaxSessionDuration set for this role.",
        ));
    }
    if !(900..=43200).contains(&duration) {
        return Err(validation(format!(
            "1 validation error detected: Value '{duration}' at 'durationSeconds' failed to satisfy constraint: Member must have value greater than or equal to 900"
        )));
    }
    let mut session_policies = Vec::new();
    let mut packed = 0;
    if let Some(doc) = &input.policy {
        Policy::parse(doc, PolicyKind::Session).map_err(malformed)?;
        packed += non_whitespace_len(doc);
        session_policies.push(doc.clone());
    }
    if input.policy_arns.len() > 10 {
        return Err(validation("PolicyArns may name at most 10 policies"));
    }
    for arn in input.policy_arns.iter().filter_map(|p| p.arn.as_deref()) {
        let doc = managed_document(ctx, &account, arn).await?;
        session_policies.push(doc);
        packed += arn.len();
    }
    if packed > 2048 {
        return Err(AwsError::new(
            "PackedPolicyTooLargeException",
            "Packed size of session policies exceeds the limit.",
        ));
    }
    let (mfa, mfa_time) =
        session_mfa(ctx, input.serial_number.as_deref(), input.token_code.as_deref())?;
    let role_id = role["RoleId"].as_str().unwrap_or_default();
    let actual_name = role["RoleName"].as_str().unwrap_or(role_name);
    let assumed_id = format!("{role_id}:{session}");
    let arn = format!("arn:aws:sts::{account}:assumed-role/{actual_name}/{session}");
    let key = StoredAccessKey {
        secret: String::new(),
        session_token: None,
        account: account.clone(),
        arn: arn.clone(),
        user_id: assumed_id.clone(),
        kind: StoredPrincipalKind::AssumedRole {
            role: actual_name.to_owned(),
            session: session.clone(),
        },
        active: true,
        expires: None,
        mfa,
        mfa_time,
        session_policies,
    };
    let credentials = issue(ctx, key, duration)?;
    let packed_pct = packed * 100 / 2048;
    Ok(json!({"Credentials": credentials, "PackedPolicySize": packed_pct,
        "AssumedRoleUser": {"AssumedRoleId": assumed_id, "Arn": arn}}))
}

/// The default version of the managed policy `arn`, through IAM.
async fn managed_document(
    ctx: &Context,
    account: &AccountId,
    arn: &str,
) -> Result<String, AwsError> {
    let iam = |op: &'static str, input: Value| {
        ctx.dispatcher.call_as_service(
            "sts.amazonaws.com",
            account.clone(),
            ctx.region.clone(),
            "iam",
            op,
            input,
        )
    };
    let policy = iam("GetPolicy", json!({"PolicyArn": arn})).await?;
    let version = policy["Policy"]["DefaultVersionId"].as_str().unwrap_or("v1").to_owned();
    let got = iam("GetPolicyVersion", json!({"PolicyArn": arn, "VersionId": version})).await?;
    let encoded = got["PolicyVersion"]["Document"].as_str().unwrap_or_default();
    let doc = percent_encoding::percent_decode_str(encoded).decode_utf8_lossy().into_owned();
    Ok(doc)
}

/// Implements `GetSessionToken`: temporary credentials with the caller's own permissions.
fn get_session_token(ctx: &Context, input: SessionTokenInput) -> Result<Value, AwsError> {
    let p = &ctx.principal;
    let (kind, max) = match &p.kind {
        PrincipalKind::Root => (StoredPrincipalKind::Root, 3600),
        PrincipalKind::IamUser { name } => {
            (StoredPrincipalKind::IamUser { name: name.clone() }, 129_600)
        }
        _ => {
            return Err(AwsError::new(
                "AccessDenied",
                "Cannot call GetSessionToken with session credentials",
            )
            .with_status(403));
        }
    };
    let duration = input.duration_seconds.unwrap_or(if max == 3600 { 3600 } else { 43_200 });
    if !(900..=max).contains(&duration) {
        return Err(validation(format!(
            "1 validation error detected: Value '{duration}' at 'durationSeconds' failed to satisfy constraint: Member must have value between 900 and {max}"
        )));
    }
    let (mfa, mfa_time) =
        session_mfa(ctx, input.serial_number.as_deref(), input.token_code.as_deref())?;
    let key = StoredAccessKey {
        secret: String::new(),
        session_token: None,
        account: p.account.clone(),
        arn: p.arn.clone(),
        user_id: p.user_id.clone(),
        kind,
        active: true,
        expires: None,
        mfa,
        mfa_time,
        session_policies: Vec::new(),
    };
    Ok(json!({"Credentials": issue(ctx, key, duration)?}))
}

/// Implements `GetAccessKeyInfo`: the account owning a key.
fn get_access_key_info(ctx: &Context, input: AccessKeyInfoInput) -> Result<Value, AwsError> {
    let id = &input.access_key_id;
    let stored = ctx
        .dispatcher
        .store()
        .read(|tx| ACCESS_KEYS.get(tx, ACCESS_KEY_PARTITION, id))
        .map_err(db)?;
    if let Some(k) = stored {
        return Ok(json!({"Account": k.account.as_str()}));
    }
    if let Some(c) = ctx.dispatcher.credentials().lookup(id) {
        return Ok(json!({"Account": c.principal.account.as_str()}));
    }
    // GAP: AWS decodes the account from any well-formed key id; mamori knows only its own.
    Err(validation(format!("The access key {id} is not known to this server.")))
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use mamori_aws::{AccountId, Region};
    use mamori_service::{Dispatcher, Principal, RealClock, RootCredentials};
    use serde_json::json;

    use super::*;

    #[tokio::test]
    async fn root_identity() {
        let account = AccountId::parse("000000000000").unwrap();
        let creds = RootCredentials {
            access_key_id: "test".into(),
            secret: "test".into(),
            account: account.clone(),
        };
        let store = mamori_store::Store::in_memory().unwrap();
        let d = Dispatcher::new(vec![Arc::new(Sts)], Arc::new(creds), Arc::new(RealClock), store);
        let region = Region::parse("us-east-1").unwrap();
        let ctx = Context::internal(d.clone(), Principal::root(account.clone()), account, region);
        let got = d.call(&ctx, "sts", "GetCallerIdentity", json!({})).await.unwrap();
        assert_eq!(
            got,
            json!({"UserId": "000000000000", "Account": "000000000000", "Arn": "arn:aws:iam::000000000000:root"})
        );
        let token = d.call(&ctx, "sts", "GetSessionToken", json!({})).await.unwrap();
        let id = token["Credentials"]["AccessKeyId"].as_str().unwrap().to_owned();
        assert!(id.starts_with("ASIA") && id.len() == 20, "{id}");
        assert_eq!(token["Credentials"]["SecretAccessKey"].as_str().unwrap().len(), 40);
        let cred = d.credentials().lookup(&id);
        assert!(cred.is_none(), "root-only credentials do not read the store");
        let info =
            d.call(&ctx, "sts", "GetAccessKeyInfo", json!({"AccessKeyId": id})).await.unwrap();
        assert_eq!(info, json!({"Account": "000000000000"}));
        let long = d.call(&ctx, "sts", "GetSessionToken", json!({"DurationSeconds": 7200})).await;
        assert_eq!(long.unwrap_err().code, "ValidationError");
    }
}
