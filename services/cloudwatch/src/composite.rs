//! Composite alarms: `PutCompositeAlarm` and their evaluation, following
//! <https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_PutCompositeAlarm.html>
//! and <https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/Create_Composite_Alarm.html>.
//!
//! A composite alarm is stored with the metric alarms (names are unique across both) and
//! carries its `AlarmRule` ([`crate::rule`]). It starts in `INSUFFICIENT_DATA` and is
//! evaluated at once; after that it is only ever `ALARM` (the rule is true) or `OK`.
//! [`settle`] re-evaluates every composite of a partition, children before parents, after
//! anything that can change a child's state: an evaluation tick with transitions,
//! `SetAlarmState`, `PutCompositeAlarm`. Composites that form a cycle are not evaluated
//! (AWS stops evaluation on a cycle too), and a warning names them.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use mamori_aws::AwsError;
use mamori_service::{Context, Dispatcher, parse_input};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::errors::{TxError, invalid_value, validation};
use crate::eval::StateValue;
use crate::ops::alarms::{check_actions_and_tags, refuse_unsupported, state_and_tags};
use crate::ops::history::{StateChange, apply, config_history, record};
use crate::rule::Rule;
use crate::state::{ALARMS, Alarm, Tag, aws_time};

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct PutCompositeAlarmInput {
    alarm_name: String,
    alarm_rule: String,
    alarm_description: Option<String>,
    actions_enabled: Option<bool>,
    #[serde(rename = "OKActions", default)]
    ok_actions: Vec<String>,
    #[serde(default)]
    alarm_actions: Vec<String>,
    #[serde(default)]
    insufficient_data_actions: Vec<String>,
    #[serde(default)]
    tags: Vec<Tag>,
    actions_suppressor: Option<String>,
    actions_suppressor_wait_period: Option<i64>,
    actions_suppressor_extension_period: Option<i64>,
    action_configuration: Option<Value>,
}

/// The alarm name a rule child refers to: the name itself, or the name in an alarm ARN
/// of this account and region. `None` for an ARN of another account or region.
pub fn child_name<'a>(child: &'a str, region: &str, account: &str) -> Option<&'a str> {
    if !child.starts_with("arn:") {
        return Some(child);
    }
    child.strip_prefix(&format!("arn:aws:cloudwatch:{region}:{account}:alarm:"))
}

/// The names of the children of `rule`, resolved in `part` (`account/region`).
fn child_names(rule: &Rule, part: &str) -> Vec<Option<String>> {
    let (account, region) = part.split_once('/').unwrap_or_default();
    rule.children().iter().map(|c| child_name(c, region, account).map(str::to_owned)).collect()
}

