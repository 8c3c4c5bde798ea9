//! The policy simulator, following
//! <https://docs.aws.amazon.com/IAM/latest/APIReference/API_SimulatePrincipalPolicy.html> and
//! <https://docs.aws.amazon.com/IAM/latest/APIReference/API_SimulateCustomPolicy.html>,
//! answered by the same engine and the same stored policies the authorizer uses, so a
//! simulation agrees with what the real call does.

use std::collections::BTreeMap;
use std::net::IpAddr;

use base64::Engine as _;
use mamori_aws::AwsError;
use mamori_policy::{
    AttachedPolicy, ContextValue, Policy, PolicyKind, PolicySet, PolicySource, Principal,
    PrincipalKind as PKind, Request, Value as PValue, simulate,
};
use mamori_service::Context;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::authorizer::{Compiled, group_set, role_set, user_set};
use crate::state::*;

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct In {
    policy_source_arn: Option<String>,
    #[serde(default)]
    policy_input_list: Vec<String>,
    #[serde(default)]
    permissions_boundary_policy_input_list: Vec<String>,
    #[serde(default)]
    action_names: Vec<String>,
    #[serde(default)]
    resource_arns: Vec<String>,
    #[serde(default)]
    context_entries: Vec<Entry>,
    caller_arn: Option<String>,
    resource_policy: Option<String>,
    resource_owner: Option<String>,
    marker: Option<String>,
    max_items: Option<i64>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Entry {
    context_key_name: Option<String>,
    #[serde(default)]
    context_key_values: Vec<String>,
    context_key_type: Option<String>,
}

fn malformed(e: mamori_policy::PolicyError) -> AwsError {
    AwsError::new("MalformedPolicyDocumentException", e.iam_message())
}

fn invalid(msg: String) -> AwsError {
    AwsError::new("InvalidInputException", msg)
}

fn typed(value: &str, ty: &str) -> Result<PValue, AwsError> {
    let bad = || invalid(format!("Invalid value {value} for context key type {ty}"));
    Ok(match ty.trim_end_matches("List") {
        "numeric" => PValue::Number(value.parse().map_err(|_| bad())?),
        "boolean" => PValue::Bool(value.parse().map_err(|_| bad())?),
        "ip" => PValue::Ip(value.parse::<IpAddr>().map_err(|_| bad())?),
        "date" => {
            PValue::Date(chrono::DateTime::parse_from_rfc3339(value).map_err(|_| bad())?.to_utc())
        }
        "binary" => PValue::Binary(
            base64::engine::general_purpose::STANDARD.decode(value).map_err(|_| bad())?,
        ),
        _ => PValue::String(value.to_owned()),
    })
}

fn context(entries: &[Entry]) -> Result<BTreeMap<String, ContextValue>, AwsError> {
    let mut out = BTreeMap::new();
    for e in entries {
        let Some(name) = &e.context_key_name else { continue };
        let ty = e.context_key_type.as_deref().unwrap_or("string");
        let values =
            e.context_key_values.iter().map(|v| typed(v, ty)).collect::<Result<Vec<_>, _>>()?;
        let value = if ty.ends_with("List") {
            ContextValue::Multi(values)
        } else {
            match values.into_iter().next() {
                Some(v) => ContextValue::Single(v),
                None => continue,
            }
        };
        out.insert(name.clone(), value);
    }
    Ok(out)
}

fn source_type(label: &str, source: PolicySource, entity: &str) -> &'static str {
    if source == PolicySource::Resource {
        "resource"
    } else if label.starts_with("arn:aws:iam::aws:policy") {
        "aws-managed"
    } else if label.starts_with("arn:") {
        "user-managed"
    } else if label.starts_with("PolicyInputList") {
        "none"
    } else {
        match entity {
            "group" => "group",
            "role" => "role",
            _ => "user",
        }
    }
}

