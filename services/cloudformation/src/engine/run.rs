//! One stack operation in progress: create, update or delete, with rollback, following
//! <https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/stack-failure-options.html>
//! and <https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/using-cfn-updating-stacks-update-behaviors.html>.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use chrono::{DateTime, Utc};
use mamori_aws::AwsError;
use mamori_service::{Context, ResourceProvider, ResourceRequest, ResourceState};
use mamori_template::{
    DeletionPolicy, Evaluator, Graph, MapResolver, ParameterValues, PseudoParameters, Template,
};
use serde_json::{Map, Value};
use tokio::task::JoinSet;

use super::{creation_levels, deletion_levels};
use crate::state::{EVENTS, STACKS, Stack, StackEvent, StackOutput, StackResource};

/// A stack operation's working state.
pub struct Run {
    /// The context providers act in (the caller, invoked by CloudFormation).
    pub ctx: Context,
    /// The store partition.
    pub part: String,
    /// The stack as it is being changed.
    pub stack: Stack,
    /// The template being deployed.
    pub template: Template,
    /// Its parameter values.
    pub values: ParameterValues,
    /// Its pseudo parameters.
    pub pseudo: PseudoParameters,
    /// Physical ids and attributes known so far, and the exports of other stacks.
    pub resolver: MapResolver,
    /// Exports of other stacks: name -> exporting stack id.
    pub other_exports: BTreeMap<String, String>,
    events: Vec<StackEvent>,
}

/// What a deployment step did, to undo it on rollback.
enum Done {
    Added(String),
    Modified(String, Box<StackResource>),
    Replaced(String, Box<StackResource>),
}

/// What a provider is asked to do.
enum Op {
    Create,
    Update { old: Map<String, Value>, previous: ResourceState },
    Delete { state: ResourceState },
}

struct Job {
    id: String,
    provider: Arc<dyn ResourceProvider>,
    req: ResourceRequest,
    op: Op,
}

type JobResult = (String, Result<Option<ResourceState>, AwsError>);

const STACK_TYPE: &str = "AWS::CloudFormation::Stack";

impl Run {
    /// A run over `stack`, whose resources' states seed the resolver.
    pub fn new(
        ctx: Context,
        part: String,
        stack: Stack,
        template: Template,
        values: ParameterValues,
        pseudo: PseudoParameters,
        exports: Vec<(String, String, String)>,
    ) -> Self {
        let mut resolver = MapResolver::default();
        let mut other_exports = BTreeMap::new();
        for (name, value, stack_id) in exports {
            if stack_id != stack.stack_id {
                resolver.exports.insert(name.clone(), Value::String(value));
                other_exports.insert(name, stack_id);
            }
        }
        for r in stack.resources.values() {
            if let Some(state) = &r.state {
                learn(&mut resolver, &r.logical_id, state);
            }
        }
        Self {
            ctx,
            part,
            stack,
            template,
            values,
            pseudo,
            resolver,
            other_exports,
            events: Vec::new(),
        }
    }

    fn now(&self) -> DateTime<Utc> {
        self.ctx.dispatcher.clock().now()
    }

    fn stack_status(&mut self, status: &str, reason: Option<String>) {
        let now = self.now();
        self.stack.status = status.into();
        self.stack.status_reason = reason.clone();
        tracing::info!(stack = %self.stack.stack_name, status, reason = reason.as_deref().unwrap_or(""), "stack status");
        self.events.push(StackEvent {
            event_id: uuid::Uuid::new_v4().to_string(),
            logical_id: self.stack.stack_name.clone(),
            physical_id: Some(self.stack.stack_id.clone()),
            type_name: STACK_TYPE.into(),
            status: status.into(),
            reason,
            timestamp: now,
            properties: None,
        });
    }

