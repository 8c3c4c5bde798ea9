//! XML for the query, ec2 and rest-xml protocols: writing a neutral value by its shape,
//! and reading an XML document into a small element tree for shape-guided decoding.

use quick_xml::escape::escape;
use quick_xml::events::Event;
use serde_json::Value;

use crate::model::{Member, ServiceModel, ShapeType};
use crate::protocol::format_timestamp;

/// Writes the members of a structure value as child elements.
pub(crate) fn write_members(
    model: &ServiceModel,
    shape_name: &str,
    value: &Value,
    out: &mut String,
) {
    let (Some(shape), Some(obj)) = (model.shape(shape_name), value.as_object()) else { return };
    for (name, member) in &shape.members {
        let Some(v) = obj.get(name) else { continue };
        if v.is_null() || member.location.is_some() || member.xml_attribute {
            continue;
        }
        let elem = member.location_name.as_deref().unwrap_or(name);
        write_member(model, member, elem, v, out);
    }
}

/// Writes one member (a named element, or repeated elements when flattened).
pub(crate) fn write_member(
    model: &ServiceModel,
    member: &Member,
    elem: &str,
    v: &Value,
    out: &mut String,
) {
    let Some(shape) = model.shape(&member.shape) else { return };
    let flattened = member.flattened || shape.flattened;
    match shape.kind {
        ShapeType::List => {
            let Some(items) = v.as_array() else { return };
            let item_member = shape.member.as_ref();
            if flattened {
                let name = item_member.and_then(|m| m.location_name.as_deref()).unwrap_or(elem);
                for item in items {
                    write_element(model, item_member, name, item, out);
                }
            } else {
                let name = item_member.and_then(|m| m.location_name.as_deref()).unwrap_or("member");
                open(out, elem, member);
                for item in items {
                    write_element(model, item_member, name, item, out);
                }
                close(out, elem);
            }
        }
        ShapeType::Map => {
            let Some(obj) = v.as_object() else { return };
            let kname =
                shape.key.as_ref().and_then(|m| m.location_name.as_deref()).unwrap_or("key");
            let vname =
                shape.value.as_ref().and_then(|m| m.location_name.as_deref()).unwrap_or("value");
            if !flattened {
                open(out, elem, member);
            }
            for (k, val) in obj {
                let entry = if flattened { elem } else { "entry" };
                out.push('<');
                out.push_str(entry);
                out.push('>');
                write_element(model, shape.key.as_ref(), kname, &Value::from(k.as_str()), out);
                write_element(model, shape.value.as_ref(), vname, val, out);
                close(out, entry);
            }
            if !flattened {
                close(out, elem);
            }
        }
        _ => write_element(model, Some(member), elem, v, out),
    }
}

fn open(out: &mut String, elem: &str, member: &Member) {
    out.push('<');
    out.push_str(elem);
    if let Some(ns) = &member.xml_namespace {
        match &ns.prefix {
            Some(p) => out.push_str(&format!(" xmlns:{p}=\"{}\"", escape(&ns.uri))),
            None => out.push_str(&format!(" xmlns=\"{}\"", escape(&ns.uri))),
        }
    }
    out.push('>');
}

fn close(out: &mut String, elem: &str) {
    out.push_str("</");
    out.push_str(elem);
    out.push('>');
}

fn write_element(
    model: &ServiceModel,
    member: Option<&Member>,
    elem: &str,
    v: &Value,
    out: &mut String,
) {
    let Some(member) = member else { return };
    let Some(shape) = model.shape(&member.shape) else { return };
    match shape.kind {
        ShapeType::Structure => {
            out.push('<');
            out.push_str(elem);
            if let Some(obj) = v.as_object() {
                for (name, m) in &shape.members {
                    if !m.xml_attribute {
                        continue;
                    }
                    if let Some(text) = obj.get(name).and_then(|a| scalar_text(model, m, a)) {
                        let attr = m.location_name.as_deref().unwrap_or(name);
                        out.push_str(&format!(" {attr}=\"{}\"", escape(&text)));
                    }
                }
            }
            // A prefixed namespace may sit on the shape (S3's `Grantee`, whose
            // `xsi:type` attribute needs `xmlns:xsi` declared).
            let shape_ns = shape.xml_namespace.as_ref().filter(|n| n.prefix.is_some());
            if let Some(ns) = member.xml_namespace.as_ref().or(shape_ns) {
                match &ns.prefix {
                    Some(p) => out.push_str(&format!(" xmlns:{p}=\"{}\"", escape(&ns.uri))),
                    None => out.push_str(&format!(" xmlns=\"{}\"", escape(&ns.uri))),
                }
            }
            out.push('>');
            write_members(model, &member.shape, v, out);
            close(out, elem);
        }
        ShapeType::List | ShapeType::Map => write_member(model, member, elem, v, out),
        _ => {
            let Some(text) = scalar_text(model, member, v) else { return };
            out.push('<');
            out.push_str(elem);
            out.push('>');
            out.push_str(&escape(&text));
            close(out, elem);
        }
    }
}

