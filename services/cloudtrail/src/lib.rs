//! AWS CloudTrail, following
//! <https://docs.aws.amazon.com/awscloudtrail/latest/APIReference/Welcome.html>.
//!
//! Every call through the dispatcher is recorded as a CloudTrail event by the
//! [`recorder::Recorder`] audit sink (event history: `LookupEvents`, 90 days), and
//! trails deliver the events they select to their CloudWatch Logs group, where metric
//! filters (the CIS 3.x alarms) see them, and to their S3 bucket as gzip log files with
//! hourly signed digest files (log file integrity validation, checked by
//! `aws cloudtrail validate-logs`; keys from `ListPublicKeys`).
#![warn(missing_docs)]

mod cfn;
mod data;
mod delivery;
mod digest;
mod errors;
pub mod import;
mod interest;
mod logfiles;
mod ops;
pub mod record;
pub mod recorder;
mod role;
mod selectors;
mod state;
#[cfg(test)]
mod tests;

use std::sync::Arc;

use chrono::TimeDelta;
use mamori_aws::AwsError;
use mamori_service::{AuthzRequest, Context, Dispatcher, OpSpec, Service, Task, async_trait};
use serde_json::Value;

pub use recorder::Shaper;
/// The stored events and the deliveries' view of them, for `benches/import.rs`.
#[doc(hidden)]
pub use state::{DELIVERY_VIEW, EVENTS};

use crate::ops::{keys, lookup, trails};

/// The CloudTrail service.
#[derive(Debug, Default)]
pub struct CloudTrail;

const TRAIL_GAPS: &[&str] = &["log files are not encrypted with the trail's KMS key"];

const OPS: &[OpSpec] = &[
    OpSpec { name: "AddTags", gaps: &[] },
    OpSpec { name: "CreateTrail", gaps: &["the KMS key and its policy are not checked"] },
    OpSpec { name: "DeleteTrail", gaps: &[] },
    OpSpec { name: "DescribeTrails", gaps: &[] },
    OpSpec { name: "GetEventSelectors", gaps: &[] },
    OpSpec { name: "GetInsightSelectors", gaps: &["Insights events are never generated"] },
    OpSpec { name: "GetTrail", gaps: &[] },
    OpSpec { name: "GetTrailStatus", gaps: TRAIL_GAPS },
    OpSpec { name: "ListPublicKeys", gaps: &["NextToken is ignored: all keys come in one page"] },
    OpSpec { name: "ListTags", gaps: &[] },
    OpSpec { name: "ListTrails", gaps: &[] },
    OpSpec {
        name: "LookupEvents",
        gaps: &[
            "ResourceType and ResourceName lookups see the resources of S3 bucket, IAM user/role/group/policy, STS AssumeRole, log group, SNS topic, trail, alarm and KMS key calls only (resources come from a fixed table of input members)",
        ],
    },
    OpSpec {
        name: "PutEventSelectors",
        gaps: &[
            "data events are recorded for S3 objects (AWS::S3::Object) and SNS topics (AWS::SNS::Topic) only: Lambda, DynamoDB, CloudWatch Logs and CloudWatch metric data events are never recorded",
        ],
    },
    OpSpec { name: "PutInsightSelectors", gaps: &["stored only"] },
    OpSpec { name: "RemoveTags", gaps: &[] },
    OpSpec { name: "StartLogging", gaps: TRAIL_GAPS },
    OpSpec { name: "StopLogging", gaps: &[] },
    OpSpec {
        name: "UpdateTrail",
        gaps: &[
            "the KMS key and its policy are not checked",
            "organization trails are refused with OrganizationsNotInUseException until Organizations exists",
        ],
    },
];

fn trail_resource(ctx: &Context, input: &Value) -> String {
    let name = ["Name", "TrailName", "ResourceId"].iter().find_map(|k| input[*k].as_str());
    match name {
        Some(n) if n.starts_with("arn:") => n.to_owned(),
        Some(n) => format!("arn:aws:cloudtrail:{}:{}:trail/{n}", ctx.region, ctx.account),
        None => "*".into(),
    }
}

