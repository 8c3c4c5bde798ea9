//! Subscription filter policies, following
//! <https://docs.aws.amazon.com/sns/latest/dg/sns-subscription-filter-policies.html>
//! and its pages on attribute string, numeric, key and `$or` matching.
//!
//! A policy is compiled once ([`FilterPolicy::parse`]) and then matched against the
//! message attributes or the JSON body of each published message. All keys must match
//! (AND); within a key any condition may match (OR); an array value matches when any
//! element does. An operator this module does not know is a parse error, never
//! "match everything".
//!
//! ```
//! use mamori_sns::filter::{AttrValue, FilterPolicy, Scope};
//! let p = FilterPolicy::parse(r#"{"price": [{"numeric": [">", 0, "<=", 5]}]}"#, Scope::MessageAttributes).unwrap();
//! let attrs = [("price".to_owned(), AttrValue::Number(4.5))].into_iter().collect();
//! assert!(p.matches_attributes(&attrs));
//! ```

use std::collections::BTreeMap;
use std::net::IpAddr;

use serde_json::{Map, Value};

/// Where a policy looks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// The message attributes (the default).
    MessageAttributes,
    /// The message body, parsed as JSON.
    MessageBody,
}

/// A message attribute as filters see it.
#[derive(Debug, Clone, PartialEq)]
pub enum AttrValue {
    /// `String` (and custom `String.*` types).
    String(String),
    /// `Number`.
    Number(f64),
    /// `String.Array`, the parsed JSON array.
    Array(Value),
    /// `Binary`: only `exists` looks at it.
    Binary,
}

/// Why a filter policy is rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct FilterError(String);

fn err<T>(msg: impl Into<String>) -> Result<T, FilterError> {
    Err(FilterError(msg.into()))
}

/// A compiled filter policy.
#[derive(Debug, Clone, PartialEq)]
pub struct FilterPolicy {
    root: Group,
}

/// Keys that must all match, and `$or` alternatives of which one must match each.
#[derive(Debug, Clone, PartialEq, Default)]
struct Group {
    clauses: Vec<(Vec<String>, Vec<Cond>)>,
    ors: Vec<Vec<Group>>,
}

#[derive(Debug, Clone, PartialEq)]
enum Scalar {
    Str(String),
    Num(f64),
    Bool(bool),
}

#[derive(Debug, Clone, PartialEq)]
enum Cond {
    Exact(Scalar),
    Prefix(String),
    Suffix(String),
    EqualsIgnoreCase(String),
    AnythingBut(Vec<Scalar>),
    AnythingButPrefix(String),
    AnythingButSuffix(String),
    Numeric(Vec<(NumOp, f64)>),
    Exists(bool),
    Cidr(IpAddr, u8),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum NumOp {
    Eq,
    Lt,
    Le,
    Gt,
    Ge,
}

/// The largest policy text: 256 KiB.
pub const MAX_POLICY_BYTES: usize = 256 * 1024;
/// The most value combinations a policy may have.
pub const MAX_COMBINATIONS: u64 = 150;
/// The most keys in one group of a policy [derived from the 5-attribute-name limit].
pub const MAX_KEYS: usize = 5;
const NUMERIC_LIMIT: f64 = 1e9;

impl FilterPolicy {
    /// Parses and checks a policy.
    pub fn parse(text: &str, scope: Scope) -> Result<Self, FilterError> {
        if text.len() > MAX_POLICY_BYTES {
            return err("Filter policy is too large");
        }
        let v: Value = serde_json::from_str(text)
            .map_err(|e| FilterError(format!("failed to parse JSON. {e}")))?;
        let Value::Object(obj) = v else { return err("Filter policy must be a JSON object") };
        if obj.is_empty() {
            return err("Filter policy must not be empty");
        }
        let root = parse_group(&obj, &[], scope)?;
        if root.combinations() > MAX_COMBINATIONS {
            return err("Filter policy is too complex");
        }
        Ok(Self { root })
    }

    /// The combinations of values, as [`MAX_COMBINATIONS`] counts them: for the fuzz
    /// target and the property test.
    #[doc(hidden)]
    pub fn combinations(&self) -> u64 {
        self.root.combinations()
    }

