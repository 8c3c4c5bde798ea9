//! Alarm actions: on a state transition with `ActionsEnabled`, each action ARN of the new
//! state runs once. SNS topics get the notification described in
//! <https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/AlarmThatSendsEmail.html>
//! ("Alarm events and Amazon SNS"), published through the dispatcher as
//! `cloudwatch.amazonaws.com` so that the topic policy decides. Every attempt is an
//! `Action` history item, as AWS records them.

use std::sync::Arc;

use mamori_aws::{AccountId, Region};
use mamori_service::Dispatcher;
use serde_json::{Value, json};

use crate::ops::history::record;
use crate::state::{Alarm, aws_time};

/// The service principal alarm actions run as.
pub const PRINCIPAL: &str = "cloudwatch.amazonaws.com";

/// Runs the actions of `alarm`'s (new) state after a transition from `old_state`.
///
/// GAP: only SNS topic actions run; EC2, Auto Scaling, Lambda and Systems Manager
/// actions are recorded as failed.
pub async fn run(
    dispatcher: &Arc<Dispatcher>,
    part: &str,
    alarm: &Alarm,
    old_state: &str,
    now_ms: i64,
) {
    if !alarm.actions_enabled {
        return;
    }
    let actions = alarm.actions_for(&alarm.state.value);
    if actions.is_empty() {
        return;
    }
    let Some((account, region)) =
        part.split_once('/').and_then(|(a, r)| Some((AccountId::parse(a)?, Region::parse(r)?)))
    else {
        tracing::error!(part, "alarm partition is not account/region");
        return;
    };
    for arn in actions {
        let outcome = if arn.starts_with("arn:aws:sns:") {
            let (subject, message) = notification(alarm, old_state, &account, &region);
            dispatcher
                .call_as_service_from(
                    PRINCIPAL,
                    &alarm.arn,
                    account.clone(),
                    region.clone(),
                    "sns",
                    "Publish",
                    json!({"TopicArn": arn, "Subject": subject, "Message": message}),
                )
                .await
                .map(|_| ())
                .map_err(|e| format!("{}: {}", e.code, e.message))
        } else {
            Err("this action type is not supported by mamori".to_owned())
        };
        let (summary, data) = match &outcome {
            Ok(()) => {
                tracing::info!(alarm = %alarm.name, action = %arn, "alarm action executed");
                (
                    format!("Successfully executed action {arn}"),
                    json!({"actionState": "Succeeded", "stateUpdateTimestamp": now_ms, "notificationResource": arn}),
                )
            }
            Err(error) => {
                tracing::warn!(alarm = %alarm.name, action = %arn, error = %error, "alarm action failed");
                (
                    format!("Failed to execute action {arn}"),
                    json!({"actionState": "Failed", "stateUpdateTimestamp": now_ms, "notificationResource": arn, "error": error}),
                )
            }
        };
        let written = dispatcher
            .store()
            .write(|tx| record(tx, part, alarm, now_ms, "Action", summary, data.to_string()));
        if let Err(e) = written {
            tracing::error!(alarm = %alarm.name, error = %e, "cannot record alarm action");
        }
    }
}

/// The Subject and Message (JSON text) of the SNS notification for a transition.
pub fn notification(
    alarm: &Alarm,
    old_state: &str,
    account: &AccountId,
    region: &Region,
) -> (String, String) {
    let subject = format!("{}: \"{}\" in {}", alarm.state.value, alarm.name, region.display_name());
    let mut trigger = json!({
        "Period": alarm.period,
        "EvaluationPeriods": alarm.evaluation_periods,
        "DatapointsToAlarm": alarm.datapoints_to_alarm.unwrap_or(alarm.evaluation_periods),
        "ComparisonOperator": alarm.comparison_operator,
        "Threshold": alarm.threshold,
        "TreatMissingData": alarm.treat_missing_data.as_deref().unwrap_or("missing"),
        "EvaluateLowSampleCountPercentile": alarm.evaluate_low_sample_count_percentile.as_deref().unwrap_or(""),
    });
    if let Some(m) = &alarm.metric {
        let dims: Vec<Value> =
            m.dimensions.iter().map(|d| json!({"value": d.value, "name": d.name})).collect();
        trigger["MetricName"] = json!(m.name);
        trigger["Namespace"] = json!(m.namespace);
        trigger["Dimensions"] = json!(dims);
        trigger["Unit"] = json!(alarm.unit);
        match (&alarm.statistic, &alarm.extended_statistic) {
            (Some(s), _) => {
                trigger["StatisticType"] = json!("Statistic");
                trigger["Statistic"] = json!(s.to_uppercase());
            }
            (None, Some(e)) => {
                trigger["StatisticType"] = json!("ExtendedStatistic");
                trigger["ExtendedStatistic"] = json!(e);
            }
            (None, None) => {}
        }
    } else if let Some(metrics) = &alarm.metrics {
        trigger["Metrics"] = metrics.clone();
    }
    let mut message = json!({
        "AlarmName": alarm.name,
        "AlarmDescription": alarm.description,
        "AWSAccountId": account.as_str(),
        "AlarmConfigurationUpdatedTimestamp": aws_time(alarm.config_updated_ms),
        "NewStateValue": alarm.state.value,
        "NewStateReason": alarm.state.reason,
        "StateChangeTime": aws_time(alarm.state.transitioned_ms),
        "Region": region.display_name(),
        "AlarmArn": alarm.arn,
        "OldStateValue": old_state,
        "OKActions": alarm.ok_actions,
        "AlarmActions": alarm.alarm_actions,
        "InsufficientDataActions": alarm.insufficient_data_actions,
    });
    match &alarm.rule {
        Some(rule) => {
            message["AlarmRule"] = json!(rule);
            message["TriggeringChildren"] = crate::composite::triggering_children(alarm);
        }
        None => message["Trigger"] = trigger,
    }
    (subject, message.to_string())
}
