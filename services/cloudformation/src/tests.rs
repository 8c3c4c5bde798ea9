//! Service tests: the engine against a fake resource provider, an in-memory store and
//! no HTTP. Each test pins one behaviour of the stack lifecycle.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use mamori_aws::{AccountId, AwsError, Region};
use mamori_service::{
    Context, Dispatcher, OpSpec, Principal, RealClock, ResourceProvider, ResourceRequest,
    ResourceState, RootCredentials, Service, async_trait,
};
use mamori_store::Store;
use serde_json::{Map, Value, json};

use crate::CloudFormation;
use crate::state::{STACKS, Stack, StackResource};

/// Records every provider call as `verb logical-id`; fails a create whose properties say
/// `Fail: true`. `Name` needs a replacement.
#[derive(Default)]
struct Fake {
    calls: Arc<Mutex<Vec<String>>>,
}

struct FakeProvider {
    calls: Arc<Mutex<Vec<String>>>,
}

#[async_trait]
impl Service for Fake {
    fn model_id(&self) -> &'static str {
        "fake"
    }
    fn operations(&self) -> &'static [OpSpec] {
        &[OpSpec { name: "Touch", gaps: &[] }]
    }
    async fn call(&self, _: &Context, _: &str, input: Value) -> Result<Value, AwsError> {
        Ok(input)
    }
    fn resource_providers(&self) -> Vec<Arc<dyn ResourceProvider>> {
        vec![Arc::new(FakeProvider { calls: self.calls.clone() })]
    }
}

impl FakeProvider {
    fn log(&self, verb: &str, req: &ResourceRequest) {
        self.calls.lock().unwrap().push(format!("{verb} {}", req.logical_id));
    }
}

#[async_trait]
impl ResourceProvider for FakeProvider {
    fn types(&self) -> &'static [&'static str] {
        &["Test::Fake::Thing"]
    }
    fn replacement_properties(&self, _: &str) -> &'static [&'static str] {
        &["Name"]
    }
    async fn create(
        &self,
        ctx: &Context,
        req: &ResourceRequest,
    ) -> Result<ResourceState, AwsError> {
        assert_eq!(ctx.invoked_by.as_deref(), Some("cloudformation.amazonaws.com"));
        self.log("create", req);
        if req.properties.get("Fail") == Some(&json!(true)) {
            return Err(AwsError::new("InvalidParameterValue", "the fake refuses"));
        }
        let out = ctx.dispatcher.call(ctx, "fake", "Touch", json!({"id": req.logical_id})).await?;
        let name = req.properties.get("Name").and_then(Value::as_str).unwrap_or("thing");
        Ok(ResourceState {
            physical_id: format!("{}-{name}", out["id"].as_str().unwrap_or_default()),
            attributes: [("Arn".to_owned(), json!(format!("arn:fake:{name}")))].into(),
        })
    }
    async fn update(
        &self,
        _: &Context,
        req: &ResourceRequest,
        _: &Map<String, Value>,
        previous: &ResourceState,
    ) -> Result<ResourceState, AwsError> {
        self.log("update", req);
        if req.properties.get("Fail") == Some(&json!(true)) {
            return Err(AwsError::new("InvalidParameterValue", "the fake refuses"));
        }
        Ok(previous.clone())
    }
    async fn delete(
        &self,
        _: &Context,
        req: &ResourceRequest,
        state: &ResourceState,
    ) -> Result<(), AwsError> {
        self.calls.lock().unwrap().push(format!("delete {}", state.physical_id));
        let _ = req;
        Ok(())
    }
}

struct Harness {
    cfn: CloudFormation,
    ctx: Context,
    calls: Arc<Mutex<Vec<String>>>,
}

fn harness() -> Harness {
    let fake = Fake::default();
    let calls = fake.calls.clone();
    let account = AccountId::parse("000000000000").unwrap();
    let creds = RootCredentials {
        access_key_id: "test".into(),
        secret: "test".into(),
        account: account.clone(),
    };
    let dispatcher = Dispatcher::new(
        vec![Arc::new(CloudFormation), Arc::new(fake)],
        Arc::new(creds),
        Arc::new(RealClock),
        Store::in_memory().unwrap(),
    );
    let ctx = Context::internal(
        dispatcher,
        Principal::root(account.clone()),
        account,
        Region::parse("us-east-1").unwrap(),
    );
    Harness { cfn: CloudFormation, ctx, calls }
}

impl Harness {
    async fn call(&self, op: &str, input: Value) -> Result<Value, AwsError> {
        self.cfn.call(&self.ctx, op, input).await
    }

