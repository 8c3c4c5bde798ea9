//! restJson1 and restXml: members bound to the URI, query string, headers and body by
//! the model's `location` traits.
//! <https://smithy.io/2.0/aws/protocols/aws-restjson1-protocol.html>,
//! <https://smithy.io/2.0/aws/protocols/aws-restxml-protocol.html>

use std::collections::HashMap;

use base64::Engine;
use mamori_aws::AwsError;
use percent_encoding::percent_decode_str;
use quick_xml::escape::escape;
use serde_json::{Map, Value};

use super::{Protocol, WireRequest, WireResponse, parse_timestamp};
use crate::model::{Member, Operation, ServiceModel, ShapeType};
use crate::xml::{self, Element};

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

/// Matches a request against an operation's URI template (`/{Bucket}/{Key+}?uploads`),
/// returning the decoded labels. Literal query keys in the template must be present.
pub fn match_uri(template: &str, path: &str, query: &str) -> Option<HashMap<String, String>> {
    let (tpath, tquery) = template.split_once('?').unwrap_or((template, ""));
    let mut labels = HashMap::new();
    let tsegs: Vec<&str> = tpath.trim_start_matches('/').split('/').collect();
    let psegs: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let mut pi = 0;
    for (ti, tseg) in tsegs.iter().enumerate() {
        if let Some(label) = tseg.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
            if let Some(greedy) = label.strip_suffix('+') {
                if ti != tsegs.len() - 1 || pi >= psegs.len() {
                    return None;
                }
                let rest = psegs[pi..].join("/");
                if rest.is_empty() {
                    return None;
                }
                labels.insert(
                    greedy.to_owned(),
                    percent_decode_str(&rest).decode_utf8().ok()?.into_owned(),
                );
                pi = psegs.len();
                continue;
            }
            let seg = psegs.get(pi)?;
            if seg.is_empty() {
                return None;
            }
            labels
                .insert(label.to_owned(), percent_decode_str(seg).decode_utf8().ok()?.into_owned());
            pi += 1;
        } else if tseg.is_empty() && ti == tsegs.len() - 1 {
            // Template `/` or a trailing slash: the path must end here.
            if pi < psegs.len() && !psegs[pi].is_empty() {
                return None;
            }
            pi = psegs.len();
        } else {
            if psegs.get(pi) != Some(tseg) {
                return None;
            }
            pi += 1;
        }
    }
    if pi != psegs.len() {
        return None;
    }
    for lit in tquery.split('&').filter(|s| !s.is_empty()) {
        let (k, v) = lit.split_once('=').unwrap_or((lit, ""));
        let found = form_urlencoded::parse(query.as_bytes())
            .any(|(qk, qv)| qk == k && (v.is_empty() || qv == v));
        if !found {
            return None;
        }
    }
    Some(labels)
}

/// How specific a template is, so the router tries `/{Bucket}?policy` before `/{Bucket}`.
pub fn specificity(template: &str) -> (usize, usize, usize) {
    let (p, q) = template.split_once('?').unwrap_or((template, ""));
    let literal = p.split('/').filter(|s| !s.is_empty() && !s.starts_with('{')).count();
    let labels = p.split('/').filter(|s| s.starts_with('{') && !s.ends_with("+}")).count();
    (q.split('&').filter(|s| !s.is_empty()).count(), literal, labels)
}

