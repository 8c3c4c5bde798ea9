//! Stack operations: `CreateStack`, `UpdateStack`, `DeleteStack`, the describes and
//! lists, `GetTemplate`, `UpdateTerminationProtection` and `ListExports`, following
//! <https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_CreateStack.html>
//! and its sibling pages.

use std::collections::BTreeMap;

use mamori_aws::AwsError;
use mamori_service::Context;
use serde::Deserialize;
use serde_json::{Value, json};

use super::{
    ParameterInput, Plan, TagInput, check_capabilities, parameters_out, plan, tags_out, ts,
    validation,
};
use crate::engine::{self, Run, provider_context};
use crate::state::{
    self, EVENTS, STACKS, Stack, StackResource, db, find_stack, is_deleted, is_in_progress,
};

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CreateStackInput {
    stack_name: String,
    template_body: Option<String>,
    #[serde(rename = "TemplateURL")]
    template_url: Option<String>,
    #[serde(default)]
    parameters: Vec<ParameterInput>,
    disable_rollback: Option<bool>,
    on_failure: Option<String>,
    #[serde(default)]
    capabilities: Vec<String>,
    #[serde(default, rename = "NotificationARNs")]
    notification_arns: Vec<String>,
    #[serde(default)]
    tags: Vec<TagInput>,
    enable_termination_protection: Option<bool>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct UpdateStackInput {
    stack_name: String,
    template_body: Option<String>,
    #[serde(rename = "TemplateURL")]
    template_url: Option<String>,
    use_previous_template: Option<bool>,
    #[serde(default)]
    parameters: Vec<ParameterInput>,
    #[serde(default)]
    capabilities: Vec<String>,
    tags: Option<Vec<TagInput>>,
    disable_rollback: Option<bool>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct StackNameInput {
    stack_name: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListStacksInput {
    #[serde(default)]
    stack_status_filter: Vec<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct StackResourceInput {
    stack_name: Option<String>,
    logical_resource_id: Option<String>,
    physical_resource_id: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct TerminationProtectionInput {
    stack_name: String,
    enable_termination_protection: bool,
}

/// The stack a request names, or `ValidationError` `Stack with id X does not exist`.
pub fn load_stack(ctx: &Context, name: &str) -> Result<Stack, AwsError> {
    let part = ctx.partition();
    ctx.dispatcher
        .store()
        .read(|tx| find_stack(tx, &part, name))
        .map_err(db)?
        .ok_or_else(|| not_found(name))
}

fn not_found(name: &str) -> AwsError {
    validation(format!("Stack with id {name} does not exist"))
}

fn stack_arn(ctx: &Context, name: &str) -> String {
    format!(
        "arn:aws:cloudformation:{}:{}:stack/{name}/{}",
        ctx.region,
        ctx.account,
        uuid::Uuid::new_v4()
    )
}

/// A new stack document (no resources yet).
#[allow(clippy::too_many_arguments)]
pub fn new_stack(
    ctx: &Context,
    name: &str,
    status: &str,
    body: String,
    plan: &Plan,
    tags: Vec<(String, String)>,
    capabilities: Vec<String>,
    notification_arns: Vec<String>,
) -> Stack {
    Stack {
        stack_id: stack_arn(ctx, name),
        stack_name: name.to_owned(),
        description: plan.template.description.clone(),
        status: status.into(),
        status_reason: None,
        creation_time: ctx.dispatcher.clock().now(),
        last_updated_time: None,
        deletion_time: None,
        template_body: body,
        given: plan.given.clone(),
        parameters: plan.parameters.clone(),
        no_echo: plan.no_echo.clone(),
        tags,
        capabilities,
        notification_arns,
        disable_rollback: false,
        on_failure_delete: false,
        termination_protection: false,
        outputs: Vec::new(),
        resources: BTreeMap::new(),
        change_set_id: None,
    }
}

fn check_stack_name(name: &str) -> Result<(), AwsError> {
    let ok = name.len() <= 128
        && name.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
    if ok {
        Ok(())
    } else {
        Err(validation(format!(
            "1 validation error detected: Value '{name}' at 'stackName' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z][-a-zA-Z0-9]*"
        )))
    }
}

/// Starts a create of `stack` (already stored or not) from `plan` on a background task.
pub fn start_create(ctx: &Context, stack: Stack, plan: Plan) -> Result<(), AwsError> {
    let part = ctx.partition();
    let exports = ctx.dispatcher.store().read(|tx| state::exports(tx, &part)).map_err(db)?;
    let pseudo = super::pseudo(ctx, &stack.stack_name, &stack.stack_id);
    let run =
        Run::new(provider_context(ctx), part, stack, plan.template, plan.values, pseudo, exports);
    tokio::spawn(engine::create(run, plan.graph));
    Ok(())
}

/// Starts an update of `old` to `new` (its new template, parameters and tags) from `plan`.
pub fn start_update(ctx: &Context, old: Stack, new: Stack, plan: Plan) -> Result<(), AwsError> {
    let part = ctx.partition();
    let exports = ctx.dispatcher.store().read(|tx| state::exports(tx, &part)).map_err(db)?;
    let pseudo = super::pseudo(ctx, &new.stack_name, &new.stack_id);
    let run =
        Run::new(provider_context(ctx), part, new, plan.template, plan.values, pseudo, exports);
    tokio::spawn(engine::update(run, plan.graph, old));
    Ok(())
}

/// Implements `CreateStack`.
pub fn create_stack(ctx: &Context, input: CreateStackInput) -> Result<Value, AwsError> {
    check_stack_name(&input.stack_name)?;
    let (body, plan) = plan(
        ctx,
        &input.stack_name,
        input.template_body.as_deref(),
        input.template_url.as_deref(),
        &input.parameters,
        None,
    )?;
    check_capabilities(&plan.template, &input.capabilities)?;
    let tags = input.tags.into_iter().map(|t| (t.key, t.value)).collect();
    let mut stack = new_stack(
        ctx,
        &input.stack_name,
        "CREATE_IN_PROGRESS",
        body,
        &plan,
        tags,
        input.capabilities,
        input.notification_arns,
    );
    stack.disable_rollback =
        input.disable_rollback == Some(true) || input.on_failure.as_deref() == Some("DO_NOTHING");
    stack.on_failure_delete = input.on_failure.as_deref() == Some("DELETE");
    stack.termination_protection = input.enable_termination_protection == Some(true);
    let part = ctx.partition();
    let name = input.stack_name.clone();
    let stack_id = stack.stack_id.clone();
    ctx.dispatcher
        .store()
        .write(|tx| {
            if find_stack(tx, &part, &name)?.is_some() {
                return Ok(false);
            }
            STACKS.put(tx, &part, &stack.stack_id, &stack)?;
            Ok::<_, mamori_store::StoreError>(true)
        })
        .map_err(db)
        .and_then(|created| {
            if created {
                Ok(())
            } else {
                Err(AwsError::new(
                    "AlreadyExistsException",
                    format!("Stack [{name}] already exists"),
                ))
            }
        })?;
    start_create(ctx, stack, plan)?;
    Ok(json!({"StackId": stack_id}))
}

/// Implements `UpdateStack`.
pub fn update_stack(ctx: &Context, input: UpdateStackInput) -> Result<Value, AwsError> {
    let old = load_stack(ctx, &input.stack_name)?;
    check_updatable(&old)?;
    let body = if input.use_previous_template == Some(true) {
        Some(old.template_body.clone())
    } else {
        input.template_body.clone()
    };
    let (body, plan) = plan(
        ctx,
        &old.stack_name,
        body.as_deref(),
        input.template_url.as_deref(),
        &input.parameters,
        Some(&old),
    )?;
    check_capabilities(&plan.template, &input.capabilities)?;
    let tags = match input.tags {
        Some(t) => t.into_iter().map(|t| (t.key, t.value)).collect(),
        None => old.tags.clone(),
    };
    let changes = super::changes(ctx, Some(&old), &old.stack_name, &plan);
    if changes.is_empty()
        && body == old.template_body
        && plan.parameters == old.parameters
        && tags == old.tags
    {
        return Err(validation("No updates are to be performed."));
    }
    let mut new = old.clone();
    new.template_body = body;
    new.given = plan.given.clone();
    new.parameters = plan.parameters.clone();
    new.no_echo = plan.no_echo.clone();
    new.description = plan.template.description.clone();
    new.tags = tags;
    new.capabilities = input.capabilities;
    new.status = "UPDATE_IN_PROGRESS".into();
    if let Some(d) = input.disable_rollback {
        new.disable_rollback = d;
    }
    let stack_id = new.stack_id.clone();
    put_stack(ctx, &new)?;
    start_update(ctx, old, new, plan)?;
    Ok(json!({"StackId": stack_id}))
}

/// Refuses updates while an operation runs or when the stack cannot be updated.
pub fn check_updatable(stack: &Stack) -> Result<(), AwsError> {
    let ok = matches!(
        stack.status.as_str(),
        "CREATE_COMPLETE" | "UPDATE_COMPLETE" | "UPDATE_ROLLBACK_COMPLETE" | "IMPORT_COMPLETE"
    );
    if ok {
        Ok(())
    } else {
        Err(validation(format!(
            "Stack:{} is in {} state and can not be updated.",
            stack.stack_id, stack.status
        )))
    }
}

fn put_stack(ctx: &Context, stack: &Stack) -> Result<(), AwsError> {
    let part = ctx.partition();
    ctx.dispatcher.store().write(|tx| STACKS.put(tx, &part, &stack.stack_id, stack)).map_err(db)
}

/// Implements `DeleteStack`: deleting a missing stack succeeds, as in AWS.
pub fn delete_stack(ctx: &Context, input: StackNameInput) -> Result<Value, AwsError> {
    let Some(name) = input.stack_name else { return Err(validation("StackName is required")) };
    let Ok(stack) = load_stack(ctx, &name) else { return Ok(json!({})) };
    if is_deleted(&stack.status) || stack.status == "DELETE_IN_PROGRESS" {
        return Ok(json!({}));
    }
    if stack.termination_protection {
        return Err(validation(format!(
            "Stack [{}] cannot be deleted while TerminationProtection is enabled",
            stack.stack_name
        )));
    }
    if is_in_progress(&stack.status) {
        return Err(validation(format!(
            "Stack [{}] cannot be deleted while in status {}",
            stack.stack_name, stack.status
        )));
    }
    let template =
        mamori_template::Template::parse(&stack.template_body).map_err(super::template_error)?;
    let graph =
        template.validate(&mamori_template::DefaultAttributes).map_err(super::template_error)?;
    let values = mamori_template::resolve_parameters(
        &template,
        &stack.given,
        &mamori_template::NoParameterStore,
    )
    .unwrap_or_default();
    let mut stack = stack;
    stack.status = "DELETE_IN_PROGRESS".into();
    put_stack(ctx, &stack)?;
    let pseudo = super::pseudo(ctx, &stack.stack_name, &stack.stack_id);
    let run = Run::new(
        provider_context(ctx),
        ctx.partition(),
        stack,
        template,
        values,
        pseudo,
        Vec::new(),
    );
    tokio::spawn(engine::delete(run, graph));
    Ok(json!({}))
}

fn stack_out(s: &Stack) -> Value {
    let outputs: Vec<Value> = s
        .outputs
        .iter()
        .map(|o| {
            json!({"OutputKey": o.key, "OutputValue": o.value, "Description": o.description, "ExportName": o.export_name})
        })
        .collect();
    json!({
        "StackId": s.stack_id,
        "StackName": s.stack_name,
        "ChangeSetId": s.change_set_id,
        "Description": s.description,
        "Parameters": parameters_out(&s.parameters, &s.no_echo),
        "CreationTime": ts(s.creation_time),
        "LastUpdatedTime": s.last_updated_time.map(ts),
        "DeletionTime": s.deletion_time.map(ts),
        "StackStatus": s.status,
        "StackStatusReason": s.status_reason,
        "DisableRollback": s.disable_rollback,
        "NotificationARNs": s.notification_arns,
        "Capabilities": s.capabilities,
        "Outputs": outputs,
        "Tags": tags_out(&s.tags),
        "EnableTerminationProtection": s.termination_protection,
        "DriftInformation": {"StackDriftStatus": "NOT_CHECKED"},
    })
}

/// Implements `DescribeStacks`: one stack, or every live stack.
pub fn describe_stacks(ctx: &Context, input: StackNameInput) -> Result<Value, AwsError> {
    let stacks = match input.stack_name {
        Some(name) => vec![load_stack(ctx, &name)?],
        None => {
            let part = ctx.partition();
            let mut all: Vec<Stack> = ctx
                .dispatcher
                .store()
                .read(|tx| STACKS.all(tx, &part))
                .map_err(db)?
                .into_iter()
                .map(|(_, s)| s)
                .filter(|s| !is_deleted(&s.status))
                .collect();
            all.sort_by_key(|s| std::cmp::Reverse(s.creation_time));
            all
        }
    };
    Ok(json!({"Stacks": stacks.iter().map(stack_out).collect::<Vec<_>>()}))
}

/// Implements `ListStacks`, deleted stacks included, filtered by status.
pub fn list_stacks(ctx: &Context, input: ListStacksInput) -> Result<Value, AwsError> {
    let part = ctx.partition();
    let mut all: Vec<Stack> = ctx
        .dispatcher
        .store()
        .read(|tx| STACKS.all(tx, &part))
        .map_err(db)?
        .into_iter()
        .map(|(_, s)| s)
        .filter(|s| {
            input.stack_status_filter.is_empty() || input.stack_status_filter.contains(&s.status)
        })
        .collect();
    all.sort_by_key(|s| std::cmp::Reverse(s.creation_time));
    let summaries: Vec<Value> = all
        .iter()
        .map(|s| {
            json!({
                "StackId": s.stack_id,
                "StackName": s.stack_name,
                "TemplateDescription": s.description,
                "CreationTime": ts(s.creation_time),
                "LastUpdatedTime": s.last_updated_time.map(ts),
                "DeletionTime": s.deletion_time.map(ts),
                "StackStatus": s.status,
                "StackStatusReason": s.status_reason,
                "DriftInformation": {"StackDriftStatus": "NOT_CHECKED"},
            })
        })
        .collect();
    Ok(json!({"StackSummaries": summaries}))
}

/// Implements `DescribeStackEvents`, newest first.
pub fn describe_stack_events(ctx: &Context, input: StackNameInput) -> Result<Value, AwsError> {
    let Some(name) = input.stack_name else { return Err(validation("StackName is required")) };
    let stack = load_stack(ctx, &name)?;
    let part = ctx.partition();
    let records = ctx
        .dispatcher
        .store()
        .read(|tx| {
            EVENTS.range(
                tx,
                &part,
                &[stack.stack_id.as_str()],
                i64::MIN,
                i64::MAX,
                None,
                usize::MAX,
                true,
            )
        })
        .map_err(db)?;
    let events: Vec<Value> = records
        .into_iter()
        .map(|r| {
            let e = r.value;
            json!({
                "StackId": stack.stack_id,
                "EventId": e.event_id,
                "StackName": stack.stack_name,
                "LogicalResourceId": e.logical_id,
                "PhysicalResourceId": e.physical_id.unwrap_or_default(),
                "ResourceType": e.type_name,
                "Timestamp": ts(e.timestamp),
                "ResourceStatus": e.status,
                "ResourceStatusReason": e.reason,
                "ResourceProperties": e.properties,
            })
        })
        .collect();
    Ok(json!({"StackEvents": events}))
}

fn resource_out(stack: &Stack, r: &StackResource, detail: bool) -> Value {
    let mut v = json!({
        "StackName": stack.stack_name,
        "StackId": stack.stack_id,
        "LogicalResourceId": r.logical_id,
        "PhysicalResourceId": r.physical_id(),
        "ResourceType": r.type_name,
        "ResourceStatus": r.status,
        "ResourceStatusReason": r.status_reason,
        "Description": r.description,
        "DriftInformation": {"StackResourceDriftStatus": "NOT_CHECKED"},
    });
    if detail {
        v["LastUpdatedTimestamp"] = ts(r.updated);
        v["Metadata"] = json!(r.metadata.as_ref().map(Value::to_string));
    } else {
        v["Timestamp"] = ts(r.updated);
    }
    v
}

/// Implements `DescribeStackResource`.
pub fn describe_stack_resource(
    ctx: &Context,
    input: StackResourceInput,
) -> Result<Value, AwsError> {
    let name = input.stack_name.unwrap_or_default();
    let logical = input.logical_resource_id.unwrap_or_default();
    let stack = load_stack(ctx, &name)?;
    let Some(r) = stack.resources.get(&logical) else {
        return Err(validation(format!("Resource {logical} does not exist for stack {name}")));
    };
    Ok(json!({"StackResourceDetail": resource_out(&stack, r, true)}))
}

/// Implements `DescribeStackResources`, by stack or by physical id.
pub fn describe_stack_resources(
    ctx: &Context,
    input: StackResourceInput,
) -> Result<Value, AwsError> {
    let stack = match (&input.stack_name, &input.physical_resource_id) {
        (Some(name), _) => load_stack(ctx, name)?,
        (None, Some(physical)) => {
            let part = ctx.partition();
            let all = ctx.dispatcher.store().read(|tx| STACKS.all(tx, &part)).map_err(db)?;
            all.into_iter()
                .map(|(_, s)| s)
                .find(|s| {
                    !is_deleted(&s.status)
                        && s.resources.values().any(|r| r.physical_id() == Some(physical))
                })
                .ok_or_else(|| validation(format!("Stack for {physical} does not exist")))?
        }
        (None, None) => {
            return Err(validation("Either StackName or PhysicalResourceId must be specified."));
        }
    };
    let resources: Vec<Value> = stack
        .resources
        .values()
        .filter(|r| input.logical_resource_id.as_ref().is_none_or(|l| &r.logical_id == l))
        .filter(|r| {
            input.physical_resource_id.as_deref().is_none_or(|p| r.physical_id() == Some(p))
        })
        .map(|r| resource_out(&stack, r, false))
        .collect();
    Ok(json!({"StackResources": resources}))
}

/// Implements `ListStackResources`.
pub fn list_stack_resources(ctx: &Context, input: StackNameInput) -> Result<Value, AwsError> {
    let Some(name) = input.stack_name else { return Err(validation("StackName is required")) };
    let stack = load_stack(ctx, &name)?;
    let summaries: Vec<Value> = stack
        .resources
        .values()
        .map(|r| {
            json!({
                "LogicalResourceId": r.logical_id,
                "PhysicalResourceId": r.physical_id(),
                "ResourceType": r.type_name,
                "LastUpdatedTimestamp": ts(r.updated),
                "ResourceStatus": r.status,
                "ResourceStatusReason": r.status_reason,
                "DriftInformation": {"StackResourceDriftStatus": "NOT_CHECKED"},
            })
        })
        .collect();
    Ok(json!({"StackResourceSummaries": summaries}))
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct GetTemplateInput {
    stack_name: Option<String>,
    change_set_name: Option<String>,
}

/// Implements `GetTemplate`, of a stack or of a change set.
pub fn get_template(ctx: &Context, input: GetTemplateInput) -> Result<Value, AwsError> {
    let body = match &input.change_set_name {
        Some(cs) => {
            super::changesets::load_change_set(ctx, cs, input.stack_name.as_deref())?.template_body
        }
        None => {
            let name = input.stack_name.unwrap_or_default();
            load_stack(ctx, &name)?.template_body
        }
    };
    Ok(json!({"TemplateBody": body, "StagesAvailable": ["Original", "Processed"]}))
}

/// Implements `UpdateTerminationProtection`.
pub fn update_termination_protection(
    ctx: &Context,
    input: TerminationProtectionInput,
) -> Result<Value, AwsError> {
    let mut stack = load_stack(ctx, &input.stack_name)?;
    stack.termination_protection = input.enable_termination_protection;
    put_stack(ctx, &stack)?;
    Ok(json!({"StackId": stack.stack_id}))
}

/// Implements `ListExports`.
pub fn list_exports(ctx: &Context) -> Result<Value, AwsError> {
    let part = ctx.partition();
    let exports = ctx.dispatcher.store().read(|tx| state::exports(tx, &part)).map_err(db)?;
    let list: Vec<Value> = exports
        .into_iter()
        .map(
            |(name, value, stack)| json!({"ExportingStackId": stack, "Name": name, "Value": value}),
        )
        .collect();
    Ok(json!({"Exports": list}))
}
