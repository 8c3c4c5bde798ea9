//! Benchmarks the metric-filter hot path of
//! <https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/MonitoringLogData.html>:
//! the 14 CIS 3.x filters as one compiled `FilterSet` over CloudTrail records,
//! the same filters one by one, a hand-written serde_json baseline, and a
//! plain term pattern over non-JSON lines.
//!
//! The corpus is generated deterministically here (no data files): records of
//! several services, 0.5-3 KB each, a few percent of them CIS hits.
//! Run with `cargo bench --bench filters -- --sample-count 20`.

use std::sync::LazyLock;

use divan::counter::{BytesCount, ItemsCount};
use divan::{Bencher, black_box};
use mamori_pattern::{FilterSet, MetricTransformation, Pattern};
use serde_json::{Value, json};

fn main() {
    divan::main();
}

const N_EVENTS: usize = 2_000;

const CIS: [&str; 14] = [
    r#"{($.errorCode="*UnauthorizedOperation") || ($.errorCode="AccessDenied*")}"#,
    r#"{($.eventName="ConsoleLogin") && ($.additionalEventData.MFAUsed !="Yes")}"#,
    r#"{$.userIdentity.type="Root" && $.userIdentity.invokedBy NOT EXISTS && $.eventType !="AwsServiceEvent"}"#,
    "{($.eventName=DeleteGroupPolicy) || ($.eventName=DeleteRolePolicy) || ($.eventName=DeleteUserPolicy) || ($.eventName=PutGroupPolicy) || ($.eventName=PutRolePolicy) || ($.eventName=PutUserPolicy) || ($.eventName=CreatePolicy) || ($.eventName=DeletePolicy) || ($.eventName=CreatePolicyVersion) || ($.eventName=DeletePolicyVersion) || ($.eventName=AttachRolePolicy) || ($.eventName=DetachRolePolicy) || ($.eventName=AttachUserPolicy) || ($.eventName=DetachUserPolicy) || ($.eventName=AttachGroupPolicy) || ($.eventName=DetachGroupPolicy)}",
    "{($.eventName=CreateTrail) || ($.eventName=UpdateTrail) || ($.eventName=DeleteTrail) || ($.eventName=StartLogging) || ($.eventName=StopLogging)}",
    r#"{($.eventName=ConsoleLogin) && ($.errorMessage="Failed authentication")}"#,
    "{($.eventSource=kms.amazonaws.com) && (($.eventName=DisableKey) || ($.eventName=ScheduleKeyDeletion))}",
    "{($.eventSource=s3.amazonaws.com) && (($.eventName=PutBucketAcl) || ($.eventName=PutBucketPolicy) || ($.eventName=PutBucketCors) || ($.eventName=PutBucketLifecycle) || ($.eventName=PutBucketReplication) || ($.eventName=DeleteBucketPolicy) || ($.eventName=DeleteBucketCors) || ($.eventName=DeleteBucketLifecycle) || ($.eventName=DeleteBucketReplication))}",
    "{($.eventSource=config.amazonaws.com) && (($.eventName=StopConfigurationRecorder) || ($.eventName=DeleteDeliveryChannel) || ($.eventName=PutDeliveryChannel) || ($.eventName=PutConfigurationRecorder))}",
    "{($.eventName=AuthorizeSecurityGroupIngress) || ($.eventName=AuthorizeSecurityGroupEgress) || ($.eventName=RevokeSecurityGroupIngress) || ($.eventName=RevokeSecurityGroupEgress) || ($.eventName=CreateSecurityGroup) || ($.eventName=DeleteSecurityGroup)}",
    "{($.eventName=CreateNetworkAcl) || ($.eventName=CreateNetworkAclEntry) || ($.eventName=DeleteNetworkAcl) || ($.eventName=DeleteNetworkAclEntry) || ($.eventName=ReplaceNetworkAclEntry) || ($.eventName=ReplaceNetworkAclAssociation)}",
    "{($.eventName=CreateCustomerGateway) || ($.eventName=DeleteCustomerGateway) || ($.eventName=AttachInternetGateway) || ($.eventName=CreateInternetGateway) || ($.eventName=DeleteInternetGateway) || ($.eventName=DetachInternetGateway)}",
    "{($.eventName=CreateRoute) || ($.eventName=CreateRouteTable) || ($.eventName=ReplaceRoute) || ($.eventName=ReplaceRouteTableAssociation) || ($.eventName=DeleteRouteTable) || ($.eventName=DeleteRoute) || ($.eventName=DisassociateRouteTable)}",
    "{($.eventName=CreateVpc) || ($.eventName=DeleteVpc) || ($.eventName=ModifyVpcAttribute) || ($.eventName=AcceptVpcPeeringConnection) || ($.eventName=CreateVpcPeeringConnection) || ($.eventName=DeleteVpcPeeringConnection) || ($.eventName=RejectVpcPeeringConnection) || ($.eventName=AttachClassicLinkVpc) || ($.eventName=DetachClassicLinkVpc) || ($.eventName=DisableVpcClassicLink) || ($.eventName=EnableVpcClassicLink)}",
];