pub(super) fn decode(
    model: &ServiceModel,
    op: &Operation,
    shape_name: &str,
    protocol: Protocol,
    req: &WireRequest<'_>,
) -> Result<Value, AwsError> {
    let Some(shape) = model.shape(shape_name) else { return Ok(Value::Object(Map::new())) };
    let labels = match_uri(&op.http.request_uri, req.path, req.query).unwrap_or_default();
    let query: Vec<(String, String)> =
        form_urlencoded::parse(req.query.as_bytes()).into_owned().collect();
    let mut res = Map::new();
    let mut has_body_members = false;
    for (name, member) in &shape.members {
        let wire = member.location_name.as_deref().unwrap_or(name);
        let value = match member.location.as_deref() {
            Some("uri") => labels.get(wire).map(|s| Value::from(s.as_str())),
            Some("querystring") => query_member(model, member, wire, &query)?,
            Some("header") => match req.header(wire) {
                Some(text) => Some(header_value(model, member, text, protocol, wire)?),
                None => None,
            },
            Some("headers") => {
                let prefix = wire.to_ascii_lowercase();
                let mut map = Map::new();
                for (k, v) in req.headers {
                    if let (Some(rest), Ok(v)) = (k.as_str().strip_prefix(&prefix), v.to_str()) {
                        map.insert(rest.to_owned(), Value::from(v));
                    }
                }
                (!map.is_empty()).then_some(Value::Object(map))
            }
            _ => {
                has_body_members = true;
                None
            }
        };
        if let Some(v) = value {
            res.insert(name.clone(), v);
        }
    }
    if let Some(payload) = &shape.payload {
        if let Some(member) = shape.members.get(payload) {
            let kind = model.shape(&member.shape).map(|s| s.kind);
            let v = match kind {
                Some(ShapeType::Blob) => {
                    (!req.body.is_empty()).then(|| Value::from(B64.encode(req.body)))
                }
                Some(ShapeType::String) => {
                    let text = std::str::from_utf8(req.body).map_err(|_| {
                        AwsError::new(protocol.serialization_code(), "The body is not valid UTF-8")
                    })?;
                    (!text.is_empty()).then(|| Value::from(text))
                }
                _ if req.body.is_empty() => None,
                _ => Some(body_value(model, &member.shape, protocol, req)?),
            };
            if let Some(v) = v {
                res.insert(payload.clone(), v);
            }
        }
    } else if has_body_members
        && !req.body.is_empty()
        && let Value::Object(obj) = body_value(model, shape_name, protocol, req)?
    {
        for (k, v) in obj {
            if shape.members.get(&k).is_some_and(|m| m.location.is_none()) {
                res.insert(k, v);
            }
        }
    }
    Ok(Value::Object(res))
}

fn body_value(
    model: &ServiceModel,
    shape: &str,
    protocol: Protocol,
    req: &WireRequest<'_>,
) -> Result<Value, AwsError> {
    if protocol == Protocol::RestJson {
        let v: Value = serde_json::from_slice(req.body).map_err(|e| {
            AwsError::new("SerializationException", format!("Malformed JSON request body: {e}"))
        })?;
        return super::json::conform_input(model, shape, v, "", protocol);
    }
    let root = xml::parse(req.body).map_err(|e| {
        AwsError::new("MalformedXML", format!("The XML you provided was not well-formed or did not validate against our published schema: {e}"))
    })?;
    from_xml(model, shape, &root)
}

fn query_member(
    model: &ServiceModel,
    member: &Member,
    wire: &str,
    query: &[(String, String)],
) -> Result<Option<Value>, AwsError> {
    let Some(shape) = model.shape(&member.shape) else { return Ok(None) };
    Ok(match shape.kind {
        ShapeType::List => {
            let item = shape.member.as_ref().map(|m| m.shape.as_str()).unwrap_or_default();
            let items: Vec<Value> = query
                .iter()
                .filter(|(k, _)| k == wire)
                .map(|(_, v)| scalar(model, item, v, wire))
                .collect::<Result<_, _>>()?;
            (!items.is_empty()).then_some(Value::Array(items))
        }
        ShapeType::Map => {
            let map: Map<String, Value> =
                query.iter().map(|(k, v)| (k.clone(), Value::from(v.as_str()))).collect();
            (!map.is_empty()).then_some(Value::Object(map))
        }
        _ => match query.iter().find(|(k, _)| k == wire) {
            Some((_, v)) => Some(scalar(model, &member.shape, v, wire)?),
            None => None,
        },
    })
}

