//! CloudTrail's durable state: recorded events (a series per account and region) and
//! trails (documents per account, keyed by name).

use chrono::{DateTime, Utc};
use mamori_store::{Collection, Series};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// One recorded event, with the fields event history filters on.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StoredEvent {
    /// `eventID`.
    pub event_id: String,
    /// `eventName`.
    pub event_name: String,
    /// `eventSource`.
    pub event_source: String,
    /// `readOnly`.
    pub read_only: bool,
    /// The access key that signed the call.
    pub access_key_id: String,
    /// The user name event history shows.
    pub username: String,
    /// A data event (never in event history; trails only on request).
    pub data: bool,
    /// The full record, kept as JSON text (stored inline, not as an escaped string).
    pub record: Box<serde_json::value::RawValue>,
}

/// Recorded events, partition `account/region`, stream `management` or `data`, time =
/// `eventTime` in milliseconds.
pub const EVENTS: Series<StoredEvent> = Series::new("cloudtrail.events");

/// A trail.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Trail {
    /// Name.
    pub name: String,
    /// Home region.
    pub home_region: String,
    /// Owner account.
    pub account: String,
    /// Bucket for log files.
    pub s3_bucket_name: String,
    /// Key prefix in the bucket.
    pub s3_key_prefix: Option<String>,
    /// SNS topic notified of deliveries.
    pub sns_topic_name: Option<String>,
    /// Global service events included.
    pub include_global_service_events: bool,
    /// Records every region.
    pub is_multi_region_trail: bool,
    /// Digest files enabled.
    pub log_file_validation_enabled: bool,
    /// CloudWatch Logs group ARN.
    pub cloud_watch_logs_log_group_arn: Option<String>,
    /// Role CloudTrail uses for CloudWatch Logs.
    pub cloud_watch_logs_role_arn: Option<String>,
    /// KMS key for log files.
    pub kms_key_id: Option<String>,
    /// Organization trail.
    pub is_organization_trail: bool,
    /// Basic event selectors as given (empty: all management events).
    pub event_selectors: Vec<Value>,
    /// Advanced event selectors as given.
    pub advanced_event_selectors: Vec<Value>,
    /// Insight selectors as given.
    pub insight_selectors: Vec<Value>,
    /// Tags.
    pub tags: Vec<(String, String)>,
    /// Whether logging is on.
    pub is_logging: bool,
    /// When logging started.
    pub start_logging_time: Option<DateTime<Utc>>,
    /// When logging stopped.
    pub stop_logging_time: Option<DateTime<Utc>>,
    /// Delivery progress and errors.
    pub status: DeliveryStatus,
}

/// What GetTrailStatus reports about deliveries.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct DeliveryStatus {
    /// Last event id delivered to CloudWatch Logs, per partition.
    pub logs_cursor: Vec<(String, i64)>,
    /// The log stream exists.
    pub logs_stream_created: bool,
    /// Last successful CloudWatch Logs delivery.
    pub latest_cloud_watch_logs_delivery_time: Option<DateTime<Utc>>,
    /// Last CloudWatch Logs delivery error.
    pub latest_cloud_watch_logs_delivery_error: Option<String>,
    /// Last S3 delivery error.
    pub latest_delivery_error: Option<String>,
}

impl Trail {
    /// `arn:aws:cloudtrail:<home region>:<account>:trail/<name>`.
    pub fn arn(&self) -> String {
        format!("arn:aws:cloudtrail:{}:{}:trail/{}", self.home_region, self.account, self.name)
    }

    /// The SNS topic ARN, when a topic is set.
    pub fn sns_topic_arn(&self) -> Option<String> {
        self.sns_topic_name.as_ref().map(|t| {
            if t.starts_with("arn:") {
                t.clone()
            } else {
                format!("arn:aws:sns:{}:{}:{t}", self.home_region, self.account)
            }
        })
    }

    /// Whether any custom selector is set.
    pub fn has_custom_event_selectors(&self) -> bool {
        !self.event_selectors.is_empty() || !self.advanced_event_selectors.is_empty()
    }
}

/// Trails, partition = account id, key = name.
pub const TRAILS: Collection<Trail> = Collection::new("cloudtrail.trails");