/// A small deterministic generator (xorshift64*), so every run sees the same corpus.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }
}

const SERVICES: [(&str, &[&str]); 8] = [
    (
        "ec2.amazonaws.com",
        &[
            "DescribeInstances",
            "RunInstances",
            "CreateSecurityGroup",
            "DescribeVpcs",
            "CreateRoute",
            "DescribeSubnets",
        ],
    ),
    (
        "s3.amazonaws.com",
        &["GetObject", "PutObject", "ListObjects", "PutBucketPolicy", "HeadObject"],
    ),
    ("iam.amazonaws.com", &["GetUser", "ListRoles", "AttachRolePolicy", "GetRole", "ListPolicies"]),
    ("kms.amazonaws.com", &["Decrypt", "GenerateDataKey", "Encrypt", "ScheduleKeyDeletion"]),
    ("sts.amazonaws.com", &["AssumeRole", "GetCallerIdentity"]),
    ("cloudtrail.amazonaws.com", &["LookupEvents", "DescribeTrails", "StopLogging"]),
    (
        "config.amazonaws.com",
        &["DescribeConfigRules", "PutEvaluations", "StopConfigurationRecorder"],
    ),
    ("signin.amazonaws.com", &["ConsoleLogin"]),
];

fn cloudtrail_record(rng: &mut Rng) -> String {
    let (source, names) = SERVICES[rng.below(SERVICES.len())];
    let name = rng.pick(names);
    let root = rng.below(50) == 0;
    let identity = if root {
        json!({"type": "Root", "principalId": "123456789012", "arn": "arn:aws:iam::123456789012:root", "accountId": "123456789012"})
    } else {
        json!({
            "type": "AssumedRole",
            "principalId": format!("AROAEXAMPLE{:08}:session-{}", rng.below(1000), rng.below(100)),
            "arn": format!("arn:aws:sts::123456789012:assumed-role/app-role-{}/i-0{:016x}", rng.below(20), rng.next()),
            "accountId": "123456789012",
            "accessKeyId": format!("ASIA{:016X}", rng.next()),
            "sessionContext": {
                "sessionIssuer": {"type": "Role", "principalId": "AROAEXAMPLE", "arn": "arn:aws:iam::123456789012:role/app-role", "accountId": "123456789012", "userName": "app-role"},
                "attributes": {"creationDate": "2024-05-01T11:00:00Z", "mfaAuthenticated": "false"}
            },
            "invokedBy": if rng.below(10) == 0 { Value::from("ec2.amazonaws.com") } else { Value::Null }
        })
    };
    // Request parameters of varying size bring records to 0.5-3 KB.
    let n_params = rng.below(24);
    let params: serde_json::Map<String, Value> = (0..n_params)
        .map(|i| {
            (
                format!("param{i}"),
                Value::from(format!("value-{:x}-{}", rng.next(), "x".repeat(rng.below(40)))),
            )
        })
        .collect();
    let mut record = json!({
        "eventVersion": "1.08",
        "userIdentity": identity,
        "eventTime": format!("2024-05-01T12:{:02}:{:02}Z", rng.below(60), rng.below(60)),
        "eventSource": source,
        "eventName": name,
        "awsRegion": "us-east-1",
        "sourceIPAddress": format!("198.51.{}.{}", rng.below(256), rng.below(256)),
        "userAgent": "aws-sdk-go-v2/1.24.0 os/linux lang/go#1.21.5 md/GOOS#linux md/GOARCH#amd64 api/ec2#1.141.0",
        "requestParameters": params,
        "responseElements": null,
        "requestID": format!("{:016x}-{:08x}", rng.next(), rng.next() as u32),
        "eventID": format!("{:016x}-{:08x}", rng.next(), rng.next() as u32),
        "readOnly": name.starts_with("Describe") || name.starts_with("Get") || name.starts_with("List"),
        "eventType": if source == "signin.amazonaws.com" { "AwsConsoleSignIn" } else { "AwsApiCall" },
        "managementEvent": true,
        "recipientAccountId": "123456789012",
        "eventCategory": "Management",
        "tlsDetails": {"tlsVersion": "TLSv1.3", "cipherSuite": "TLS_AES_128_GCM_SHA256", "clientProvidedHostHeader": source}
    });
    if rng.below(25) == 0 {
        record["errorCode"] = Value::from(rng.pick(&[
            "AccessDenied",
            "Client.UnauthorizedOperation",
            "ThrottlingException",
        ]));
        record["errorMessage"] = Value::from("User is not authorized to perform this operation");
    }
    if name == "ConsoleLogin" {
        record["additionalEventData"] = json!({"LoginTo": "https://console.aws.amazon.com/console/home", "MobileVersion": "No", "MFAUsed": rng.pick(&["Yes", "No"])});
    }
    record.to_string()
}

