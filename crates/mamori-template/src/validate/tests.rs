//! Validation cases: unresolved references, attributes, conditions, mappings and transforms,
//! with CloudFormation's messages and the line of the offending node
//! (<https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/troubleshooting.html>).

use std::collections::BTreeMap;

use super::*;

fn validate(body: &str) -> Result<Graph> {
    Template::parse(body)?.validate(&DefaultAttributes)
}

#[test]
fn reference_errors() {
    let cases = [
        (
            "Resources:\n  A:\n    Type: AWS::SNS::Topic\n    Properties:\n      TopicName: !Ref Foo\n",
            "Template format error: Unresolved resource dependencies [Foo] in the Resources block of the template",
            5,
        ),
        (
            "Resources:\n  A:\n    Type: AWS::SNS::Topic\n    Properties:\n      TopicName: !Sub '${Foo}-${Bar.Arn}'\n",
            "Template format error: Unresolved resource dependencies [Foo] in the Resources block of the template",
            5,
        ),
        (
            "Resources:\n  A:\n    Type: AWS::SNS::Topic\n    Properties:\n      TopicName: !Sub '${Bar.Arn}'\n",
            "Template error: instance of Fn::GetAtt references undefined resource Bar",
            5,
        ),
        (
            "Resources:\n  A:\n    Type: AWS::SNS::Topic\n    Properties:\n      TopicName: !GetAtt Foo.Arn\n",
            "Template error: instance of Fn::GetAtt references undefined resource Foo",
            5,
        ),
        (
            "Resources:\n  A:\n    Type: AWS::SNS::Topic\n  B:\n    Type: AWS::SNS::Topic\n    Properties:\n      TopicName: !GetAtt A.Arn\n",
            "Template error: resource A does not support attribute type Arn in Fn::GetAtt",
            7,
        ),
        (
            "Resources:\n  A:\n    Type: AWS::SNS::Topic\n  B:\n    Type: AWS::SNS::Topic\n    Properties:\n      TopicName: !Sub '${A.Nope}'\n",
            "Template error: resource A does not support attribute type Nope in Fn::GetAtt",
            7,
        ),
        (
            "Resources:\n  A:\n    Type: AWS::SNS::Topic\n    DependsOn: [Ghost]\n",
            "Template format error: Unresolved resource dependencies [Ghost] in the Resources block of the template",
            2,
        ),
        (
            "Resources:\n  A:\n    Type: AWS::SNS::Topic\n    Condition: Nope\n",
            "Template format error: Unresolved condition dependency Nope in resource A",
            2,
        ),
        (
            "Resources:\n  A:\n    Type: AWS::SNS::Topic\n    Properties:\n      TopicName: !If [Nope, a, b]\n",
            "Template format error: Unresolved condition dependency Nope in Fn::If",
            5,
        ),
        (
            "Resources:\n  A:\n    Type: AWS::SNS::Topic\n    Properties:\n      TopicName: !FindInMap [Nope, a, b]\n",
            "Template error: Mapping named 'Nope' is not present in the 'Mappings' section of template.",
            5,
        ),
        (
            "Resources:\n  A:\n    Type: AWS::SNS::Topic\nOutputs:\n  O:\n    Value: !Ref Nope\n",
            "Template format error: Unresolved resource dependencies [Nope] in the Outputs block of the template",
            6,
        ),
        (
            "Conditions:\n  C: !Equals [!Ref A, x]\nResources:\n  A:\n    Type: AWS::SNS::Topic\n",
            "Template format error: Unresolved dependencies [A]. Cannot reference resources in the Conditions block of the template",
            2,
        ),
        (
            "Conditions:\n  C: !Condition D\n  D: !Not [!Condition C]\nResources:\n  A:\n    Type: AWS::SNS::Topic\n",
            "Template format error: Circular dependency between conditions: [C]",
            0,
        ),
        (
            "Transform: AWS::Serverless-2016-10-31\nResources:\n  A:\n    Type: AWS::Serverless::Function\n",
            "Template format error: Transform AWS::Serverless-2016-10-31 is not supported",
            1,
        ),
        (
            "Resources:\n  A:\n    Type: AWS::SNS::Topic\n    DependsOn: B\n  B:\n    Type: AWS::SNS::Topic\n    Properties:\n      DisplayName: !GetAtt A.TopicName\n",
            "Circular dependency between resources: [A, B]",
            0,
        ),
    ];
    for (body, want, line) in cases {
        let err = validate(body).unwrap_err();
        assert!(err.message.starts_with(want), "body={body:?}\n got={}", err.message);
        assert_eq!(err.pos.map_or(0, |p| p.line), line, "body={body:?} err={err:?}");
    }
}

#[test]
fn valid_references_pass() {
    let body = "Parameters:\n  P: {Type: String}\nMappings:\n  M: {a: {b: c}}\nConditions:\n  C: !Equals [!Ref P, x]\nResources:\n  A:\n    Type: AWS::S3::Bucket\n    Condition: C\n  B:\n    Type: AWS::SNS::Topic\n    Properties:\n      TopicName: !Sub ['${P}-${AWS::Region}-${A.Arn}-${X}', {X: !FindInMap [M, a, b]}]\n      DisplayName: !If [C, !GetAtt A.DomainName, !Ref AWS::NoValue]\nOutputs:\n  O: {Value: !GetAtt B.TopicArn, Condition: C}\n";
    let g = validate(body).unwrap();
    assert_eq!(g.creation_order(), ["A", "B"]);
}

#[test]
fn the_caller_decides_attributes() {
    let t = Template::parse("Resources:\n  A: {Type: Custom::Thing}\n  B:\n    Type: Custom::Thing\n    Properties: {X: !GetAtt A.Anything}\n").unwrap();
    // A type the table does not know is not checked ...
    assert!(t.validate(&DefaultAttributes).is_ok());
    // ... and a caller's table decides for its own types.
    let table: BTreeMap<String, Vec<String>> =
        BTreeMap::from([("Custom::Thing".to_owned(), vec!["Known".to_owned()])]);
    let err = t.validate(&table).unwrap_err();
    assert_eq!(
        err.message,
        "Template error: resource A does not support attribute type Anything in Fn::GetAtt"
    );
}

#[test]
fn default_table_covers_the_seed_types() {
    let cases = [
        ("AWS::Logs::LogGroup", "Arn", Some(true)),
        ("AWS::SNS::Topic", "TopicArn", Some(true)),
        ("AWS::SNS::Topic", "TopicName", Some(true)),
        ("AWS::SNS::Topic", "Arn", Some(false)),
        ("AWS::IAM::Role", "RoleId", Some(true)),
        ("AWS::S3::Bucket", "DualStackDomainName", Some(true)),
        ("AWS::S3::Bucket", "WebsiteURL", Some(true)),
        ("AWS::CloudTrail::Trail", "SnsTopicArn", Some(true)),
        ("AWS::CloudWatch::Alarm", "Arn", Some(true)),
        ("AWS::IAM::User", "Arn", Some(true)),
        ("AWS::IAM::ManagedPolicy", "PolicyArn", Some(true)),
        ("AWS::Logs::MetricFilter", "Arn", Some(false)),
        ("AWS::EC2::VPC", "CidrBlock", None),
    ];
    for (ty, attr, want) in cases {
        assert_eq!(DefaultAttributes.has_attribute(ty, attr), want, "{ty}.{attr}");
    }
}
