//! Amazon CloudWatch metrics and metric alarms, following
//! <https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/Welcome.html>.
//!
//! - Metrics: `PutMetricData` stores raw samples in a series per account and region
//!   (one stream per metric); statistics are aggregated at query time.
//! - Alarms: [`eval`] is a pure evaluator of AWS's documented rules; [`tasks`] runs it
//!   on the clock and applies transitions; [`actions`] publishes to SNS through the
//!   dispatcher as `cloudwatch.amazonaws.com`.
//!
//! The wire layer speaks rpc-v2-cbor, JSON 1.0 (query-compatible) and query for this
//! model; handlers see the same neutral input for all three.

pub mod actions;
pub mod cache;
mod cfn;
pub mod composite;
mod errors;
pub mod eval;
pub mod math;
pub mod ops;
pub mod rule;
pub mod state;
pub mod stats;
pub mod tasks;

use mamori_aws::AwsError;
use mamori_service::{AuthzRequest, Context, OpSpec, Service, async_trait};
use serde_json::Value;

pub use tasks::register_tasks;

/// The CloudWatch service. Keep an `Arc` of it for [`register_tasks`].
#[derive(Debug, Default)]
pub struct CloudWatch {
    /// The alarms the evaluator walks; invalidated by every alarm write.
    pub alarms: cache::AlarmCache,
}

/// Operations that write alarms (and so invalidate the evaluator's cache).
const ALARM_WRITES: &[&str] = &[
    "PutMetricAlarm",
    "PutCompositeAlarm",
    "DeleteAlarms",
    "EnableAlarmActions",
    "DisableAlarmActions",
    "SetAlarmState",
    "TagResource",
    "UntagResource",
];

const OPS: &[OpSpec] = &[
    OpSpec {
        name: "PutMetricData",
        gaps: &[
            "`EntityMetricData` is accepted and ignored (entities are not modelled).",
            "Retention: 1-s data rolls up to 1 min after 3 h and everything expires after 455 days, but 1-min data is not rolled up to 5 min (15 days) or 1 h (63 days).",
        ],
    },
    OpSpec { name: "GetMetricStatistics", gaps: &[] },
    OpSpec {
        name: "GetMetricData",
        gaps: &[
            "Metric math: arithmetic, unary minus, SUM/AVG/MIN/MAX/METRICS() only; other functions (FILL, IF, SEARCH, RATE, ...) answer a ValidationError.",
            "`LabelOptions` is ignored; cross-account `AccountId` is rejected.",
        ],
    },
    OpSpec {
        name: "ListMetrics",
        gaps: &[
            "`IncludeLinkedAccounts` and `OwningAccount` are ignored (no cross-account observability).",
        ],
    },
    OpSpec {
        name: "PutMetricAlarm",
        gaps: &[
            "Anomaly-detection operators and `ThresholdMetricId` are rejected (no anomaly detection).",
            "`EvaluationCriteria`, `EvaluationInterval`, `EvaluationWindow`, `WarmUpConfiguration`, `ActionConfiguration` are rejected.",
            "Extended statistics other than percentiles (tm, wm, tc, ts, IQM, PR) are rejected.",
            "Only SNS topic actions run; EC2, Auto Scaling, Lambda and SSM actions are recorded as failed.",
            "The evaluation range is N + min(N - 1, 2) periods (AWS documents only N = 3 -> 5); periods are judged at their boundary, without AWS's short wait for late data.",
        ],
    },
    OpSpec {
        name: "PutCompositeAlarm",
        gaps: &[
            "`ActionsSuppressor` (and its wait and extension periods) and `ActionConfiguration` are rejected.",
            "StateReason names the most recently changed child as the trigger; AWS's wording may differ.",
        ],
    },
    OpSpec {
        name: "DescribeAlarms",
        gaps: &["Log alarms (`AlarmTypes` `LogAlarm`) do not exist."],
    },
    OpSpec { name: "DescribeAlarmsForMetric", gaps: &[] },
    OpSpec { name: "DeleteAlarms", gaps: &[] },
    OpSpec { name: "EnableAlarmActions", gaps: &[] },
    OpSpec { name: "DisableAlarmActions", gaps: &[] },
    OpSpec { name: "SetAlarmState", gaps: &[] },
    OpSpec {
        name: "DescribeAlarmHistory",
        gaps: &["`AlarmContributorId` is ignored (no contributor alarms)."],
    },
    OpSpec {
        name: "TagResource",
        gaps: &[
            "Only metric alarms can be tagged (no Contributor Insights rules or metric streams).",
        ],
    },
    OpSpec { name: "UntagResource", gaps: &[] },
    OpSpec { name: "ListTagsForResource", gaps: &[] },
];

