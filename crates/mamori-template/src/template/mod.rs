//! The typed template and its sections, following
//! <https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/template-anatomy.html>.
//!
//! [`Template::parse`] reads the body (JSON when it starts with `{`, as CloudFormation
//! decides, otherwise YAML), checks the shape of every section, and converts every value
//! that may hold intrinsic functions into an [`Expr`]. Cross-references are checked later,
//! by [`Template::validate`](crate::Template::validate).

mod resources;

use indexmap::IndexMap;

use crate::error::{Pos, Result, Section, TemplateError};
use crate::expr::Expr;
use crate::limits;
use crate::node::{Node, NodeValue};
use crate::params::Parameter;

pub use resources::{DeletionPolicy, Output, Resource};

/// A mapping: top-level key, then second-level key, then value.
pub type Mapping = IndexMap<String, IndexMap<String, serde_json::Value>>;

/// A parsed CloudFormation template.
#[derive(Debug, Clone, PartialEq)]
pub struct Template {
    /// `AWSTemplateFormatVersion`, when given (always `2010-09-09`).
    pub format_version: Option<String>,
    /// `Description`.
    pub description: Option<String>,
    /// `Metadata`, as plain JSON.
    pub metadata: Option<serde_json::Value>,
    /// `Parameters`, in template order.
    pub parameters: IndexMap<String, Parameter>,
    /// `Mappings`.
    pub mappings: IndexMap<String, Mapping>,
    /// `Conditions`: each name with its condition function.
    pub conditions: IndexMap<String, Expr>,
    /// `Transform`: the declared macros (rejected by validation until SAM is supported).
    pub transforms: Vec<String>,
    /// `Resources`, in template order.
    pub resources: IndexMap<String, Resource>,
    /// `Outputs`.
    pub outputs: IndexMap<String, Output>,
    /// Where each section's key was written, for error positions.
    pub section_pos: IndexMap<String, Pos>,
}

const TOP_LEVEL: &[&str] = &[
    "AWSTemplateFormatVersion",
    "Description",
    "Metadata",
    "Parameters",
    "Rules",
    "Mappings",
    "Conditions",
    "Transform",
    "Resources",
    "Outputs",
];

impl Template {
    /// Parses a JSON or YAML template body.
    ///
    /// The body size is checked against the largest limit (a template read from S3); the
    /// service checks the `TemplateBody` limit with [`limits::check_body_size`] first.
    ///
    /// ```
    /// let t = mamori_template::Template::parse(
    ///     "Resources:\n  Topic:\n    Type: AWS::SNS::Topic\n    Properties:\n      TopicName: !Sub '${AWS::StackName}-alerts'\n",
    /// ).unwrap();
    /// assert_eq!(t.resources["Topic"].resource_type, "AWS::SNS::Topic");
    /// ```
    pub fn parse(body: &str) -> Result<Template> {
        limits::check_body_size(body, limits::TemplateOrigin::Url)?;
        let root = if body.trim_start().starts_with('{') {
            crate::json::parse(body)?
        } else {
            crate::yaml::parse(body)?
        };
        Self::from_node(&root)
    }

    /// Builds the template from an already parsed document tree.
    pub fn from_node(root: &Node) -> Result<Template> {
        let Some(entries) = root.as_map() else {
            return Err(
                TemplateError::format(Section::Template, "unsupported structure.").at(root.pos)
            );
        };
        let unknown: Vec<&str> = entries
            .iter()
            .map(|(k, _)| k.name.as_str())
            .filter(|k| !TOP_LEVEL.contains(k))
            .collect();
        if !unknown.is_empty() {
            let pos = entries
                .iter()
                .find(|(k, _)| !TOP_LEVEL.contains(&k.name.as_str()))
                .map(|(k, _)| k.pos);
            let err = TemplateError::format(
                Section::Template,
                format_args!("Invalid template property or properties [{}]", unknown.join(", ")),
            );
            return Err(pos.map_or(err.clone(), |p| err.at(p)));
        }
        let mut t = Template {
            format_version: None,
            description: None,
            metadata: None,
            parameters: IndexMap::new(),
            mappings: IndexMap::new(),
            conditions: IndexMap::new(),
            transforms: Vec::new(),
            resources: IndexMap::new(),
            outputs: IndexMap::new(),
            section_pos: entries.iter().map(|(k, _)| (k.name.clone(), k.pos)).collect(),
        };
        for (key, node) in entries {
            match key.name.as_str() {
                "AWSTemplateFormatVersion" => t.format_version = Some(format_version(node)?),
                "Description" => match node.as_str() {
                    Some(d) => t.description = Some(d.to_owned()),
                    None => {
                        return Err(TemplateError::format(
                            Section::Metadata,
                            "Every Description member must be a string.",
                        )
                        .at(node.pos));
                    }
                },
                "Metadata" => t.metadata = Some(node.to_json()),
                "Parameters" => t.parameters = crate::params::parse_section(node)?,
                "Rules" => {
                    // Rules constrain parameter values; ignoring them would accept stacks
                    // AWS refuses, so we fail closed until they are evaluated.
                    return Err(TemplateError::format(
                        Section::Template,
                        "The Rules section is not supported by this CloudFormation implementation",
                    )
                    .at(key.pos));
                }
                "Mappings" => t.mappings = mappings(node)?,
                "Conditions" => t.conditions = conditions(node)?,
                "Transform" => t.transforms = transforms(node)?,
                "Resources" => t.resources = resources::parse_resources(node)?,
                "Outputs" => t.outputs = resources::parse_outputs(node)?,
                _ => {}
            }
        }
        if t.resources.is_empty() {
            let err = TemplateError::format(
                Section::Resources,
                "At least one Resources member must be defined.",
            );
            return Err(match t.section_pos.get("Resources") {
                Some(p) => err.at(*p),
                None => err,
            });
        }
        limits::check_counts(&t)?;
        Ok(t)
    }
}

