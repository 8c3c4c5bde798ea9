//! CloudFormation resource providers for `AWS::Logs::LogGroup` and
//! `AWS::Logs::MetricFilter`, following
//! <https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-logs-loggroup.html>
//! and <https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-logs-metricfilter.html>.
//!
//! Each acts through this service's own operations on the dispatcher, with the stack
//! caller's context, so validation, authorization and audit are those of a direct call.

use std::collections::BTreeMap;

use mamori_aws::AwsError;
use mamori_service::{
    Context, ResourceProvider, ResourceRequest, ResourceState, async_trait, generated_name,
    missing_property, prop_f64, prop_str,
};
use serde_json::{Map, Value, json};

/// The Logs resource provider.
#[derive(Debug, Default)]
pub struct LogsProvider;

const LOG_GROUP: &str = "AWS::Logs::LogGroup";
const METRIC_FILTER: &str = "AWS::Logs::MetricFilter";

#[async_trait]
impl ResourceProvider for LogsProvider {
    fn types(&self) -> &'static [&'static str] {
        &[LOG_GROUP, METRIC_FILTER]
    }

    fn replacement_properties(&self, type_name: &str) -> &'static [&'static str] {
        match type_name {
            LOG_GROUP => &["LogGroupName", "LogGroupClass"],
            _ => &["FilterName", "LogGroupName"],
        }
    }

    fn gaps(&self, type_name: &str) -> &'static [&'static str] {
        match type_name {
            LOG_GROUP => &[
                "changes of KmsKeyId and Tags of an existing group are not applied",
                "DataProtectionPolicy is ignored (with a warning)",
            ],
            _ => &[],
        }
    }

    async fn create(
        &self,
        ctx: &Context,
        req: &ResourceRequest,
    ) -> Result<ResourceState, AwsError> {
        match req.type_name.as_str() {
            LOG_GROUP => create_log_group(ctx, req).await,
            _ => put_metric_filter(ctx, req, None).await,
        }
    }

    async fn update(
        &self,
        ctx: &Context,
        req: &ResourceRequest,
        old: &Map<String, Value>,
        previous: &ResourceState,
    ) -> Result<ResourceState, AwsError> {
        match req.type_name.as_str() {
            LOG_GROUP => {
                let name = &previous.physical_id;
                if req.properties.get("RetentionInDays") != old.get("RetentionInDays") {
                    set_retention(ctx, name, &req.properties).await?;
                }
                // GAP: changes of KmsKeyId, Tags and DataProtectionPolicy are not applied.
                Ok(previous.clone())
            }
            _ => put_metric_filter(ctx, req, Some(&previous.physical_id)).await,
        }
    }

    async fn delete(
        &self,
        ctx: &Context,
        req: &ResourceRequest,
        state: &ResourceState,
    ) -> Result<(), AwsError> {
        let res = match req.type_name.as_str() {
            LOG_GROUP => {
                call(ctx, "DeleteLogGroup", json!({"logGroupName": state.physical_id})).await
            }
            _ => {
                let group = prop_str(&req.properties, "LogGroupName").unwrap_or_default();
                let input = json!({"logGroupName": group, "filterName": state.physical_id});
                call(ctx, "DeleteMetricFilter", input).await
            }
        };
        match res {
            Err(e) if e.code == "ResourceNotFoundException" => Ok(()),
            other => other.map(|_| ()),
        }
    }
}

async fn call(ctx: &Context, op: &str, input: Value) -> Result<Value, AwsError> {
    ctx.dispatcher.call(ctx, "logs", op, input).await
}

