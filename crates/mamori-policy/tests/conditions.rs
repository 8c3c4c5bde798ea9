//! Condition operators against the examples of
//! <https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html>
//! and the multivalued-key rules of
//! <https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-single-vs-multi-valued-context-keys.html>.

mod common;

use std::net::IpAddr;

use common::*;
use mamori_policy::{ContextValue, Operator, OperatorKind, SetOperator, Value};

/// One table row: a `Condition` block, the request context, and whether the block holds.
type Row<'a> = (&'a str, &'a [(&'a str, ContextValue)], bool);

fn ip(text: &str) -> ContextValue {
    ContextValue::from(text.parse::<IpAddr>().unwrap())
}

/// <https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html#Conditions_String>
#[test]
fn string_operators() {
    let tag = r#"{"StringEquals":{"aws:PrincipalTag/job-category":"iamuser-admin"}}"#;
    let not = r#"{"StringNotEquals":{"aws:PrincipalTag/job-category":"iamuser-admin"}}"#;
    let icase = r#"{"StringEqualsIgnoreCase":{"aws:PrincipalTag/job-category":"IAMUser-Admin"}}"#;
    let nicase =
        r#"{"StringNotEqualsIgnoreCase":{"aws:PrincipalTag/job-category":"IAMUSER-ADMIN"}}"#;
    let like = r#"{"StringLike":{"s3:prefix":["","home/","home/${aws:username}/*"]}}"#;
    let not_like = r#"{"StringNotLike":{"s3:prefix":["home/*"]}}"#;
    let cases: &[Row] = &[
        // condition   context                                                    holds
        (tag, &[("aws:PrincipalTag/job-category", s("iamuser-admin"))], true),
        (tag, &[("aws:principaltag/JOB-category", s("iamuser-admin"))], true),
        (tag, &[("aws:PrincipalTag/job-category", s("IAMUser-Admin"))], false),
        (tag, &[], false),
        (not, &[("aws:PrincipalTag/job-category", s("dev"))], true),
        (not, &[("aws:PrincipalTag/job-category", s("iamuser-admin"))], false),
        // A negated operator on a missing key is true.
        (not, &[], true),
        (icase, &[("aws:PrincipalTag/job-category", s("iamuser-admin"))], true),
        (nicase, &[("aws:PrincipalTag/job-category", s("iamuser-admin"))], false),
        (nicase, &[("aws:PrincipalTag/job-category", s("other"))], true),
        (like, &[("s3:prefix", s("")), ("aws:username", s("bob"))], true),
        (like, &[("s3:prefix", s("home/bob/docs")), ("aws:username", s("bob"))], true),
        (like, &[("s3:prefix", s("home/alice/docs")), ("aws:username", s("bob"))], false),
        (like, &[("s3:prefix", s("HOME/")), ("aws:username", s("bob"))], false),
        // Without aws:username the third value matches nothing; the others still may.
        (like, &[("s3:prefix", s("home/"))], true),
        (like, &[("s3:prefix", s("home/bob/x"))], false),
        (not_like, &[("s3:prefix", s("home/x"))], false),
        (not_like, &[("s3:prefix", s("public/x"))], true),
        (not_like, &[], true),
    ];
    for (condition, context, want) in cases {
        assert_eq!(condition_holds(condition, context), *want, "{condition} {context:?}");
    }
}

