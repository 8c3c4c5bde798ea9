//! CloudFormation resource provider for `AWS::CloudWatch::Alarm`, following
//! <https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-cloudwatch-alarm.html>.
//!
//! `PutMetricAlarm` is an upsert, so create and in-place update are the same call,
//! made through the dispatcher with the stack caller's context.

use std::collections::BTreeMap;

use mamori_aws::AwsError;
use mamori_service::{
    Context, ResourceProvider, ResourceRequest, ResourceState, async_trait, generated_name,
    prop_bool, prop_f64, prop_str,
};
use serde_json::{Map, Value, json};

/// The CloudWatch resource provider.
#[derive(Debug, Default)]
pub struct CloudWatchProvider;

/// Properties passed as strings.
const STRINGS: &[&str] = &[
    "AlarmDescription",
    "ComparisonOperator",
    "EvaluateLowSampleCountPercentile",
    "ExtendedStatistic",
    "MetricName",
    "Namespace",
    "Statistic",
    "ThresholdMetricId",
    "TreatMissingData",
    "Unit",
];
/// Properties passed as integers.
const INTEGERS: &[&str] = &["DatapointsToAlarm", "EvaluationPeriods", "Period"];
/// Properties passed as lists of strings.
const LISTS: &[&str] = &["AlarmActions", "InsufficientDataActions", "OKActions"];

#[async_trait]
impl ResourceProvider for CloudWatchProvider {
    fn types(&self) -> &'static [&'static str] {
        &["AWS::CloudWatch::Alarm"]
    }

    fn replacement_properties(&self, _: &str) -> &'static [&'static str] {
        &["AlarmName"]
    }

    fn gaps(&self, _: &str) -> &'static [&'static str] {
        &["Metrics (metric math) are passed as written, without coercing strings to numbers"]
    }

    async fn create(
        &self,
        ctx: &Context,
        req: &ResourceRequest,
    ) -> Result<ResourceState, AwsError> {
        let name = prop_str(&req.properties, "AlarmName")
            .unwrap_or_else(|| generated_name(&req.stack_name, &req.logical_id, 255));
        put_alarm(ctx, &name, &req.properties).await
    }

    async fn update(
        &self,
        ctx: &Context,
        req: &ResourceRequest,
        _: &Map<String, Value>,
        previous: &ResourceState,
    ) -> Result<ResourceState, AwsError> {
        put_alarm(ctx, &previous.physical_id, &req.properties).await
    }

    async fn delete(
        &self,
        ctx: &Context,
        _: &ResourceRequest,
        state: &ResourceState,
    ) -> Result<(), AwsError> {
        let input = json!({"AlarmNames": [state.physical_id]});
        match ctx.dispatcher.call(ctx, "cloudwatch", "DeleteAlarms", input).await {
            Err(e) if e.code == "ResourceNotFound" || e.code == "ResourceNotFoundException" => {
                Ok(())
            }
            other => other.map(|_| ()),
        }
    }
}

/// The `PutMetricAlarm` input of the alarm's properties.
fn alarm_input(name: &str, p: &Map<String, Value>) -> Value {
    let mut input = json!({"AlarmName": name});
    for k in STRINGS {
        if let Some(v) = prop_str(p, k) {
            input[*k] = json!(v);
        }
    }
    for k in INTEGERS {
        // A non-number is passed as written, for the model check to refuse with its
        // own message.
        match prop_f64(p, k) {
            Some(v) if v.fract() == 0.0 => input[*k] = json!(v as i64),
            _ => {
                if let Some(v) = p.get(*k) {
                    input[*k] = v.clone();
                }
            }
        }
    }
    match prop_f64(p, "Threshold") {
        Some(v) => input["Threshold"] = json!(v),
        None => {
            if let Some(v) = p.get("Threshold") {
                input["Threshold"] = v.clone();
            }
        }
    }
    if let Some(b) = prop_bool(p, "ActionsEnabled") {
        input["ActionsEnabled"] = json!(b);
    }
    for k in LISTS {
        if let Some(v) = p.get(*k) {
            input[*k] = v.clone();
        }
    }
    if let Some(d) = p.get("Dimensions") {
        input["Dimensions"] = d.clone();
    }
    if let Some(m) = p.get("Metrics") {
        // GAP: metric math queries are passed as written, without coercing strings to
        // numbers or booleans.
        input["Metrics"] = m.clone();
    }
    if let Some(t) = p.get("Tags") {
        input["Tags"] = t.clone();
    }
    input
}

async fn put_alarm(
    ctx: &Context,
    name: &str,
    p: &Map<String, Value>,
) -> Result<ResourceState, AwsError> {
    ctx.dispatcher.call(ctx, "cloudwatch", "PutMetricAlarm", alarm_input(name, p)).await?;
    let arn = format!("arn:aws:cloudwatch:{}:{}:alarm:{name}", ctx.region, ctx.account);
    Ok(ResourceState {
        physical_id: name.to_owned(),
        attributes: BTreeMap::from([("Arn".into(), json!(arn))]),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alarm_properties_become_the_api_input() {
        let props = json!({
            "AlarmName": "ignored-here", "Threshold": 1, "Period": "60", "EvaluationPeriods": 1,
            "ActionsEnabled": "true", "AlarmActions": ["arn:a"], "Statistic": "Maximum",
            "Dimensions": [{"Name": "D", "Value": "v"}],
        });
        let input = alarm_input("a", props.as_object().unwrap());
        assert_eq!(
            input,
            json!({
                "AlarmName": "a", "Statistic": "Maximum", "Period": 60, "EvaluationPeriods": 1,
                "Threshold": 1.0, "ActionsEnabled": true, "AlarmActions": ["arn:a"],
                "Dimensions": [{"Name": "D", "Value": "v"}],
            })
        );
    }
}
