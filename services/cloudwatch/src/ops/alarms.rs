//! Metric alarm configuration: `PutMetricAlarm`, `DescribeAlarms`,
//! `DescribeAlarmsForMetric`, `DeleteAlarms`, `EnableAlarmActions` and
//! `DisableAlarmActions`, following
//! <https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_PutMetricAlarm.html>
//! and <https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_DescribeAlarms.html>.

use mamori_aws::AwsError;
use mamori_service::{Context, parse_input};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::errors::{
    TxError, bad_value, db, invalid_combination, invalid_token, invalid_value, missing, not_found,
    validation,
};
use crate::eval::{Operator, StateValue, TreatMissing};
use crate::ops::history::{config_history, record};
use crate::state::{ALARMS, Alarm, AlarmState, Dimension, MetricKey, Tag, epoch_seconds};
use crate::stats::Stat;

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct PutMetricAlarmInput {
    alarm_name: String,
    alarm_description: Option<String>,
    actions_enabled: Option<bool>,
    #[serde(rename = "OKActions", default)]
    ok_actions: Vec<String>,
    #[serde(default)]
    alarm_actions: Vec<String>,
    #[serde(default)]
    insufficient_data_actions: Vec<String>,
    metric_name: Option<String>,
    namespace: Option<String>,
    statistic: Option<String>,
    extended_statistic: Option<String>,
    #[serde(default)]
    dimensions: Vec<Dimension>,
    period: Option<i64>,
    unit: Option<String>,
    evaluation_periods: Option<i64>,
    datapoints_to_alarm: Option<i64>,
    threshold: Option<f64>,
    comparison_operator: Option<String>,
    treat_missing_data: Option<String>,
    evaluate_low_sample_count_percentile: Option<String>,
    metrics: Option<Vec<Value>>,
    #[serde(default)]
    tags: Vec<Tag>,
    threshold_metric_id: Option<String>,
    evaluation_window: Option<Value>,
    warm_up_configuration: Option<Value>,
    evaluation_criteria: Option<Value>,
    evaluation_interval: Option<Value>,
    action_configuration: Option<Value>,
}

/// Alarm periods: 10, 20, 30 or a multiple of 60.
pub fn valid_alarm_period(period: i64) -> bool {
    matches!(period, 10 | 20 | 30) || (period > 0 && period % 60 == 0)
}

