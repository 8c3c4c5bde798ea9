//! AWS CloudFormation, following
//! <https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/Welcome.html>.
//!
//! Templates are read by the pure `mamori-template` engine; resources are created by the
//! owning services' [`mamori_service::ResourceProvider`]s, found through the dispatcher
//! by type and called with the stack caller's principal and `invoked_by`
//! `cloudformation.amazonaws.com`, so every validation, policy and audit record is the
//! service's own. Stack operations answer at once (the stack is `*_IN_PROGRESS`) and run
//! on a background task ([`engine`]); a stack left in progress by a crash is marked
//! failed at start ([`recover`]).

pub mod engine;
mod ops;
mod state;

use mamori_aws::AwsError;
use mamori_service::{AuthzRequest, Context, Dispatcher, OpSpec, Service, async_trait};
use serde_json::Value;

pub use engine::recover;

/// The CloudFormation service.
#[derive(Debug, Default)]
pub struct CloudFormation;

const OPS: &[OpSpec] = &[
    OpSpec {
        name: "CreateStack",
        gaps: &[
            "TemplateURL is not fetched (send TemplateBody)",
            "RollbackConfiguration, TimeoutInMinutes, StackPolicyBody/URL, RoleARN and ClientRequestToken are ignored",
            "NotificationARNs are stored but no stack events are published to them",
            "stack Tags are not propagated to the stack's resources",
            "resource types without a provider fail the stack (see the supported types on this page)",
        ],
    },
    OpSpec {
        name: "UpdateStack",
        gaps: &[
            "TemplateURL is not fetched (send TemplateBody)",
            "stack policies are ignored",
            "Tags given to UpdateStack replace the stack's tags but are not re-applied to resources",
        ],
    },
    OpSpec {
        name: "DeleteStack",
        gaps: &[
            "RetainResources, RoleARN and DeletionMode are ignored",
            "DeletionPolicy Snapshot deletes without a snapshot",
        ],
    },
    OpSpec { name: "DescribeStacks", gaps: &["no pagination: every stack in one page"] },
    OpSpec { name: "ListStacks", gaps: &["no pagination: every stack in one page"] },
    OpSpec { name: "DescribeStackEvents", gaps: &["no pagination: every event in one page"] },
    OpSpec { name: "DescribeStackResource", gaps: &[] },
    OpSpec {
        name: "DescribeStackResources",
        gaps: &["PhysicalResourceId lookup searches the caller's stacks in the region"],
    },
    OpSpec { name: "ListStackResources", gaps: &["no pagination"] },
    OpSpec {
        name: "GetTemplate",
        gaps: &["TemplateStage Processed returns the original (no transforms exist)"],
    },
    OpSpec {
        name: "GetTemplateSummary",
        gaps: &["TemplateURL is not fetched", "ResourceIdentifierSummaries is empty"],
    },
    OpSpec { name: "ValidateTemplate", gaps: &["TemplateURL is not fetched"] },
    OpSpec {
        name: "CreateChangeSet",
        gaps: &[
            "IMPORT change sets are refused",
            "Details of each change list only the changed top-level properties",
        ],
    },
    OpSpec { name: "DescribeChangeSet", gaps: &["no pagination"] },
    OpSpec { name: "ExecuteChangeSet", gaps: &[] },
    OpSpec { name: "DeleteChangeSet", gaps: &[] },
    OpSpec { name: "ListChangeSets", gaps: &["no pagination"] },
    OpSpec { name: "ListExports", gaps: &["no pagination"] },
    OpSpec { name: "UpdateTerminationProtection", gaps: &[] },
];

#[async_trait]
impl Service for CloudFormation {
    fn model_id(&self) -> &'static str {
        "cloudformation"
    }

    fn operations(&self) -> &'static [OpSpec] {
        OPS
    }

    fn authz(&self, ctx: &Context, operation: &str, input: &Value) -> AuthzRequest {
        let name = input.get("StackName").and_then(Value::as_str);
        let resource = match name {
            Some(n) if n.starts_with("arn:") => n.to_owned(),
            Some(n) => format!("arn:aws:cloudformation:{}:{}:stack/{n}/*", ctx.region, ctx.account),
            None => "*".to_owned(),
        };
        AuthzRequest::new(format!("cloudformation:{operation}"), vec![resource])
    }

    async fn call(&self, ctx: &Context, operation: &str, input: Value) -> Result<Value, AwsError> {
        use mamori_service::parse_input as p;
        use ops::{changesets, stacks, templates};
        match operation {
            "CreateStack" => stacks::create_stack(ctx, p(input)?),
            "UpdateStack" => stacks::update_stack(ctx, p(input)?),
            "DeleteStack" => stacks::delete_stack(ctx, p(input)?),
            "DescribeStacks" => stacks::describe_stacks(ctx, p(input)?),
            "ListStacks" => stacks::list_stacks(ctx, p(input)?),
            "DescribeStackEvents" => stacks::describe_stack_events(ctx, p(input)?),
            "DescribeStackResource" => stacks::describe_stack_resource(ctx, p(input)?),
            "DescribeStackResources" => stacks::describe_stack_resources(ctx, p(input)?),
            "ListStackResources" => stacks::list_stack_resources(ctx, p(input)?),
            "GetTemplate" => stacks::get_template(ctx, p(input)?),
            "UpdateTerminationProtection" => stacks::update_termination_protection(ctx, p(input)?),
            "ListExports" => stacks::list_exports(ctx),
            "ValidateTemplate" => templates::validate_template(p(input)?),
            "GetTemplateSummary" => templates::get_template_summary(ctx, p(input)?),
            "CreateChangeSet" => changesets::create_change_set(ctx, p(input)?),
            "DescribeChangeSet" => changesets::describe_change_set(ctx, p(input)?),
            "ExecuteChangeSet" => changesets::execute_change_set(ctx, p(input)?),
            "DeleteChangeSet" => changesets::delete_change_set(ctx, p(input)?),
            "ListChangeSets" => changesets::list_change_sets(ctx, p(input)?),
            other => Err(AwsError::not_implemented("cloudformation", other)),
        }
    }
}

/// Marks stacks a crash left in progress as failed; the binary calls it once at start.
pub fn register_tasks(dispatcher: &std::sync::Arc<Dispatcher>) {
    match recover(dispatcher) {
        Ok(0) => {}
        Ok(n) => tracing::warn!(
            stacks = n,
            "stack operations interrupted by a restart were marked failed"
        ),
        Err(e) => tracing::error!(error = %e, "recovering interrupted stack operations failed"),
    }
}

#[cfg(test)]
mod tests;
