//! Condition operators and their evaluation, following
//! <https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html>,
//! <https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_logic_multiple_context_keys_or_values.html>
//! and <https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-single-vs-multi-valued-context-keys.html>.
//!
//! Policy values are parsed when the policy is, so a value that cannot be a number, date, CIDR,
//! boolean or base64 string is a parse error rather than a condition that quietly never (or, for
//! a negated operator, always) matches.

use std::net::IpAddr;

use base64::Engine as _;
use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};

use crate::matching::{Glob, Mode, compile};
use crate::request::{ContextValue, Lookup, Value};
use crate::variables::Template;

/// A condition operator: `[ForAllValues:|ForAnyValue:]<Operator>[IfExists]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Operator {
    /// The set operator prefix, if any.
    pub set: SetOperator,
    /// The base operator.
    pub kind: OperatorKind,
    /// The `...IfExists` suffix: a missing key makes the condition true.
    pub if_exists: bool,
}

/// The set operators for multivalued keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SetOperator {
    /// No prefix.
    None,
    /// `ForAllValues:`: every request value must satisfy the operator (true for no values).
    ForAllValues,
    /// `ForAnyValue:`: at least one request value must satisfy the operator.
    ForAnyValue,
}

macro_rules! operator_kinds {
    ($($name:ident),* $(,)?) => {
        /// The base condition operators.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        #[allow(missing_docs)]
        pub enum OperatorKind { $($name),* }

        impl OperatorKind {
            /// All operators, for parsing and tests.
            pub const ALL: &'static [OperatorKind] = &[$(OperatorKind::$name),*];

            /// The operator's name as written in a policy.
            pub fn name(self) -> &'static str {
                match self { $(OperatorKind::$name => stringify!($name)),* }
            }
        }
    };
}

operator_kinds!(
    StringEquals,
    StringNotEquals,
    StringEqualsIgnoreCase,
    StringNotEqualsIgnoreCase,
    StringLike,
    StringNotLike,
    NumericEquals,
    NumericNotEquals,
    NumericLessThan,
    NumericLessThanEquals,
    NumericGreaterThan,
    NumericGreaterThanEquals,
    DateEquals,
    DateNotEquals,
    DateLessThan,
    DateLessThanEquals,
    DateGreaterThan,
    DateGreaterThanEquals,
    Bool,
    BinaryEquals,
    IpAddress,
    NotIpAddress,
    ArnEquals,
    ArnLike,
    ArnNotEquals,
    ArnNotLike,
    Null,
);

/// One key of one operator in a `Condition` block, with its policy values.
#[derive(Debug, Clone, PartialEq)]
pub struct Condition {
    /// The operator.
    pub operator: Operator,
    /// The condition key as written in the policy.
    pub key: String,
    key_lower: String,
    values: Vec<PolicyValue>,
}

/// A policy value: its text (for printing) and its parsed form.
#[derive(Debug, Clone, PartialEq)]
struct PolicyValue {
    raw: String,
    parsed: Parsed,
}

#[derive(Debug, Clone, PartialEq)]
enum Parsed {
    Text(String),
    Glob(Glob),
    Template(Template),
    Number(f64),
    Date(DateTime<Utc>),
    Bool(bool),
    Binary(Vec<u8>),
    Cidr(IpAddr, u8),
}

#[derive(Clone, Copy)]
enum Cmp {
    Eq,
    Lt,
    Le,
    Gt,
    Ge,
}

impl Operator {
    /// Parses an operator name; names are case-sensitive, as in AWS's documentation.
    pub fn parse(name: &str) -> Option<Self> {
        let (set, rest) = if let Some(rest) = name.strip_prefix("ForAllValues:") {
            (SetOperator::ForAllValues, rest)
        } else if let Some(rest) = name.strip_prefix("ForAnyValue:") {
            (SetOperator::ForAnyValue, rest)
        } else {
            (SetOperator::None, name)
        };
        let (base, if_exists) = match rest.strip_suffix("IfExists") {
            Some(base) => (base, true),
            None => (rest, false),
        };
        let kind = *OperatorKind::ALL.iter().find(|k| k.name() == base)?;
        // `Null` tests existence itself, so neither modifier means anything for it; we refuse
        // them rather than guess.
        if kind == OperatorKind::Null && (if_exists || set != SetOperator::None) {
            return None;
        }
        Some(Self { set, kind, if_exists })
    }