    /// Whether a message with these attributes passes.
    pub fn matches_attributes(&self, attrs: &BTreeMap<String, AttrValue>) -> bool {
        self.root.matches(&|path: &[String]| {
            let Some(a) = path.first().and_then(|name| attrs.get(name)) else {
                return Lookup::Missing;
            };
            match a {
                AttrValue::String(s) => Lookup::Leaves(vec![Scalar::Str(s.clone())]),
                AttrValue::Number(n) => Lookup::Leaves(vec![Scalar::Num(*n)]),
                AttrValue::Array(v) => Lookup::Leaves(leaves(v)),
                AttrValue::Binary => Lookup::Leaves(Vec::new()),
            }
        })
    }

    /// Whether a message with this JSON body passes.
    pub fn matches_body(&self, body: &Value) -> bool {
        self.root.matches(&|path: &[String]| {
            let mut current = vec![body];
            for key in path {
                let mut next = Vec::new();
                for v in current {
                    collect_key(v, key, &mut next);
                }
                if next.is_empty() {
                    return Lookup::Missing;
                }
                current = next;
            }
            Lookup::Leaves(current.into_iter().flat_map(leaves).collect())
        })
    }
}

/// What a key resolves to in a message.
enum Lookup {
    Missing,
    Leaves(Vec<Scalar>),
}

fn collect_key<'a>(v: &'a Value, key: &str, out: &mut Vec<&'a Value>) {
    match v {
        Value::Object(m) => out.extend(m.get(key)),
        Value::Array(items) => items.iter().for_each(|i| collect_key(i, key, out)),
        _ => {}
    }
}

fn leaves(v: &Value) -> Vec<Scalar> {
    match v {
        Value::String(s) => vec![Scalar::Str(s.clone())],
        Value::Number(n) => n.as_f64().map(Scalar::Num).into_iter().collect(),
        Value::Bool(b) => vec![Scalar::Bool(*b)],
        Value::Array(items) => items.iter().flat_map(leaves).collect(),
        _ => Vec::new(),
    }
}

impl Group {
    fn combinations(&self) -> u64 {
        let mut n: u64 = 1;
        for (_, conds) in &self.clauses {
            n = n.saturating_mul(conds.len() as u64);
        }
        for alts in &self.ors {
            n = n.saturating_mul(alts.iter().map(Group::combinations).fold(0, u64::saturating_add));
        }
        n
    }

    fn matches(&self, lookup: &dyn Fn(&[String]) -> Lookup) -> bool {
        self.clauses.iter().all(|(path, conds)| {
            let found = lookup(path);
            conds.iter().any(|c| c.matches(&found))
        }) && self.ors.iter().all(|alts| alts.iter().any(|g| g.matches(lookup)))
    }
}

fn parse_group(
    obj: &Map<String, Value>,
    prefix: &[String],
    scope: Scope,
) -> Result<Group, FilterError> {
    let mut g = Group::default();
    for (key, value) in obj {
        if key == "$or" {
            let Value::Array(alts) = value else {
                return err("$or must be an array of filter policies");
            };
            if alts.len() < 2 {
                return err("$or must have at least 2 alternatives");
            }
            let mut groups = Vec::new();
            for alt in alts {
                let Value::Object(o) = alt else {
                    return err("each $or alternative must be an object");
                };
                if o.is_empty() {
                    return err("an $or alternative must not be empty");
                }
                groups.push(parse_group(o, prefix, scope)?);
            }
            g.ors.push(groups);
            continue;
        }
        let mut path = prefix.to_vec();
        path.push(key.clone());
        match value {
            Value::Array(conds) => {
                if conds.is_empty() {
                    return err(format!("Empty arrays are not allowed (key {key})"));
                }
                let conds = conds.iter().map(parse_cond).collect::<Result<Vec<_>, _>>()?;
                g.clauses.push((path, conds));
            }
            Value::Object(inner) if scope == Scope::MessageBody => {
                if inner.is_empty() {
                    return err(format!("Empty objects are not allowed (key {key})"));
                }
                let nested = parse_group(inner, &path, scope)?;
                g.clauses.extend(nested.clauses);
                g.ors.extend(nested.ors);
            }
            Value::Object(_) => {
                return err(
                    "Filter policy scope MessageAttributes does not support nested filter policy",
                );
            }
            _ => return err(format!("Match value must be an array (key {key})")),
        }
    }
    if g.clauses.len() > MAX_KEYS {
        return err(format!("Filter policy can not have more than {MAX_KEYS} keys"));
    }
    Ok(g)
}

