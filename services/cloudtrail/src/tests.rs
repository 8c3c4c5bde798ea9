//! Service tests: trails delivering to a stand-in S3 (an in-memory bucket with a
//! policy) through the dispatcher, under a manual clock, with no HTTP server.

use std::collections::BTreeMap;
use std::io::Read as _;
use std::sync::{Arc, Mutex};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use chrono::{DateTime, TimeDelta};
use mamori_aws::{AccountId, AwsError, Region};
use mamori_service::{
    AuthzRequest, Context, Dispatcher, ManualClock, OpSpec, Principal, RootCredentials, Service,
    SharedClock, async_trait,
};
use rsa::pkcs1::DecodeRsaPublicKey;
use rsa::pkcs1v15::{Signature, VerifyingKey};
use rsa::signature::Verifier;
use serde_json::{Value, json};
use sha2::Sha256;

use crate::digest::{sha256_hex, string_to_sign};

const ACCOUNT: &str = "111122223333";

/// Objects by key with their metadata, a bucket policy, and a switch to refuse writes.
#[derive(Default)]
struct FakeS3 {
    objects: Mutex<BTreeMap<String, (Vec<u8>, Value)>>,
    policy: Mutex<Option<String>>,
    refuse: Mutex<bool>,
}

#[async_trait]
impl Service for FakeS3 {
    fn model_id(&self) -> &'static str {
        "s3"
    }
    fn operations(&self) -> &'static [OpSpec] {
        &[OpSpec { name: "PutObject", gaps: &[] }, OpSpec { name: "GetBucketPolicy", gaps: &[] }]
    }
    fn authz(&self, _: &Context, op: &str, _: &Value) -> AuthzRequest {
        AuthzRequest::new(format!("s3:{op}"), vec!["*".into()])
    }
    async fn call(&self, _: &Context, op: &str, input: Value) -> Result<Value, AwsError> {
        match op {
            "GetBucketPolicy" if input["Bucket"] != "logs" => {
                Err(AwsError::new("NoSuchBucket", "The specified bucket does not exist"))
            }
            "GetBucketPolicy" => match self.policy.lock().unwrap().clone() {
                Some(p) => Ok(json!({"Policy": p})),
                None => {
                    Err(AwsError::new("NoSuchBucketPolicy", "The bucket policy does not exist"))
                }
            },
            _ if *self.refuse.lock().unwrap() => {
                Err(AwsError::new("AccessDenied", "Access Denied"))
            }
            _ => {
                assert_eq!(input["ACL"], "bucket-owner-full-control");
                let body = B64.decode(input["Body"].as_str().unwrap()).unwrap();
                let key = input["Key"].as_str().unwrap().to_owned();
                self.objects.lock().unwrap().insert(key, (body, input["Metadata"].clone()));
                Ok(json!({}))
            }
        }
    }
}

const POLICY: &str = r#"{"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Principal": {"Service": "cloudtrail.amazonaws.com"},
     "Action": "s3:GetBucketAcl", "Resource": "arn:aws:s3:::logs"},
    {"Effect": "Allow", "Principal": {"Service": "cloudtrail.amazonaws.com"},
     "Action": "s3:PutObject", "Resource": "arn:aws:s3:::logs/AWSLogs/111122223333/*",
     "Condition": {"StringEquals": {"s3:x-amz-acl": "bucket-owner-full-control"}}}]}"#;

struct World {
    d: Arc<Dispatcher>,
    ctx: Context,
    clock: Arc<ManualClock>,
    s3: Arc<FakeS3>,
}

