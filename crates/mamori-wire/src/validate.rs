//! Shape-guided checking of the neutral input form: types, required members, lengths,
//! ranges and enum values, reported the way AWS's request validation words them
//! ("1 validation error detected: Value null at 'roleArn' failed to satisfy constraint:
//! Member must not be null").

use serde_json::Value;

use crate::model::{ServiceModel, ShapeType};

/// Collects constraint violations of a neutral input value.
pub(crate) fn check(model: &ServiceModel, shape: &str, value: &Value) -> Vec<String> {
    let mut errors = Vec::new();
    walk(model, shape, value, &At::Root, &mut errors);
    errors
}

/// Where a value lies in the input (`logEvents.3.member.message`), written out only
/// when a violation is reported: a large input (a PutLogEvents batch of thousands of
/// events) is walked without building a string per member.
#[derive(Clone, Copy)]
enum At<'a> {
    Root,
    /// A structure member, by its model name (written with its first letter lowercase).
    Member(&'a At<'a>, &'a str),
    /// A list item, by its index from 0 (written from 1, as `.N.member`).
    Item(&'a At<'a>, usize),
}

impl std::fmt::Display for At<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            At::Root => Ok(()),
            At::Member(parent, name) => {
                if !matches!(parent, At::Root) {
                    write!(f, "{parent}.")?;
                }
                let mut chars = name.chars();
                if let Some(c) = chars.next() {
                    write!(f, "{}{}", c.to_lowercase(), chars.as_str())?;
                }
                Ok(())
            }
            At::Item(parent, i) => write!(f, "{parent}.{}.member", i + 1),
        }
    }
}

/// The AWS message for a list of violations.
pub(crate) fn message(errors: &[String]) -> String {
    let n = errors.len();
    let noun = if n == 1 { "error" } else { "errors" };
    format!("{n} validation {noun} detected: {}", errors.join("; "))
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
    path: &At<'_>,
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
                    let at = At::Member(path, req);
                    errors.push(format!(
                        "Value null at '{at}' failed to satisfy constraint: Member must not be null"
                    ));
                }
            }
            for (name, member) in &shape.members {
                if let Some(v) = obj.get(name) {
                    walk(model, &member.shape, v, &At::Member(path, name), errors);
                }
            }
        }
        ShapeType::List => {
            let Some(items) = value.as_array() else { return };
            bounds(shape.min, shape.max, items.len() as f64, value, path, "length", errors);
            if let Some(member) = &shape.member {
                for (i, item) in items.iter().enumerate() {
                    walk(model, &member.shape, item, &At::Item(path, i), errors);
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
            // A string has at most as many characters as bytes, and at least a quarter
            // as many: the characters are counted only when a bound could be crossed.
            let (fewest, most) = (s.len().div_ceil(4) as f64, s.len() as f64);
            if shape.min.is_some_and(|m| fewest < m) || shape.max.is_some_and(|m| most > m) {
                let len = s.chars().count() as f64;
                bounds(shape.min, shape.max, len, value, path, "length", errors);
            }
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

fn bounds(
    min: Option<f64>,
    max: Option<f64>,
    n: f64,
    value: &Value,
    path: &At<'_>,
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
        let too_long = format!(
            "Value '{}' at 'logGroupName' failed to satisfy constraint: Member must have length less than or equal to 512",
            "é".repeat(600)
        );
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
            // Lengths count characters, not bytes (512 at most): 400 two-byte characters
            // pass, 600 do not.
            (json!({"logGroupName": "é".repeat(400)}), vec![]),
            (json!({"logGroupName": "é".repeat(600)}), vec![&*too_long]),
        ];
        for (input, want) in cases {
            assert_eq!(check(model, "CreateLogGroupRequest", &input), want, "{input}");
        }
        // Paths into lists and nested structures, as AWS writes them.
        let batch = json!({"logGroupName": "g", "logStreamName": "s",
            "logEvents": [{"timestamp": 1, "message": "ok"}, {"message": "x"}, {"timestamp": 2, "message": ""}]});
        assert_eq!(
            check(model, "PutLogEventsRequest", &batch),
            [
                "Value null at 'logEvents.2.member.timestamp' failed to satisfy constraint: Member must not be null",
                "Value '' at 'logEvents.3.member.message' failed to satisfy constraint: Member must have length greater than or equal to 1",
            ]
        );
        let errs = check(model, "PutRetentionPolicyRequest", &json!({"logGroupName": "g"}));
        assert_eq!(errs.len(), 1);
        assert!(
            message(&errs)
                .starts_with("1 validation error detected: Value null at 'retentionInDays'")
        );
    }
}
