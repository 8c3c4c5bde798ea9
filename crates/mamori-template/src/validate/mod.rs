//! Static checks before anything is created: transforms, references, attributes, conditions
//! and mappings, following
//! <https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/template-anatomy.html> and
//! each resource type's "Return values" in
//! <https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-template-resource-type-ref.html>.

use std::collections::{BTreeMap, BTreeSet};

use crate::error::{ErrorKind, Pos, Result, Section, TemplateError};
use crate::eval::PSEUDO_PARAMETERS;
use crate::expr::{Expr, ExprKind};
use crate::graph::Graph;
use crate::template::Template;

/// Which `Fn::GetAtt` attributes each resource type has. The service passes its own table;
/// a type the table does not know is not checked (the service rejects unknown types itself).
pub trait AttributeTable {
    /// `Some(true)` if `resource_type` has `attribute`, `Some(false)` if it does not, `None`
    /// if the table does not know the type.
    fn has_attribute(&self, resource_type: &str, attribute: &str) -> Option<bool>;
}

/// The attributes of the resource types the seed's templates use, from the `readOnlyProperties`
/// of each type's CloudFormation resource schema.
pub const DEFAULT_ATTRIBUTES: &[(&str, &[&str])] = &[
    ("AWS::CloudTrail::Trail", &["Arn", "SnsTopicArn"]),
    ("AWS::CloudWatch::Alarm", &["Arn"]),
    (
        "AWS::IAM::ManagedPolicy",
        &[
            "PolicyArn",
            "AttachmentCount",
            "CreateDate",
            "DefaultVersionId",
            "IsAttachable",
            "PermissionsBoundaryUsageCount",
            "PolicyId",
            "UpdateDate",
        ],
    ),
    ("AWS::IAM::Policy", &["Id"]),
    ("AWS::IAM::Role", &["Arn", "RoleId"]),
    ("AWS::IAM::User", &["Arn"]),
    ("AWS::Logs::LogGroup", &["Arn"]),
    ("AWS::Logs::MetricFilter", &[]),
    (
        "AWS::S3::Bucket",
        &["Arn", "DomainName", "DualStackDomainName", "RegionalDomainName", "WebsiteURL"],
    ),
    ("AWS::S3::BucketPolicy", &[]),
    ("AWS::SNS::Subscription", &["Arn"]),
    ("AWS::SNS::Topic", &["TopicArn", "TopicName"]),
    ("AWS::SNS::TopicPolicy", &["Id"]),
];

/// The [`DEFAULT_ATTRIBUTES`] table.
#[derive(Debug, Clone, Copy, Default)]
pub struct DefaultAttributes;

impl AttributeTable for DefaultAttributes {
    fn has_attribute(&self, resource_type: &str, attribute: &str) -> Option<bool> {
        DEFAULT_ATTRIBUTES
            .iter()
            .find(|(t, _)| *t == resource_type)
            .map(|(_, attrs)| attrs.contains(&attribute))
    }
}

impl AttributeTable for BTreeMap<String, Vec<String>> {
    fn has_attribute(&self, resource_type: &str, attribute: &str) -> Option<bool> {
        self.get(resource_type).map(|attrs| attrs.iter().any(|a| a == attribute))
    }
}