    /// The operator's name as written in a policy.
    pub fn name(&self) -> String {
        let prefix = match self.set {
            SetOperator::None => "",
            SetOperator::ForAllValues => "ForAllValues:",
            SetOperator::ForAnyValue => "ForAnyValue:",
        };
        let suffix = if self.if_exists { "IfExists" } else { "" };
        format!("{prefix}{}{suffix}", self.kind.name())
    }
}

impl OperatorKind {
    /// Whether the operator is the negation of a positive one (`StringNotEquals`, ...).
    pub fn is_negated(self) -> bool {
        use OperatorKind::*;
        matches!(
            self,
            StringNotEquals
                | StringNotEqualsIgnoreCase
                | StringNotLike
                | NumericNotEquals
                | DateNotEquals
                | NotIpAddress
                | ArnNotEquals
                | ArnNotLike
        )
    }
}

impl Condition {
    /// Builds a condition; `variables` is whether the policy version allows policy variables.
    /// The error is the first value the operator cannot use.
    pub(crate) fn new(
        operator: Operator,
        key: &str,
        raw_values: Vec<String>,
        variables: bool,
    ) -> Result<Self, String> {
        let values = raw_values
            .into_iter()
            .map(|raw| {
                let parsed =
                    parse_value(operator.kind, &raw, variables).ok_or_else(|| raw.clone())?;
                Ok::<_, String>(PolicyValue { raw, parsed })
            })
            .collect::<Result<_, _>>()?;
        Ok(Self { operator, key: key.to_owned(), key_lower: key.to_ascii_lowercase(), values })
    }

    /// The policy values as written.
    pub fn values(&self) -> impl Iterator<Item = &str> {
        self.values.iter().map(|v| v.raw.as_str())
    }

    /// The lower-cased key, used for context look-ups.
    pub(crate) fn key_lower(&self) -> &str {
        &self.key_lower
    }

    /// Evaluates the condition against the request context.
    pub(crate) fn eval(&self, ctx: &dyn Lookup) -> bool {
        let found = ctx.lookup(&self.key_lower).map(ContextValue::values).unwrap_or(&[]);
        if self.operator.kind == OperatorKind::Null {
            // "true" asks for the key to be absent, "false" for it to be present.
            let absent = found.is_empty();
            return self.values.iter().any(|v| v.parsed == Parsed::Bool(absent));
        }
        let negated = self.operator.kind.is_negated();
        if found.is_empty() {
            return self.operator.if_exists
                || match self.operator.set {
                    SetOperator::ForAllValues => true,
                    SetOperator::ForAnyValue => false,
                    SetOperator::None => negated,
                };
        }
        let any_policy_value = |rv: &Value| self.values.iter().any(|pv| self.matches(pv, rv, ctx));
        match self.operator.set {
            SetOperator::ForAllValues => found.iter().all(|rv| any_policy_value(rv) != negated),
            SetOperator::ForAnyValue => found.iter().any(|rv| any_policy_value(rv) != negated),
            // GAP: AWS leaves a plain operator on a multivalued key unspecified; we treat it as
            // "any request value matches" and negate the whole, so a negated operator requires
            // every request value to differ from every policy value.
            SetOperator::None => found.iter().any(any_policy_value) != negated,
        }
    }