/// Implements `PutCompositeAlarm`: creates a composite alarm in `INSUFFICIENT_DATA`, or
/// replaces an existing one's configuration and keeps its state. The caller then runs
/// [`settle`].
///
/// # Gaps
/// - `ActionsSuppressor` (with its wait and extension periods) and `ActionConfiguration`
///   are rejected.
pub fn put_composite_alarm(ctx: &Context, input: Value) -> Result<Value, AwsError> {
    let input: PutCompositeAlarmInput = parse_input(input)?;
    let unsupported = [
        ("ActionsSuppressor", input.actions_suppressor.is_some()),
        ("ActionsSuppressorWaitPeriod", input.actions_suppressor_wait_period.is_some()),
        ("ActionsSuppressorExtensionPeriod", input.actions_suppressor_extension_period.is_some()),
        ("ActionConfiguration", input.action_configuration.is_some()),
    ];
    // GAP: action suppression is not built; refusing beats notifying when the user
    // asked for silence.
    refuse_unsupported(&unsupported)?;
    check_actions_and_tags(
        [&input.ok_actions, &input.alarm_actions, &input.insufficient_data_actions],
        &input.tags,
    )?;
    let rule = Rule::parse(&input.alarm_rule)
        .map_err(|e| validation(format!("Invalid AlarmRule: {e}.")))?;
    let part = ctx.partition();
    let now = ctx.time.timestamp_millis();
    let name = input.alarm_name.clone();
    let arn = Alarm::arn_for(ctx.region.as_str(), ctx.account.as_str(), &name);
    let children = child_names(&rule, &part);
    ctx.dispatcher.store().write(|tx| {
        let mut missing = Vec::new();
        for (written, resolved) in rule.children().iter().zip(&children) {
            let exists = match resolved {
                Some(n) => *n == name || ALARMS.contains(tx, &part, n)?,
                None => false,
            };
            if !exists {
                missing.push(written.clone());
            }
        }
        if !missing.is_empty() {
            return Err(TxError(validation(format!(
                "Could not save the composite alarm as alarms [{}] in the alarm rule do not exist",
                missing.join(", ")
            ))));
        }
        let existing = ALARMS.get(tx, &part, &name)?;
        if existing.as_ref().is_some_and(|a| a.rule.is_none()) {
            return Err(TxError(invalid_value(format!(
                "The alarm {name} is a metric alarm; a composite alarm cannot have the same name."
            ))));
        }
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
            metric: None,
            statistic: None,
            extended_statistic: None,
            period: 0,
            unit: None,
            evaluation_periods: 0,
            datapoints_to_alarm: None,
            threshold: 0.0,
            comparison_operator: String::new(),
            treat_missing_data: None,
            evaluate_low_sample_count_percentile: None,
            rule: Some(input.alarm_rule.clone()),
            metrics: None,
            tags,
            config_updated_ms: now,
            state,
        };
        ALARMS.put(tx, &part, &name, &alarm)?;
        let (summary, data) = config_history(&alarm, created);
        record(tx, &part, &alarm, now, "ConfigurationUpdate", summary, data)?;
        Ok(())
    })?;
    tracing::info!(alarm = %name, rule = %input.alarm_rule, "composite alarm configured");
    Ok(json!({}))
}

/// The names of the alarms `alarm`'s rule refers to, resolved in `part`; empty for a
/// metric alarm or a rule that no longer parses.
pub fn children_of(alarm: &Alarm, part: &str) -> Vec<String> {
    let Some(rule) = alarm.rule.as_deref().and_then(|r| Rule::parse(r).ok()) else {
        return Vec::new();
    };
    child_names(&rule, part).into_iter().flatten().collect()
}

/// Re-evaluates every composite alarm of `part` at `now_ms`, children before parents,
/// commits the transitions together and then runs their actions. The composite `hold`
/// keeps its state (`SetAlarmState` just set it; it holds until a child changes), while
/// its parents follow it.
pub async fn settle(dispatcher: &Arc<Dispatcher>, part: &str, now_ms: i64, hold: Option<&str>) {
    let store = dispatcher.store();
    let alarms: BTreeMap<String, Alarm> = match store.read(|tx| ALARMS.all(tx, part)) {
        Ok(all) => all.into_iter().collect(),
        Err(e) => {
            tracing::error!(part, error = %e, "cannot read alarms for composite evaluation");
            return;
        }
    };
    let mut rules = BTreeMap::new();
    for (name, alarm) in &alarms {
        let Some(text) = &alarm.rule else { continue };
        match Rule::parse(text) {
            Ok(rule) => {
                rules.insert(name.clone(), rule);
            }
            // Stored rules were parsed when put, so this means the parser changed.
            Err(e) => {
                tracing::error!(alarm = %name, error = %e, "stored alarm rule no longer parses")
            }
        }
    }
    if rules.is_empty() {
        return;
    }
    let (order, cyclic) = evaluation_order(&rules, part);
    if !cyclic.is_empty() {
        tracing::warn!(part, alarms = ?cyclic, "composite alarms form a cycle and are not evaluated");
    }
    let (account, region) = part.split_once('/').unwrap_or_default();
    let mut states: HashMap<String, (String, i64)> = alarms
        .iter()
        .map(|(n, a)| (n.clone(), (a.state.value.clone(), a.state.transitioned_ms)))
        .collect();
    let mut changes = Vec::new();
    for name in order {
        if hold == Some(name.as_str()) {
            continue;
        }
        let (Some(rule), Some(alarm)) = (rules.get(&name), alarms.get(&name)) else { continue };
        let lookup = |child: &str| {
            child_name(child, region, account).and_then(|n| states.get(n)).map(|(s, _)| s.clone())
        };
        let new = if rule.eval(&lookup) { StateValue::Alarm } else { StateValue::Ok };
        if new.as_str() == alarm.state.value {
            continue;
        }
        let change = transition_reason(rule, new, &states, region, account, now_ms);
        states.insert(name.clone(), (new.as_str().to_owned(), now_ms));
        changes.push((name, change));
    }
    if changes.is_empty() {
        return;
    }
    let applied = store.write(|tx| {
        let mut applied = Vec::new();
        for (name, change) in &changes {
            if let Some(done) = apply(tx, part, name, change, now_ms)? {
                applied.push(done);
            }
        }
        Ok::<_, mamori_store::StoreError>(applied)
    });
    match applied {
        Ok(applied) => {
            for (alarm, old) in applied {
                tracing::info!(alarm = %alarm.name, from = %old, to = %alarm.state.value, reason = %alarm.state.reason, "composite alarm state changed");
                crate::actions::run(dispatcher, part, &alarm, &old, now_ms).await;
            }
        }
        Err(e) => tracing::error!(part, error = %e, "cannot record composite alarm states"),
    }
}

