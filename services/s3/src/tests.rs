//! Service tests: handlers called through the dispatcher against an in-memory store, a
//! temporary body directory and a manual clock, with no HTTP server.

use std::sync::Arc;

use base64::Engine as _;
use mamori_aws::{AccountId, Region};
use mamori_policy::{AttachedPolicy, ContextValue, Policy, PolicyKind, PolicySet, evaluate};
use mamori_service::{Dispatcher, ManualClock, Principal, RootCredentials};
use serde_json::json;

use super::*;

const ACCOUNT: &str = "000000000000";
const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

struct Env {
    d: Arc<Dispatcher>,
    ctx: Context,
    s3: Arc<S3>,
    _dir: tempfile::TempDir,
}

fn setup() -> Env {
    let account = AccountId::parse(ACCOUNT).unwrap();
    let creds = RootCredentials {
        access_key_id: "test".into(),
        secret: "test".into(),
        account: account.clone(),
    };
    let store = mamori_store::Store::in_memory().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let s3 = Arc::new(S3::new(dir.path()).unwrap());
    let start = chrono::DateTime::from_timestamp(1_700_000_000, 0).unwrap();
    let clock = Arc::new(ManualClock::new(start));
    let d = Dispatcher::new(vec![s3.clone(), Arc::new(S3Control)], Arc::new(creds), clock, store);
    register_tasks(&d, s3.clone());
    let region = Region::parse("us-east-1").unwrap();
    let ctx = Context::internal(d.clone(), Principal::root(account.clone()), account, region);
    Env { d, ctx, s3, _dir: dir }
}

impl Env {
    async fn call(&self, op: &str, input: Value) -> Result<Value, AwsError> {
        self.d.call(&self.ctx, "s3", op, input).await
    }

    async fn ok(&self, op: &str, input: Value) -> Value {
        match self.call(op, input).await {
            Ok(v) => v,
            Err(e) => panic!("{op}: {} {}", e.code, e.message),
        }
    }

    async fn put(&self, bucket: &str, key: &str, body: &[u8]) -> Value {
        self.ok("PutObject", json!({"Bucket": bucket, "Key": key, "Body": B64.encode(body)})).await
    }

    async fn get(&self, bucket: &str, key: &str) -> Result<Vec<u8>, AwsError> {
        let out = self.call("GetObject", json!({"Bucket": bucket, "Key": key})).await?;
        Ok(B64.decode(out["Body"].as_str().unwrap_or_default()).unwrap())
    }
}

fn code(res: Result<impl std::fmt::Debug, AwsError>) -> String {
    res.expect_err("expected an error").code
}