/// The text form of a scalar value in XML and query strings.
pub(crate) fn scalar_text(model: &ServiceModel, member: &Member, v: &Value) -> Option<String> {
    let shape = model.shape(&member.shape)?;
    Some(match (shape.kind, v) {
        (ShapeType::Timestamp, v) => {
            let format = member
                .timestamp_format
                .as_deref()
                .or(shape.timestamp_format.as_deref())
                .unwrap_or("iso8601");
            format_timestamp(v, format)?
        }
        (_, Value::String(s)) => s.clone(),
        (_, Value::Bool(b)) => b.to_string(),
        (ShapeType::Float | ShapeType::Double, Value::Number(n)) => {
            let f = n.as_f64()?;
            if f.fract() == 0.0 && f.abs() < 1e15 { format!("{f:.1}") } else { f.to_string() }
        }
        (_, Value::Number(n)) => n.to_string(),
        _ => return None,
    })
}

/// A parsed XML element.
#[derive(Debug, Default, Clone)]
pub(crate) struct Element {
    /// Local name (prefix stripped).
    pub name: String,
    /// Attributes by local name.
    pub attrs: Vec<(String, String)>,
    /// Child elements.
    pub children: Vec<Element>,
    /// Concatenated text content.
    pub text: String,
}

impl Element {
    /// Children with this local name.
    pub fn named<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Element> + 'a {
        self.children.iter().filter(move |c| c.name == name)
    }
}

/// Parses an XML document into its root element.
pub(crate) fn parse(text: &[u8]) -> Result<Element, String> {
    let mut reader = quick_xml::Reader::from_reader(text);
    reader.config_mut().trim_text(false);
    let mut stack: Vec<Element> = Vec::new();
    let mut buf = Vec::new();
    loop {
        match reader.read_event_into(&mut buf).map_err(|e| e.to_string())? {
            Event::Start(start) => stack.push(start_element(&start)?),
            Event::Empty(start) => {
                let el = start_element(&start)?;
                match stack.last_mut() {
                    Some(parent) => parent.children.push(el),
                    None => return Ok(el),
                }
            }
            Event::End(_) => {
                let el = stack.pop().ok_or("unbalanced end tag")?;
                match stack.last_mut() {
                    Some(parent) => parent.children.push(el),
                    None => return Ok(el),
                }
            }
            Event::Text(t) => {
                if let Some(top) = stack.last_mut() {
                    top.text.push_str(&t.unescape().map_err(|e| e.to_string())?);
                }
            }
            Event::CData(t) => {
                if let Some(top) = stack.last_mut() {
                    top.text.push_str(&String::from_utf8_lossy(&t));
                }
            }
            Event::Eof => return Err("unexpected end of document".into()),
            _ => {}
        }
        buf.clear();
    }
}

fn start_element(start: &quick_xml::events::BytesStart<'_>) -> Result<Element, String> {
    let name = String::from_utf8_lossy(start.local_name().as_ref()).into_owned();
    let mut attrs = Vec::new();
    for attr in start.attributes() {
        let attr = attr.map_err(|e| e.to_string())?;
        let key = String::from_utf8_lossy(attr.key.local_name().as_ref()).into_owned();
        let value = attr.unescape_value().map_err(|e| e.to_string())?.into_owned();
        attrs.push((key, value));
    }
    Ok(Element { name, attrs, children: Vec::new(), text: String::new() })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_nested_documents() {
        let doc = br#"<?xml version="1.0"?><A xmlns="x"><B>1</B><B>2 &amp; 3</B><C/></A>"#;
        let root = parse(doc).unwrap();
        assert_eq!(root.name, "A");
        let texts: Vec<_> = root.named("B").map(|b| b.text.as_str()).collect();
        assert_eq!(texts, ["1", "2 & 3"]);
        assert_eq!(root.named("C").count(), 1);
        for bad in [&b"<A><B></A>"[..], b"<A>", b"", b"not xml"] {
            assert!(parse(bad).is_err(), "{}", String::from_utf8_lossy(bad));
        }
    }
}