/// Implements `PutMetricAlarm`: creates an alarm in `INSUFFICIENT_DATA`, or replaces the
/// configuration of an existing one and keeps its state.
///
/// # Gaps
/// - Anomaly-detection operators (`LessThanLowerOrGreaterThanUpperThreshold` and the
///   other band operators) and `ThresholdMetricId` are rejected: no anomaly detection.
/// - `EvaluationCriteria` (PromQL), `EvaluationInterval`, `EvaluationWindow`,
///   `WarmUpConfiguration` and `ActionConfiguration` are rejected.
/// - Extended statistics other than percentiles (`tm90`, `wm90`, `IQM`, `PR(..)`, ...)
///   are rejected.
pub fn put_metric_alarm(ctx: &Context, input: Value) -> Result<Value, AwsError> {
    let input: PutMetricAlarmInput = parse_input(input)?;
    let unsupported = [
        ("EvaluationCriteria", input.evaluation_criteria.is_some()),
        ("EvaluationInterval", input.evaluation_interval.is_some()),
        ("EvaluationWindow", input.evaluation_window.is_some()),
        ("WarmUpConfiguration", input.warm_up_configuration.is_some()),
        ("ActionConfiguration", input.action_configuration.is_some()),
        ("ThresholdMetricId", input.threshold_metric_id.is_some()),
    ];
    // GAP: these newer alarm kinds (PromQL, anomaly bands, warm-up) are not built.
    refuse_unsupported(&unsupported)?;
    let now = ctx.time.timestamp_millis();
    let (metric, period) = match (&input.metric_name, &input.metrics) {
        (Some(_), Some(_)) => {
            return Err(invalid_combination(
                "The parameters MetricName and Metrics are mutually exclusive and you have specified both.",
            ));
        }
        (None, None) => return Err(missing("MetricName")),
        (Some(name), None) => {
            let namespace = input.namespace.as_deref().ok_or_else(|| missing("Namespace"))?;
            let period = input.period.ok_or_else(|| missing("Period"))?;
            match (&input.statistic, &input.extended_statistic) {
                (Some(_), Some(_)) => {
                    return Err(invalid_combination(
                        "The parameters Statistic and ExtendedStatistic are mutually exclusive and you have specified both.",
                    ));
                }
                (None, None) => {
                    return Err(missing("Statistic or ExtendedStatistic"));
                }
                (None, Some(ext)) => {
                    if !Stat::parse(ext).is_some_and(Stat::is_percentile) {
                        return Err(bad_value(ext, "ExtendedStatistic"));
                    }
                }
                (Some(_), None) => {}
            }
            if input.dimensions.len() > 30 {
                return Err(invalid_value(
                    "The collection Dimensions must not have a size greater than 30.",
                ));
            }
            (Some(MetricKey::new(namespace, name, input.dimensions.clone())), period)
        }
        (None, Some(queries)) => {
            for (name, set) in [
                ("Namespace", input.namespace.is_some()),
                ("Statistic", input.statistic.is_some()),
                ("ExtendedStatistic", input.extended_statistic.is_some()),
                ("Dimensions", !input.dimensions.is_empty()),
                ("Period", input.period.is_some()),
                ("Unit", input.unit.is_some()),
            ] {
                if set {
                    return Err(invalid_combination(format!(
                        "The parameters Metrics and {name} are mutually exclusive and you have specified both."
                    )));
                }
            }
            (None, crate::ops::data::check_alarm_queries(queries)?)
        }
    };
    if !valid_alarm_period(period) {
        return Err(invalid_value(format!(
            "The parameter Period must be 10, 20, 30 or a multiple of 60; {period} is invalid."
        )));
    }
    let n = input.evaluation_periods.ok_or_else(|| missing("EvaluationPeriods"))?;
    if n.saturating_mul(period) > 86_400 {
        return Err(invalid_value(
            "The evaluation period, EvaluationPeriods * Period, must be no longer than one day (86400 seconds).",
        ));
    }
    if let Some(m) = input.datapoints_to_alarm
        && m > n
    {
        return Err(validation(format!(
            "DatapointsToAlarm ({m}) must be less than or equal to EvaluationPeriods ({n})."
        )));
    }
    let operator =
        input.comparison_operator.as_deref().ok_or_else(|| missing("ComparisonOperator"))?;
    if Operator::parse(operator).is_none() {
        // GAP: anomaly-detection band alarms are not built.
        return Err(validation(format!(
            "ComparisonOperator {operator} needs an anomaly detection band (ThresholdMetricId), which mamori does not support."
        )));
    }
    let threshold = input.threshold.ok_or_else(|| missing("Threshold"))?;
    if let Some(t) = &input.treat_missing_data
        && TreatMissing::parse(t).is_none()
    {
        return Err(bad_value(t, "TreatMissingData"));
    }
    if let Some(e) = &input.evaluate_low_sample_count_percentile {
        if e != "evaluate" && e != "ignore" {
            return Err(bad_value(e, "EvaluateLowSampleCountPercentile"));
        }
        if input.extended_statistic.is_none() {
            return Err(invalid_combination(
                "EvaluateLowSampleCountPercentile applies only to alarms on a percentile (ExtendedStatistic).",
            ));
        }
    }
    check_actions_and_tags(
        [&input.ok_actions, &input.alarm_actions, &input.insufficient_data_actions],
        &input.tags,
    )?;
    let part = ctx.partition();
    let arn = Alarm::arn_for(ctx.region.as_str(), ctx.account.as_str(), &input.alarm_name);
    let name = input.alarm_name.clone();
    let clash = ctx.dispatcher.store().read(|tx| ALARMS.get(tx, &part, &name)).map_err(db)?;
    if clash.is_some_and(|a| a.rule.is_some()) {
        return Err(invalid_value(format!(
            "The alarm {name} is a composite alarm; a metric alarm cannot have the same name."
        )));
    }
    ctx.dispatcher
        .store()
        .write(|tx| {
            let existing = ALARMS.get(tx, &part, &name)?;
            let created = existing.is_none();
            let (state, tags) = state_and_tags(existing, &input.tags, now);
            let alarm = Alarm {
                name: name.clone(),
                arn: arn.clone(),
                description: input.alarm_description.clone(),
                actions_enabled: input.actions_enabled.unwrap_or(true),
                ok_actions: input.ok_actions.clone(),
                alarm_actions: input.alarm_actions.clone(),
                insufficient_data_actions: input.insufficient_data_actions.clone(),
                metric: metric.clone(),
                statistic: input.statistic.clone(),
                extended_statistic: input.extended_statistic.clone(),
                period,
                unit: input.unit.clone(),
                evaluation_periods: n,
                datapoints_to_alarm: input.datapoints_to_alarm,
                threshold,
                comparison_operator: operator.to_owned(),
                treat_missing_data: input.treat_missing_data.clone(),
                evaluate_low_sample_count_percentile: input
                    .evaluate_low_sample_count_percentile
                    .clone(),
                rule: None,
                metrics: input.metrics.clone().map(Value::Array),
                tags,
                config_updated_ms: now,
                state,
            };
            ALARMS.put(tx, &part, &name, &alarm)?;
            let (summary, data) = config_history(&alarm, created);
            record(tx, &part, &alarm, now, "ConfigurationUpdate", summary, data)
        })
        .map_err(db)?;
    tracing::info!(alarm = %input.alarm_name, "alarm configured");
    Ok(json!({}))
}

