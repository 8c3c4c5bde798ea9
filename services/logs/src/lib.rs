//! Amazon CloudWatch Logs, following
//! <https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/Welcome.html>.
//!
//! Log groups, log streams and events live in the store (events in a series, never in
//! memory). Every `PutLogEvents` batch runs through its group's metric filters, compiled
//! once into a [`mamori_pattern::FilterSet`] and cached; the per-second statistic sets it
//! produces are written to a durable outbox in the same transaction as the events, and
//! delivered to CloudWatch (`PutMetricData`, as the `logs.amazonaws.com` service
//! principal) by `metrics::deliver`, which deletes an entry only once CloudWatch accepted
//! it. Retention is a scheduler task that deletes events older than the group's policy.

mod cfn;
mod errors;
mod metrics;
mod ops;
mod state;

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use chrono::{DateTime, TimeDelta, Utc};
use mamori_aws::AwsError;
use mamori_service::{AuthzRequest, Context, Dispatcher, OpSpec, Service, Task, async_trait};
use serde_json::Value;

pub use metrics::CompiledFilters;

/// The CloudWatch Logs service.
#[derive(Default)]
pub struct Logs {
    /// Compiled metric filters per `account/region/group`.
    filters: Mutex<HashMap<String, Arc<CompiledFilters>>>,
    /// Bumped by every change to metric filters, so a set compiled from data read before
    /// the change is never cached.
    filters_gen: AtomicU64,
    /// Serializes outbox deliveries and remembers when to retry after a failure.
    delivery: metrics::SharedDelivery,
}

impl std::fmt::Debug for Logs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Logs")
    }
}

const OPS: &[OpSpec] = &[
    OpSpec {
        name: "CreateLogGroup",
        gaps: &[
            "kmsKeyId is stored and reported but nothing is encrypted",
            "deletionProtectionEnabled is ignored",
        ],
    },
    OpSpec { name: "DeleteLogGroup", gaps: &[] },
    OpSpec {
        name: "DescribeLogGroups",
        gaps: &[
            "accountIdentifiers and includeLinkedAccounts are ignored (no cross-account observability)",
            "storedBytes is always 0",
        ],
    },
    OpSpec { name: "PutRetentionPolicy", gaps: &[] },
    OpSpec { name: "DeleteRetentionPolicy", gaps: &[] },
    OpSpec { name: "TagResource", gaps: &["only log group ARNs are taggable"] },
    OpSpec { name: "UntagResource", gaps: &["only log group ARNs are taggable"] },
    OpSpec { name: "ListTagsForResource", gaps: &["only log group ARNs are taggable"] },
    OpSpec { name: "TagLogGroup", gaps: &[] },
    OpSpec { name: "UntagLogGroup", gaps: &[] },
    OpSpec { name: "ListTagsLogGroup", gaps: &[] },
    OpSpec { name: "CreateLogStream", gaps: &[] },
    OpSpec { name: "DeleteLogStream", gaps: &[] },
    OpSpec { name: "DescribeLogStreams", gaps: &["storedBytes is always 0"] },
    OpSpec {
        name: "PutLogEvents",
        gaps: &[
            "entity is ignored (rejectedEntityInfo never set)",
            "subscription filters are not evaluated (PutSubscriptionFilter is not implemented)",
        ],
    },
    OpSpec { name: "GetLogEvents", gaps: &["unmask is ignored (no data protection policies)"] },
    OpSpec {
        name: "FilterLogEvents",
        gaps: &[
            "searchedLogStreams is not returned (deprecated by AWS)",
            "unmask is ignored (no data protection policies)",
        ],
    },
    OpSpec {
        name: "PutMetricFilter",
        gaps: &[
            "applyOnTransformedLogs, fieldSelectionCriteria and emitSystemFieldDimensions are rejected",
            "a metric filter is never disabled for high dimension cardinality",
        ],
    },
    OpSpec { name: "DescribeMetricFilters", gaps: &[] },
    OpSpec { name: "DeleteMetricFilter", gaps: &[] },
    OpSpec { name: "TestMetricFilter", gaps: &[] },
];

