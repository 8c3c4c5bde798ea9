//! Tests of the authorizer's resource-policy paths: service principals (with
//! `aws:SourceArn`/`aws:SourceAccount`), cross-account callers, anonymous callers and request
//! condition keys, following
//! <https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic-cross-account.html>.
//!
//! Two stand-in services named like SNS and S3 (so that denials take those models' error
//! shapes) hand the authorizer whatever resource policy the test set.

use std::sync::{Arc, Mutex};

use mamori_aws::{AccountId, AwsError, Region};
use mamori_service::{
    AuthzRequest, Context, Dispatcher, OpSpec, Principal, PrincipalKind, RealClock,
    RootCredentials, Service, async_trait,
};
use serde_json::{Value, json};

use crate::Iam;

const ACCT: &str = "111122223333";
const OTHER: &str = "444455556666";
const TOPIC: &str = "arn:aws:sns:us-east-1:111122223333:alarms";
const ALARM: &str = "arn:aws:cloudwatch:us-east-1:111122223333:alarm:high-cpu";

/// A service with one resource policy for every resource.
struct Fake {
    id: &'static str,
    policy: Mutex<Option<String>>,
}

#[async_trait]
impl Service for Fake {
    fn model_id(&self) -> &'static str {
        self.id
    }
    fn operations(&self) -> &'static [OpSpec] {
        &[
            OpSpec { name: "Publish", gaps: &[] },
            OpSpec { name: "PutObject", gaps: &[] },
            OpSpec { name: "GetBucketAcl", gaps: &[] },
            OpSpec { name: "HeadBucket", gaps: &[] },
        ]
    }
    fn authz(&self, _: &Context, op: &str, input: &Value) -> AuthzRequest {
        let arn = input["Arn"].as_str().unwrap_or("*").to_owned();
        let action = if op == "HeadBucket" { "ListBucket" } else { op };
        let mut req = AuthzRequest::new(format!("{}:{action}", self.id), vec![arn]);
        if let Some(owner) = input["Owner"].as_str() {
            req = req.owned_by(owner);
        }
        match input["Acl"].as_str() {
            Some(acl) => req.with_condition("s3:x-amz-acl", vec![acl.to_owned()]),
            None => req,
        }
    }
    fn resource_policy(&self, _: &Context, _: &str, _: &Value) -> Option<String> {
        self.policy.lock().unwrap().clone()
    }
    async fn call(&self, _: &Context, _: &str, _: Value) -> Result<Value, AwsError> {
        Ok(json!({}))
    }
}

struct World {
    d: Arc<Dispatcher>,
    sns: Arc<Fake>,
    s3: Arc<Fake>,
    root: Context,
}

fn setup() -> World {
    let account = AccountId::parse(ACCT).unwrap();
    let creds = RootCredentials {
        access_key_id: "test".into(),
        secret: "test".into(),
        account: account.clone(),
    };
    let iam = Iam::new();
    let sns = Arc::new(Fake { id: "sns", policy: Mutex::new(None) });
    let s3 = Arc::new(Fake { id: "s3", policy: Mutex::new(None) });
    let store = mamori_store::Store::in_memory().unwrap();
    let services: Vec<Arc<dyn Service>> = vec![Arc::new(iam.clone()), sns.clone(), s3.clone()];
    let d = Dispatcher::new(services, Arc::new(creds), Arc::new(RealClock), store);
    d.set_authorizer(Arc::new(iam.authorizer()));
    let root = Context::internal(
        d.clone(),
        Principal::root(account.clone()),
        account,
        Region::parse("us-east-1").unwrap(),
    );
    World { d, sns, s3, root }
}

fn doc(statements: Value) -> String {
    json!({"Version": "2012-10-17", "Statement": statements}).to_string()
}