static CORPUS: LazyLock<Vec<String>> = LazyLock::new(|| {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    (0..N_EVENTS).map(|_| cloudtrail_record(&mut rng)).collect()
});

static LINES: LazyLock<Vec<String>> = LazyLock::new(|| {
    let mut rng = Rng(42);
    let levels = ["INFO", "INFO", "INFO", "DEBUG", "WARN", "ERROR"];
    (0..N_EVENTS)
        .map(|i| {
            format!(
                "2024-05-01T12:00:{:02}.{:03}Z [{}] worker-{} request {:x} handled in {} ms path=/api/v1/items/{}",
                i % 60,
                rng.below(1000),
                rng.pick(&levels),
                rng.below(8),
                rng.next(),
                rng.below(500),
                rng.below(100_000)
            )
        })
        .collect()
});

fn cis_set() -> FilterSet {
    let mut set = FilterSet::new();
    for src in CIS {
        let pattern = Pattern::parse(src).expect("CIS pattern");
        set.add_metric_filter(&pattern, &MetricTransformation::new("1")).expect("transformation");
    }
    set
}

fn total_bytes(corpus: &[String]) -> usize {
    corpus.iter().map(String::len).sum()
}

/// The 14 CIS filters compiled into one set; one pass over each event.
#[divan::bench]
fn cis_filter_set(bencher: Bencher) {
    let set = cis_set();
    let corpus = &*CORPUS;
    let mut out = Vec::new();
    bencher
        .counter(ItemsCount::new(corpus.len()))
        .counter(BytesCount::new(total_bytes(corpus)))
        .bench_local(|| {
            let mut hits = 0;
            for event in corpus {
                out.clear();
                set.evaluate_into(black_box(event), &mut out);
                hits += out.len();
            }
            hits
        });
}

/// The same 14 patterns run one by one (each reads the event itself).
#[divan::bench]
fn cis_patterns_one_by_one(bencher: Bencher) {
    let patterns: Vec<Pattern> =
        CIS.iter().map(|s| Pattern::parse(s).expect("CIS pattern")).collect();
    let corpus = &*CORPUS;
    bencher
        .counter(ItemsCount::new(corpus.len()))
        .counter(BytesCount::new(total_bytes(corpus)))
        .bench_local(|| {
            let mut hits = 0;
            for event in corpus {
                hits += patterns.iter().filter(|p| p.matches(black_box(event))).count();
            }
            hits
        });
}

/// Baseline: parse each event once into `serde_json::Value` and check the CIS
/// fields by hand.
#[divan::bench]
fn baseline_serde_value_by_hand(bencher: Bencher) {
    let corpus = &*CORPUS;
    bencher
        .counter(ItemsCount::new(corpus.len()))
        .counter(BytesCount::new(total_bytes(corpus)))
        .bench_local(|| corpus.iter().map(|e| cis_by_hand(black_box(e))).sum::<usize>());
}

/// A plain term pattern over non-JSON application log lines.
#[divan::bench]
fn term_pattern_plain_lines(bencher: Bencher) {
    let pattern = Pattern::parse("ERROR").expect("pattern");
    let lines = &*LINES;
    bencher
        .counter(ItemsCount::new(lines.len()))
        .counter(BytesCount::new(total_bytes(lines)))
        .bench_local(|| lines.iter().filter(|l| pattern.matches(black_box(l))).count());
}

