//! The seed's CIS templates (tests/fixtures/README.md) parse, validate, order and resolve,
//! following <https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/template-anatomy.html>.

use std::collections::BTreeMap;

use mamori_template::*;
use serde_json::json;

const CIS: &str = include_str!("fixtures/cis.yaml");
const TYPO: &str = include_str!("fixtures/seed_s3_block_resouces_typo.yaml");

fn given() -> BTreeMap<String, String> {
    [
        ("SnsTopicARN", "arn:aws:sns:us-east-1:123456789012:cis-system-notifications"),
        ("SnsTopicName", "cis-system-notifications"),
        ("LogBacketName", "access-logs-bucket"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect()
}

/// A resolver that answers like AWS for the seed's types: Ref is the name (an ARN for
/// topics), attributes are ARNs.
fn resolver(t: &Template) -> MapResolver {
    let mut r = MapResolver::default();
    for (id, res) in &t.resources {
        let ref_value = match res.resource_type.as_str() {
            "AWS::SNS::Topic" => format!("arn:aws:sns:us-east-1:123456789012:{id}"),
            _ => format!("phys-{id}"),
        };
        r.physical_ids.insert(id.clone(), json!(ref_value));
        r.attributes.insert((id.clone(), "Arn".into()), json!(format!("arn:aws:test:::{id}")));
    }
    r
}

#[test]
fn cis_fixture_parses_validates_and_orders() {
    let t = Template::parse(CIS).unwrap();
    assert_eq!(t.resources.len(), 35);
    let graph = t.validate(&DefaultAttributes).unwrap();
    let order = graph.creation_order();
    assert_eq!(order.len(), 35);
    let at = |id: &str| order.iter().position(|o| o == id).unwrap();
    let before = [
        ("CloudWatchLogsGroupForCloudTrail", "IAMRoleForCloudTrail"),
        ("CloudWatchLogsGroupForCloudTrail", "CloudWatchLogsMetricFilterCloudTrailVpcChanges"),
        ("S3ForCloudTrail", "S3BucketPolicyForCloudTrail"),
        ("S3BucketPolicyForCloudTrail", "CloudTrail"),
        ("IAMRoleForCloudTrail", "CloudTrail"),
        ("SNSAlert", "SNSAlertTopicPolicy"),
    ];
    for (a, b) in before {
        assert!(at(a) < at(b), "{a} must be created before {b}: {order:?}");
    }
    let deletion = graph.deletion_order();
    assert_eq!(deletion.first(), order.last());
    // Deterministic: the same template gives the same order.
    assert_eq!(
        Template::parse(CIS).unwrap().validate(&DefaultAttributes).unwrap().creation_order(),
        order
    );
}

#[test]
fn cis_fixture_resolves_every_resource() {
    let t = Template::parse(CIS).unwrap();
    let graph = t.validate(&DefaultAttributes).unwrap();
    let values = resolve_parameters(&t, &given(), &NoParameterStore).unwrap();
    let pseudo = PseudoParameters::new("123456789012", "us-east-1", "cis");
    let r = resolver(&t);
    let ev = Evaluator::new(&t, &values, &pseudo, &r).unwrap();
    assert_eq!(ev.condition("CreateCentralizedResources"), Some(true));
    let mut resolved = BTreeMap::new();
    for id in graph.creation_order() {
        assert!(ev.is_created(id), "{id}");
        resolved.insert(id.clone(), ev.resolve_properties(id).unwrap().unwrap());
    }
    let bucket = &resolved["S3ForCloudTrail"];
    assert_eq!(bucket["BucketName"], "defaultsecuritysettings-cloudtrail-us-east-1-123456789012");
    assert_eq!(bucket["LoggingConfiguration"]["DestinationBucketName"], "access-logs-bucket");
    assert_eq!(t.resources["S3ForCloudTrail"].deletion_policy, DeletionPolicy::Retain);
    let policy = &resolved["S3BucketPolicyForCloudTrail"]["PolicyDocument"];
    // An unquoted date stays the string IAM expects.
    assert_eq!(policy["Version"], "2012-10-17");
    assert_eq!(
        policy["Statement"][1]["Resource"][0],
        "arn:aws:test:::S3ForCloudTrail/AWSLogs/123456789012/*"
    );
    let alarm = &resolved["CloudWatchAlarmMetricFilterCloudTrailUnauthorizedAPICalls"];
    assert_eq!(alarm["AlarmName"], "Warning-cis-CloudTrail-Unauthorized-API-Calls");
    assert_eq!(
        alarm["AlarmActions"][0],
        "arn:aws:sns:us-east-1:123456789012:cis-system-notifications"
    );
    assert_eq!(alarm["Threshold"], 1);
    assert_eq!(alarm["ActionsEnabled"], true);
    let role = &resolved["IAMRoleForCloudTrail"];
    assert_eq!(role["RoleName"], "cis-CloudTrail-us-east-1");
    assert_eq!(
        role["Policies"][0]["PolicyDocument"]["Statement"][0]["Resource"][0],
        "arn:aws:test:::CloudWatchLogsGroupForCloudTrail"
    );
    assert_eq!(resolved["CloudTrail"]["TrailName"], "cis");
    assert_eq!(
        resolved["SNSAlertTopicPolicy"]["Topics"][0],
        "arn:aws:sns:us-east-1:123456789012:SNSAlert"
    );
    assert_eq!(resolved["CloudWatchLogsGroupForCloudTrail"]["RetentionInDays"], 365);
}

#[test]
fn cis_fixture_without_the_trail() {
    let t = Template::parse(CIS).unwrap();
    let mut g = given();
    g.insert("CentralizedResources".into(), "false".into());
    let values = resolve_parameters(&t, &g, &NoParameterStore).unwrap();
    let pseudo = PseudoParameters::new("123456789012", "us-east-1", "cis");
    let r = resolver(&t);
    let ev = Evaluator::new(&t, &values, &pseudo, &r).unwrap();
    assert!(!ev.is_created("CloudTrail"));
    assert!(ev.is_created("S3ForCloudTrail"));
}

#[test]
fn cis_fixture_requires_the_undeclared_parameters() {
    let t = Template::parse(CIS).unwrap();
    let err = resolve_parameters(&t, &BTreeMap::new(), &NoParameterStore).unwrap_err();
    assert_eq!(
        err.message,
        "Parameters: [SnsTopicARN, SnsTopicName, LogBacketName] must have values"
    );
}

#[test]
fn seed_block_with_the_typo_is_refused_as_cloudformation_does() {
    let err = Template::parse(TYPO).unwrap_err();
    assert_eq!(
        err.message,
        "Template format error: Invalid template property or properties [Resouces]"
    );
    assert_eq!(err.pos, Some(Pos::new(1, 1)));
}

#[test]
fn summary_of_the_cis_fixture() {
    let s = Template::parse(CIS).unwrap().summary();
    assert_eq!(
        s.resource_types,
        [
            "AWS::Logs::MetricFilter",
            "AWS::CloudWatch::Alarm",
            "AWS::SNS::Topic",
            "AWS::SNS::TopicPolicy",
            "AWS::IAM::Role",
            "AWS::S3::Bucket",
            "AWS::S3::BucketPolicy",
            "AWS::Logs::LogGroup",
            "AWS::CloudTrail::Trail",
        ]
    );
    assert_eq!(s.parameters.len(), 4);
}