/// The state and tags of a put alarm: an existing alarm keeps its state and its tags
/// (tags given when updating are ignored, as AWS documents); a new one starts in
/// `INSUFFICIENT_DATA` with the tags given.
pub fn state_and_tags(existing: Option<Alarm>, tags: &[Tag], now: i64) -> (AlarmState, Vec<Tag>) {
    match existing {
        Some(old) => (old.state, old.tags),
        None => (
            AlarmState {
                value: StateValue::InsufficientData.as_str().into(),
                reason: "Unchecked: Initial alarm creation".into(),
                reason_data: None,
                updated_ms: now,
                transitioned_ms: now,
            },
            tags.to_vec(),
        ),
    }
}

/// Refuses the first parameter of `given` that is set: mamori does not build it, and
/// ignoring it would change what the alarm does.
pub fn refuse_unsupported(given: &[(&str, bool)]) -> Result<(), AwsError> {
    match given.iter().find(|(_, set)| *set) {
        Some((name, _)) => {
            Err(invalid_value(format!("The parameter {name} is not supported by mamori.")))
        }
        None => Ok(()),
    }
}

/// The checks every alarm put makes of its action ARNs and tags.
pub fn check_actions_and_tags(actions: [&Vec<String>; 3], tags: &[Tag]) -> Result<(), AwsError> {
    for arn in actions.into_iter().flatten() {
        if mamori_aws::Arn::parse(arn).is_err() {
            return Err(validation(format!("Invalid arn syntax: {arn}")));
        }
    }
    if tags.len() > 50 {
        return Err(invalid_value("The collection Tags must not have a size greater than 50."));
    }
    Ok(())
}

