//! Template parameters: declarations, supplied values and their constraints, following
//! <https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/parameters-section-structure.html>
//! and
//! <https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/cloudformation-supplied-parameter-types.html>.
//!
//! Values are checked here with CloudFormation's messages; values that name things in other
//! services (an SSM parameter, a VPC id) are looked up by the service through
//! [`ParameterStore`].

use std::collections::BTreeMap;

use indexmap::IndexMap;

use crate::error::{Pos, Result, Section, TemplateError};
use crate::limits;
use crate::node::{Node, NodeValue};

/// The AWS-specific parameter types (`AWS::EC2::VPC::Id`, ...) that CloudFormation accepts.
pub const AWS_SPECIFIC_TYPES: &[&str] = &[
    "AWS::EC2::AvailabilityZone::Name",
    "AWS::EC2::Image::Id",
    "AWS::EC2::Instance::Id",
    "AWS::EC2::KeyPair::KeyName",
    "AWS::EC2::SecurityGroup::GroupName",
    "AWS::EC2::SecurityGroup::Id",
    "AWS::EC2::Subnet::Id",
    "AWS::EC2::Volume::Id",
    "AWS::EC2::VPC::Id",
    "AWS::Route53::HostedZone::Id",
];

/// A parameter's type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParameterType {
    /// `String`.
    String,
    /// `Number`.
    Number,
    /// `List<Number>`.
    NumberList,
    /// `CommaDelimitedList`.
    CommaDelimitedList,
    /// An AWS-specific type such as `AWS::EC2::VPC::Id`, or `AWS::SSM::Parameter::Name`.
    AwsSpecific(String),
    /// `List<AWS::EC2::Subnet::Id>` and the like: the element type.
    AwsSpecificList(String),
    /// `AWS::SSM::Parameter::Value<T>`: the value is read from Parameter Store; `T` is kept.
    Ssm(Box<ParameterType>),
    /// `List<String>`, valid only as the `T` of an SSM parameter type.
    StringList,
}

impl ParameterType {
    /// Parses a `Type` member.
    pub fn parse(text: &str) -> Option<ParameterType> {
        Self::parse_inner(text, false)
    }

    fn parse_inner(text: &str, in_ssm: bool) -> Option<ParameterType> {
        Some(match text {
            "String" => Self::String,
            "Number" => Self::Number,
            "List<Number>" => Self::NumberList,
            "CommaDelimitedList" => Self::CommaDelimitedList,
            "List<String>" if in_ssm => Self::StringList,
            "AWS::SSM::Parameter::Name" if !in_ssm => Self::AwsSpecific(text.to_owned()),
            t if AWS_SPECIFIC_TYPES.contains(&t) => Self::AwsSpecific(t.to_owned()),
            t => {
                if let Some(inner) = t.strip_prefix("List<").and_then(|r| r.strip_suffix('>')) {
                    if AWS_SPECIFIC_TYPES.contains(&inner) {
                        return Some(Self::AwsSpecificList(inner.to_owned()));
                    }
                    return None;
                }
                let inner = t.strip_prefix("AWS::SSM::Parameter::Value<")?.strip_suffix('>')?;
                if in_ssm || matches!(inner, "Number" | "List<Number>") {
                    return None;
                }
                Self::Ssm(Box::new(Self::parse_inner(inner, true)?))
            }
        })
    }

    /// True when values of this type are lists.
    pub fn is_list(&self) -> bool {
        match self {
            Self::NumberList
            | Self::CommaDelimitedList
            | Self::AwsSpecificList(_)
            | Self::StringList => true,
            Self::Ssm(inner) => inner.is_list(),
            Self::String | Self::Number | Self::AwsSpecific(_) => false,
        }
    }
}

/// An `AllowedPattern`, compiled to match the whole value as CloudFormation does.
#[derive(Debug, Clone)]
pub struct AllowedPattern {
    /// The pattern as written.
    pub source: String,
    regex: regex::Regex,
}

impl PartialEq for AllowedPattern {
    fn eq(&self, other: &Self) -> bool {
        self.source == other.source
    }
}

impl AllowedPattern {
    /// Compiles a pattern, anchored at both ends.
    pub fn new(source: &str) -> Option<Self> {
        let regex = regex::Regex::new(&format!("^(?:{source})$")).ok()?;
        Some(Self { source: source.to_owned(), regex })
    }

    /// True when the whole value matches.
    pub fn matches(&self, value: &str) -> bool {
        self.regex.is_match(value)
    }
}

/// A parameter declaration.
#[derive(Debug, Clone, PartialEq)]
pub struct Parameter {
    /// The logical id.
    pub name: String,
    /// `Type`, parsed.
    pub param_type: ParameterType,
    /// `Type`, as written.
    pub type_name: String,
    /// `Default`, as text.
    pub default: Option<String>,
    /// `AllowedValues`, as text.
    pub allowed_values: Vec<String>,
    /// `AllowedPattern`.
    pub allowed_pattern: Option<AllowedPattern>,
    /// `MinLength`.
    pub min_length: Option<u64>,
    /// `MaxLength`.
    pub max_length: Option<u64>,
    /// `MinValue`.
    pub min_value: Option<f64>,
    /// `MaxValue`.
    pub max_value: Option<f64>,
    /// `NoEcho`.
    pub no_echo: bool,
    /// `Description`.
    pub description: Option<String>,
    /// `ConstraintDescription`.
    pub constraint_description: Option<String>,
    /// Where the logical id was written.
    pub pos: Pos,
}

