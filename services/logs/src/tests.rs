//! Service tests: handlers called through the dispatcher against an in-memory store and
//! a manual clock, with a stand-in CloudWatch that records `PutMetricData`.

use std::sync::{Arc, Mutex};

use chrono::{DateTime, TimeDelta};
use mamori_aws::{AccountId, AwsError, Region};
use mamori_service::{
    Context, Dispatcher, ManualClock, OpSpec, Principal, RootCredentials, Service, async_trait,
};
use serde_json::{Value, json};

use crate::Logs;
use crate::state::{OUTBOX, OUTBOX_PART};

const START: i64 = 1_700_000_000;

/// How the stand-in CloudWatch answers.
#[derive(Default, Clone, Copy)]
enum Mode {
    #[default]
    Down,
    RejectData,
    Accept,
}

/// A CloudWatch that answers `PutMetricData` according to `mode`.
#[derive(Default)]
struct FakeCloudWatch {
    mode: Mutex<Mode>,
    calls: Mutex<Vec<Value>>,
}

#[async_trait]
impl Service for FakeCloudWatch {
    fn model_id(&self) -> &'static str {
        "cloudwatch"
    }
    fn operations(&self) -> &'static [OpSpec] {
        &[OpSpec { name: "PutMetricData", gaps: &[] }]
    }
    async fn call(&self, ctx: &Context, _: &str, input: Value) -> Result<Value, AwsError> {
        assert_eq!(ctx.principal.arn, "logs.amazonaws.com");
        match *self.mode.lock().unwrap() {
            Mode::Down => {
                return Err(AwsError::new("InternalServiceFault", "down").with_status(500));
            }
            Mode::RejectData => {
                return Err(AwsError::new("InvalidParameterValue", "too old").with_status(400));
            }
            Mode::Accept => {}
        }
        self.calls.lock().unwrap().push(input);
        Ok(json!({}))
    }
}

struct Env {
    d: Arc<Dispatcher>,
    logs: Arc<Logs>,
    cw: Arc<FakeCloudWatch>,
    ctx: Context,
}

impl Env {
    fn new() -> Self {
        let account = AccountId::parse("000000000000").unwrap();
        let creds = RootCredentials {
            access_key_id: "test".into(),
            secret: "test".into(),
            account: account.clone(),
        };
        let clock = Arc::new(ManualClock::new(DateTime::from_timestamp(START, 0).unwrap()));
        let logs = Arc::new(Logs::new());
        let cw = Arc::new(FakeCloudWatch::default());
        let store = mamori_store::Store::in_memory().unwrap();
        let services: Vec<Arc<dyn Service>> = vec![logs.clone(), cw.clone()];
        let d = Dispatcher::new(services, Arc::new(creds), clock, store);
        let region = Region::parse("us-east-1").unwrap();
        let ctx = Context::internal(d.clone(), Principal::root(account.clone()), account, region);
        Env { d, logs, cw, ctx }
    }

    async fn call(&self, op: &str, input: Value) -> Result<Value, AwsError> {
        let mut ctx = self.ctx.clone();
        ctx.time = self.d.clock().now();
        self.d.call(&ctx, "logs", op, input).await
    }

    async fn ok(&self, op: &str, input: Value) -> Value {
        self.call(op, input).await.unwrap_or_else(|e| panic!("{op}: {} {}", e.code, e.message))
    }

    fn outbox(&self) -> Vec<crate::state::PendingDatapoint> {
        self.d
            .store()
            .read(|tx| OUTBOX.range(tx, OUTBOX_PART, &[], i64::MIN, i64::MAX, None, 10_000, false))
            .unwrap()
            .into_iter()
            .map(|r| r.value)
            .collect()
    }

    async fn setup(&self, group: &str) {
        self.ok("CreateLogGroup", json!({"logGroupName": group})).await;
        self.ok("CreateLogStream", json!({"logGroupName": group, "logStreamName": "s"})).await;
    }
}

fn ms(offset_s: i64) -> i64 {
    (START + offset_s) * 1000
}

