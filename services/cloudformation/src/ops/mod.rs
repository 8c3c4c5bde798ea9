//! The operation handlers, by family, and what they share: reading a template and its
//! parameters into a deployable plan, following
//! <https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_Operations.html>.

pub mod changesets;
pub mod stacks;
pub mod templates;

use std::collections::BTreeMap;

use mamori_aws::AwsError;
use mamori_service::Context;
use mamori_template::limits::{TemplateOrigin, check_body_size};
use mamori_template::{
    DefaultAttributes, Evaluator, Graph, MapResolver, NoParameterStore, ParameterValues,
    PseudoParameters, Template, TemplateError, resolve_parameters,
};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::state::{Change, Stack};

/// A `Parameter` of a request.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ParameterInput {
    pub parameter_key: Option<String>,
    pub parameter_value: Option<String>,
    pub use_previous_value: Option<bool>,
}

/// A `Tag` of a request.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct TagInput {
    pub key: String,
    pub value: String,
}

/// A template read and checked against its parameters, ready to deploy.
pub struct Plan {
    pub template: Template,
    pub graph: Graph,
    pub values: ParameterValues,
    pub given: BTreeMap<String, String>,
    pub parameters: Vec<(String, String)>,
    pub no_echo: Vec<String>,
}

/// `ValidationError` (400) with `message`.
pub fn validation(message: impl Into<String>) -> AwsError {
    AwsError::validation(message).with_status(400)
}

/// A template engine error as the `ValidationError` CloudFormation answers.
pub fn template_error(e: TemplateError) -> AwsError {
    tracing::debug!(error = %e.with_location(), "template refused");
    validation(e.message)
}

/// Reads a template body (or refuses a URL), checking its size and every reference.
pub fn read_template(
    body: Option<&str>,
    url: Option<&str>,
) -> Result<(String, Template, Graph), AwsError> {
    let body = match (body, url) {
        (Some(b), _) => b.to_owned(),
        // GAP: TemplateURL is not fetched from S3; callers must send TemplateBody.
        (None, Some(_)) => {
            return Err(validation(
                "TemplateURL is not supported by mamori yet; send TemplateBody",
            ));
        }
        (None, None) => {
            return Err(validation("Either Template URL or Template Body must be specified."));
        }
    };
    check_body_size(&body, TemplateOrigin::Body).map_err(template_error)?;
    let template = Template::parse(&body).map_err(template_error)?;
    let graph = template.validate(&DefaultAttributes).map_err(template_error)?;
    Ok((body, template, graph))
}

/// Resolves the request's parameters (with `UsePreviousValue` from `previous`) and checks
/// that the conditions evaluate.
pub fn plan(
    ctx: &Context,
    stack_name: &str,
    body: Option<&str>,
    url: Option<&str>,
    params: &[ParameterInput],
    previous: Option<&Stack>,
) -> Result<(String, Plan), AwsError> {
    let (body, template, graph) = read_template(body, url)?;
    let mut given = BTreeMap::new();
    for p in params {
        let Some(key) = &p.parameter_key else { continue };
        if p.use_previous_value == Some(true) {
            let prev = previous.and_then(|s| s.parameters.iter().find(|(k, _)| k == key));
            match prev {
                Some((_, v)) => given.insert(key.clone(), v.clone()),
                None => {
                    return Err(validation(format!(
                        "Invalid input for parameter key {key}. Cannot specify usePreviousValue as true for a parameter key not in the previous template"
                    )));
                }
            };
        } else if let Some(v) = &p.parameter_value {
            given.insert(key.clone(), v.clone());
        }
    }
    let values =
        resolve_parameters(&template, &given, &NoParameterStore).map_err(template_error)?;
    let pseudo = pseudo(ctx, stack_name, "");
    Evaluator::new(&template, &values, &pseudo, &MapResolver::default()).map_err(template_error)?;
    let parameters = template
        .parameters
        .values()
        .map(|p| {
            let v = values.get(&p.name).map(|v| match v {
                mamori_template::ParameterValue::String(s) => s.clone(),
                mamori_template::ParameterValue::List(l) => l.join(","),
            });
            (p.name.clone(), v.unwrap_or_default())
        })
        .collect();
    let no_echo =
        template.parameters.values().filter(|p| p.no_echo).map(|p| p.name.clone()).collect();
    Ok((body, Plan { template, graph, values, given, parameters, no_echo }))
}

/// The pseudo parameters of a stack.
pub fn pseudo(ctx: &Context, stack_name: &str, stack_id: &str) -> PseudoParameters {
    let mut p = PseudoParameters::new(ctx.account.as_str(), ctx.region.as_str(), stack_name);
    if !stack_id.is_empty() {
        p.stack_id = stack_id.to_owned();
    }
    p
}

/// Refuses IAM resources without the capability that acknowledges them, as
/// <https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/control-access-with-iam.html#using-iam-capabilities>
/// describes: `CAPABILITY_NAMED_IAM` when an IAM resource has a custom name, else
/// `CAPABILITY_IAM`.
pub fn check_capabilities(template: &Template, capabilities: &[String]) -> Result<(), AwsError> {
    let (iam, named) = iam_capability(template);
    let has = |c: &str| capabilities.iter().any(|x| x == c);
    let needed = if named && !has("CAPABILITY_NAMED_IAM") {
        Some("CAPABILITY_NAMED_IAM")
    } else if iam && !has("CAPABILITY_IAM") && !has("CAPABILITY_NAMED_IAM") {
        Some("CAPABILITY_IAM")
    } else {
        None
    };
    match needed {
        Some(c) => Err(AwsError::new(
            "InsufficientCapabilitiesException",
            format!("Requires capabilities : [{c}]"),
        )),
        None => Ok(()),
    }
}