/// The root user of `account`, or its IAM user `name`.
fn caller(w: &World, account: &str, user: Option<&str>) -> Context {
    let mut c = w.root.clone();
    let id = AccountId::parse(account).unwrap();
    c.principal = match user {
        None => Principal::root(id.clone()),
        Some(name) => Principal {
            arn: format!("arn:aws:iam::{account}:user/{name}"),
            account: id.clone(),
            user_id: format!("AIDA{name}"),
            kind: PrincipalKind::IamUser { name: name.into() },
            access_key_id: None,
            mfa: false,
        },
    };
    c.account = id;
    c
}

async fn publish(w: &World, ctx: &Context) -> Result<(), String> {
    w.d.call(ctx, "sns", "Publish", json!({"Arn": TOPIC})).await.map(|_| ()).map_err(|e| e.code)
}

async fn as_cloudwatch(w: &World, source: Option<&str>) -> Result<(), String> {
    let (acct, region) = (w.root.account.clone(), w.root.region.clone());
    let input = json!({"Arn": TOPIC});
    let (svc, principal) = ("sns", "cloudwatch.amazonaws.com");
    let res = match source {
        Some(arn) => {
            w.d.call_as_service_from(principal, arn, acct, region, svc, "Publish", input).await
        }
        None => w.d.call_as_service(principal, acct, region, svc, "Publish", input).await,
    };
    res.map(|_| ()).map_err(|e| e.code)
}

fn set(fake: &Fake, policy: Option<String>) {
    *fake.policy.lock().unwrap() = policy;
}

const DENIED: Result<(), String> = Err(String::new());

fn denied(res: Result<(), String>) -> Result<(), String> {
    res.map_err(|code| {
        assert_eq!(code, "AuthorizationErrorException");
        String::new()
    })
}

#[tokio::test]
async fn service_principals_need_the_resource_policy() {
    let w = setup();
    // No resource policy: a service in its own account is mamori itself.
    assert_eq!(as_cloudwatch(&w, None).await, Ok(()));
    // SNS's default policy: AWS '*' on the condition AWS:SourceOwner = the topic owner, which
    // only a call on behalf of a resource of that account carries.
    let default = doc(json!([{"Effect": "Allow", "Principal": {"AWS": "*"},
        "Action": ["SNS:Publish", "SNS:Subscribe"], "Resource": TOPIC,
        "Condition": {"StringEquals": {"AWS:SourceOwner": ACCT}}}]));
    set(&w.sns, Some(default));
    assert_eq!(as_cloudwatch(&w, Some(ALARM)).await, Ok(()));
    assert_eq!(denied(as_cloudwatch(&w, None).await), DENIED);
    let foreign_alarm = "arn:aws:cloudwatch:us-east-1:444455556666:alarm:x";
    assert_eq!(denied(as_cloudwatch(&w, Some(foreign_alarm)).await), DENIED);
    // The seed's SNSAlertTopicPolicy: AWS '*' and SNS:Publish, no condition.
    let seed = doc(json!([{"Effect": "Allow", "Principal": {"AWS": "*"}, "Resource": "*",
        "Action": "SNS:Publish"}]));
    set(&w.sns, Some(seed));
    assert_eq!(as_cloudwatch(&w, None).await, Ok(()));
    // A policy naming only the account does not let a service in.
    let account_only = doc(json!([{"Effect": "Allow",
        "Principal": {"AWS": format!("arn:aws:iam::{ACCT}:root")}, "Resource": "*",
        "Action": "SNS:Publish"}]));
    set(&w.sns, Some(account_only));
    assert_eq!(denied(as_cloudwatch(&w, Some(ALARM)).await), DENIED);
    // Naming the service, scoped by aws:SourceArn and aws:SourceAccount.
    let scoped = doc(json!([{"Effect": "Allow",
        "Principal": {"Service": "cloudwatch.amazonaws.com"}, "Resource": TOPIC,
        "Action": "sns:Publish", "Condition": {
            "ArnLike": {"aws:SourceArn": "arn:aws:cloudwatch:us-east-1:111122223333:alarm:high-*"},
            "StringEquals": {"aws:SourceAccount": ACCT}}}]));
    set(&w.sns, Some(scoped));
    assert_eq!(as_cloudwatch(&w, Some(ALARM)).await, Ok(()));
    let other_alarm = "arn:aws:cloudwatch:us-east-1:111122223333:alarm:low-disk";
    assert_eq!(denied(as_cloudwatch(&w, Some(other_alarm)).await), DENIED);
    assert_eq!(denied(as_cloudwatch(&w, None).await), DENIED);
    // A stored policy that does not parse allows nothing.
    set(&w.sns, Some("{".into()));
    assert_eq!(denied(as_cloudwatch(&w, Some(ALARM)).await), DENIED);
    assert_eq!(denied(publish(&w, &w.root).await), DENIED);
}