fn scalar(v: &Value) -> Result<Scalar, FilterError> {
    match v {
        Value::String(s) => Ok(Scalar::Str(s.clone())),
        Value::Number(n) => number(n.as_f64()).map(Scalar::Num),
        Value::Bool(b) => Ok(Scalar::Bool(*b)),
        _ => err(format!("Match value must be String, number, true or false: {v}")),
    }
}

fn number(n: Option<f64>) -> Result<f64, FilterError> {
    match n {
        Some(n) if n.abs() <= NUMERIC_LIMIT => Ok(n),
        _ => err("Numeric values must be within -1,000,000,000 and 1,000,000,000"),
    }
}

fn string_arg(v: &Value, op: &str) -> Result<String, FilterError> {
    match v {
        Value::String(s) => Ok(s.clone()),
        _ => err(format!("{op} match pattern must be a string")),
    }
}

fn parse_cond(v: &Value) -> Result<Cond, FilterError> {
    let Value::Object(obj) = v else { return scalar(v).map(Cond::Exact) };
    if obj.len() != 1 {
        return err(format!("a match object must have exactly one operator: {v}"));
    }
    let Some((op, arg)) = obj.iter().next() else { return err("empty match object") };
    match op.as_str() {
        "prefix" => Ok(Cond::Prefix(string_arg(arg, "prefix")?)),
        "suffix" => Ok(Cond::Suffix(string_arg(arg, "suffix")?)),
        "equals-ignore-case" => Ok(Cond::EqualsIgnoreCase(string_arg(arg, "equals-ignore-case")?)),
        "exists" => match arg {
            Value::Bool(b) => Ok(Cond::Exists(*b)),
            _ => err("exists match pattern must be either true or false."),
        },
        "anything-but" => match arg {
            Value::Array(items) if !items.is_empty() => {
                Ok(Cond::AnythingBut(items.iter().map(scalar).collect::<Result<_, _>>()?))
            }
            Value::Object(inner) if inner.len() == 1 => match inner.iter().next() {
                Some((k, a)) if k == "prefix" => {
                    Ok(Cond::AnythingButPrefix(string_arg(a, "prefix")?))
                }
                Some((k, a)) if k == "suffix" => {
                    Ok(Cond::AnythingButSuffix(string_arg(a, "suffix")?))
                }
                _ => err(format!("Unsupported anything-but pattern: {arg}")),
            },
            Value::String(_) | Value::Number(_) | Value::Bool(_) => {
                Ok(Cond::AnythingBut(vec![scalar(arg)?]))
            }
            _ => err(format!("Unsupported anything-but pattern: {arg}")),
        },
        "numeric" => parse_numeric(arg),
        "cidr" => parse_cidr(arg),
        other => err(format!("Unrecognized match type {other}")),
    }
}

fn parse_numeric(arg: &Value) -> Result<Cond, FilterError> {
    let Value::Array(items) = arg else { return err("Value of numeric must be an array.") };
    let mut res = Vec::new();
    let mut it = items.iter();
    while let Some(op) = it.next() {
        let op = match op.as_str() {
            Some("=") => NumOp::Eq,
            Some("<") => NumOp::Lt,
            Some("<=") => NumOp::Le,
            Some(">") => NumOp::Gt,
            Some(">=") => NumOp::Ge,
            _ => return err(format!("Unrecognized numeric range operator: {op}")),
        };
        let Some(n) = it.next() else { return err("Value of numeric operator must be a number") };
        let Value::Number(n) = n else { return err("Value of numeric operator must be a number") };
        res.push((op, number(n.as_f64())?));
    }
    let ok = match res.as_slice() {
        [_] => true,
        [(lo, a), (hi, b)] => {
            matches!(lo, NumOp::Gt | NumOp::Ge) && matches!(hi, NumOp::Lt | NumOp::Le) && a < b
        }
        _ => false,
    };
    if !ok {
        return err(
            "Bad numeric range: give one comparison, or a lower bound (>, >=) then a greater upper bound (<, <=)",
        );
    }
    Ok(Cond::Numeric(res))
}