    /// Sets a resource's status (creating its record if new) and writes its event.
    fn resource_status(
        &mut self,
        id: &str,
        status: &str,
        reason: Option<String>,
        properties: Option<&Map<String, Value>>,
    ) {
        let now = self.now();
        let Some(r) = self.stack.resources.get_mut(id) else { return };
        r.status = status.into();
        r.status_reason = reason.clone();
        r.updated = now;
        let event = StackEvent {
            event_id: format!("{id}-{}", uuid::Uuid::new_v4()),
            logical_id: id.into(),
            physical_id: r.physical_id().map(str::to_owned),
            type_name: r.type_name.clone(),
            status: status.into(),
            reason,
            timestamp: now,
            properties: properties.map(|p| Value::Object(p.clone()).to_string()),
        };
        if status.ends_with("_FAILED") {
            tracing::warn!(stack = %self.stack.stack_name, resource = id, status, reason = event.reason.as_deref().unwrap_or(""), "resource failed");
        }
        self.events.push(event);
    }

    /// Writes the stack and the events since the last commit in one transaction.
    fn commit(&mut self) {
        let events = std::mem::take(&mut self.events);
        let (part, stack) = (&self.part, &self.stack);
        let res = self.ctx.dispatcher.store().write(|tx| {
            for e in &events {
                EVENTS.append(tx, part, &stack.stack_id, e.timestamp.timestamp_millis(), e)?;
            }
            STACKS.put(tx, part, &stack.stack_id, stack)
        });
        if let Err(e) = res {
            tracing::error!(stack = %self.stack.stack_name, error = %e, "writing the stack failed");
        }
    }

    fn request(
        &self,
        id: &str,
        type_name: &str,
        properties: Map<String, Value>,
    ) -> ResourceRequest {
        ResourceRequest {
            type_name: type_name.into(),
            logical_id: id.into(),
            stack_name: self.stack.stack_name.clone(),
            properties,
        }
    }

    fn provider(&self, type_name: &str) -> Result<Arc<dyn ResourceProvider>, String> {
        self.ctx.dispatcher.resource_provider(type_name).ok_or_else(|| {
            format!("Resource type {type_name} is not supported by mamori: no service provides it")
        })
    }

    fn new_record(&self, id: &str) -> StackResource {
        let res = &self.template.resources[id];
        StackResource {
            logical_id: id.into(),
            type_name: res.resource_type.clone(),
            status: String::new(),
            status_reason: None,
            updated: self.now(),
            state: None,
            properties: Map::new(),
            deletion_policy: policy_name(res.deletion_policy).into(),
            update_replace_policy: policy_name(res.update_replace_policy).into(),
            description: None,
            metadata: res.metadata.clone(),
        }
    }
}

/// Runs `CreateStack` (or a `CREATE` change set) to its end.
pub async fn create(mut run: Run, graph: Graph) {
    // The handler stored the stack in progress; this event is written with the first
    // level's, which saves a synchronous write.
    run.stack_status("CREATE_IN_PROGRESS", Some("User Initiated".into()));
    let failure = match deploy(&mut run, &graph).await {
        Ok(_) => match outputs(&run) {
            Ok(outputs) => {
                run.stack.outputs = outputs;
                run.stack_status("CREATE_COMPLETE", None);
                run.commit();
                return;
            }
            Err(reason) => reason,
        },
        Err((reason, _)) => reason,
    };
    if run.stack.disable_rollback {
        run.stack_status("CREATE_FAILED", Some(failure));
        run.commit();
        return;
    }
    let (going, done, failed) = if run.stack.on_failure_delete {
        ("DELETE_IN_PROGRESS", "DELETE_COMPLETE", "DELETE_FAILED")
    } else {
        ("ROLLBACK_IN_PROGRESS", "ROLLBACK_COMPLETE", "ROLLBACK_FAILED")
    };
    run.stack_status(going, Some(format!("{failure}Rollback requested by user.")));
    run.commit();
    let ids: Vec<String> = graph
        .deletion_order()
        .into_iter()
        .filter(|id| run.stack.resources.get(id).is_some_and(|r| r.state.is_some()))
        .collect();
    let failures = delete_resources(&mut run, &graph, &ids, true).await;
    if failures.is_empty() {
        if done == "DELETE_COMPLETE" {
            run.stack.deletion_time = Some(run.now());
        }
        run.stack_status(done, None);
        // The stack keeps saying why it was rolled back; the event carries no reason.
        run.stack.status_reason = Some(format!("{failure}Rollback requested by user."));
    } else {
        run.stack_status(failed, Some(failed_to("delete", &failures)));
    }
    run.commit();
}

