//! What CloudFormation keeps in the store: stacks (with their resources), stack events and
//! change sets, following the shapes of
//! <https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_Stack.html>.
//!
//! A stack is one document keyed by its stack id (an ARN) in the partition
//! `account/region`, holding its resources, so a deployment step is one write. Deleted
//! stacks stay (ListStacks and DescribeStacks by id show them); lookups by name see only
//! the live stack of that name. Events are a series per stack, newest read first.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use mamori_aws::AwsError;
use mamori_service::ResourceState;
use mamori_store::{Collection, Series, StoreError, Tx};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// Stacks by stack id.
pub const STACKS: Collection<Stack> = Collection::new("cloudformation.stacks");
/// Change sets by change set id.
pub const CHANGE_SETS: Collection<ChangeSet> = Collection::new("cloudformation.changesets");
/// Stack events; stream = stack id.
pub const EVENTS: Series<StackEvent> = Series::new("cloudformation.events");

/// A stack.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Stack {
    pub stack_id: String,
    pub stack_name: String,
    pub description: Option<String>,
    pub status: String,
    pub status_reason: Option<String>,
    pub creation_time: DateTime<Utc>,
    pub last_updated_time: Option<DateTime<Utc>>,
    pub deletion_time: Option<DateTime<Utc>>,
    pub template_body: String,
    /// The values given by the caller, by name (what `UsePreviousValue` reuses).
    pub given: BTreeMap<String, String>,
    /// Every declared parameter with its resolved value, in template order.
    pub parameters: Vec<(String, String)>,
    /// Parameters declared `NoEcho`, shown as `****`.
    pub no_echo: Vec<String>,
    pub tags: Vec<(String, String)>,
    pub capabilities: Vec<String>,
    pub notification_arns: Vec<String>,
    pub disable_rollback: bool,
    pub on_failure_delete: bool,
    pub termination_protection: bool,
    pub outputs: Vec<StackOutput>,
    pub resources: BTreeMap<String, StackResource>,
    /// The change set the stack was last created or updated from.
    pub change_set_id: Option<String>,
}

/// A stack output with its value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StackOutput {
    pub key: String,
    pub value: String,
    pub description: Option<String>,
    pub export_name: Option<String>,
}

/// A resource of a stack.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StackResource {
    pub logical_id: String,
    pub type_name: String,
    pub status: String,
    pub status_reason: Option<String>,
    pub updated: DateTime<Utc>,
    /// The physical id and attributes, once created.
    pub state: Option<ResourceState>,
    /// The resolved properties it was last deployed with.
    pub properties: Map<String, Value>,
    /// `DeletionPolicy`: `Delete`, `Retain`, `RetainExceptOnCreate` or `Snapshot`.
    pub deletion_policy: String,
    /// `UpdateReplacePolicy`, the same values.
    pub update_replace_policy: String,
    pub description: Option<String>,
    pub metadata: Option<Value>,
}

impl StackResource {
    /// The physical id, once created.
    pub fn physical_id(&self) -> Option<&str> {
        self.state.as_ref().map(|s| s.physical_id.as_str())
    }
}

/// One stack event (a resource's or the stack's own status change).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StackEvent {
    pub event_id: String,
    pub logical_id: String,
    pub physical_id: Option<String>,
    pub type_name: String,
    pub status: String,
    pub reason: Option<String>,
    pub timestamp: DateTime<Utc>,
    pub properties: Option<String>,
}

/// A change set.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ChangeSet {
    pub id: String,
    pub name: String,
    pub stack_id: String,
    pub stack_name: String,
    pub description: Option<String>,
    /// `CREATE` or `UPDATE`.
    pub change_set_type: String,
    pub status: String,
    pub status_reason: Option<String>,
    pub execution_status: String,
    pub creation_time: DateTime<Utc>,
    pub template_body: String,
    pub given: BTreeMap<String, String>,
    pub parameters: Vec<(String, String)>,
    pub tags: Vec<(String, String)>,
    pub capabilities: Vec<String>,
    pub notification_arns: Vec<String>,
    pub changes: Vec<Change>,
}

/// One resource change of a change set.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Change {
    /// `Add`, `Modify`, `Remove`.
    pub action: String,
    pub logical_id: String,
    pub physical_id: Option<String>,
    pub type_name: String,
    /// `True`, `False`, or none for adds and removes.
    pub replacement: Option<String>,
    /// The top-level properties that differ.
    pub properties: Vec<String>,
}

/// Maps store failures to a 500.
pub fn db(e: StoreError) -> AwsError {
    AwsError::internal(e)
}

/// True for statuses of stacks that no longer exist.
pub fn is_deleted(status: &str) -> bool {
    status == "DELETE_COMPLETE"
}

/// True while an operation runs on the stack.
pub fn is_in_progress(status: &str) -> bool {
    status.ends_with("_IN_PROGRESS") && status != "REVIEW_IN_PROGRESS"
}

/// The live stack named `name`, or the stack (live or deleted) whose id is `name`.
pub fn find_stack(tx: &Tx<'_>, part: &str, name: &str) -> Result<Option<Stack>, StoreError> {
    if name.starts_with("arn:") {
        return STACKS.get(tx, part, name);
    }
    Ok(STACKS
        .all(tx, part)?
        .into_iter()
        .map(|(_, s)| s)
        .find(|s| s.stack_name == name && !is_deleted(&s.status)))
}

/// The change set `name` (an ARN, or a name with its stack).
pub fn find_change_set(
    tx: &Tx<'_>,
    part: &str,
    name: &str,
    stack: Option<&str>,
) -> Result<Option<ChangeSet>, StoreError> {
    if name.starts_with("arn:") {
        return CHANGE_SETS.get(tx, part, name);
    }
    let Some(stack_name) = stack else { return Ok(None) };
    let Some(stack) = find_stack(tx, part, stack_name)? else { return Ok(None) };
    Ok(CHANGE_SETS
        .all(tx, part)?
        .into_iter()
        .map(|(_, c)| c)
        .find(|c| c.stack_id == stack.stack_id && c.name == name))
}

/// Every export of the live stacks in the partition: (name, value, exporting stack id).
pub fn exports(tx: &Tx<'_>, part: &str) -> Result<Vec<(String, String, String)>, StoreError> {
    let mut res = Vec::new();
    for (_, s) in STACKS.all(tx, part)? {
        if is_deleted(&s.status) {
            continue;
        }
        for o in &s.outputs {
            if let Some(name) = &o.export_name {
                res.push((name.clone(), o.value.clone(), s.stack_id.clone()));
            }
        }
    }
    res.sort();
    Ok(res)
}