    /// The positive form of the operator, for one policy value and one request value.
    fn matches(&self, pv: &PolicyValue, rv: &Value, ctx: &dyn Lookup) -> bool {
        use OperatorKind::*;
        match self.operator.kind {
            StringEquals | StringNotEquals | ArnEquals | ArnNotEquals | ArnLike | ArnNotLike
            | StringLike | StringNotLike => {
                let text = string_of(rv);
                match &pv.parsed {
                    Parsed::Text(expected) => *expected == *text,
                    Parsed::Glob(glob) => glob.matches(&text),
                    Parsed::Template(template) => self.match_template(template, &text, ctx),
                    _ => false,
                }
            }
            StringEqualsIgnoreCase | StringNotEqualsIgnoreCase => {
                let text = string_of(rv);
                let expected = match &pv.parsed {
                    Parsed::Text(expected) => std::borrow::Cow::Borrowed(expected.as_str()),
                    Parsed::Template(t) => match t.resolve_string(ctx) {
                        Some(s) => std::borrow::Cow::Owned(s),
                        None => return false,
                    },
                    _ => return false,
                };
                eq_ignore_case(&expected, &text)
            }
            NumericEquals | NumericNotEquals => cmp_number(pv, rv, Cmp::Eq),
            NumericLessThan => cmp_number(pv, rv, Cmp::Lt),
            NumericLessThanEquals => cmp_number(pv, rv, Cmp::Le),
            NumericGreaterThan => cmp_number(pv, rv, Cmp::Gt),
            NumericGreaterThanEquals => cmp_number(pv, rv, Cmp::Ge),
            DateEquals | DateNotEquals => cmp_date(pv, rv, Cmp::Eq),
            DateLessThan => cmp_date(pv, rv, Cmp::Lt),
            DateLessThanEquals => cmp_date(pv, rv, Cmp::Le),
            DateGreaterThan => cmp_date(pv, rv, Cmp::Gt),
            DateGreaterThanEquals => cmp_date(pv, rv, Cmp::Ge),
            Bool => {
                let actual = match rv {
                    Value::Bool(b) => Some(*b),
                    Value::String(s) => parse_bool(s),
                    _ => None,
                };
                matches!(pv.parsed, Parsed::Bool(expected) if actual == Some(expected))
            }
            BinaryEquals => {
                let Parsed::Binary(expected) = &pv.parsed else { return false };
                match rv {
                    Value::Binary(bytes) => bytes == expected,
                    Value::String(s) => decode_base64(s).is_some_and(|b| b == *expected),
                    _ => false,
                }
            }
            IpAddress | NotIpAddress => {
                let Parsed::Cidr(net, prefix) = pv.parsed else { return false };
                let ip = match rv {
                    Value::Ip(ip) => Some(*ip),
                    Value::String(s) => s.parse().ok(),
                    _ => None,
                };
                ip.is_some_and(|ip| cidr_contains(net, prefix, ip))
            }
            Null => false,
        }
    }

    fn match_template(&self, template: &Template, text: &str, ctx: &dyn Lookup) -> bool {
        use OperatorKind::*;
        let mut chars = Vec::new();
        if !template.resolve(ctx, &mut chars) {
            return false;
        }
        let mode = match self.operator.kind {
            StringLike | StringNotLike => Mode::Plain,
            ArnEquals | ArnNotEquals | ArnLike | ArnNotLike => Mode::ArnCondition,
            _ => return chars.iter().map(|(c, _)| *c).eq(text.chars()),
        };
        Glob::from_toks(compile(chars.into_iter(), mode, false), false).matches(text)
    }
}

fn parse_value(kind: OperatorKind, raw: &str, variables: bool) -> Option<Parsed> {
    use OperatorKind::*;
    let template = || if variables { Template::parse(raw).map(Parsed::Template) } else { None };
    Some(match kind {
        StringEquals | StringNotEquals | StringEqualsIgnoreCase | StringNotEqualsIgnoreCase => {
            template().unwrap_or_else(|| Parsed::Text(raw.to_owned()))
        }
        StringLike | StringNotLike => {
            template().unwrap_or_else(|| Parsed::Glob(Glob::new(raw, Mode::Plain, false)))
        }
        // ArnEquals behaves exactly like ArnLike, wildcards included [doc].
        ArnEquals | ArnNotEquals | ArnLike | ArnNotLike => {
            template().unwrap_or_else(|| Parsed::Glob(Glob::new(raw, Mode::ArnCondition, false)))
        }
        NumericEquals
        | NumericNotEquals
        | NumericLessThan
        | NumericLessThanEquals
        | NumericGreaterThan
        | NumericGreaterThanEquals => Parsed::Number(parse_number(raw)?),
        DateEquals
        | DateNotEquals
        | DateLessThan
        | DateLessThanEquals
        | DateGreaterThan
        | DateGreaterThanEquals => Parsed::Date(parse_date(raw)?),
        Bool | Null => Parsed::Bool(parse_bool(raw)?),
        BinaryEquals => Parsed::Binary(decode_base64(raw)?),
        IpAddress | NotIpAddress => {
            let (net, prefix) = parse_cidr(raw)?;
            Parsed::Cidr(net, prefix)
        }
    })
}

fn string_of(value: &Value) -> std::borrow::Cow<'_, str> {
    match value {
        Value::String(s) => std::borrow::Cow::Borrowed(s),
        other => std::borrow::Cow::Owned(other.to_policy_string()),
    }
}