fn cis_by_hand(event: &str) -> usize {
    let Ok(v) = serde_json::from_str::<Value>(event) else { return 0 };
    let s = |p: &str| v.pointer(p).and_then(Value::as_str);
    let name = s("/eventName");
    let source = s("/eventSource");
    let name_in = |list: &[&str]| name.is_some_and(|n| list.contains(&n));
    let checks = [
        s("/errorCode")
            .is_some_and(|c| c.ends_with("UnauthorizedOperation") || c.starts_with("AccessDenied")),
        name == Some("ConsoleLogin")
            && s("/additionalEventData/MFAUsed").is_some_and(|m| m != "Yes"),
        s("/userIdentity/type") == Some("Root")
            && v.pointer("/userIdentity/invokedBy").is_none()
            && s("/eventType").is_some_and(|t| t != "AwsServiceEvent"),
        name_in(&[
            "DeleteGroupPolicy",
            "DeleteRolePolicy",
            "DeleteUserPolicy",
            "PutGroupPolicy",
            "PutRolePolicy",
            "PutUserPolicy",
            "CreatePolicy",
            "DeletePolicy",
            "CreatePolicyVersion",
            "DeletePolicyVersion",
            "AttachRolePolicy",
            "DetachRolePolicy",
            "AttachUserPolicy",
            "DetachUserPolicy",
            "AttachGroupPolicy",
            "DetachGroupPolicy",
        ]),
        name_in(&["CreateTrail", "UpdateTrail", "DeleteTrail", "StartLogging", "StopLogging"]),
        name == Some("ConsoleLogin") && s("/errorMessage") == Some("Failed authentication"),
        source == Some("kms.amazonaws.com") && name_in(&["DisableKey", "ScheduleKeyDeletion"]),
        source == Some("s3.amazonaws.com")
            && name_in(&[
                "PutBucketAcl",
                "PutBucketPolicy",
                "PutBucketCors",
                "PutBucketLifecycle",
                "PutBucketReplication",
                "DeleteBucketPolicy",
                "DeleteBucketCors",
                "DeleteBucketLifecycle",
                "DeleteBucketReplication",
            ]),
        source == Some("config.amazonaws.com")
            && name_in(&[
                "StopConfigurationRecorder",
                "DeleteDeliveryChannel",
                "PutDeliveryChannel",
                "PutConfigurationRecorder",
            ]),
        name_in(&[
            "AuthorizeSecurityGroupIngress",
            "AuthorizeSecurityGroupEgress",
            "RevokeSecurityGroupIngress",
            "RevokeSecurityGroupEgress",
            "CreateSecurityGroup",
            "DeleteSecurityGroup",
        ]),
        name_in(&[
            "CreateNetworkAcl",
            "CreateNetworkAclEntry",
            "DeleteNetworkAcl",
            "DeleteNetworkAclEntry",
            "ReplaceNetworkAclEntry",
            "ReplaceNetworkAclAssociation",
        ]),
        name_in(&[
            "CreateCustomerGateway",
            "DeleteCustomerGateway",
            "AttachInternetGateway",
            "CreateInternetGateway",
            "DeleteInternetGateway",
            "DetachInternetGateway",
        ]),
        name_in(&[
            "CreateRoute",
            "CreateRouteTable",
            "ReplaceRoute",
            "ReplaceRouteTableAssociation",
            "DeleteRouteTable",
            "DeleteRoute",
            "DisassociateRouteTable",
        ]),
        name_in(&[
            "CreateVpc",
            "DeleteVpc",
            "ModifyVpcAttribute",
            "AcceptVpcPeeringConnection",
            "CreateVpcPeeringConnection",
            "DeleteVpcPeeringConnection",
            "RejectVpcPeeringConnection",
            "AttachClassicLinkVpc",
            "DetachClassicLinkVpc",
            "DisableVpcClassicLink",
            "EnableVpcClassicLink",
        ]),
    ];
    checks.iter().filter(|&&c| c).count()
}

/// Checks, once per run, that the engine and the baseline agree on the corpus
/// and that the records have the intended sizes.
#[divan::bench(sample_count = 1, sample_size = 1)]
fn corpus_sanity() {
    let set = cis_set();
    let corpus = &*CORPUS;
    let by_set: usize = corpus.iter().map(|e| set.evaluate(e).len()).sum();
    let by_hand: usize = corpus.iter().map(|e| cis_by_hand(e)).sum();
    assert_eq!(by_set, by_hand, "engine and baseline disagree");
    let (min, max) =
        corpus.iter().fold((usize::MAX, 0), |(lo, hi), e| (lo.min(e.len()), hi.max(e.len())));
    assert!(min >= 500 && max <= 3072, "record sizes {min}..{max}");
    assert!(by_set > 0);
}
