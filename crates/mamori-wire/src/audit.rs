//! The CloudTrail view of a call's input and output, from the model: structure members
//! in lower camel case (`UserName` -> `userName`) as CloudTrail writes
//! `requestParameters` and `responseElements`, and members the model marks sensitive
//! (passwords, plaintexts) replaced by `HIDDEN_DUE_TO_SECURITY_REASONS`; secret access
//! keys are left out altogether, as CloudTrail's CreateAccessKey, AssumeRole and
//! GetSessionToken events show only the key's id.
//! <https://docs.aws.amazon.com/awscloudtrail/latest/userguide/cloudtrail-event-reference-record-contents.html>

use serde_json::{Map, Value};

use crate::model::{ServiceModel, ShapeType};

/// What CloudTrail writes instead of a sensitive value.
pub const HIDDEN: &str = "HIDDEN_DUE_TO_SECURITY_REASONS";

/// The member CloudTrail leaves out of a record instead of hiding its value.
const OMITTED: &str = "SecretAccessKey";

/// `(requestParameters, responseElements)` of a call to `operation` of `model`.
pub fn cloudtrail_view(
    model: &ServiceModel,
    operation: &str,
    input: &Value,
    output: Option<&Value>,
) -> (Value, Value) {
    let Some(op) = model.operation(operation) else { return (Value::Null, Value::Null) };
    let request = match &op.input {
        Some(r) if input.as_object().is_some_and(|o| !o.is_empty()) => {
            view(model, &r.shape, input, 0)
        }
        _ => Value::Null,
    };
    let response = match (&op.output, output) {
        (Some(r), Some(v)) if v.as_object().is_some_and(|o| !o.is_empty()) => {
            view(model, &r.shape, v, 0)
        }
        _ => Value::Null,
    };
    (request, response)
}

fn lower_first(name: &str) -> String {
    // Member names are ASCII: one allocation, no char iteration.
    match name.as_bytes().first() {
        Some(b) if b.is_ascii() => {
            let mut s = String::with_capacity(name.len());
            s.push(b.to_ascii_lowercase() as char);
            s.push_str(&name[1..]);
            s
        }
        _ => {
            let mut chars = name.chars();
            match chars.next() {
                Some(c) => c.to_lowercase().chain(chars).collect(),
                None => String::new(),
            }
        }
    }
}

fn view(model: &ServiceModel, shape_name: &str, value: &Value, depth: usize) -> Value {
    let Some(shape) = model.shape(shape_name) else { return value.clone() };
    if shape.sensitive {
        return Value::from(HIDDEN);
    }
    if depth > 32 {
        return Value::Null;
    }
    match (shape.kind, value) {
        (ShapeType::Structure, Value::Object(obj)) => {
            let mut res = Map::new();
            for (name, v) in obj {
                if name == OMITTED {
                    continue;
                }
                let member = shape.members.get(name);
                let v = match member {
                    Some(m) => view(model, &m.shape, v, depth + 1),
                    None => v.clone(),
                };
                res.insert(lower_first(name), v);
            }
            Value::Object(res)
        }
        (ShapeType::List, Value::Array(items)) => {
            let member = shape.member.as_ref().map(|m| m.shape.as_str()).unwrap_or_default();
            Value::Array(items.iter().map(|i| view(model, member, i, depth + 1)).collect())
        }
        (ShapeType::Map, Value::Object(obj)) => {
            let vshape = shape.value.as_ref().map(|m| m.shape.as_str()).unwrap_or_default();
            Value::Object(
                obj.iter().map(|(k, v)| (k.clone(), view(model, vshape, v, depth + 1))).collect(),
            )
        }
        (ShapeType::Timestamp, Value::Number(n)) => {
            let t = n.as_f64().and_then(crate::protocol::epoch_to_time);
            t.map(|t| Value::from(t.format("%b %-d, %Y, %-I:%M:%S %p").to_string()))
                .unwrap_or(Value::Null)
        }
        _ => value.clone(),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn members_are_camel_cased_and_secrets_hidden() {
        let model = crate::models::get("iam").unwrap();
        let (req, resp) = cloudtrail_view(
            model,
            "CreateLoginProfile",
            &json!({"UserName": "bob", "Password": "hunter2!", "PasswordResetRequired": true}),
            Some(&json!({"LoginProfile": {"UserName": "bob", "CreateDate": 1_700_000_000}})),
        );
        assert_eq!(
            req,
            json!({"userName": "bob", "password": HIDDEN, "passwordResetRequired": true})
        );
        assert_eq!(resp["loginProfile"]["userName"], "bob");
        let model = crate::models::get("sts").unwrap();
        let (req, resp) =
            cloudtrail_view(model, "GetCallerIdentity", &json!({}), Some(&json!({"Account": "1"})));
        assert_eq!(req, Value::Null);
        assert_eq!(resp, json!({"account": "1"}));
    }

    #[test]
    fn secret_access_keys_are_left_out() {
        // As AWS's AssumeRole and CreateAccessKey events: the key id, never its secret.
        let model = crate::models::get("sts").unwrap();
        let credentials = json!({"Credentials": {
            "AccessKeyId": "ASIAEXAMPLE", "SecretAccessKey": "s3cr3t", "SessionToken": "tok",
            "Expiration": 1_700_000_000
        }});
        let (_, resp) = cloudtrail_view(
            model,
            "AssumeRole",
            &json!({"RoleArn": "arn:aws:iam::1:role/r", "RoleSessionName": "s"}),
            Some(&credentials),
        );
        assert_eq!(
            resp,
            json!({"credentials": {"accessKeyId": "ASIAEXAMPLE", "sessionToken": "tok",
                                   "expiration": "Nov 14, 2023, 10:13:20 PM"}})
        );
        let model = crate::models::get("iam").unwrap();
        let (_, resp) = cloudtrail_view(
            model,
            "CreateAccessKey",
            &json!({"UserName": "bob"}),
            Some(&json!({"AccessKey": {"UserName": "bob", "AccessKeyId": "AKIAEXAMPLE",
                                       "Status": "Active", "SecretAccessKey": "s3cr3t"}})),
        );
        assert_eq!(
            resp,
            json!({"accessKey": {"userName": "bob", "accessKeyId": "AKIAEXAMPLE", "status": "Active"}})
        );
    }
}
