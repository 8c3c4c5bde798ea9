//! The `Resources` and `Outputs` sections, following
//! <https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/resources-section-structure.html>,
//! <https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-product-attribute-reference.html> and
//! <https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/outputs-section-structure.html>.

use indexmap::IndexMap;

use crate::error::{Pos, Result, Section, TemplateError};
use crate::expr::Expr;
use crate::limits;
use crate::node::{Node, NodeValue};

use super::expect_map;

/// What happens to a resource's physical resource when the stack deletes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DeletionPolicy {
    /// Delete it (the default).
    #[default]
    Delete,
    /// Keep it.
    Retain,
    /// Keep it, except when the stack's creation fails.
    RetainExceptOnCreate,
    /// Snapshot it, then delete it.
    Snapshot,
}

impl DeletionPolicy {
    fn parse(text: &str) -> Option<Self> {
        Some(match text {
            "Delete" => Self::Delete,
            "Retain" => Self::Retain,
            "RetainExceptOnCreate" => Self::RetainExceptOnCreate,
            "Snapshot" => Self::Snapshot,
            _ => return None,
        })
    }
}

/// A resource declaration.
#[derive(Debug, Clone, PartialEq)]
pub struct Resource {
    /// The logical id.
    pub logical_id: String,
    /// `Type`, as written (`AWS::SNS::Topic`); the service decides whether it is supported.
    pub resource_type: String,
    /// `Properties`, unresolved.
    pub properties: Option<Expr>,
    /// `DependsOn`, as a list.
    pub depends_on: Vec<String>,
    /// `Condition`.
    pub condition: Option<String>,
    /// `DeletionPolicy`.
    pub deletion_policy: DeletionPolicy,
    /// `UpdateReplacePolicy`.
    pub update_replace_policy: DeletionPolicy,
    /// `Metadata`, as plain JSON.
    pub metadata: Option<serde_json::Value>,
    /// `CreationPolicy`, kept for the service.
    pub creation_policy: Option<serde_json::Value>,
    /// `UpdatePolicy`, kept for the service.
    pub update_policy: Option<serde_json::Value>,
    /// Where the logical id was written.
    pub pos: Pos,
}

/// An output declaration.
#[derive(Debug, Clone, PartialEq)]
pub struct Output {
    /// The logical id.
    pub logical_id: String,
    /// `Value`, unresolved.
    pub value: Expr,
    /// `Description`.
    pub description: Option<String>,
    /// `Condition`.
    pub condition: Option<String>,
    /// `Export.Name`, unresolved.
    pub export_name: Option<Expr>,
    /// Where the logical id was written.
    pub pos: Pos,
}

const RESOURCE_KEYS: &[&str] = &[
    "Type",
    "Properties",
    "DependsOn",
    "Condition",
    "DeletionPolicy",
    "UpdateReplacePolicy",
    "Metadata",
    "CreationPolicy",
    "UpdatePolicy",
];