#[async_trait]
impl Service for CloudTrail {
    fn model_id(&self) -> &'static str {
        "cloudtrail"
    }

    fn resource_providers(&self) -> Vec<Arc<dyn mamori_service::ResourceProvider>> {
        vec![Arc::new(cfn::CloudTrailProvider)]
    }

    fn operations(&self) -> &'static [OpSpec] {
        OPS
    }

    fn authz(&self, ctx: &Context, operation: &str, input: &Value) -> AuthzRequest {
        AuthzRequest::new(format!("cloudtrail:{operation}"), vec![trail_resource(ctx, input)])
    }

    async fn call(&self, ctx: &Context, operation: &str, input: Value) -> Result<Value, AwsError> {
        match operation {
            "CreateTrail" => trails::create_trail(ctx, input).await,
            "UpdateTrail" => trails::update_trail(ctx, input).await,
            "DeleteTrail" => trails::delete_trail(ctx, input),
            "DescribeTrails" => trails::describe_trails(ctx, input),
            "GetTrail" => trails::get_trail(ctx, input),
            "ListTrails" => trails::list_trails(ctx),
            "GetTrailStatus" => trails::get_trail_status(ctx, input),
            "StartLogging" => trails::set_logging(ctx, input, true).await,
            "StopLogging" => trails::set_logging(ctx, input, false).await,
            "PutEventSelectors" => trails::put_event_selectors(ctx, input),
            "GetEventSelectors" => trails::get_event_selectors(ctx, input),
            "PutInsightSelectors" => trails::put_insight_selectors(ctx, input),
            "GetInsightSelectors" => trails::get_insight_selectors(ctx, input),
            "AddTags" => trails::change_tags(ctx, input, true),
            "RemoveTags" => trails::change_tags(ctx, input, false),
            "ListTags" => trails::list_tags(ctx, input),
            "LookupEvents" => {
                // History shows every call answered before this one: the recorder's
                // writer stores what it holds now instead of letting its batch gather.
                ctx.dispatcher.flush_audit().await;
                lookup::lookup_events(ctx, input)
            }
            "ListPublicKeys" => keys::list_public_keys(ctx, input),
            other => Err(AwsError::not_implemented("cloudtrail", other)),
        }
    }
}

/// How often CloudTrail delivers, to CloudWatch Logs and to S3.
#[derive(Debug, Clone, Copy)]
pub struct Intervals {
    /// CloudWatch Logs deliveries.
    pub logs: TimeDelta,
    /// S3 log file deliveries (AWS: about every 5 minutes).
    pub s3: TimeDelta,
    /// Digest files (AWS: every hour).
    pub digest: TimeDelta,
}

impl Default for Intervals {
    fn default() -> Self {
        Self { logs: TimeDelta::seconds(5), s3: TimeDelta::minutes(5), digest: TimeDelta::hours(1) }
    }
}

/// Starts recording every call (unless `shaper` is `None`) and registers CloudTrail's
/// periodic work: delivery to CloudWatch Logs and to S3, digests, and the 90-day expiry
/// of event history. Must run inside the tokio runtime.
pub fn install(dispatcher: &Arc<Dispatcher>, shaper: Option<Shaper>, intervals: Intervals) {
    match shaper {
        Some(shaper) => {
            dispatcher.add_audit_sink(recorder::Recorder::start(dispatcher.store().clone(), shaper))
        }
        None => tracing::warn!("CloudTrail recording is off: calls are not recorded"),
    }
    let now = dispatcher.clock().now();
    // Tasks hold the dispatcher weakly: the dispatcher owns the scheduler that owns them.
    let d = Arc::downgrade(dispatcher);
    dispatcher.scheduler().register_coalesced(
        Task {
            name: "cloudtrail.deliver-logs",
            interval: intervals.logs,
            run: Arc::new(move |due| {
                let d = d.clone();
                Box::pin(async move {
                    if let Some(d) = d.upgrade() {
                        delivery::deliver_all(&d, due).await;
                    }
                })
            }),
        },
        now,
    );
    let d = Arc::downgrade(dispatcher);
    dispatcher.scheduler().register_coalesced(
        Task {
            name: "cloudtrail.deliver-s3",
            interval: intervals.s3,
            run: Arc::new(move |due| {
                let d = d.clone();
                Box::pin(async move {
                    if let Some(d) = d.upgrade() {
                        logfiles::deliver_all(&d, due).await;
                    }
                })
            }),
        },
        now,
    );
    // Not coalesced: each hour of a clock jump gets its digest, so the chain has one
    // link per hour as AWS's does.
    let d = Arc::downgrade(dispatcher);
    dispatcher.scheduler().register(
        Task {
            name: "cloudtrail.digests",
            interval: intervals.digest,
            run: Arc::new(move |due| {
                let d = d.clone();
                Box::pin(async move {
                    if let Some(d) = d.upgrade() {
                        logfiles::deliver_digests(&d, due).await;
                    }
                })
            }),
        },
        now,
    );
    let d = Arc::downgrade(dispatcher);
    dispatcher.scheduler().register_coalesced(
        Task {
            name: "cloudtrail.expire-history",
            interval: TimeDelta::hours(1),
            run: Arc::new(move |due| {
                let d = d.clone();
                Box::pin(async move {
                    if let Some(d) = d.upgrade() {
                        expire(&d, due);
                    }
                })
            }),
        },
        now,
    );
}

fn expire(dispatcher: &Arc<Dispatcher>, now: chrono::DateTime<chrono::Utc>) {
    let before = (now - TimeDelta::days(lookup::HISTORY_DAYS)).timestamp_millis();
    let res = dispatcher.store().write(|tx| state::EVENTS.delete_before_everywhere(tx, before));
    match res {
        Ok(0) => {}
        Ok(n) => tracing::info!(events = n, "expired CloudTrail event history"),
        Err(err) => tracing::error!(error = %err, "cannot expire CloudTrail event history"),
    }
}
