//! Unit tests per operation family, through the dispatcher with the policy authorizer.

use std::sync::Arc;

use mamori_aws::{AccountId, Region};
use mamori_service::{Context, Dispatcher, Principal, PrincipalKind, RealClock, RootCredentials};
use serde_json::{Value, json};

use crate::{Iam, access_denied};

const ACCT: &str = "111122223333";

fn setup() -> (Arc<Dispatcher>, Context) {
    let account = AccountId::parse(ACCT).unwrap();
    let creds = RootCredentials {
        access_key_id: "test".into(),
        secret: "test".into(),
        account: account.clone(),
    };
    let iam = Iam::new();
    let store = mamori_store::Store::in_memory().unwrap();
    let d =
        Dispatcher::new(vec![Arc::new(iam.clone())], Arc::new(creds), Arc::new(RealClock), store);
    d.set_authorizer(Arc::new(iam.authorizer()));
    let ctx = Context::internal(
        d.clone(),
        Principal::root(account.clone()),
        account,
        Region::parse("us-east-1").unwrap(),
    );
    (d, ctx)
}

fn as_user(ctx: &Context, name: &str) -> Context {
    let mut c = ctx.clone();
    c.principal = Principal {
        arn: format!("arn:aws:iam::{ACCT}:user/{name}"),
        account: ctx.account.clone(),
        user_id: "AIDAEXAMPLE".into(),
        kind: PrincipalKind::IamUser { name: name.into() },
        access_key_id: None,
        mfa: false,
    };
    c.source_ip = "203.0.113.9".into();
    c
}

async fn call(
    d: &Dispatcher,
    ctx: &Context,
    op: &str,
    input: Value,
) -> Result<Value, mamori_aws::AwsError> {
    d.call(ctx, "iam", op, input).await
}

fn doc(statements: Value) -> String {
    json!({"Version": "2012-10-17", "Statement": statements}).to_string()
}

#[tokio::test]
async fn users_and_errors() {
    let (d, root) = setup();
    let u =
        call(&d, &root, "CreateUser", json!({"UserName": "alice", "Path": "/a/"})).await.unwrap();
    assert_eq!(u["User"]["Arn"], format!("arn:aws:iam::{ACCT}:user/a/alice"));
    let dup = call(&d, &root, "CreateUser", json!({"UserName": "alice"})).await.unwrap_err();
    assert_eq!(dup.code, "EntityAlreadyExistsException");
    let missing = call(&d, &root, "GetUser", json!({"UserName": "bob"})).await.unwrap_err();
    assert_eq!(
        (missing.code.as_str(), missing.message.as_str()),
        ("NoSuchEntityException", "The user with name bob cannot be found.")
    );
    let bad = call(&d, &root, "CreateUser", json!({"UserName": "a b"})).await.unwrap_err();
    assert_eq!(bad.code, "ValidationError");
    let list = call(&d, &root, "ListUsers", json!({"PathPrefix": "/a/"})).await.unwrap();
    assert_eq!(list["Users"].as_array().unwrap().len(), 1);
    assert_eq!(list["IsTruncated"], false);
}

