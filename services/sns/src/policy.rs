//! Topic access policies: the default policy AWS writes on CreateTopic, validation of a
//! `Policy` attribute (structure, then the IAM policy engine's parser, so a stored policy
//! always evaluates), and AddPermission/RemovePermission statements, following
//! <https://docs.aws.amazon.com/sns/latest/dg/sns-access-policy-use-cases.html>.
//!
//! The policy is not evaluated here: [`crate::Sns`] hands it to the authorizer through
//! `Service::resource_policy`, and mamori-policy decides every call on the topic.

use mamori_aws::AwsError;
use mamori_policy::{Policy, PolicyKind};
use serde_json::{Value, json};

use crate::errors::invalid_parameter;

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
    // The engine's own checks (condition operators, ARNs, principals), so that a stored
    // policy can always be evaluated.
    Policy::parse(text, PolicyKind::Resource).map_err(|e| bad(&e.to_string()))?;
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