#[tokio::test]
async fn services_do_not_reach_other_accounts_without_a_policy() {
    let w = setup();
    let (acct, region) = (w.root.account.clone(), w.root.region.clone());
    let foreign = json!({"Arn": "arn:aws:sns:us-east-1:444455556666:theirs"});
    let res =
        w.d.call_as_service("cloudwatch.amazonaws.com", acct, region, "sns", "Publish", foreign)
            .await;
    assert_eq!(res.unwrap_err().code, "AuthorizationErrorException");
}

#[tokio::test]
async fn same_and_cross_account_callers() {
    let w = setup();
    let iam = |ctx: Context, op: &'static str, input: Value| {
        let d = w.d.clone();
        async move { d.call(&ctx, "iam", op, input).await.unwrap() }
    };
    let publisher = doc(json!([{"Effect": "Allow", "Action": "sns:Publish", "Resource": "*"}]));
    for (account, name) in [(ACCT, "bob"), (ACCT, "carol"), (OTHER, "eve"), (OTHER, "mallory")] {
        iam(caller(&w, account, None), "CreateUser", json!({"UserName": name})).await;
    }
    for (account, name) in [(ACCT, "bob"), (OTHER, "eve")] {
        let put = json!({"UserName": name, "PolicyName": "pub", "PolicyDocument": publisher});
        iam(caller(&w, account, None), "PutUserPolicy", put).await;
    }
    let (bob, carol) = (caller(&w, ACCT, Some("bob")), caller(&w, ACCT, Some("carol")));
    let (eve, mallory) = (caller(&w, OTHER, Some("eve")), caller(&w, OTHER, Some("mallory")));
    let other_root = caller(&w, OTHER, None);
    let default = doc(json!([{"Effect": "Allow", "Principal": {"AWS": "*"},
        "Action": "SNS:Publish", "Resource": TOPIC,
        "Condition": {"StringEquals": {"AWS:SourceOwner": ACCT}}}]));
    set(&w.sns, Some(default));
    let cases = [
        // caller      allowed   why
        (&w.root, true), // the owner's root user
        (&bob, true),    // same account, identity policy allows
        (&carol, false), // same account, nothing allows
        (&eve, false),   // cross-account: the default policy names nobody outside
        (&other_root, false),
    ];
    for (idx, (ctx, want)) in cases.into_iter().enumerate() {
        assert_eq!(publish(&w, ctx).await.is_ok(), want, "default policy, row {idx}");
    }
    // AddPermission's statement for the other account.
    let shared = doc(json!([{"Sid": "share", "Effect": "Allow",
        "Principal": {"AWS": format!("arn:aws:iam::{OTHER}:root")}, "Action": "SNS:Publish",
        "Resource": TOPIC}]));
    set(&w.sns, Some(shared));
    let cases = [
        (&eve, true),        // both sides allow
        (&mallory, false),   // the resource policy names her account, her own policies do not
        (&other_root, true), // the other account's root
        (&carol, false),     // naming another account grants nothing here
    ];
    for (idx, (ctx, want)) in cases.into_iter().enumerate() {
        assert_eq!(publish(&w, ctx).await.is_ok(), want, "shared policy, row {idx}");
    }
    // Naming a same-account user directly is enough, without identity policies; an explicit
    // deny in the resource policy stops even the owner's root user.
    let named = doc(json!([
        {"Effect": "Allow", "Principal": {"AWS": format!("arn:aws:iam::{ACCT}:user/carol")},
         "Action": "sns:Publish", "Resource": TOPIC},
        {"Effect": "Deny", "Principal": {"AWS": "*"}, "Action": "sns:Publish", "Resource": TOPIC,
         "Condition": {"StringEquals": {"aws:PrincipalType": "Account"}}}]));
    set(&w.sns, Some(named));
    assert_eq!(publish(&w, &carol).await, Ok(()));
    let err = w.d.call(&w.root, "sns", "Publish", json!({"Arn": TOPIC})).await.unwrap_err();
    assert_eq!(err.code, "AuthorizationErrorException");
    assert!(err.message.ends_with("with an explicit deny in a resource-based policy"), "{err:?}");
    // Without a resource policy, another account's resource stays out of reach.
    set(&w.sns, None);
    assert_eq!(denied(publish(&w, &eve).await), DENIED);
    assert_eq!(denied(publish(&w, &other_root).await), DENIED);
    assert_eq!(publish(&w, &bob).await, Ok(()));
}

