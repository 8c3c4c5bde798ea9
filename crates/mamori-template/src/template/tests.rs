//! Section parsing tests, following
//! <https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/template-anatomy.html>.

use super::*;
use crate::expr::ExprKind;

#[test]
fn sections_are_read() {
    let t = Template::parse(
        r#"
AWSTemplateFormatVersion: 2010-09-09
Description: demo
Metadata: {Owner: me}
Transform: AWS::Serverless-2016-10-31
Mappings:
  RegionMap:
    us-east-1: {AMI: ami-1, Zones: [a, b]}
Conditions:
  IsProd: !Equals [!Ref Env, prod]
Parameters:
  Env: {Type: String, Default: dev}
Resources:
  Bucket:
    Type: AWS::S3::Bucket
    DeletionPolicy: Retain
    UpdateReplacePolicy: Snapshot
    Condition: IsProd
    DependsOn: Topic
    Metadata: {a: 1}
    CreationPolicy: {ResourceSignal: {Count: 1}}
    UpdatePolicy: {AutoScalingReplacingUpdate: {WillReplace: true}}
  Topic:
    Type: AWS::SNS::Topic
    Properties: {TopicName: !Ref Env}
Outputs:
  TopicArn:
    Value: !Ref Topic
    Description: the topic
    Condition: IsProd
    Export: {Name: !Sub '${AWS::StackName}-Topic'}
"#,
    )
    .unwrap();
    assert_eq!(t.format_version.as_deref(), Some("2010-09-09"));
    assert_eq!(t.description.as_deref(), Some("demo"));
    assert_eq!(t.transforms, vec!["AWS::Serverless-2016-10-31"]);
    assert_eq!(t.mappings["RegionMap"]["us-east-1"]["Zones"], serde_json::json!(["a", "b"]));
    assert!(matches!(t.conditions["IsProd"].kind, ExprKind::Equals(..)));
    let b = &t.resources["Bucket"];
    assert_eq!(b.deletion_policy, DeletionPolicy::Retain);
    assert_eq!(b.update_replace_policy, DeletionPolicy::Snapshot);
    assert_eq!(b.depends_on, vec!["Topic"]);
    assert_eq!(b.condition.as_deref(), Some("IsProd"));
    assert!(b.creation_policy.is_some() && b.update_policy.is_some() && b.metadata.is_some());
    let o = &t.outputs["TopicArn"];
    assert!(o.export_name.is_some());
    assert_eq!(o.condition.as_deref(), Some("IsProd"));
}

#[test]
fn json_and_yaml_give_the_same_tree() {
    let yaml = "Resources:\n  T:\n    Type: AWS::SNS::Topic\n    Properties:\n      TopicName: !Sub '${AWS::StackName}-t'\n      DisplayName: !GetAtt Other.TopicName\n  Other: {Type: AWS::SNS::Topic}\n";
    let json = r#"{"Resources": {"T": {"Type": "AWS::SNS::Topic", "Properties": {"TopicName": {"Fn::Sub": "${AWS::StackName}-t"}, "DisplayName": {"Fn::GetAtt": ["Other", "TopicName"]}}}, "Other": {"Type": "AWS::SNS::Topic"}}}"#;
    let a = Template::parse(yaml).unwrap();
    let b = Template::parse(json).unwrap();
    let strip = |t: &Template| {
        t.resources
            .values()
            .map(|r| {
                (r.resource_type.clone(), format!("{:?}", r.properties.as_ref().map(strip_pos)))
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(strip(&a), strip(&b));
}

fn strip_pos(e: &Expr) -> String {
    // Positions differ between the two bodies; compare the shapes only.
    let text = format!("{e:?}");
    let re = regex::Regex::new(r"pos: Pos \{ line: \d+, column: \d+ \}").unwrap();
    re.replace_all(&text, "").into_owned()
}

#[test]
fn structure_errors_name_section_and_line() {
    let cases = [
        (
            "Resouces:\n  A: {Type: X}\n",
            "Template format error: Invalid template property or properties [Resouces]",
            1,
        ),
        (
            "Description: x\n",
            "Template format error: At least one Resources member must be defined.",
            0,
        ),
        (
            "Resources: {}\n",
            "Template format error: At least one Resources member must be defined.",
            1,
        ),
        (
            "Resources:\n  A:\n    Properties: {}\n",
            "Template format error: Every Resources object must contain a Type member.",
            2,
        ),
        (
            "Resources:\n  A:\n    Type: X\n    Propertes: {}\n",
            "Template format error: Invalid template resource property 'Propertes'",
            4,
        ),
        (
            "Resources:\n  A-1:\n    Type: X\n",
            "Template format error: Resource name A-1 is non alphanumeric.",
            2,
        ),
        (
            "Resources:\n  A:\n    Type: X\n    Properties:\n",
            "Template format error: [/Resources/A/Properties] 'null' values are not allowed in templates",
            4,
        ),
        (
            "Resources:\n  A:\n    Type: X\n    DeletionPolicy: Keep\n",
            "Template format error: Unrecognized DeletionPolicy \"Keep\" for resource A",
            4,
        ),
        (
            "Resources:\n  A: {Type: X}\nOutputs:\n  O: {Description: x}\n",
            "Template format error: Every Outputs member must contain a Value object",
            4,
        ),
        (
            "AWSTemplateFormatVersion: 2010-09-10\nResources:\n  A: {Type: X}\n",
            "Template format error: Unsupported AWSTemplateFormatVersion",
            1,
        ),
        ("just a string\n", "Template format error: unsupported structure.", 1),
        (
            "Resources:\n  A:\n    Type: X\n    Properties:\n      B: !Ref\n",
            "Template error: every Ref object must have a single String value.",
            5,
        ),
    ];
    for (body, want, line) in cases {
        let err = Template::parse(body).unwrap_err();
        assert!(err.message.starts_with(want), "body={body:?} got={}", err.message);
        assert_eq!(err.pos.map_or(0, |p| p.line), line, "body={body:?} err={err:?}");
    }
}
