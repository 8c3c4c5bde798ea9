//! The deployment engine: runs a stack operation in the background, resource by
//! resource through the owning services'
//! [`ResourceProvider`](mamori_service::ResourceProvider)s, writing the stack and its
//! events as it goes, following
//! <https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/using-cfn-describing-stacks.html>
//! (stack and resource status codes) and
//! <https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/stack-failure-options.html>
//! (rollback).
//!
//! Resources are grouped into levels: a resource's level is one more than the highest
//! level of what it depends on (for deletion, of what depends on it). The resources of a
//! level run concurrently; the stack document and the level's events are written in one
//! transaction after each step, so a crash loses at most the step in flight (see
//! [`recover`]).

mod run;

use std::collections::{BTreeMap, BTreeSet};

use mamori_aws::AwsError;
use mamori_service::{Context, Dispatcher};
use mamori_template::Graph;

pub use run::{Run, create, delete, update};

use crate::state::{self, STACKS, StackEvent, db};

/// Groups `ids` (in creation order) into levels that can run concurrently, dependencies
/// first.
pub fn creation_levels(graph: &Graph, ids: &[String]) -> Vec<Vec<String>> {
    let set: BTreeSet<&str> = ids.iter().map(String::as_str).collect();
    let mut level: BTreeMap<&str, usize> = BTreeMap::new();
    for id in ids {
        let l = graph
            .dependencies(id)
            .filter(|d| set.contains(d))
            .filter_map(|d| level.get(d))
            .map(|l| l + 1)
            .max()
            .unwrap_or(0);
        level.insert(id, l);
    }
    group(ids, &level)
}

/// Groups `ids` (in deletion order) into levels, dependents first.
pub fn deletion_levels(graph: &Graph, ids: &[String]) -> Vec<Vec<String>> {
    let set: BTreeSet<&str> = ids.iter().map(String::as_str).collect();
    let mut level: BTreeMap<&str, usize> = BTreeMap::new();
    for id in ids {
        let l = graph
            .dependents(id)
            .into_iter()
            .filter(|d| set.contains(d))
            .filter_map(|d| level.get(d))
            .map(|l| l + 1)
            .max()
            .unwrap_or(0);
        level.insert(id, l);
    }
    group(ids, &level)
}

fn group(ids: &[String], level: &BTreeMap<&str, usize>) -> Vec<Vec<String>> {
    let n = level.values().max().map_or(0, |m| m + 1);
    let mut res = vec![Vec::new(); n];
    for id in ids {
        if let Some(l) = level.get(id.as_str()) {
            res[*l].push(id.clone());
        }
    }
    res
}

/// Resolves stacks a crash left in progress: the operation that ran is gone, so the stack
/// is marked with the failed status of its operation (`CREATE_FAILED`, `DELETE_FAILED`,
/// `UPDATE_ROLLBACK_FAILED`, `ROLLBACK_FAILED`), its in-progress resources likewise, and
/// an event says why. The user can then delete the stack (or continue from the failed
/// state), as after any AWS failure. Called once at start.
pub fn recover(dispatcher: &Dispatcher) -> Result<usize, AwsError> {
    let now = dispatcher.clock().now();
    dispatcher.store().write(|tx| {
        let mut n = 0;
        for (part, key, mut stack) in STACKS.everywhere(tx)? {
            if !state::is_in_progress(&stack.status) {
                continue;
            }
            let failed = match stack.status.as_str() {
                "CREATE_IN_PROGRESS" => "CREATE_FAILED",
                "DELETE_IN_PROGRESS" => "DELETE_FAILED",
                "ROLLBACK_IN_PROGRESS" => "ROLLBACK_FAILED",
                _ => "UPDATE_ROLLBACK_FAILED",
            };
            let reason = "mamori restarted while this stack operation was in progress";
            for r in stack.resources.values_mut() {
                if r.status.ends_with("_IN_PROGRESS") {
                    r.status = r.status.replace("_IN_PROGRESS", "_FAILED");
                    r.status_reason = Some(reason.into());
                    r.updated = now;
                }
            }
            tracing::warn!(stack = %stack.stack_name, from = %stack.status, to = failed, "stack operation interrupted by a restart");
            stack.status = failed.into();
            stack.status_reason = Some(reason.into());
            let event = StackEvent {
                event_id: uuid::Uuid::new_v4().to_string(),
                logical_id: stack.stack_name.clone(),
                physical_id: Some(stack.stack_id.clone()),
                type_name: "AWS::CloudFormation::Stack".into(),
                status: failed.into(),
                reason: Some(reason.into()),
                timestamp: now,
                properties: None,
            };
            state::EVENTS.append(tx, &part, &stack.stack_id, now.timestamp_millis(), &event)?;
            STACKS.put(tx, &part, &key, &stack)?;
            n += 1;
        }
        Ok::<_, mamori_store::StoreError>(n)
    })
    .map_err(db)
}

/// The context providers act in: the stack caller's, marked as invoked by CloudFormation.
pub fn provider_context(caller: &Context) -> Context {
    caller.on_behalf("cloudformation.amazonaws.com")
}

#[cfg(test)]
mod tests {
    use super::*;
    use mamori_template::{DefaultAttributes, Template};

    #[test]
    fn levels_follow_dependencies_both_ways() {
        let t = Template::parse(
            "Resources:\n  G: {Type: AWS::Logs::LogGroup}\n  F: {Type: AWS::Logs::MetricFilter, Properties: {LogGroupName: !Ref G}}\n  T: {Type: AWS::SNS::Topic}\n  P: {Type: AWS::SNS::TopicPolicy, Properties: {Topics: [!Ref T]}}\n  A: {Type: AWS::SNS::Topic, DependsOn: P}\n",
        )
        .unwrap();
        let graph = t.validate(&DefaultAttributes).unwrap();
        let order = graph.creation_order().to_vec();
        assert_eq!(creation_levels(&graph, &order), [vec!["G", "T"], vec!["F", "P"], vec!["A"]]);
        let del = graph.deletion_order();
        assert_eq!(deletion_levels(&graph, &del), [vec!["A", "F"], vec!["P", "G"], vec!["T"]]);
    }
}
