//! The untyped document tree that both the JSON and the YAML readers produce, following
//! <https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/template-formats.html>.
//!
//! YAML short forms (`!Ref X`) are already expanded here into their JSON form
//! (`{"Ref": "X"}`), so everything after this module sees one tree whatever the format.

use crate::error::Pos;

/// A value of the document with the place it was written.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    /// The value.
    pub value: NodeValue,
    /// Where it starts.
    pub pos: Pos,
}

/// The values a template document is made of.
#[derive(Debug, Clone, PartialEq)]
pub enum NodeValue {
    /// `null`, `~` or an empty YAML value.
    Null,
    /// `true` or `false`.
    Bool(bool),
    /// A number, kept as JSON keeps it.
    Number(serde_json::Number),
    /// A string.
    String(String),
    /// A sequence.
    List(Vec<Node>),
    /// A mapping, in document order, with each key's position.
    Map(Vec<(Key, Node)>),
}

/// A mapping key and where it was written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Key {
    /// The key text.
    pub name: String,
    /// Where it starts.
    pub pos: Pos,
}

impl Node {
    /// Builds a node.
    pub fn new(value: NodeValue, pos: Pos) -> Self {
        Self { value, pos }
    }

    /// The string, if this is one.
    pub fn as_str(&self) -> Option<&str> {
        match &self.value {
            NodeValue::String(s) => Some(s),
            _ => None,
        }
    }

    /// The mapping entries, if this is a mapping.
    pub fn as_map(&self) -> Option<&[(Key, Node)]> {
        match &self.value {
            NodeValue::Map(m) => Some(m),
            _ => None,
        }
    }

    /// Looks up a key of a mapping.
    pub fn get(&self, key: &str) -> Option<&Node> {
        self.as_map()?.iter().find(|(k, _)| k.name == key).map(|(_, v)| v)
    }

    /// The scalar as CloudFormation reads it where a string is expected: numbers and
    /// booleans are taken as written (`5`, `true`), null as the empty string.
    pub fn scalar_text(&self) -> Option<String> {
        match &self.value {
            NodeValue::String(s) => Some(s.clone()),
            NodeValue::Number(n) => Some(n.to_string()),
            NodeValue::Bool(b) => Some(b.to_string()),
            NodeValue::Null => Some(String::new()),
            _ => None,
        }
    }

    /// A short name of the node's kind, for messages.
    pub fn kind_name(&self) -> &'static str {
        match &self.value {
            NodeValue::Null => "null",
            NodeValue::Bool(_) => "boolean",
            NodeValue::Number(_) => "number",
            NodeValue::String(_) => "string",
            NodeValue::List(_) => "list",
            NodeValue::Map(_) => "object",
        }
    }

    /// Converts the node to plain JSON (no intrinsic evaluation: `{"Ref": "X"}` stays as is).
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::Value;
        match &self.value {
            NodeValue::Null => Value::Null,
            NodeValue::Bool(b) => Value::Bool(*b),
            NodeValue::Number(n) => Value::Number(n.clone()),
            NodeValue::String(s) => Value::String(s.clone()),
            NodeValue::List(items) => Value::Array(items.iter().map(Node::to_json).collect()),
            NodeValue::Map(entries) => {
                Value::Object(entries.iter().map(|(k, v)| (k.name.clone(), v.to_json())).collect())
            }
        }
    }
}

/// Types a plain (unquoted) YAML scalar the way CloudFormation's YAML reader does.
///
/// CloudFormation converts YAML to JSON with a YAML 1.1-era reader, but templates in the
/// wild rely on words like `Yes`, `No`, `On`, `Off` and dates like `2012-10-17` staying
/// strings (the IAM `Version` would otherwise become a timestamp), so we apply the
/// YAML 1.2 core schema, which only knows `true`/`false` and plain numbers, and we keep
/// numbers with leading zeros (`0755`) or other spellings that JSON cannot hold as strings.
pub fn plain_scalar(text: &str) -> NodeValue {
    match text {
        "" | "~" | "null" | "Null" | "NULL" => return NodeValue::Null,
        "true" | "True" | "TRUE" => return NodeValue::Bool(true),
        "false" | "False" | "FALSE" => return NodeValue::Bool(false),
        _ => {}
    }
    if looks_numeric(text) {
        if let Ok(n) = text.parse::<i64>() {
            return NodeValue::Number(n.into());
        }
        if let Ok(n) = text.parse::<u64>() {
            return NodeValue::Number(n.into());
        }
        if let Some(n) = text.parse::<f64>().ok().and_then(serde_json::Number::from_f64) {
            return NodeValue::Number(n);
        }
    }
    NodeValue::String(text.to_owned())
}

/// True for JSON-style numbers: an optional minus, digits without a leading zero, an
/// optional fraction and exponent. `+1`, `.5`, `0x1F`, `1_000` and `0755` are not.
fn looks_numeric(text: &str) -> bool {
    let b = text.as_bytes();
    let mut i = usize::from(b.first() == Some(&b'-'));
    let int_start = i;
    while i < b.len() && b[i].is_ascii_digit() {
        i += 1;
    }
    let int_len = i - int_start;
    if int_len == 0 || (int_len > 1 && b[int_start] == b'0') {
        return false;
    }
    if i < b.len() && b[i] == b'.' {
        i += 1;
        let frac_start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        if i == frac_start {
            return false;
        }
    }
    if i < b.len() && (b[i] == b'e' || b[i] == b'E') {
        i += 1;
        if i < b.len() && (b[i] == b'+' || b[i] == b'-') {
            i += 1;
        }
        let exp_start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        if i == exp_start {
            return false;
        }
    }
    i == b.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_scalars_are_typed_like_cloudformation() {
        let cases: [(&str, NodeValue); 14] = [
            ("", NodeValue::Null),
            ("~", NodeValue::Null),
            ("true", NodeValue::Bool(true)),
            ("False", NodeValue::Bool(false)),
            ("Yes", NodeValue::String("Yes".into())),
            ("off", NodeValue::String("off".into())),
            ("2012-10-17", NodeValue::String("2012-10-17".into())),
            ("60", NodeValue::Number(60.into())),
            ("-3", NodeValue::Number((-3).into())),
            ("1.5", NodeValue::Number(serde_json::Number::from_f64(1.5).unwrap())),
            ("0755", NodeValue::String("0755".into())),
            ("0x1F", NodeValue::String("0x1F".into())),
            ("1e3", NodeValue::Number(serde_json::Number::from_f64(1000.0).unwrap())),
            ("10.0.0.0/16", NodeValue::String("10.0.0.0/16".into())),
        ];
        for (text, want) in cases {
            assert_eq!(plain_scalar(text), want, "scalar {text:?}");
        }
    }
}