impl Template {
    /// Checks every cross-reference and returns the dependency graph.
    ///
    /// ```
    /// use mamori_template::{Template, DefaultAttributes};
    /// let t = Template::parse("Resources:\n  A:\n    Type: AWS::SNS::Topic\n    Properties:\n      DisplayName: !GetAtt B.Nope\n  B:\n    Type: AWS::SNS::Topic\n").unwrap();
    /// let err = t.validate(&DefaultAttributes).unwrap_err();
    /// assert_eq!(err.message, "Template error: resource B does not support attribute type Nope in Fn::GetAtt");
    /// assert_eq!(err.pos.unwrap().line, 5);
    /// ```
    pub fn validate(&self, attributes: &dyn AttributeTable) -> Result<Graph> {
        if let Some(t) = self.transforms.first() {
            let err = TemplateError::new(
                ErrorKind::Transform,
                Section::Transform,
                format!(
                    "Template format error: Transform {t} is not supported: this CloudFormation does not process template macros yet"
                ),
            );
            return Err(match self.section_pos.get("Transform") {
                Some(p) => err.at(*p),
                None => err,
            });
        }
        self.check_conditions()?;
        for r in self.resources.values() {
            if let Some(c) = &r.condition
                && !self.conditions.contains_key(c)
            {
                return Err(TemplateError::format(
                    Section::Resources,
                    format_args!(
                        "Unresolved condition dependency {c} in resource {}",
                        r.logical_id
                    ),
                )
                .at(r.pos));
            }
            let missing: BTreeSet<&str> = r
                .depends_on
                .iter()
                .map(String::as_str)
                .filter(|d| !self.resources.contains_key(*d))
                .collect();
            if !missing.is_empty() {
                return Err(unresolved(missing, Section::Resources).at(r.pos));
            }
            if let Some(p) = &r.properties {
                self.check_refs(p, Section::Resources, attributes)?;
            }
        }
        for o in self.outputs.values() {
            if let Some(c) = &o.condition
                && !self.conditions.contains_key(c)
            {
                return Err(TemplateError::format(
                    Section::Outputs,
                    format_args!("Unresolved condition dependency {c} in output {}", o.logical_id),
                )
                .at(o.pos));
            }
            self.check_refs(&o.value, Section::Outputs, attributes)?;
            if let Some(n) = &o.export_name {
                self.check_refs(n, Section::Outputs, attributes)?;
            }
        }
        Graph::build(self)
    }

    fn is_value_name(&self, name: &str) -> bool {
        self.parameters.contains_key(name) || PSEUDO_PARAMETERS.contains(&name)
    }

    /// Checks Ref/GetAtt/Sub targets, Fn::If conditions and literal mapping names.
    fn check_refs(
        &self,
        expr: &Expr,
        section: Section,
        attributes: &dyn AttributeTable,
    ) -> Result<()> {
        let mut unresolved_names: BTreeSet<String> = BTreeSet::new();
        let mut first_pos: Option<Pos> = None;
        let mut error: Option<TemplateError> = None;
        let mut note = |name: &str, pos: Pos| {
            unresolved_names.insert(name.to_owned());
            first_pos.get_or_insert(pos);
        };
        let getatt = |resource: &str,
                      attribute: &str,
                      pos: Pos,
                      error: &mut Option<TemplateError>| {
            if error.is_some() {
                return;
            }
            match self.resources.get(resource) {
                None => {
                    *error = Some(
                        TemplateError::reference(
                            section,
                            format_args!(
                                "instance of Fn::GetAtt references undefined resource {resource}"
                            ),
                        )
                        .at(pos),
                    );
                }
                Some(r) => {
                    if attributes.has_attribute(&r.resource_type, attribute) == Some(false) {
                        *error = Some(
                            TemplateError::reference(
                                section,
                                format_args!("resource {resource} does not support attribute type {attribute} in Fn::GetAtt"),
                            )
                            .at(pos),
                        );
                    }
                }
            }
        };
        expr.walk(&mut |e| match &e.kind {
            ExprKind::Ref(name) if !self.is_value_name(name) && !self.resources.contains_key(name) => {
                note(name, e.pos);
            }
            ExprKind::GetAtt { resource, attribute } => getatt(resource, attribute, e.pos, &mut error),
            ExprKind::Sub { parts, vars } => {
                for v in crate::sub::variables(parts) {
                    if vars.iter().any(|(k, _)| k == v) || self.is_value_name(v) || self.resources.contains_key(v) {
                        continue;
                    }
                    // A dotted variable is an Fn::GetAtt: parameter and pseudo parameter
                    // names cannot contain a dot.
                    match v.split_once('.') {
                        Some((res, attr)) => getatt(res, attr, e.pos, &mut error),
                        None => note(v, e.pos),
                    }
                }
            }
            ExprKind::If { condition, .. } | ExprKind::Condition(condition)
                if error.is_none() && !self.conditions.contains_key(condition) =>
            {
                error = Some(
                    TemplateError::format(section, format_args!("Unresolved condition dependency {condition} in Fn::If")).at(e.pos),
                );
            }
            ExprKind::FindInMap { map, .. } => {
                if let ExprKind::String(name) = &map.kind
                    && error.is_none()
                    && !self.mappings.contains_key(name)
                {
                    error = Some(
                        TemplateError::reference(section, format_args!("Mapping named '{name}' is not present in the 'Mappings' section of template.")).at(map.pos),
                    );
                }
            }
            _ => {}
        });
        if !unresolved_names.is_empty() {
            let err = unresolved(unresolved_names.iter().map(String::as_str).collect(), section);
            return Err(match first_pos {
                Some(p) => err.at(p),
                None => err,
            });
        }
        error.map_or(Ok(()), Err)
    }