    /// Waits for the stack to leave `*_IN_PROGRESS` and returns it.
    async fn settle(&self, name: &str) -> Value {
        for _ in 0..500 {
            let out = self.call("DescribeStacks", json!({"StackName": name})).await.unwrap();
            let stack = out["Stacks"][0].clone();
            if !stack["StackStatus"].as_str().unwrap().ends_with("_IN_PROGRESS") {
                return stack;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        panic!("stack {name} did not settle");
    }

    async fn statuses(&self, name: &str) -> Vec<(String, String)> {
        let out = self.call("DescribeStackEvents", json!({"StackName": name})).await.unwrap();
        let mut res: Vec<(String, String)> = out["StackEvents"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| {
                (
                    e["LogicalResourceId"].as_str().unwrap().to_owned(),
                    e["ResourceStatus"].as_str().unwrap().to_owned(),
                )
            })
            .collect();
        res.reverse();
        res
    }

    fn calls(&self) -> Vec<String> {
        self.calls.lock().unwrap().clone()
    }
}

const CHAIN: &str = "
Resources:
  A: {Type: Test::Fake::Thing, Properties: {Name: a}}
  B: {Type: Test::Fake::Thing, Properties: {Name: !GetAtt A.Arn}}
  C: {Type: Test::Fake::Thing, DependsOn: B, Properties: {Fail: true}}
";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_create_rolls_back_in_reverse_order() {
    let h = harness();
    h.call("CreateStack", json!({"StackName": "s", "TemplateBody": CHAIN})).await.unwrap();
    let stack = h.settle("s").await;
    assert_eq!(stack["StackStatus"], "ROLLBACK_COMPLETE");
    assert_eq!(
        h.calls(),
        ["create A", "create B", "create C", "delete B-arn:fake:a", "delete A-a"]
    );
    let s = |id: &str, st: &str| (id.to_owned(), st.to_owned());
    assert_eq!(
        h.statuses("s").await,
        [
            s("s", "CREATE_IN_PROGRESS"),
            s("A", "CREATE_IN_PROGRESS"),
            s("A", "CREATE_COMPLETE"),
            s("B", "CREATE_IN_PROGRESS"),
            s("B", "CREATE_COMPLETE"),
            s("C", "CREATE_IN_PROGRESS"),
            s("C", "CREATE_FAILED"),
            s("s", "ROLLBACK_IN_PROGRESS"),
            s("B", "DELETE_IN_PROGRESS"),
            s("B", "DELETE_COMPLETE"),
            s("A", "DELETE_IN_PROGRESS"),
            s("A", "DELETE_COMPLETE"),
            s("s", "ROLLBACK_COMPLETE"),
        ]
    );
    let events = h.call("DescribeStackEvents", json!({"StackName": "s"})).await.unwrap();
    let failed = events["StackEvents"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["ResourceStatus"] == "CREATE_FAILED")
        .cloned()
        .unwrap();
    assert_eq!(
        failed["ResourceStatusReason"],
        "Resource handler returned message: \"the fake refuses\" (HandlerErrorCode: InvalidParameterValue)"
    );
    // A stack in ROLLBACK_COMPLETE cannot be updated, only deleted.
    let err =
        h.call("UpdateStack", json!({"StackName": "s", "TemplateBody": CHAIN})).await.unwrap_err();
    assert_eq!(err.code, "ValidationError");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delete_skips_retained_resources_and_deletes_dependents_first() {
    let h = harness();
    let body = "
Resources:
  Keep: {Type: Test::Fake::Thing, DeletionPolicy: Retain, Properties: {Name: keep}}
  Dep: {Type: Test::Fake::Thing, Properties: {Name: !Ref Keep}}
  Other: {Type: Test::Fake::Thing, DependsOn: Dep}
";
    h.call("CreateStack", json!({"StackName": "r", "TemplateBody": body})).await.unwrap();
    assert_eq!(h.settle("r").await["StackStatus"], "CREATE_COMPLETE");
    let id =
        h.call("DescribeStacks", json!({"StackName": "r"})).await.unwrap()["Stacks"][0]["StackId"]
            .as_str()
            .unwrap()
            .to_owned();
    h.call("DeleteStack", json!({"StackName": "r"})).await.unwrap();
    assert_eq!(h.settle(&id).await["StackStatus"], "DELETE_COMPLETE");
    let deletes: Vec<String> = h.calls().into_iter().filter(|c| c.starts_with("delete")).collect();
    assert_eq!(deletes, ["delete Other-thing", "delete Dep-Keep-keep"]);
    assert!(h.statuses(&id).await.contains(&("Keep".to_owned(), "DELETE_SKIPPED".to_owned())));
    // Deleting a stack that is gone succeeds, as in AWS.
    h.call("DeleteStack", json!({"StackName": "r"})).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_update_replaces_what_needs_it_and_a_failed_one_rolls_back() {
    let h = harness();
    let v1 = "Resources:\n  A: {Type: Test::Fake::Thing, Properties: {Name: one, Size: 1}}\n";
    h.call("CreateStack", json!({"StackName": "u", "TemplateBody": v1})).await.unwrap();
    h.settle("u").await;
    // Size changes in place.
    let v2 = v1.replace("Size: 1", "Size: 2");
    h.call("UpdateStack", json!({"StackName": "u", "TemplateBody": v2})).await.unwrap();
    assert_eq!(h.settle("u").await["StackStatus"], "UPDATE_COMPLETE");
    // Name needs a new physical resource; the old one goes in the cleanup.
    let v3 = v2.replace("Name: one", "Name: two");
    h.call("UpdateStack", json!({"StackName": "u", "TemplateBody": v3})).await.unwrap();
    assert_eq!(h.settle("u").await["StackStatus"], "UPDATE_COMPLETE");
    assert_eq!(h.calls(), ["create A", "update A", "create A", "delete A-one"]);
    // A failing in-place update is undone with the previous properties.
    let v4 = v3.replace("Size: 2", "Size: 3, Fail: true");
    h.call("UpdateStack", json!({"StackName": "u", "TemplateBody": v4})).await.unwrap();
    assert_eq!(h.settle("u").await["StackStatus"], "UPDATE_ROLLBACK_COMPLETE");
    let res = h
        .call("DescribeStackResource", json!({"StackName": "u", "LogicalResourceId": "A"}))
        .await
        .unwrap();
    assert_eq!(res["StackResourceDetail"]["PhysicalResourceId"], "A-two");
    let template = h.call("GetTemplate", json!({"StackName": "u"})).await.unwrap();
    assert_eq!(template["TemplateBody"], v3.as_str());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stack_left_in_progress_by_a_crash_is_marked_failed() {
    let h = harness();
    let part = h.ctx.partition();
    let now = h.ctx.time;
    let mut resources = std::collections::BTreeMap::new();
    resources.insert(
        "A".to_owned(),
        StackResource {
            logical_id: "A".into(),
            type_name: "Test::Fake::Thing".into(),
            status: "CREATE_IN_PROGRESS".into(),
            status_reason: None,
            updated: now,
            state: None,
            properties: Map::new(),
            deletion_policy: "Delete".into(),
            update_replace_policy: "Delete".into(),
            description: None,
            metadata: None,
        },
    );
    let stack = Stack {
        stack_id: "arn:aws:cloudformation:us-east-1:000000000000:stack/c/1".into(),
        stack_name: "c".into(),
        description: None,
        status: "CREATE_IN_PROGRESS".into(),
        status_reason: None,
        creation_time: now,
        last_updated_time: None,
        deletion_time: None,
        template_body: "Resources:\n  A: {Type: Test::Fake::Thing}\n".into(),
        given: Default::default(),
        parameters: Vec::new(),
        no_echo: Vec::new(),
        tags: Vec::new(),
        capabilities: Vec::new(),
        notification_arns: Vec::new(),
        disable_rollback: false,
        on_failure_delete: false,
        termination_protection: false,
        outputs: Vec::new(),
        resources,
        change_set_id: None,
    };
    let store = h.ctx.dispatcher.store();
    store.write(|tx| STACKS.put(tx, &part, &stack.stack_id, &stack)).unwrap();
    assert_eq!(crate::recover(&h.ctx.dispatcher).unwrap(), 1);
    let got = h.call("DescribeStacks", json!({"StackName": "c"})).await.unwrap();
    assert_eq!(got["Stacks"][0]["StackStatus"], "CREATE_FAILED");
    let res = h.call("ListStackResources", json!({"StackName": "c"})).await.unwrap();
    assert_eq!(res["StackResourceSummaries"][0]["ResourceStatus"], "CREATE_FAILED");
    assert_eq!(crate::recover(&h.ctx.dispatcher).unwrap(), 0);
    // The failed stack can be deleted.
    h.call("DeleteStack", json!({"StackName": "c"})).await.unwrap();
    let id = stack.stack_id.clone();
    assert_eq!(h.settle(&id).await["StackStatus"], "DELETE_COMPLETE");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_types_fail_the_resource_naming_the_type() {
    let h = harness();
    let body = "Resources:\n  V: {Type: AWS::EC2::VPC}\n";
    h.call("CreateStack", json!({"StackName": "v", "TemplateBody": body})).await.unwrap();
    let stack = h.settle("v").await;
    assert_eq!(stack["StackStatus"], "ROLLBACK_COMPLETE");
    assert_eq!(
        stack["StackStatusReason"],
        "The following resource(s) failed to create: [V]. Rollback requested by user."
    );
    let res = h.call("DescribeStackResources", json!({"StackName": "v"})).await.unwrap();
    assert_eq!(
        res["StackResources"][0]["ResourceStatusReason"],
        "Resource type AWS::EC2::VPC is not supported by mamori: no service provides it"
    );
}
