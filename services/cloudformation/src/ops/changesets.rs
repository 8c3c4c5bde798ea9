//! Change sets: `CreateChangeSet`, `DescribeChangeSet`, `ExecuteChangeSet`,
//! `DeleteChangeSet` and `ListChangeSets`, following
//! <https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/using-cfn-updating-stacks-changesets.html>.
//!
//! The changes are computed when the change set is created, against the stack's current
//! resources, so `DescribeChangeSet` answers `CREATE_COMPLETE` at once (what
//! `aws cloudformation deploy`'s waiter polls for). A change set without changes is
//! `FAILED` with AWS's reason, which the CLI reports as "No changes to deploy".

use mamori_aws::AwsError;
use mamori_service::Context;
use serde::Deserialize;
use serde_json::{Value, json};

use super::stacks::{check_updatable, load_stack, new_stack, start_create, start_update};
use super::{
    ParameterInput, TagInput, changes, check_capabilities, parameters_out, plan, tags_out, ts,
    validation,
};
use crate::state::{CHANGE_SETS, ChangeSet, STACKS, db, find_change_set, find_stack};

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CreateChangeSetInput {
    stack_name: String,
    change_set_name: String,
    template_body: Option<String>,
    #[serde(rename = "TemplateURL")]
    template_url: Option<String>,
    use_previous_template: Option<bool>,
    #[serde(default)]
    parameters: Vec<ParameterInput>,
    #[serde(default)]
    capabilities: Vec<String>,
    #[serde(default, rename = "NotificationARNs")]
    notification_arns: Vec<String>,
    tags: Option<Vec<TagInput>>,
    description: Option<String>,
    change_set_type: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ChangeSetInput {
    change_set_name: String,
    stack_name: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListChangeSetsInput {
    stack_name: String,
}

/// The change set a request names, or `ChangeSetNotFoundException`.
pub fn load_change_set(
    ctx: &Context,
    name: &str,
    stack: Option<&str>,
) -> Result<ChangeSet, AwsError> {
    let part = ctx.partition();
    ctx.dispatcher
        .store()
        .read(|tx| find_change_set(tx, &part, name, stack))
        .map_err(db)?
        .ok_or_else(|| {
            AwsError::new(
                "ChangeSetNotFoundException",
                format!("ChangeSet [{name}] does not exist"),
            )
        })
}

/// Implements `CreateChangeSet` (`CREATE` and `UPDATE`).
pub fn create_change_set(ctx: &Context, input: CreateChangeSetInput) -> Result<Value, AwsError> {
    let kind = input.change_set_type.as_deref().unwrap_or("UPDATE");
    if kind == "IMPORT" {
        // GAP: resource import is not supported.
        return Err(validation("ChangeSetType IMPORT is not supported by mamori"));
    }
    let part = ctx.partition();
    let existing =
        ctx.dispatcher.store().read(|tx| find_stack(tx, &part, &input.stack_name)).map_err(db)?;
    let stack = match (kind, existing) {
        ("CREATE", Some(s)) if s.status != "REVIEW_IN_PROGRESS" => {
            return Err(AwsError::new(
                "AlreadyExistsException",
                format!(
                    "Stack [{}] already exists and cannot be created again with the changeSet [{}].",
                    s.stack_name, input.change_set_name
                ),
            ));
        }
        ("UPDATE", None) => {
            return Err(validation(format!("Stack [{}] does not exist", input.stack_name)));
        }
        ("UPDATE", Some(s)) if s.status == "REVIEW_IN_PROGRESS" => {
            return Err(validation(format!("Stack [{}] does not exist", input.stack_name)));
        }
        (_, s) => s,
    };
    if kind == "UPDATE"
        && let Some(s) = &stack
    {
        check_updatable(s)?;
    }
    let body = match (&stack, input.use_previous_template) {
        (Some(s), Some(true)) => Some(s.template_body.clone()),
        _ => input.template_body.clone(),
    };
    let stack_name = stack.as_ref().map_or(input.stack_name.clone(), |s| s.stack_name.clone());
    let (body, plan) = plan(
        ctx,
        &stack_name,
        body.as_deref(),
        input.template_url.as_deref(),
        &input.parameters,
        stack.as_ref().filter(|_| kind == "UPDATE"),
    )?;
    check_capabilities(&plan.template, &input.capabilities)?;
    let tags: Vec<(String, String)> = match (&input.tags, &stack) {
        (Some(t), _) => t.iter().map(|t| (t.key.clone(), t.value.clone())).collect(),
        (None, Some(s)) => s.tags.clone(),
        (None, None) => Vec::new(),
    };
    let live = stack.as_ref().filter(|_| kind == "UPDATE");
    let found = changes(ctx, live, &stack_name, &plan);
    let unchanged = found.is_empty()
        && live.is_some_and(|s| {
            s.template_body == body && s.parameters == plan.parameters && s.tags == tags
        });
    let stack = match stack {
        Some(s) => s,
        None => new_stack(
            ctx,
            &stack_name,
            "REVIEW_IN_PROGRESS",
            body.clone(),
            &plan,
            tags.clone(),
            input.capabilities.clone(),
            input.notification_arns.clone(),
        ),
    };
    let id = format!(
        "arn:aws:cloudformation:{}:{}:changeSet/{}/{}",
        ctx.region,
        ctx.account,
        input.change_set_name,
        uuid::Uuid::new_v4()
    );
    let (status, reason, exec) = if unchanged {
        (
            "FAILED",
            Some("The submitted information didn't contain changes. Submit different information to create a change set.".to_owned()),
            "UNAVAILABLE",
        )
    } else {
        ("CREATE_COMPLETE", None, "AVAILABLE")
    };
    let cs = ChangeSet {
        id: id.clone(),
        name: input.change_set_name.clone(),
        stack_id: stack.stack_id.clone(),
        stack_name: stack.stack_name.clone(),
        description: input.description,
        change_set_type: kind.to_owned(),
        status: status.into(),
        status_reason: reason,
        execution_status: exec.into(),
        creation_time: ctx.dispatcher.clock().now(),
        template_body: body,
        given: plan.given.clone(),
        parameters: plan.parameters.clone(),
        tags,
        capabilities: input.capabilities,
        notification_arns: input.notification_arns,
        changes: found,
    };
    let name = input.change_set_name;
    ctx.dispatcher
        .store()
        .write(|tx| {
            let dup = CHANGE_SETS
                .all(tx, &part)?
                .into_iter()
                .any(|(_, c)| c.stack_id == stack.stack_id && c.name == name);
            if dup {
                return Ok(false);
            }
            if stack.status == "REVIEW_IN_PROGRESS" {
                STACKS.put(tx, &part, &stack.stack_id, &stack)?;
            }
            CHANGE_SETS.put(tx, &part, &cs.id, &cs)?;
            Ok::<_, mamori_store::StoreError>(true)
        })
        .map_err(db)
        .and_then(|ok| {
            if ok {
                Ok(())
            } else {
                Err(AwsError::new(
                    "AlreadyExistsException",
                    format!("ChangeSet {name} already exists"),
                ))
            }
        })?;
    Ok(json!({"Id": id, "StackId": stack.stack_id}))
}

/// Implements `DescribeChangeSet`.
pub fn describe_change_set(ctx: &Context, input: ChangeSetInput) -> Result<Value, AwsError> {
    let cs = load_change_set(ctx, &input.change_set_name, input.stack_name.as_deref())?;
    let changes: Vec<Value> = cs
        .changes
        .iter()
        .map(|c| {
            let details: Vec<Value> = c
                .properties
                .iter()
                .map(|p| {
                    json!({"Target": {"Attribute": "Properties", "Name": p, "RequiresRecreation": if c.replacement.as_deref() == Some("True") { "Always" } else { "Never" }}, "Evaluation": "Static", "ChangeSource": "DirectModification"})
                })
                .collect();
            let scope: Vec<&str> = if c.properties.is_empty() { vec![] } else { vec!["Properties"] };
            json!({
                "Type": "Resource",
                "ResourceChange": {
                    "Action": c.action,
                    "LogicalResourceId": c.logical_id,
                    "PhysicalResourceId": c.physical_id,
                    "ResourceType": c.type_name,
                    "Replacement": c.replacement,
                    "Scope": scope,
                    "Details": details,
                }
            })
        })
        .collect();
    Ok(json!({
        "ChangeSetName": cs.name,
        "ChangeSetId": cs.id,
        "StackId": cs.stack_id,
        "StackName": cs.stack_name,
        "Description": cs.description,
        "Parameters": parameters_out(&cs.parameters, &[]),
        "CreationTime": ts(cs.creation_time),
        "ExecutionStatus": cs.execution_status,
        "Status": cs.status,
        "StatusReason": cs.status_reason,
        "NotificationARNs": cs.notification_arns,
        "Capabilities": cs.capabilities,
        "Tags": tags_out(&cs.tags),
        "Changes": changes,
        "IncludeNestedStacks": false,
    }))
}

/// Implements `ExecuteChangeSet`: runs the create or update on a background task.
pub fn execute_change_set(ctx: &Context, input: ChangeSetInput) -> Result<Value, AwsError> {
    let mut cs = load_change_set(ctx, &input.change_set_name, input.stack_name.as_deref())?;
    if cs.execution_status != "AVAILABLE" {
        return Err(AwsError::new(
            "InvalidChangeSetStatusException",
            format!(
                "ChangeSet [{}] cannot be executed in its current status of [{}]",
                cs.id, cs.status
            ),
        ));
    }
    let old = load_stack(ctx, &cs.stack_id)?;
    let params: Vec<ParameterInput> = cs
        .given
        .iter()
        .map(|(k, v)| ParameterInput {
            parameter_key: Some(k.clone()),
            parameter_value: Some(v.clone()),
            use_previous_value: None,
        })
        .collect();
    let (body, plan) =
        plan(ctx, &cs.stack_name, Some(&cs.template_body), None, &params, Some(&old))?;
    cs.execution_status = "EXECUTE_COMPLETE".into();
    let part = ctx.partition();
    let mut new = old.clone();
    new.template_body = body;
    new.given = plan.given.clone();
    new.parameters = plan.parameters.clone();
    new.no_echo = plan.no_echo.clone();
    new.description = plan.template.description.clone();
    new.tags = cs.tags.clone();
    new.capabilities = cs.capabilities.clone();
    new.change_set_id = Some(cs.id.clone());
    let creating = old.status == "REVIEW_IN_PROGRESS";
    new.status = if creating { "CREATE_IN_PROGRESS" } else { "UPDATE_IN_PROGRESS" }.into();
    ctx.dispatcher
        .store()
        .write(|tx| {
            // Executing a change set makes the stack's other change sets obsolete.
            for (key, other) in CHANGE_SETS.all(tx, &part)? {
                if other.stack_id == cs.stack_id && other.id != cs.id {
                    CHANGE_SETS.delete(tx, &part, &key)?;
                }
            }
            CHANGE_SETS.put(tx, &part, &cs.id, &cs)?;
            STACKS.put(tx, &part, &new.stack_id, &new)
        })
        .map_err(db)?;
    if creating {
        start_create(ctx, new, plan)?;
    } else {
        start_update(ctx, old, new, plan)?;
    }
    Ok(json!({}))
}

/// Implements `DeleteChangeSet`.
pub fn delete_change_set(ctx: &Context, input: ChangeSetInput) -> Result<Value, AwsError> {
    let cs = load_change_set(ctx, &input.change_set_name, input.stack_name.as_deref())?;
    let part = ctx.partition();
    ctx.dispatcher.store().write(|tx| CHANGE_SETS.delete(tx, &part, &cs.id)).map_err(db)?;
    Ok(json!({}))
}

/// Implements `ListChangeSets`.
pub fn list_change_sets(ctx: &Context, input: ListChangeSetsInput) -> Result<Value, AwsError> {
    let stack = load_stack(ctx, &input.stack_name)?;
    let part = ctx.partition();
    let all = ctx.dispatcher.store().read(|tx| CHANGE_SETS.all(tx, &part)).map_err(db)?;
    let summaries: Vec<Value> = all
        .into_iter()
        .map(|(_, c)| c)
        .filter(|c| c.stack_id == stack.stack_id)
        .map(|c| {
            json!({
                "StackId": c.stack_id,
                "StackName": c.stack_name,
                "ChangeSetId": c.id,
                "ChangeSetName": c.name,
                "ExecutionStatus": c.execution_status,
                "Status": c.status,
                "StatusReason": c.status_reason,
                "CreationTime": ts(c.creation_time),
                "Description": c.description,
                "IncludeNestedStacks": false,
            })
        })
        .collect();
    Ok(json!({"Summaries": summaries}))
}
