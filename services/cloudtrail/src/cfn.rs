//! CloudFormation resource provider for `AWS::CloudTrail::Trail`, following
//! <https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-cloudtrail-trail.html>.
//!
//! `CreateTrail`, then `PutEventSelectors` and `StartLogging` as the properties ask, each
//! through the dispatcher with the stack caller's context.

use std::collections::BTreeMap;

use mamori_aws::AwsError;
use mamori_service::{
    Context, ResourceProvider, ResourceRequest, ResourceState, async_trait, generated_name,
    missing_property, prop_bool, prop_str,
};
use serde_json::{Map, Value, json};

/// The CloudTrail resource provider.
#[derive(Debug, Default)]
pub struct CloudTrailProvider;

/// Trail properties passed as strings.
const STRINGS: &[&str] = &[
    "S3BucketName",
    "S3KeyPrefix",
    "SnsTopicName",
    "CloudWatchLogsLogGroupArn",
    "CloudWatchLogsRoleArn",
    "KmsKeyId",
];
/// Trail properties passed as booleans.
const BOOLEANS: &[&str] = &[
    "IncludeGlobalServiceEvents",
    "IsMultiRegionTrail",
    "EnableLogFileValidation",
    "IsOrganizationTrail",
];

#[async_trait]
impl ResourceProvider for CloudTrailProvider {
    fn types(&self) -> &'static [&'static str] {
        &["AWS::CloudTrail::Trail"]
    }

    fn replacement_properties(&self, _: &str) -> &'static [&'static str] {
        &["TrailName"]
    }

    fn gaps(&self, _: &str) -> &'static [&'static str] {
        &["Tags changes are not applied to an existing trail", "InsightSelectors are ignored"]
    }

    async fn create(
        &self,
        ctx: &Context,
        req: &ResourceRequest,
    ) -> Result<ResourceState, AwsError> {
        let p = &req.properties;
        if !p.contains_key("S3BucketName") {
            return Err(missing_property(req, "S3BucketName"));
        }
        let name = prop_str(p, "TrailName")
            .unwrap_or_else(|| generated_name(&req.stack_name, &req.logical_id, 128));
        let mut input = trail_input(&name, p);
        if let Some(tags) = p.get("Tags") {
            input["TagsList"] = tags.clone();
        }
        let out = call(ctx, "CreateTrail", input).await?;
        if let Err(e) = configure(ctx, &name, p, None).await {
            let _ = call(ctx, "DeleteTrail", json!({"Name": name})).await;
            return Err(e);
        }
        Ok(state(name, &out))
    }

    async fn update(
        &self,
        ctx: &Context,
        req: &ResourceRequest,
        old: &Map<String, Value>,
        previous: &ResourceState,
    ) -> Result<ResourceState, AwsError> {
        let name = &previous.physical_id;
        let out = call(ctx, "UpdateTrail", trail_input(name, &req.properties)).await?;
        configure(ctx, name, &req.properties, Some(old)).await?;
        // GAP: Tags changes are not applied to an existing trail.
        Ok(state(name.clone(), &out))
    }

    async fn delete(
        &self,
        ctx: &Context,
        _: &ResourceRequest,
        state: &ResourceState,
    ) -> Result<(), AwsError> {
        match call(ctx, "DeleteTrail", json!({"Name": state.physical_id})).await {
            Err(e) if e.code == "TrailNotFoundException" => Ok(()),
            other => other.map(|_| ()),
        }
    }
}

async fn call(ctx: &Context, op: &str, input: Value) -> Result<Value, AwsError> {
    ctx.dispatcher.call(ctx, "cloudtrail", op, input).await
}

fn trail_input(name: &str, p: &Map<String, Value>) -> Value {
    let mut input = json!({"Name": name});
    for k in STRINGS {
        if let Some(v) = prop_str(p, k) {
            input[*k] = json!(v);
        }
    }
    for k in BOOLEANS {
        if let Some(v) = prop_bool(p, k) {
            input[*k] = json!(v);
        }
    }
    input
}

/// Event selectors and logging, on create (`old` none) or when they changed.
async fn configure(
    ctx: &Context,
    name: &str,
    p: &Map<String, Value>,
    old: Option<&Map<String, Value>>,
) -> Result<(), AwsError> {
    let changed = |k: &str| old.is_none_or(|o| o.get(k) != p.get(k));
    if changed("EventSelectors") && p.contains_key("EventSelectors") {
        let selectors = event_selectors(p.get("EventSelectors"));
        call(ctx, "PutEventSelectors", json!({"TrailName": name, "EventSelectors": selectors}))
            .await?;
    }
    if changed("AdvancedEventSelectors") && p.contains_key("AdvancedEventSelectors") {
        let input =
            json!({"TrailName": name, "AdvancedEventSelectors": p["AdvancedEventSelectors"]});
        call(ctx, "PutEventSelectors", input).await?;
    }
    if changed("IsLogging") {
        let op =
            if prop_bool(p, "IsLogging") == Some(true) { "StartLogging" } else { "StopLogging" };
        if old.is_some() || op == "StartLogging" {
            call(ctx, op, json!({"Name": name})).await?;
        }
    }
    Ok(())
}

/// Event selectors with their booleans coerced (`IncludeManagementEvents: 'true'`).
fn event_selectors(v: Option<&Value>) -> Vec<Value> {
    let mut res = Vec::new();
    for s in v.and_then(Value::as_array).into_iter().flatten() {
        let Some(s) = s.as_object() else { continue };
        let mut out = s.clone();
        if let Some(b) = prop_bool(s, "IncludeManagementEvents") {
            out.insert("IncludeManagementEvents".into(), json!(b));
        }
        res.push(Value::Object(out));
    }
    res
}

fn state(name: String, out: &Value) -> ResourceState {
    let mut attributes = BTreeMap::new();
    attributes.insert("Arn".into(), out.get("TrailARN").cloned().unwrap_or_default());
    if let Some(t) = out.get("SnsTopicARN") {
        attributes.insert("SnsTopicArn".into(), t.clone());
    }
    ResourceState { physical_id: name, attributes }
}
