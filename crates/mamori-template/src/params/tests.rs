//! Parameter value checks, with messages as CloudFormation words them
//! (<https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/parameters-section-structure.html>).

use std::collections::BTreeMap;

use super::*;
use crate::params::{NoParameterStore, ParameterValue};
use crate::template::Template;

const TEMPLATE: &str = r#"
Parameters:
  Env:
    Type: String
    AllowedValues: [dev, prod]
    Default: dev
  Name:
    Type: String
    AllowedPattern: '[a-z]+'
    MinLength: 2
    MaxLength: 5
  Described:
    Type: String
    Default: ok
    AllowedPattern: '[a-z]+'
    ConstraintDescription: lower-case letters only
  Count:
    Type: Number
    MinValue: 1
    MaxValue: 10
    Default: 3
  Ports:
    Type: List<Number>
    Default: '80, 443'
  Zones:
    Type: CommaDelimitedList
    Default: 'a, b ,c'
  Subnets:
    Type: List<AWS::EC2::Subnet::Id>
    Default: subnet-1,subnet-2
  Vpc:
    Type: AWS::EC2::VPC::Id
    Default: vpc-1
  Ami:
    Type: AWS::SSM::Parameter::Value<AWS::EC2::Image::Id>
    Default: /aws/ami
  Secret:
    Type: String
    NoEcho: true
    Default: hidden
Resources:
  Topic:
    Type: AWS::SNS::Topic
"#;

fn store() -> BTreeMap<String, String> {
    BTreeMap::from([("/aws/ami".to_owned(), "ami-123".to_owned())])
}

fn resolve(given: &[(&str, &str)]) -> Result<ParameterValues> {
    let t = Template::parse(TEMPLATE).unwrap();
    let given: BTreeMap<String, String> =
        given.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
    resolve_parameters(&t, &given, &store())
}

#[test]
fn values_resolve_with_defaults_and_types() {
    let v = resolve(&[("Name", "abc")]).unwrap();
    let s = |x: &str| ParameterValue::String(x.into());
    let l = |x: &[&str]| ParameterValue::List(x.iter().map(|s| (*s).to_owned()).collect());
    assert_eq!(v["Env"], s("dev"));
    assert_eq!(v["Count"], s("3"));
    assert_eq!(v["Ports"], l(&["80", "443"]));
    assert_eq!(v["Zones"], l(&["a", "b", "c"]));
    assert_eq!(v["Subnets"], l(&["subnet-1", "subnet-2"]));
    assert_eq!(v["Vpc"], s("vpc-1"));
    assert_eq!(v["Ami"], s("ami-123"));
    let t = Template::parse(TEMPLATE).unwrap();
    assert!(t.parameters["Secret"].no_echo);
}

#[test]
fn constraint_messages() {
    let cases: &[(&[(&str, &str)], &str)] = &[
        (&[], "Parameters: [Name] must have values"),
        (&[("Name", "abc"), ("Nope", "x")], "Parameters: [Nope] do not exist in the template"),
        (&[("Name", "abc"), ("Env", "test")], "Parameter 'Env' must be one of AllowedValues"),
        (&[("Name", "ab1")], "Parameter 'Name' must match pattern [a-z]+"),
        // The pattern is anchored: a matching substring is not enough.
        (&[("Name", "1ab")], "Parameter 'Name' must match pattern [a-z]+"),
        (&[("Name", "a")], "Parameter 'Name' must contain at least 2 characters"),
        (&[("Name", "abcdef")], "Parameter 'Name' must contain at most 5 characters"),
        (
            &[("Name", "abc"), ("Described", "NO")],
            "Parameter 'Described' failed to satisfy constraint: lower-case letters only",
        ),
        (&[("Name", "abc"), ("Count", "x")], "Parameter 'Count' must be a number"),
        (&[("Name", "abc"), ("Count", "0")], "Parameter 'Count' must be a number not less than 1"),
        (
            &[("Name", "abc"), ("Count", "11")],
            "Parameter 'Count' must be a number not greater than 10",
        ),
        (&[("Name", "abc"), ("Ports", "80,http")], "Parameter 'Ports' must be a number"),
        (
            &[("Name", "abc"), ("Ami", "/missing")],
            "Unable to fetch parameters [/missing] from parameter store for this account.",
        ),
    ];
    for (given, want) in cases {
        let err = resolve(given).unwrap_err();
        assert_eq!(err.message, *want, "given={given:?}");
    }
}

#[test]
fn parameter_types() {
    let cases = [
        ("String", true),
        ("Number", true),
        ("List<Number>", true),
        ("CommaDelimitedList", true),
        ("AWS::EC2::VPC::Id", true),
        ("List<AWS::EC2::Subnet::Id>", true),
        ("AWS::SSM::Parameter::Name", true),
        ("AWS::SSM::Parameter::Value<String>", true),
        ("AWS::SSM::Parameter::Value<List<String>>", true),
        ("AWS::SSM::Parameter::Value<List<AWS::EC2::Subnet::Id>>", true),
        ("List<String>", false),
        ("Strin", false),
        ("AWS::SSM::Parameter::Value<Number>", false),
        ("List<AWS::Nope>", false),
    ];
    for (ty, ok) in cases {
        assert_eq!(ParameterType::parse(ty).is_some(), ok, "type={ty}");
    }
    let err =
        Template::parse("Parameters:\n  P:\n    Type: Strin\nResources:\n  T: {Type: X::Y::Z}\n")
            .unwrap_err();
    assert_eq!(err.message, "Template format error: Unrecognized parameter type: Strin");
    assert_eq!(err.pos.map(|p| p.line), Some(3));
}

#[test]
fn no_parameter_store_finds_nothing() {
    assert_eq!(NoParameterStore.ssm_parameter("/x"), None);
}