fn header_value(
    model: &ServiceModel,
    member: &Member,
    text: &str,
    protocol: Protocol,
    wire: &str,
) -> Result<Value, AwsError> {
    let shape = model.shape(&member.shape);
    match shape.map(|s| s.kind) {
        Some(ShapeType::List) => {
            let item =
                shape.and_then(|s| s.member.as_ref()).map(|m| m.shape.as_str()).unwrap_or_default();
            let items = text
                .split(',')
                .map(|p| scalar(model, item, p.trim(), wire))
                .collect::<Result<_, _>>()?;
            Ok(Value::Array(items))
        }
        Some(ShapeType::String)
            if shape.is_some_and(|s| s.enum_values.is_none()) && text.starts_with("ey") =>
        {
            // JSON-valued headers (mediaType) arrive base64-encoded; keep them as sent.
            let _ = protocol;
            Ok(Value::from(text))
        }
        _ => scalar(model, &member.shape, text, wire),
    }
}

fn scalar(
    model: &ServiceModel,
    shape_name: &str,
    text: &str,
    wire: &str,
) -> Result<Value, AwsError> {
    let kind = model.shape(shape_name).map(|s| s.kind).unwrap_or(ShapeType::String);
    let bad = |what: &str| {
        AwsError::new(
            "InvalidArgument",
            format!("Invalid value '{text}' for {wire}: expected {what}"),
        )
    };
    Ok(match kind {
        ShapeType::Integer | ShapeType::Long => {
            Value::from(text.parse::<i64>().map_err(|_| bad("an integer"))?)
        }
        ShapeType::Float | ShapeType::Double => {
            let f = text.parse::<f64>().map_err(|_| bad("a number"))?;
            serde_json::Number::from_f64(f)
                .map(Value::Number)
                .ok_or_else(|| bad("a finite number"))?
        }
        ShapeType::Boolean => match text {
            "true" => Value::Bool(true),
            "false" => Value::Bool(false),
            _ => return Err(bad("true or false")),
        },
        ShapeType::Timestamp => parse_timestamp(text).ok_or_else(|| bad("a timestamp"))?,
        _ => Value::from(text),
    })
}

/// Reads an XML element into the neutral form of `shape_name`.
fn from_xml(model: &ServiceModel, shape_name: &str, el: &Element) -> Result<Value, AwsError> {
    let Some(shape) = model.shape(shape_name) else { return Ok(Value::Null) };
    Ok(match shape.kind {
        ShapeType::Structure => {
            let mut obj = Map::new();
            for (name, member) in &shape.members {
                if member.location.is_some() {
                    continue;
                }
                let wire = member.location_name.as_deref().unwrap_or(name);
                if member.xml_attribute {
                    if let Some((_, v)) = el.attrs.iter().find(|(k, _)| k == wire) {
                        obj.insert(name.clone(), scalar(model, &member.shape, v, wire)?);
                    }
                    continue;
                }
                let mshape = model.shape(&member.shape);
                let flattened = member.flattened || mshape.is_some_and(|s| s.flattened);
                if flattened && mshape.is_some_and(|s| s.kind == ShapeType::List) {
                    let item = mshape.and_then(|s| s.member.as_ref());
                    let item_name = item.and_then(|m| m.location_name.as_deref()).unwrap_or(wire);
                    let item_shape = item.map(|m| m.shape.as_str()).unwrap_or_default();
                    let items: Vec<Value> = el
                        .named(item_name)
                        .map(|c| from_xml(model, item_shape, c))
                        .collect::<Result<_, _>>()?;
                    if !items.is_empty() {
                        obj.insert(name.clone(), Value::Array(items));
                    }
                } else if let Some(child) = el.named(wire).next() {
                    obj.insert(name.clone(), from_xml(model, &member.shape, child)?);
                }
            }
            Value::Object(obj)
        }
        ShapeType::List => {
            let item = shape.member.as_ref();
            let item_name = item.and_then(|m| m.location_name.as_deref()).unwrap_or("member");
            let item_shape = item.map(|m| m.shape.as_str()).unwrap_or_default();
            Value::Array(
                el.named(item_name)
                    .map(|c| from_xml(model, item_shape, c))
                    .collect::<Result<_, _>>()?,
            )
        }
        ShapeType::Map => {
            let kname =
                shape.key.as_ref().and_then(|m| m.location_name.as_deref()).unwrap_or("key");
            let vname =
                shape.value.as_ref().and_then(|m| m.location_name.as_deref()).unwrap_or("value");
            let vshape = shape.value.as_ref().map(|m| m.shape.as_str()).unwrap_or_default();
            let mut obj = Map::new();
            for entry in el.named("entry") {
                let k = entry.named(kname).next().map(|k| k.text.clone()).unwrap_or_default();
                if let Some(v) = entry.named(vname).next() {
                    obj.insert(k, from_xml(model, vshape, v)?);
                }
            }
            Value::Object(obj)
        }
        _ => scalar(model, shape_name, el.text.trim(), &el.name)?,
    })
}

