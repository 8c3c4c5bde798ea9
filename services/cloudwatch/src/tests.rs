//! Service tests: handlers called through the dispatcher against an in-memory store and
//! a manual clock, with the scheduler driving evaluation.

use std::sync::Arc;

use chrono::{DateTime, TimeDelta};
use mamori_aws::{AccountId, Region};
use mamori_service::{Dispatcher, ManualClock, Principal, RootCredentials, SharedClock};
use serde_json::{Value, json};

use super::*;

const START: i64 = 1_700_000_015;

struct Env {
    d: Arc<Dispatcher>,
    clock: SharedClock,
}

impl Env {
    fn new() -> Self {
        let account = AccountId::parse("000000000000").unwrap();
        let creds = RootCredentials { access_key_id: "k".into(), secret: "s".into(), account };
        let clock: SharedClock =
            Arc::new(ManualClock::new(DateTime::from_timestamp(START, 0).unwrap()));
        let store = mamori_store::Store::in_memory().unwrap();
        let cw = Arc::new(CloudWatch::default());
        let d = Dispatcher::new(vec![cw.clone()], Arc::new(creds), clock.clone(), store);
        register_tasks(&d, cw);
        Self { d, clock }
    }

    fn ctx(&self) -> Context {
        let account = AccountId::parse("000000000000").unwrap();
        Context::internal(
            self.d.clone(),
            Principal::root(account.clone()),
            account,
            Region::parse("us-east-1").unwrap(),
        )
    }

    async fn call(&self, op: &str, input: Value) -> Result<Value, AwsError> {
        self.d.call(&self.ctx(), "cloudwatch", op, input).await
    }

    async fn advance(&self, secs: i64) {
        let until = self.clock.now() + TimeDelta::seconds(secs);
        self.d.scheduler().advance_to(&self.clock, until).await;
    }

    async fn state(&self, name: &str) -> Value {
        let got = self.call("DescribeAlarms", json!({"AlarmNames": [name]})).await.unwrap();
        got["MetricAlarms"][0].clone()
    }
}

fn cis_alarm(name: &str, metric: &str) -> Value {
    json!({
        "AlarmName": name, "ActionsEnabled": true,
        "AlarmActions": ["arn:aws:sns:us-east-1:000000000000:alerts"],
        "OKActions": ["arn:aws:sns:us-east-1:000000000000:alerts"],
        "ComparisonOperator": "GreaterThanOrEqualToThreshold", "EvaluationPeriods": 1,
        "MetricName": metric, "Namespace": "LogMetrics", "Period": 60, "Statistic": "Maximum",
        "Threshold": 1.0, "TreatMissingData": "notBreaching"
    })
}