/// Composite names in an order where every composite comes after the composites its
/// rule names, and the names caught in cycles (left out of the order).
fn evaluation_order(rules: &BTreeMap<String, Rule>, part: &str) -> (Vec<String>, Vec<String>) {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        Visiting,
        Done,
        Cyclic,
    }
    fn visit(
        name: &str,
        rules: &BTreeMap<String, Rule>,
        part: &str,
        marks: &mut HashMap<String, Mark>,
        order: &mut Vec<String>,
    ) -> bool {
        match marks.get(name) {
            Some(Mark::Done) => return true,
            Some(Mark::Visiting | Mark::Cyclic) => return false,
            None => {}
        }
        let Some(rule) = rules.get(name) else { return true };
        marks.insert(name.to_owned(), Mark::Visiting);
        let mut ok = true;
        for child in child_names(rule, part).into_iter().flatten() {
            if rules.contains_key(&child) && !visit(&child, rules, part, marks, order) {
                ok = false;
            }
        }
        if ok {
            marks.insert(name.to_owned(), Mark::Done);
            order.push(name.to_owned());
        } else {
            marks.insert(name.to_owned(), Mark::Cyclic);
        }
        ok
    }
    let mut marks = HashMap::new();
    let mut order = Vec::new();
    for name in rules.keys() {
        visit(name, rules, part, &mut marks, &mut order);
    }
    let cyclic = marks.into_iter().filter(|(_, m)| *m == Mark::Cyclic).map(|(n, _)| n).collect();
    (order, cyclic)
}

/// The StateReason and StateReasonData of a composite transition. The triggering
/// children are those that changed most recently (preferring, among them, the ones now
/// in the composite's new state); the reason names the first of them by name.
fn transition_reason(
    rule: &Rule,
    new: StateValue,
    states: &HashMap<String, (String, i64)>,
    region: &str,
    account: &str,
    now_ms: i64,
) -> StateChange {
    let known: Vec<(i64, String, String)> = rule
        .children()
        .into_iter()
        .filter_map(|c| {
            let name = child_name(&c, region, account)?.to_owned();
            let (state, at) = states.get(&name)?.clone();
            Some((at, name, state))
        })
        .collect();
    let latest = known.iter().map(|(at, _, _)| *at).max();
    let mut trigger: Vec<&(i64, String, String)> =
        known.iter().filter(|(at, _, _)| Some(*at) == latest).collect();
    if trigger.iter().any(|(_, _, s)| s == new.as_str()) {
        trigger.retain(|(_, _, s)| s == new.as_str());
    }
    trigger.sort_by(|a, b| a.1.cmp(&b.1));
    trigger.dedup_by(|a, b| a.1 == b.1);
    let Some((at, name, state)) = trigger.first().copied() else {
        return StateChange {
            state: new,
            reason: format!("The alarm rule evaluated to {}", new == StateValue::Alarm),
            reason_data: Some(
                json!({"triggeringAlarms": [], "evaluatedAt": aws_time(now_ms)}).to_string(),
            ),
        };
    };
    let when = chrono::DateTime::from_timestamp_millis(*at)
        .unwrap_or_default()
        .format("%A %d %B, %Y %H:%M:%S UTC");
    let reason =
        format!("{} transitioned to {state} at {when}", Alarm::arn_for(region, account, name));
    let triggering: Vec<Value> = trigger
        .iter()
        .map(|(at, name, state)| {
            json!({"arn": Alarm::arn_for(region, account, name), "state": {"value": state, "timestamp": aws_time(*at)}})
        })
        .collect();
    StateChange {
        state: new,
        reason,
        reason_data: Some(json!({"triggeringAlarms": triggering}).to_string()),
    }
}