/// <https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html#Conditions_Numeric>
/// and `#Conditions_Date`, `#Conditions_Boolean`, `#Conditions_BinaryEquals`.
#[test]
fn numeric_date_bool_binary_operators() {
    let max_keys = r#"{"NumericLessThanEquals":{"s3:max-keys":"10"}}"#;
    let not_eq = r#"{"NumericNotEquals":{"s3:max-keys":10}}"#;
    let gt = r#"{"NumericGreaterThan":{"s3:max-keys":"2.5"}}"#;
    let issued = r#"{"DateGreaterThan":{"aws:TokenIssueTime":"2020-01-01T00:00:01Z"}}"#;
    let before = r#"{"DateLessThan":{"aws:CurrentTime":"2013-06-30T00:00:00Z"}}"#;
    let epoch = r#"{"DateLessThanEquals":{"aws:EpochTime":"1372550400"}}"#;
    let date_eq = r#"{"DateEquals":{"aws:CurrentTime":"2013-06-30"}}"#;
    let secure = r#"{"Bool":{"aws:SecureTransport":"true"}}"#;
    let insecure = r#"{"Bool":{"aws:SecureTransport":false}}"#;
    let binary = r#"{"BinaryEquals":{"custom:key":"QmluYXJ5VmFsdWVJbkJhc2U2NA=="}}"#;
    let bytes = ContextValue::from(Value::Binary(b"BinaryValueInBase64".to_vec()));
    let cases: &[Row] = &[
        (max_keys, &[("s3:max-keys", s("10"))], true),
        (max_keys, &[("s3:max-keys", ContextValue::from(7i64))], true),
        (max_keys, &[("s3:max-keys", s("11"))], false),
        (max_keys, &[("s3:max-keys", s("ten"))], false),
        (max_keys, &[], false),
        (not_eq, &[("s3:max-keys", s("10.0"))], false),
        (not_eq, &[("s3:max-keys", s("9"))], true),
        (gt, &[("s3:max-keys", s("3"))], true),
        (gt, &[("s3:max-keys", s("2.5"))], false),
        (issued, &[("aws:TokenIssueTime", s("2020-01-01T00:00:02Z"))], true),
        (issued, &[("aws:TokenIssueTime", s("2020-01-01T00:00:01Z"))], false),
        (issued, &[("aws:TokenIssueTime", s("2020-01-01T01:00:00+02:00"))], false),
        (before, &[("aws:CurrentTime", s("2013-06-29T23:59:59Z"))], true),
        (before, &[("aws:CurrentTime", s("1372550399"))], true),
        (before, &[("aws:CurrentTime", s("2013-06-30T00:00:00Z"))], false),
        (epoch, &[("aws:EpochTime", ContextValue::from(1372550400i64))], true),
        (epoch, &[("aws:EpochTime", s("2013-06-30T00:00:01Z"))], false),
        (date_eq, &[("aws:CurrentTime", s("2013-06-30T00:00:00Z"))], true),
        (secure, &[("aws:SecureTransport", ContextValue::from(true))], true),
        (secure, &[("aws:SecureTransport", s("TRUE"))], true),
        (secure, &[("aws:SecureTransport", s("false"))], false),
        (secure, &[], false),
        (insecure, &[("aws:SecureTransport", ContextValue::from(false))], true),
        (binary, &[("custom:key", bytes.clone())], true),
        (binary, &[("custom:key", s("QmluYXJ5VmFsdWVJbkJhc2U2NA=="))], true),
        (binary, &[("custom:key", ContextValue::from(Value::Binary(b"other".to_vec())))], false),
    ];
    for (condition, context, want) in cases {
        assert_eq!(condition_holds(condition, context), *want, "{condition} {context:?}");
    }
}

/// <https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html#Conditions_IPAddress>
/// and `#Conditions_ARN`, `#Conditions_Null`, `#Conditions_IfExists`.
#[test]
fn ip_arn_null_if_exists_operators() {
    let v4 = r#"{"IpAddress":{"aws:SourceIp":"203.0.113.0/24"}}"#;
    let both = r#"{"IpAddress":{"aws:SourceIp":["203.0.113.0/24","2001:DB8:1234:5678::/64"]}}"#;
    let not_ip = r#"{"NotIpAddress":{"aws:SourceIp":["192.0.2.0/24","203.0.113.7"]}}"#;
    let arn = r#"{"ArnLike":{"aws:SourceArn":"arn:aws:sns:*:123456789012:TOPIC-*"}}"#;
    let arn_eq = r#"{"ArnEquals":{"aws:SourceArn":"arn:aws:sns:us-east-1:123456789012:TOPIC-ID"}}"#;
    let arn_not = r#"{"ArnNotLike":{"aws:SourceArn":"arn:aws:cloudtrail:*:111122223333:trail/*"}}"#;
    let null = r#"{"Null":{"aws:TokenIssueTime":"true"}}"#;
    let not_null = r#"{"Null":{"aws:TokenIssueTime":"false"}}"#;
    let if_exists = r#"{"StringLikeIfExists":{"ec2:InstanceType":["t1.*","t2.*","m3.*"]}}"#;
    let topic = "arn:aws:sns:us-east-1:123456789012:TOPIC-ID";
    let cases: &[Row] = &[
        (v4, &[("aws:SourceIp", ip("203.0.113.42"))], true),
        (v4, &[("aws:SourceIp", s("203.0.114.1"))], false),
        (v4, &[("aws:SourceIp", ip("::ffff:203.0.113.9"))], true),
        (v4, &[("aws:SourceIp", s("not an ip"))], false),
        (both, &[("aws:SourceIp", ip("2001:db8:1234:5678::1"))], true),
        (both, &[("aws:SourceIp", ip("2001:db8:1234:5679::1"))], false),
        (not_ip, &[("aws:SourceIp", ip("198.51.100.1"))], true),
        (not_ip, &[("aws:SourceIp", ip("203.0.113.7"))], false),
        (not_ip, &[("aws:SourceIp", ip("203.0.113.8"))], true),
        (arn, &[("aws:SourceArn", s(topic))], true),
        (arn, &[("aws:SourceArn", s("arn:aws:sns:us-east-1:999999999999:TOPIC-ID"))], false),
        (arn_eq, &[("aws:SourceArn", s(topic))], true),
        (arn_eq, &[("aws:SourceArn", s("arn:aws:sns:us-east-1:123456789012:topic-id"))], false),
        (
            arn_not,
            &[("aws:SourceArn", s("arn:aws:cloudtrail:us-east-1:111122223333:trail/t"))],
            false,
        ),
        (arn_not, &[("aws:SourceArn", s(topic))], true),
        (arn_not, &[], true),
        (null, &[], true),
        (null, &[("aws:TokenIssueTime", s("2020-01-01T00:00:00Z"))], false),
        (not_null, &[("aws:tokenissuetime", s("2020-01-01T00:00:00Z"))], true),
        (not_null, &[], false),
        (if_exists, &[], true),
        (if_exists, &[("ec2:InstanceType", s("t2.micro"))], true),
        (if_exists, &[("ec2:InstanceType", s("c5.large"))], false),
    ];
    for (condition, context, want) in cases {
        assert_eq!(condition_holds(condition, context), *want, "{condition} {context:?}");
    }
}