#[async_trait]
impl Service for Logs {
    fn model_id(&self) -> &'static str {
        "logs"
    }

    fn operations(&self) -> &'static [OpSpec] {
        OPS
    }

    fn authz(&self, ctx: &Context, operation: &str, input: &Value) -> AuthzRequest {
        AuthzRequest::new(format!("logs:{operation}"), vec![authz_resource(ctx, operation, input)])
    }

    async fn call(&self, ctx: &Context, operation: &str, input: Value) -> Result<Value, AwsError> {
        use ops::{events, groups, metric_filters, streams};
        match operation {
            "CreateLogGroup" => groups::create_log_group(ctx, input),
            "DeleteLogGroup" => groups::delete_log_group(self, ctx, input),
            "DescribeLogGroups" => groups::describe_log_groups(ctx, input),
            "PutRetentionPolicy" => groups::put_retention_policy(self, ctx, input),
            "DeleteRetentionPolicy" => groups::delete_retention_policy(self, ctx, input),
            "TagResource" => groups::tag_resource(ctx, input),
            "UntagResource" => groups::untag_resource(ctx, input),
            "ListTagsForResource" => groups::list_tags_for_resource(ctx, input),
            "TagLogGroup" => groups::tag_log_group(ctx, input),
            "UntagLogGroup" => groups::untag_log_group(ctx, input),
            "ListTagsLogGroup" => groups::list_tags_log_group(ctx, input),
            "CreateLogStream" => streams::create_log_stream(ctx, input),
            "DeleteLogStream" => streams::delete_log_stream(ctx, input),
            "DescribeLogStreams" => streams::describe_log_streams(ctx, input),
            "PutLogEvents" => events::put_log_events(self, ctx, input).await,
            "GetLogEvents" => events::get_log_events(ctx, input),
            "FilterLogEvents" => events::filter_log_events(ctx, input),
            "PutMetricFilter" => metric_filters::put_metric_filter(self, ctx, input),
            "DescribeMetricFilters" => metric_filters::describe_metric_filters(ctx, input),
            "DeleteMetricFilter" => metric_filters::delete_metric_filter(self, ctx, input),
            "TestMetricFilter" => metric_filters::test_metric_filter(input),
            // GAP: StartQuery and the other Logs Insights operations, subscription filters,
            // destinations, exports and deliveries answer 501 NotImplemented.
            other => Err(AwsError::not_implemented("logs", other)),
        }
    }

    fn resource_providers(&self) -> Vec<Arc<dyn mamori_service::ResourceProvider>> {
        vec![Arc::new(cfn::LogsProvider)]
    }

    fn reset(&self) {
        self.filters.lock().unwrap_or_else(|e| e.into_inner()).clear();
        self.filters_gen.fetch_add(1, Ordering::SeqCst);
    }
}

impl Logs {
    /// A fresh service.
    pub fn new() -> Self {
        Self::default()
    }

    /// Drops the compiled filters of a group after its metric filters changed.
    fn invalidate_filters(&self, key: &str) {
        self.filters_gen.fetch_add(1, Ordering::SeqCst);
        self.filters.lock().unwrap_or_else(|e| e.into_inner()).remove(key);
    }
}

/// The resource an operation acts on, for IAM: the log stream for event and stream
/// operations, the log group otherwise, `*` when the call names neither.
fn authz_resource(ctx: &Context, operation: &str, input: &Value) -> String {
    let (region, account) = (ctx.region.as_str(), ctx.account.as_str());
    if let Some(arn) = input.get("resourceArn").and_then(Value::as_str) {
        return arn.to_owned();
    }
    let group =
        input.get("logGroupName").and_then(Value::as_str).map(str::to_owned).or_else(|| {
            input
                .get("logGroupIdentifier")
                .and_then(Value::as_str)
                .and_then(|id| state::group_from_identifier(id).ok())
        });
    let Some(group) = group else { return "*".into() };
    match (operation, input.get("logStreamName").and_then(Value::as_str)) {
        ("PutLogEvents" | "GetLogEvents" | "CreateLogStream" | "DeleteLogStream", Some(stream)) => {
            state::stream_arn(region, account, &group, stream)
        }
        _ => state::group_arn(region, account, &group),
    }
}

/// Registers the periodic work: retention (hourly; AWS documents that expired events may
/// take up to 72 hours to go) and outbox delivery to CloudWatch (every 5 seconds).
pub fn register_tasks(dispatcher: &Arc<Dispatcher>, svc: Arc<Logs>) {
    let now = dispatcher.clock().now();
    let d = Arc::downgrade(dispatcher);
    dispatcher.scheduler().register_coalesced(
        Task {
            name: "logs.retention",
            interval: TimeDelta::hours(1),
            run: Arc::new(move |due: DateTime<Utc>| {
                let d = d.clone();
                Box::pin(async move {
                    if let Some(d) = d.upgrade() {
                        ops::groups::enforce_retention(&d, due);
                    }
                })
            }),
        },
        now,
    );
    let d = Arc::downgrade(dispatcher);
    dispatcher.scheduler().register_coalesced(
        Task {
            name: "logs.metric_delivery",
            interval: TimeDelta::seconds(5),
            run: Arc::new(move |due: DateTime<Utc>| {
                let (d, svc) = (d.clone(), svc.clone());
                Box::pin(async move {
                    if let Some(d) = d.upgrade() {
                        metrics::deliver(&svc.delivery, &d, due).await;
                    }
                })
            }),
        },
        now,
    );
}

#[cfg(test)]
mod tests;
