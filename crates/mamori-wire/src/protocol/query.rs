//! awsQuery and ec2Query: form-encoded parameters in, XML out.
//! <https://smithy.io/2.0/aws/protocols/aws-query-protocol.html>,
//! <https://smithy.io/2.0/aws/protocols/aws-ec2-query-protocol.html>

use std::collections::BTreeMap;

use base64::Engine;
use mamori_aws::AwsError;
use quick_xml::escape::escape;
use serde_json::{Map, Value};

use super::{Protocol, WireRequest, WireResponse, parse_timestamp};
use crate::model::{Member, Operation, ServiceModel, ShapeType};
use crate::xml;

/// The parameters of a query request: the URL query string plus a form body.
pub fn params(req: &WireRequest<'_>) -> BTreeMap<String, String> {
    let mut res: BTreeMap<String, String> =
        form_urlencoded::parse(req.query.as_bytes()).into_owned().collect();
    let form = req
        .header("content-type")
        .is_none_or(|ct| ct.to_ascii_lowercase().starts_with("application/x-www-form-urlencoded"));
    if form && req.method == "POST" {
        res.extend(form_urlencoded::parse(req.body).into_owned());
    }
    res
}

type Params = BTreeMap<String, String>;

pub(super) fn decode(
    model: &ServiceModel,
    shape: &str,
    protocol: Protocol,
    req: &WireRequest<'_>,
) -> Result<Value, AwsError> {
    if std::str::from_utf8(req.body).is_err() {
        return Err(AwsError::new("MalformedQueryString", "The request body is not valid UTF-8"));
    }
    let params = params(req);
    let d = Decoder { model, params: &params, protocol };
    Ok(d.structure(shape, "")?.unwrap_or_else(|| Value::Object(Map::new())))
}

struct Decoder<'a> {
    model: &'a ServiceModel,
    params: &'a Params,
    protocol: Protocol,
}

fn join(prefix: &str, name: &str) -> String {
    if prefix.is_empty() { name.to_owned() } else { format!("{prefix}.{name}") }
}