/// <https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-single-vs-multi-valued-context-keys.html>
/// and <https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_logic_multiple_context_keys_or_values.html>.
#[test]
fn set_operators_and_block_logic() {
    let all = r#"{"ForAllValues:StringEquals":{"aws:TagKeys":["environment","cost-center"]}}"#;
    let any = r#"{"ForAnyValue:StringEquals":{"aws:TagKeys":["environment","cost-center"]}}"#;
    let all_not = r#"{"ForAllValues:StringNotLike":{"aws:TagKeys":["temp*"]}}"#;
    let any_not = r#"{"ForAnyValue:StringNotEquals":{"aws:TagKeys":["environment"]}}"#;
    let plain_multi = r#"{"StringEquals":{"aws:TagKeys":"environment"}}"#;
    let and_keys = r#"{"StringEquals":{"aws:PrincipalTag/team":"red","aws:RequestTag/team":"red"},
                      "Bool":{"aws:MultiFactorAuthPresent":"true"}}"#;
    let tags = |v: &[&str]| ("aws:TagKeys", multi(v));
    let cases: &[Row] = &[
        (all, &[tags(&["environment"])], true),
        (all, &[tags(&["environment", "cost-center"])], true),
        (all, &[tags(&["environment", "dept"])], false),
        // ForAllValues is true when the key is missing or empty.
        (all, &[tags(&[])], true),
        (all, &[], true),
        (any, &[tags(&["dept", "cost-center"])], true),
        (any, &[tags(&["dept"])], false),
        (any, &[], false),
        (all_not, &[tags(&["a", "b"])], true),
        (all_not, &[tags(&["a", "temporary"])], false),
        (any_not, &[tags(&["environment", "x"])], true),
        (any_not, &[tags(&["environment"])], false),
        (plain_multi, &[tags(&["dept", "environment"])], true),
        (
            and_keys,
            &[
                ("aws:PrincipalTag/team", s("red")),
                ("aws:RequestTag/team", s("red")),
                ("aws:MultiFactorAuthPresent", ContextValue::from(true)),
            ],
            true,
        ),
        (
            and_keys,
            &[
                ("aws:PrincipalTag/team", s("red")),
                ("aws:RequestTag/team", s("blue")),
                ("aws:MultiFactorAuthPresent", ContextValue::from(true)),
            ],
            false,
        ),
        (
            and_keys,
            &[("aws:PrincipalTag/team", s("red")), ("aws:RequestTag/team", s("red"))],
            false,
        ),
    ];
    for (condition, context, want) in cases {
        assert_eq!(condition_holds(condition, context), *want, "{condition} {context:?}");
    }
}

/// <https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_variables.html>
#[test]
fn variables_in_condition_values() {
    let owner = r#"{"StringEquals":{"aws:ResourceTag/owner":"${aws:username}"}}"#;
    let team =
        r#"{"StringEquals":{"aws:RequestTag/team":"${aws:PrincipalTag/team, 'company-wide'}"}}"#;
    let escaped = r#"{"StringLike":{"s3:prefix":"${*}literal*"}}"#;
    let cases: &[Row] = &[
        (owner, &[("aws:ResourceTag/owner", s("bob")), ("aws:username", s("bob"))], true),
        (owner, &[("aws:ResourceTag/owner", s("bob")), ("aws:username", s("eve"))], false),
        // An unset variable makes StringEquals fail.
        (owner, &[("aws:ResourceTag/owner", s("bob"))], false),
        (team, &[("aws:RequestTag/team", s("company-wide"))], true),
        (team, &[("aws:RequestTag/team", s("red")), ("aws:PrincipalTag/team", s("red"))], true),
        (escaped, &[("s3:prefix", s("*literal-x"))], true),
        (escaped, &[("s3:prefix", s("xliteral-x"))], false),
    ];
    for (condition, context, want) in cases {
        assert_eq!(condition_holds(condition, context), *want, "{condition} {context:?}");
    }
}

#[test]
fn every_operator_name_parses() {
    for kind in OperatorKind::ALL {
        let op = Operator::parse(kind.name()).unwrap();
        assert_eq!(op.kind, *kind);
        if *kind != OperatorKind::Null {
            let name = format!("ForAnyValue:{}IfExists", kind.name());
            let op = Operator::parse(&name).unwrap();
            assert!(op.if_exists && op.set == SetOperator::ForAnyValue, "{name}");
            assert_eq!(op.name(), name);
        }
    }
    for bad in ["StringEqual", "stringequals", "NullIfExists", "ForAllValues:Null", "ForSome:Bool"]
    {
        assert!(Operator::parse(bad).is_none(), "{bad}");
    }
}