#[tokio::test]
async fn a_datapoint_alarms_then_the_alarm_returns_to_ok() {
    let env = Env::new();
    env.call("PutMetricAlarm", cis_alarm("root-usage", "RootUsage")).await.unwrap();
    let a = env.state("root-usage").await;
    assert_eq!(a["StateValue"], "INSUFFICIENT_DATA");
    assert_eq!(a["StateReason"], "Unchecked: Initial alarm creation");
    assert_eq!(a["AlarmArn"], "arn:aws:cloudwatch:us-east-1:000000000000:alarm:root-usage");
    env.call("PutMetricData", json!({"Namespace": "LogMetrics", "MetricData": [{"MetricName": "RootUsage", "Value": 1.0}]}))
        .await
        .unwrap();
    env.advance(60).await;
    let a = env.state("root-usage").await;
    assert_eq!(a["StateValue"], "ALARM", "{a}");
    env.advance(60).await;
    let a = env.state("root-usage").await;
    assert_eq!(a["StateValue"], "OK", "{a}");
    let history = env
        .call(
            "DescribeAlarmHistory",
            json!({"AlarmName": "root-usage", "HistoryItemType": "StateUpdate"}),
        )
        .await
        .unwrap();
    let summaries: Vec<&str> = history["AlarmHistoryItems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["HistorySummary"].as_str().unwrap())
        .collect();
    assert_eq!(
        summaries,
        ["Alarm updated from ALARM to OK", "Alarm updated from INSUFFICIENT_DATA to ALARM"]
    );
    // SNS is not registered here, so each action attempt is recorded as failed.
    let actions = env
        .call(
            "DescribeAlarmHistory",
            json!({"AlarmName": "root-usage", "HistoryItemType": "Action"}),
        )
        .await
        .unwrap();
    let first = &actions["AlarmHistoryItems"][0];
    assert_eq!(
        first["HistorySummary"],
        "Failed to execute action arn:aws:sns:us-east-1:000000000000:alerts"
    );
}

#[tokio::test]
async fn statistics_per_period() {
    let env = Env::new();
    let t = START as f64;
    let data: Vec<Value> = [1.0, 2.0, 3.0, 10.0]
        .iter()
        .map(|v| json!({"MetricName": "Latency", "Value": v, "Unit": "Milliseconds", "Timestamp": t}))
        .collect();
    env.call("PutMetricData", json!({"Namespace": "App", "MetricData": data})).await.unwrap();
    let got = env
        .call("GetMetricStatistics", json!({
            "Namespace": "App", "MetricName": "Latency", "StartTime": t - 60.0, "EndTime": t + 60.0,
            "Period": 60, "Statistics": ["Average", "Maximum", "SampleCount"]
        }))
        .await
        .unwrap();
    let dp = &got["Datapoints"][0];
    assert_eq!(dp["Average"], 4.0);
    assert_eq!(dp["Maximum"], 10.0);
    assert_eq!(dp["SampleCount"], 4.0);
    assert_eq!(dp["Unit"], "Milliseconds");
    let got = env
        .call("GetMetricStatistics", json!({
            "Namespace": "App", "MetricName": "Latency", "StartTime": t - 60.0, "EndTime": t + 60.0,
            "Period": 60, "ExtendedStatistics": ["p50"], "Unit": "Seconds"
        }))
        .await
        .unwrap();
    assert_eq!(got["Datapoints"], json!([]));
}

#[tokio::test]
async fn bad_input() {
    let env = Env::new();
    let cases = [
        (
            "PutMetricData",
            json!({"Namespace": "AWS/EC2", "MetricData": [{"MetricName": "m", "Value": 1.0}]}),
            "InvalidParameterValueException",
        ),
        (
            "PutMetricData",
            json!({"Namespace": "A", "MetricData": [{"MetricName": "m", "Value": 1.0, "StatisticValues": {"SampleCount": 1.0, "Sum": 1.0, "Minimum": 1.0, "Maximum": 1.0}}]}),
            "InvalidParameterCombinationException",
        ),
        (
            "PutMetricData",
            json!({"Namespace": "A", "MetricData": [{"MetricName": "m", "Value": 1e300}]}),
            "InvalidParameterValueException",
        ),
        (
            "PutMetricData",
            json!({"Namespace": "A", "MetricData": []}),
            "MissingRequiredParameterException",
        ),
        (
            "PutMetricAlarm",
            json!({"AlarmName": "a", "MetricName": "m", "Namespace": "A", "Period": 45, "Statistic": "Sum", "EvaluationPeriods": 1, "Threshold": 1.0, "ComparisonOperator": "GreaterThanThreshold"}),
            "InvalidParameterValueException",
        ),
        (
            "PutMetricAlarm",
            json!({"AlarmName": "a", "MetricName": "m", "Namespace": "A", "Period": 60, "Statistic": "Sum", "ExtendedStatistic": "p90", "EvaluationPeriods": 1, "Threshold": 1.0, "ComparisonOperator": "GreaterThanThreshold"}),
            "InvalidParameterCombinationException",
        ),
        (
            "PutMetricAlarm",
            json!({"AlarmName": "a", "MetricName": "m", "Namespace": "A", "Period": 60, "ExtendedStatistic": "tm90", "EvaluationPeriods": 1, "Threshold": 1.0, "ComparisonOperator": "GreaterThanThreshold"}),
            "InvalidParameterValueException",
        ),
        (
            "PutMetricAlarm",
            json!({"AlarmName": "a", "MetricName": "m", "Namespace": "A", "Period": 3600, "Statistic": "Sum", "EvaluationPeriods": 25, "Threshold": 1.0, "ComparisonOperator": "GreaterThanThreshold"}),
            "InvalidParameterValueException",
        ),
        (
            "PutMetricAlarm",
            json!({"AlarmName": "a", "MetricName": "m", "Namespace": "A", "Period": 60, "Statistic": "Sum", "Threshold": 1.0, "ComparisonOperator": "GreaterThanThreshold"}),
            "MissingRequiredParameterException",
        ),
        (
            "PutMetricAlarm",
            json!({"AlarmName": "a", "MetricName": "m", "Namespace": "A", "Period": 60, "Statistic": "Sum", "EvaluationPeriods": 1, "Threshold": 1.0, "ComparisonOperator": "LessThanLowerOrGreaterThanUpperThreshold"}),
            "ValidationException",
        ),
        (
            "SetAlarmState",
            json!({"AlarmName": "nope", "StateValue": "OK", "StateReason": "x"}),
            "ResourceNotFound",
        ),
    ];
    for (op, input, code) in cases {
        let err = env.call(op, input.clone()).await.unwrap_err();
        assert_eq!(err.code, code, "{op} {input}: {}", err.message);
    }
}

#[tokio::test]
async fn metric_math_alarm() {
    let env = Env::new();
    let q = |id: &str, metric: &str| json!({"Id": id, "ReturnData": false, "MetricStat": {"Metric": {"Namespace": "App", "MetricName": metric}, "Period": 60, "Stat": "Sum"}});
    let metrics = json!([q("errors", "Errors"), q("requests", "Requests"), {"Id": "rate", "Expression": "100 * errors / requests", "ReturnData": true}]);
    env.call("PutMetricAlarm", json!({
        "AlarmName": "error-rate", "Metrics": metrics, "EvaluationPeriods": 1, "Threshold": 10.0,
        "ComparisonOperator": "GreaterThanThreshold"
    }))
    .await
    .unwrap();
    let put = |name: &str, v: f64| json!({"Namespace": "App", "MetricData": [{"MetricName": name, "Value": v}]});
    env.call("PutMetricData", put("Errors", 5.0)).await.unwrap();
    env.call("PutMetricData", put("Requests", 20.0)).await.unwrap();
    env.advance(60).await;
    let a = env.state("error-rate").await;
    assert_eq!(a["StateValue"], "ALARM", "{a}");
    assert!(a.get("Period").is_none_or(Value::is_null));
    let bad = env
        .call("PutMetricAlarm", json!({
            "AlarmName": "two", "EvaluationPeriods": 1, "Threshold": 1.0, "ComparisonOperator": "GreaterThanThreshold",
            "Metrics": [q("a", "A"), {"Id": "b", "Expression": "a * 2"}, {"Id": "c", "Expression": "a * 3"}]
        }))
        .await
        .unwrap_err();
    assert_eq!(bad.message, "Exactly one element of the metrics list should return data.");
}

#[tokio::test]
async fn get_metric_data_pages_and_math() {
    let env = Env::new();
    let t = (START / 60 * 60) as f64;
    let data: Vec<Value> = (0..5)
        .map(|i| json!({"MetricName": "Hits", "Value": i as f64 + 1.0, "Timestamp": t - 60.0 * i as f64}))
        .collect();
    env.call("PutMetricData", json!({"Namespace": "App", "MetricData": data})).await.unwrap();
    let queries = json!([
        {"Id": "hits", "MetricStat": {"Metric": {"Namespace": "App", "MetricName": "Hits"}, "Period": 60, "Stat": "Sum"}},
        {"Id": "double", "Expression": "hits * 2", "Label": "Doubled"}
    ]);
    let input = json!({"MetricDataQueries": queries, "StartTime": t - 600.0, "EndTime": t + 60.0, "MaxDatapoints": 7});
    let page1 = env.call("GetMetricData", input.clone()).await.unwrap();
    let r = &page1["MetricDataResults"];
    assert_eq!(r[0]["Values"], json!([1.0, 2.0, 3.0, 4.0, 5.0]));
    assert_eq!(r[0]["StatusCode"], "Complete");
    assert_eq!(r[1]["Label"], "Doubled");
    assert_eq!(r[1]["Values"], json!([2.0, 4.0]));
    assert_eq!(r[1]["StatusCode"], "PartialData");
    let mut next = input.clone();
    next["NextToken"] = page1["NextToken"].clone();
    let page2 = env.call("GetMetricData", next).await.unwrap();
    assert_eq!(page2["MetricDataResults"][0]["Id"], "double");
    assert_eq!(page2["MetricDataResults"][0]["Values"], json!([6.0, 8.0, 10.0]));
    assert!(page2.get("NextToken").is_none());
    let bad = env
        .call("GetMetricData", json!({"MetricDataQueries": [{"Id": "x", "Expression": "FILL(y, 0)"}], "StartTime": t, "EndTime": t + 60.0}))
        .await
        .unwrap_err();
    assert_eq!(bad.code, "ValidationException");
}

/// Stands in for SNS: records each `Publish` and who made it.
#[derive(Default)]
struct FakeSns(std::sync::Mutex<Vec<(String, Value)>>);

#[async_trait]
impl Service for FakeSns {
    fn model_id(&self) -> &'static str {
        "sns"
    }
    fn operations(&self) -> &'static [OpSpec] {
        &[OpSpec { name: "Publish", gaps: &[] }]
    }
    async fn call(&self, ctx: &Context, _: &str, input: Value) -> Result<Value, AwsError> {
        self.0.lock().unwrap().push((ctx.principal.arn.clone(), input));
        Ok(json!({"MessageId": "1"}))
    }
}

