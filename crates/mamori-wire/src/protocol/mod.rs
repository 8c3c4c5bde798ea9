//! One codec per AWS protocol, all driven by the service model.
//!
//! Each codec turns a [`WireRequest`] into the neutral input value (see the crate docs)
//! and the neutral output, or an [`AwsError`], into a [`WireResponse`]. The rules follow
//! <https://smithy.io/2.0/aws/protocols/> as botocore's serializers and parsers apply them.

mod cbor;
mod json;
mod query;
mod rest;

pub use query::params as query_params;
pub use rest::{match_uri, specificity};

use bytes::Bytes;
use chrono::{DateTime, Utc};
use mamori_aws::AwsError;
use serde_json::Value;

use crate::model::{Operation, ServiceModel};
use crate::validate;

/// A wire protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    /// awsQuery: form-encoded in, XML out.
    Query,
    /// ec2Query: like query with EC2's list and response rules.
    Ec2,
    /// awsJson 1.0.
    Json10,
    /// awsJson 1.1.
    Json11,
    /// smithy rpc-v2-cbor.
    Cbor,
    /// restJson1.
    RestJson,
    /// restXml.
    RestXml,
}

impl Protocol {
    /// The protocol a model declares for a name in its `protocols` list.
    pub fn from_model_name(name: &str, json_version: Option<&str>) -> Option<Self> {
        Some(match name {
            "query" => Self::Query,
            "ec2" => Self::Ec2,
            "json" if json_version == Some("1.0") => Self::Json10,
            "json" => Self::Json11,
            "smithy-rpc-v2-cbor" => Self::Cbor,
            "rest-json" => Self::RestJson,
            "rest-xml" => Self::RestXml,
            _ => return None,
        })
    }

    /// The code this protocol's services use for request validation failures.
    pub fn validation_code(self) -> &'static str {
        match self {
            Self::Query | Self::Ec2 => "ValidationError",
            _ => "ValidationException",
        }
    }

    /// The code for a request whose body cannot be read in this protocol.
    pub fn serialization_code(self) -> &'static str {
        match self {
            Self::Query | Self::Ec2 => "MalformedQueryString",
            Self::RestXml => "MalformedXML",
            _ => "SerializationException",
        }
    }
}

/// A request as the codecs see it.
#[derive(Debug)]
pub struct WireRequest<'a> {
    /// HTTP method.
    pub method: &'a str,
    /// The raw (percent-encoded) path.
    pub path: &'a str,
    /// The raw query string, without `?`.
    pub query: &'a str,
    /// Request headers.
    pub headers: &'a http::HeaderMap,
    /// The request body (already de-chunked).
    pub body: &'a Bytes,
}

impl WireRequest<'_> {
    /// A header as text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// A response ready for the socket.
#[derive(Debug, Clone)]
pub struct WireResponse {
    /// HTTP status.
    pub status: u16,
    /// Response headers.
    pub headers: Vec<(String, String)>,
    /// Response body.
    pub body: Bytes,
}

impl WireResponse {
    fn new(status: u16, content_type: &str, body: impl Into<Bytes>) -> Self {
        Self {
            status,
            headers: vec![("content-type".into(), content_type.into())],
            body: body.into(),
        }
    }

    /// A header of the response.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

/// Per-request facts the encoders need.
#[derive(Debug, Clone, Copy)]
pub struct EncodeCtx<'a> {
    /// The request id written into the body and headers.
    pub request_id: &'a str,
    /// The client asked for query-compatible errors (`x-amzn-query-mode: true`).
    pub query_mode: bool,
}

