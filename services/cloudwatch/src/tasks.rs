//! Scheduled work: alarm evaluation on the clock, and metric retention.
//!
//! Evaluation follows the cadence of
//! <https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/AlarmThatSendsEmail.html>:
//! a task runs every 10 s; alarms with a 10, 20 or 30 s period are evaluated when the
//! tick falls on a multiple of their period, the others on every minute boundary. An
//! evaluation at instant `E` judges the periods ending at `E` (the newest one is
//! `[E - Period, E)`), so a period is judged as soon as it has closed. AWS waits a
//! little for late data; we do not, but because each evaluation re-reads the whole
//! evaluation range, a datapoint that arrives after its period closed still counts at
//! the next evaluation. With the manual clock this makes outcomes exact: a datapoint put
//! at `t` is judged at the first boundary after `t`.
//!
//! Retention follows
//! <https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/cloudwatch_concepts.html#metrics-retention>
//! in part: high-resolution samples older than 3 hours are rolled up into one-minute
//! samples, anything older than 455 days is deleted, and alarm history older than 30
//! days is deleted.
// GAP: one-minute data is not rolled up to 5 minutes after 15 days nor to one hour after
// 63 days; it is kept at one-minute resolution until it expires at 455 days.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use chrono::{DateTime, TimeDelta, Utc};
use mamori_service::{Dispatcher, Task};
use mamori_store::{StoreError, Tx};

use crate::CloudWatch;
use crate::eval::{self, AlarmConfig, Evaluation, Operator, PeriodPoint, StateValue, TreatMissing};
use crate::ops::history::{HISTORY_RETENTION_MS, StateChange, apply};
use crate::ops::metrics::aggregate_records;
use crate::state::{ALARMS, Alarm, DATAPOINTS, HISTORY, METRICS, Sample};
use crate::stats::{Agg, Stat};

/// How long samples are kept.
pub const METRIC_RETENTION_MS: i64 = 455 * 24 * 3600 * 1000;
/// How long high-resolution samples keep their resolution.
pub const HIGH_RES_MS: i64 = 3 * 3600 * 1000;

/// Registers the evaluation (every 10 s) and retention (every 5 min) tasks.
pub fn register_tasks(dispatcher: &Arc<Dispatcher>, svc: Arc<CloudWatch>) {
    let now = dispatcher.clock().now();
    let d = Arc::downgrade(dispatcher);
    dispatcher.scheduler().register(
        Task {
            name: "cloudwatch.evaluate-alarms",
            interval: TimeDelta::seconds(10),
            run: Arc::new(move |due| {
                let d = d.clone();
                let svc = svc.clone();
                Box::pin(async move {
                    if let Some(d) = d.upgrade() {
                        evaluate_due(&svc, &d, due).await;
                    }
                })
            }),
        },
        now,
    );
    let d = Arc::downgrade(dispatcher);
    dispatcher.scheduler().register(
        Task {
            name: "cloudwatch.retention",
            interval: TimeDelta::seconds(300),
            run: Arc::new(move |due| {
                let d = d.clone();
                Box::pin(async move {
                    if let Some(d) = d.upgrade()
                        && let Err(e) = retention(&d, due)
                    {
                        tracing::error!(error = %e, "cloudwatch retention failed");
                    }
                })
            }),
        },
        now,
    );
}

/// Whether an alarm with `period` is evaluated at the tick `due_ms`.
pub fn is_due(period: i64, due_ms: i64) -> bool {
    let cadence = if period < 60 { period } else { 60 };
    due_ms.rem_euclid(cadence * 1000) == 0
}

/// The evaluator's view of an alarm; `None` for a configuration it cannot judge.
pub fn config_of(alarm: &Alarm) -> Option<AlarmConfig> {
    if alarm.rule.is_some() {
        // Composite alarms follow their children (`composite::settle`), not metrics.
        return None;
    }
    let statistic = alarm.statistic.clone().or_else(|| alarm.extended_statistic.clone());
    let percentile = match alarm.extended_statistic.as_deref().and_then(Stat::parse) {
        Some(Stat::Percentile(p)) => Some(p),
        _ => None,
    };
    let n = usize::try_from(alarm.evaluation_periods).ok()?;
    Some(AlarmConfig {
        period: alarm.period,
        evaluation_periods: n,
        datapoints_to_alarm: alarm
            .datapoints_to_alarm
            .and_then(|m| usize::try_from(m).ok())
            .unwrap_or(n),
        threshold: alarm.threshold,
        operator: Operator::parse(&alarm.comparison_operator)?,
        treat_missing: alarm
            .treat_missing_data
            .as_deref()
            .and_then(TreatMissing::parse)
            .unwrap_or(TreatMissing::Missing),
        statistic: statistic.unwrap_or_else(|| "Expression".into()),
        percentile,
        ignore_low_sample_count: alarm.evaluate_low_sample_count_percentile.as_deref()
            == Some("ignore"),
    })
}