fn parse_cidr(arg: &Value) -> Result<Cond, FilterError> {
    let bad = || FilterError(format!("Malformed CIDR, one '/' required: {arg}"));
    let s = arg.as_str().ok_or_else(bad)?;
    let (ip, len) = s.split_once('/').ok_or_else(bad)?;
    let ip: IpAddr = ip.parse().map_err(|_| bad())?;
    let len: u8 = len.parse().map_err(|_| bad())?;
    let max = if ip.is_ipv4() { 32 } else { 128 };
    if len > max {
        return Err(bad());
    }
    Ok(Cond::Cidr(ip, len))
}

fn in_cidr(value: &str, net: IpAddr, len: u8) -> bool {
    match (value.parse::<IpAddr>(), net) {
        (Ok(IpAddr::V4(v)), IpAddr::V4(n)) => {
            let mask = if len == 0 { 0 } else { u32::MAX << (32 - u32::from(len)) };
            u32::from(v) & mask == u32::from(n) & mask
        }
        (Ok(IpAddr::V6(v)), IpAddr::V6(n)) => {
            let mask = if len == 0 { 0 } else { u128::MAX << (128 - u32::from(len)) };
            u128::from(v) & mask == u128::from(n) & mask
        }
        _ => false,
    }
}

impl Cond {
    fn matches(&self, found: &Lookup) -> bool {
        let leaves = match (self, found) {
            (Cond::Exists(want), Lookup::Missing) => return !want,
            (Cond::Exists(want), Lookup::Leaves(_)) => return *want,
            (_, Lookup::Missing) => return false,
            (_, Lookup::Leaves(l)) => l,
        };
        leaves.iter().any(|leaf| self.matches_leaf(leaf))
    }

    fn matches_leaf(&self, leaf: &Scalar) -> bool {
        let text = match leaf {
            Scalar::Str(s) => Some(s.as_str()),
            _ => None,
        };
        match self {
            Cond::Exact(want) => scalar_eq(want, leaf),
            Cond::Prefix(p) => text.is_some_and(|t| t.starts_with(p.as_str())),
            Cond::Suffix(p) => text.is_some_and(|t| t.ends_with(p.as_str())),
            Cond::EqualsIgnoreCase(p) => text.is_some_and(|t| t.to_lowercase() == p.to_lowercase()),
            Cond::AnythingBut(values) => !values.iter().any(|v| scalar_eq(v, leaf)),
            Cond::AnythingButPrefix(p) => text.is_some_and(|t| !t.starts_with(p.as_str())),
            Cond::AnythingButSuffix(p) => text.is_some_and(|t| !t.ends_with(p.as_str())),
            Cond::Numeric(ops) => match leaf {
                Scalar::Num(n) => ops.iter().all(|(op, v)| match op {
                    NumOp::Eq => n == v,
                    NumOp::Lt => n < v,
                    NumOp::Le => n <= v,
                    NumOp::Gt => n > v,
                    NumOp::Ge => n >= v,
                }),
                _ => false,
            },
            Cond::Exists(_) => true,
            Cond::Cidr(net, len) => text.is_some_and(|t| in_cidr(t, *net, *len)),
        }
    }
}

