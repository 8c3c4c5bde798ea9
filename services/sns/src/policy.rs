//! Topic access policies: the default policy AWS writes on CreateTopic, structural
//! validation of a `Policy` attribute, AddPermission/RemovePermission statements, and
//! a small evaluator for the resource-policy side of Publish and Subscribe, following
//! <https://docs.aws.amazon.com/sns/latest/dg/sns-access-policy-use-cases.html>.
//!
//! GAP: this is not the IAM policy engine. It matches Principal (`*`, account, ARN,
//! service), Action (`SNS:Publish`, `sns:*`, `*`, with `NotAction`) and Resource, and
//! of the conditions only `StringEquals` on `AWS:SourceOwner`/`aws:SourceAccount`;
//! an Allow statement with any other condition does not apply and a Deny statement
//! with one does (fail closed). The IAM engine will replace it through the authorizer.

use mamori_aws::AwsError;
use mamori_service::{Context, PrincipalKind};
use serde_json::{Value, json};

use crate::errors::{authorization_error, invalid_parameter};

/// The policy AWS writes on a new topic.
pub fn default_policy(topic_arn: &str, account: &str) -> String {
    json!({
        "Version": "2008-10-17",
        "Id": "__default_policy_ID",
        "Statement": [{
            "Sid": "__default_statement_ID",
            "Effect": "Allow",
            "Principal": {"AWS": "*"},
            "Action": [
                "SNS:GetTopicAttributes", "SNS:SetTopicAttributes", "SNS:AddPermission",
                "SNS:RemovePermission", "SNS:DeleteTopic", "SNS:Subscribe",
                "SNS:ListSubscriptionsByTopic", "SNS:Publish"
            ],
            "Resource": topic_arn,
            "Condition": {"StringEquals": {"AWS:SourceOwner": account}}
        }]
    })
    .to_string()
}

fn bad(why: &str) -> AwsError {
    invalid_parameter(&format!("Policy Error: {why}"))
}

fn strings(v: &Value) -> Option<Vec<&str>> {
    match v {
        Value::String(s) => Some(vec![s.as_str()]),
        Value::Array(items) => items.iter().map(Value::as_str).collect(),
        _ => None,
    }
}

/// Checks the structure of a topic policy: a JSON object with a known Version and
/// Statements that each have an Effect, a Principal, an Action and a Resource.
pub fn validate(text: &str) -> Result<Value, AwsError> {
    if text.len() > 30 * 1024 {
        return Err(bad("policy is larger than 30 KB"));
    }
    let doc: Value = serde_json::from_str(text).map_err(|_| bad("null"))?;
    let obj = doc.as_object().ok_or_else(|| bad("the policy must be a JSON object"))?;
    if let Some(v) = obj.get("Version")
        && !matches!(v.as_str(), Some("2008-10-17" | "2012-10-17"))
    {
        return Err(bad("unknown policy Version"));
    }
    let statements = match obj.get("Statement") {
        Some(Value::Array(items)) if !items.is_empty() => items.iter().collect::<Vec<_>>(),
        Some(s @ Value::Object(_)) => vec![s],
        _ => return Err(bad("the policy must contain a Statement")),
    };
    for s in statements {
        let s = s.as_object().ok_or_else(|| bad("a Statement must be an object"))?;
        match s.get("Effect").and_then(Value::as_str) {
            Some("Allow" | "Deny") => {}
            _ => return Err(bad("Effect must be Allow or Deny")),
        }
        if !s.contains_key("Principal") && !s.contains_key("NotPrincipal") {
            return Err(bad("a Statement needs a Principal"));
        }
        let action = s.get("Action").or_else(|| s.get("NotAction"));
        if action.and_then(strings).is_none_or(|a| a.is_empty()) {
            return Err(bad("a Statement needs an Action"));
        }
        let resource = s.get("Resource").or_else(|| s.get("NotResource"));
        if resource.and_then(strings).is_none() {
            return Err(bad("a Statement needs a Resource"));
        }
        if s.get("Condition").is_some_and(|c| !c.is_object()) {
            return Err(bad("Condition must be an object"));
        }
    }
    Ok(doc)
}

