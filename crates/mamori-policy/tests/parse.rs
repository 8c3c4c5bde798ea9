//! Parsing and validation: the grammar of
//! <https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_grammar.html>, IAM's
//! `MalformedPolicyDocument` messages, and property tests (round trip, no panics).

mod common;

use common::*;
use mamori_policy::*;
use proptest::prelude::*;

/// Documents IAM rejects, with the message it gives
/// (<https://docs.aws.amazon.com/IAM/latest/UserGuide/troubleshoot_policies.html>).
#[test]
fn validation_errors() {
    use PolicyKind::*;
    let cases = [
        // kind      document                                                             message
        (Identity, "{", "Syntax errors in policy."),
        (
            Identity,
            r#"{"Version":"2012-10-17","Statement":[],"Extra":1}"#,
            "Syntax errors in policy.",
        ),
        (Identity, r#"{"Version":"2012-10-17"}"#, "Missing required field Statement"),
        (
            Identity,
            r#"{"Version":"2013-01-01","Statement":[]}"#,
            "The policy failed legacy parsing",
        ),
        (Identity, &doc(r#"{"Action":"s3:*","Resource":"*"}"#), "Missing required field Effect"),
        (
            Identity,
            &doc(r#"{"Effect":"allow","Action":"s3:*","Resource":"*"}"#),
            "Syntax errors in policy.",
        ),
        (
            Identity,
            &doc(r#"{"Effect":"Allow","Resource":"*"}"#),
            "Policy statement must contain actions.",
        ),
        (
            Identity,
            &doc(r#"{"Effect":"Allow","Action":[],"Resource":"*"}"#),
            "Policy statement must contain actions.",
        ),
        (
            Identity,
            &doc(r#"{"Effect":"Allow","Action":"GetObject","Resource":"*"}"#),
            "Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc.",
        ),
        (
            Identity,
            &doc(
                r#"{"Effect":"Allow","Action":"s3:*","Resource":"*","Condition":{"StringEquals":{"username":"x"}}}"#,
            ),
            "Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc.",
        ),
        (
            Identity,
            &doc(r#"{"Effect":"Allow","Action":"s3:*"}"#),
            "Policy statement must contain resources.",
        ),
        (
            Identity,
            &doc(r#"{"Effect":"Allow","Action":"s3:*","Resource":"bucket"}"#),
            "Resource bucket must be in ARN format or \"*\".",
        ),
        (
            Identity,
            &doc(r#"{"Effect":"Allow","Principal":"*","Action":"s3:*","Resource":"*"}"#),
            "Policy document should not specify a principal.",
        ),
        (
            Boundary,
            &doc(r#"{"Effect":"Allow","NotPrincipal":{"AWS":"*"},"Action":"s3:*","Resource":"*"}"#),
            "Policy document should not specify a principal.",
        ),
        (
            Resource,
            &doc(r#"{"Effect":"Allow","Action":"s3:*","Resource":"*"}"#),
            "Missing required field Principal",
        ),
        (
            Resource,
            &doc(r#"{"Effect":"Allow","Principal":{"AWS":"bob"},"Action":"s3:*","Resource":"*"}"#),
            "Invalid principal in policy: \"AWS\":\"bob\"",
        ),
        (
            Resource,
            &doc(r#"{"Effect":"Allow","Principal":{"Group":"x"},"Action":"s3:*","Resource":"*"}"#),
            "Invalid principal in policy: \"Group\":\"x\"",
        ),
        (
            Trust,
            &doc(
                r#"{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole","Resource":"*"}"#,
            ),
            "Has prohibited field Resource",
        ),
        (
            Identity,
            &doc(r#"{"Effect":"Allow","Action":"s3:*","NotAction":"s3:Get*","Resource":"*"}"#),
            "Syntax errors in policy.",
        ),
        // Unknown operators fail closed.
        (
            Identity,
            &doc(
                r#"{"Effect":"Allow","Action":"s3:*","Resource":"*","Condition":{"StringEqualz":{"aws:username":"x"}}}"#,
            ),
            "Syntax errors in policy.",
        ),
        (
            Identity,
            &doc(
                r#"{"Effect":"Allow","Action":"s3:*","Resource":"*","Condition":{"NumericEquals":{"s3:max-keys":"NaN"}}}"#,
            ),
            "Invalid Condition value for NumericEquals: NaN",
        ),
        (
            Identity,
            &doc(
                r#"{"Effect":"Allow","Action":"s3:*","Resource":"*","Condition":{"IpAddress":{"aws:SourceIp":"10.0.0.0/33"}}}"#,
            ),
            "Invalid Condition value for IpAddress: 10.0.0.0/33",
        ),
        (
            Identity,
            &doc(r#"{"Sid":"has space","Effect":"Allow","Action":"s3:*","Resource":"*"}"#),
            "Statement IDs (SID) must be alpha-numeric. Check that your input satisfies the regular expression [0-9A-Za-z]*",
        ),
        (
            Identity,
            &doc(
                r#"{"Sid":"A","Effect":"Allow","Action":"s3:*","Resource":"*"},{"Sid":"A","Effect":"Deny","Action":"s3:*","Resource":"*"}"#,
            ),
            "Statement IDs (SID) in a single policy must be unique.",
        ),
        (
            Scp,
            r#"{"Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#,
            "The provided policy document does not meet the requirements of the specified policy type.",
        ),
    ];
    for (kind, document, want) in cases {
        let err = Policy::parse(document, kind).expect_err(document);
        assert_eq!(err.iam_message(), want, "kind={kind:?} doc={document}");
    }
}

#[test]
fn accepted_shapes() {
    use PolicyKind::*;
    let cases = [
        // Statement as a single object, Version 2008, no Version at all.
        (
            Identity,
            r#"{"Version":"2008-10-17","Statement":{"Effect":"Allow","Action":"*","Resource":"*"}}"#,
        ),
        (
            Identity,
            r#"{"Statement":{"Effect":"Deny","NotAction":"iam:*","NotResource":"arn:aws:s3:::b"}}"#,
        ),
        (
            Resource,
            &doc(
                r#"{"Sid":"public read","Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"}"#,
            ),
        ),
        (
            Resource,
            &doc(
                r#"{"Effect":"Allow","Principal":{"AWS":["111122223333","arn:aws:iam::444455556666:role/R"],"CanonicalUser":"79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2be"},"Action":"s3:*","Resource":"*"}"#,
            ),
        ),
        (
            Trust,
            &doc(
                r#"{"Effect":"Allow","Principal":{"Federated":"cognito-identity.amazonaws.com"},"Action":"sts:AssumeRoleWithWebIdentity"}"#,
            ),
        ),
        (
            Scp,
            &doc(
                r#"{"Effect":"Deny","Action":"*","Condition":{"StringNotEquals":{"aws:RequestedRegion":["eu-west-1"]}}}"#,
            ),
        ),
        (
            Session,
            &doc(
                r#"{"Effect":"Allow","Action":"s3:*","Resource":"*","Condition":{"Bool":{"aws:SecureTransport":true},"NumericLessThan":{"s3:max-keys":5}}}"#,
            ),
        ),
    ];
    for (kind, document) in cases {
        let policy = Policy::parse(document, kind).unwrap_or_else(|e| panic!("{document}: {e}"));
        let again = Policy::parse(&policy.to_json(), kind).unwrap();
        assert_eq!(again, policy, "{document}");
    }
}

/// <https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_variables.html>:
/// variables need Version 2012-10-17; in older policies `${...}` is literal text.
#[test]
fn variables_depend_on_version() {
    let statement =
        r#"{"Effect":"Allow","Action":"s3:*","Resource":"arn:aws:s3:::home/${aws:username}/*"}"#;
    let request = |resource: &str| {
        Request::new(Principal::user(ACCOUNT, "bob"), "s3:GetObject", resource)
            .with_context("aws:username", "bob")
    };
    for (version, resource, want) in [
        ("2012-10-17", "arn:aws:s3:::home/bob/x", DecisionEffect::Allow),
        ("2012-10-17", "arn:aws:s3:::home/${aws:username}/x", DecisionEffect::ImplicitDeny),
        ("2008-10-17", "arn:aws:s3:::home/bob/x", DecisionEffect::ImplicitDeny),
        ("2008-10-17", "arn:aws:s3:::home/${aws:username}/x", DecisionEffect::Allow),
    ] {
        let document = format!(r#"{{"Version":"{version}","Statement":[{statement}]}}"#);
        let set = PolicySet {
            identity: vec![attached("p", PolicyKind::Identity, &document)],
            ..PolicySet::default()
        };
        assert_eq!(evaluate(&request(resource), &set).effect, want, "{version} {resource}");
    }
}

#[test]
fn non_whitespace_length_counts_characters() {
    assert_eq!(non_whitespace_len(""), 0);
    assert_eq!(non_whitespace_len(" {\n\t\"é\" : 1 }\r\n"), 7);
}

fn word() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("*".to_owned()),
        "[a-zA-Z0-9*?/${}:' ,-]{0,12}",
        Just("${aws:username}".to_owned()),
        Just("${aws:PrincipalTag/team, 'x'}".to_owned()),
    ]
}

fn action() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("*".to_owned()),
        ("[a-z0-9]{1,6}", word()).prop_map(|(v, a)| format!("{v}:{a}"))
    ]
}

fn resource() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("*".to_owned()),
        (word(), word(), word()).prop_map(|(s, r, rest)| format!("arn:aws:{s}:{r}:*:{rest}")),
    ]
}

fn condition() -> impl Strategy<Value = serde_json::Value> {
    let op = prop::sample::select(vec![
        "StringEquals",
        "StringNotLike",
        "ForAllValues:StringLike",
        "ForAnyValue:StringEqualsIgnoreCase",
        "ArnLike",
        "ArnNotEqualsIfExists",
        "NumericLessThan",
        "DateGreaterThan",
        "Bool",
        "Null",
        "IpAddress",
        "BinaryEquals",
    ]);
    let value = prop_oneof![
        word().prop_map(serde_json::Value::from),
        Just(serde_json::Value::from(5)),
        Just(serde_json::Value::from(true)),
        Just(serde_json::Value::from("10.0.0.0/8")),
        Just(serde_json::Value::from("2020-01-01T00:00:00Z")),
        Just(serde_json::Value::from("QUJD")),
    ];
    (op, "[a-z]{1,3}:[a-zA-Z/]{1,8}", prop::collection::vec(value, 1..3))
        .prop_map(|(op, key, values)| serde_json::json!({ op: { key: values } }))
}

fn statement(kind: PolicyKind) -> impl Strategy<Value = serde_json::Value> {
    let principal = prop_oneof![
        Just(serde_json::json!("*")),
        Just(serde_json::json!({"AWS": ["111122223333", "arn:aws:iam::444455556666:user/u"]})),
        Just(serde_json::json!({"Service": "logs.amazonaws.com"})),
    ];
    (
        prop::option::of("[A-Za-z0-9]{1,4}"),
        any::<bool>(),
        prop::collection::vec(action(), 1..3),
        any::<bool>(),
        prop::collection::vec(resource(), 1..3),
        any::<bool>(),
        prop::option::of(condition()),
        principal,
    )
        .prop_map(
            move |(sid, allow, actions, not_action, resources, not_resource, cond, principal)| {
                let mut st = serde_json::Map::new();
                if let Some(sid) = sid {
                    st.insert("Sid".into(), sid.into());
                }
                st.insert("Effect".into(), if allow { "Allow" } else { "Deny" }.into());
                let a = if not_action { "NotAction" } else { "Action" };
                st.insert(a.into(), actions.into());
                if kind != PolicyKind::Trust {
                    let r = if not_resource { "NotResource" } else { "Resource" };
                    st.insert(r.into(), resources.into());
                }
                if let Some(cond) = cond {
                    st.insert("Condition".into(), cond);
                }
                if matches!(kind, PolicyKind::Resource | PolicyKind::Trust) {
                    st.insert("Principal".into(), principal);
                }
                serde_json::Value::Object(st)
            },
        )
}

fn policy_json() -> impl Strategy<Value = (PolicyKind, String)> {
    let kind =
        prop::sample::select(vec![PolicyKind::Identity, PolicyKind::Resource, PolicyKind::Trust]);
    kind.prop_flat_map(|kind| {
        let version = prop::sample::select(vec![Some("2012-10-17"), Some("2008-10-17"), None]);
        (version, prop::collection::vec(statement(kind), 0..4)).prop_map(move |(v, statements)| {
            let mut doc = serde_json::json!({ "Statement": statements });
            if let Some(v) = v {
                doc["Version"] = v.into();
            }
            (kind, doc.to_string())
        })
    })
}

/// Arbitrary JSON values, to check that parsing never panics on any shape.
fn any_json() -> impl Strategy<Value = serde_json::Value> {
    let leaf = prop_oneof![
        Just(serde_json::Value::Null),
        any::<bool>().prop_map(serde_json::Value::from),
        any::<f64>().prop_map(serde_json::Value::from),
        "[ -~]{0,10}".prop_map(serde_json::Value::from),
        prop::sample::select(vec![
            "*",
            "Allow",
            "Deny",
            "s3:*",
            "arn:aws:s3:::b",
            "${aws:username}"
        ])
        .prop_map(serde_json::Value::from),
    ];
    let keys = prop::sample::select(vec![
        "Version",
        "Statement",
        "Effect",
        "Action",
        "NotAction",
        "Resource",
        "NotResource",
        "Principal",
        "NotPrincipal",
        "Condition",
        "Sid",
        "AWS",
        "StringEquals",
        "aws:x",
        "Id",
    ]);
    leaf.prop_recursive(4, 48, 6, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(serde_json::Value::from),
            prop::collection::btree_map(keys.clone(), inner, 0..5).prop_map(|m| {
                serde_json::Value::Object(m.into_iter().map(|(k, v)| (k.into(), v)).collect())
            }),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// A parsed policy printed back to JSON parses to an equal policy.
    #[test]
    fn round_trip((kind, document) in policy_json()) {
        if let Ok(policy) = Policy::parse(&document, kind) {
            let again = Policy::parse(&policy.to_json(), kind);
            prop_assert_eq!(again.as_ref(), Ok(&policy), "{}", document);
        }
    }

    #[test]
    fn parse_never_panics(value in any_json(), kind in prop::sample::select(vec![
        PolicyKind::Identity, PolicyKind::Resource, PolicyKind::Trust, PolicyKind::Scp,
    ])) {
        let document = value.to_string();
        if let Ok(policy) = Policy::parse(&document, kind) {
            let request = Request::new(Principal::user(ACCOUNT, "u"), "s3:GetObject", "arn:aws:s3:::b/k");
            let set = PolicySet {
                identity: vec![AttachedPolicy { label: "p".into(), policy }],
                ..PolicySet::default()
            };
            let _ = evaluate(&request, &set);
        }
    }

    #[test]
    fn parse_never_panics_on_bytes(text in "[ -~\\n]{0,200}") {
        let _ = Policy::parse(&text, PolicyKind::Identity);
    }
}