#[async_trait]
impl Service for CloudWatch {
    fn model_id(&self) -> &'static str {
        "cloudwatch"
    }

    fn operations(&self) -> &'static [OpSpec] {
        OPS
    }

    /// `cloudwatch:<Operation>` on the alarm ARNs the call names, else `*`.
    fn authz(&self, ctx: &Context, operation: &str, input: &Value) -> AuthzRequest {
        let arn =
            |name: &str| state::Alarm::arn_for(ctx.region.as_str(), ctx.account.as_str(), name);
        let names = |member: &str| -> Vec<String> {
            input[member]
                .as_array()
                .map(|a| a.iter().filter_map(Value::as_str).map(arn).collect())
                .unwrap_or_default()
        };
        let resources = match operation {
            "PutMetricAlarm" | "PutCompositeAlarm" | "SetAlarmState" | "DescribeAlarmHistory" => {
                input["AlarmName"].as_str().map(|n| vec![arn(n)]).unwrap_or_default()
            }
            "DeleteAlarms" | "EnableAlarmActions" | "DisableAlarmActions" | "DescribeAlarms" => {
                names("AlarmNames")
            }
            "TagResource" | "UntagResource" | "ListTagsForResource" => {
                input["ResourceARN"].as_str().map(|a| vec![a.to_owned()]).unwrap_or_default()
            }
            _ => Vec::new(),
        };
        let resources = if resources.is_empty() { vec!["*".to_owned()] } else { resources };
        AuthzRequest::new(format!("cloudwatch:{operation}"), resources)
    }

    async fn call(&self, ctx: &Context, operation: &str, input: Value) -> Result<Value, AwsError> {
        let res = self.dispatch(ctx, operation, input).await;
        if ALARM_WRITES.contains(&operation) {
            // Also after a failure: an all-or-nothing write may still have touched state
            // before failing, and a spurious reload is cheap.
            self.alarms.invalidate();
        }
        res
    }

    fn resource_providers(&self) -> Vec<std::sync::Arc<dyn mamori_service::ResourceProvider>> {
        vec![std::sync::Arc::new(cfn::CloudWatchProvider)]
    }

    fn reset(&self) {
        self.alarms.invalidate();
    }
}

impl CloudWatch {
    async fn dispatch(
        &self,
        ctx: &Context,
        operation: &str,
        input: Value,
    ) -> Result<Value, AwsError> {
        use ops::{alarms, data, history, metrics, tags};
        match operation {
            "PutMetricData" => metrics::put_metric_data(ctx, input),
            "GetMetricStatistics" => metrics::get_metric_statistics(ctx, input),
            "GetMetricData" => data::get_metric_data(ctx, input),
            "ListMetrics" => metrics::list_metrics(ctx, input),
            "PutMetricAlarm" => alarms::put_metric_alarm(ctx, input),
            "PutCompositeAlarm" => {
                let res = composite::put_composite_alarm(ctx, input)?;
                // A new composite is evaluated at once, as AWS does.
                let (part, now) = (ctx.partition(), ctx.time.timestamp_millis());
                composite::settle(&ctx.dispatcher, &part, now, None).await;
                Ok(res)
            }
            "DescribeAlarms" => alarms::describe_alarms(ctx, input),
            "DescribeAlarmsForMetric" => alarms::describe_alarms_for_metric(ctx, input),
            "DeleteAlarms" => alarms::delete_alarms(ctx, input),
            "EnableAlarmActions" => alarms::set_actions_enabled(ctx, input, true),
            "DisableAlarmActions" => alarms::set_actions_enabled(ctx, input, false),
            "SetAlarmState" => history::set_alarm_state(ctx, input).await,
            "DescribeAlarmHistory" => history::describe_alarm_history(ctx, input),
            "TagResource" => tags::tag_resource(ctx, input),
            "UntagResource" => tags::untag_resource(ctx, input),
            "ListTagsForResource" => tags::list_tags_for_resource(ctx, input),
            other => Err(AwsError::not_implemented("cloudwatch", other)),
        }
    }
}

#[cfg(test)]
mod tests;