/// Adds the statement of `AddPermission`.
pub fn add_permission(
    policy: &str,
    topic_arn: &str,
    label: &str,
    accounts: &[String],
    actions: &[String],
) -> Result<String, AwsError> {
    let mut doc = validate(policy)?;
    let statements = statements_mut(&mut doc);
    if statements.iter().any(|s| s.get("Sid").and_then(Value::as_str) == Some(label)) {
        return Err(invalid_parameter("Statement already exists"));
    }
    let principals: Vec<String> =
        accounts.iter().map(|a| format!("arn:aws:iam::{a}:root")).collect();
    let actions: Vec<String> = actions.iter().map(|a| format!("SNS:{a}")).collect();
    statements.push(json!({
        "Sid": label,
        "Effect": "Allow",
        "Principal": {"AWS": if principals.len() == 1 { json!(principals[0]) } else { json!(principals) }},
        "Action": if actions.len() == 1 { json!(actions[0]) } else { json!(actions) },
        "Resource": topic_arn,
    }));
    Ok(doc.to_string())
}

/// Removes the statement of `RemovePermission`.
pub fn remove_permission(policy: &str, label: &str) -> Result<String, AwsError> {
    let mut doc = validate(policy)?;
    let statements = statements_mut(&mut doc);
    let before = statements.len();
    statements.retain(|s| s.get("Sid").and_then(Value::as_str) != Some(label));
    if statements.len() == before {
        return Err(crate::errors::not_found("Statement does not exist"));
    }
    Ok(doc.to_string())
}

fn statements_mut(doc: &mut Value) -> &mut Vec<Value> {
    let obj = doc.as_object_mut().expect("validated policies are objects");
    let entry = obj.entry("Statement").or_insert_with(|| json!([]));
    if entry.is_object() {
        *entry = json!([entry.clone()]);
    }
    entry.as_array_mut().expect("Statement was made an array")
}

fn glob(pattern: &str, value: &str) -> bool {
    match pattern.split_once('*') {
        None => pattern.eq_ignore_ascii_case(value),
        Some((head, tail)) => {
            value.len() >= head.len()
                && value[..head.len()].eq_ignore_ascii_case(head)
                && (0..=value.len() - head.len())
                    .any(|i| glob(tail, value.get(head.len() + i..).unwrap_or("")))
        }
    }
}

fn principal_matches(p: &Value, ctx: &Context) -> bool {
    let caller = &ctx.principal;
    let anyone = |v: &Value| strings(v).is_some_and(|s| s.contains(&"*"));
    if anyone(p) {
        return true;
    }
    let Some(obj) = p.as_object() else { return false };
    if let Some(aws) = obj.get("AWS").and_then(strings) {
        let root = format!("arn:aws:iam::{}:root", caller.account);
        let hit = aws
            .iter()
            .any(|a| *a == "*" || *a == caller.account.as_str() || *a == root || *a == caller.arn);
        if hit && !matches!(caller.kind, PrincipalKind::Service(_) | PrincipalKind::Anonymous)
            || aws.contains(&"*")
        {
            return true;
        }
    }
    if let (Some(svc), PrincipalKind::Service(name)) =
        (obj.get("Service").and_then(strings), &caller.kind)
    {
        return svc.contains(&name.as_str());
    }
    false
}

/// Whether a statement's conditions hold; `None` when it uses a condition this
/// evaluator does not know.
fn conditions_hold(c: Option<&Value>, ctx: &Context) -> Option<bool> {
    let Some(c) = c else { return Some(true) };
    let obj = c.as_object()?;
    let mut res = true;
    for (op, keys) in obj {
        if op != "StringEquals" {
            return None;
        }
        for (key, want) in keys.as_object()? {
            let k = key.to_ascii_lowercase();
            if k != "aws:sourceowner" && k != "aws:sourceaccount" {
                return None;
            }
            res &= strings(want)?.contains(&ctx.account.as_str());
        }
    }
    Some(res)
}