#[tokio::test]
async fn sns_actions_publish_the_alarm_notification() {
    let account = AccountId::parse("000000000000").unwrap();
    let creds =
        RootCredentials { access_key_id: "k".into(), secret: "s".into(), account: account.clone() };
    let clock: SharedClock =
        Arc::new(ManualClock::new(DateTime::from_timestamp(START, 0).unwrap()));
    let cw = Arc::new(CloudWatch::default());
    let sns = Arc::new(FakeSns::default());
    let store = mamori_store::Store::in_memory().unwrap();
    let d = Dispatcher::new(vec![cw.clone(), sns.clone()], Arc::new(creds), clock.clone(), store);
    register_tasks(&d, cw);
    let env = Env { d, clock };
    let mut alarm = cis_alarm("notify", "Notify");
    alarm["AlarmDescription"] = json!("root used");
    alarm["Dimensions"] = json!([{"Name": "Trail", "Value": "main"}]);
    env.call("PutMetricAlarm", alarm).await.unwrap();
    let put = json!({"Namespace": "LogMetrics", "MetricData": [{"MetricName": "Notify", "Value": 1.0, "Dimensions": [{"Name": "Trail", "Value": "main"}]}]});
    env.call("PutMetricData", put).await.unwrap();
    env.advance(60).await;
    let calls = sns.0.lock().unwrap().clone();
    assert_eq!(calls.len(), 1, "{calls:?}");
    let (principal, input) = &calls[0];
    assert_eq!(principal, "cloudwatch.amazonaws.com");
    assert_eq!(input["TopicArn"], "arn:aws:sns:us-east-1:000000000000:alerts");
    assert_eq!(input["Subject"], "ALARM: \"notify\" in US East (N. Virginia)");
    let msg: Value = serde_json::from_str(input["Message"].as_str().unwrap()).unwrap();
    assert_eq!(msg["AlarmName"], "notify");
    assert_eq!(msg["AlarmDescription"], "root used");
    assert_eq!(msg["AWSAccountId"], "000000000000");
    assert_eq!(msg["NewStateValue"], "ALARM");
    assert_eq!(msg["OldStateValue"], "INSUFFICIENT_DATA");
    assert_eq!(msg["Region"], "US East (N. Virginia)");
    assert_eq!(msg["AlarmArn"], "arn:aws:cloudwatch:us-east-1:000000000000:alarm:notify");
    assert!(
        msg["NewStateReason"]
            .as_str()
            .unwrap()
            .starts_with("Threshold Crossed: 1 out of the last 1 datapoints")
    );
    assert!(msg["StateChangeTime"].as_str().unwrap().ends_with(".000+0000"));
    let trigger = &msg["Trigger"];
    assert_eq!(trigger["MetricName"], "Notify");
    assert_eq!(trigger["Namespace"], "LogMetrics");
    assert_eq!(trigger["StatisticType"], "Statistic");
    assert_eq!(trigger["Statistic"], "MAXIMUM");
    assert_eq!(trigger["Dimensions"], json!([{"value": "main", "name": "Trail"}]));
    assert_eq!(trigger["Threshold"], 1.0);
    assert_eq!(trigger["TreatMissingData"], "notBreaching");
    let actions = env
        .call("DescribeAlarmHistory", json!({"AlarmName": "notify", "HistoryItemType": "Action"}))
        .await
        .unwrap();
    assert_eq!(
        actions["AlarmHistoryItems"][0]["HistorySummary"],
        "Successfully executed action arn:aws:sns:us-east-1:000000000000:alerts"
    );
    // Disabled actions do not run.
    env.call("DisableAlarmActions", json!({"AlarmNames": ["notify"]})).await.unwrap();
    env.advance(60).await;
    assert_eq!(env.state("notify").await["StateValue"], "OK");
    assert_eq!(sns.0.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn the_logs_service_may_publish_to_aws_namespaces() {
    let env = Env::new();
    let input = json!({"Namespace": "AWS/Logs", "MetricData": [{
        "MetricName": "IncomingEvents", "Dimensions": [{"Name": "LogGroupName", "Value": "trail"}],
        "Timestamp": START, "StatisticValues": {"SampleCount": 3.0, "Sum": 3.0, "Minimum": 1.0, "Maximum": 1.0},
        "Unit": "Count"
    }]});
    let account = AccountId::parse("000000000000").unwrap();
    let region = Region::parse("us-east-1").unwrap();
    env.d
        .call_as_service(
            "logs.amazonaws.com",
            account,
            region,
            "cloudwatch",
            "PutMetricData",
            input.clone(),
        )
        .await
        .unwrap();
    let err = env.call("PutMetricData", input).await.unwrap_err();
    assert_eq!(err.message, "The value AWS/Logs for parameter Namespace is invalid.");
    let listed = env.call("ListMetrics", json!({"Namespace": "AWS/Logs"})).await.unwrap();
    assert_eq!(listed["Metrics"][0]["MetricName"], "IncomingEvents");
}

#[tokio::test]
async fn retention_rolls_up_high_resolution_samples() {
    let env = Env::new();
    let data: Vec<Value> = (0..6)
        .map(|i| json!({"MetricName": "Fast", "Value": i as f64, "StorageResolution": 1, "Timestamp": START + i * 5}))
        .collect();
    env.call("PutMetricData", json!({"Namespace": "Hi", "MetricData": data})).await.unwrap();
    // Past three hours the one-second samples become one-minute samples.
    env.advance(3 * 3600 + 600).await;
    let part = "000000000000/us-east-1";
    let key = state::MetricKey::new("Hi", "Fast", vec![]);
    let records = env
        .d
        .store()
        .read(|tx| state::DATAPOINTS.range(tx, part, &[&key.id()], 0, i64::MAX, None, 100, false))
        .unwrap();
    assert_eq!(records.len(), 2, "{records:?}");
    assert!(records.iter().all(|r| r.value.r == 60 && r.ts % 60_000 == 0));
    assert_eq!(records.iter().map(|r| r.value.n).sum::<f64>(), 6.0);
    assert_eq!(records.iter().map(|r| r.value.s).sum::<f64>(), 15.0);
}

#[test]
fn authorization_names_the_alarm_arns() {
    let env = Env::new();
    let ctx = env.ctx();
    let cw = CloudWatch::default();
    let cases = [
        (
            "PutMetricAlarm",
            json!({"AlarmName": "a"}),
            vec!["arn:aws:cloudwatch:us-east-1:000000000000:alarm:a"],
        ),
        (
            "DeleteAlarms",
            json!({"AlarmNames": ["a", "b"]}),
            vec![
                "arn:aws:cloudwatch:us-east-1:000000000000:alarm:a",
                "arn:aws:cloudwatch:us-east-1:000000000000:alarm:b",
            ],
        ),
        ("TagResource", json!({"ResourceARN": "arn:x"}), vec!["arn:x"]),
        ("PutMetricData", json!({"Namespace": "A"}), vec!["*"]),
        ("DescribeAlarms", json!({}), vec!["*"]),
    ];
    for (op, input, want) in cases {
        let req = cw.authz(&ctx, op, &input);
        assert_eq!(req.action, format!("cloudwatch:{op}"));
        assert_eq!(req.resources, want, "{op}");
    }
}

#[tokio::test]
async fn describe_alarms_pages_and_history_filters_by_date() {
    let env = Env::new();
    for name in ["p-1", "p-2", "p-3", "q-1"] {
        env.call("PutMetricAlarm", cis_alarm(name, "M")).await.unwrap();
        env.advance(1).await;
    }
    let page = env
        .call("DescribeAlarms", json!({"AlarmNamePrefix": "p-", "MaxRecords": 2}))
        .await
        .unwrap();
    let names: Vec<&str> = page["MetricAlarms"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["AlarmName"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["p-1", "p-2"]);
    let next = env
        .call(
            "DescribeAlarms",
            json!({"AlarmNamePrefix": "p-", "MaxRecords": 2, "NextToken": page["NextToken"]}),
        )
        .await
        .unwrap();
    assert_eq!(next["MetricAlarms"][0]["AlarmName"], "p-3");
    assert!(next.get("NextToken").is_none());
    let start = START as f64 + 1.0;
    let got = env
        .call(
            "DescribeAlarmHistory",
            json!({"StartDate": start, "EndDate": start + 1.0, "ScanBy": "TimestampAscending"}),
        )
        .await
        .unwrap();
    let names: Vec<&str> = got["AlarmHistoryItems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["AlarmName"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["p-2", "p-3"]);
    let one = env.call("DescribeAlarmHistory", json!({"MaxRecords": 1})).await.unwrap();
    assert_eq!(one["AlarmHistoryItems"][0]["AlarmName"], "q-1");
    let rest = env
        .call("DescribeAlarmHistory", json!({"MaxRecords": 10, "NextToken": one["NextToken"]}))
        .await
        .unwrap();
    assert_eq!(rest["AlarmHistoryItems"].as_array().unwrap().len(), 3);
}

mod composite_alarms {
    use super::*;

    async fn composite(env: &Env, name: &str) -> Value {
        let got = env
            .call("DescribeAlarms", json!({"AlarmNames": [name], "AlarmTypes": ["CompositeAlarm"]}))
            .await
            .unwrap();
        got["CompositeAlarms"][0].clone()
    }

    async fn set(env: &Env, name: &str, state: &str) {
        env.call(
            "SetAlarmState",
            json!({"AlarmName": name, "StateValue": state, "StateReason": "test"}),
        )
        .await
        .unwrap();
    }

    #[tokio::test]
    async fn follows_its_children_nested_and_through_evaluation() {
        let env = Env::new();
        env.call("PutMetricAlarm", cis_alarm("cpu", "Cpu")).await.unwrap();
        env.call("PutMetricAlarm", cis_alarm("deploying", "Deploy")).await.unwrap();
        env.call(
            "PutCompositeAlarm",
            json!({"AlarmName": "noisy", "AlarmRule": "ALARM(cpu) AND NOT ALARM(deploying)",
                   "AlarmActions": ["arn:aws:sns:us-east-1:000000000000:alerts"]}),
        )
        .await
        .unwrap();
        // Evaluated at once: both children are INSUFFICIENT_DATA, so the rule is false.
        let c = composite(&env, "noisy").await;
        assert_eq!(c["StateValue"], "OK", "{c}");
        assert_eq!(c["AlarmRule"], "ALARM(cpu) AND NOT ALARM(deploying)");
        env.call(
            "PutCompositeAlarm",
            json!({"AlarmName": "page", "AlarmRule": "ALARM(noisy) OR ALARM(\"arn:aws:cloudwatch:us-east-1:000000000000:alarm:deploying\")"}),
        )
        .await
        .unwrap();
        assert_eq!(composite(&env, "page").await["StateValue"], "OK");

        // A datapoint raises cpu at the next minute; both composites follow in that tick.
        env.call(
            "PutMetricData",
            json!({"Namespace": "LogMetrics", "MetricData": [{"MetricName": "Cpu", "Value": 5.0}]}),
        )
        .await
        .unwrap();
        env.advance(60).await;
        assert_eq!(env.state("cpu").await["StateValue"], "ALARM");
        let c = composite(&env, "noisy").await;
        assert_eq!(c["StateValue"], "ALARM", "{c}");
        assert!(
            c["StateReason"].as_str().unwrap().starts_with(
                "arn:aws:cloudwatch:us-east-1:000000000000:alarm:cpu transitioned to ALARM at "
            ),
            "{c}"
        );
        let data: Value = serde_json::from_str(c["StateReasonData"].as_str().unwrap()).unwrap();
        assert_eq!(data["triggeringAlarms"][0]["state"]["value"], "ALARM");
        assert_eq!(composite(&env, "page").await["StateValue"], "ALARM");

        // SetAlarmState on a child settles the composites too.
        set(&env, "deploying", "ALARM").await;
        assert_eq!(composite(&env, "noisy").await["StateValue"], "OK");
        assert_eq!(composite(&env, "page").await["StateValue"], "ALARM");

        // Composites have their own history, listed only when asked for.
        let history = env
            .call(
                "DescribeAlarmHistory",
                json!({"AlarmName": "noisy", "HistoryItemType": "StateUpdate"}),
            )
            .await
            .unwrap();
        assert_eq!(history["AlarmHistoryItems"], json!([]));
        let history = env
            .call(
                "DescribeAlarmHistory",
                json!({"AlarmName": "noisy", "HistoryItemType": "StateUpdate", "AlarmTypes": ["CompositeAlarm"]}),
            )
            .await
            .unwrap();
        let items = history["AlarmHistoryItems"].as_array().unwrap();
        let summaries: Vec<&str> =
            items.iter().map(|i| i["HistorySummary"].as_str().unwrap()).collect();
        assert_eq!(
            summaries,
            [
                "Alarm updated from ALARM to OK",
                "Alarm updated from OK to ALARM",
                "Alarm updated from INSUFFICIENT_DATA to OK"
            ]
        );
        assert!(items.iter().all(|i| i["AlarmType"] == "CompositeAlarm"));
        // The ALARM transition ran its action (SNS is absent here: recorded as failed).
        let actions = env
            .call(
                "DescribeAlarmHistory",
                json!({"AlarmName": "noisy", "HistoryItemType": "Action", "AlarmTypes": ["CompositeAlarm"]}),
            )
            .await
            .unwrap();
        assert_eq!(actions["AlarmHistoryItems"].as_array().unwrap().len(), 1);
    }

    #[tokio::test]
    async fn describe_lists_by_type_children_and_parents() {
        let env = Env::new();
        env.call("PutMetricAlarm", cis_alarm("a", "A")).await.unwrap();
        env.call("PutMetricAlarm", cis_alarm("b", "B")).await.unwrap();
        env.call(
            "PutCompositeAlarm",
            json!({"AlarmName": "ab", "AlarmRule": "ALARM(a) OR ALARM(b)"}),
        )
        .await
        .unwrap();
        env.call(
            "PutCompositeAlarm",
            json!({"AlarmName": "top", "AlarmRule": "ALARM(ab) AND OK(a)"}),
        )
        .await
        .unwrap();
        let names = |v: &Value, list: &str| -> Vec<String> {
            v[list]
                .as_array()
                .unwrap()
                .iter()
                .map(|a| a["AlarmName"].as_str().unwrap().to_owned())
                .collect()
        };
        let default = env.call("DescribeAlarms", json!({})).await.unwrap();
        assert_eq!(names(&default, "MetricAlarms"), ["a", "b"]);
        assert_eq!(names(&default, "CompositeAlarms"), Vec::<String>::new());
        let both = env
            .call(
                "DescribeAlarms",
                json!({"AlarmTypes": ["MetricAlarm", "CompositeAlarm"], "MaxRecords": 3}),
            )
            .await
            .unwrap();
        assert_eq!(names(&both, "MetricAlarms"), ["a", "b"]);
        assert_eq!(names(&both, "CompositeAlarms"), ["ab"]);
        assert_eq!(both["NextToken"], "b");
        let children =
            env.call("DescribeAlarms", json!({"ChildrenOfAlarmName": "top"})).await.unwrap();
        assert_eq!(names(&children, "MetricAlarms"), ["a"]);
        assert_eq!(names(&children, "CompositeAlarms"), ["ab"]);
        assert!(children["MetricAlarms"][0].get("StateValue").is_some());
        let parents = env.call("DescribeAlarms", json!({"ParentsOfAlarmName": "a"})).await.unwrap();
        assert_eq!(names(&parents, "CompositeAlarms"), ["ab", "top"]);
        let err = env
            .call("DescribeAlarms", json!({"ParentsOfAlarmName": "a", "StateValue": "OK"}))
            .await
            .unwrap_err();
        assert_eq!(err.code, "ValidationException");
    }

    #[tokio::test]
    async fn bad_rules_missing_children_and_protected_deletes() {
        let env = Env::new();
        env.call("PutMetricAlarm", cis_alarm("a", "A")).await.unwrap();
        let err = env
            .call(
                "PutCompositeAlarm",
                json!({"AlarmName": "c", "AlarmRule": "ALARM(a) AND ALARM(ghost)"}),
            )
            .await
            .unwrap_err();
        assert_eq!(err.code, "ValidationException");
        assert_eq!(
            err.message,
            "Could not save the composite alarm as alarms [ghost] in the alarm rule do not exist"
        );
        let err = env
            .call(
                "PutCompositeAlarm",
                json!({"AlarmName": "c", "AlarmRule": "AT_LEAST(1, ALARM, (a))"}),
            )
            .await
            .unwrap_err();
        assert_eq!(err.code, "ValidationException");
        assert!(err.message.contains("unknown function or keyword 'AT_LEAST'"), "{}", err.message);
        let err = env
            .call(
                "PutCompositeAlarm",
                json!({"AlarmName": "c", "AlarmRule": "ALARM(a)", "ActionsSuppressor": "a",
                       "ActionsSuppressorWaitPeriod": 60, "ActionsSuppressorExtensionPeriod": 60}),
            )
            .await
            .unwrap_err();
        assert_eq!(err.code, "InvalidParameterValueException");
        let err = env
            .call("PutCompositeAlarm", json!({"AlarmName": "a", "AlarmRule": "TRUE"}))
            .await
            .unwrap_err();
        assert_eq!(err.code, "InvalidParameterValueException");

        env.call("PutCompositeAlarm", json!({"AlarmName": "c", "AlarmRule": "ALARM(a)"}))
            .await
            .unwrap();
        env.call("PutCompositeAlarm", json!({"AlarmName": "d", "AlarmRule": "TRUE"}))
            .await
            .unwrap();
        let err = env.call("DeleteAlarms", json!({"AlarmNames": ["a"]})).await.unwrap_err();
        assert_eq!(err.message, "Cannot delete a as there are composite alarm(s) depending on it.");
        let err = env.call("DeleteAlarms", json!({"AlarmNames": ["c", "d"]})).await.unwrap_err();
        assert_eq!(err.code, "ValidationException");
        let err = env.call("PutMetricAlarm", cis_alarm("c", "C")).await.unwrap_err();
        assert_eq!(err.code, "InvalidParameterValueException");
        // Deleting the parent with its child in one call is allowed.
        env.call("DeleteAlarms", json!({"AlarmNames": ["a", "c"]})).await.unwrap();
        let left = env
            .call("DescribeAlarms", json!({"AlarmTypes": ["MetricAlarm", "CompositeAlarm"]}))
            .await
            .unwrap();
        assert_eq!(left["MetricAlarms"], json!([]));
        assert_eq!(left["CompositeAlarms"][0]["AlarmName"], "d");
        assert_eq!(left["CompositeAlarms"][0]["StateValue"], "ALARM");
    }

    #[tokio::test]
    async fn a_cycle_stops_evaluation_of_its_members() {
        let env = Env::new();
        env.call("PutMetricAlarm", cis_alarm("m", "M")).await.unwrap();
        env.call("PutCompositeAlarm", json!({"AlarmName": "x", "AlarmRule": "ALARM(m)"}))
            .await
            .unwrap();
        env.call("PutCompositeAlarm", json!({"AlarmName": "y", "AlarmRule": "ALARM(x)"}))
            .await
            .unwrap();
        // x now names y, which names x: a cycle, allowed to be saved as in AWS.
        env.call(
            "PutCompositeAlarm",
            json!({"AlarmName": "x", "AlarmRule": "ALARM(m) OR ALARM(y)"}),
        )
        .await
        .unwrap();
        set(&env, "m", "ALARM").await;
        assert_eq!(composite(&env, "x").await["StateValue"], "OK");
        assert_eq!(composite(&env, "y").await["StateValue"], "OK");
        // SetAlarmState on a composite holds until a child changes.
        set(&env, "m", "OK").await;
        env.call("PutCompositeAlarm", json!({"AlarmName": "z", "AlarmRule": "ALARM(m)"}))
            .await
            .unwrap();
        set(&env, "z", "ALARM").await;
        assert_eq!(composite(&env, "z").await["StateValue"], "ALARM");
        set(&env, "m", "INSUFFICIENT_DATA").await;
        assert_eq!(composite(&env, "z").await["StateValue"], "OK");
        set(&env, "m", "ALARM").await;
        // Breaking the cycle with FALSE, as AWS advises, resumes evaluation.
        env.call("PutCompositeAlarm", json!({"AlarmName": "y", "AlarmRule": "FALSE"}))
            .await
            .unwrap();
        assert_eq!(composite(&env, "x").await["StateValue"], "ALARM");
    }
}
