//! Intrinsic function and condition cases, most taken from the examples on each function's
//! page under <https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/intrinsic-function-reference.html>.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::*;
use crate::params::{NoParameterStore, resolve_parameters};

const TEMPLATE: &str = r#"
Parameters:
  EnvType: {Type: String, Default: prod}
  RootDomainName: {Type: String, Default: example.com}
  DbSubnetIpBlocks: {Type: CommaDelimitedList, Default: "10.0.48.0/24, 10.0.112.0/24, 10.0.176.0/24"}
  ASecurityGroup: {Type: String, Default: sg-mysggroup}
  DBSnapshotName: {Type: String, Default: ""}
  Count: {Type: Number, Default: 5}
Mappings:
  RegionMap:
    us-east-1: {HVM64: ami-0ff8a91507f77f867, HVMG2: ami-0a584ac55a7631c0c}
    us-west-1: {HVM64: ami-0bdb828fd58c52235, HVMG2: ami-066ee5fd4a9ef77f1}
Conditions:
  CreateProdResources: !Equals [!Ref EnvType, prod]
  NotProd: !Not [!Equals [!Ref EnvType, prod]]
  SomeOtherCondition: !Equals [!Ref RootDomainName, example.com]
  MyAndCondition: !And [!Equals [sg-mysggroup, !Ref ASecurityGroup], !Condition SomeOtherCondition]
  MyOrCondition: !Or [!Equals [sg-other, !Ref ASecurityGroup], !Condition NotProd]
  UseDBSnapshot: !Not [!Equals [!Ref DBSnapshotName, ""]]
  NumberEqualsString: !Equals [!Ref Count, 5]
Resources:
  myVPC: {Type: AWS::EC2::VPC}
  Bucket: {Type: AWS::S3::Bucket}
  OnlyInDev: {Type: AWS::SNS::Topic, Condition: NotProd}
"#;