fn run(principal: &Principal, set: &PolicySet, i: &In, entity: &str) -> Result<Value, AwsError> {
    let mut ctx = context(&i.context_entries)?;
    let with_keys = Request {
        principal: principal.clone(),
        action: String::new(),
        resources: Vec::new(),
        context: BTreeMap::new(),
    }
    .with_principal_keys();
    for (k, v) in with_keys.context {
        ctx.entry(k).or_insert(v);
    }
    let actions: Vec<&str> = i.action_names.iter().map(String::as_str).collect();
    let resources: Vec<&str> = i.resource_arns.iter().map(String::as_str).collect();
    let results = simulate(principal, &actions, &resources, &ctx, set);
    let items: Vec<(String, Value)> = results
        .into_iter()
        .enumerate()
        .map(|(n, r)| {
            let matched: Vec<_> = r
                .matched
                .iter()
                .map(|m| json!({"SourcePolicyId": m.policy, "SourcePolicyType": source_type(m.policy, m.source, entity)}))
                .collect();
            let mut v = json!({
                "EvalActionName": r.action, "EvalResourceName": r.resource,
                "EvalDecision": r.decision.as_str(), "MatchedStatements": matched,
                "MissingContextValues": r.missing_context_values,
            });
            if let Some(b) = r.allowed_by_permissions_boundary {
                v["PermissionsBoundaryDecisionDetail"] = json!({"AllowedByPermissionsBoundary": b});
            }
            if let Some(o) = r.allowed_by_organizations {
                v["OrganizationsDecisionDetail"] = json!({"AllowedByOrganizations": o});
            }
            (format!("{n:08}"), v)
        })
        .collect();
    let (page, marker) = paginate(items, i.marker.as_deref(), i.max_items);
    Ok(with_page(json!({"EvaluationResults": page}), marker))
}

fn extra(list: &[String], kind: PolicyKind, prefix: &str) -> Result<Vec<AttachedPolicy>, AwsError> {
    list.iter()
        .enumerate()
        .map(|(n, doc)| {
            Ok(AttachedPolicy {
                label: format!("{prefix}.{}", n + 1),
                policy: Policy::parse(doc, kind).map_err(malformed)?,
            })
        })
        .collect()
}

/// `ResourcePolicy` and `ResourceOwner` (an account id or `arn:aws:iam::<acct>:root`; the
/// caller's account when absent), as the resource side of every simulated request.
fn resource_side(i: &In, set: &mut PolicySet) -> Result<(), AwsError> {
    if let Some(doc) = &i.resource_policy {
        let policy = Policy::parse(doc, PolicyKind::Resource).map_err(malformed)?;
        set.resource_policy = Some(AttachedPolicy { label: "ResourcePolicy".into(), policy });
    }
    if let Some(owner) = &i.resource_owner {
        let acct = owner
            .strip_prefix("arn:aws:iam::")
            .map_or(owner.as_str(), |r| r.split(':').next().unwrap_or_default());
        if acct.len() != 12 || !acct.bytes().all(|b| b.is_ascii_digit()) {
            return Err(invalid(format!("Invalid ResourceOwner: {owner}")));
        }
        set.resource_account = Some(acct.to_owned());
    }
    Ok(())
}

pub fn call(ctx: &Context, op: &str, input: Value) -> Result<Value, AwsError> {
    let i: In = mamori_service::parse_input(input)?;
    let acct = ctx.account.as_str();
    if op == "SimulateCustomPolicy" {
        let mut set = PolicySet {
            identity: extra(&i.policy_input_list, PolicyKind::Identity, "PolicyInputList")?,
            ..PolicySet::default()
        };
        let boundary = extra(
            &i.permissions_boundary_policy_input_list,
            PolicyKind::Boundary,
            "PermissionsBoundaryPolicyInputList",
        )?;
        set.permissions_boundary = boundary.into_iter().next();
        resource_side(&i, &mut set)?;
        let arn =
            i.caller_arn.clone().unwrap_or_else(|| format!("arn:aws:iam::{acct}:user/simulated"));
        let principal = Principal::new(arn, acct, PKind::IamUser);
        return run(&principal, &set, &i, "user");
    }
    let source = i.policy_source_arn.clone().unwrap_or_default();
    let bad_source = || invalid(format!("Invalid ARN: {source}"));
    let rest = source.strip_prefix("arn:aws:iam::").ok_or_else(bad_source)?;
    let (src_acct, resource) = rest.split_once(':').ok_or_else(bad_source)?;
    if src_acct != acct {
        return Err(bad_source());
    }
    let (entity, path_name) = resource.split_once('/').ok_or_else(bad_source)?;
    let name = path_name.rsplit('/').next().unwrap_or(path_name);
    let compiled: Option<Compiled> = rd(ctx.dispatcher.store(), |tx| match entity {
        "user" => user_set(tx, acct, name),
        "role" => role_set(tx, acct, name, None),
        "group" => group_set(tx, acct, name),
        _ => Err(bad_source()),
    })?;
    let Some(Compiled { principal, mut set }) = compiled else {
        return Err(no_such(entity, name));
    };
    set.identity.extend(extra(&i.policy_input_list, PolicyKind::Identity, "PolicyInputList")?);
    if let Some(b) = extra(
        &i.permissions_boundary_policy_input_list,
        PolicyKind::Boundary,
        "PermissionsBoundaryPolicyInputList",
    )?
    .into_iter()
    .next()
    {
        set.permissions_boundary = Some(b);
    }
    resource_side(&i, &mut set)?;
    run(&principal, &set, &i, entity)
}
