//! `ValidateTemplate` and `GetTemplateSummary`, following
//! <https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_ValidateTemplate.html>
//! and <https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_GetTemplateSummary.html>.

use mamori_aws::AwsError;
use mamori_service::Context;
use mamori_template::Template;
use serde::Deserialize;
use serde_json::{Value, json};

use super::{iam_capability, read_template, validation};

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct TemplateInput {
    template_body: Option<String>,
    #[serde(rename = "TemplateURL")]
    template_url: Option<String>,
    stack_name: Option<String>,
}

fn capabilities(template: &Template) -> (Vec<&'static str>, Option<String>) {
    match iam_capability(template) {
        (_, true) => (
            vec!["CAPABILITY_NAMED_IAM"],
            Some("The following resource(s) require capabilities: [AWS::IAM::Role]".into()),
        ),
        (true, false) => (
            vec!["CAPABILITY_IAM"],
            Some("The following resource(s) require capabilities: [AWS::IAM::Role]".into()),
        ),
        _ => (Vec::new(), None),
    }
}

fn iam_types(template: &Template) -> String {
    let mut types: Vec<&str> = template
        .resources
        .values()
        .map(|r| r.resource_type.as_str())
        .filter(|t| t.starts_with("AWS::IAM::"))
        .collect();
    types.sort_unstable();
    types.dedup();
    types.join(", ")
}

/// Implements `ValidateTemplate`: the template must parse and every reference resolve.
pub fn validate_template(input: TemplateInput) -> Result<Value, AwsError> {
    let (_, template, _) =
        read_template(input.template_body.as_deref(), input.template_url.as_deref())?;
    let (caps, _) = capabilities(&template);
    let reason = (!caps.is_empty()).then(|| {
        format!("The following resource(s) require capabilities: [{}]", iam_types(&template))
    });
    let params: Vec<Value> = template
        .parameters
        .values()
        .map(|p| {
            json!({"ParameterKey": p.name, "DefaultValue": p.default, "NoEcho": p.no_echo, "Description": p.description})
        })
        .collect();
    Ok(json!({
        "Parameters": params,
        "Description": template.description,
        "Capabilities": caps,
        "CapabilitiesReason": reason,
        "DeclaredTransforms": template.transforms,
    }))
}

/// Implements `GetTemplateSummary`, from a body or from an existing stack's template.
pub fn get_template_summary(ctx: &Context, input: TemplateInput) -> Result<Value, AwsError> {
    let body = match (&input.template_body, &input.stack_name) {
        (Some(b), _) => b.clone(),
        (None, Some(name)) => super::stacks::load_stack(ctx, name)?.template_body,
        (None, None) if input.template_url.is_some() => {
            return Err(validation(
                "TemplateURL is not supported by mamori yet; send TemplateBody",
            ));
        }
        (None, None) => {
            return Err(validation(
                "Either Template URL or Template Body or Stack Name must be specified.",
            ));
        }
    };
    mamori_template::limits::check_body_size(&body, mamori_template::limits::TemplateOrigin::Body)
        .map_err(super::template_error)?;
    let template = Template::parse(&body).map_err(super::template_error)?;
    let summary = template.summary();
    let (caps, _) = capabilities(&template);
    let reason = (!caps.is_empty()).then(|| {
        format!("The following resource(s) require capabilities: [{}]", iam_types(&template))
    });
    let params: Vec<Value> = summary
        .parameters
        .iter()
        .map(|p| {
            let constraints = if p.allowed_values.is_empty() {
                json!({})
            } else {
                json!({"AllowedValues": p.allowed_values})
            };
            json!({
                "ParameterKey": p.parameter_key,
                "DefaultValue": p.default_value,
                "ParameterType": p.parameter_type,
                "NoEcho": p.no_echo,
                "Description": p.description,
                "ParameterConstraints": constraints,
            })
        })
        .collect();
    Ok(json!({
        "Parameters": params,
        "Description": summary.description,
        "Capabilities": caps,
        "CapabilitiesReason": reason,
        "ResourceTypes": summary.resource_types,
        "Version": summary.version,
        "Metadata": summary.metadata.as_ref().map(Value::to_string),
        "DeclaredTransforms": summary.declared_transforms,
    }))
}
