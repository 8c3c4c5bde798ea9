//! Which data events any logging trail could select, so that data calls (S3 object
//! calls, SNS Publish...) are recorded only when some trail's event selectors ask for
//! them, as AWS does
//! (<https://docs.aws.amazon.com/awscloudtrail/latest/userguide/logging-data-events-with-cloudtrail.html>).
//!
//! The answer is a bit set of data resource types, read with one atomic load on every
//! call and recomputed from the trails whenever a call changes what trails select
//! (CreateTrail, UpdateTrail, DeleteTrail, StartLogging, StopLogging, PutEventSelectors)
//! and at start-up. It only says whether to record; each trail's delivery then applies its
//! own selectors exactly.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU8, Ordering};

use mamori_store::Store;
use serde_json::Value;

use crate::state::{TRAILS, Trail};

/// `AWS::S3::Object`: S3 object-level calls.
pub const S3_OBJECT: u8 = 1;
/// `AWS::SNS::Topic`: Publish and PublishBatch.
pub const SNS_TOPIC: u8 = 2;
/// Every data resource type mamori records.
pub const ALL: u8 = S3_OBJECT | SNS_TOPIC;

/// The calls whose success changes what trails select.
pub const CHANGING_OPS: &[&str] = &[
    "CreateTrail",
    "UpdateTrail",
    "DeleteTrail",
    "StartLogging",
    "StopLogging",
    "PutEventSelectors",
];

/// The data resource type bit of a data call; 0 for calls mamori never records as data
/// events.
// GAP: CloudWatch Logs (PutLogEvents, GetLogEvents, FilterLogEvents) and CloudWatch
// (PutMetricData, GetMetricData) data events are never recorded, whatever the selectors;
// Lambda and DynamoDB selectors are accepted but select nothing (mamori has neither).
pub fn data_type(service: &str) -> u8 {
    match service {
        "s3" => S3_OBJECT,
        "sns" => SNS_TOPIC,
        _ => 0,
    }
}

/// The bit of a `resources.type` / `DataResources.Type` value.
fn type_bit(ty: &str) -> u8 {
    match ty {
        "AWS::S3::Object" => S3_OBJECT,
        "AWS::SNS::Topic" => SNS_TOPIC,
        _ => 0,
    }
}

/// The data resource types `trail` could select (0 when it does not log).
pub fn wanted_by(trail: &Trail) -> u8 {
    if !trail.is_logging {
        return 0;
    }
    if !trail.advanced_event_selectors.is_empty() {
        return trail.advanced_event_selectors.iter().fold(0, |acc, sel| acc | advanced(sel));
    }
    let mut bits = 0;
    for sel in &trail.event_selectors {
        for res in sel["DataResources"].as_array().into_iter().flatten() {
            bits |= type_bit(res["Type"].as_str().unwrap_or_default());
        }
    }
    bits
}