#[tokio::test]
async fn anonymous_callers_get_what_the_policy_grants_everyone() {
    let w = setup();
    let mut anon = w.root.clone();
    anon.principal = Principal {
        arn: "anonymous".into(),
        account: w.root.account.clone(),
        user_id: "anonymous".into(),
        kind: PrincipalKind::Anonymous,
        access_key_id: None,
        mfa: false,
    };
    assert!(publish(&w, &anon).await.is_err());
    let public = doc(json!([{"Effect": "Allow", "Principal": "*", "Action": "sns:Publish",
        "Resource": TOPIC}]));
    set(&w.sns, Some(public));
    assert_eq!(publish(&w, &anon).await, Ok(()));
    let account_only = doc(json!([{"Effect": "Allow", "Principal": {"AWS": ACCT},
        "Action": "sns:Publish", "Resource": TOPIC}]));
    set(&w.sns, Some(account_only));
    assert_eq!(denied(publish(&w, &anon).await), DENIED);
}

/// The seed's CloudTrail bucket policy admits `cloudtrail.amazonaws.com` to write log files
/// only with the ACL `bucket-owner-full-control`, which the request supplies as the condition
/// key `s3:x-amz-acl` (`AuthzRequest::with_condition`).
#[tokio::test]
async fn cloudtrail_bucket_policy_and_request_condition_keys() {
    let w = setup();
    let bucket = "arn:aws:s3:::trail-bucket";
    let policy = doc(json!([
        {"Effect": "Allow", "Principal": {"Service": "cloudtrail.amazonaws.com"},
         "Action": ["s3:GetBucketAcl"], "Resource": [bucket]},
        {"Effect": "Allow", "Principal": {"Service": "cloudtrail.amazonaws.com"},
         "Action": ["s3:PutObject"], "Resource": [format!("{bucket}/AWSLogs/{ACCT}/*")],
         "Condition": {"StringEquals": {"s3:x-amz-acl": "bucket-owner-full-control"}}}]));
    set(&w.s3, Some(policy));
    let key = format!("{bucket}/AWSLogs/{ACCT}/CloudTrail/us-east-1/x.json.gz");
    let cases = [
        // operation     resource        acl                               allowed
        ("PutObject", key.as_str(), Some("bucket-owner-full-control"), true),
        ("PutObject", key.as_str(), Some("private"), false),
        ("PutObject", key.as_str(), None, false),
        (
            "PutObject",
            "arn:aws:s3:::trail-bucket/AWSLogs/444455556666/x",
            Some("bucket-owner-full-control"),
            false,
        ),
        ("GetBucketAcl", bucket, None, true),
        ("HeadBucket", bucket, None, false),
    ];
    let (acct, region) = (w.root.account.clone(), w.root.region.clone());
    for (idx, (op, arn, acl, want)) in cases.into_iter().enumerate() {
        let mut input = json!({"Arn": arn});
        if let Some(acl) = acl {
            input["Acl"] = json!(acl);
        }
        let res =
            w.d.call_as_service(
                "cloudtrail.amazonaws.com",
                acct.clone(),
                region.clone(),
                "s3",
                op,
                input,
            )
            .await;
        match res {
            Ok(_) => assert!(want, "row {idx}: allowed"),
            Err(e) => {
                assert!(!want, "row {idx}: {e:?}");
                assert_eq!(e.code, "AccessDenied", "row {idx}");
            }
        }
    }
    // The owner's root user is not limited by a policy that does not mention it.
    w.d.call(&w.root, "s3", "PutObject", json!({"Arn": key})).await.unwrap();
}