/// Decides `action` (`Publish`, `Subscribe`) on the topic for the caller, from the
/// topic's policy. Callers of the topic's own account (users and roles) are decided
/// by their identity policies, so only an explicit Deny stops them here; others need
/// an Allow.
pub fn authorize(
    policy: Option<&str>,
    ctx: &Context,
    topic_arn: &str,
    owner: &str,
    action: &str,
) -> Result<(), AwsError> {
    let same_account = ctx.principal.account.as_str() == owner
        && !matches!(ctx.principal.kind, PrincipalKind::Service(_) | PrincipalKind::Anonymous);
    let doc = policy.and_then(|p| serde_json::from_str::<Value>(p).ok()).unwrap_or(Value::Null);
    let statements: Vec<&Value> = match doc.get("Statement") {
        Some(Value::Array(items)) => items.iter().collect(),
        Some(s @ Value::Object(_)) => vec![s],
        _ => Vec::new(),
    };
    let full_action = format!("SNS:{action}");
    let mut allowed = false;
    for s in statements {
        let principal = match (s.get("Principal"), s.get("NotPrincipal")) {
            (Some(p), _) => principal_matches(p, ctx),
            (None, Some(p)) => !principal_matches(p, ctx),
            _ => false,
        };
        let action_hit =
            match (s.get("Action").and_then(strings), s.get("NotAction").and_then(strings)) {
                (Some(a), _) => a.iter().any(|a| glob(a, &full_action)),
                (None, Some(a)) => !a.iter().any(|a| glob(a, &full_action)),
                _ => false,
            };
        let resource_hit =
            match (s.get("Resource").and_then(strings), s.get("NotResource").and_then(strings)) {
                (Some(r), _) => r.iter().any(|r| glob(r, topic_arn)),
                (None, Some(r)) => !r.iter().any(|r| glob(r, topic_arn)),
                _ => false,
            };
        if !(principal && action_hit && resource_hit) {
            continue;
        }
        let cond = conditions_hold(s.get("Condition"), ctx);
        match s.get("Effect").and_then(Value::as_str) {
            Some("Deny") if cond != Some(false) => {
                return Err(denied(ctx, &full_action, topic_arn));
            }
            Some("Allow") if cond == Some(true) => allowed = true,
            _ => {}
        }
    }
    if allowed || same_account { Ok(()) } else { Err(denied(ctx, &full_action, topic_arn)) }
}

fn denied(ctx: &Context, action: &str, topic_arn: &str) -> AwsError {
    authorization_error(format!(
        "User: {} is not authorized to perform: {action} on resource: {topic_arn}",
        ctx.principal.arn
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validation() {
        let arn = "arn:aws:sns:us-east-1:000000000000:t";
        assert!(validate(&default_policy(arn, "000000000000")).is_ok());
        let cases = [
            "not json",
            "[]",
            r#"{"Version": "2012-10-17"}"#,
            r#"{"Statement": [{"Effect": "Maybe", "Principal": "*", "Action": "sns:Publish", "Resource": "*"}]}"#,
            r#"{"Statement": [{"Effect": "Allow", "Action": "sns:Publish", "Resource": "*"}]}"#,
            r#"{"Statement": [{"Effect": "Allow", "Principal": "*", "Resource": "*"}]}"#,
            r#"{"Statement": [{"Effect": "Allow", "Principal": "*", "Action": "sns:Publish"}]}"#,
            r#"{"Version": "2020-01-01", "Statement": [{"Effect": "Allow", "Principal": "*", "Action": "sns:Publish", "Resource": "*"}]}"#,
        ];
        for text in cases {
            assert!(validate(text).is_err(), "{text}");
        }
    }

    #[test]
    fn globs() {
        let cases = [
            ("SNS:Publish", "SNS:Publish", true),
            ("sns:publish", "SNS:Publish", true),
            ("sns:*", "SNS:Publish", true),
            ("*", "SNS:Publish", true),
            ("SNS:Sub*", "SNS:Publish", false),
            ("arn:aws:sns:*:*:alerts", "arn:aws:sns:us-east-1:1:alerts", true),
        ];
        for (p, v, want) in cases {
            assert_eq!(glob(p, v), want, "{p} {v}");
        }
    }

    #[test]
    fn permissions_add_and_remove() {
        let arn = "arn:aws:sns:us-east-1:000000000000:t";
        let p = default_policy(arn, "000000000000");
        let p = add_permission(&p, arn, "share", &["111111111111".into()], &["Publish".into()])
            .unwrap();
        assert!(p.contains("arn:aws:iam::111111111111:root"));
        assert!(add_permission(&p, arn, "share", &[], &["Publish".into()]).is_err());
        let p = remove_permission(&p, "share").unwrap();
        assert!(!p.contains("111111111111"));
        assert!(remove_permission(&p, "share").is_err());
    }
}