/// Runs `DeleteStack` to its end.
pub async fn delete(mut run: Run, graph: Graph) {
    run.stack_status("DELETE_IN_PROGRESS", Some("User Initiated".into()));
    run.commit();
    let ids: Vec<String> = graph
        .deletion_order()
        .into_iter()
        .filter(|id| run.stack.resources.get(id).is_some_and(|r| r.status != "DELETE_COMPLETE"))
        .collect();
    let failures = delete_resources(&mut run, &graph, &ids, false).await;
    if failures.is_empty() {
        run.stack.deletion_time = Some(run.now());
        run.stack_status("DELETE_COMPLETE", None);
    } else {
        run.stack_status("DELETE_FAILED", Some(failed_to("delete", &failures)));
    }
    run.commit();
}

/// Runs `UpdateStack` (or an `UPDATE` change set) to its end; `old` is the stack before.
pub async fn update(mut run: Run, graph: Graph, old: Stack) {
    run.stack.last_updated_time = Some(run.now());
    run.stack_status("UPDATE_IN_PROGRESS", Some("User Initiated".into()));
    let result = match deploy(&mut run, &graph).await {
        Ok(done) => match outputs(&run) {
            Ok(outputs) => Ok((done, outputs)),
            Err(reason) => Err((reason, done)),
        },
        Err(e) => Err(e),
    };
    match result {
        Ok((done, outputs)) => {
            run.stack.outputs = outputs;
            run.stack_status("UPDATE_COMPLETE_CLEANUP_IN_PROGRESS", None);
            run.commit();
            cleanup(&mut run, &graph, &old, done).await;
            run.stack_status("UPDATE_COMPLETE", None);
        }
        Err((reason, done)) => {
            run.stack_status("UPDATE_ROLLBACK_IN_PROGRESS", Some(reason));
            run.commit();
            roll_back_update(&mut run, &old, done).await;
            run.stack_status("UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS", None);
            run.stack_status("UPDATE_ROLLBACK_COMPLETE", None);
        }
    }
    run.commit();
}