impl World {
    fn new() -> Self {
        let account = AccountId::parse(ACCOUNT).unwrap();
        let creds = RootCredentials {
            access_key_id: "test".into(),
            secret: "test".into(),
            account: account.clone(),
        };
        let s3 = Arc::new(FakeS3::default());
        let start = DateTime::from_timestamp(1_800_000_000, 0).unwrap();
        let clock = Arc::new(ManualClock::new(start));
        let shared: SharedClock = clock.clone();
        let store = mamori_store::Store::in_memory().unwrap();
        let d = Dispatcher::new(
            vec![Arc::new(crate::CloudTrail), s3.clone()],
            Arc::new(creds),
            shared,
            store,
        );
        let shaper: crate::Shaper = Arc::new(|_, _, input, _| (input.clone(), Value::Null));
        let intervals = crate::Intervals { s3: TimeDelta::minutes(5), ..Default::default() };
        crate::install(&d, Some(shaper), intervals);
        let region = Region::parse("us-east-1").unwrap();
        let ctx = Context::internal(d.clone(), Principal::root(account.clone()), account, region);
        Self { d, ctx, clock, s3 }
    }

    async fn call(&self, op: &str, input: Value) -> Result<Value, AwsError> {
        let mut ctx = self.ctx.clone();
        ctx.time = self.d.clock().now();
        self.d.call(&ctx, "cloudtrail", op, input).await
    }

    async fn advance(&self, secs: i64) {
        let until = self.d.clock().now() + TimeDelta::seconds(secs);
        let shared: SharedClock = self.clock.clone();
        self.d.scheduler().advance_to(&shared, until).await;
    }

    fn objects(&self, part: &str) -> Vec<(String, Vec<u8>, Value)> {
        let objects = self.s3.objects.lock().unwrap();
        objects
            .iter()
            .filter(|(k, _)| k.contains(part))
            .map(|(k, (b, m))| (k.clone(), gunzip(b), m.clone()))
            .collect()
    }
}

fn gunzip(b: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(b).read_to_end(&mut out).unwrap();
    out
}

#[tokio::test]
async fn create_trail_checks_the_bucket_and_its_policy() {
    let w = World::new();
    let err =
        w.call("CreateTrail", json!({"Name": "trail1", "S3BucketName": "nope"})).await.unwrap_err();
    assert_eq!(err.code, "S3BucketDoesNotExistException");
    let err =
        w.call("CreateTrail", json!({"Name": "trail1", "S3BucketName": "logs"})).await.unwrap_err();
    assert_eq!(err.code, "InsufficientS3BucketPolicyException");
    *w.s3.policy.lock().unwrap() = Some(POLICY.into());
    // The policy covers AWSLogs/<account>/ only, not a prefix in front of it.
    let with_prefix = json!({"Name": "trail1", "S3BucketName": "logs", "S3KeyPrefix": "p"});
    let err = w.call("CreateTrail", with_prefix).await.unwrap_err();
    assert_eq!(err.code, "InsufficientS3BucketPolicyException");
    w.call("CreateTrail", json!({"Name": "trail1", "S3BucketName": "logs"})).await.unwrap();
}

