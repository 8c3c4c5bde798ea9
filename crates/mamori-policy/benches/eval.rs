//! Per-request cost of IAM evaluation
//! (<https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html>):
//! a user with 10 attached policies of 10 statements each, an SCP and a resource policy.
//!
//! Run with `cargo bench --bench eval`; PERFORMANCE.md records the figures.

use divan::{Bencher, black_box};
use mamori_policy::*;

fn main() {
    divan::main();
}

const ACCOUNT: &str = "111122223333";
const SERVICES: [&str; 10] =
    ["s3", "ec2", "sqs", "sns", "dynamodb", "kms", "logs", "lambda", "iam", "rds"];

fn policy(kind: PolicyKind, statements: &[String]) -> Policy {
    let doc = format!(r#"{{"Version":"2012-10-17","Statement":[{}]}}"#, statements.join(","));
    Policy::parse(&doc, kind).expect("benchmark policy parses")
}

/// Ten policies of ten statements: each statement names two actions of one service, a resource
/// pattern, and every third one a condition.
fn policy_set() -> PolicySet {
    let identity = (0..10)
        .map(|p| {
            let statements: Vec<String> = (0..10)
                .map(|s| {
                    let svc = SERVICES[(p + s) % SERVICES.len()];
                    let effect = if s == 9 { "Deny" } else { "Allow" };
                    let condition = if s % 3 == 0 {
                        r#","Condition":{"StringEquals":{"aws:RequestedRegion":["eu-west-1","eu-central-1"]},"Bool":{"aws:SecureTransport":"true"}}"#
                    } else {
                        ""
                    };
                    format!(
                        r#"{{"Sid":"P{p}S{s}","Effect":"{effect}","Action":["{svc}:Get*","{svc}:List{p}*"],"Resource":"arn:aws:{svc}:*:{ACCOUNT}:thing{p}/*"{condition}}}"#
                    )
                })
                .collect();
            AttachedPolicy { label: format!("policy{p}"), policy: policy(PolicyKind::Identity, &statements) }
        })
        .collect();
    let scp = policy(
        PolicyKind::Scp,
        &[
            r#"{"Effect":"Allow","Action":"*","Resource":"*"}"#.to_owned(),
            r#"{"Effect":"Deny","Action":["organizations:LeaveOrganization","iam:CreateAccessKey"],"Resource":"*"}"#.to_owned(),
        ],
    );
    let resource = policy(
        PolicyKind::Resource,
        &[
            format!(r#"{{"Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::{ACCOUNT}:root"}},"Action":"s3:*","Resource":"arn:aws:s3:::bucket/*"}}"#),
            r#"{"Effect":"Deny","Principal":"*","Action":"s3:*","Resource":"arn:aws:s3:::bucket/*","Condition":{"Bool":{"aws:SecureTransport":"false"}}}"#.to_owned(),
        ],
    );
    PolicySet {
        identity,
        resource_policy: Some(AttachedPolicy { label: "bucket".into(), policy: resource }),
        scps: vec![vec![AttachedPolicy { label: "p-FullAWSAccess".into(), policy: scp }]],
        ..PolicySet::default()
    }
}

fn request(action: &str, resource: &str) -> Request {
    Request::new(Principal::user(ACCOUNT, "alice"), action, resource)
        .with_context("aws:RequestedRegion", "eu-west-1")
        .with_context("aws:SecureTransport", true)
        .with_context("aws:username", "alice")
}

/// Allowed by an identity statement with a condition, after scanning all 122 statements.
#[divan::bench]
fn allowed_with_conditions(bencher: Bencher) {
    let set = policy_set();
    let req = request("s3:GetObject", "arn:aws:s3:*:111122223333:thing0/key");
    assert_eq!(evaluate(&req, &set).effect, DecisionEffect::Allow);
    bencher.bench(|| evaluate(black_box(&req), black_box(&set)).effect);
}

/// No statement matches: the full scan, then an implicit deny.
#[divan::bench]
fn implicit_deny(bencher: Bencher) {
    let set = policy_set();
    let req = request("ec2:TerminateInstances", "arn:aws:ec2:eu-west-1:111122223333:instance/i-1");
    assert_eq!(evaluate(&req, &set).effect, DecisionEffect::ImplicitDeny);
    bencher.bench(|| evaluate(black_box(&req), black_box(&set)).effect);
}

/// Explicit deny by the last statement of a policy.
#[divan::bench]
fn explicit_deny(bencher: Bencher) {
    let set = policy_set();
    let req = request("rds:GetThing", "arn:aws:rds:eu-west-1:111122223333:thing0/x");
    assert_eq!(evaluate(&req, &set).effect, DecisionEffect::ExplicitDeny);
    bencher.bench(|| evaluate(black_box(&req), black_box(&set)).effect);
}

/// Parsing and compiling one of the ten identity policies.
#[divan::bench]
fn parse_policy(bencher: Bencher) {
    let doc = policy_set().identity[0].policy.to_json();
    bencher
        .bench(|| Policy::parse(black_box(&doc), PolicyKind::Identity).map(|p| p.statements.len()));
}