/// S3 bucket ARNs name no account: the service says who owns the bucket
/// (`AuthzRequest::owned_by`), and another account's root needs the bucket policy.
#[tokio::test]
async fn services_name_the_owner_of_account_less_arns() {
    let w = setup();
    let other_root = caller(&w, OTHER, None);
    let put = |owner: Option<&str>| {
        let mut input = json!({"Arn": "arn:aws:s3:::shared/key"});
        if let Some(o) = owner {
            input["Owner"] = json!(o);
        }
        let (d, ctx) = (w.d.clone(), other_root.clone());
        async move { d.call(&ctx, "s3", "PutObject", input).await.map(|_| ()).map_err(|e| e.code) }
    };
    assert_eq!(put(Some(ACCT)).await, Err("AccessDenied".into()));
    // Without the owner the bucket is taken to be the caller's.
    assert_eq!(put(None).await, Ok(()));
    let grant =
        doc(json!([{"Effect": "Allow", "Principal": {"AWS": OTHER}, "Action": "s3:PutObject",
        "Resource": "arn:aws:s3:::shared/*"}]));
    set(&w.s3, Some(grant));
    assert_eq!(put(Some(ACCT)).await, Ok(()));
    assert_eq!(put(Some(OTHER)).await, Ok(()));
}

/// A service assuming a role is decided by the role's trust policy (CloudTrail and its
/// CloudWatch Logs role): trusted services only, and `aws:SourceArn` conditions apply.
#[tokio::test]
async fn services_assume_only_roles_that_trust_them() {
    let w = setup();
    let trust = doc(
        json!([{"Effect": "Allow", "Principal": {"Service": "cloudtrail.amazonaws.com"},
        "Action": "sts:AssumeRole",
        "Condition": {"StringEquals": {"aws:SourceArn": "arn:aws:cloudtrail:us-east-1:111122223333:trail/t"}}}]),
    );
    let input = json!({"RoleName": "logs", "AssumeRolePolicyDocument": trust});
    w.d.call(&w.root, "iam", "CreateRole", input).await.unwrap();
    let role = format!("arn:aws:iam::{ACCT}:role/logs");
    let assume = |service: &str, source: Option<&str>| {
        let mut ctx = w.root.clone();
        ctx.principal = Principal::service(service, w.root.account.clone());
        ctx.source_arn = source.map(str::to_owned);
        ctx.source_account = source.map(|_| ACCT.to_owned());
        let request = AuthzRequest::new("sts:AssumeRole", vec![role.clone()]);
        w.d.authorize_also(&ctx, "sts", &request, None, &json!({})).map_err(|e| e.code)
    };
    let trail = "arn:aws:cloudtrail:us-east-1:111122223333:trail/t";
    assert_eq!(assume("cloudtrail.amazonaws.com", Some(trail)), Ok(()));
    assert!(assume("cloudtrail.amazonaws.com", None).is_err(), "the SourceArn condition applies");
    assert!(
        assume(
            "cloudtrail.amazonaws.com",
            Some("arn:aws:cloudtrail:us-east-1:111122223333:trail/x")
        )
        .is_err()
    );
    assert!(assume("ec2.amazonaws.com", Some(trail)).is_err(), "not trusted");
    let missing =
        AuthzRequest::new("sts:AssumeRole", vec![format!("arn:aws:iam::{ACCT}:role/none")]);
    let mut ctx = w.root.clone();
    ctx.principal = Principal::service("cloudtrail.amazonaws.com", w.root.account.clone());
    assert!(w.d.authorize_also(&ctx, "sts", &missing, None, &json!({})).is_err(), "no such role");
}
