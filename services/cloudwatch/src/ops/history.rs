//! Alarm history and state changes: `DescribeAlarmHistory` and `SetAlarmState`, following
//! <https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_DescribeAlarmHistory.html>
//! and <https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_SetAlarmState.html>.
//!
//! History lives in a series keyed by alarm name, so it outlives a deleted alarm as in
//! AWS, and the retention task drops items older than [`HISTORY_RETENTION_MS`].

use mamori_aws::AwsError;
use mamori_service::{Context, parse_input};
use mamori_store::{StoreError, Tx};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::errors::{TxError, db, invalid_token, not_found};
use crate::eval::StateValue;
use crate::state::{ALARMS, Alarm, HISTORY, HistoryItem, epoch_seconds, to_millis};

/// History is kept 30 days (the current AWS documentation; it said two weeks in 2023).
pub const HISTORY_RETENTION_MS: i64 = 30 * 24 * 3600 * 1000;

/// Appends a history item about `alarm`.
pub fn record(
    tx: &Tx<'_>,
    part: &str,
    alarm: &Alarm,
    ts_ms: i64,
    item_type: &str,
    summary: String,
    data: String,
) -> Result<(), StoreError> {
    let item = HistoryItem {
        alarm_name: alarm.name.clone(),
        alarm_type: alarm.rule.is_some().then(|| alarm.alarm_type().to_owned()),
        item_type: item_type.to_owned(),
        summary,
        data,
    };
    HISTORY.append(tx, part, &alarm.name, ts_ms, &item)?;
    Ok(())
}

/// The summary and data of a `ConfigurationUpdate` item.
pub fn config_history(alarm: &Alarm, created: bool) -> (String, String) {
    let (verb, kind, key) = if created {
        ("created", "Create", "createdAlarm")
    } else {
        ("updated", "Update", "updatedAlarm")
    };
    let data = json!({"version": "1.0", "type": kind, key: crate::ops::alarms::render(alarm)});
    (format!("Alarm \"{}\" {verb}", alarm.name), data.to_string())
}

/// A state change to apply to an alarm.
#[derive(Debug, Clone)]
pub struct StateChange {
    /// The new state.
    pub state: StateValue,
    /// StateReason.
    pub reason: String,
    /// StateReasonData.
    pub reason_data: Option<String>,
}

