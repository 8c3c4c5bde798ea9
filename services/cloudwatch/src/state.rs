//! What CloudWatch keeps in the store: raw metric samples (a [`Series`] per account and
//! region, one stream per metric), the known metrics (for `ListMetrics`), metric alarms
//! and alarm history. Follows the data model of
//! <https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/cloudwatch_concepts.html>.

use mamori_store::{Collection, Series};
use serde::{Deserialize, Serialize};

/// Raw samples as published, stream = [`MetricKey::id`], timestamp in milliseconds.
pub const DATAPOINTS: Series<Sample> = Series::new("cloudwatch.datapoints");
/// Every metric that received data, keyed by [`MetricKey::id`].
pub const METRICS: Collection<MetricRecord> = Collection::new("cloudwatch.metrics");
/// Metric alarms keyed by name.
pub const ALARMS: Collection<Alarm> = Collection::new("cloudwatch.alarms");
/// Alarm history, stream = alarm name, so it outlives the alarm as in AWS.
pub const HISTORY: Series<HistoryItem> = Series::new("cloudwatch.history");

/// A dimension name/value pair, as on the wire.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Dimension {
    /// The name.
    pub name: String,
    /// The value.
    pub value: String,
}

/// A metric's identity: namespace, name and the sorted set of dimensions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MetricKey {
    /// The namespace.
    pub namespace: String,
    /// The metric name.
    pub name: String,
    /// Dimensions sorted by name (AWS treats them as a set).
    pub dimensions: Vec<Dimension>,
}

impl MetricKey {
    /// A key with its dimensions put in canonical order.
    pub fn new(namespace: &str, name: &str, mut dimensions: Vec<Dimension>) -> Self {
        dimensions.sort();
        dimensions.dedup();
        Self { namespace: namespace.to_owned(), name: name.to_owned(), dimensions }
    }

    /// The stream and document key: a JSON array `[namespace, name, [[k, v], ...]]`, so
    /// no separator can be forged by a dimension value and a namespace is a key prefix.
    pub fn id(&self) -> String {
        let dims: Vec<[&str; 2]> =
            self.dimensions.iter().map(|d| [d.name.as_str(), d.value.as_str()]).collect();
        serde_json::json!([self.namespace, self.name, dims]).to_string()
    }

    /// The key prefix of every metric of `namespace` (see [`MetricKey::id`]).
    pub fn namespace_prefix(namespace: &str) -> String {
        format!("[{},", serde_json::Value::String(namespace.to_owned()))
    }
}

/// A metric that has received data.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MetricRecord {
    /// Its identity.
    pub key: MetricKey,
    /// The newest time a datapoint was put (milliseconds), for `RecentlyActive`.
    pub last_put_ms: i64,
    /// Samples older than this (milliseconds) have been rolled up to one-minute
    /// resolution; see `retention.rs`.
    #[serde(default)]
    pub rolled_until_ms: i64,
    /// Whether high-resolution samples may be waiting for roll-up.
    #[serde(default)]
    pub has_high_res: bool,
}

/// One published sample: a statistic set, plus the individual values when the caller
/// sent them (needed for percentiles).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Sample {
    /// SampleCount.
    pub n: f64,
    /// Sum.
    pub s: f64,
    /// Minimum.
    pub lo: f64,
    /// Maximum.
    pub hi: f64,
    /// The unit, `None` for `None`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub u: Option<String>,
    /// Storage resolution in seconds (1 or 60).
    pub r: u32,
    /// `(value, count)` pairs when known; absent for statistic sets.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub v: Option<Vec<(f64, f64)>>,
}

/// The current state of an alarm.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AlarmState {
    /// `OK`, `ALARM` or `INSUFFICIENT_DATA`.
    pub value: String,
    /// StateReason.
    pub reason: String,
    /// StateReasonData (JSON text).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason_data: Option<String>,
    /// StateUpdatedTimestamp (ms).
    pub updated_ms: i64,
    /// StateTransitionedTimestamp (ms).
    pub transitioned_ms: i64,
}

/// A tag.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Tag {
    /// Key.
    pub key: String,
    /// Value.
    pub value: String,
}