/// Creates or changes every resource of the template, level by level. On failure,
/// returns the stack's failure reason and what was done so far.
async fn deploy(run: &mut Run, graph: &Graph) -> Result<Vec<Done>, (String, Vec<Done>)> {
    let mut done = Vec::new();
    let ids: Vec<String> = {
        let eval = Evaluator::new(&run.template, &run.values, &run.pseudo, &run.resolver)
            .map_err(|e| (e.message, Vec::new()))?;
        graph.creation_order().iter().filter(|id| eval.is_created(id)).cloned().collect()
    };
    let levels = creation_levels(graph, &ids);
    let n_levels = levels.len();
    for (level_idx, level) in levels.into_iter().enumerate() {
        let mut jobs = Vec::new();
        let mut failed = Vec::new();
        let mut adds = BTreeSet::new();
        let mut planned: Vec<(String, Map<String, Value>, &'static str)> = Vec::new();
        {
            let eval = Evaluator::new(&run.template, &run.values, &run.pseudo, &run.resolver)
                .map_err(|e| (e.message.clone(), Vec::new()))?;
            for id in &level {
                let type_name = run.template.resources[id].resource_type.clone();
                let old = run
                    .stack
                    .resources
                    .get(id)
                    .filter(|r| r.state.is_some() && r.type_name == type_name);
                let props = match eval.resolve_properties(id) {
                    Ok(Some(Value::Object(m))) => Ok(m),
                    Ok(None) => Ok(Map::new()),
                    Ok(Some(_)) => Err(format!("Properties of {id} must be an object")),
                    Err(e) => Err(e.message),
                };
                let provider = props.and_then(|p| run.provider(&type_name).map(|pr| (p, pr)));
                let (props, provider) = match provider {
                    Ok(x) => x,
                    Err(reason) => {
                        failed.push((id.clone(), old.is_none(), reason));
                        continue;
                    }
                };
                let req = run.request(id, &type_name, props.clone());
                match old {
                    Some(old) if old.properties == props => {}
                    Some(old)
                        if provider.requires_replacement(
                            &type_name,
                            &Value::Object(old.properties.clone()),
                            &Value::Object(props.clone()),
                        ) =>
                    {
                        planned.push((id.clone(), props, "replace"));
                        jobs.push(Job { id: id.clone(), provider, req, op: Op::Create });
                    }
                    Some(old) => {
                        let op = Op::Update {
                            old: old.properties.clone(),
                            previous: old.state.clone().unwrap_or_default(),
                        };
                        planned.push((id.clone(), props, "modify"));
                        jobs.push(Job { id: id.clone(), provider, req, op });
                    }
                    None => {
                        adds.insert(id.clone());
                        planned.push((id.clone(), props, "add"));
                        jobs.push(Job { id: id.clone(), provider, req, op: Op::Create });
                    }
                }
            }
        }
        let mut before: BTreeMap<String, StackResource> = BTreeMap::new();
        for (id, props, kind) in &planned {
            if *kind == "add" {
                let rec = run.new_record(id);
                run.stack.resources.insert(id.clone(), rec);
                run.resource_status(id, "CREATE_IN_PROGRESS", None, Some(props));
            } else {
                if let Some(r) = run.stack.resources.get(id) {
                    before.insert(id.clone(), r.clone());
                }
                let reason = (*kind == "replace").then(|| {
                    "Requested update requires the creation of a new physical resource; hence creating one.".to_owned()
                });
                run.resource_status(id, "UPDATE_IN_PROGRESS", reason, Some(props));
            }
        }
        let mut failed_ids = Vec::new();
        for (id, is_add, reason) in failed {
            if is_add && !run.stack.resources.contains_key(&id) {
                let rec = run.new_record(&id);
                run.stack.resources.insert(id.clone(), rec);
            }
            let status = if is_add { "CREATE_FAILED" } else { "UPDATE_FAILED" };
            run.resource_status(&id, status, Some(reason), None);
            failed_ids.push(id);
        }
        run.commit();
        let props: BTreeMap<String, Map<String, Value>> =
            planned.iter().map(|(id, p, _)| (id.clone(), p.clone())).collect();
        for (id, result) in execute(&run.ctx, jobs).await {
            let add = adds.contains(&id);
            match result {
                Ok(state) => {
                    let state = state.unwrap_or_default();
                    learn(&mut run.resolver, &id, &state);
                    if let Some(r) = run.stack.resources.get_mut(&id) {
                        r.state = Some(state);
                        r.properties = props.get(&id).cloned().unwrap_or_default();
                    }
                    let status = if add { "CREATE_COMPLETE" } else { "UPDATE_COMPLETE" };
                    run.resource_status(&id, status, None, None);
                    let kind = planned.iter().find(|p| p.0 == id).map_or("add", |p| p.2);
                    done.push(match (kind, before.remove(&id)) {
                        ("replace", Some(old)) => Done::Replaced(id, Box::new(old)),
                        ("modify", Some(old)) => Done::Modified(id, Box::new(old)),
                        _ => Done::Added(id),
                    });
                }
                Err(e) => {
                    let status = if add { "CREATE_FAILED" } else { "UPDATE_FAILED" };
                    if let Some(old) = before.get(&id)
                        && let Some(r) = run.stack.resources.get_mut(&id)
                    {
                        // A failed in-place update or replacement leaves the old resource.
                        r.state = old.state.clone();
                    }
                    run.resource_status(&id, status, Some(handler_message(&e)), None);
                    failed_ids.push(id);
                }
            }
        }
        // After the last level the caller writes the outcome at once (no await in between),
        // so its results ride with the stack's final status.
        if !failed_ids.is_empty() || level_idx + 1 < n_levels {
            run.commit();
        }
        if !failed_ids.is_empty() {
            failed_ids.sort();
            let verb = if run.stack.status == "CREATE_IN_PROGRESS" { "create" } else { "update" };
            return Err((failed_to(verb, &failed_ids), done));
        }
    }
    Ok(done)
}

/// Deletes `ids` (in deletion order of `graph`) level by level, honouring each one's
/// `DeletionPolicy`; returns those that failed.
async fn delete_resources(
    run: &mut Run,
    graph: &Graph,
    ids: &[String],
    creating: bool,
) -> Vec<String> {
    let mut failures = Vec::new();
    for level in deletion_levels(graph, ids) {
        let mut jobs = Vec::new();
        for id in &level {
            let Some(r) = run.stack.resources.get(id) else { continue };
            let retain = match r.deletion_policy.as_str() {
                "Retain" => true,
                "RetainExceptOnCreate" => !creating,
                _ => false,
            };
            let Some(state) = r.state.clone() else {
                run.resource_status(id, "DELETE_COMPLETE", None, None);
                continue;
            };
            if retain {
                run.resource_status(id, "DELETE_SKIPPED", None, None);
                continue;
            }
            let provider = match run.provider(&r.type_name) {
                Ok(p) => p,
                Err(reason) => {
                    run.resource_status(id, "DELETE_FAILED", Some(reason), None);
                    failures.push(id.clone());
                    continue;
                }
            };
            let req = run.request(id, &r.type_name, r.properties.clone());
            run.resource_status(id, "DELETE_IN_PROGRESS", None, None);
            jobs.push(Job { id: id.clone(), provider, req, op: Op::Delete { state } });
        }
        run.commit();
        for (id, result) in execute(&run.ctx, jobs).await {
            match result {
                Ok(_) => run.resource_status(&id, "DELETE_COMPLETE", None, None),
                Err(e) => {
                    run.resource_status(&id, "DELETE_FAILED", Some(handler_message(&e)), None);
                    failures.push(id);
                }
            }
        }
        run.commit();
    }
    failures.sort();
    failures
}

/// After a successful update: deletes replaced physical resources and the resources the
/// new template no longer has.
async fn cleanup(run: &mut Run, graph: &Graph, old: &Stack, done: Vec<Done>) {
    let _ = graph;
    for d in done {
        let Done::Replaced(id, old_rec) = d else { continue };
        let Some(state) = old_rec.state.clone() else { continue };
        if old_rec.update_replace_policy == "Retain" {
            continue;
        }
        let Ok(provider) = run.provider(&old_rec.type_name) else { continue };
        let req = run.request(&id, &old_rec.type_name, old_rec.properties.clone());
        if let Err(e) = provider.delete(&run.ctx, &req, &state).await {
            tracing::warn!(stack = %run.stack.stack_name, resource = %id, physical_id = %state.physical_id, error = %e.message, "deleting a replaced resource failed");
        }
    }
    let created: BTreeSet<String> = {
        match Evaluator::new(&run.template, &run.values, &run.pseudo, &run.resolver) {
            Ok(eval) => {
                run.template.resources.keys().filter(|id| eval.is_created(id)).cloned().collect()
            }
            Err(_) => run.template.resources.keys().cloned().collect(),
        }
    };
    let removed: Vec<String> =
        run.stack.resources.keys().filter(|id| !created.contains(*id)).cloned().collect();
    if removed.is_empty() {
        return;
    }
    let old_graph = Template::parse(&old.template_body)
        .ok()
        .and_then(|t| t.validate(&mamori_template::DefaultAttributes).ok());
    let ordered: Vec<String> = match &old_graph {
        Some(g) => g.deletion_order().into_iter().filter(|id| removed.contains(id)).collect(),
        None => removed.clone(),
    };
    let failures = match &old_graph {
        Some(g) => delete_resources(run, g, &ordered, false).await,
        None => Vec::new(),
    };
    for id in removed {
        if !failures.contains(&id) {
            run.stack.resources.remove(&id);
        }
    }
}

/// Undoes a failed update's steps in reverse and restores the stack's previous template,
/// parameters and outputs.
async fn roll_back_update(run: &mut Run, old: &Stack, done: Vec<Done>) {
    for d in done.into_iter().rev() {
        match d {
            Done::Added(id) => {
                let Some(r) = run.stack.resources.get(&id).cloned() else { continue };
                if let (Some(state), Ok(provider)) = (r.state.clone(), run.provider(&r.type_name)) {
                    run.resource_status(&id, "DELETE_IN_PROGRESS", None, None);
                    let req = run.request(&id, &r.type_name, r.properties.clone());
                    match provider.delete(&run.ctx, &req, &state).await {
                        Ok(()) => run.resource_status(&id, "DELETE_COMPLETE", None, None),
                        Err(e) => {
                            run.resource_status(
                                &id,
                                "DELETE_FAILED",
                                Some(handler_message(&e)),
                                None,
                            );
                            continue;
                        }
                    }
                }
                run.stack.resources.remove(&id);
            }
            Done::Modified(id, old_rec) => {
                let Some(cur) = run.stack.resources.get(&id).cloned() else { continue };
                let Ok(provider) = run.provider(&cur.type_name) else { continue };
                run.resource_status(&id, "UPDATE_IN_PROGRESS", None, Some(&old_rec.properties));
                let req = run.request(&id, &cur.type_name, old_rec.properties.clone());
                let previous = cur.state.clone().unwrap_or_default();
                match provider.update(&run.ctx, &req, &cur.properties, &previous).await {
                    Ok(state) => {
                        learn(&mut run.resolver, &id, &state);
                        let mut rec = *old_rec;
                        rec.state = Some(state);
                        run.stack.resources.insert(id.clone(), rec);
                        run.resource_status(&id, "UPDATE_COMPLETE", None, None);
                    }
                    Err(e) => {
                        run.resource_status(&id, "UPDATE_FAILED", Some(handler_message(&e)), None)
                    }
                }
            }
            Done::Replaced(id, old_rec) => {
                let Some(cur) = run.stack.resources.get(&id).cloned() else { continue };
                if let (Some(state), Ok(provider)) =
                    (cur.state.clone(), run.provider(&cur.type_name))
                {
                    let req = run.request(&id, &cur.type_name, cur.properties.clone());
                    if let Err(e) = provider.delete(&run.ctx, &req, &state).await {
                        tracing::warn!(resource = %id, error = %e.message, "deleting a replacement failed");
                    }
                }
                run.stack.resources.insert(id.clone(), *old_rec);
                run.resource_status(&id, "UPDATE_COMPLETE", None, None);
            }
        }
        run.commit();
    }
    // Resources whose step failed: an add left nothing, a change left the old resource.
    let failed: Vec<String> = run
        .stack
        .resources
        .iter()
        .filter(|(_, r)| r.status.ends_with("_FAILED"))
        .map(|(id, _)| id.clone())
        .collect();
    for id in failed {
        match old.resources.get(&id) {
            Some(rec) => {
                run.stack.resources.insert(id, rec.clone());
            }
            None => {
                run.stack.resources.remove(&id);
            }
        }
    }
    run.stack.template_body = old.template_body.clone();
    run.stack.given = old.given.clone();
    run.stack.parameters = old.parameters.clone();
    run.stack.no_echo = old.no_echo.clone();
    run.stack.outputs = old.outputs.clone();
    run.stack.description = old.description.clone();
}

/// Runs one level's jobs concurrently, results in the order of `jobs`.
async fn execute(ctx: &Context, jobs: Vec<Job>) -> Vec<JobResult> {
    let order: Vec<String> = jobs.iter().map(|j| j.id.clone()).collect();
    let mut set = JoinSet::new();
    for job in jobs {
        let ctx = ctx.on_behalf("cloudformation.amazonaws.com");
        set.spawn(async move {
            let Job { id, provider, req, op } = job;
            let res = match op {
                Op::Create => provider.create(&ctx, &req).await.map(Some),
                Op::Update { old, previous } => {
                    provider.update(&ctx, &req, &old, &previous).await.map(Some)
                }
                Op::Delete { state } => provider.delete(&ctx, &req, &state).await.map(|()| None),
            };
            (id, res)
        });
    }
    let mut results: BTreeMap<String, Result<Option<ResourceState>, AwsError>> = BTreeMap::new();
    while let Some(joined) = set.join_next().await {
        match joined {
            Ok((id, res)) => {
                results.insert(id, res);
            }
            Err(e) => tracing::error!(error = %e, "a resource provider task panicked"),
        }
    }
    order
        .into_iter()
        .map(|id| {
            let res = results
                .remove(&id)
                .unwrap_or_else(|| Err(AwsError::internal("the resource provider task panicked")));
            (id, res)
        })
        .collect()
}

/// Records a created resource's `Ref` and attributes for the resources after it.
fn learn(resolver: &mut MapResolver, id: &str, state: &ResourceState) {
    resolver.physical_ids.insert(id.to_owned(), Value::String(state.physical_id.clone()));
    for (name, value) in &state.attributes {
        resolver.attributes.insert((id.to_owned(), name.clone()), value.clone());
    }
}

fn policy_name(p: DeletionPolicy) -> &'static str {
    match p {
        DeletionPolicy::Delete => "Delete",
        DeletionPolicy::Retain => "Retain",
        DeletionPolicy::RetainExceptOnCreate => "RetainExceptOnCreate",
        DeletionPolicy::Snapshot => "Snapshot",
    }
}