/// Applies `change` to the stored alarm `name` at `now_ms`, recording a `StateUpdate`
/// history item when the state value changes. Returns the alarm after the change and
/// the previous state when there was a transition.
pub fn apply(
    tx: &Tx<'_>,
    part: &str,
    name: &str,
    change: &StateChange,
    now_ms: i64,
) -> Result<Option<(Alarm, String)>, StoreError> {
    let Some(mut alarm) = ALARMS.get(tx, part, name)? else { return Ok(None) };
    let old = alarm.state.clone();
    let new_value = change.state.as_str();
    alarm.state.reason = change.reason.clone();
    alarm.state.reason_data = change.reason_data.clone();
    alarm.state.updated_ms = now_ms;
    let transitioned = old.value != new_value;
    if transitioned {
        alarm.state.value = new_value.to_owned();
        alarm.state.transitioned_ms = now_ms;
    }
    ALARMS.put(tx, part, name, &alarm)?;
    if !transitioned {
        return Ok(None);
    }
    let mut new_state = json!({"stateValue": new_value, "stateReason": change.reason});
    if let Some(data) =
        change.reason_data.as_deref().and_then(|d| serde_json::from_str::<Value>(d).ok())
    {
        new_state["stateReasonData"] = data;
    }
    let data = json!({
        "version": "1.0",
        "oldState": {"stateValue": old.value, "stateReason": old.reason},
        "newState": new_state,
    });
    let mut data = data.to_string();
    if data.len() > 4095 {
        // HistoryData holds at most 4095 characters; drop the reason data first.
        data = json!({
            "version": "1.0",
            "oldState": {"stateValue": old.value, "stateReason": old.reason},
            "newState": {"stateValue": new_value, "stateReason": change.reason},
        })
        .to_string();
    }
    let summary = format!("Alarm updated from {} to {new_value}", old.value);
    record(tx, part, &alarm, now_ms, "StateUpdate", summary, data)?;
    Ok(Some((alarm, old.value)))
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct SetAlarmStateInput {
    alarm_name: String,
    state_value: String,
    state_reason: String,
    state_reason_data: Option<String>,
}

/// Implements `SetAlarmState`: the state holds until the next evaluation; actions of the
/// new state run when it differs from the old.
pub async fn set_alarm_state(ctx: &Context, input: Value) -> Result<Value, AwsError> {
    let input: SetAlarmStateInput = parse_input(input)?;
    let state = StateValue::parse(&input.state_value)
        .ok_or_else(|| crate::errors::bad_value(&input.state_value, "StateValue"))?;
    if let Some(d) = &input.state_reason_data
        && serde_json::from_str::<Value>(d).is_err()
    {
        return Err(AwsError::new("InvalidFormatFault", "StateReasonData is not valid JSON."));
    }
    let part = ctx.partition();
    let now = ctx.time.timestamp_millis();
    let change =
        StateChange { state, reason: input.state_reason, reason_data: input.state_reason_data };
    let name = input.alarm_name.clone();
    let transition = ctx.dispatcher.store().write(|tx| {
        if !ALARMS.contains(tx, &part, &name)? {
            return Err(TxError(not_found(format!("Alarm {name} does not exist."))));
        }
        Ok(apply(tx, &part, &name, &change, now)?)
    })?;
    if let Some((alarm, old)) = transition {
        tracing::info!(alarm = %alarm.name, from = %old, to = %alarm.state.value, "alarm state set");
        crate::actions::run(&ctx.dispatcher, &part, &alarm, &old, now).await;
        // Composite alarms that name this one follow it; a composite set here holds its
        // state until one of its children changes.
        crate::composite::settle(&ctx.dispatcher, &part, now, Some(&alarm.name)).await;
    }
    Ok(json!({}))
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct DescribeAlarmHistoryInput {
    alarm_name: Option<String>,
    alarm_types: Option<Vec<String>>,
    history_item_type: Option<String>,
    start_date: Option<f64>,
    end_date: Option<f64>,
    max_records: Option<usize>,
    next_token: Option<String>,
    scan_by: Option<String>,
}

/// Implements `DescribeAlarmHistory`, newest first unless `ScanBy=TimestampAscending`.
///
/// # Gaps
/// - `AlarmContributorId` is ignored (no contributor alarms).
pub fn describe_alarm_history(ctx: &Context, input: Value) -> Result<Value, AwsError> {
    let input: DescribeAlarmHistoryInput = parse_input(input)?;
    let backward = input.scan_by.as_deref() != Some("TimestampAscending");
    let limit = input.max_records.unwrap_or(100);
    let mut after = match &input.next_token {
        None => None,
        Some(t) => {
            let (ts, id) = t.split_once(':').ok_or_else(invalid_token)?;
            Some((
                ts.parse::<i64>().map_err(|_| invalid_token())?,
                id.parse::<i64>().map_err(|_| invalid_token())?,
            ))
        }
    };
    let start = input.start_date.map(to_millis).unwrap_or(i64::MIN);
    let end = input.end_date.map(to_millis).map(|e| e.saturating_add(1)).unwrap_or(i64::MAX);
    let part = ctx.partition();
    let streams: Vec<&str> = input.alarm_name.as_deref().into_iter().collect();
    let mut items = Vec::new();
    let mut next_token = None;
    'pages: loop {
        let page = ctx
            .dispatcher
            .store()
            .read(|tx| HISTORY.range(tx, &part, &streams, start, end, after, 500, backward))
            .map_err(db)?;
        let done = page.len() < 500;
        for rec in page {
            after = Some((rec.ts, rec.id));
            if input.history_item_type.as_ref().is_some_and(|t| *t != rec.value.item_type) {
                continue;
            }
            // Without AlarmTypes only metric alarms' items are listed, as AWS documents.
            let alarm_type = rec.value.alarm_type.as_deref().unwrap_or("MetricAlarm");
            let wanted = match &input.alarm_types {
                Some(types) => types.iter().any(|t| t == alarm_type),
                None => alarm_type == "MetricAlarm",
            };
            if !wanted {
                continue;
            }
            items.push(json!({
                "AlarmName": rec.value.alarm_name,
                "AlarmType": alarm_type,
                "Timestamp": epoch_seconds(rec.ts),
                "HistoryItemType": rec.value.item_type,
                "HistorySummary": rec.value.summary,
                "HistoryData": rec.value.data,
            }));
            if items.len() == limit {
                next_token = Some(format!("{}:{}", rec.ts, rec.id));
                break 'pages;
            }
        }
        if done {
            break;
        }
    }
    let mut res = json!({"AlarmHistoryItems": items});
    if let Some(t) = next_token {
        res["NextToken"] = json!(t);
    }
    Ok(res)
}