/// Decodes the input of `op` from a request in `protocol`, then validates it.
pub fn decode_input(
    model: &ServiceModel,
    op: &Operation,
    protocol: Protocol,
    req: &WireRequest<'_>,
) -> Result<Value, AwsError> {
    let Some(input) = &op.input else { return Ok(Value::Object(Default::default())) };
    let value = match protocol {
        Protocol::Query | Protocol::Ec2 => query::decode(model, &input.shape, protocol, req)?,
        Protocol::Json10 | Protocol::Json11 => json::decode(model, &input.shape, req.body)?,
        Protocol::Cbor => cbor::decode(model, &input.shape, req.body)?,
        Protocol::RestJson | Protocol::RestXml => {
            rest::decode(model, op, &input.shape, protocol, req)?
        }
    };
    let errors = validate::check(model, &input.shape, &value);
    if errors.is_empty() {
        Ok(value)
    } else {
        Err(AwsError::new(validation_code(model, protocol), validate::message(&errors)))
    }
}

/// Checks an internal call's input against the model: a call a service makes on a
/// caller's behalf with values the caller wrote (CloudFormation resource properties)
/// never passed [`decode_input`]. The error is the one the service answers over its
/// primary protocol.
pub fn validate_input(
    model: &ServiceModel,
    operation: &str,
    value: &Value,
) -> Result<(), AwsError> {
    let Some(input) = model.operations.get(operation).and_then(|op| op.input.as_ref()) else {
        return Ok(());
    };
    let errors = validate::check(model, &input.shape, value);
    if errors.is_empty() {
        return Ok(());
    }
    let protocol =
        Protocol::from_model_name(&model.metadata.protocol, model.metadata.json_version.as_deref())
            .unwrap_or(Protocol::Json11);
    Err(AwsError::new(validation_code(model, protocol), validate::message(&errors))
        .with_status(400))
}

/// The error a service answers when a request breaks the model's constraints. Most use
/// the protocol's generic code; CloudWatch Logs and SNS answer with their own
/// invalid-parameter error (recorded: a 513-character log group name is
/// `InvalidParameterException` in Logs; SNS says `InvalidParameter`).
fn validation_code(model: &ServiceModel, protocol: Protocol) -> &'static str {
    match model.id {
        "logs" | "sns" => "InvalidParameterException",
        _ => protocol.validation_code(),
    }
}

/// Encodes a handler's neutral output for `op`.
pub fn encode_output(
    model: &ServiceModel,
    op: &Operation,
    protocol: Protocol,
    output: &Value,
    ctx: EncodeCtx<'_>,
) -> Result<WireResponse, AwsError> {
    let mut resp = match protocol {
        Protocol::Query | Protocol::Ec2 => {
            query::encode(model, op, protocol, output, ctx.request_id)?
        }
        Protocol::Json10 | Protocol::Json11 => json::encode(model, op, protocol, output)?,
        Protocol::Cbor => cbor::encode(model, op, output)?,
        Protocol::RestJson | Protocol::RestXml => rest::encode(model, op, protocol, output)?,
    };
    add_request_id(&mut resp, protocol, ctx.request_id);
    Ok(resp)
}

/// Encodes an error in the protocol's own shape. `model` is `None` when the service is
/// unknown; the error's status then falls back to 400 (sender) or 500 (receiver).
pub fn encode_error(
    model: Option<&ServiceModel>,
    protocol: Protocol,
    err: &AwsError,
    ctx: EncodeCtx<'_>,
) -> WireResponse {
    let (wire_code, model_status) = match model {
        Some(m) => m.error_wire(&err.code),
        None => (err.code.clone(), None),
    };
    let status =
        err.status.or(model_status).unwrap_or(if err.is_server_fault() { 500 } else { 400 });
    let fault = if err.is_server_fault() || status >= 500 { "Receiver" } else { "Sender" };
    let query_compatible = model.is_some_and(|m| m.metadata.query_compatible());
    let mut resp = match protocol {
        Protocol::Query => {
            query::encode_error(model, &wire_code, fault, err, status, ctx.request_id)
        }
        Protocol::Ec2 => query::encode_ec2_error(&wire_code, err, status, ctx.request_id),
        Protocol::Json10 | Protocol::Json11 => json::encode_error(protocol, &err.code, err, status),
        Protocol::Cbor => cbor::encode_error(&err.code, err, status),
        Protocol::RestJson => rest::encode_json_error(&err.code, err, status),
        Protocol::RestXml => rest::encode_xml_error(&wire_code, err, status, ctx.request_id),
    };
    if query_compatible && matches!(protocol, Protocol::Json10 | Protocol::Json11 | Protocol::Cbor)
    {
        resp.headers.push(("x-amzn-query-error".into(), format!("{wire_code};{fault}")));
    }
    add_request_id(&mut resp, protocol, ctx.request_id);
    resp
}

