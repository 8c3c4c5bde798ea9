//! awsJson 1.0 and 1.1: `POST /` with `X-Amz-Target`, JSON bodies both ways, errors as
//! `{"__type": ..., "message": ...}`.
//! <https://smithy.io/2.0/aws/protocols/aws-json-1_1-protocol.html>

use bytes::Bytes;
use mamori_aws::AwsError;
use serde_json::{Map, Value};

use super::{Protocol, WireResponse, mismatch, parse_timestamp};
use crate::model::{Operation, ServiceModel, ShapeType};

pub(super) fn decode(model: &ServiceModel, shape: &str, body: &Bytes) -> Result<Value, AwsError> {
    let value: Value = if body.iter().all(u8::is_ascii_whitespace) {
        Value::Object(Map::new())
    } else {
        serde_json::from_slice(body).map_err(|e| {
            AwsError::new("SerializationException", format!("Malformed JSON request body: {e}"))
        })?
    };
    if !value.is_object() {
        return Err(AwsError::new(
            "SerializationException",
            "The request body must be a JSON object",
        ));
    }
    conform_input(model, shape, value, "", Protocol::Json11)
}

/// Type-checks a JSON-shaped input against `shape`, normalizing timestamps to epoch
/// seconds and dropping nulls and members the model does not know.
pub(super) fn conform_input(
    model: &ServiceModel,
    shape_name: &str,
    value: Value,
    path: &str,
    protocol: Protocol,
) -> Result<Value, AwsError> {
    let Some(shape) = model.shape(shape_name) else { return Ok(value) };
    let at = |name: &str| if path.is_empty() { name.to_owned() } else { format!("{path}.{name}") };
    Ok(match (shape.kind, value) {
        (ShapeType::Structure, Value::Object(obj)) => {
            let mut res = Map::new();
            for (name, v) in obj {
                if v.is_null() {
                    continue;
                }
                if let Some(member) = shape.members.get(&name) {
                    let v = conform_input(model, &member.shape, v, &at(&name), protocol)?;
                    res.insert(name, v);
                }
            }
            Value::Object(res)
        }
        (ShapeType::List, Value::Array(items)) => {
            let member = shape.member.as_ref().map(|m| m.shape.as_str()).unwrap_or_default();
            let items = items
                .into_iter()
                .filter(|v| !v.is_null())
                .map(|v| conform_input(model, member, v, path, protocol))
                .collect::<Result<_, _>>()?;
            Value::Array(items)
        }
        (ShapeType::Map, Value::Object(obj)) => {
            let vshape = shape.value.as_ref().map(|m| m.shape.as_str()).unwrap_or_default();
            let mut res = Map::new();
            for (k, v) in obj {
                if !v.is_null() {
                    res.insert(k, conform_input(model, vshape, v, path, protocol)?);
                }
            }
            Value::Object(res)
        }
        (ShapeType::String, v @ Value::String(_)) => v,
        (ShapeType::Blob, v @ Value::String(_)) => v,
        (ShapeType::Boolean, v @ Value::Bool(_)) => v,
        (ShapeType::Integer | ShapeType::Long, Value::Number(n)) => {
            match n.as_i64().or_else(|| n.as_f64().filter(|f| f.fract() == 0.0).map(|f| f as i64)) {
                Some(i) => Value::from(i),
                None => return Err(mismatch(protocol, "an integer", path)),
            }
        }
        (ShapeType::Float | ShapeType::Double, v @ Value::Number(_)) => v,
        // Smithy JSON protocols send non-finite doubles as strings.
        (ShapeType::Float | ShapeType::Double, Value::String(s))
            if matches!(s.as_str(), "NaN" | "Infinity" | "-Infinity") =>
        {
            Value::String(s)
        }
        (ShapeType::Timestamp, v @ Value::Number(_)) => v,
        (ShapeType::Timestamp, Value::String(s)) => {
            parse_timestamp(&s).ok_or_else(|| mismatch(protocol, "a timestamp", path))?
        }
        (kind, _) => return Err(mismatch(protocol, type_word(kind), path)),
    })
}

pub(super) fn type_word(kind: ShapeType) -> &'static str {
    match kind {
        ShapeType::Structure => "an object",
        ShapeType::List => "a list",
        ShapeType::Map => "a map",
        ShapeType::String => "a string",
        ShapeType::Integer | ShapeType::Long => "an integer",
        ShapeType::Float | ShapeType::Double => "a number",
        ShapeType::Boolean => "a boolean",
        ShapeType::Timestamp => "a timestamp",
        ShapeType::Blob => "a base64 string",
    }
}