/// A resolved parameter value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParameterValue {
    /// A single value (numbers stay text, as CloudFormation passes them).
    String(String),
    /// A list value.
    List(Vec<String>),
}

impl ParameterValue {
    /// The value as JSON: a string or a list of strings.
    pub fn to_json(&self) -> serde_json::Value {
        match self {
            Self::String(s) => serde_json::Value::String(s.clone()),
            Self::List(l) => l.iter().cloned().map(serde_json::Value::String).collect(),
        }
    }
}

/// Resolved values of every parameter, by name.
pub type ParameterValues = BTreeMap<String, ParameterValue>;

/// Looks up values that live outside the template: SSM parameters. The service implements
/// it over its Parameter Store; tests use a map.
pub trait ParameterStore {
    /// The value of the SSM parameter `name`, or `None` when it does not exist.
    fn ssm_parameter(&self, name: &str) -> Option<String>;
}

/// A store with no parameters.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoParameterStore;

impl ParameterStore for NoParameterStore {
    fn ssm_parameter(&self, _name: &str) -> Option<String> {
        None
    }
}

impl ParameterStore for BTreeMap<String, String> {
    fn ssm_parameter(&self, name: &str) -> Option<String> {
        self.get(name).cloned()
    }
}

const PARAMETER_KEYS: &[&str] = &[
    "Type",
    "Default",
    "AllowedValues",
    "AllowedPattern",
    "MinLength",
    "MaxLength",
    "MinValue",
    "MaxValue",
    "NoEcho",
    "Description",
    "ConstraintDescription",
];

pub(crate) fn parse_section(node: &Node) -> Result<IndexMap<String, Parameter>> {
    let mut res = IndexMap::new();
    let entries = crate::template::expect_map(node, Section::Parameters, "The Parameters section")?;
    for (key, body) in entries {
        limits::check_logical_id(&key.name, "Parameter", Section::Parameters)
            .map_err(|e| e.at(key.pos))?;
        res.insert(key.name.clone(), parse_one(&key.name, body, key.pos)?);
    }
    Ok(res)
}

fn parse_one(name: &str, body: &Node, pos: Pos) -> Result<Parameter> {
    let fmt = |what: String, at: Pos| TemplateError::format(Section::Parameters, what).at(at);
    let entries =
        crate::template::expect_map(body, Section::Parameters, &format!("Parameter {name}"))?;
    if let Some((k, _)) = entries.iter().find(|(k, _)| !PARAMETER_KEYS.contains(&k.name.as_str())) {
        return Err(fmt(format!("Invalid template parameter property '{}'", k.name), k.pos));
    }
    let Some(type_node) = body.get("Type") else {
        return Err(fmt("Every Parameters object must contain a Type member.".into(), pos));
    };
    let type_name = type_node.as_str().unwrap_or_default().to_owned();
    let Some(param_type) = ParameterType::parse(&type_name) else {
        return Err(fmt(
            format!(
                "Unrecognized parameter type: {}",
                type_node.to_json().as_str().unwrap_or(&type_name)
            ),
            type_node.pos,
        ));
    };
    let text = |key: &str| -> Result<Option<String>> {
        match body.get(key) {
            None => Ok(None),
            Some(n) => match &n.value {
                // A list Default (`Default: [a, b]`) is accepted for list types.
                NodeValue::List(items) if key == "Default" => Ok(Some(
                    items
                        .iter()
                        .map(|i| i.scalar_text().unwrap_or_default())
                        .collect::<Vec<_>>()
                        .join(","),
                )),
                _ => n.scalar_text().map(Some).ok_or_else(|| {
                    fmt(
                        format!("Parameter {name} has an invalid {key}: it must be a string"),
                        n.pos,
                    )
                }),
            },
        }
    };
    let number = |key: &str| -> Result<Option<f64>> {
        match text(key)? {
            None => Ok(None),
            Some(t) => t.trim().parse::<f64>().map(Some).map_err(|_| {
                fmt(
                    format!("Parameter {name} has an invalid {key}: it must be a number"),
                    body.get(key).map_or(pos, |n| n.pos),
                )
            }),
        }
    };
    let allowed_values = match body.get("AllowedValues") {
        None => Vec::new(),
        Some(n) => match &n.value {
            NodeValue::List(items) => items
                .iter()
                .map(|i| i.scalar_text().ok_or_else(|| fmt(format!("Parameter {name} has an invalid AllowedValues: it must be a list of strings"), i.pos)))
                .collect::<Result<_>>()?,
            _ => return Err(fmt(format!("Parameter {name} has an invalid AllowedValues: it must be a list"), n.pos)),
        },
    };
    let allowed_pattern = match text("AllowedPattern")? {
        None => None,
        Some(p) => Some(AllowedPattern::new(&p).ok_or_else(|| {
            fmt(
                format!("Parameter {name} has an invalid AllowedPattern {p}"),
                body.get("AllowedPattern").map_or(pos, |n| n.pos),
            )
        })?),
    };
    let as_len = |v: Option<f64>| v.map(|v| if v < 0.0 { 0 } else { v as u64 });
    Ok(Parameter {
        name: name.to_owned(),
        param_type,
        type_name,
        default: text("Default")?,
        allowed_values,
        allowed_pattern,
        min_length: as_len(number("MinLength")?),
        max_length: as_len(number("MaxLength")?),
        min_value: number("MinValue")?,
        max_value: number("MaxValue")?,
        no_echo: matches!(text("NoEcho")?.as_deref(), Some("true" | "True" | "TRUE")),
        description: text("Description")?,
        constraint_description: text("ConstraintDescription")?,
        pos,
    })
}

mod values;

pub use values::resolve_parameters;