/// How far back (ms) an alarm's evaluation range reaches.
pub fn span_ms(alarm: &Alarm, config: &AlarmConfig) -> i64 {
    alarm.period * 1000 * eval::evaluation_range(config.evaluation_periods) as i64
}

/// The evaluation range of an alarm at `end_ms`, oldest period first. `metric_id` is the
/// alarm metric's stream id when the caller has it at hand.
pub fn read_slots(
    tx: &Tx<'_>,
    part: &str,
    alarm: &Alarm,
    config: &AlarmConfig,
    end_ms: i64,
    metric_id: Option<&str>,
) -> Result<Vec<Option<PeriodPoint>>, StoreError> {
    let range = eval::evaluation_range(config.evaluation_periods);
    let step = alarm.period * 1000;
    let start = end_ms - span_ms(alarm, config);
    if let Some(queries) = &alarm.metrics {
        return crate::ops::data::alarm_slots(tx, part, queries, start, end_ms, alarm.period);
    }
    let Some(key) = &alarm.metric else { return Ok(vec![None; range]) };
    let stat = alarm
        .statistic
        .as_deref()
        .or(alarm.extended_statistic.as_deref())
        .and_then(Stat::parse)
        .unwrap_or(Stat::Maximum);
    let id = metric_id.map(str::to_owned).unwrap_or_else(|| key.id());
    let records = DATAPOINTS.range(tx, part, &[&id], start, end_ms, None, usize::MAX, false)?;
    let samples = records.iter().map(|r| (r.ts, &r.value));
    let by_unit = aggregate_records(samples, alarm.period, alarm.unit.as_deref(), start);
    let mut merged: BTreeMap<i64, Agg> = BTreeMap::new();
    for ((bucket, _), agg) in by_unit {
        match merged.get_mut(&bucket) {
            Some(m) => m.merge(&agg),
            None => {
                merged.insert(bucket, agg);
            }
        }
    }
    Ok((0..range as i64)
        .map(|i| {
            let start_ms = start + i * step;
            let agg = merged.get(&start_ms)?;
            Some(PeriodPoint { start_ms, value: agg.get(stat)?, sample_count: agg.count })
        })
        .collect())
}

/// Evaluates every alarm due at `due`, applying transitions and running their actions.
// GAP: no grace delay for late data: a datapoint that arrives after its period closed
// is judged one evaluation later than in AWS.
pub async fn evaluate_due(svc: &CloudWatch, dispatcher: &Arc<Dispatcher>, due: DateTime<Utc>) {
    let now = due.timestamp_millis();
    let store = dispatcher.store();
    let alarms = match svc.alarms.get(store) {
        Ok(a) => a,
        Err(e) => {
            tracing::error!(error = %e, "cannot read alarms");
            return;
        }
    };
    let mut changes = Vec::new();
    let read = store.read(|tx| {
        for cached in alarms.iter() {
            let alarm = &cached.alarm;
            let Some(config) = &cached.config else { continue };
            if !is_due(alarm.period, now) {
                continue;
            }
            let slots =
                read_slots(tx, &cached.part, alarm, config, now, cached.metric_id.as_deref())?;
            let current =
                StateValue::parse(&alarm.state.value).unwrap_or(StateValue::InsufficientData);
            let Evaluation { state, reason, reason_data } =
                eval::evaluate(config, &slots, now, current);
            if state != current {
                let change = StateChange { state, reason, reason_data: Some(reason_data) };
                changes.push((cached.part.clone(), alarm.name.clone(), change));
            }
        }
        Ok::<_, StoreError>(())
    });
    if let Err(e) = read {
        tracing::error!(error = %e, "alarm evaluation failed");
        return;
    }
    if changes.is_empty() {
        return;
    }
    // All transitions of a tick commit together, then their actions run.
    let applied = store.write(|tx| {
        let mut applied = Vec::new();
        for (part, name, change) in &changes {
            if let Some(done) = apply(tx, part, name, change, now)? {
                applied.push((part.clone(), done));
            }
        }
        Ok::<_, StoreError>(applied)
    });
    svc.alarms.invalidate();
    match applied {
        Ok(applied) => {
            let mut parts = BTreeSet::new();
            for (part, (alarm, old)) in applied {
                tracing::info!(alarm = %alarm.name, from = %old, to = %alarm.state.value, reason = %alarm.state.reason, "alarm state changed");
                crate::actions::run(dispatcher, &part, &alarm, &old, now).await;
                parts.insert(part);
            }
            for part in parts {
                crate::composite::settle(dispatcher, &part, now, None).await;
            }
        }
        Err(e) => tracing::error!(error = %e, "cannot record alarm states"),
    }
}