/// The `CompositeAlarm` output shape.
pub fn render(alarm: &Alarm) -> Value {
    json!({
        "AlarmName": alarm.name,
        "AlarmArn": alarm.arn,
        "AlarmDescription": alarm.description,
        "AlarmRule": alarm.rule,
        "AlarmConfigurationUpdatedTimestamp": crate::state::epoch_seconds(alarm.config_updated_ms),
        "ActionsEnabled": alarm.actions_enabled,
        "OKActions": alarm.ok_actions,
        "AlarmActions": alarm.alarm_actions,
        "InsufficientDataActions": alarm.insufficient_data_actions,
        "StateValue": alarm.state.value,
        "StateReason": alarm.state.reason,
        "StateReasonData": alarm.state.reason_data,
        "StateUpdatedTimestamp": crate::state::epoch_seconds(alarm.state.updated_ms),
        "StateTransitionedTimestamp": crate::state::epoch_seconds(alarm.state.transitioned_ms),
    })
}

/// The `TriggeringChildren` of a composite alarm's SNS notification.
pub fn triggering_children(alarm: &Alarm) -> Value {
    let data: Value = alarm
        .state
        .reason_data
        .as_deref()
        .and_then(|d| serde_json::from_str(d).ok())
        .unwrap_or_default();
    let children: Vec<Value> = data["triggeringAlarms"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|t| json!({"Arn": t["arn"], "State": {"Value": t["state"]["value"], "Timestamp": t["state"]["timestamp"]}}))
                .collect()
        })
        .unwrap_or_default();
    Value::Array(children)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules(pairs: &[(&str, &str)]) -> BTreeMap<String, Rule> {
        pairs.iter().map(|(n, r)| (n.to_string(), Rule::parse(r).unwrap())).collect()
    }

    #[test]
    fn children_come_before_parents_and_cycles_are_left_out() {
        let part = "123456789012/us-east-1";
        let r = rules(&[
            ("top", "ALARM(mid) OR ALARM(arn:aws:cloudwatch:us-east-1:123456789012:alarm:low)"),
            ("mid", "ALARM(low) AND OK(metric)"),
            ("low", "ALARM(metric)"),
            ("a", "ALARM(b)"),
            ("b", "ALARM(a)"),
            ("c", "ALARM(a) OR TRUE"),
        ]);
        let (order, mut cyclic) = evaluation_order(&r, part);
        let pos = |n: &str| order.iter().position(|x| x == n).unwrap();
        assert!(pos("low") < pos("mid") && pos("mid") < pos("top"), "{order:?}");
        cyclic.sort();
        assert_eq!(cyclic, ["a", "b", "c"]);
        assert!(!order.contains(&"a".to_owned()));
    }

    #[test]
    fn child_names_resolve_arns_of_this_account_and_region_only() {
        let (r, a) = ("us-east-1", "123456789012");
        assert_eq!(child_name("cpu", r, a), Some("cpu"));
        assert_eq!(
            child_name("arn:aws:cloudwatch:us-east-1:123456789012:alarm:cpu", r, a),
            Some("cpu")
        );
        assert_eq!(child_name("arn:aws:cloudwatch:eu-west-1:123456789012:alarm:cpu", r, a), None);
        assert_eq!(child_name("arn:aws:cloudwatch:us-east-1:999999999999:alarm:cpu", r, a), None);
    }
}
