//! smithy rpc-v2-cbor: `POST /service/<Service>/operation/<Op>`, CBOR bodies both ways.
//! <https://smithy.io/2.0/additional-specs/protocols/smithy-rpc-v2.html>

use base64::Engine;
use bytes::Bytes;
use ciborium::Value as Cbor;
use mamori_aws::AwsError;
use serde_json::{Map, Value};

use super::{Protocol, WireResponse};
use crate::model::{Operation, ServiceModel, ShapeType};

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

pub(super) fn decode(model: &ServiceModel, shape: &str, body: &Bytes) -> Result<Value, AwsError> {
    if body.is_empty() {
        return Ok(Value::Object(Map::new()));
    }
    let cbor: Cbor = ciborium::from_reader(body.as_ref()).map_err(|e| {
        AwsError::new("SerializationException", format!("Malformed CBOR request body: {e}"))
    })?;
    if !cbor.is_map() {
        return Err(AwsError::new("SerializationException", "The request body must be a CBOR map"));
    }
    let json = to_json(cbor, 0)?;
    super::json::conform_input(model, shape, json, "", Protocol::Cbor)
}

fn to_json(v: Cbor, depth: usize) -> Result<Value, AwsError> {
    if depth > 64 {
        return Err(AwsError::new("SerializationException", "CBOR nesting is too deep"));
    }
    Ok(match v {
        Cbor::Integer(i) => {
            let i: i128 = i.into();
            i64::try_from(i).map(Value::from).unwrap_or_else(|_| Value::from(i as f64))
        }
        Cbor::Float(f) if f.is_nan() => Value::from("NaN"),
        Cbor::Float(f) if f.is_infinite() => {
            Value::from(if f > 0.0 { "Infinity" } else { "-Infinity" })
        }
        Cbor::Float(f) => Value::from(f),
        Cbor::Bytes(b) => Value::from(B64.encode(b)),
        Cbor::Text(s) => Value::from(s),
        Cbor::Bool(b) => Value::Bool(b),
        Cbor::Null => Value::Null,
        // Tag 1 is an epoch-seconds timestamp; other tags are unwrapped.
        Cbor::Tag(_, inner) => to_json(*inner, depth + 1)?,
        Cbor::Array(items) => Value::Array(
            items.into_iter().map(|i| to_json(i, depth + 1)).collect::<Result<_, _>>()?,
        ),
        Cbor::Map(entries) => {
            let mut obj = Map::new();
            for (k, v) in entries {
                let Cbor::Text(k) = k else {
                    return Err(AwsError::new(
                        "SerializationException",
                        "CBOR map keys must be text",
                    ));
                };
                obj.insert(k, to_json(v, depth + 1)?);
            }
            Value::Object(obj)
        }
        _ => Value::Null,
    })
}

fn to_cbor(model: &ServiceModel, shape_name: &str, v: &Value) -> Cbor {
    let kind = model.shape(shape_name).map(|s| s.kind);
    match (kind, v) {
        (Some(ShapeType::Structure), Value::Object(obj)) => {
            let shape = model.shape(shape_name);
            Cbor::Map(
                obj.iter()
                    .filter(|(_, v)| !v.is_null())
                    .map(|(k, v)| {
                        let member = shape.and_then(|s| s.members.get(k)).map(|m| m.shape.as_str());
                        (Cbor::Text(k.clone()), to_cbor(model, member.unwrap_or_default(), v))
                    })
                    .collect(),
            )
        }
        (Some(ShapeType::List), Value::Array(items)) => {
            let member =
                model.shape(shape_name).and_then(|s| s.member.as_ref()).map(|m| m.shape.clone());
            Cbor::Array(
                items
                    .iter()
                    .map(|i| to_cbor(model, member.as_deref().unwrap_or_default(), i))
                    .collect(),
            )
        }
        (Some(ShapeType::Map), Value::Object(obj)) => {
            let vshape =
                model.shape(shape_name).and_then(|s| s.value.as_ref()).map(|m| m.shape.clone());
            Cbor::Map(
                obj.iter()
                    .map(|(k, v)| {
                        (
                            Cbor::Text(k.clone()),
                            to_cbor(model, vshape.as_deref().unwrap_or_default(), v),
                        )
                    })
                    .collect(),
            )
        }
        (Some(ShapeType::Timestamp), Value::Number(n)) => {
            Cbor::Tag(1, Box::new(Cbor::Float(n.as_f64().unwrap_or_default())))
        }
        (Some(ShapeType::Blob), Value::String(s)) => Cbor::Bytes(B64.decode(s).unwrap_or_default()),
        (Some(ShapeType::Float | ShapeType::Double), Value::String(s)) => {
            Cbor::Float(match s.as_str() {
                "Infinity" => f64::INFINITY,
                "-Infinity" => f64::NEG_INFINITY,
                _ => f64::NAN,
            })
        }
        (Some(ShapeType::Float | ShapeType::Double), Value::Number(n)) => {
            Cbor::Float(n.as_f64().unwrap_or_default())
        }
        (_, Value::Number(n)) => match n.as_i64() {
            Some(i) => Cbor::Integer(i.into()),
            None => Cbor::Float(n.as_f64().unwrap_or_default()),
        },
        (_, Value::String(s)) => Cbor::Text(s.clone()),
        (_, Value::Bool(b)) => Cbor::Bool(*b),
        (_, Value::Null) => Cbor::Null,
        (_, Value::Array(items)) => {
            Cbor::Array(items.iter().map(|i| to_cbor(model, "", i)).collect())
        }
        (_, Value::Object(obj)) => Cbor::Map(
            obj.iter().map(|(k, v)| (Cbor::Text(k.clone()), to_cbor(model, "", v))).collect(),
        ),
    }
}