impl Decoder<'_> {
    fn has_prefix(&self, key: &str) -> bool {
        if self.params.contains_key(key) {
            return true;
        }
        let dotted = format!("{key}.");
        self.params.range(dotted.clone()..).next().is_some_and(|(k, _)| k.starts_with(&dotted))
    }

    fn member_name(&self, name: &str, member: &Member) -> String {
        if self.protocol == Protocol::Ec2 {
            if let Some(q) = &member.query_name {
                return q.clone();
            }
            if let Some(l) = &member.location_name {
                let mut c = l.chars();
                return c.next().map(|f| f.to_uppercase().chain(c).collect()).unwrap_or_default();
            }
            return name.to_owned();
        }
        member.location_name.clone().unwrap_or_else(|| name.to_owned())
    }

    fn structure(&self, shape_name: &str, prefix: &str) -> Result<Option<Value>, AwsError> {
        let Some(shape) = self.model.shape(shape_name) else { return Ok(None) };
        let mut res = Map::new();
        for (name, member) in &shape.members {
            let key = join(prefix, &self.member_name(name, member));
            if let Some(v) = self.value(member, &key)? {
                res.insert(name.clone(), v);
            }
        }
        Ok((!res.is_empty() || prefix.is_empty() || self.params.contains_key(prefix))
            .then_some(Value::Object(res)))
    }

    fn value(&self, member: &Member, key: &str) -> Result<Option<Value>, AwsError> {
        let Some(shape) = self.model.shape(&member.shape) else { return Ok(None) };
        let flattened = member.flattened || shape.flattened || self.protocol == Protocol::Ec2;
        match shape.kind {
            ShapeType::Structure => {
                if !self.has_prefix(key) {
                    return Ok(None);
                }
                self.structure(&member.shape, key)
            }
            ShapeType::List => {
                if self.params.get(key).is_some_and(String::is_empty) {
                    return Ok(Some(Value::Array(Vec::new())));
                }
                let Some(item) = &shape.member else { return Ok(None) };
                let list_prefix = if flattened {
                    match (&item.location_name, self.protocol) {
                        (Some(name), Protocol::Query) => match key.rsplit_once('.') {
                            Some((head, _)) => format!("{head}.{name}"),
                            None => name.clone(),
                        },
                        _ => key.to_owned(),
                    }
                } else {
                    format!("{key}.{}", item.location_name.as_deref().unwrap_or("member"))
                };
                let mut items = Vec::new();
                for i in 1.. {
                    let k = format!("{list_prefix}.{i}");
                    if !self.has_prefix(&k) {
                        break;
                    }
                    if let Some(v) = self.value(item, &k)? {
                        items.push(v);
                    }
                }
                Ok((!items.is_empty()).then_some(Value::Array(items)))
            }
            ShapeType::Map => {
                let (Some(kmember), Some(vmember)) = (&shape.key, &shape.value) else {
                    return Ok(None);
                };
                let base = if flattened { key.to_owned() } else { format!("{key}.entry") };
                let kname = kmember.location_name.as_deref().unwrap_or("key");
                let vname = vmember.location_name.as_deref().unwrap_or("value");
                let mut res = Map::new();
                for i in 1.. {
                    let entry = format!("{base}.{i}");
                    if !self.has_prefix(&entry) {
                        break;
                    }
                    let Some(k) = self.params.get(&format!("{entry}.{kname}")) else {
                        return Err(AwsError::new(
                            self.protocol.validation_code(),
                            format!("Map entry {entry} has no {kname}"),
                        ));
                    };
                    if let Some(v) = self.value(vmember, &format!("{entry}.{vname}"))? {
                        res.insert(k.clone(), v);
                    }
                }
                Ok((!res.is_empty()).then_some(Value::Object(res)))
            }
            _ => {
                let Some(text) = self.params.get(key) else { return Ok(None) };
                self.scalar(shape.kind, text, key).map(Some)
            }
        }
    }

    fn scalar(&self, kind: ShapeType, text: &str, key: &str) -> Result<Value, AwsError> {
        let bad = |what: &str| {
            AwsError::new(
                self.protocol.validation_code(),
                format!("Value '{text}' for parameter {key} is invalid. Expected {what}."),
            )
        };
        Ok(match kind {
            ShapeType::String => Value::from(text),
            ShapeType::Blob => {
                // Query sends blobs base64-encoded, which is also the neutral form.
                base64::engine::general_purpose::STANDARD
                    .decode(text)
                    .map_err(|_| bad("base64"))?;
                Value::from(text)
            }
            ShapeType::Boolean => match text {
                "true" => Value::Bool(true),
                "false" => Value::Bool(false),
                _ => return Err(bad("true or false")),
            },
            ShapeType::Integer | ShapeType::Long => {
                Value::from(text.parse::<i64>().map_err(|_| bad("an integer"))?)
            }
            ShapeType::Float | ShapeType::Double => {
                let f = text.parse::<f64>().map_err(|_| bad("a number"))?;
                serde_json::Number::from_f64(f).map(Value::Number).unwrap_or(Value::from(text))
            }
            ShapeType::Timestamp => parse_timestamp(text).ok_or_else(|| bad("a timestamp"))?,
            ShapeType::Structure | ShapeType::List | ShapeType::Map => {
                return Err(bad("a structure"));
            }
        })
    }
}

pub(super) fn encode(
    model: &ServiceModel,
    op: &Operation,
    protocol: Protocol,
    output: &Value,
    request_id: &str,
) -> Result<WireResponse, AwsError> {
    if let Some(out) = &op.output {
        // Catch handler bugs (unknown members, wrong types) the same way JSON does.
        super::json::conform_output(model, &out.shape, output, "")?;
    }
    let ns = model.metadata.xml_namespace.as_deref().unwrap_or_default();
    let name = &op.name;
    let mut body = String::with_capacity(256);
    body.push_str(&format!("<{name}Response xmlns=\"{}\">", escape(ns)));
    if protocol == Protocol::Ec2 {
        body.push_str(&format!("<requestId>{}</requestId>", escape(request_id)));
        if let Some(out) = &op.output {
            xml::write_members(model, &out.shape, output, &mut body);
        }
    } else {
        if let Some(out) = &op.output {
            let wrapper = out.result_wrapper.clone().unwrap_or_else(|| format!("{name}Result"));
            body.push_str(&format!("<{wrapper}>"));
            xml::write_members(model, &out.shape, output, &mut body);
            body.push_str(&format!("</{wrapper}>"));
        }
        body.push_str(&format!(
            "<ResponseMetadata><RequestId>{}</RequestId></ResponseMetadata>",
            escape(request_id)
        ));
    }
    body.push_str(&format!("</{name}Response>"));
    Ok(WireResponse::new(200, "text/xml", body))
}