fn format_version(node: &Node) -> Result<String> {
    match node.scalar_text() {
        Some(v) if v == "2010-09-09" => Ok(v),
        _ => Err(TemplateError::format(
            Section::Metadata,
            format_args!(
                "Unsupported AWSTemplateFormatVersion {}; the only valid version is 2010-09-09",
                node.to_json()
            ),
        )
        .at(node.pos)),
    }
}

/// Expects a mapping for a section member, with CloudFormation's wording.
pub(crate) fn expect_map<'a>(
    node: &'a Node,
    section: Section,
    what: &str,
) -> Result<&'a [(crate::node::Key, Node)]> {
    node.as_map().ok_or_else(|| {
        TemplateError::format(section, format_args!("{what} must be a JSON object")).at(node.pos)
    })
}

fn mappings(node: &Node) -> Result<IndexMap<String, Mapping>> {
    let mut res = IndexMap::new();
    for (name, map) in expect_map(node, Section::Mappings, "The Mappings section")? {
        limits::check_logical_id(&name.name, "Mapping", Section::Mappings)
            .map_err(|e| e.at(name.pos))?;
        let mut mapping = Mapping::new();
        for (top, inner) in expect_map(map, Section::Mappings, &format!("Mapping {}", name.name))? {
            let mut level = IndexMap::new();
            for (second, value) in expect_map(
                inner,
                Section::Mappings,
                &format!("Mapping {} key {}", name.name, top.name),
            )? {
                let ok = match &value.value {
                    NodeValue::List(items) => items.iter().all(|i| i.scalar_text().is_some()),
                    NodeValue::Map(_) => false,
                    _ => true,
                };
                if !ok {
                    return Err(TemplateError::format(
                        Section::Mappings,
                        format_args!("Every Mappings attribute must be a String or a List, found one in {}.{}.{}", name.name, top.name, second.name),
                    )
                    .at(value.pos));
                }
                level.insert(second.name.clone(), value.to_json());
            }
            mapping.insert(top.name.clone(), level);
        }
        res.insert(name.name.clone(), mapping);
    }
    Ok(res)
}

fn conditions(node: &Node) -> Result<IndexMap<String, Expr>> {
    let mut res = IndexMap::new();
    for (name, body) in expect_map(node, Section::Conditions, "The Conditions section")? {
        limits::check_logical_id(&name.name, "Condition", Section::Conditions)
            .map_err(|e| e.at(name.pos))?;
        let expr = Expr::from_condition(body).map_err(|e| e.in_section(Section::Conditions))?;
        res.insert(name.name.clone(), expr);
    }
    Ok(res)
}

fn transforms(node: &Node) -> Result<Vec<String>> {
    let bad = || {
        TemplateError::format(Section::Transform, "Transform must be a string or a list of strings")
            .at(node.pos)
    };
    match &node.value {
        NodeValue::String(s) => Ok(vec![s.clone()]),
        NodeValue::List(items) => {
            items.iter().map(|i| i.as_str().map(str::to_owned).ok_or_else(bad)).collect()
        }
        // The `{"Name": ..., "Parameters": ...}` form names one macro.
        NodeValue::Map(_) => match node.get("Name").and_then(Node::as_str) {
            Some(n) => Ok(vec![n.to_owned()]),
            None => Err(bad()),
        },
        _ => Err(bad()),
    }
}

#[cfg(test)]
mod tests;
