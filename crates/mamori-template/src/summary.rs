//! Introspection in the shape of `GetTemplateSummary` and `ValidateTemplate`, following
//! <https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_GetTemplateSummary.html>.
//!
//! The summary is computed from the parsed template alone, without validation, so it also
//! works for templates that declare a transform (AWS reports `DeclaredTransforms` for them).

use crate::template::Template;

/// One parameter as `GetTemplateSummary` lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParameterSummary {
    /// `ParameterKey`.
    pub parameter_key: String,
    /// `DefaultValue` (AWS shows it even for `NoEcho` parameters' summaries).
    pub default_value: Option<String>,
    /// `ParameterType`, as written.
    pub parameter_type: String,
    /// `NoEcho`.
    pub no_echo: bool,
    /// `Description`.
    pub description: Option<String>,
    /// `ParameterConstraints.AllowedValues`.
    pub allowed_values: Vec<String>,
}

/// What `GetTemplateSummary` reports about a template.
#[derive(Debug, Clone, PartialEq)]
pub struct TemplateSummary {
    /// `Description`.
    pub description: Option<String>,
    /// `Parameters`, in template order.
    pub parameters: Vec<ParameterSummary>,
    /// `ResourceTypes`: each distinct type, in order of first appearance.
    pub resource_types: Vec<String>,
    /// `DeclaredTransforms`.
    pub declared_transforms: Vec<String>,
    /// `Version` (`AWSTemplateFormatVersion`).
    pub version: Option<String>,
    /// `Metadata`, as JSON.
    pub metadata: Option<serde_json::Value>,
    /// The resources' logical ids, in template order.
    pub logical_resource_ids: Vec<String>,
}

impl Template {
    /// Summarizes the template as `GetTemplateSummary` does.
    ///
    /// ```
    /// let t = mamori_template::Template::parse(
    ///     "Transform: AWS::Serverless-2016-10-31\nParameters:\n  Env: {Type: String, Default: dev, AllowedValues: [dev, prod]}\nResources:\n  A: {Type: AWS::SNS::Topic}\n",
    /// ).unwrap();
    /// let s = t.summary();
    /// assert_eq!(s.resource_types, ["AWS::SNS::Topic"]);
    /// assert_eq!(s.declared_transforms, ["AWS::Serverless-2016-10-31"]);
    /// assert_eq!(s.parameters[0].allowed_values, ["dev", "prod"]);
    /// ```
    pub fn summary(&self) -> TemplateSummary {
        let mut resource_types: Vec<String> = Vec::new();
        for r in self.resources.values() {
            if !resource_types.contains(&r.resource_type) {
                resource_types.push(r.resource_type.clone());
            }
        }
        TemplateSummary {
            description: self.description.clone(),
            parameters: self
                .parameters
                .values()
                .map(|p| ParameterSummary {
                    parameter_key: p.name.clone(),
                    default_value: p.default.clone(),
                    parameter_type: p.type_name.clone(),
                    no_echo: p.no_echo,
                    description: p.description.clone(),
                    allowed_values: p.allowed_values.clone(),
                })
                .collect(),
            resource_types,
            declared_transforms: self.transforms.clone(),
            version: self.format_version.clone(),
            metadata: self.metadata.clone(),
            logical_resource_ids: self.resources.keys().cloned().collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_lists_parameters_types_and_transforms() {
        let t = Template::parse(
            r#"{"AWSTemplateFormatVersion": "2010-09-09", "Description": "d",
                "Parameters": {"P": {"Type": "Number", "NoEcho": "true", "Description": "p"}},
                "Resources": {"A": {"Type": "AWS::SNS::Topic"}, "B": {"Type": "AWS::S3::Bucket"}, "C": {"Type": "AWS::SNS::Topic"}}}"#,
        )
        .unwrap();
        let s = t.summary();
        assert_eq!(s.description.as_deref(), Some("d"));
        assert_eq!(s.version.as_deref(), Some("2010-09-09"));
        assert_eq!(s.resource_types, ["AWS::SNS::Topic", "AWS::S3::Bucket"]);
        assert_eq!(s.logical_resource_ids, ["A", "B", "C"]);
        let p = &s.parameters[0];
        assert_eq!(
            (p.parameter_key.as_str(), p.parameter_type.as_str(), p.no_echo),
            ("P", "Number", true)
        );
        assert!(s.declared_transforms.is_empty());
    }
}