pub(super) fn encode_error(
    model: Option<&ServiceModel>,
    code: &str,
    fault: &str,
    err: &AwsError,
    status: u16,
    request_id: &str,
) -> WireResponse {
    let ns = model.and_then(|m| m.metadata.xml_namespace.as_deref()).unwrap_or_default();
    let body = format!(
        "<ErrorResponse xmlns=\"{}\"><Error><Type>{fault}</Type><Code>{}</Code><Message>{}</Message></Error><RequestId>{}</RequestId></ErrorResponse>",
        escape(ns),
        escape(code),
        escape(&err.message),
        escape(request_id)
    );
    WireResponse::new(status, "text/xml", body)
}

pub(super) fn encode_ec2_error(
    code: &str,
    err: &AwsError,
    status: u16,
    request_id: &str,
) -> WireResponse {
    let body = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response><Errors><Error><Code>{}</Code><Message>{}</Message></Error></Errors><RequestID>{}</RequestID></Response>",
        escape(code),
        escape(&err.message),
        escape(request_id)
    );
    WireResponse::new(status, "text/xml", body)
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;
    use serde_json::json;

    use super::*;

    fn req<'a>(body: &'a Bytes, headers: &'a http::HeaderMap) -> WireRequest<'a> {
        WireRequest { method: "POST", path: "/", query: "", headers, body }
    }

    #[test]
    fn decodes_lists_maps_and_scalars() {
        let model = crate::models::get("sns").unwrap();
        let body = Bytes::from(
            "Action=Subscribe&Version=2010-03-31&TopicArn=arn%3Aaws%3Asns%3Aus-east-1%3A0%3At\
             &Protocol=http&Endpoint=http%3A%2F%2Fx&ReturnSubscriptionArn=true\
             &Attributes.entry.1.key=RawMessageDelivery&Attributes.entry.1.value=true\
             &Attributes.entry.2.key=FilterPolicy&Attributes.entry.2.value=%7B%7D",
        );
        let headers = http::HeaderMap::new();
        let v = decode(model, "SubscribeInput", Protocol::Query, &req(&body, &headers)).unwrap();
        assert_eq!(
            v,
            json!({"TopicArn": "arn:aws:sns:us-east-1:0:t", "Protocol": "http", "Endpoint": "http://x",
                   "Attributes": {"RawMessageDelivery": "true", "FilterPolicy": "{}"},
                   "ReturnSubscriptionArn": true})
        );
        let body = Bytes::from(
            "TopicArn=t&Tags.member.1.Key=k&Tags.member.1.Value=v&Tags.member.2.Key=k2&Tags.member.2.Value=v2",
        );
        let v = decode(model, "TagResourceRequest", Protocol::Query, &req(&body, &headers));
        assert!(v.is_ok());
        let body = Bytes::from(
            "ResourceArn=t&Tags.member.1.Key=k&Tags.member.1.Value=v&Tags.member.2.Key=k2&Tags.member.2.Value=v2",
        );
        let v =
            decode(model, "TagResourceRequest", Protocol::Query, &req(&body, &headers)).unwrap();
        assert_eq!(v["Tags"], json!([{"Key": "k", "Value": "v"}, {"Key": "k2", "Value": "v2"}]));
    }

    #[test]
    fn bad_scalars_are_validation_errors() {
        let model = crate::models::get("cloudwatch").unwrap();
        let headers = http::HeaderMap::new();
        let body = Bytes::from("AlarmName=a&Period=abc");
        let err = decode(model, "PutMetricAlarmInput", Protocol::Query, &req(&body, &headers))
            .unwrap_err();
        assert_eq!(err.code, "ValidationError");
        assert!(err.message.contains("Period"), "{}", err.message);
    }

    #[test]
    fn encodes_result_wrapper_and_request_id() {
        let model = crate::models::get("sts").unwrap();
        let op = model.operation("GetCallerIdentity").unwrap();
        let out = json!({"UserId": "u", "Account": "000000000000", "Arn": "arn:aws:iam::000000000000:root"});
        let resp = encode(model, op, Protocol::Query, &out, "rid").unwrap();
        let body = std::str::from_utf8(&resp.body).unwrap();
        assert!(body.starts_with("<GetCallerIdentityResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><GetCallerIdentityResult><UserId>u</UserId>"), "{body}");
        assert!(body.ends_with("<ResponseMetadata><RequestId>rid</RequestId></ResponseMetadata></GetCallerIdentityResponse>"));
    }
}