fn with_eval(f: impl FnOnce(&Evaluator<'_>)) {
    let t = Template::parse(TEMPLATE).unwrap();
    let values = resolve_parameters(&t, &BTreeMap::new(), &NoParameterStore).unwrap();
    let pseudo = PseudoParameters::new("123456789012", "us-east-1", "MyStack");
    let mut r = MapResolver::default();
    r.physical_ids.insert("myVPC".into(), json!("vpc-0abc"));
    r.physical_ids.insert("Bucket".into(), json!("my-bucket"));
    r.attributes.insert(("Bucket".into(), "Arn".into()), json!("arn:aws:s3:::my-bucket"));
    r.exports.insert("AccountSubnetIDs".into(), json!("subnet-1,subnet-2,subnet-3"));
    let eval = Evaluator::new(&t, &values, &pseudo, &r).unwrap();
    f(&eval);
}

fn eval_yaml(ev: &Evaluator<'_>, yaml: &str) -> Result<Option<Value>> {
    let node = crate::yaml::parse(yaml)?;
    ev.resolve(&Expr::from_node(&node)?)
}

#[test]
fn intrinsic_functions() {
    let cases: &[(&str, Value)] = &[
        // Fn::Join
        ("!Join [':', [a, b, c]]", json!("a:b:c")),
        (
            "!Join ['', ['arn:', !Ref AWS::Partition, ':s3:::elasticbeanstalk-*-', !Ref AWS::AccountId]]",
            json!("arn:aws:s3:::elasticbeanstalk-*-123456789012"),
        ),
        ("!Join [',', !Ref DbSubnetIpBlocks]", json!("10.0.48.0/24,10.0.112.0/24,10.0.176.0/24")),
        ("!Join ['-', [a, !Ref AWS::NoValue, 1, true]]", json!("a-1-true")),
        // Fn::Select
        ("!Select ['1', [apples, grapes, oranges, mangoes]]", json!("grapes")),
        ("!Select [0, !Ref DbSubnetIpBlocks]", json!("10.0.48.0/24")),
        ("!Select [0, !GetAZs '']", json!("us-east-1a")),
        // Fn::Split
        ("!Split ['|', 'a|b|c']", json!(["a", "b", "c"])),
        ("!Split ['|', 'a||c|']", json!(["a", "", "c", ""])),
        ("!Select [2, !Split [',', !ImportValue AccountSubnetIDs]]", json!("subnet-3")),
        // Fn::Sub
        (
            "!Sub 'arn:aws:ec2:${AWS::Region}:${AWS::AccountId}:vpc/${myVPC}'",
            json!("arn:aws:ec2:us-east-1:123456789012:vpc/vpc-0abc"),
        ),
        ("!Sub ['www.${Domain}', {Domain: !Ref RootDomainName}]", json!("www.example.com")),
        ("!Sub '${Bucket.Arn}/*'", json!("arn:aws:s3:::my-bucket/*")),
        ("!Sub '${!Literal}-${AWS::StackName}'", json!("${Literal}-MyStack")),
        ("!Sub ['${A}-${B}', {A: 1, B: !Select [1, [x, y]]}]", json!("1-y")),
        // Fn::FindInMap
        ("!FindInMap [RegionMap, !Ref AWS::Region, HVM64]", json!("ami-0ff8a91507f77f867")),
        // Fn::If and AWS::NoValue
        ("!If [CreateProdResources, c1.xlarge, m1.small]", json!("c1.xlarge")),
        (
            "{DBSnapshotIdentifier: !If [UseDBSnapshot, !Ref DBSnapshotName, !Ref AWS::NoValue], Engine: mysql}",
            json!({"Engine": "mysql"}),
        ),
        ("[a, !If [NotProd, b, !Ref AWS::NoValue], c]", json!(["a", "c"])),
        // Fn::Base64
        ("!Base64 AWS CloudFormation", json!("QVdTIENsb3VkRm9ybWF0aW9u")),
        // Fn::Cidr
        (
            "!Cidr ['192.168.0.0/24', 6, 5]",
            json!([
                "192.168.0.0/27",
                "192.168.0.32/27",
                "192.168.0.64/27",
                "192.168.0.96/27",
                "192.168.0.128/27",
                "192.168.0.160/27"
            ]),
        ),
        ("!Select [1, !Cidr ['2001:db8::/56', 3, 64]]", json!("2001:db8:0:1::/64")),
        // Fn::GetAZs, Fn::ImportValue, Ref, GetAtt
        ("!GetAZs us-west-2", json!(["us-west-2a", "us-west-2b", "us-west-2c"])),
        ("!ImportValue AccountSubnetIDs", json!("subnet-1,subnet-2,subnet-3")),
        ("!Ref Bucket", json!("my-bucket")),
        ("!GetAtt Bucket.Arn", json!("arn:aws:s3:::my-bucket")),
        ("!Ref AWS::NotificationARNs", json!([])),
        ("!Ref Count", json!("5")),
        ("!Ref AWS::URLSuffix", json!("amazonaws.com")),
    ];
    with_eval(|ev| {
        for (yaml, want) in cases {
            let got = eval_yaml(ev, yaml).unwrap_or_else(|e| panic!("{yaml}: {e}"));
            assert_eq!(got.as_ref(), Some(want), "yaml={yaml}");
        }
        assert_eq!(eval_yaml(ev, "!Ref AWS::NoValue").unwrap(), None);
    });
}

#[test]
fn condition_functions() {
    let cases = [
        ("CreateProdResources", true),
        ("NotProd", false),
        ("SomeOtherCondition", true),
        ("MyAndCondition", true),
        ("MyOrCondition", false),
        ("UseDBSnapshot", false),
        ("NumberEqualsString", true),
    ];
    with_eval(|ev| {
        for (name, want) in cases {
            assert_eq!(ev.condition(name), Some(want), "condition {name}");
        }
        assert!(!ev.is_created("OnlyInDev"));
        assert!(ev.is_created("Bucket"));
    });
}

#[test]
fn evaluation_errors() {
    let cases = [
        (
            "!Select [4, [a, b]]",
            "Template error: Fn::Select cannot select nonexistent value at index 4",
        ),
        (
            "!FindInMap [RegionMap, eu-west-9, HVM64]",
            "Template error: Unable to get mapping for RegionMap::eu-west-9::HVM64",
        ),
        ("!ImportValue Nope", "Template error: No export named Nope found"),
        (
            "!Ref OnlyInDev",
            "Template format error: Unresolved resource dependencies [OnlyInDev] in the Resources block of the template",
        ),
        (
            "!GetAtt Missing.Arn",
            "Template error: instance of Fn::GetAtt references undefined resource Missing",
        ),
        ("!Cidr ['10.0.0.0/24', 3, 9]", "Template error: Fn::Cidr failed"),
        ("!Join [',', !Ref RootDomainName]", "Template error: Fn::Join requires a list of strings"),
        (
            "!Sub '${DbSubnetIpBlocks}'",
            "Template error: Fn::Sub variable DbSubnetIpBlocks must resolve to a string",
        ),
    ];
    with_eval(|ev| {
        for (yaml, want) in cases {
            let err = eval_yaml(ev, yaml).unwrap_err();
            assert!(err.message.starts_with(want), "yaml={yaml} got={}", err.message);
            assert!(err.pos.is_some(), "yaml={yaml}");
        }
    });
}

#[test]
fn outputs_resolve_with_conditions_and_exports() {
    let body = format!(
        "{TEMPLATE}Outputs:\n  B: {{Value: !Ref Bucket, Export: {{Name: !Sub '${{AWS::StackName}}-Bucket'}}}}\n  D: {{Value: x, Condition: NotProd}}\n"
    );
    let t = Template::parse(&body).unwrap();
    let values = resolve_parameters(&t, &BTreeMap::new(), &NoParameterStore).unwrap();
    let pseudo = PseudoParameters::new("123456789012", "us-east-1", "MyStack");
    let mut r = MapResolver::default();
    r.physical_ids.insert("Bucket".into(), json!("my-bucket"));
    let ev = Evaluator::new(&t, &values, &pseudo, &r).unwrap();
    let out = ev.resolve_outputs().unwrap();
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].value, json!("my-bucket"));
    assert_eq!(out[0].export_name.as_deref(), Some("MyStack-Bucket"));
}

#[test]
fn circular_conditions_are_refused() {
    let t = Template::parse(
        "Conditions:\n  A: !Condition B\n  B: !Not [!Condition A]\nResources:\n  R: {Type: T}\n",
    )
    .unwrap();
    let values = ParameterValues::new();
    let pseudo = PseudoParameters::new("1", "us-east-1", "s");
    let err = Evaluator::new(&t, &values, &pseudo, &MapResolver::default()).err().unwrap();
    assert!(err.message.contains("Circular dependency between conditions"), "{}", err.message);
}