pub(crate) fn parse_resources(node: &Node) -> Result<IndexMap<String, Resource>> {
    let mut res = IndexMap::new();
    for (id, body) in expect_map(node, Section::Resources, "The Resources section")? {
        limits::check_logical_id(&id.name, "Resource", Section::Resources)
            .map_err(|e| e.at(id.pos))?;
        let entries = expect_map(body, Section::Resources, &format!("Resource {}", id.name))?;
        if let Some((k, _)) =
            entries.iter().find(|(k, _)| !RESOURCE_KEYS.contains(&k.name.as_str()))
        {
            return Err(TemplateError::format(
                Section::Resources,
                format_args!("Invalid template resource property '{}'", k.name),
            )
            .at(k.pos));
        }
        let Some(type_node) = body.get("Type") else {
            return Err(TemplateError::format(
                Section::Resources,
                "Every Resources object must contain a Type member.",
            )
            .at(id.pos));
        };
        let Some(resource_type) = type_node.as_str().filter(|t| !t.is_empty()) else {
            return Err(TemplateError::format(
                Section::Resources,
                "Every Type member must be a string.",
            )
            .at(type_node.pos));
        };
        let properties = match body.get("Properties") {
            None => None,
            Some(p) if matches!(p.value, NodeValue::Map(_)) => {
                Some(Expr::from_node(p).map_err(|e| e.in_section(Section::Resources))?)
            }
            // A whole Properties block chosen by Fn::If is allowed.
            Some(p) if p.get("Fn::If").is_some() => {
                Some(Expr::from_node(p).map_err(|e| e.in_section(Section::Resources))?)
            }
            Some(p) => {
                let msg = if matches!(p.value, NodeValue::Null) {
                    format!(
                        "[/Resources/{}/Properties] 'null' values are not allowed in templates",
                        id.name
                    )
                } else {
                    format!("Properties of resource {} must be an object", id.name)
                };
                return Err(TemplateError::format(Section::Resources, msg).at(p.pos));
            }
        };
        let depends_on = match body.get("DependsOn") {
            None => Vec::new(),
            Some(d) => string_or_list(d).ok_or_else(|| {
                TemplateError::format(
                    Section::Resources,
                    format_args!(
                        "DependsOn of resource {} must be a string or a list of strings",
                        id.name
                    ),
                )
                .at(d.pos)
            })?,
        };
        let condition = match body.get("Condition") {
            None => None,
            Some(c) => Some(c.as_str().map(str::to_owned).ok_or_else(|| {
                TemplateError::format(
                    Section::Resources,
                    format_args!("Condition of resource {} must be a string", id.name),
                )
                .at(c.pos)
            })?),
        };
        let policy = |key: &str| -> Result<DeletionPolicy> {
            match body.get(key) {
                None => Ok(DeletionPolicy::Delete),
                Some(p) => p.as_str().and_then(DeletionPolicy::parse).ok_or_else(|| {
                    TemplateError::format(
                        Section::Resources,
                        format_args!("Unrecognized {key} {} for resource {}", p.to_json(), id.name),
                    )
                    .at(p.pos)
                }),
            }
        };
        let resource = Resource {
            logical_id: id.name.clone(),
            resource_type: resource_type.to_owned(),
            properties,
            depends_on,
            condition,
            deletion_policy: policy("DeletionPolicy")?,
            update_replace_policy: policy("UpdateReplacePolicy")?,
            metadata: body.get("Metadata").map(Node::to_json),
            creation_policy: body.get("CreationPolicy").map(Node::to_json),
            update_policy: body.get("UpdatePolicy").map(Node::to_json),
            pos: id.pos,
        };
        res.insert(id.name.clone(), resource);
    }
    Ok(res)
}

pub(crate) fn parse_outputs(node: &Node) -> Result<IndexMap<String, Output>> {
    let mut res = IndexMap::new();
    for (id, body) in expect_map(node, Section::Outputs, "The Outputs section")? {
        limits::check_logical_id(&id.name, "Output", Section::Outputs).map_err(|e| e.at(id.pos))?;
        let entries = expect_map(body, Section::Outputs, &format!("Output {}", id.name))?;
        if let Some((k, _)) = entries.iter().find(|(k, _)| {
            !matches!(k.name.as_str(), "Value" | "Description" | "Condition" | "Export")
        }) {
            return Err(TemplateError::format(
                Section::Outputs,
                format_args!("Invalid outputs property : [{}]", k.name),
            )
            .at(k.pos));
        }
        let Some(value) = body.get("Value") else {
            return Err(TemplateError::format(
                Section::Outputs,
                "Every Outputs member must contain a Value object",
            )
            .at(id.pos));
        };
        let export_name = match body.get("Export") {
            None => None,
            Some(e) => match e.get("Name") {
                Some(n) => Some(Expr::from_node(n).map_err(|e| e.in_section(Section::Outputs))?),
                None => {
                    return Err(TemplateError::format(
                        Section::Outputs,
                        format_args!("Output {} is malformed. Export must contain a Name", id.name),
                    )
                    .at(e.pos));
                }
            },
        };
        let output = Output {
            logical_id: id.name.clone(),
            value: Expr::from_node(value).map_err(|e| e.in_section(Section::Outputs))?,
            description: body.get("Description").and_then(Node::as_str).map(str::to_owned),
            condition: body.get("Condition").and_then(Node::as_str).map(str::to_owned),
            export_name,
            pos: id.pos,
        };
        res.insert(id.name.clone(), output);
    }
    Ok(res)
}

fn string_or_list(node: &Node) -> Option<Vec<String>> {
    match &node.value {
        NodeValue::String(s) => Some(vec![s.clone()]),
        NodeValue::List(items) => items.iter().map(|i| i.as_str().map(str::to_owned)).collect(),
        _ => None,
    }
}