/// A metric alarm: its configuration as given to `PutMetricAlarm` and its state.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Alarm {
    /// AlarmName.
    pub name: String,
    /// AlarmArn.
    pub arn: String,
    /// AlarmDescription.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// ActionsEnabled.
    pub actions_enabled: bool,
    /// OKActions.
    pub ok_actions: Vec<String>,
    /// AlarmActions.
    pub alarm_actions: Vec<String>,
    /// InsufficientDataActions.
    pub insufficient_data_actions: Vec<String>,
    /// The metric, for single-metric alarms.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metric: Option<MetricKey>,
    /// Statistic.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub statistic: Option<String>,
    /// ExtendedStatistic.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extended_statistic: Option<String>,
    /// Period (seconds); for metric math alarms the period of the queries.
    pub period: i64,
    /// Unit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit: Option<String>,
    /// EvaluationPeriods.
    pub evaluation_periods: i64,
    /// DatapointsToAlarm as given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub datapoints_to_alarm: Option<i64>,
    /// Threshold.
    pub threshold: f64,
    /// ComparisonOperator.
    pub comparison_operator: String,
    /// TreatMissingData as given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub treat_missing_data: Option<String>,
    /// EvaluateLowSampleCountPercentile as given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub evaluate_low_sample_count_percentile: Option<String>,
    /// AlarmRule: set for a composite alarm (whose metric fields are then unused).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rule: Option<String>,
    /// Metrics (metric math alarms), in the neutral form of `MetricDataQueries`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metrics: Option<serde_json::Value>,
    /// Tags.
    #[serde(default)]
    pub tags: Vec<Tag>,
    /// AlarmConfigurationUpdatedTimestamp (ms).
    pub config_updated_ms: i64,
    /// The state.
    pub state: AlarmState,
}

impl Alarm {
    /// `arn:aws:cloudwatch:<region>:<account>:alarm:<name>`.
    pub fn arn_for(region: &str, account: &str, name: &str) -> String {
        format!("arn:aws:cloudwatch:{region}:{account}:alarm:{name}")
    }

    /// The actions of a state.
    pub fn actions_for(&self, state: &str) -> &[String] {
        match state {
            "OK" => &self.ok_actions,
            "ALARM" => &self.alarm_actions,
            _ => &self.insufficient_data_actions,
        }
    }

    /// `MetricAlarm` or `CompositeAlarm`.
    pub fn alarm_type(&self) -> &'static str {
        if self.rule.is_some() { "CompositeAlarm" } else { "MetricAlarm" }
    }

    /// Every action of every state.
    pub fn all_actions(&self) -> impl Iterator<Item = &String> {
        self.ok_actions.iter().chain(&self.alarm_actions).chain(&self.insufficient_data_actions)
    }
}

/// One alarm history item.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct HistoryItem {
    /// AlarmName.
    pub alarm_name: String,
    /// AlarmType; absent (metric alarm) in items written before composite alarms.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alarm_type: Option<String>,
    /// HistoryItemType: `ConfigurationUpdate`, `StateUpdate` or `Action`.
    pub item_type: String,
    /// HistorySummary.
    pub summary: String,
    /// HistoryData (JSON text).
    pub data: String,
}

/// `2015-06-03T17:43:27.123+0000`, the form alarm JSON documents use.
pub fn aws_time(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .unwrap_or_default()
        .format("%Y-%m-%dT%H:%M:%S%.3f+0000")
        .to_string()
}

/// Milliseconds as the neutral timestamp (epoch seconds).
pub fn epoch_seconds(ms: i64) -> serde_json::Value {
    if ms % 1000 == 0 {
        serde_json::Value::from(ms / 1000)
    } else {
        serde_json::Value::from(ms as f64 / 1000.0)
    }
}

/// The neutral timestamp (epoch seconds, integer or fractional) as milliseconds.
pub fn to_millis(seconds: f64) -> i64 {
    (seconds * 1000.0).round() as i64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metric_ids_are_canonical_and_prefixed_by_namespace() {
        let d = |n: &str, v: &str| Dimension { name: n.into(), value: v.into() };
        let a = MetricKey::new("App", "Latency", vec![d("b", "2"), d("a", "1")]);
        let b = MetricKey::new("App", "Latency", vec![d("a", "1"), d("b", "2")]);
        assert_eq!(a.id(), b.id());
        assert_eq!(a.id(), r#"["App","Latency",[["a","1"],["b","2"]]]"#);
        assert!(a.id().starts_with(&MetricKey::namespace_prefix("App")));
        assert!(!a.id().starts_with(&MetricKey::namespace_prefix("Ap")));
    }

    #[test]
    fn time_formats() {
        assert_eq!(aws_time(1_433_353_407_123), "2015-06-03T17:43:27.123+0000");
        assert_eq!(epoch_seconds(60_000), serde_json::json!(60));
        assert_eq!(to_millis(1.5), 1500);
    }
}