/// One retention pass at `due`.
pub fn retention(dispatcher: &Arc<Dispatcher>, due: DateTime<Utc>) -> Result<(), StoreError> {
    let now = due.timestamp_millis();
    let store = dispatcher.store();
    let metrics = store.read(|tx| METRICS.everywhere(tx))?;
    let mut parts: BTreeSet<String> = metrics.iter().map(|(p, _, _)| p.clone()).collect();
    parts.extend(store.read(|tx| ALARMS.everywhere(tx))?.into_iter().map(|(p, _, _)| p));
    let cutoff = (now - HIGH_RES_MS).div_euclid(60_000) * 60_000;
    for (part, id, record) in metrics {
        if !record.has_high_res || record.rolled_until_ms >= cutoff {
            continue;
        }
        store.write(|tx| roll_up(tx, &part, &id, record.rolled_until_ms, cutoff))?;
    }
    for part in parts {
        store.write(|tx| {
            let gone = DATAPOINTS.delete_before(tx, &part, None, now - METRIC_RETENTION_MS)?;
            let old_history = HISTORY.delete_before(tx, &part, None, now - HISTORY_RETENTION_MS)?;
            if gone + old_history > 0 {
                tracing::info!(part = %part, samples = gone, history = old_history, "expired cloudwatch data");
            }
            Ok::<_, StoreError>(())
        })?;
    }
    Ok(())
}

/// Rolls the samples of one metric in `[from, cutoff)` up to one-minute samples.
fn roll_up(tx: &Tx<'_>, part: &str, id: &str, from: i64, cutoff: i64) -> Result<(), StoreError> {
    let records = DATAPOINTS.range(tx, part, &[id], from, cutoff, None, usize::MAX, false)?;
    if records.iter().any(|r| r.value.r < 60) {
        let mut minutes: BTreeMap<(i64, Option<String>), Sample> = BTreeMap::new();
        for rec in &records {
            let minute = rec.ts.div_euclid(60_000) * 60_000;
            let s = &rec.value;
            minutes
                .entry((minute, s.u.clone()))
                .and_modify(|m| {
                    m.n += s.n;
                    m.s += s.s;
                    m.lo = m.lo.min(s.lo);
                    m.hi = m.hi.max(s.hi);
                    match (&mut m.v, &s.v) {
                        (Some(mine), Some(theirs)) => mine.extend_from_slice(theirs),
                        _ => m.v = None,
                    }
                })
                .or_insert_with(|| Sample { r: 60, ..s.clone() });
        }
        DATAPOINTS.delete_range(tx, part, id, from, cutoff)?;
        for ((minute, _), sample) in &minutes {
            DATAPOINTS.append(tx, part, id, *minute, sample)?;
        }
        tracing::debug!(
            metric = id,
            samples = records.len(),
            minutes = minutes.len(),
            "rolled up high-resolution data"
        );
    }
    if let Some(mut record) = METRICS.get(tx, part, id)? {
        record.rolled_until_ms = cutoff;
        // Samples may still arrive with timestamps after the cutoff.
        record.has_high_res = record.last_put_ms + 2 * 3600 * 1000 >= cutoff;
        METRICS.put(tx, part, id, &record)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cadence() {
        let cases = [
            // period  due (s)  due?
            (10, 10, true),
            (20, 10, false),
            (20, 20, true),
            (30, 90, true),
            (60, 60, true),
            (60, 70, false),
            (300, 120, true),
        ];
        for (period, due, want) in cases {
            assert_eq!(is_due(period, due * 1000), want, "period={period} due={due}");
        }
    }
}