/// The `MetricAlarm` (or, for a composite alarm, `CompositeAlarm`) output shape.
pub fn render(alarm: &Alarm) -> Value {
    if alarm.rule.is_some() {
        return crate::composite::render(alarm);
    }
    let mut v = json!({
        "AlarmName": alarm.name,
        "AlarmArn": alarm.arn,
        "AlarmDescription": alarm.description,
        "AlarmConfigurationUpdatedTimestamp": epoch_seconds(alarm.config_updated_ms),
        "ActionsEnabled": alarm.actions_enabled,
        "OKActions": alarm.ok_actions,
        "AlarmActions": alarm.alarm_actions,
        "InsufficientDataActions": alarm.insufficient_data_actions,
        "StateValue": alarm.state.value,
        "StateReason": alarm.state.reason,
        "StateReasonData": alarm.state.reason_data,
        "StateUpdatedTimestamp": epoch_seconds(alarm.state.updated_ms),
        "StateTransitionedTimestamp": epoch_seconds(alarm.state.transitioned_ms),
        "Statistic": alarm.statistic,
        "ExtendedStatistic": alarm.extended_statistic,
        "Period": alarm.period,
        "Unit": alarm.unit,
        "EvaluationPeriods": alarm.evaluation_periods,
        "DatapointsToAlarm": alarm.datapoints_to_alarm,
        "Threshold": alarm.threshold,
        "ComparisonOperator": alarm.comparison_operator,
        "TreatMissingData": alarm.treat_missing_data,
        "EvaluateLowSampleCountPercentile": alarm.evaluate_low_sample_count_percentile,
        "Metrics": alarm.metrics,
    });
    if let Some(m) = &alarm.metric {
        v["MetricName"] = json!(m.name);
        v["Namespace"] = json!(m.namespace);
        v["Dimensions"] = json!(m.dimensions);
    } else {
        // Metric math alarms carry their period inside the queries.
        v["Period"] = Value::Null;
    }
    v
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct DescribeAlarmsInput {
    alarm_names: Option<Vec<String>>,
    alarm_name_prefix: Option<String>,
    alarm_types: Option<Vec<String>>,
    children_of_alarm_name: Option<String>,
    parents_of_alarm_name: Option<String>,
    state_value: Option<String>,
    action_prefix: Option<String>,
    max_records: Option<usize>,
    next_token: Option<String>,
}

/// Implements `DescribeAlarms`, in alarm name order, 50 per page by default. Without
/// `AlarmTypes` only metric alarms are listed, as AWS documents.
pub fn describe_alarms(ctx: &Context, input: Value) -> Result<Value, AwsError> {
    let input: DescribeAlarmsInput = parse_input(input)?;
    if input.alarm_names.is_some() && input.alarm_name_prefix.is_some() {
        return Err(invalid_combination(
            "The parameters AlarmNames and AlarmNamePrefix are mutually exclusive and you have specified both.",
        ));
    }
    let part = ctx.partition();
    let limit = input.max_records.unwrap_or(50);
    let family = match (&input.children_of_alarm_name, &input.parents_of_alarm_name) {
        (Some(_), Some(_)) => {
            return Err(validation(
                "ChildrenOfAlarmName and ParentsOfAlarmName cannot be used together.",
            ));
        }
        (Some(n), None) => Some((n.clone(), true)),
        (None, Some(n)) => Some((n.clone(), false)),
        (None, None) => None,
    };
    if let Some((of, children)) = family {
        let others = input.alarm_names.is_some()
            || input.alarm_name_prefix.is_some()
            || input.alarm_types.is_some()
            || input.state_value.is_some()
            || input.action_prefix.is_some();
        if others {
            let which = if children { "ChildrenOfAlarmName" } else { "ParentsOfAlarmName" };
            return Err(validation(format!(
                "When {which} is specified, only MaxRecords and NextToken may be given with it."
            )));
        }
        return describe_family(ctx, &part, &of, children, limit, input.next_token.as_deref());
    }
    let types = input.alarm_types.clone().unwrap_or_else(|| vec!["MetricAlarm".into()]);
    let want = |a: &Alarm| types.iter().any(|t| t == a.alarm_type());
    let prefix = input.alarm_name_prefix.clone().unwrap_or_default();
    if let Some(t) = &input.next_token
        && !t.starts_with(&prefix)
    {
        return Err(invalid_token());
    }
    let all = ctx
        .dispatcher
        .store()
        .read(|tx| ALARMS.scan(tx, &part, &prefix, input.next_token.as_deref(), usize::MAX))
        .map_err(db)?;
    let (mut metric, mut composite) = (Vec::new(), Vec::new());
    let mut next_token = None;
    let mut last = None;
    for (name, alarm) in all {
        if !want(&alarm) {
            continue;
        }
        if input.alarm_names.as_ref().is_some_and(|names| !names.contains(&name)) {
            continue;
        }
        if input.state_value.as_ref().is_some_and(|s| *s != alarm.state.value) {
            continue;
        }
        if let Some(p) = &input.action_prefix
            && !alarm.all_actions().any(|a| a.starts_with(p.as_str()))
        {
            continue;
        }
        if metric.len() + composite.len() == limit {
            next_token = last.take();
            break;
        }
        let list = if alarm.rule.is_some() { &mut composite } else { &mut metric };
        list.push(render(&alarm));
        last = Some(name);
    }
    let mut res = json!({"MetricAlarms": metric, "CompositeAlarms": composite});
    if let Some(t) = next_token {
        res["NextToken"] = json!(t);
    }
    Ok(res)
}

/// `DescribeAlarms` with `ChildrenOfAlarmName` (the alarms `of`'s rule names: name,
/// ARN, state and its update time) or `ParentsOfAlarmName` (the composites whose rule
/// names `of`: name and ARN). The token is the last name of the page.
fn describe_family(
    ctx: &Context,
    part: &str,
    of: &str,
    children: bool,
    limit: usize,
    after: Option<&str>,
) -> Result<Value, AwsError> {
    let all: Vec<(String, Alarm)> =
        ctx.dispatcher.store().read(|tx| ALARMS.all(tx, part)).map_err(db)?;
    let related: Vec<&Alarm> = if children {
        let Some((_, parent)) = all.iter().find(|(n, _)| n == of) else {
            return Ok(json!({"MetricAlarms": [], "CompositeAlarms": []}));
        };
        let names = crate::composite::children_of(parent, part);
        all.iter().filter(|(n, _)| names.contains(n)).map(|(_, a)| a).collect()
    } else {
        all.iter()
            .filter(|(_, a)| crate::composite::children_of(a, part).iter().any(|c| c == of))
            .map(|(_, a)| a)
            .collect()
    };
    let (mut metric, mut composite) = (Vec::new(), Vec::new());
    let mut next_token = None;
    let mut last: Option<&str> = None;
    for alarm in related.into_iter().filter(|a| after.is_none_or(|t| a.name.as_str() > t)) {
        if metric.len() + composite.len() == limit {
            next_token = last.map(str::to_owned);
            break;
        }
        let mut v = json!({"AlarmName": alarm.name, "AlarmArn": alarm.arn});
        if children {
            v["StateValue"] = json!(alarm.state.value);
            v["StateUpdatedTimestamp"] = epoch_seconds(alarm.state.updated_ms);
        }
        if alarm.rule.is_some() {
            composite.push(v);
        } else {
            metric.push(v);
        }
        last = Some(alarm.name.as_str());
    }
    let mut res = json!({"MetricAlarms": metric, "CompositeAlarms": composite});
    if let Some(t) = next_token {
        res["NextToken"] = json!(t);
    }
    Ok(res)
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct DescribeAlarmsForMetricInput {
    metric_name: String,
    namespace: String,
    statistic: Option<String>,
    extended_statistic: Option<String>,
    dimensions: Option<Vec<Dimension>>,
    period: Option<i64>,
    unit: Option<String>,
}

/// Implements `DescribeAlarmsForMetric`: every alarm on the metric, narrowed by the
/// optional statistic, dimensions, period and unit.
pub fn describe_alarms_for_metric(ctx: &Context, input: Value) -> Result<Value, AwsError> {
    let input: DescribeAlarmsForMetricInput = parse_input(input)?;
    let part = ctx.partition();
    let all = ctx.dispatcher.store().read(|tx| ALARMS.all(tx, &part)).map_err(db)?;
    let dims = input.dimensions.map(|d| MetricKey::new("", "", d).dimensions);
    let alarms: Vec<Value> = all
        .into_iter()
        .map(|(_, a)| a)
        .filter(|a| {
            let Some(m) = &a.metric else { return false };
            m.name == input.metric_name
                && m.namespace == input.namespace
                && dims.as_ref().is_none_or(|d| *d == m.dimensions)
                && input.statistic.as_ref().is_none_or(|s| a.statistic.as_ref() == Some(s))
                && input
                    .extended_statistic
                    .as_ref()
                    .is_none_or(|s| a.extended_statistic.as_ref() == Some(s))
                && input.period.is_none_or(|p| p == a.period)
                && input.unit.as_ref().is_none_or(|u| a.unit.as_ref() == Some(u))
        })
        .map(|a| render(&a))
        .collect();
    Ok(json!({"MetricAlarms": alarms}))
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct AlarmNamesInput {
    alarm_names: Vec<String>,
}

/// Implements `DeleteAlarms`: all or nothing; history stays.
pub fn delete_alarms(ctx: &Context, input: Value) -> Result<Value, AwsError> {
    let input: AlarmNamesInput = parse_input(input)?;
    let part = ctx.partition();
    let now = ctx.time.timestamp_millis();
    // AWS: the alarms with correct names are deleted even when others are not found (the
    // call still answers ResourceNotFound for those); other errors delete nothing.
    let absent = ctx.dispatcher.store().write(|tx| {
        let mut absent = Vec::new();
        for name in &input.alarm_names {
            if !ALARMS.contains(tx, &part, name)? {
                absent.push(name.as_str());
            }
        }
        let all = ALARMS.all(tx, &part)?;
        let deleting = |n: &str| input.alarm_names.iter().any(|d| d == n);
        let composites = all.iter().filter(|(n, a)| a.rule.is_some() && deleting(n)).count();
        if composites > 1 {
            return Err(TxError(validation(
                "A DeleteAlarms call can delete at most one composite alarm.",
            )));
        }
        // An alarm that a composite alarm (not deleted in the same call) names stays.
        let mut needed: Vec<&str> = input
            .alarm_names
            .iter()
            .map(String::as_str)
            .filter(|name| {
                all.iter().any(|(parent, a)| {
                    !deleting(parent)
                        && crate::composite::children_of(a, &part).iter().any(|c| c == name)
                })
            })
            .collect();
        needed.dedup();
        if !needed.is_empty() {
            let them = if needed.len() == 1 { "it" } else { "them" };
            return Err(TxError(validation(format!(
                "Cannot delete {} as there are composite alarm(s) depending on {them}.",
                needed.join(",")
            ))));
        }
        for name in &input.alarm_names {
            if let Some(alarm) = ALARMS.get(tx, &part, name)? {
                ALARMS.delete(tx, &part, name)?;
                let data =
                    json!({"version": "1.0", "type": "Delete", "deletedAlarm": render(&alarm)});
                let summary = format!("Alarm \"{name}\" deleted");
                record(tx, &part, &alarm, now, "ConfigurationUpdate", summary, data.to_string())?;
            }
        }
        Ok(absent)
    })?;
    let deleted: Vec<&String> =
        input.alarm_names.iter().filter(|n| !absent.contains(&n.as_str())).collect();
    if !deleted.is_empty() {
        tracing::info!(alarms = ?deleted, "alarms deleted");
    }
    if !absent.is_empty() {
        return Err(not_found(format!("Alarm(s) not found: {}", absent.join(", "))));
    }
    Ok(json!({}))
}

/// Implements `EnableAlarmActions` and `DisableAlarmActions`; unknown names are skipped.
pub fn set_actions_enabled(ctx: &Context, input: Value, enabled: bool) -> Result<Value, AwsError> {
    let input: AlarmNamesInput = parse_input(input)?;
    let part = ctx.partition();
    let now = ctx.time.timestamp_millis();
    ctx.dispatcher
        .store()
        .write(|tx| {
            for name in &input.alarm_names {
                let Some(mut alarm) = ALARMS.get(tx, &part, name)? else { continue };
                if alarm.actions_enabled == enabled {
                    continue;
                }
                alarm.actions_enabled = enabled;
                alarm.config_updated_ms = now;
                ALARMS.put(tx, &part, name, &alarm)?;
                let (summary, data) = config_history(&alarm, false);
                record(tx, &part, &alarm, now, "ConfigurationUpdate", summary, data)?;
            }
            Ok::<_, mamori_store::StoreError>(())
        })
        .map_err(db)?;
    Ok(json!({}))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alarm_periods() {
        let cases = [
            (10, true),
            (20, true),
            (30, true),
            (60, true),
            (120, true),
            (5, false),
            (45, false),
            (90, false),
            (0, false),
        ];
        for (p, want) in cases {
            assert_eq!(valid_alarm_period(p), want, "{p}");
        }
    }
}
