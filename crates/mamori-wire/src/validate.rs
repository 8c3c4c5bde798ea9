//! Shape-guided checking of the neutral input form: types, required members, lengths,
//! ranges and enum values, reported the way AWS's request validation words them
//! ("1 validation error detected: Value null at 'roleArn' failed to satisfy constraint:
//! Member must not be null").

use serde_json::Value;

use crate::model::{ServiceModel, ShapeType};

/// Collects constraint violations of a neutral input value.
pub(crate) fn check(model: &ServiceModel, shape: &str, value: &Value) -> Vec<String> {
    let mut errors = Vec::new();
    walk(model, shape, value, "", &mut errors);
    errors
}

/// The AWS message for a list of violations.
pub(crate) fn message(errors: &[String]) -> String {
    let n = errors.len();
    let noun = if n == 1 { "error" } else { "errors" };
    format!("{n} validation {noun} detected: {}", errors.join("; "))
}

fn lower_first(name: &str) -> String {
    let mut chars = name.chars();
    match chars.next() {
        Some(c) => c.to_lowercase().chain(chars).collect(),
        None => String::new(),
    }
}

fn show(value: &Value) -> String {
    match value {
        Value::String(s) => format!("'{s}'"),
        other => format!("'{other}'"),
    }
}

fn walk(
    model: &ServiceModel,
    shape_name: &str,
    value: &Value,
    path: &str,
    errors: &mut Vec<String>,
) {
    let Some(shape) = model.shape(shape_name) else { return };
    if errors.len() >= 10 {
        return;
    }
    match shape.kind {
        ShapeType::Structure => {
            let Some(obj) = value.as_object() else { return };
            for req in &shape.required {
                if obj.get(req).is_none_or(Value::is_null) {
                    let at = join(path, &lower_first(req));
                    errors.push(format!(
                        "Value null at '{at}' failed to satisfy constraint: Member must not be null"
                    ));
                }
            }
            for (name, member) in &shape.members {
                if let Some(v) = obj.get(name) {
                    walk(model, &member.shape, v, &join(path, &lower_first(name)), errors);
                }
            }
        }
        ShapeType::List => {
            let Some(items) = value.as_array() else { return };
            bounds(shape.min, shape.max, items.len() as f64, value, path, "length", errors);
            if let Some(member) = &shape.member {
                for (i, item) in items.iter().enumerate() {
                    walk(model, &member.shape, item, &format!("{path}.{}.member", i + 1), errors);
                }
            }
        }
        ShapeType::Map => {
            let Some(obj) = value.as_object() else { return };
            bounds(shape.min, shape.max, obj.len() as f64, value, path, "length", errors);
            if let Some(v) = &shape.value {
                for item in obj.values() {
                    walk(model, &v.shape, item, path, errors);
                }
            }
        }
        ShapeType::String => {
            let Some(s) = value.as_str() else { return };
            let len = s.chars().count() as f64;
            bounds(shape.min, shape.max, len, value, path, "length", errors);
            if let Some(allowed) = &shape.enum_values
                && !allowed.iter().any(|a| a == s)
            {
                errors.push(format!(
                    "Value {} at '{path}' failed to satisfy constraint: Member must satisfy enum value set: [{}]",
                    show(value),
                    allowed.join(", ")
                ));
            }
        }
        ShapeType::Integer | ShapeType::Long | ShapeType::Float | ShapeType::Double => {
            if let Some(n) = value.as_f64() {
                bounds(shape.min, shape.max, n, value, path, "value", errors);
            }
        }
        ShapeType::Blob | ShapeType::Boolean | ShapeType::Timestamp => {}
    }
}

fn join(path: &str, name: &str) -> String {
    if path.is_empty() { name.to_owned() } else { format!("{path}.{name}") }
}

fn bounds(
    min: Option<f64>,
    max: Option<f64>,
    n: f64,
    value: &Value,
    path: &str,
    what: &str,
    errors: &mut Vec<String>,
) {
    let fmt = |x: f64| if x.fract() == 0.0 { format!("{}", x as i64) } else { x.to_string() };
    if let Some(min) = min
        && n < min
    {
        errors.push(format!(
            "Value {} at '{path}' failed to satisfy constraint: Member must have {what} greater than or equal to {}",
            show(value),
            fmt(min)
        ));
    }
    if let Some(max) = max
        && n > max
    {
        errors.push(format!(
            "Value {} at '{path}' failed to satisfy constraint: Member must have {what} less than or equal to {}",
            show(value),
            fmt(max)
        ));
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn reports_in_aws_form() {
        let model = crate::models::get("logs").unwrap();
        let cases = [
            (
                json!({}),
                vec![
                    "Value null at 'logGroupName' failed to satisfy constraint: Member must not be null",
                ],
            ),
            (
                json!({"logGroupName": ""}),
                vec![
                    "Value '' at 'logGroupName' failed to satisfy constraint: Member must have length greater than or equal to 1",
                ],
            ),
            (json!({"logGroupName": "ok"}), vec![]),
        ];
        for (input, want) in cases {
            assert_eq!(check(model, "CreateLogGroupRequest", &input), want, "{input}");
        }
        let errs = check(model, "PutRetentionPolicyRequest", &json!({"logGroupName": "g"}));
        assert_eq!(errs.len(), 1);
        assert!(
            message(&errs)
                .starts_with("1 validation error detected: Value null at 'retentionInDays'")
        );
    }
}