/// Checks a handler's output against the model: in debug builds a member the model does
/// not have is an error (a handler bug caught by tests), in release it is dropped.
pub(super) fn conform_output(
    model: &ServiceModel,
    shape_name: &str,
    value: &Value,
    path: &str,
) -> Result<Value, AwsError> {
    let Some(shape) = model.shape(shape_name) else { return Ok(value.clone()) };
    let bug =
        |what: &str| AwsError::internal(format!("output of {shape_name} at '{path}': {what}"));
    Ok(match (shape.kind, value) {
        (ShapeType::Structure, Value::Object(obj)) => {
            let mut res = Map::new();
            for (name, v) in obj {
                if v.is_null() {
                    continue;
                }
                match shape.members.get(name) {
                    Some(member) => {
                        let p = format!("{path}.{name}");
                        res.insert(name.clone(), conform_output(model, &member.shape, v, &p)?);
                    }
                    None if cfg!(debug_assertions) => {
                        return Err(bug(&format!("unknown member {name}")));
                    }
                    None => {}
                }
            }
            Value::Object(res)
        }
        (ShapeType::List, Value::Array(items)) => {
            let member = shape.member.as_ref().map(|m| m.shape.as_str()).unwrap_or_default();
            Value::Array(
                items
                    .iter()
                    .map(|v| conform_output(model, member, v, path))
                    .collect::<Result<_, _>>()?,
            )
        }
        (ShapeType::Map, Value::Object(obj)) => {
            let vshape = shape.value.as_ref().map(|m| m.shape.as_str()).unwrap_or_default();
            let mut res = Map::new();
            for (k, v) in obj {
                res.insert(k.clone(), conform_output(model, vshape, v, path)?);
            }
            Value::Object(res)
        }
        (ShapeType::String | ShapeType::Blob, Value::String(_))
        | (ShapeType::Boolean, Value::Bool(_))
        | (
            ShapeType::Integer | ShapeType::Long | ShapeType::Float | ShapeType::Double,
            Value::Number(_),
        )
        | (ShapeType::Timestamp, Value::Number(_)) => value.clone(),
        (ShapeType::Float | ShapeType::Double, Value::String(s))
            if matches!(s.as_str(), "NaN" | "Infinity" | "-Infinity") =>
        {
            value.clone()
        }
        (kind, _) => return Err(bug(&format!("expected {}", type_word(kind)))),
    })
}

pub(super) fn encode(
    model: &ServiceModel,
    op: &Operation,
    protocol: Protocol,
    output: &Value,
) -> Result<WireResponse, AwsError> {
    let body = match &op.output {
        Some(out) => conform_output(model, &out.shape, output, "")?,
        None => Value::Object(Map::new()),
    };
    let bytes = serde_json::to_vec(&body).map_err(AwsError::internal)?;
    Ok(WireResponse::new(200, content_type(protocol), bytes))
}

fn content_type(protocol: Protocol) -> &'static str {
    if protocol == Protocol::Json10 {
        "application/x-amz-json-1.0"
    } else {
        "application/x-amz-json-1.1"
    }
}

pub(super) fn encode_error(
    protocol: Protocol,
    code: &str,
    err: &AwsError,
    status: u16,
) -> WireResponse {
    let mut body = err.extra.clone();
    body.insert("__type".into(), Value::from(code));
    body.insert("message".into(), Value::from(err.message.as_str()));
    let bytes = serde_json::to_vec(&body).unwrap_or_default();
    let mut resp = WireResponse::new(status, content_type(protocol), bytes);
    resp.headers.push(("x-amzn-errortype".into(), code.to_owned()));
    resp
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn input_types_are_checked() {
        let model = crate::models::get("logs").unwrap();
        let shape = "PutLogEventsRequest";
        let ok = json!({"logGroupName": "g", "logStreamName": "s",
                        "logEvents": [{"timestamp": 1, "message": "m"}], "unknown": 1});
        let got = conform_input(model, shape, ok, "", Protocol::Json11).unwrap();
        assert!(got.get("unknown").is_none());
        let bad = json!({"logGroupName": 5});
        let err = conform_input(model, shape, bad, "", Protocol::Json11).unwrap_err();
        assert_eq!(err.code, "SerializationException");
        assert!(err.message.contains("logGroupName"), "{}", err.message);
        let bad = json!({"logEvents": [{"timestamp": "soon"}]});
        assert!(conform_input(model, shape, bad, "", Protocol::Json11).is_err());
    }

    #[test]
    fn malformed_bodies() {
        let model = crate::models::get("logs").unwrap();
        for body in ["{", "[1]", "\u{0}", "\"x\""] {
            let err = decode(model, "CreateLogGroupRequest", &Bytes::from(body)).unwrap_err();
            assert_eq!(err.code, "SerializationException", "{body}");
        }
        assert!(decode(model, "CreateLogGroupRequest", &Bytes::new()).is_ok());
    }

    #[test]
    fn unknown_output_members_are_bugs_in_debug() {
        let model = crate::models::get("sts").unwrap();
        let err = conform_output(model, "GetCallerIdentityResponse", &json!({"Nope": 1}), "");
        assert!(err.is_err());
    }
}