fn eq_ignore_case(a: &str, b: &str) -> bool {
    a.chars().flat_map(char::to_lowercase).eq(b.chars().flat_map(char::to_lowercase))
}

fn parse_bool(s: &str) -> Option<bool> {
    if s.eq_ignore_ascii_case("true") {
        Some(true)
    } else if s.eq_ignore_ascii_case("false") {
        Some(false)
    } else {
        None
    }
}

fn parse_number(s: &str) -> Option<f64> {
    s.trim().parse::<f64>().ok().filter(|n| n.is_finite())
}

/// Accepts ISO 8601 (`2020-01-01T00:00:00Z`, with an offset, without seconds' fraction, without
/// a zone as UTC, or a bare date) and epoch seconds.
pub(crate) fn parse_date(s: &str) -> Option<DateTime<Utc>> {
    let s = s.trim();
    if let Ok(d) = DateTime::parse_from_rfc3339(s) {
        return Some(d.with_timezone(&Utc));
    }
    for fmt in
        ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S%.fZ", "%Y-%m-%dT%H:%MZ"]
    {
        if let Ok(d) = NaiveDateTime::parse_from_str(s, fmt) {
            return Some(d.and_utc());
        }
    }
    if let Ok(d) = NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        return d.and_hms_opt(0, 0, 0).map(|d| d.and_utc());
    }
    let secs = parse_number(s)?;
    if secs.abs() > 1e13 {
        return None;
    }
    DateTime::from_timestamp_millis((secs * 1000.0).round() as i64)
}

fn decode_base64(s: &str) -> Option<Vec<u8>> {
    base64::engine::general_purpose::STANDARD.decode(s.trim()).ok()
}

fn cmp_number(pv: &PolicyValue, rv: &Value, cmp: Cmp) -> bool {
    let Parsed::Number(expected) = pv.parsed else { return false };
    let actual = match rv {
        Value::Number(n) => Some(*n),
        Value::String(s) => parse_number(s),
        _ => None,
    };
    actual.is_some_and(|actual| compare(actual.partial_cmp(&expected), cmp))
}

fn cmp_date(pv: &PolicyValue, rv: &Value, cmp: Cmp) -> bool {
    let Parsed::Date(expected) = pv.parsed else { return false };
    let actual = match rv {
        Value::Date(d) => Some(*d),
        Value::Number(n) => parse_date(&n.to_string()),
        Value::String(s) => parse_date(s),
        _ => None,
    };
    actual.is_some_and(|actual| compare(Some(actual.cmp(&expected)), cmp))
}

/// `ordering` is request value versus policy value.
fn compare(ordering: Option<std::cmp::Ordering>, cmp: Cmp) -> bool {
    use std::cmp::Ordering::*;
    match (ordering, cmp) {
        (None, _) => false,
        (Some(o), Cmp::Eq) => o == Equal,
        (Some(o), Cmp::Lt) => o == Less,
        (Some(o), Cmp::Le) => o != Greater,
        (Some(o), Cmp::Gt) => o == Greater,
        (Some(o), Cmp::Ge) => o != Less,
    }
}

/// Parses `203.0.113.0/24`, `2001:DB8::/32` or a bare address (a host route).
fn parse_cidr(s: &str) -> Option<(IpAddr, u8)> {
    let s = s.trim();
    let (addr, prefix) = match s.split_once('/') {
        Some((addr, prefix)) => (addr.parse::<IpAddr>().ok()?, Some(prefix.parse::<u8>().ok()?)),
        None => (s.parse::<IpAddr>().ok()?, None),
    };
    let max = if addr.is_ipv4() { 32 } else { 128 };
    let prefix = prefix.unwrap_or(max);
    (prefix <= max).then_some((addr, prefix))
}

/// Whether `ip` lies in `net/prefix`. An IPv4-mapped IPv6 address counts as its IPv4 address.
pub(crate) fn cidr_contains(net: IpAddr, prefix: u8, ip: IpAddr) -> bool {
    let ip = match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
        v4 => v4,
    };
    match (net, ip) {
        (IpAddr::V4(net), IpAddr::V4(ip)) => {
            let mask = u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0);
            u32::from(net) & mask == u32::from(ip) & mask
        }
        (IpAddr::V6(net), IpAddr::V6(ip)) => {
            let mask = u128::MAX.checked_shl(128 - u32::from(prefix)).unwrap_or(0);
            u128::from(net) & mask == u128::from(ip) & mask
        }
        _ => false,
    }
}