/// What one advanced selector could select: none unless its `eventCategory` can be
/// `Data`; the types its `resources.type` names (every type when it matches by anything
/// but `Equals`, or is absent).
fn advanced(sel: &Value) -> u8 {
    let fields = sel["FieldSelectors"].as_array().map(Vec::as_slice).unwrap_or_default();
    let field = |name: &str| fields.iter().find(|f| f["Field"] == name);
    let equals = |f: &Value| -> Option<Vec<String>> {
        let only_equals =
            f.as_object().is_some_and(|o| o.keys().all(|k| k == "Field" || k == "Equals"));
        only_equals.then(|| {
            f["Equals"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        })
    };
    if let Some(cat) = field("eventCategory")
        && let Some(values) = equals(cat)
        && !values.iter().any(|v| v == "Data")
    {
        return 0;
    }
    match field("resources.type").and_then(equals) {
        Some(types) => types.iter().fold(0, |acc, t| acc | type_bit(t)),
        None => ALL,
    }
}

/// The recorder's always-current answer.
#[derive(Debug, Default)]
pub struct Interest {
    bits: AtomicU8,
    /// Serializes recomputations, so the last one to finish read the latest trails.
    refreshing: Mutex<()>,
}

impl Interest {
    /// Whether some logging trail could select a data call of `service`.
    pub fn wants(&self, service: &str) -> bool {
        let bit = data_type(service);
        bit != 0 && self.bits.load(Ordering::Relaxed) & bit != 0
    }

    /// Recomputes from every trail in `store`.
    pub fn refresh(&self, store: &Store) {
        let _one = self.refreshing.lock().unwrap_or_else(|e| e.into_inner());
        match store.read(|tx| TRAILS.everywhere(tx)) {
            Ok(trails) => {
                let bits = trails.iter().fold(0, |acc, (_, _, t)| acc | wanted_by(t));
                self.bits.store(bits, Ordering::Relaxed);
            }
            Err(err) => {
                // Fail open: recording too much costs time, recording too little loses
                // events a trail asked for.
                tracing::error!(error = %err, "cannot read trails; recording every data event");
                self.bits.store(ALL, Ordering::Relaxed);
            }
        }
    }

    #[cfg(test)]
    pub fn bits(&self) -> u8 {
        self.bits.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn trail(basic: Value, advanced: Value, logging: bool) -> Trail {
        let mut t: Trail = serde_json::from_value(json!({
            "name": "t", "home_region": "us-east-1", "account": "111122223333",
            "s3_bucket_name": "b", "s3_key_prefix": null, "sns_topic_name": null,
            "include_global_service_events": true, "is_multi_region_trail": false,
            "log_file_validation_enabled": false, "cloud_watch_logs_log_group_arn": null,
            "cloud_watch_logs_role_arn": null, "kms_key_id": null, "is_organization_trail": false,
            "event_selectors": [], "advanced_event_selectors": [], "insight_selectors": [],
            "tags": [], "is_logging": true, "start_logging_time": null, "stop_logging_time": null,
            "status": {"logs_cursor": [], "logs_stream_created": false,
                "latest_cloud_watch_logs_delivery_time": null,
                "latest_cloud_watch_logs_delivery_error": null, "latest_delivery_error": null}
        }))
        .unwrap();
        t.event_selectors = serde_json::from_value(basic).unwrap();
        t.advanced_event_selectors = serde_json::from_value(advanced).unwrap();
        t.is_logging = logging;
        t
    }

    #[test]
    fn wanted_types_table() {
        let s3 = json!([{"ReadWriteType": "All", "IncludeManagementEvents": true,
            "DataResources": [{"Type": "AWS::S3::Object", "Values": ["arn:aws:s3:::bucket/"]}]}]);
        let lambda = json!([{"DataResources": [{"Type": "AWS::Lambda::Function", "Values": ["arn:aws:lambda"]}]}]);
        let adv_s3 = json!([{"FieldSelectors": [
            {"Field": "eventCategory", "Equals": ["Data"]},
            {"Field": "resources.type", "Equals": ["AWS::S3::Object"]}]}]);
        let adv_sns = json!([{"FieldSelectors": [
            {"Field": "eventCategory", "Equals": ["Data"]},
            {"Field": "resources.type", "Equals": ["AWS::SNS::Topic"]}]}]);
        let adv_mgmt =
            json!([{"FieldSelectors": [{"Field": "eventCategory", "Equals": ["Management"]}]}]);
        let adv_any_data = json!([{"FieldSelectors": [
            {"Field": "eventCategory", "Equals": ["Data"]},
            {"Field": "resources.type", "StartsWith": ["AWS::S3"]}]}]);
        let adv_not_mgmt =
            json!([{"FieldSelectors": [{"Field": "eventCategory", "NotEquals": ["Management"]}]}]);
        // (name, basic, advanced, logging, wanted bits)
        let cases = [
            ("default selectors", json!([]), json!([]), true, 0),
            ("basic S3 object", s3.clone(), json!([]), true, S3_OBJECT),
            ("basic S3 object, not logging", s3, json!([]), false, 0),
            ("basic Lambda: never recorded", lambda, json!([]), true, 0),
            ("advanced S3 object", json!([]), adv_s3, true, S3_OBJECT),
            ("advanced SNS topic", json!([]), adv_sns, true, SNS_TOPIC),
            ("advanced management only", json!([]), adv_mgmt, true, 0),
            ("advanced type by prefix", json!([]), adv_any_data, true, ALL),
            ("advanced category by NotEquals", json!([]), adv_not_mgmt, true, ALL),
        ];
        for (name, basic, adv, logging, want) in cases {
            assert_eq!(wanted_by(&trail(basic, adv, logging)), want, "{name}");
        }
    }

    #[test]
    fn refresh_reads_the_trails() {
        let store = Store::in_memory().unwrap();
        let interest = Interest::default();
        interest.refresh(&store);
        assert!(!interest.wants("s3"));
        let t = trail(
            json!([{"DataResources": [{"Type": "AWS::S3::Object", "Values": ["arn:aws:s3"]}]}]),
            json!([]),
            true,
        );
        store.write(|tx| TRAILS.put(tx, "111122223333", "t", &t)).unwrap();
        interest.refresh(&store);
        assert!(interest.wants("s3"));
        assert!(!interest.wants("sns"));
        assert!(!interest.wants("logs"));
        assert_eq!(interest.bits(), S3_OBJECT);
    }
}