#[tokio::test]
async fn events_round_trip_with_rejections() {
    let env = Env::new();
    env.setup("g").await;
    let out = env
        .ok(
            "PutLogEvents",
            json!({"logGroupName": "g", "logStreamName": "s", "logEvents": [
                {"timestamp": ms(-15 * 86_400), "message": "ancient"},
                {"timestamp": ms(-15 * 86_400 + 1), "message": "ancient too"},
            ]}),
        )
        .await;
    assert_eq!(out["rejectedLogEventsInfo"], json!({"tooOldLogEventEndIndex": 1}));
    let out = env
        .ok(
            "PutLogEvents",
            json!({"logGroupName": "g", "logStreamName": "s", "logEvents": [
                {"timestamp": ms(-10), "message": "one"},
                {"timestamp": ms(-5), "message": "two"},
                {"timestamp": ms(3 * 3600), "message": "future"},
            ]}),
        )
        .await;
    assert_eq!(out["rejectedLogEventsInfo"], json!({"tooNewLogEventStartIndex": 2}));
    let got = env
        .ok(
            "GetLogEvents",
            json!({"logGroupName": "g", "logStreamName": "s", "startFromHead": true}),
        )
        .await;
    let messages: Vec<&str> =
        got["events"].as_array().unwrap().iter().map(|e| e["message"].as_str().unwrap()).collect();
    assert_eq!(messages, ["one", "two"]);
    // At the end, the forward token comes back unchanged.
    let again = env
        .ok(
            "GetLogEvents",
            json!({"logGroupName": "g", "logStreamName": "s", "nextToken": got["nextForwardToken"]}),
        )
        .await;
    assert_eq!(again["events"], json!([]));
    assert_eq!(again["nextForwardToken"], got["nextForwardToken"]);
    let streams = env.ok("DescribeLogStreams", json!({"logGroupName": "g"})).await;
    assert_eq!(streams["logStreams"][0]["firstEventTimestamp"], json!(ms(-10)));
    assert_eq!(streams["logStreams"][0]["lastEventTimestamp"], json!(ms(-5)));
    // An unsorted batch is refused and stores nothing.
    let err = env
        .call(
            "PutLogEvents",
            json!({"logGroupName": "g", "logStreamName": "s", "logEvents": [
                {"timestamp": ms(0), "message": "b"}, {"timestamp": ms(-1), "message": "a"}]}),
        )
        .await
        .unwrap_err();
    assert_eq!(err.code, "InvalidParameterException");
    let all = env.ok("FilterLogEvents", json!({"logGroupName": "g"})).await;
    assert_eq!(all["events"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn metric_filters_queue_then_deliver() {
    let env = Env::new();
    env.setup("trail").await;
    env.ok(
        "PutMetricFilter",
        json!({"logGroupName": "trail", "filterName": "unauth",
               "filterPattern": "{($.errorCode=\"*UnauthorizedOperation\") || ($.errorCode=\"AccessDenied*\")}",
               "metricTransformations": [{"metricName": "UnauthorizedAPICalls",
                   "metricNamespace": "LogMetrics", "metricValue": "1"}]}),
    )
    .await;
    env.ok(
        "PutMetricFilter",
        json!({"logGroupName": "trail", "filterName": "by-user", "filterPattern": "{ $.bytes > 0 }",
               "metricTransformations": [{"metricName": "Bytes", "metricNamespace": "App",
                   "metricValue": "$.bytes", "dimensions": {"User": "$.user"}, "unit": "Bytes"}]}),
    )
    .await;
    env.ok(
        "PutMetricFilter",
        json!({"logGroupName": "trail", "filterName": "errors", "filterPattern": "ERROR",
               "metricTransformations": [{"metricName": "Errors", "metricNamespace": "App",
                   "metricValue": "1", "defaultValue": 0.0}]}),
    )
    .await;
    let minute = (START / 60) * 60;
    let events = [
        r#"{"errorCode":"AccessDenied"}"#,
        r#"{"errorCode":"Client.UnauthorizedOperation"}"#,
        r#"{"errorCode":"TrailNotFoundException"}"#,
        r#"{"bytes":10,"user":"ann"}"#,
        r#"{"bytes":30,"user":"ann"}"#,
        r#"{"bytes":5,"user":"bob"}"#,
    ];
    let log_events: Vec<Value> =
        events.iter().map(|m| json!({"timestamp": minute * 1000, "message": m})).collect();
    env.ok(
        "PutLogEvents",
        json!({"logGroupName": "trail", "logStreamName": "s", "logEvents": log_events}),
    )
    .await;
    let mut pending = env.outbox();
    pending.sort_by(|a, b| (&a.metric_name, &a.dimensions).cmp(&(&b.metric_name, &b.dimensions)));
    type Summary<'a> = (&'a str, Vec<(String, String)>, f64, f64, f64, f64);
    let summary: Vec<Summary<'_>> = pending
        .iter()
        .map(|p| {
            (
                p.metric_name.as_str(),
                p.dimensions.clone(),
                p.sample_count,
                p.sum,
                p.minimum,
                p.maximum,
            )
        })
        .collect();
    let ann = vec![("User".to_owned(), "ann".to_owned())];
    let bob = vec![("User".to_owned(), "bob".to_owned())];
    assert_eq!(
        summary,
        [
            ("Bytes", ann, 2.0, 40.0, 10.0, 30.0),
            ("Bytes", bob, 1.0, 5.0, 5.0, 5.0),
            ("Errors", vec![], 1.0, 0.0, 0.0, 0.0),
            ("UnauthorizedAPICalls", vec![], 2.0, 2.0, 1.0, 1.0),
        ]
    );
    assert!(pending.iter().all(|p| p.timestamp == minute));

    // CloudWatch refuses: everything stays queued.
    crate::metrics::deliver(&env.logs.delivery, &env.d, env.d.clock().now()).await;
    assert_eq!(env.outbox().len(), 4);
    // It accepts after the retry delay: the outbox drains, one call per namespace.
    *env.cw.mode.lock().unwrap() = Mode::Accept;
    let later = env.d.clock().now() + TimeDelta::minutes(10);
    crate::metrics::deliver(&env.logs.delivery, &env.d, later).await;
    assert!(env.outbox().is_empty());
    let calls = env.cw.calls.lock().unwrap().clone();
    assert_eq!(calls.len(), 2);
    let lm = calls.iter().find(|c| c["Namespace"] == "LogMetrics").unwrap();
    assert_eq!(
        lm["MetricData"],
        json!([{"MetricName": "UnauthorizedAPICalls", "Timestamp": minute,
                "StatisticValues": {"SampleCount": 2.0, "Sum": 2.0, "Minimum": 1.0, "Maximum": 1.0}}])
    );
    let app = calls.iter().find(|c| c["Namespace"] == "App").unwrap();
    assert!(
        app["MetricData"].as_array().unwrap().iter().any(|d| d["Unit"] == "Bytes"
            && d["Dimensions"] == json!([{"Name": "User", "Value": "ann"}]))
    );
}

#[tokio::test]
async fn matches_keep_their_second_and_defaults_their_minute() {
    let env = Env::new();
    env.setup("g").await;
    env.ok(
        "PutMetricFilter",
        json!({"logGroupName": "g", "filterName": "errors", "filterPattern": "ERROR",
               "metricTransformations": [{"metricName": "Errors", "metricNamespace": "App",
                   "metricValue": "1", "defaultValue": 0.0}]}),
    )
    .await;
    let minute = (START / 60) * 60;
    // Two matches in second 12, one in second 41 of one minute; nothing matches in the
    // next minute, which only gets the default.
    let at = |s: i64, m: &str| json!({"timestamp": (minute + s) * 1000 + 250, "message": m});
    let log_events = vec![at(12, "ERROR a"), at(12, "ERROR b"), at(41, "ERROR c"), at(75, "fine")];
    env.ok(
        "PutLogEvents",
        json!({"logGroupName": "g", "logStreamName": "s", "logEvents": log_events}),
    )
    .await;
    let mut got: Vec<(i64, f64, f64)> =
        env.outbox().iter().map(|p| (p.timestamp, p.sample_count, p.sum)).collect();
    got.sort_by_key(|g| g.0);
    assert_eq!(got, [(minute + 12, 2.0, 2.0), (minute + 41, 1.0, 1.0), (minute + 60, 1.0, 0.0)]);
}

#[test]
fn datapoints_queued_by_minute_versions_still_decode() {
    let old = json!({"log_group": "g", "filter_name": "f", "namespace": "N", "metric_name": "M",
        "dimensions": [], "minute": 1_700_000_040, "sample_count": 1.0, "sum": 1.0,
        "minimum": 1.0, "maximum": 1.0, "unit": null});
    let p: crate::state::PendingDatapoint = serde_json::from_value(old).unwrap();
    assert_eq!(p.timestamp, 1_700_000_040);
}

#[tokio::test]
async fn filter_changes_reach_ingestion() {
    let env = Env::new();
    env.setup("g").await;
    let put = |pattern: &str| {
        json!({"logGroupName": "g", "filterName": "f", "filterPattern": pattern,
               "metricTransformations": [{"metricName": "M", "metricNamespace": "N", "metricValue": "1"}]})
    };
    let event = |m: &str| {
        json!({"logGroupName": "g", "logStreamName": "s",
               "logEvents": [{"timestamp": ms(0), "message": m}]})
    };
    env.ok("PutMetricFilter", put("ERROR")).await;
    env.ok("PutLogEvents", event("WARN x")).await;
    assert!(env.outbox().is_empty());
    // Replacing the filter takes effect on the next batch (the cached set is dropped).
    env.ok("PutMetricFilter", put("WARN")).await;
    env.ok("PutLogEvents", event("WARN x")).await;
    assert_eq!(env.outbox().len(), 1);
    env.ok("DeleteMetricFilter", json!({"logGroupName": "g", "filterName": "f"})).await;
    env.ok("PutLogEvents", event("WARN y")).await;
    assert_eq!(env.outbox().len(), 1);
    let groups = env.ok("DescribeLogGroups", json!({})).await;
    assert_eq!(groups["logGroups"][0]["metricFilterCount"], 0);
}

#[tokio::test]
async fn bad_input_gets_aws_errors() {
    let env = Env::new();
    env.setup("g").await;
    let cases = [
        ("CreateLogGroup", json!({"logGroupName": "bad name"}), "InvalidParameterException"),
        ("CreateLogGroup", json!({"logGroupName": "g"}), "ResourceAlreadyExistsException"),
        (
            "CreateLogStream",
            json!({"logGroupName": "g", "logStreamName": "a:b"}),
            "InvalidParameterException",
        ),
        (
            "CreateLogStream",
            json!({"logGroupName": "nope", "logStreamName": "s"}),
            "ResourceNotFoundException",
        ),
        (
            "PutRetentionPolicy",
            json!({"logGroupName": "g", "retentionInDays": 4}),
            "InvalidParameterException",
        ),
        (
            "PutLogEvents",
            json!({"logGroupName": "g", "logStreamName": "nope",
            "logEvents": [{"timestamp": ms(0), "message": "m"}]}),
            "ResourceNotFoundException",
        ),
        (
            "PutMetricFilter",
            json!({"logGroupName": "g", "filterName": "f", "filterPattern": "{ $.eventName }",
            "metricTransformations": [{"metricName": "M", "metricNamespace": "N", "metricValue": "1"}]}),
            "InvalidParameterException",
        ),
        (
            "PutMetricFilter",
            json!({"logGroupName": "g", "filterName": "f", "filterPattern": "x",
            "metricTransformations": [{"metricName": "M$", "metricNamespace": "N", "metricValue": "1"}]}),
            "InvalidParameterException",
        ),
        (
            "FilterLogEvents",
            json!({"logGroupName": "g", "filterPattern": "{ oops"}),
            "InvalidParameterException",
        ),
        ("DeleteLogGroup", json!({"logGroupName": "nope"}), "ResourceNotFoundException"),
    ];
    for (op, input, code) in cases {
        let err = env.call(op, input.clone()).await.unwrap_err();
        assert_eq!(err.code, code, "{op} {input}");
    }
    let err = env
        .call(
            "PutMetricFilter",
            json!({"logGroupName": "g", "filterName": "f", "filterPattern": "{ $.eventName }",
            "metricTransformations": [{"metricName": "M", "metricNamespace": "N", "metricValue": "1"}]}),
        )
        .await
        .unwrap_err();
    assert!(
        err.message
            .starts_with("Invalid metric filter pattern: invalid filter pattern at offset 14"),
        "{}",
        err.message
    );
}

#[tokio::test]
async fn filter_limit_is_100() {
    let env = Env::new();
    env.setup("g").await;
    for i in 0..100 {
        env.ok(
            "PutMetricFilter",
            json!({"logGroupName": "g", "filterName": format!("f{i}"), "filterPattern": "x",
               "metricTransformations": [{"metricName": "M", "metricNamespace": "N", "metricValue": "1"}]}),
        )
        .await;
    }
    let err = env
        .call(
            "PutMetricFilter",
            json!({"logGroupName": "g", "filterName": "f100", "filterPattern": "x",
               "metricTransformations": [{"metricName": "M", "metricNamespace": "N", "metricValue": "1"}]}),
        )
        .await
        .unwrap_err();
    assert_eq!(err.code, "LimitExceededException");
    let page = env.ok("DescribeMetricFilters", json!({"logGroupName": "g", "limit": 30})).await;
    assert_eq!(page["metricFilters"].as_array().unwrap().len(), 30);
    let next = env
        .ok("DescribeMetricFilters", json!({"logGroupName": "g", "nextToken": page["nextToken"]}))
        .await;
    assert_eq!(next["metricFilters"].as_array().unwrap().len(), 50);
}

#[tokio::test]
async fn retention_deletes_old_events() {
    let env = Env::new();
    env.setup("g").await;
    env.ok(
        "PutLogEvents",
        json!({"logGroupName": "g", "logStreamName": "s",
               "logEvents": [{"timestamp": ms(-3600), "message": "old"}, {"timestamp": ms(0), "message": "new"}]}),
    )
    .await;
    env.ok("PutRetentionPolicy", json!({"logGroupName": "g", "retentionInDays": 1})).await;
    // The cached group state follows the new retention: a 2-day-old event is expired now.
    let out = env
        .ok(
            "PutLogEvents",
            json!({"logGroupName": "g", "logStreamName": "s",
                   "logEvents": [{"timestamp": ms(-2 * 86_400), "message": "expired"}]}),
        )
        .await;
    assert_eq!(out["rejectedLogEventsInfo"], json!({"expiredLogEventEndIndex": 0}));
    let now = env.d.clock().now();
    crate::ops::groups::enforce_retention(
        &env.d,
        now + TimeDelta::hours(23) + TimeDelta::minutes(30),
    );
    let left = env.ok("FilterLogEvents", json!({"logGroupName": "g"})).await;
    let messages: Vec<&str> =
        left["events"].as_array().unwrap().iter().map(|e| e["message"].as_str().unwrap()).collect();
    assert_eq!(messages, ["new"]);
}

#[tokio::test]
async fn datapoints_cloudwatch_refuses_are_dropped() {
    let env = Env::new();
    env.setup("g").await;
    env.ok(
        "PutMetricFilter",
        json!({"logGroupName": "g", "filterName": "f", "filterPattern": "",
               "metricTransformations": [{"metricName": "M", "metricNamespace": "N", "metricValue": "1"}]}),
    )
    .await;
    env.ok(
        "PutLogEvents",
        json!({"logGroupName": "g", "logStreamName": "s",
               "logEvents": [{"timestamp": ms(0), "message": "anything"}]}),
    )
    .await;
    assert_eq!(env.outbox().len(), 1);
    *env.cw.mode.lock().unwrap() = Mode::RejectData;
    crate::metrics::deliver(&env.logs.delivery, &env.d, env.d.clock().now()).await;
    assert!(env.outbox().is_empty());
}

#[tokio::test]
async fn regex_filters_are_limited_to_five() {
    let env = Env::new();
    env.setup("g").await;
    let put = |i: usize| {
        json!({"logGroupName": "g", "filterName": format!("r{i}"), "filterPattern": format!("%err{i}%"),
               "metricTransformations": [{"metricName": "M", "metricNamespace": "N", "metricValue": "1"}]})
    };
    for i in 0..5 {
        env.ok("PutMetricFilter", put(i)).await;
    }
    // Replacing one of the five is fine; a sixth is not.
    env.ok("PutMetricFilter", put(4)).await;
    let err = env.call("PutMetricFilter", put(5)).await.unwrap_err();
    assert_eq!(err.code, "LimitExceededException");
}