/// The stack's failure reason, in CloudFormation's words.
fn failed_to(verb: &str, ids: &[String]) -> String {
    format!("The following resource(s) failed to {verb}: [{}]. ", ids.join(", "))
}

/// A resource's failure reason from the service's error, as CloudFormation words it.
fn handler_message(e: &AwsError) -> String {
    format!("Resource handler returned message: \"{}\" (HandlerErrorCode: {})", e.message, e.code)
}

/// Resolves the outputs and checks that no other stack exports the same names.
fn outputs(run: &Run) -> Result<Vec<StackOutput>, String> {
    let eval = Evaluator::new(&run.template, &run.values, &run.pseudo, &run.resolver)
        .map_err(|e| e.message)?;
    let resolved = eval.resolve_outputs().map_err(|e| e.message)?;
    let mut res = Vec::new();
    for o in resolved {
        if let Some(name) = &o.export_name
            && let Some(other) = run.other_exports.get(name)
        {
            return Err(format!("Export with name {name} is already exported by stack {other}. "));
        }
        let value = match &o.value {
            Value::String(s) => s.clone(),
            Value::Array(items) => items
                .iter()
                .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_owned))
                .collect::<Vec<_>>()
                .join(","),
            other => other.to_string(),
        };
        res.push(StackOutput {
            key: o.logical_id,
            value,
            description: o.description,
            export_name: o.export_name,
        });
    }
    Ok(res)
}