#[tokio::test]
async fn policy_versions_limit_and_conflicts() {
    let (d, root) = setup();
    let p = call(&d, &root, "CreatePolicy", json!({"PolicyName": "p", "PolicyDocument": doc(json!([{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]))})).await.unwrap();
    let arn = p["Policy"]["Arn"].as_str().unwrap().to_owned();
    for _ in 2..=5 {
        call(&d, &root, "CreatePolicyVersion", json!({"PolicyArn": arn, "PolicyDocument": doc(json!([{"Effect": "Allow", "Action": "s3:Get*", "Resource": "*"}]))})).await.unwrap();
    }
    let six = call(&d, &root, "CreatePolicyVersion", json!({"PolicyArn": arn, "PolicyDocument": doc(json!([{"Effect": "Allow", "Action": "s3:Get*", "Resource": "*"}]))})).await.unwrap_err();
    assert_eq!(six.code, "LimitExceededException");
    call(&d, &root, "CreateUser", json!({"UserName": "u"})).await.unwrap();
    call(&d, &root, "AttachUserPolicy", json!({"UserName": "u", "PolicyArn": arn})).await.unwrap();
    let conflict = call(&d, &root, "DeletePolicy", json!({"PolicyArn": arn})).await.unwrap_err();
    assert_eq!(conflict.code, "DeleteConflictException");
    let missing = call(
        &d,
        &root,
        "AttachUserPolicy",
        json!({"UserName": "u", "PolicyArn": "arn:aws:iam::aws:policy/Nope"}),
    )
    .await
    .unwrap_err();
    assert_eq!(missing.code, "NoSuchEntityException");
}

#[tokio::test]
async fn inline_quotas_and_malformed() {
    let (d, root) = setup();
    call(&d, &root, "CreateUser", json!({"UserName": "u"})).await.unwrap();
    let big: Vec<Value> = (0..100).map(|n| json!({"Effect": "Allow", "Action": format!("s3:GetObject{n:04}"), "Resource": "*"})).collect();
    let err = call(
        &d,
        &root,
        "PutUserPolicy",
        json!({"UserName": "u", "PolicyName": "p", "PolicyDocument": doc(json!(big))}),
    )
    .await
    .unwrap_err();
    assert_eq!(err.code, "LimitExceededException");
    // The same document fits a role (10,240).
    call(&d, &root, "CreateRole", json!({"RoleName": "r", "AssumeRolePolicyDocument": doc(json!([{"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}]))})).await.unwrap();
    call(
        &d,
        &root,
        "PutRolePolicy",
        json!({"RoleName": "r", "PolicyName": "p", "PolicyDocument": doc(json!(big))}),
    )
    .await
    .unwrap();
    let bad = call(
        &d,
        &root,
        "PutUserPolicy",
        json!({"UserName": "u", "PolicyName": "p", "PolicyDocument": "{"}),
    )
    .await
    .unwrap_err();
    assert_eq!(
        (bad.code.as_str(), bad.message.as_str()),
        ("MalformedPolicyDocumentException", "Syntax errors in policy.")
    );
}

#[tokio::test]
async fn enforcement_follows_writes() {
    let (d, root) = setup();
    call(&d, &root, "CreateUser", json!({"UserName": "alice"})).await.unwrap();
    let alice = as_user(&root, "alice");
    let denied = call(&d, &alice, "ListUsers", json!({})).await.unwrap_err();
    assert_eq!((denied.code.as_str(), denied.status), ("AccessDenied", Some(403)));
    assert_eq!(
        denied.message,
        format!(
            "User: arn:aws:iam::{ACCT}:user/alice is not authorized to perform: iam:ListUsers on resource: arn:aws:iam::{ACCT}:user/ because no identity-based policy allows the iam:ListUsers action"
        )
    );
    call(&d, &root, "PutUserPolicy", json!({"UserName": "alice", "PolicyName": "p", "PolicyDocument": doc(json!([
        {"Effect": "Allow", "Action": "iam:List*", "Resource": "*"},
        {"Effect": "Deny", "Action": "iam:ListRoles", "Resource": "*", "Condition": {"IpAddress": {"aws:SourceIp": "203.0.113.0/24"}}}
    ]))})).await.unwrap();
    call(&d, &alice, "ListUsers", json!({})).await.unwrap();
    let ip_deny = call(&d, &alice, "ListRoles", json!({})).await.unwrap_err();
    assert!(
        ip_deny.message.ends_with("with an explicit deny in an identity-based policy"),
        "{}",
        ip_deny.message
    );
    // A user's own key operations name the user as the resource.
    let sim = call(&d, &root, "SimulatePrincipalPolicy", json!({"PolicySourceArn": format!("arn:aws:iam::{ACCT}:user/alice"), "ActionNames": ["iam:ListUsers", "iam:CreateUser"]})).await.unwrap();
    let decisions: Vec<_> = sim["EvaluationResults"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["EvalDecision"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(decisions, ["allowed", "implicitDeny"]);
}

#[test]
fn access_denied_follows_the_protocol() {
    use mamori_policy::Reason;
    let q = access_denied(
        "sns",
        "arn:aws:iam::1:user/a",
        "sns:Publish",
        "arn:aws:sns:us-east-1:1:t",
        Reason::NoIdentityAllow,
    );
    assert_eq!(q.code.as_str(), "AuthorizationErrorException");
    let q = access_denied(
        "iam",
        "arn:aws:iam::1:user/a",
        "iam:GetUser",
        "arn:aws:iam::1:user/a",
        Reason::NoIdentityAllow,
    );
    assert_eq!((q.code.as_str(), q.status), ("AccessDenied", Some(403)));
    let j = access_denied(
        "logs",
        "arn:aws:iam::1:user/a",
        "logs:PutMetricFilter",
        "*",
        Reason::NoIdentityAllow,
    );
    assert_eq!(j.code, "AccessDeniedException");
    let t = access_denied(
        "sts",
        "arn:aws:iam::1:user/a",
        "sts:AssumeRole",
        "arn:aws:iam::1:role/r",
        Reason::ResourcePolicyRequired,
    );
    assert_eq!(
        t.message,
        "User: arn:aws:iam::1:user/a is not authorized to perform: sts:AssumeRole on resource: arn:aws:iam::1:role/r"
    );
}

/// Root's device: only the console (`Context::console`) creates, enables and deactivates
/// it; the API cannot, and lists show it assigned to the root user.
#[tokio::test]
async fn root_device_is_the_consoles() {
    use base64::Engine as _;
    use mamori_service::{base32_decode, root_serial, time_step, totp};
    let (d, ctx) = setup();
    let console = Context { console: true, ..ctx.clone() };
    let serial = root_serial(ACCT);
    let create = json!({"VirtualMFADeviceName": "root-account-mfa-device"});
    let api = call(&d, &ctx, "CreateVirtualMFADevice", create.clone()).await;
    assert_eq!(api.unwrap_err().code, "InvalidInputException");
    let other = json!({"VirtualMFADeviceName": "other"});
    let refused = call(&d, &console, "CreateVirtualMFADevice", other).await;
    assert_eq!(refused.unwrap_err().code, "InvalidInputException", "the console makes root's only");
    let out = call(&d, &console, "CreateVirtualMFADevice", create.clone()).await.unwrap();
    assert_eq!(out["VirtualMFADevice"]["SerialNumber"], serial);
    let b64 = base64::engine::general_purpose::STANDARD;
    let seed_text = b64.decode(out["VirtualMFADevice"]["Base32StringSeed"].as_str().unwrap());
    let seed = base32_decode(&String::from_utf8(seed_text.unwrap()).unwrap()).unwrap();
    let step = time_step(ctx.time);
    let codes = json!({"SerialNumber": serial, "AuthenticationCode1": totp(&seed, step - 1),
        "AuthenticationCode2": totp(&seed, step)});
    let api = call(&d, &ctx, "EnableMFADevice", codes.clone()).await;
    assert_eq!(api.unwrap_err().code, "ValidationError", "root needs the console");
    call(&d, &console, "EnableMFADevice", codes).await.unwrap();
    let again = call(&d, &console, "CreateVirtualMFADevice", create).await;
    assert_eq!(again.unwrap_err().code, "EntityAlreadyExistsException", "enabled: not replaced");
    let list = call(&d, &ctx, "ListVirtualMFADevices", json!({})).await.unwrap();
    let user = &list["VirtualMFADevices"][0]["User"];
    assert_eq!(user["Arn"], format!("arn:aws:iam::{ACCT}:root"));
    assert_eq!(user["UserId"], ACCT);
    let mine = call(&d, &ctx, "ListMFADevices", json!({})).await.unwrap();
    assert_eq!(mine["MFADevices"][0]["SerialNumber"], serial);
    let off = json!({"SerialNumber": serial});
    let api = call(&d, &ctx, "DeactivateMFADevice", off.clone()).await;
    assert_eq!(api.unwrap_err().code, "NoSuchEntityException");
    call(&d, &console, "DeactivateMFADevice", off.clone()).await.unwrap();
    call(&d, &console, "DeleteVirtualMFADevice", off).await.unwrap();
}