fn add_request_id(resp: &mut WireResponse, protocol: Protocol, request_id: &str) {
    if protocol == Protocol::RestXml {
        resp.headers.push(("x-amz-request-id".into(), request_id.to_owned()));
        resp.headers.push(("x-amz-id-2".into(), request_id.to_owned()));
    } else {
        resp.headers.push(("x-amzn-requestid".into(), request_id.to_owned()));
    }
}

/// Epoch seconds (the neutral timestamp form) to a UTC time.
pub fn epoch_to_time(secs: f64) -> Option<DateTime<Utc>> {
    let millis = (secs * 1000.0).round();
    if !millis.is_finite() {
        return None;
    }
    DateTime::from_timestamp_millis(millis as i64)
}

/// A UTC time to epoch seconds with millisecond precision.
pub(crate) fn time_to_epoch(t: DateTime<Utc>) -> Value {
    let millis = t.timestamp_millis();
    if millis % 1000 == 0 {
        Value::from(millis / 1000)
    } else {
        Value::from(millis as f64 / 1000.0)
    }
}

/// Parses a timestamp in any form AWS clients send: ISO 8601, RFC 822 or epoch seconds.
pub(crate) fn parse_timestamp(text: &str) -> Option<Value> {
    if let Ok(n) = text.parse::<f64>() {
        return Some(Value::from(n));
    }
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return Some(time_to_epoch(t.with_timezone(&Utc)));
    }
    if let Ok(t) = DateTime::parse_from_rfc2822(text) {
        return Some(time_to_epoch(t.with_timezone(&Utc)));
    }
    // ISO 8601 without an offset (`2024-01-01T00:00:00`) is read as UTC.
    chrono::NaiveDateTime::parse_from_str(text.trim_end_matches('Z'), "%Y-%m-%dT%H:%M:%S%.f")
        .ok()
        .map(|t| time_to_epoch(t.and_utc()))
}

/// Formats a neutral timestamp for text protocols.
pub(crate) fn format_timestamp(value: &Value, format: &str) -> Option<String> {
    let secs = value.as_f64()?;
    let t = epoch_to_time(secs)?;
    Some(match format {
        "rfc822" => t.format("%a, %d %b %Y %H:%M:%S GMT").to_string(),
        "unixTimestamp" => match value.as_i64() {
            Some(i) => i.to_string(),
            None => format!("{secs:.3}"),
        },
        _ => mamori_aws::timestamp_iso8601(t),
    })
}

fn mismatch(protocol: Protocol, what: &str, path: &str) -> AwsError {
    AwsError::new(protocol.serialization_code(), format!("Expected {what} for member '{path}'"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_round_trip() {
        for text in ["2020-09-13T12:26:40.005Z", "1600000000.005", "Sun, 13 Sep 2020 12:26:40 GMT"]
        {
            let v = parse_timestamp(text).unwrap();
            let secs = v.as_f64().unwrap();
            assert!((secs - 1_600_000_000.0).abs() < 0.01, "{text}: {v}");
        }
        let v = parse_timestamp("2020-09-13T12:26:40.005Z").unwrap();
        assert_eq!(format_timestamp(&v, "iso8601").unwrap(), "2020-09-13T12:26:40.005Z");
        assert_eq!(
            format_timestamp(&Value::from(0), "rfc822").unwrap(),
            "Thu, 01 Jan 1970 00:00:00 GMT"
        );
        assert!(parse_timestamp("yesterday").is_none());
    }
}