    /// Conditions may use parameters, pseudo parameters, mappings and other conditions, and
    /// must not form a cycle.
    fn check_conditions(&self) -> Result<()> {
        for (name, expr) in &self.conditions {
            let mut bad: Option<TemplateError> = None;
            expr.walk(&mut |e| {
                if bad.is_some() {
                    return;
                }
                match &e.kind {
                    ExprKind::Ref(r) if !self.is_value_name(r) => {
                        let what = if self.resources.contains_key(r) {
                            format!("Unresolved dependencies [{r}]. Cannot reference resources in the Conditions block of the template")
                        } else {
                            format!("Unresolved resource dependencies [{r}] in the Conditions block of the template")
                        };
                        bad = Some(TemplateError::format(Section::Conditions, what).at(e.pos));
                    }
                    ExprKind::GetAtt { resource, .. } => {
                        bad = Some(
                            TemplateError::format(
                                Section::Conditions,
                                format_args!("Unresolved dependencies [{resource}]. Cannot reference resources in the Conditions block of the template"),
                            )
                            .at(e.pos),
                        );
                    }
                    ExprKind::Condition(c) if !self.conditions.contains_key(c) => {
                        bad = Some(TemplateError::format(Section::Conditions, format_args!("Unresolved condition dependency {c} in condition {name}")).at(e.pos));
                    }
                    _ => {}
                }
            });
            if let Some(e) = bad {
                return Err(e);
            }
        }
        // Cycles: a depth-first search over condition names.
        let edges: BTreeMap<&str, Vec<&str>> = self
            .conditions
            .iter()
            .map(|(n, e)| {
                let mut out = Vec::new();
                e.walk(&mut |x| {
                    if let ExprKind::Condition(c) = &x.kind {
                        out.push(c.as_str());
                    }
                });
                (n.as_str(), out)
            })
            .collect();
        for start in edges.keys() {
            let mut stack = edges[start].clone();
            let mut seen = BTreeSet::new();
            while let Some(n) = stack.pop() {
                if n == *start {
                    return Err(TemplateError::new(
                        ErrorKind::Circular,
                        Section::Conditions,
                        format!(
                            "Template format error: Circular dependency between conditions: [{start}]"
                        ),
                    ));
                }
                if seen.insert(n) {
                    stack.extend(edges.get(n).into_iter().flatten());
                }
            }
        }
        Ok(())
    }
}

fn unresolved(names: BTreeSet<&str>, section: Section) -> TemplateError {
    let names: Vec<&str> = names.into_iter().collect();
    TemplateError::format(
        section,
        format_args!(
            "Unresolved resource dependencies [{}] in the {} block of the template",
            names.join(", "),
            section.name()
        ),
    )
}

#[cfg(test)]
mod tests;