#[tokio::test]
async fn log_files_and_a_verifiable_digest_chain_are_delivered() {
    let w = World::new();
    *w.s3.policy.lock().unwrap() = Some(POLICY.into());
    let trail = json!({"Name": "main", "S3BucketName": "logs", "EnableLogFileValidation": true});
    w.call("CreateTrail", trail).await.unwrap();
    w.call("StartLogging", json!({"Name": "main"})).await.unwrap();
    w.call("DescribeTrails", json!({})).await.unwrap();
    w.advance(300).await;
    let logs = w.objects("/CloudTrail/");
    assert_eq!(logs.len(), 1, "{:?}", logs.iter().map(|l| &l.0).collect::<Vec<_>>());
    let (key, body, _) = &logs[0];
    assert!(key.starts_with("AWSLogs/111122223333/CloudTrail/us-east-1/"), "{key}");
    let doc: Value = serde_json::from_slice(body).unwrap();
    let names: Vec<&str> = doc["Records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["eventName"].as_str().unwrap())
        .collect();
    assert!(names.contains(&"DescribeTrails"), "{names:?}");

    // A refused write is reported and retried.
    *w.s3.refuse.lock().unwrap() = true;
    w.call("GetTrail", json!({"Name": "main"})).await.unwrap();
    w.advance(300).await;
    let status = w.call("GetTrailStatus", json!({"Name": "main"})).await.unwrap();
    assert_eq!(status["LatestDeliveryError"], "AccessDenied");
    *w.s3.refuse.lock().unwrap() = false;
    w.advance(300).await;
    assert_eq!(w.objects("/CloudTrail/").len(), 2);
    let status = w.call("GetTrailStatus", json!({"Name": "main"})).await.unwrap();
    assert!(status["LatestDeliveryError"].is_null());
    assert!(status["LatestDeliveryTime"].is_number());

    // Two hours: two digests, the second linked to the first, both verifying.
    w.advance(7200).await;
    let digests = w.objects("/CloudTrail-Digest/");
    assert!(digests.len() >= 2, "{}", digests.len());
    let keys = w
        .call("ListPublicKeys", json!({"StartTime": 1_799_990_000, "EndTime": 1_800_090_000}))
        .await
        .unwrap();
    let key = &keys["PublicKeyList"][0];
    let der = B64.decode(key["Value"].as_str().unwrap()).unwrap();
    let public = VerifyingKey::<Sha256>::new(rsa::RsaPublicKey::from_pkcs1_der(&der).unwrap());
    let mut previous_sig: Option<String> = None;
    let mut listed = 0;
    for (k, body, meta) in &digests {
        let doc: Value = serde_json::from_slice(body).unwrap();
        assert_eq!(doc["digestS3Object"], k.as_str());
        assert_eq!(doc["digestPublicKeyFingerprint"], key["Fingerprint"]);
        assert_eq!(doc["previousDigestSignature"].as_str().map(str::to_owned), previous_sig);
        let text = string_to_sign(
            doc["digestEndTime"].as_str().unwrap(),
            "logs",
            k,
            &sha256_hex(body),
            previous_sig.as_deref(),
        );
        let sig = hex::decode(meta["signature"].as_str().unwrap()).unwrap();
        public.verify(text.as_bytes(), &Signature::try_from(sig.as_slice()).unwrap()).unwrap();
        assert_eq!(meta["signature-algorithm"], "SHA256withRSA");
        for f in doc["logFiles"].as_array().unwrap() {
            let (_, log, _) = &w.objects(f["s3Object"].as_str().unwrap())[0];
            assert_eq!(f["hashValue"].as_str().unwrap(), sha256_hex(log));
            listed += 1;
        }
        previous_sig = meta["signature"].as_str().map(str::to_owned);
    }
    assert_eq!(listed, w.objects("/CloudTrail/").len(), "every log file is in a digest");
    let status = w.call("GetTrailStatus", json!({"Name": "main"})).await.unwrap();
    assert!(status["LatestDigestDeliveryTime"].is_number());
}

#[tokio::test]
async fn a_stopped_trail_delivers_what_was_recorded_before_stop_logging() {
    let w = World::new();
    *w.s3.policy.lock().unwrap() = Some(POLICY.into());
    w.call("CreateTrail", json!({"Name": "main", "S3BucketName": "logs"})).await.unwrap();
    w.call("StartLogging", json!({"Name": "main"})).await.unwrap();
    w.call("DescribeTrails", json!({})).await.unwrap();
    w.call("StopLogging", json!({"Name": "main"})).await.unwrap();
    w.call("ListTrails", json!({})).await.unwrap();
    w.advance(300).await;
    let names: Vec<String> = w
        .objects("/CloudTrail/")
        .iter()
        .flat_map(|(_, body, _)| {
            let doc: Value = serde_json::from_slice(body).unwrap();
            doc["Records"].as_array().unwrap().clone()
        })
        .map(|r| r["eventName"].as_str().unwrap().to_owned())
        .collect();
    assert!(names.contains(&"DescribeTrails".to_owned()), "{names:?}");
    assert!(!names.contains(&"ListTrails".to_owned()), "{names:?}");
    w.advance(600).await;
    assert_eq!(w.objects("/CloudTrail/").len(), 1, "nothing after the final delivery");
}