#[tokio::test(flavor = "multi_thread")]
async fn objects_round_trip_with_etag_and_metadata() {
    let env = setup();
    env.ok("CreateBucket", json!({"Bucket": "bk1"})).await;
    let out = env
        .ok("PutObject", json!({"Bucket": "bk1", "Key": "a/b.txt", "Body": B64.encode("hello"), "Metadata": {"signature": "abc"}, "ContentType": "text/plain"}))
        .await;
    assert_eq!(out["ETag"], "\"5d41402abc4b2a76b9719d911017c592\"");
    let got = env.ok("GetObject", json!({"Bucket": "bk1", "Key": "a/b.txt"})).await;
    assert_eq!(got["Metadata"]["signature"], "abc");
    assert_eq!(got["ContentType"], "text/plain");
    assert_eq!(got["ContentLength"], 5);
    let ranged =
        env.ok("GetObject", json!({"Bucket": "bk1", "Key": "a/b.txt", "Range": "bytes=1-2"})).await;
    assert_eq!(B64.decode(ranged["Body"].as_str().unwrap()).unwrap(), b"el");
    assert_eq!(ranged["ContentRange"], "bytes 1-2/5");
    assert_eq!(
        code(env.call("GetObject", json!({"Bucket": "bk1", "Key": "nope"})).await),
        "NoSuchKey"
    );
    assert_eq!(
        code(env.call("GetObject", json!({"Bucket": "zz-none", "Key": "k"})).await),
        "NoSuchBucket"
    );
    assert_eq!(code(env.call("DeleteBucket", json!({"Bucket": "bk1"})).await), "BucketNotEmpty");
    env.ok("DeleteObject", json!({"Bucket": "bk1", "Key": "a/b.txt"})).await;
    assert_eq!(code(env.get("bk1", "a/b.txt").await), "NoSuchKey");
    env.ok("DeleteBucket", json!({"Bucket": "bk1"})).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn bodies_on_disk_are_not_plaintext() {
    let env = setup();
    env.ok("CreateBucket", json!({"Bucket": "enc"})).await;
    let secret = b"TOP-SECRET-PLAINTEXT-MARKER".repeat(100);
    env.put("enc", "k", &secret).await;
    let entry = crate::state::read(env.d.store(), |tx| {
        crate::state::OBJECTS.get(tx, "enc", "k").map_err(crate::state::db)
    })
    .unwrap()
    .unwrap();
    let blob = entry.versions[0].blob.clone().unwrap();
    let on_disk = std::fs::read(env.s3.blobs().path(&blob).unwrap()).unwrap();
    assert!(!on_disk.windows(12).any(|w| w == b"TOP-SECRET-P"));
    assert_eq!(env.get("enc", "k").await.unwrap(), secret);
}

#[tokio::test(flavor = "multi_thread")]
async fn versioning_and_delete_markers() {
    let env = setup();
    env.ok("CreateBucket", json!({"Bucket": "ver"})).await;
    env.ok(
        "PutBucketVersioning",
        json!({"Bucket": "ver", "VersioningConfiguration": {"Status": "Enabled"}}),
    )
    .await;
    let v1 = env.put("ver", "k", b"one").await["VersionId"].as_str().unwrap().to_owned();
    let v2 = env.put("ver", "k", b"two").await["VersionId"].as_str().unwrap().to_owned();
    assert_ne!(v1, v2);
    let del = env.ok("DeleteObject", json!({"Bucket": "ver", "Key": "k"})).await;
    assert_eq!(del["DeleteMarker"], true);
    assert_eq!(code(env.get("ver", "k").await), "NoSuchKey");
    let old = env.ok("GetObject", json!({"Bucket": "ver", "Key": "k", "VersionId": v1})).await;
    assert_eq!(B64.decode(old["Body"].as_str().unwrap()).unwrap(), b"one");
    let list = env.ok("ListObjectVersions", json!({"Bucket": "ver"})).await;
    assert_eq!(list["Versions"].as_array().unwrap().len(), 2);
    assert_eq!(list["DeleteMarkers"][0]["IsLatest"], true);
    let listed = env.ok("ListObjectsV2", json!({"Bucket": "ver"})).await;
    assert!(listed.get("Contents").is_none());
    // Removing the marker brings the object back.
    let marker = del["VersionId"].as_str().unwrap();
    env.ok("DeleteObject", json!({"Bucket": "ver", "Key": "k", "VersionId": marker})).await;
    assert_eq!(env.get("ver", "k").await.unwrap(), b"two");
}

#[tokio::test(flavor = "multi_thread")]
async fn listing_with_delimiter_and_pages() {
    let env = setup();
    env.ok("CreateBucket", json!({"Bucket": "lst"})).await;
    for k in ["a/1", "a/2", "b/1", "c", "d"] {
        env.put("lst", k, b"x").await;
    }
    let out = env.ok("ListObjectsV2", json!({"Bucket": "lst", "Delimiter": "/"})).await;
    let prefixes: Vec<&str> = out["CommonPrefixes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["Prefix"].as_str().unwrap())
        .collect();
    assert_eq!(prefixes, ["a/", "b/"]);
    assert_eq!(out["KeyCount"], 4);
    let mut keys = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let mut input = json!({"Bucket": "lst", "MaxKeys": 2, "Delimiter": "/"});
        if let Some(t) = &token {
            input["ContinuationToken"] = json!(t);
        }
        let page = env.ok("ListObjectsV2", input).await;
        for c in page["Contents"].as_array().into_iter().flatten() {
            keys.push(c["Key"].as_str().unwrap().to_owned());
        }
        for c in page["CommonPrefixes"].as_array().into_iter().flatten() {
            keys.push(c["Prefix"].as_str().unwrap().to_owned());
        }
        match page["NextContinuationToken"].as_str() {
            Some(t) => token = Some(t.to_owned()),
            None => break,
        }
    }
    assert_eq!(keys, ["a/", "b/", "c", "d"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn multipart_etag_and_size_rules() {
    let env = setup();
    env.ok("CreateBucket", json!({"Bucket": "mpb"})).await;
    let up = env.ok("CreateMultipartUpload", json!({"Bucket": "mpb", "Key": "big"})).await;
    let id = up["UploadId"].as_str().unwrap();
    let part1 = vec![b'a'; 5 * 1024 * 1024];
    let e1 = env.ok("UploadPart", json!({"Bucket": "mpb", "Key": "big", "UploadId": id, "PartNumber": 1, "Body": B64.encode(&part1)})).await;
    let e2 = env.ok("UploadPart", json!({"Bucket": "mpb", "Key": "big", "UploadId": id, "PartNumber": 2, "Body": B64.encode(b"tail")})).await;
    // Out of order is refused.
    let bad = json!({"Bucket": "mpb", "Key": "big", "UploadId": id, "MultipartUpload": {"Parts": [{"PartNumber": 2, "ETag": e2["ETag"]}, {"PartNumber": 1, "ETag": e1["ETag"]}]}});
    assert_eq!(code(env.call("CompleteMultipartUpload", bad).await), "InvalidPartOrder");
    let done = env
        .ok("CompleteMultipartUpload", json!({"Bucket": "mpb", "Key": "big", "UploadId": id, "MultipartUpload": {"Parts": [{"PartNumber": 1, "ETag": e1["ETag"]}, {"PartNumber": 2, "ETag": e2["ETag"]}]}}))
        .await;
    let mut md5s = Vec::new();
    md5s.extend_from_slice(&hex::decode(checksum::md5_hex(&part1)).unwrap());
    md5s.extend_from_slice(&hex::decode(checksum::md5_hex(b"tail")).unwrap());
    assert_eq!(done["ETag"], format!("\"{}-2\"", checksum::md5_hex(&md5s)));
    let body = env.get("mpb", "big").await.unwrap();
    assert_eq!(body.len(), part1.len() + 4);
    assert_eq!(
        code(env.call("ListParts", json!({"Bucket": "mpb", "Key": "big", "UploadId": id})).await),
        "NoSuchUpload"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn lifecycle_expires_on_the_clock() {
    let env = setup();
    env.ok("CreateBucket", json!({"Bucket": "lcb"})).await;
    env.put("lcb", "logs/old", b"x").await;
    env.put("lcb", "keep/old", b"x").await;
    let rules = json!({"Rules": [{"ID": "r", "Status": "Enabled", "Filter": {"Prefix": "logs/"}, "Expiration": {"Days": 1}}]});
    env.ok(
        "PutBucketLifecycleConfiguration",
        json!({"Bucket": "lcb", "LifecycleConfiguration": rules}),
    )
    .await;
    let now = env.d.clock().now();
    tasks::run_lifecycle(&env.d, &env.s3, now + chrono::TimeDelta::hours(12)).unwrap();
    assert!(env.get("lcb", "logs/old").await.is_ok());
    tasks::run_lifecycle(&env.d, &env.s3, now + chrono::TimeDelta::days(2)).unwrap();
    assert_eq!(code(env.get("lcb", "logs/old").await), "NoSuchKey");
    assert!(env.get("lcb", "keep/old").await.is_ok());
}

#[tokio::test(flavor = "multi_thread")]
async fn orphans_are_swept_at_start() {
    let env = setup();
    env.ok("CreateBucket", json!({"Bucket": "swb"})).await;
    env.put("swb", "kept", b"kept").await;
    // A body written without its metadata: what a crash before the commit leaves.
    let orphan = env.s3.blobs().put(b"orphan").unwrap();
    register_tasks(&env.d, env.s3.clone());
    assert!(!env.s3.blobs().path(&orphan.id).unwrap().exists());
    assert_eq!(env.get("swb", "kept").await.unwrap(), b"kept");
}

#[tokio::test(flavor = "multi_thread")]
async fn public_access_block_refuses_public_policy() {
    let env = setup();
    env.ok("CreateBucket", json!({"Bucket": "pab"})).await;
    let conf = json!({"BlockPublicAcls": true, "IgnorePublicAcls": true, "BlockPublicPolicy": true, "RestrictPublicBuckets": true});
    env.ok(
        "PutPublicAccessBlock",
        json!({"Bucket": "pab", "PublicAccessBlockConfiguration": conf}),
    )
    .await;
    let public = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::pab/*"}]}"#;
    assert_eq!(
        code(env.call("PutBucketPolicy", json!({"Bucket": "pab", "Policy": public})).await),
        "AccessDenied"
    );
    assert_eq!(
        code(env.call("GetBucketPolicy", json!({"Bucket": "pab"})).await),
        "NoSuchBucketPolicy"
    );
}

/// The seed's CloudTrail bucket policy, as CloudFormation renders it.
fn seed_policy(bucket: &str) -> String {
    json!({
        "Version": "2012-10-17",
        "Id": bucket,
        "Statement": [
            {"Effect": "Allow", "Principal": {"Service": "cloudtrail.amazonaws.com"}, "Action": ["s3:GetBucketAcl"], "Resource": [format!("arn:aws:s3:::{bucket}")]},
            {"Effect": "Allow", "Principal": {"Service": "cloudtrail.amazonaws.com"}, "Action": ["s3:PutObject"],
             "Resource": [format!("arn:aws:s3:::{bucket}/AWSLogs/{ACCOUNT}/*")],
             "Condition": {"StringEquals": {"s3:x-amz-acl": "bucket-owner-full-control"}}},
        ],
    })
    .to_string()
}

/// Evaluates the S3 authorization request of `op` under a bucket policy alone (no
/// identity policies), as the authorizer does for a principal of another account.
fn allowed_by_policy(
    policy: &str,
    principal: mamori_policy::Principal,
    op: &str,
    input: &Value,
) -> bool {
    let req = authz::request(op, input);
    let mut context = std::collections::BTreeMap::new();
    for (k, v) in &req.conditions {
        context.insert(k.clone(), ContextValue::from(v[0].as_str()));
    }
    let request =
        mamori_policy::Request { principal, action: req.action, resources: req.resources, context };
    let set = PolicySet {
        resource_policy: Some(AttachedPolicy {
            label: "bucket".into(),
            policy: Policy::parse(policy, PolicyKind::Resource).unwrap(),
        }),
        resource_account: Some(ACCOUNT.into()),
        ..PolicySet::default()
    };
    evaluate(&request, &set).effect == mamori_policy::DecisionEffect::Allow
}

fn service(name: &str) -> mamori_policy::Principal {
    mamori_policy::Principal {
        arn: name.into(),
        account: String::new(),
        kind: mamori_policy::PrincipalKind::Service,
        service_linked_role: false,
        canonical_user: None,
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn seed_cloudtrail_policy_admits_cloudtrail_only() {
    let env = setup();
    env.ok("CreateBucket", json!({"Bucket": "trail-bucket"})).await;
    let policy = seed_policy("trail-bucket");
    env.ok("PutBucketPolicy", json!({"Bucket": "trail-bucket", "Policy": policy})).await;
    let key = format!("AWSLogs/{ACCOUNT}/CloudTrail/us-east-1/2024/01/01/x.json.gz");
    let put = json!({"Bucket": "trail-bucket", "Key": key, "ACL": "bucket-owner-full-control"});
    let stored = Service::resource_policy(env.s3.as_ref(), &env.ctx, "PutObject", &put).unwrap();
    assert!(allowed_by_policy(&stored, service("cloudtrail.amazonaws.com"), "PutObject", &put));
    assert!(allowed_by_policy(
        &stored,
        service("cloudtrail.amazonaws.com"),
        "GetBucketAcl",
        &json!({"Bucket": "trail-bucket"})
    ));
    // Nothing broader: without the ACL, outside AWSLogs/<account>/, or another principal.
    let no_acl = json!({"Bucket": "trail-bucket", "Key": key});
    assert!(!allowed_by_policy(&stored, service("cloudtrail.amazonaws.com"), "PutObject", &no_acl));
    let elsewhere =
        json!({"Bucket": "trail-bucket", "Key": "other/x", "ACL": "bucket-owner-full-control"});
    assert!(!allowed_by_policy(
        &stored,
        service("cloudtrail.amazonaws.com"),
        "PutObject",
        &elsewhere
    ));
    assert!(!allowed_by_policy(&stored, service("config.amazonaws.com"), "PutObject", &put));
    assert!(!allowed_by_policy(&stored, service("cloudtrail.amazonaws.com"), "GetObject", &put));
    // And the delivery itself works through the dispatcher as the service principal.
    let account = AccountId::parse(ACCOUNT).unwrap();
    let region = Region::parse("us-east-1").unwrap();
    let mut input = put.clone();
    input["Body"] = json!(B64.encode(b"{\"Records\":[]}"));
    env.d
        .call_as_service("cloudtrail.amazonaws.com", account, region, "s3", "PutObject", input)
        .await
        .unwrap();
    assert_eq!(env.get("trail-bucket", &key).await.unwrap(), b"{\"Records\":[]}");
}

#[tokio::test(flavor = "multi_thread")]
async fn other_accounts_need_the_bucket_policy() {
    let env = setup();
    env.ok("CreateBucket", json!({"Bucket": "shared-b"})).await;
    env.put("shared-b", "in/a", b"a").await;
    let other = AccountId::parse("111122223333").unwrap();
    let region = Region::parse("us-east-1").unwrap();
    let ctx = Context::internal(env.d.clone(), Principal::root(other.clone()), other, region);
    let get = json!({"Bucket": "shared-b", "Key": "in/a"});
    assert_eq!(code(env.d.call(&ctx, "s3", "GetObject", get.clone()).await), "AccessDenied");
    // A policy that names someone else does not let this account in.
    let unrelated = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::444455556666:root"},"Action":"s3:GetObject","Resource":"arn:aws:s3:::shared-b/*"}]}"#;
    env.ok("PutBucketPolicy", json!({"Bucket": "shared-b", "Policy": unrelated})).await;
    assert_eq!(code(env.d.call(&ctx, "s3", "GetObject", get.clone()).await), "AccessDenied");
    let grant = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":"s3:GetObject","Resource":"arn:aws:s3:::shared-b/in/*"}]}"#;
    env.ok("PutBucketPolicy", json!({"Bucket": "shared-b", "Policy": grant})).await;
    let out = env.d.call(&ctx, "s3", "GetObject", get).await.unwrap();
    assert_eq!(B64.decode(out["Body"].as_str().unwrap()).unwrap(), b"a");
    let put = json!({"Bucket": "shared-b", "Key": "in/b", "Body": B64.encode(b"b")});
    assert_eq!(code(env.d.call(&ctx, "s3", "PutObject", put).await), "AccessDenied");
    assert_eq!(
        code(env.d.call(&ctx, "s3", "DeleteBucketPolicy", json!({"Bucket": "shared-b"})).await),
        "AccessDenied"
    );
}

/// MFA Delete with root's virtual device: codes at the manual clock, consumed once.
#[tokio::test(flavor = "multi_thread")]
async fn mfa_delete_needs_root_device_codes() {
    use mamori_service::{MFA_DEVICES, StoredMfaDevice, root_arn, root_serial, time_step, totp};
    let env = setup();
    let seed = b"12345678901234567890";
    let serial = root_serial(ACCOUNT);
    let now = env.ctx.time;
    let device = StoredMfaDevice {
        serial: serial.clone(),
        name: "root-account-mfa-device".into(),
        path: "/".into(),
        seed: mamori_service::base32_encode(seed),
        created: now,
        user: Some((root_arn(ACCOUNT), now)),
        last_step: 0,
        tags: Vec::new(),
    };
    env.d.store().write(|tx| MFA_DEVICES.put(tx, ACCOUNT, &serial, &device)).unwrap();
    let code_now = || totp(seed, time_step(env.d.clock().now()));
    env.ok("CreateBucket", json!({"Bucket": "mfa"})).await;
    let enable = |mfa: Option<String>| {
        let mut input = json!({"Bucket": "mfa", "VersioningConfiguration": {"Status": "Enabled", "MFADelete": "Enabled"}});
        if let Some(m) = mfa {
            input["MFA"] = json!(m);
        }
        input
    };
    let cases = [
        (None, "AccessDenied"),
        (Some("garbage".to_owned()), "InvalidArgument"),
        (Some(format!("{serial} 000000")), "AccessDenied"),
        (Some(format!("arn:aws:iam::{ACCOUNT}:mfa/other {}", code_now())), "AccessDenied"),
    ];
    for (mfa, want) in cases {
        let got = env.call("PutBucketVersioning", enable(mfa.clone())).await;
        assert_eq!(code(got), want, "{mfa:?}");
    }
    let good = format!("{serial} {}", code_now());
    env.ok("PutBucketVersioning", enable(Some(good.clone()))).await;
    let got = env.ok("GetBucketVersioning", json!({"Bucket": "mfa"})).await;
    assert_eq!(got, json!({"Status": "Enabled", "MFADelete": "Enabled"}));
    let v1 = env.put("mfa", "k", b"one").await["VersionId"].as_str().unwrap().to_owned();
    // A delete marker needs no code; a version delete does, and a code is good once.
    env.ok("DeleteObject", json!({"Bucket": "mfa", "Key": "k"})).await;
    let del = |mfa: &str| json!({"Bucket": "mfa", "Key": "k", "VersionId": v1, "MFA": mfa});
    let plain = json!({"Bucket": "mfa", "Key": "k", "VersionId": v1});
    assert_eq!(code(env.call("DeleteObject", plain).await), "AccessDenied");
    assert_eq!(code(env.call("DeleteObject", del(&good)).await), "AccessDenied", "reused code");
    env.d.clock().as_manual().unwrap().advance(chrono::TimeDelta::seconds(30));
    let fresh = format!("{serial} {}", code_now());
    let later = Context { time: env.d.clock().now(), ..env.ctx.clone() };
    env.d.call(&later, "s3", "DeleteObject", del(&fresh)).await.unwrap();
    let list = env.ok("ListObjectVersions", json!({"Bucket": "mfa"})).await;
    assert!(list.get("Versions").is_none(), "{list}");
}

/// The account's block and the bucket's combine: the most restrictive wins.
#[tokio::test(flavor = "multi_thread")]
async fn account_public_access_block_applies_to_buckets() {
    let env = setup();
    let control = |op: &'static str, input: Value| {
        let mut input = input;
        input["AccountId"] = json!(ACCOUNT);
        env.d.call(&env.ctx, "s3control", op, input)
    };
    assert_eq!(
        code(control("GetPublicAccessBlock", json!({})).await),
        "NoSuchPublicAccessBlockConfiguration"
    );
    env.ok("CreateBucket", json!({"Bucket": "pab"})).await;
    let public =
        json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": "*",
        "Action": "s3:GetObject", "Resource": "arn:aws:s3:::pab/*"}]})
        .to_string();
    let conf = json!({"BlockPublicPolicy": true});
    control("PutPublicAccessBlock", json!({"PublicAccessBlockConfiguration": conf})).await.unwrap();
    let got = control("GetPublicAccessBlock", json!({})).await.unwrap();
    let full = json!({"BlockPublicAcls": false, "IgnorePublicAcls": false,
        "BlockPublicPolicy": true, "RestrictPublicBuckets": false});
    assert_eq!(got["PublicAccessBlockConfiguration"], full, "left-out settings are false");
    let put = env.call("PutBucketPolicy", json!({"Bucket": "pab", "Policy": public})).await;
    assert_eq!(code(put), "AccessDenied");
    assert_eq!(
        code(env.call("GetPublicAccessBlock", json!({"Bucket": "pab"})).await),
        "NoSuchPublicAccessBlockConfiguration",
        "the bucket's own block is still unset"
    );
    control("DeletePublicAccessBlock", json!({})).await.unwrap();
    env.ok("PutBucketPolicy", json!({"Bucket": "pab", "Policy": public})).await;
}