fn scalar_eq(a: &Scalar, b: &Scalar) -> bool {
    match (a, b) {
        (Scalar::Str(x), Scalar::Str(y)) => x == y,
        (Scalar::Num(x), Scalar::Num(y)) => x == y,
        (Scalar::Bool(x), Scalar::Bool(y)) => x == y,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn attrs(v: Value) -> BTreeMap<String, AttrValue> {
        v.as_object()
            .unwrap()
            .iter()
            .map(|(k, v)| {
                let a = match v {
                    Value::String(s) => AttrValue::String(s.clone()),
                    Value::Number(n) => AttrValue::Number(n.as_f64().unwrap()),
                    Value::Array(_) => AttrValue::Array(v.clone()),
                    _ => AttrValue::Binary,
                };
                (k.clone(), a)
            })
            .collect()
    }

    /// Cases from the attribute matching examples of
    /// <https://docs.aws.amazon.com/sns/latest/dg/sns-subscription-filter-policies.html>.
    #[test]
    fn attribute_policies() {
        let cases = [
            // policy                                                    attributes                               match
            (
                json!({"customer_interests": ["rugby", "football"]}),
                json!({"customer_interests": "rugby"}),
                true,
            ),
            (
                json!({"customer_interests": ["rugby", "football"]}),
                json!({"customer_interests": "tennis"}),
                false,
            ),
            (
                json!({"customer_interests": ["rugby"]}),
                json!({"customer_interests": ["soccer", "rugby"]}),
                true,
            ),
            (json!({"customer_interests": ["rugby"]}), json!({}), false),
            (
                json!({"price_usd": [{"numeric": [">", 0, "<=", 150]}]}),
                json!({"price_usd": 100}),
                true,
            ),
            (
                json!({"price_usd": [{"numeric": [">", 0, "<=", 150]}]}),
                json!({"price_usd": 150.5}),
                false,
            ),
            (json!({"price_usd": [{"numeric": ["=", 301.5]}]}), json!({"price_usd": 301.5}), true),
            (json!({"price_usd": [{"numeric": [">", 0]}]}), json!({"price_usd": "5"}), false),
            (json!({"price_usd": [300]}), json!({"price_usd": 300}), true),
            (
                json!({"customer_interests": [{"prefix": "bas"}]}),
                json!({"customer_interests": "baseball"}),
                true,
            ),
            (
                json!({"customer_interests": [{"suffix": "ball"}]}),
                json!({"customer_interests": "baseball"}),
                true,
            ),
            (
                json!({"customer_interests": [{"suffix": "ball"}]}),
                json!({"customer_interests": "rugby"}),
                false,
            ),
            (
                json!({"customer_interests": [{"equals-ignore-case": "tennis"}]}),
                json!({"customer_interests": "TeNnIs"}),
                true,
            ),
            (
                json!({"customer_interests": [{"anything-but": ["rugby", "tennis"]}]}),
                json!({"customer_interests": "baseball"}),
                true,
            ),
            (
                json!({"customer_interests": [{"anything-but": ["rugby", "tennis"]}]}),
                json!({"customer_interests": "rugby"}),
                false,
            ),
            (json!({"customer_interests": [{"anything-but": ["rugby"]}]}), json!({}), false),
            (
                json!({"customer_interests": [{"anything-but": {"prefix": "bas"}}]}),
                json!({"customer_interests": "baseball"}),
                false,
            ),
            (
                json!({"customer_interests": [{"anything-but": {"suffix": "ball"}}]}),
                json!({"customer_interests": "rugby"}),
                true,
            ),
            (json!({"price": [{"anything-but": [100, 500]}]}), json!({"price": 200}), true),
            (json!({"store": [{"exists": true}]}), json!({"store": "example_corp"}), true),
            (json!({"store": [{"exists": false}]}), json!({"store": "example_corp"}), false),
            (json!({"store": [{"exists": false}]}), json!({}), true),
            (
                json!({"source_ip": [{"cidr": "10.0.0.0/24"}]}),
                json!({"source_ip": "10.0.0.255"}),
                true,
            ),
            (
                json!({"source_ip": [{"cidr": "10.0.0.0/24"}]}),
                json!({"source_ip": "10.0.1.1"}),
                false,
            ),
            (
                json!({"source_ip": [{"cidr": "2001:db8::/32"}]}),
                json!({"source_ip": "2001:db8::1"}),
                true,
            ),
            (json!({"a": ["x"], "b": ["y"]}), json!({"a": "x", "b": "y"}), true),
            (json!({"a": ["x"], "b": ["y"]}), json!({"a": "x", "b": "z"}), false),
            (
                json!({"source": ["aws.cloudwatch"], "$or": [{"metricName": ["CPUUtilization"]}, {"namespace": ["AWS/EC2"]}]}),
                json!({"source": "aws.cloudwatch", "namespace": "AWS/EC2"}),
                true,
            ),
            (
                json!({"source": ["aws.cloudwatch"], "$or": [{"metricName": ["CPUUtilization"]}, {"namespace": ["AWS/EC2"]}]}),
                json!({"source": "aws.cloudwatch", "namespace": "AWS/S3"}),
                false,
            ),
        ];
        for (i, (policy, message, want)) in cases.into_iter().enumerate() {
            let p = FilterPolicy::parse(&policy.to_string(), Scope::MessageAttributes).unwrap();
            assert_eq!(
                p.matches_attributes(&attrs(message.clone())),
                want,
                "row {i}: {policy} vs {message}"
            );
        }
    }

    #[test]
    fn body_policies() {
        let body = json!({
            "patient": {"name": "Jane", "age": 42, "visits": [{"clinic": "north"}, {"clinic": "south"}]},
            "insured": true,
            "tags": ["urgent", "follow-up"]
        });
        let cases = [
            (json!({"patient": {"name": ["Jane"]}}), true),
            (json!({"patient": {"age": [{"numeric": [">=", 40]}]}}), true),
            (json!({"patient": {"visits": {"clinic": ["south"]}}}), true),
            (json!({"patient": {"missing": [{"exists": false}]}}), true),
            (json!({"insured": [true]}), true),
            (json!({"insured": [false]}), false),
            (json!({"tags": [{"prefix": "fol"}]}), true),
            (json!({"patient": {"$or": [{"name": ["Bob"]}, {"age": [42]}]}}), true),
            (json!({"patient": {"name": ["Bob"]}}), false),
        ];
        for (i, (policy, want)) in cases.into_iter().enumerate() {
            let p = FilterPolicy::parse(&policy.to_string(), Scope::MessageBody).unwrap();
            assert_eq!(p.matches_body(&body), want, "row {i}: {policy}");
        }
    }

    #[test]
    fn invalid_policies_fail_closed() {
        let too_many_values: Vec<String> = (0..151).map(|i| i.to_string()).collect();
        let combos = json!({"a": (0..15).collect::<Vec<_>>(), "b": (0..11).collect::<Vec<_>>()});
        let cases = [
            "not json".to_owned(),
            "[]".to_owned(),
            "{}".to_owned(),
            json!({"a": "x"}).to_string(),
            json!({"a": []}).to_string(),
            json!({"a": [{"wildcard": "x*"}]}).to_string(),
            json!({"a": [{"prefix": 1}]}).to_string(),
            json!({"a": [{"exists": "yes"}]}).to_string(),
            json!({"a": [{"numeric": ["<", 5, ">", 1]}]}).to_string(),
            json!({"a": [{"numeric": ["~", 5]}]}).to_string(),
            json!({"a": [{"numeric": [">", 2e9]}]}).to_string(),
            json!({"a": [{"cidr": "10.0.0.0"}]}).to_string(),
            json!({"a": [{"cidr": "10.0.0.0/33"}]}).to_string(),
            json!({"a": [null]}).to_string(),
            json!({"a": {"b": ["x"]}}).to_string(),
            json!({"a": [{"prefix": "x", "suffix": "y"}]}).to_string(),
            json!({"$or": [{"a": ["x"]}]}).to_string(),
            json!({"a": too_many_values}).to_string(),
            combos.to_string(),
            json!({"a": ["1"], "b": ["1"], "c": ["1"], "d": ["1"], "e": ["1"], "f": ["1"]})
                .to_string(),
        ];
        for text in cases {
            assert!(FilterPolicy::parse(&text, Scope::MessageAttributes).is_err(), "{text}");
        }
        assert!(
            FilterPolicy::parse(&json!({"a": {"b": ["x"]}}).to_string(), Scope::MessageBody)
                .is_ok()
        );
    }
}