async fn create_log_group(ctx: &Context, req: &ResourceRequest) -> Result<ResourceState, AwsError> {
    let p = &req.properties;
    let name = prop_str(p, "LogGroupName")
        .unwrap_or_else(|| generated_name(&req.stack_name, &req.logical_id, 512));
    let mut input = json!({"logGroupName": name});
    if let Some(k) = prop_str(p, "KmsKeyId") {
        input["kmsKeyId"] = json!(k);
    }
    if let Some(c) = prop_str(p, "LogGroupClass") {
        input["logGroupClass"] = json!(c);
    }
    let tags = tags(p);
    if !tags.is_empty() {
        input["tags"] = json!(tags);
    }
    if p.contains_key("DataProtectionPolicy") {
        // GAP: DataProtectionPolicy is not applied (Logs has no data protection).
        tracing::warn!(log_group = %name, "DataProtectionPolicy is ignored");
    }
    call(ctx, "CreateLogGroup", input).await?;
    if p.contains_key("RetentionInDays")
        && let Err(e) = set_retention(ctx, &name, p).await
    {
        // Leave nothing behind: the stack rolls back a resource that failed to create.
        let _ = call(ctx, "DeleteLogGroup", json!({"logGroupName": name})).await;
        return Err(e);
    }
    let arn = format!("arn:aws:logs:{}:{}:log-group:{name}:*", ctx.region, ctx.account);
    Ok(ResourceState {
        physical_id: name,
        attributes: BTreeMap::from([("Arn".into(), json!(arn))]),
    })
}

async fn set_retention(ctx: &Context, name: &str, p: &Map<String, Value>) -> Result<(), AwsError> {
    match prop_f64(p, "RetentionInDays") {
        Some(days) => {
            let input = json!({"logGroupName": name, "retentionInDays": days as i64});
            call(ctx, "PutRetentionPolicy", input).await.map(|_| ())
        }
        None if p.get("RetentionInDays").is_some() => Err(AwsError::new(
            "InvalidParameterException",
            "RetentionInDays must be a number of days",
        )),
        None => call(ctx, "DeleteRetentionPolicy", json!({"logGroupName": name})).await.map(|_| ()),
    }
}

fn tags(p: &Map<String, Value>) -> BTreeMap<String, String> {
    key_values(p.get("Tags"))
}

/// A CloudFormation list of `{Key, Value}` (tags, dimensions) as the API's map.
fn key_values(list: Option<&Value>) -> BTreeMap<String, String> {
    let mut res = BTreeMap::new();
    for t in list.and_then(Value::as_array).into_iter().flatten() {
        if let (Some(k), Some(v)) = (t.get("Key").and_then(Value::as_str), t.get("Value")) {
            let v = v.as_str().map_or_else(|| v.to_string(), str::to_owned);
            res.insert(k.to_owned(), v);
        }
    }
    res
}

/// `PutMetricFilter` from the CloudFormation properties (which are PascalCase where the
/// API is camelCase, and list dimensions as `Key`/`Value` pairs).
async fn put_metric_filter(
    ctx: &Context,
    req: &ResourceRequest,
    existing: Option<&str>,
) -> Result<ResourceState, AwsError> {
    let p = &req.properties;
    let group = prop_str(p, "LogGroupName").ok_or_else(|| missing_property(req, "LogGroupName"))?;
    let pattern =
        prop_str(p, "FilterPattern").ok_or_else(|| missing_property(req, "FilterPattern"))?;
    let name = match (existing, prop_str(p, "FilterName")) {
        (Some(n), _) => n.to_owned(),
        (None, Some(n)) => n,
        (None, None) => generated_name(&req.stack_name, &req.logical_id, 512),
    };
    let mut transformations = Vec::new();
    for t in p.get("MetricTransformations").and_then(Value::as_array).into_iter().flatten() {
        let Some(t) = t.as_object() else { continue };
        let mut out = json!({
            "metricName": prop_str(t, "MetricName").unwrap_or_default(),
            "metricNamespace": prop_str(t, "MetricNamespace").unwrap_or_default(),
            "metricValue": prop_str(t, "MetricValue").unwrap_or_default(),
        });
        if let Some(d) = prop_f64(t, "DefaultValue") {
            out["defaultValue"] = json!(d);
        }
        if let Some(u) = prop_str(t, "Unit") {
            out["unit"] = json!(u);
        }
        let dims = key_values(t.get("Dimensions"));
        if !dims.is_empty() {
            out["dimensions"] = json!(dims);
        }
        transformations.push(out);
    }
    if transformations.is_empty() {
        return Err(missing_property(req, "MetricTransformations"));
    }
    let input = json!({
        "logGroupName": group,
        "filterName": name,
        "filterPattern": pattern,
        "metricTransformations": transformations,
    });
    call(ctx, "PutMetricFilter", input).await?;
    Ok(ResourceState { physical_id: name, attributes: BTreeMap::new() })
}