pub(super) fn encode(
    model: &ServiceModel,
    op: &Operation,
    protocol: Protocol,
    output: &Value,
) -> Result<WireResponse, AwsError> {
    let mut status = op.http.response_code.unwrap_or(200);
    let mut headers = Vec::new();
    let json = protocol == Protocol::RestJson;
    let content_type = if json { "application/json" } else { "application/xml" };
    let Some(out) = &op.output else {
        let body = if json { "{}" } else { "" };
        return Ok(WireResponse::new(status, content_type, body));
    };
    let checked = super::json::conform_output(model, &out.shape, output, "")?;
    let Some(shape) = model.shape(&out.shape) else {
        return Ok(WireResponse::new(status, content_type, ""));
    };
    let obj = checked.as_object().cloned().unwrap_or_default();
    let mut body_members = Map::new();
    for (name, member) in &shape.members {
        let Some(v) = obj.get(name) else { continue };
        let wire = member.location_name.as_deref().unwrap_or(name);
        match member.location.as_deref() {
            Some("statusCode") => {
                status = v.as_u64().and_then(|s| u16::try_from(s).ok()).unwrap_or(status)
            }
            Some("header") => {
                let text = match v {
                    Value::Array(items) => items
                        .iter()
                        .filter_map(|i| xml::scalar_text(model, member, i))
                        .collect::<Vec<_>>()
                        .join(","),
                    _ => header_text(model, member, v).unwrap_or_default(),
                };
                headers.push((wire.to_ascii_lowercase(), text));
            }
            Some("headers") => {
                for (k, hv) in v.as_object().into_iter().flatten() {
                    headers.push((
                        format!("{}{k}", wire.to_ascii_lowercase()),
                        hv.as_str().unwrap_or_default().to_owned(),
                    ));
                }
            }
            _ => {
                body_members.insert(name.clone(), v.clone());
            }
        }
    }
    // S3 answers a ranged GetObject with 206, which the model has no member for.
    if model.id == "s3" && op.name == "GetObject" && obj.contains_key("ContentRange") {
        status = 206;
    }
    // botocore reads GetBucketLocation's region from the text of the root element.
    if model.id == "s3" && op.name == "GetBucketLocation" {
        let region = obj.get("LocationConstraint").and_then(Value::as_str).unwrap_or_default();
        let body = format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?><LocationConstraint xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">{}</LocationConstraint>",
            escape(region)
        );
        return Ok(WireResponse::new(status, content_type, body));
    }
    let mut resp_content_type = content_type.to_owned();
    let body: Vec<u8> = if let Some(payload) = &shape.payload {
        let member = shape.members.get(payload);
        let kind = member.and_then(|m| model.shape(&m.shape)).map(|s| s.kind);
        match (kind, obj.get(payload)) {
            (Some(ShapeType::Blob), Some(Value::String(s))) => {
                resp_content_type = "application/octet-stream".into();
                B64.decode(s).map_err(AwsError::internal)?
            }
            (Some(ShapeType::String), Some(Value::String(s))) => s.clone().into_bytes(),
            (Some(_), Some(v)) => match member {
                Some(_) if json => serde_json::to_vec(v).map_err(AwsError::internal)?,
                Some(m) => {
                    let root = m.location_name.clone().unwrap_or_else(|| m.shape.clone());
                    xml_document(model, &m.shape, &root, v).into_bytes()
                }
                None => Vec::new(),
            },
            _ => Vec::new(),
        }
    } else if json {
        serde_json::to_vec(&Value::Object(body_members)).map_err(AwsError::internal)?
    } else if body_members.is_empty() {
        Vec::new()
    } else {
        let root = shape
            .location_name
            .clone()
            .unwrap_or_else(|| out.shape.trim_end_matches("Output").to_owned());
        xml_document(model, &out.shape, &root, &Value::Object(body_members)).into_bytes()
    };
    let mut resp = WireResponse::new(status, &resp_content_type, body);
    if headers.iter().any(|(k, _)| k == "content-type") {
        resp.headers.retain(|(k, _)| k != "content-type");
    }
    resp.headers.extend(headers);
    Ok(resp)
}

