//! The decision procedure against the examples of
//! <https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html>
//! and its sub-pages, plus the data-driven cases in `test_data/eval/*.json`.

mod common;

use std::collections::BTreeMap;
use std::path::Path;

use common::*;
use mamori_policy::*;

fn allow(action: &str, resource: &str) -> String {
    format!(r#"{{"Effect":"Allow","Action":"{action}","Resource":"{resource}"}}"#)
}

fn deny(action: &str, resource: &str) -> String {
    format!(r#"{{"Effect":"Deny","Action":"{action}","Resource":"{resource}"}}"#)
}

/// A resource policy statement granting `action` to `principal` (an `AWS` principal value).
fn grant(principal: &str, action: &str) -> String {
    format!(
        r#"{{"Effect":"Allow","Principal":{{"AWS":"{principal}"}},"Action":"{action}","Resource":"*"}}"#
    )
}

fn set(identity: &[String], resource: Option<String>) -> PolicySet {
    PolicySet {
        identity: identity
            .iter()
            .enumerate()
            .map(|(i, s)| attached(&format!("identity{i}"), PolicyKind::Identity, &doc(s)))
            .collect(),
        resource_policy: resource.map(|s| attached("resource", PolicyKind::Resource, &doc(&s))),
        ..PolicySet::default()
    }
}

fn check(request: &Request, set: &PolicySet, effect: DecisionEffect, reason: Reason, row: &str) {
    let decision = evaluate(request, set);
    assert_eq!((decision.effect, decision.reason), (effect, reason), "{row}: {decision:?}");
}

/// Single-account rules: the union of identity and resource allows, explicit deny wins.
/// <https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic_policy-eval-basics.html>
#[test]
fn single_account_identity_and_resource() {
    use DecisionEffect::*;
    let carlos = Principal::user(ACCOUNT, "carlossalazar");
    let carlos_arn = carlos.arn.clone();
    let logs = "arn:aws:s3:::amzn-s3-demo-bucket-carlossalazar-logs/file.txt";
    let own = "arn:aws:s3:::amzn-s3-demo-bucket-carlossalazar/file.txt";
    // The documented example: Carlos may use his own bucket, is denied every bucket whose name
    // contains "log", and a bucket policy on the logs bucket allows him to write.
    let identity = [
        allow("s3:ListAllMyBuckets", "arn:aws:s3:::*"),
        allow("s3:*", "arn:aws:s3:::amzn-s3-demo-bucket-carlossalazar/*"),
        deny("s3:*", "arn:aws:s3:::*log*"),
    ];
    let bucket = grant(&carlos_arn, "s3:*");
    let with_bucket = set(&identity, Some(bucket.clone()));
    let only_bucket = set(&[], Some(bucket));
    let none = set(&[], None);
    let rows: &[(&PolicySet, &str, &str, DecisionEffect, Reason)] = &[
        (
            &with_bucket,
            "s3:PutObject",
            logs,
            ExplicitDeny,
            Reason::ExplicitDeny { source: PolicySource::Identity },
        ),
        (&with_bucket, "s3:PutObject", own, Allow, Reason::ResourcePolicyAllowed),
        (&set(&identity, None), "s3:PutObject", own, Allow, Reason::IdentityAllowed),
        (&only_bucket, "s3:PutObject", logs, Allow, Reason::ResourcePolicyAllowed),
        (&none, "s3:PutObject", logs, ImplicitDeny, Reason::NoIdentityAllow),
    ];
    for (set, action, resource, effect, reason) in rows {
        let request = Request::new(carlos.clone(), action, resource);
        check(&request, set, *effect, *reason, &format!("{action} {resource}"));
    }
    let decision = evaluate(&Request::new(carlos, "s3:PutObject", logs), &with_bucket);
    assert_eq!(decision.matched.len(), 1);
    assert_eq!((decision.matched[0].policy, decision.matched[0].statement_idx), ("identity2", 0));
}

/// How a resource policy names a role session decides whether boundaries and session policies
/// still apply.
/// <https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html#policy-eval-denyallow>
/// and <https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies_boundaries.html>.
#[test]
fn role_sessions_boundaries_and_session_policies() {
    use DecisionEffect::*;
    let session = Principal::role_session(ACCOUNT, "Dev", "alice");
    let PrincipalKind::AssumedRole { role_arn } = session.kind.clone() else { unreachable!() };
    let boundary_ec2 = Some(attached("boundary", PolicyKind::Boundary, &doc(&allow("ec2:*", "*"))));
    let session_ec2 = vec![attached("session", PolicyKind::Session, &doc(&allow("ec2:*", "*")))];
    let root = format!("arn:aws:iam::{ACCOUNT}:root");
    struct Row<'a> {
        identity: &'a [String],
        resource: Option<String>,
        boundary: bool,
        session_policy: bool,
        effect: DecisionEffect,
        reason: Reason,
    }
    let s3 = [allow("s3:*", "*")];
    let rows = [
        // Named by session ARN: allowed at once, whatever the caps say.
        Row {
            identity: &[],
            resource: Some(grant(&session.arn, "s3:*")),
            boundary: true,
            session_policy: true,
            effect: Allow,
            reason: Reason::ResourcePolicyAllowed,
        },
        // Named by role ARN: no identity allow needed, but the caps apply.
        Row {
            identity: &[],
            resource: Some(grant(&role_arn, "s3:*")),
            boundary: false,
            session_policy: false,
            effect: Allow,
            reason: Reason::ResourcePolicyAllowedWithinCaps,
        },
        Row {
            identity: &[],
            resource: Some(grant(&role_arn, "s3:*")),
            boundary: true,
            session_policy: false,
            effect: ImplicitDeny,
            reason: Reason::BoundaryNotAllowed,
        },
        Row {
            identity: &[],
            resource: Some(grant(&role_arn, "s3:*")),
            boundary: false,
            session_policy: true,
            effect: ImplicitDeny,
            reason: Reason::SessionPolicyNotAllowed,
        },
        // Named by account: the account's own policies must allow.
        Row {
            identity: &[],
            resource: Some(grant(&root, "s3:*")),
            boundary: false,
            session_policy: false,
            effect: ImplicitDeny,
            reason: Reason::NoIdentityAllow,
        },
        Row {
            identity: &s3,
            resource: Some(grant(&root, "s3:*")),
            boundary: false,
            session_policy: false,
            effect: Allow,
            reason: Reason::IdentityAllowed,
        },
        // Identity allows; the boundary and the session policy cap it.
        Row {
            identity: &s3,
            resource: None,
            boundary: true,
            session_policy: false,
            effect: ImplicitDeny,
            reason: Reason::BoundaryNotAllowed,
        },
        Row {
            identity: &s3,
            resource: None,
            boundary: false,
            session_policy: true,
            effect: ImplicitDeny,
            reason: Reason::SessionPolicyNotAllowed,
        },
        Row {
            identity: &s3,
            resource: None,
            boundary: false,
            session_policy: false,
            effect: Allow,
            reason: Reason::IdentityAllowed,
        },
    ];
    for (idx, row) in rows.into_iter().enumerate() {
        let mut set = set(row.identity, row.resource);
        if row.boundary {
            set.permissions_boundary = boundary_ec2.clone();
        }
        if row.session_policy {
            set.session_policies = session_ec2.clone();
        }
        let request = Request::new(session.clone(), "s3:GetObject", "arn:aws:s3:::b/k");
        check(&request, &set, row.effect, row.reason, &format!("row {idx}"));
    }
    // The capped action itself stays allowed when both caps allow it.
    let mut capped = set(&[allow("ec2:*", "*")], None);
    capped.permissions_boundary = boundary_ec2;
    capped.session_policies = session_ec2;
    let run = Request::new(session, "ec2:RunInstances", "*");
    check(&run, &capped, Allow, Reason::IdentityAllowed, "ec2 within caps");
}

/// Federated user sessions need a session policy.
/// <https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies.html#policies_session>
#[test]
fn federated_user_sessions() {
    let federating = format!("arn:aws:iam::{ACCOUNT}:user/broker");
    let kind = PrincipalKind::FederatedUser { federating_user_arn: federating.clone() };
    let user = Principal::new(format!("arn:aws:sts::{ACCOUNT}:federated-user/bob"), ACCOUNT, kind);
    let request = Request::new(user, "s3:GetObject", "arn:aws:s3:::b/k");
    let mut set = set(&[allow("s3:*", "*")], None);
    check(
        &request,
        &set,
        DecisionEffect::ImplicitDeny,
        Reason::NoSessionPolicy,
        "no session policy",
    );
    set.session_policies =
        vec![attached("session", PolicyKind::Session, &doc(&allow("s3:Get*", "*")))];
    check(&request, &set, DecisionEffect::Allow, Reason::IdentityAllowed, "session policy");
    let by_broker = PolicySet {
        resource_policy: Some(attached(
            "r",
            PolicyKind::Resource,
            &doc(&grant(&federating, "s3:*")),
        )),
        ..set
    };
    check(
        &request,
        &by_broker,
        DecisionEffect::Allow,
        Reason::IdentityAllowed,
        "resource names the federating user",
    );
}

/// SCPs: every level must allow; the management account, service-linked roles and service
/// principals are exempt; the root user is capped.
/// <https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_policies_scps.html>
#[test]
fn service_control_policies() {
    use DecisionEffect::*;
    let full = || attached("p-FullAWSAccess", PolicyKind::Scp, &doc(&allow("*", "*")));
    let s3_only = attached("ou-s3-only", PolicyKind::Scp, &doc(&allow("s3:*", "*")));
    let no_regions = attached(
        "deny-regions",
        PolicyKind::Scp,
        &doc(
            r#"{"Effect":"Deny","NotAction":"iam:*","Resource":"*","Condition":{"StringNotEquals":{"aws:RequestedRegion":"eu-west-1"}}}"#,
        ),
    );
    let mut base = set(&[allow("*", "*")], None);
    base.scps = vec![vec![full(), no_regions], vec![s3_only], vec![full()]];
    let user = Principal::user(ACCOUNT, "alice");
    let mut slr = Principal::role_session(ACCOUNT, "AWSServiceRoleForX", "s");
    slr.service_linked_role = true;
    let management = PolicySet { management_account: true, ..base.clone() };
    let rows: &[(&Principal, &PolicySet, &str, &str, DecisionEffect, Reason)] = &[
        (&user, &base, "s3:GetObject", "eu-west-1", Allow, Reason::IdentityAllowed),
        (
            &user,
            &base,
            "ec2:RunInstances",
            "eu-west-1",
            ImplicitDeny,
            Reason::ScpNotAllowed { level: 1 },
        ),
        (
            &user,
            &base,
            "s3:GetObject",
            "us-east-1",
            ExplicitDeny,
            Reason::ExplicitDeny { source: PolicySource::Scp { level: 0 } },
        ),
        (&user, &management, "ec2:RunInstances", "us-east-1", Allow, Reason::IdentityAllowed),
        (&slr, &base, "ec2:RunInstances", "us-east-1", Allow, Reason::IdentityAllowed),
        (
            &Principal::root(ACCOUNT),
            &base,
            "ec2:RunInstances",
            "eu-west-1",
            ImplicitDeny,
            Reason::ScpNotAllowed { level: 1 },
        ),
        (
            &Principal::root(ACCOUNT),
            &base,
            "s3:CreateBucket",
            "eu-west-1",
            Allow,
            Reason::IdentityAllowed,
        ),
    ];
    for (principal, set, action, region, effect, reason) in rows {
        let request = Request::new((*principal).clone(), action, "*")
            .with_context("aws:RequestedRegion", *region);
        check(&request, set, *effect, *reason, &format!("{} {action} {region}", principal.arn));
    }
}

/// Cross-account access needs both sides.
/// <https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic-cross-account.html>
#[test]
fn cross_account() {
    use DecisionEffect::*;
    let user = Principal::user(OTHER, "bob");
    let resource = "arn:aws:s3:::shared/k";
    let rows = [
        (vec![allow("s3:*", "*")], None, ImplicitDeny, Reason::CrossAccountNotAllowed),
        (vec![], Some(grant(OTHER, "s3:GetObject")), ImplicitDeny, Reason::NoIdentityAllow),
        (vec![], Some(grant(&user.arn, "s3:GetObject")), ImplicitDeny, Reason::NoIdentityAllow),
        (
            vec![allow("s3:*", "*")],
            Some(grant(OTHER, "s3:GetObject")),
            Allow,
            Reason::IdentityAllowed,
        ),
        (
            vec![allow("s3:*", "*")],
            Some(grant(&user.arn, "s3:GetObject")),
            Allow,
            Reason::IdentityAllowed,
        ),
        (
            vec![allow("s3:*", "*")],
            Some(grant(ACCOUNT, "s3:GetObject")),
            ImplicitDeny,
            Reason::CrossAccountNotAllowed,
        ),
    ];
    for (idx, (identity, resource_policy, effect, reason)) in rows.into_iter().enumerate() {
        let mut set = set(&identity, resource_policy);
        set.resource_account = Some(ACCOUNT.to_owned());
        check(
            &Request::new(user.clone(), "s3:GetObject", resource),
            &set,
            effect,
            reason,
            &format!("row {idx}"),
        );
    }
    // The root user of another account still needs the resource policy.
    let mut set = set(&[], None);
    set.resource_account = Some(ACCOUNT.to_owned());
    let request = Request::new(Principal::root(OTHER), "s3:GetObject", resource);
    check(&request, &set, ImplicitDeny, Reason::CrossAccountNotAllowed, "foreign root");
}

/// Principals without identity policies, the root user, trust/key policies, NotAction and
/// NotPrincipal.
/// <https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_notaction.html>,
/// <https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_notprincipal.html>,
/// <https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_terms-and-concepts.html>.
#[test]
fn special_principals_and_not_elements() {
    use DecisionEffect::*;
    let trail = Principal::service("cloudtrail.amazonaws.com");
    let bucket = r#"{"Effect":"Allow","Principal":{"Service":"cloudtrail.amazonaws.com"},"Action":"s3:PutObject","Resource":"arn:aws:s3:::logs/*"}"#;
    let logs = set(&[], Some(bucket.to_owned()));
    check(
        &Request::new(trail, "s3:PutObject", "arn:aws:s3:::logs/x"),
        &logs,
        Allow,
        Reason::ResourcePolicyAllowed,
        "service",
    );
    let config = Principal::service("config.amazonaws.com");
    check(
        &Request::new(config, "s3:PutObject", "arn:aws:s3:::logs/x"),
        &logs,
        ImplicitDeny,
        Reason::NoResourcePolicyAllow,
        "other service",
    );

    let anonymous = Principal::new("*".into(), "", PrincipalKind::Anonymous);
    let public = set(
        &[],
        Some(
            r#"{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"*"}"#
                .to_owned(),
        ),
    );
    check(
        &Request::new(anonymous, "s3:GetObject", "arn:aws:s3:::www/i.html"),
        &public,
        Allow,
        Reason::ResourcePolicyAllowed,
        "anonymous",
    );

    let root = Principal::root(ACCOUNT);
    check(
        &Request::new(root.clone(), "iam:CreateUser", "*"),
        &set(&[], None),
        Allow,
        Reason::RootUser,
        "root",
    );
    let deny_root = set(
        &[],
        Some(format!(
            r#"{{"Effect":"Deny","Principal":{{"AWS":"{ACCOUNT}"}},"Action":"s3:*","Resource":"*"}}"#
        )),
    );
    check(
        &Request::new(root, "s3:DeleteBucket", "*"),
        &deny_root,
        ExplicitDeny,
        Reason::ExplicitDeny { source: PolicySource::Resource },
        "root denied",
    );

    // A trust policy must allow even when the identity policy does.
    let alice = Principal::user(ACCOUNT, "alice");
    let mut trust = set(&[allow("sts:AssumeRole", "*")], None);
    trust.resource_policy = Some(attached(
        "trust",
        PolicyKind::Trust,
        &doc(
            r#"{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}"#,
        ),
    ));
    trust.resource_policy_required = true;
    let assume = Request::new(alice.clone(), "sts:AssumeRole", "arn:aws:iam::111122223333:role/R");
    check(&assume, &trust, ImplicitDeny, Reason::ResourcePolicyRequired, "trust policy");
    trust.resource_policy = Some(attached(
        "trust",
        PolicyKind::Trust,
        &doc(&format!(
            r#"{{"Effect":"Allow","Principal":{{"AWS":"{ACCOUNT}"}},"Action":"sts:AssumeRole"}}"#
        )),
    ));
    check(&assume, &trust, Allow, Reason::IdentityAllowed, "trust names the account");

    // NotAction with Allow also grants other services' actions.
    let not_iam =
        set(&[r#"{"Effect":"Allow","NotAction":"iam:*","Resource":"*"}"#.to_owned()], None);
    check(
        &Request::new(alice.clone(), "s3:GetObject", "*"),
        &not_iam,
        Allow,
        Reason::IdentityAllowed,
        "NotAction allows s3",
    );
    check(
        &Request::new(alice.clone(), "IAM:CreateUser", "*"),
        &not_iam,
        ImplicitDeny,
        Reason::NoIdentityAllow,
        "NotAction excludes iam",
    );
    let not_resource = set(&[allow("s3:*", "*"), r#"{"Effect":"Deny","Action":"s3:*","NotResource":["arn:aws:s3:::hr","arn:aws:s3:::hr/*"]}"#.to_owned()], None);
    check(
        &Request::new(alice.clone(), "s3:GetObject", "arn:aws:s3:::hr/x"),
        &not_resource,
        Allow,
        Reason::IdentityAllowed,
        "NotResource inside",
    );
    check(
        &Request::new(alice.clone(), "s3:GetObject", "arn:aws:s3:::other/x"),
        &not_resource,
        ExplicitDeny,
        Reason::ExplicitDeny { source: PolicySource::Identity },
        "NotResource outside",
    );

    // NotPrincipal with Deny: a session is exempt only when its session, role and account are
    // all listed.
    let session = Principal::role_session(OTHER, "audit", "app");
    let PrincipalKind::AssumedRole { role_arn } = session.kind.clone() else { unreachable!() };
    let not_principal = |listed: &[&str]| {
        let listed = serde_json::to_string(listed).unwrap();
        let deny = format!(
            r#"{{"Effect":"Deny","NotPrincipal":{{"AWS":{listed}}},"Action":"s3:*","Resource":"*"}}"#
        );
        let mut set =
            set(&[allow("s3:*", "*")], Some(format!("{deny},{}", grant(&session.arn, "s3:*"))));
        set.resource_account = Some(ACCOUNT.to_owned());
        set
    };
    let other_root = format!("arn:aws:iam::{OTHER}:root");
    let read = Request::new(session.clone(), "s3:GetObject", "arn:aws:s3:::b/k");
    check(
        &read,
        &not_principal(&[&session.arn, &role_arn, &other_root]),
        Allow,
        Reason::IdentityAllowed,
        "all listed",
    );
    check(
        &read,
        &not_principal(&[&session.arn, &role_arn]),
        ExplicitDeny,
        Reason::ExplicitDeny { source: PolicySource::Resource },
        "account missing",
    );
}

#[test]
fn every_resource_must_be_allowed() {
    let user = Principal::user(ACCOUNT, "alice");
    let set = set(
        &[allow("s3:GetObject", "arn:aws:s3:::a/*"), allow("s3:GetObject", "arn:aws:s3:::b/*")],
        None,
    );
    let mut request = Request::new(user, "s3:GetObject", "arn:aws:s3:::a/1");
    request.resources.push("arn:aws:s3:::b/2".into());
    let decision = evaluate(&request, &set);
    assert_eq!(decision.effect, DecisionEffect::Allow);
    assert_eq!(decision.matched.len(), 2);
    request.resources.push("arn:aws:s3:::c/3".into());
    assert_eq!(evaluate(&request, &set).effect, DecisionEffect::ImplicitDeny);
    request.resources.clear();
    assert_eq!(evaluate(&request, &set).effect, DecisionEffect::ImplicitDeny);
}

/// <https://docs.aws.amazon.com/IAM/latest/APIReference/API_SimulatePrincipalPolicy.html>
#[test]
fn simulation_answers() {
    let user = Principal::user(ACCOUNT, "alice");
    let mut set = set(
        &[
            allow("s3:*", "*"),
            r#"{"Sid":"NoDelete","Effect":"Deny","Action":"s3:Delete*","Resource":"*"}"#.to_owned(),
        ],
        None,
    );
    set.permissions_boundary =
        Some(attached("b", PolicyKind::Boundary, &doc(&allow("s3:Get*", "*"))));
    let results = simulate(
        &user,
        &["s3:GetObject", "s3:PutObject", "s3:DeleteObject"],
        &[],
        &BTreeMap::new(),
        &set,
    );
    let got: Vec<_> = results
        .iter()
        .map(|r| (r.action.as_str(), r.decision.as_str(), r.allowed_by_permissions_boundary))
        .collect();
    assert_eq!(
        got,
        [
            ("s3:GetObject", "allowed", Some(true)),
            ("s3:PutObject", "implicitDeny", Some(false)),
            ("s3:DeleteObject", "explicitDeny", Some(false)),
        ]
    );
    assert_eq!(results[2].matched[0].sid, Some("NoDelete"));
    assert_eq!(results[0].allowed_by_organizations, None);
    let json = serde_json::to_value(&results[2]).unwrap();
    assert_eq!(json["decision"], "explicitDeny");
}

/// Walks `test_data/eval/*.json`. Each file holds a request, the policies and the expected
/// decision; `UPDATE_EXPECT=1` rewrites the expectations from today's output.
#[test]
fn data_driven_cases() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("test_data/eval");
    let mut paths: Vec<_> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().path()).collect();
    paths.sort();
    let update = std::env::var_os("UPDATE_EXPECT").is_some();
    let mut n_cases = 0;
    for path in paths.iter().filter(|p| p.extension().is_some_and(|e| e == "json")) {
        let text = std::fs::read_to_string(path).unwrap();
        let mut case: serde_json::Value = serde_json::from_str(&text).unwrap();
        let (request, set) = load_case(&case);
        let decision = evaluate(&request, &set);
        let got = serde_json::json!({
            "effect": decision.effect,
            "reason": decision.reason,
            "matched": decision.matched.iter().map(|m| format!("{}#{}", m.policy, m.statement_idx)).collect::<Vec<_>>(),
        });
        if update {
            case["expect"] = got;
            std::fs::write(path, serde_json::to_string_pretty(&case).unwrap() + "\n").unwrap();
        } else {
            assert_eq!(got, case["expect"], "{}", path.display());
        }
        n_cases += 1;
    }
    assert!(n_cases >= 5, "expected the case files in {}", dir.display());
}

fn load_case(case: &serde_json::Value) -> (Request, PolicySet) {
    let p = &case["principal"];
    let text = |v: &serde_json::Value| v.as_str().unwrap_or_default().to_owned();
    let kind = match p["kind"].as_str().unwrap() {
        "Root" => PrincipalKind::Root,
        "IamUser" => PrincipalKind::IamUser,
        "AssumedRole" => PrincipalKind::AssumedRole { role_arn: text(&p["role_arn"]) },
        "FederatedUser" => {
            PrincipalKind::FederatedUser { federating_user_arn: text(&p["federating_user_arn"]) }
        }
        "Service" => PrincipalKind::Service,
        "Federated" => PrincipalKind::Federated,
        "Anonymous" => PrincipalKind::Anonymous,
        other => panic!("unknown principal kind {other}"),
    };
    let mut principal = Principal::new(text(&p["arn"]), &text(&p["account"]), kind);
    principal.service_linked_role = p["service_linked_role"].as_bool().unwrap_or(false);
    let mut context = BTreeMap::new();
    for (key, value) in case["context"].as_object().into_iter().flatten() {
        let one = |v: &serde_json::Value| match v {
            serde_json::Value::Bool(b) => Value::Bool(*b),
            serde_json::Value::Number(n) => Value::Number(n.as_f64().unwrap()),
            other => Value::String(text(other)),
        };
        let value = match value {
            serde_json::Value::Array(items) => ContextValue::Multi(items.iter().map(one).collect()),
            other => ContextValue::Single(one(other)),
        };
        context.insert(key.clone(), value);
    }
    let resources =
        case["resources"].as_array().map(|a| a.iter().map(text).collect()).unwrap_or_default();
    let request = Request { principal, action: text(&case["action"]), resources, context };
    let request =
        if case["principal_keys"] == true { request.with_principal_keys() } else { request };

    let pol = &case["policies"];
    let load = |label: String, kind, v: &serde_json::Value| attached(&label, kind, &v.to_string());
    let list = |key: &str, kind| -> Vec<AttachedPolicy> {
        pol[key]
            .as_array()
            .into_iter()
            .flatten()
            .enumerate()
            .map(|(i, v)| load(format!("{key}{i}"), kind, v))
            .collect()
    };
    let set = PolicySet {
        identity: list("identity", PolicyKind::Identity),
        resource_policy: pol.get("resource").map(|v| {
            load(
                "resource".into(),
                if pol["trust"].as_bool() == Some(true) {
                    PolicyKind::Trust
                } else {
                    PolicyKind::Resource
                },
                v,
            )
        }),
        resource_account: pol["resource_account"].as_str().map(str::to_owned),
        resource_policy_required: pol["resource_policy_required"].as_bool().unwrap_or(false),
        permissions_boundary: pol
            .get("boundary")
            .map(|v| load("boundary".into(), PolicyKind::Boundary, v)),
        session_policies: list("session", PolicyKind::Session),
        scps: pol["scps"]
            .as_array()
            .into_iter()
            .flatten()
            .enumerate()
            .map(|(level, policies)| {
                policies
                    .as_array()
                    .unwrap()
                    .iter()
                    .enumerate()
                    .map(|(i, v)| load(format!("scp{level}.{i}"), PolicyKind::Scp, v))
                    .collect()
            })
            .collect(),
        management_account: pol["management_account"].as_bool().unwrap_or(false),
    };
    (request, set)
}