fn response(status: u16, body: &Cbor) -> WireResponse {
    let mut bytes = Vec::new();
    // Writing into a Vec cannot fail.
    let _ = ciborium::into_writer(body, &mut bytes);
    let mut resp = WireResponse::new(status, "application/cbor", bytes);
    resp.headers.push(("smithy-protocol".into(), "rpc-v2-cbor".into()));
    resp
}

pub(super) fn encode(
    model: &ServiceModel,
    op: &Operation,
    output: &Value,
) -> Result<WireResponse, AwsError> {
    let body = match &op.output {
        Some(out) => {
            let checked = super::json::conform_output(model, &out.shape, output, "")?;
            to_cbor(model, &out.shape, &checked)
        }
        None => Cbor::Map(Vec::new()),
    };
    Ok(response(200, &body))
}

pub(super) fn encode_error(code: &str, err: &AwsError, status: u16) -> WireResponse {
    let mut entries = vec![
        (Cbor::Text("__type".into()), Cbor::Text(code.into())),
        (Cbor::Text("message".into()), Cbor::Text(err.message.clone())),
    ];
    for (k, v) in &err.extra {
        entries.push((Cbor::Text(k.clone()), to_cbor_plain(v)));
    }
    response(status, &Cbor::Map(entries))
}

fn to_cbor_plain(v: &Value) -> Cbor {
    match v {
        Value::String(s) => Cbor::Text(s.clone()),
        Value::Bool(b) => Cbor::Bool(*b),
        Value::Number(n) => n
            .as_i64()
            .map(|i| Cbor::Integer(i.into()))
            .unwrap_or(Cbor::Float(n.as_f64().unwrap_or_default())),
        _ => Cbor::Null,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn round_trips_timestamps_and_numbers() {
        let model = crate::models::get("cloudwatch").unwrap();
        let input = Cbor::Map(vec![
            (Cbor::Text("Namespace".into()), Cbor::Text("App".into())),
            (
                Cbor::Text("MetricData".into()),
                Cbor::Array(vec![Cbor::Map(vec![
                    (Cbor::Text("MetricName".into()), Cbor::Text("Errors".into())),
                    (Cbor::Text("Timestamp".into()), Cbor::Tag(1, Box::new(Cbor::Float(1.6e9)))),
                    (Cbor::Text("Value".into()), Cbor::Integer(3.into())),
                ])]),
            ),
        ]);
        let mut bytes = Vec::new();
        ciborium::into_writer(&input, &mut bytes).unwrap();
        let v = decode(model, "PutMetricDataInput", &Bytes::from(bytes)).unwrap();
        assert_eq!(
            v,
            json!({"Namespace": "App", "MetricData": [{"MetricName": "Errors", "Timestamp": 1.6e9, "Value": 3}]})
        );
        assert!(decode(model, "PutMetricDataInput", &Bytes::from_static(b"\xff\x00")).is_err());
    }
}