fn header_text(model: &ServiceModel, member: &Member, v: &Value) -> Option<String> {
    let shape = model.shape(&member.shape)?;
    if shape.kind == ShapeType::Timestamp {
        let format = member
            .timestamp_format
            .as_deref()
            .or(shape.timestamp_format.as_deref())
            .unwrap_or("rfc822");
        return super::format_timestamp(v, format);
    }
    xml::scalar_text(model, member, v)
}

fn xml_document(model: &ServiceModel, shape_name: &str, root: &str, v: &Value) -> String {
    let ns = model
        .shape(shape_name)
        .and_then(|s| s.xml_namespace.as_ref())
        .map(|n| n.uri.clone())
        .or_else(|| {
            (model.id == "s3").then(|| "http://s3.amazonaws.com/doc/2006-03-01/".to_owned())
        });
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>");
    out.push('<');
    out.push_str(root);
    if let Some(ns) = ns {
        out.push_str(&format!(" xmlns=\"{}\"", escape(&ns)));
    }
    out.push('>');
    xml::write_members(model, shape_name, v, &mut out);
    out.push_str(&format!("</{root}>"));
    out
}

pub(super) fn encode_json_error(code: &str, err: &AwsError, status: u16) -> WireResponse {
    let mut body = err.extra.clone();
    body.insert("message".into(), Value::from(err.message.as_str()));
    let mut resp = WireResponse::new(
        status,
        "application/json",
        serde_json::to_vec(&body).unwrap_or_default(),
    );
    resp.headers.push(("x-amzn-errortype".into(), code.to_owned()));
    resp
}

pub(super) fn encode_xml_error(
    code: &str,
    err: &AwsError,
    status: u16,
    request_id: &str,
) -> WireResponse {
    let mut body = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>{}</Code><Message>{}</Message>",
        escape(code),
        escape(&err.message)
    );
    for (k, v) in &err.extra {
        let text = match v {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        body.push_str(&format!("<{k}>{}</{k}>", escape(&text)));
    }
    body.push_str(&format!(
        "<RequestId>{}</RequestId><HostId>{}</HostId></Error>",
        escape(request_id),
        escape(request_id)
    ));
    WireResponse::new(status, "application/xml", body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uri_templates() {
        let cases = [
            (
                "/{Bucket}/{Key+}",
                "/b/a/b%20c.txt",
                "",
                Some(vec![("Bucket", "b"), ("Key", "a/b c.txt")]),
            ),
            ("/{Bucket}?policy", "/b", "policy", Some(vec![("Bucket", "b")])),
            ("/{Bucket}?policy", "/b", "", None),
            ("/{Bucket}", "/b/k", "", None),
            ("/", "/", "", Some(vec![])),
            ("/", "/b", "", None),
            (
                "/{Bucket}/{Key+}?uploads",
                "/b/k",
                "uploads=",
                Some(vec![("Bucket", "b"), ("Key", "k")]),
            ),
            ("/{Bucket}/{Key+}", "/b/", "", None),
        ];
        for (template, path, query, want) in cases {
            let got = match_uri(template, path, query);
            let want = want.map(|w| {
                w.into_iter().map(|(k, v)| (k.to_owned(), v.to_owned())).collect::<HashMap<_, _>>()
            });
            assert_eq!(got, want, "{template} {path}?{query}");
        }
        assert!(specificity("/{Bucket}?policy") > specificity("/{Bucket}"));
    }
}