/// Whether the template has IAM resources, and whether one of them is custom-named.
pub fn iam_capability(template: &Template) -> (bool, bool) {
    let mut iam = false;
    let mut named = false;
    for r in template.resources.values() {
        let name_prop = match r.resource_type.as_str() {
            "AWS::IAM::Role" => "RoleName",
            "AWS::IAM::User" => "UserName",
            "AWS::IAM::ManagedPolicy" => "ManagedPolicyName",
            "AWS::IAM::Group" => "GroupName",
            "AWS::IAM::InstanceProfile" => "InstanceProfileName",
            t if t.starts_with("AWS::IAM::") => "",
            _ => continue,
        };
        iam = true;
        if !name_prop.is_empty()
            && let Some(mamori_template::Expr { kind: mamori_template::ExprKind::Map(m), .. }) =
                &r.properties
            && m.iter().any(|(k, _)| k == name_prop)
        {
            named = true;
        }
    }
    (iam, named)
}

/// The changes that deploying `plan` over `stack` (none for a new stack) would make,
/// resolved against the stack's current resources.
pub fn changes(ctx: &Context, stack: Option<&Stack>, stack_name: &str, plan: &Plan) -> Vec<Change> {
    let mut resolver = MapResolver::default();
    if let Some(s) = stack {
        for r in s.resources.values() {
            if let Some(state) = &r.state {
                resolver
                    .physical_ids
                    .insert(r.logical_id.clone(), Value::String(state.physical_id.clone()));
                for (k, v) in &state.attributes {
                    resolver.attributes.insert((r.logical_id.clone(), k.clone()), v.clone());
                }
            }
        }
    }
    let pseudo = pseudo(ctx, stack_name, stack.map_or("", |s| s.stack_id.as_str()));
    let Ok(eval) = Evaluator::new(&plan.template, &plan.values, &pseudo, &resolver) else {
        return Vec::new();
    };
    let mut res = Vec::new();
    for id in plan.graph.creation_order() {
        if !eval.is_created(id) {
            continue;
        }
        let type_name = plan.template.resources[id].resource_type.clone();
        let old = stack.and_then(|s| s.resources.get(id)).filter(|r| r.state.is_some());
        match old {
            None => res.push(Change {
                action: "Add".into(),
                logical_id: id.clone(),
                physical_id: None,
                type_name,
                replacement: None,
                properties: Vec::new(),
            }),
            Some(old) => {
                // A value that cannot be resolved yet depends on a resource that changes.
                let new = eval.resolve_properties(id).ok().flatten().unwrap_or_else(|| json!({}));
                let old_props = Value::Object(old.properties.clone());
                if new == old_props && old.type_name == type_name {
                    continue;
                }
                let replace = old.type_name != type_name
                    || ctx
                        .dispatcher
                        .resource_provider(&type_name)
                        .is_some_and(|p| p.requires_replacement(&type_name, &old_props, &new));
                let mut names: Vec<String> = Vec::new();
                if let (Some(a), Some(b)) = (old_props.as_object(), new.as_object()) {
                    for k in a.keys().chain(b.keys()) {
                        if a.get(k) != b.get(k) && !names.contains(k) {
                            names.push(k.clone());
                        }
                    }
                }
                res.push(Change {
                    action: "Modify".into(),
                    logical_id: id.clone(),
                    physical_id: old.physical_id().map(str::to_owned),
                    type_name,
                    replacement: Some(if replace { "True" } else { "False" }.into()),
                    properties: names,
                });
            }
        }
    }
    if let Some(s) = stack {
        for r in s.resources.values() {
            if r.state.is_some()
                && !(plan.template.resources.contains_key(&r.logical_id)
                    && eval.is_created(&r.logical_id))
            {
                res.push(Change {
                    action: "Remove".into(),
                    logical_id: r.logical_id.clone(),
                    physical_id: r.physical_id().map(str::to_owned),
                    type_name: r.type_name.clone(),
                    replacement: None,
                    properties: Vec::new(),
                });
            }
        }
    }
    res
}

/// Parameters as the API shows them, `NoEcho` values masked.
pub fn parameters_out(parameters: &[(String, String)], no_echo: &[String]) -> Vec<Value> {
    parameters
        .iter()
        .map(|(k, v)| {
            let v = if no_echo.contains(k) { "****" } else { v.as_str() };
            json!({"ParameterKey": k, "ParameterValue": v})
        })
        .collect()
}

/// Tags as the API shows them.
pub fn tags_out(tags: &[(String, String)]) -> Vec<Value> {
    tags.iter().map(|(k, v)| json!({"Key": k, "Value": v})).collect()
}

/// Epoch seconds, as the neutral form carries timestamps.
pub fn ts(t: chrono::DateTime<chrono::Utc>) -> Value {
    json!(t.timestamp_millis() as f64 / 1000.0)
}
