//! `PutMetricData`, `GetMetricStatistics` and `ListMetrics`, following
//! <https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_PutMetricData.html>,
//! <https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_GetMetricStatistics.html>
//! and <https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_ListMetrics.html>.

use std::collections::BTreeMap;

use mamori_aws::AwsError;
use mamori_service::{Context, PrincipalKind, parse_input};
use mamori_store::Tx;
use serde::Deserialize;
use serde_json::{Map, Value, json};

use crate::errors::{bad_value, db, invalid_combination, invalid_token, invalid_value, missing};
use crate::state::{
    DATAPOINTS, Dimension, METRICS, MetricKey, MetricRecord, Sample, epoch_seconds, to_millis,
};
use crate::stats::{Agg, Stat};

/// Datapoints per `PutMetricData` call.
pub const MAX_DATUMS: usize = 1000;
/// Values per datum.
const MAX_VALUES: usize = 150;
/// Datapoints per `GetMetricStatistics` answer.
const MAX_DATAPOINTS: i64 = 1440;
/// Metrics per `ListMetrics` page.
const LIST_PAGE: usize = 500;
/// `RecentlyActive=PT3H`.
const RECENT_MS: i64 = 3 * 3600 * 1000;
/// AWS accepts timestamps up to two weeks back and two hours ahead.
const MAX_AGE_MS: i64 = 14 * 24 * 3600 * 1000;
const MAX_AHEAD_MS: i64 = 2 * 3600 * 1000;

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct PutMetricDataInput {
    namespace: String,
    #[serde(default)]
    metric_data: Option<Vec<Datum>>,
    #[serde(default)]
    entity_metric_data: Option<Value>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Datum {
    metric_name: String,
    #[serde(default)]
    dimensions: Vec<Dimension>,
    timestamp: Option<f64>,
    value: Option<f64>,
    statistic_values: Option<StatisticSet>,
    values: Option<Vec<f64>>,
    counts: Option<Vec<f64>>,
    unit: Option<String>,
    storage_resolution: Option<i64>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct StatisticSet {
    sample_count: f64,
    sum: f64,
    minimum: f64,
    maximum: f64,
}

/// Values CloudWatch accepts: finite, magnitude within 2^-360 .. 2^360 or zero.
pub fn valid_value(v: f64) -> bool {
    let limit = 2f64.powi(360);
    v.is_finite() && (v == 0.0 || (v.abs() <= limit && v.abs() >= 1.0 / limit))
}

/// Implements `PutMetricData`.
///
/// # Gaps
/// - `EntityMetricData` is accepted and ignored (entities are not modelled).
pub fn put_metric_data(ctx: &Context, input: Value) -> Result<Value, AwsError> {
    let input: PutMetricDataInput = parse_input(input)?;
    if input.namespace.starts_with("AWS/")
        && !matches!(ctx.principal.kind, PrincipalKind::Service(_))
    {
        return Err(bad_value(&input.namespace, "Namespace"));
    }
    if input.entity_metric_data.is_some() {
        tracing::warn!("PutMetricData EntityMetricData is ignored");
    }
    let data = input.metric_data.unwrap_or_default();
    if data.is_empty() {
        return Err(missing("MetricData"));
    }
    if data.len() > MAX_DATUMS {
        return Err(invalid_value(format!(
            "The collection MetricData must not have a size greater than {MAX_DATUMS}."
        )));
    }
    let now = ctx.time.timestamp_millis();
    let mut samples = Vec::with_capacity(data.len());
    for (i, datum) in data.into_iter().enumerate() {
        let at = format!("MetricData.member.{}", i + 1);
        samples.push(check_datum(&input.namespace, datum, &at, now)?);
    }
    let part = ctx.partition();
    ctx.dispatcher
        .store()
        .write(|tx| {
            let mut touched: BTreeMap<String, (MetricKey, bool)> = BTreeMap::new();
            for (key, ts, sample) in &samples {
                let id = key.id();
                DATAPOINTS.append(tx, &part, &id, *ts, sample)?;
                let high_res = sample.r < 60;
                let entry = touched.entry(id).or_insert_with(|| (key.clone(), false));
                entry.1 |= high_res;
            }
            for (id, (key, high_res)) in touched {
                let mut record = METRICS.get(tx, &part, &id)?.unwrap_or(MetricRecord {
                    key,
                    last_put_ms: now,
                    rolled_until_ms: 0,
                    has_high_res: false,
                });
                record.last_put_ms = now;
                record.has_high_res |= high_res;
                METRICS.put(tx, &part, &id, &record)?;
            }
            Ok::<_, mamori_store::StoreError>(())
        })
        .map_err(db)?;
    tracing::debug!(namespace = %input.namespace, n = samples.len(), "metric data stored");
    Ok(json!({}))
}

fn check_datum(
    namespace: &str,
    d: Datum,
    at: &str,
    now: i64,
) -> Result<(MetricKey, i64, Sample), AwsError> {
    if d.dimensions.len() > 30 {
        return Err(invalid_value(format!(
            "The collection {at}.Dimensions must not have a size greater than 30."
        )));
    }
    let exclusive = |a: &str, b: &str| {
        invalid_combination(format!(
            "The parameters {at}.{a} and {at}.{b} are mutually exclusive and you have specified both."
        ))
    };
    match (&d.value, &d.statistic_values, &d.values) {
        (Some(_), Some(_), _) => return Err(exclusive("Value", "StatisticValues")),
        (Some(_), _, Some(_)) => return Err(exclusive("Value", "Values")),
        (_, Some(_), Some(_)) => return Err(exclusive("StatisticValues", "Values")),
        (None, None, None) => return Err(missing(&format!("{at}.Value"))),
        _ => {}
    }
    let resolution = d.storage_resolution.unwrap_or(60);
    if resolution != 1 && resolution != 60 {
        return Err(bad_value(resolution, &format!("{at}.StorageResolution")));
    }
    let ts = d.timestamp.map(to_millis).unwrap_or(now);
    if ts < now - MAX_AGE_MS || ts > now + MAX_AHEAD_MS {
        return Err(invalid_value(format!(
            "The parameter {at}.Timestamp must specify a time no more than two weeks in the past and no more than two hours in the future."
        )));
    }
    let sample = if let Some(v) = d.value {
        if !valid_value(v) {
            return Err(bad_value(v, &format!("{at}.Value")));
        }
        Sample { n: 1.0, s: v, lo: v, hi: v, u: None, r: 60, v: Some(vec![(v, 1.0)]) }
    } else if let Some(set) = d.statistic_values {
        for (name, v) in [
            ("SampleCount", set.sample_count),
            ("Sum", set.sum),
            ("Minimum", set.minimum),
            ("Maximum", set.maximum),
        ] {
            if !valid_value(v) {
                return Err(bad_value(v, &format!("{at}.StatisticValues.{name}")));
            }
        }
        if set.sample_count <= 0.0 || set.minimum > set.maximum {
            return Err(invalid_value(format!(
                "The parameter {at}.StatisticValues must have a positive SampleCount and a Minimum no greater than its Maximum."
            )));
        }
        Sample {
            n: set.sample_count,
            s: set.sum,
            lo: set.minimum,
            hi: set.maximum,
            u: None,
            r: 60,
            v: None,
        }
    } else {
        let values = d.values.unwrap_or_default();
        if values.len() > MAX_VALUES {
            return Err(invalid_value(format!(
                "The collection {at}.Values must not have a size greater than {MAX_VALUES}."
            )));
        }
        let counts = d.counts.unwrap_or_else(|| vec![1.0; values.len()]);
        if counts.len() != values.len() {
            return Err(invalid_value(format!(
                "The parameters {at}.Values and {at}.Counts must be of the same size."
            )));
        }
        if values.is_empty() {
            return Err(missing(&format!("{at}.Values")));
        }
        for v in &values {
            if !valid_value(*v) {
                return Err(bad_value(v, &format!("{at}.Values")));
            }
        }
        if counts.iter().any(|c| !c.is_finite() || *c < 0.0) {
            return Err(invalid_value(format!("The parameter {at}.Counts must not be negative.")));
        }
        let pairs: Vec<(f64, f64)> = values.into_iter().zip(counts).collect();
        let n: f64 = pairs.iter().map(|(_, c)| c).sum();
        let s: f64 = pairs.iter().map(|(v, c)| v * c).sum();
        let lo = pairs.iter().map(|(v, _)| *v).fold(f64::INFINITY, f64::min);
        let hi = pairs.iter().map(|(v, _)| *v).fold(f64::NEG_INFINITY, f64::max);
        Sample { n, s, lo, hi, u: None, r: 60, v: Some(pairs) }
    };
    let unit = d.unit.filter(|u| u != "None");
    let sample = Sample { u: unit, r: resolution as u32, ..sample };
    Ok((MetricKey::new(namespace, &d.metric_name, d.dimensions), ts, sample))
}

/// Aggregates the samples of `key` in `[start, end)` into periods of `period` seconds
/// aligned to `origin_ms`, one aggregate per (period start, unit); samples with another
/// unit than `unit` (when given) are skipped.
#[allow(clippy::too_many_arguments)]
pub fn aggregate(
    tx: &Tx<'_>,
    part: &str,
    key: &MetricKey,
    start_ms: i64,
    end_ms: i64,
    period: i64,
    unit: Option<&str>,
    origin_ms: i64,
) -> mamori_store::Result<BTreeMap<(i64, Option<String>), Agg>> {
    let id = key.id();
    let records = DATAPOINTS.range(tx, part, &[&id], start_ms, end_ms, None, usize::MAX, false)?;
    let step = period * 1000;
    let mut res: BTreeMap<(i64, Option<String>), Agg> = BTreeMap::new();
    for rec in records {
        let sample_unit = rec.value.u.as_deref();
        if let Some(want) = unit
            && want != sample_unit.unwrap_or("None")
        {
            continue;
        }
        let bucket = origin_ms + (rec.ts - origin_ms).div_euclid(step) * step;
        match res.get_mut(&(bucket, rec.value.u.clone())) {
            Some(agg) => agg.add(&rec.value),
            None => {
                res.insert((bucket, rec.value.u.clone()), Agg::of(&rec.value));
            }
        }
    }
    Ok(res)
}

/// Periods `GetMetricStatistics` and `GetMetricData` accept: 1, 5, 10, 20, 30 or a
/// multiple of 60.
pub fn valid_query_period(period: i64) -> bool {
    matches!(period, 1 | 5 | 10 | 20 | 30) || (period > 0 && period % 60 == 0)
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct GetMetricStatisticsInput {
    namespace: String,
    metric_name: String,
    #[serde(default)]
    dimensions: Vec<Dimension>,
    start_time: f64,
    end_time: f64,
    period: i64,
    statistics: Option<Vec<String>>,
    extended_statistics: Option<Vec<String>>,
    unit: Option<String>,
}

/// Implements `GetMetricStatistics`.
pub fn get_metric_statistics(ctx: &Context, input: Value) -> Result<Value, AwsError> {
    let input: GetMetricStatisticsInput = parse_input(input)?;
    let statistics = input.statistics.unwrap_or_default();
    let extended = input.extended_statistics.unwrap_or_default();
    if !statistics.is_empty() && !extended.is_empty() {
        return Err(invalid_combination(
            "The parameters Statistics and ExtendedStatistics are mutually exclusive and you have specified both.",
        ));
    }
    if statistics.is_empty() && extended.is_empty() {
        return Err(missing("Statistics or ExtendedStatistics"));
    }
    let mut stats = Vec::new();
    for (i, s) in statistics.iter().enumerate() {
        stats.push((
            s.clone(),
            false,
            Stat::parse(s).ok_or_else(|| bad_value(s, &format!("Statistics.member.{}", i + 1)))?,
        ));
    }
    for (i, s) in extended.iter().enumerate() {
        let stat = Stat::parse(s)
            .filter(|s| s.is_percentile())
            .ok_or_else(|| bad_value(s, &format!("ExtendedStatistics.member.{}", i + 1)))?;
        stats.push((s.clone(), true, stat));
    }
    if !valid_query_period(input.period) {
        return Err(invalid_value(
            "The parameter Period must be 1, 5, 10, 20, 30 or a multiple of 60.",
        ));
    }
    let (start, end) = (to_millis(input.start_time), to_millis(input.end_time));
    if start >= end {
        return Err(invalid_value(
            "The parameter StartTime must be less than the parameter EndTime.",
        ));
    }
    let step = input.period * 1000;
    let first = start.div_euclid(step) * step;
    let n_points = (end - first + step - 1) / step;
    if n_points > MAX_DATAPOINTS {
        return Err(invalid_combination(format!(
            "You have requested up to {n_points} datapoints, which exceeds the limit of {MAX_DATAPOINTS}. You may reduce the datapoints requested by increasing Period, or decreasing the time range."
        )));
    }
    let key = MetricKey::new(&input.namespace, &input.metric_name, input.dimensions);
    let part = ctx.partition();
    let aggs = ctx
        .dispatcher
        .store()
        .read(|tx| aggregate(tx, &part, &key, first, end, input.period, input.unit.as_deref(), 0))
        .map_err(db)?;
    let mut datapoints = Vec::new();
    for ((bucket, unit), agg) in aggs {
        if bucket < first {
            continue;
        }
        let mut dp = Map::new();
        dp.insert("Timestamp".into(), epoch_seconds(bucket));
        let mut ext = Map::new();
        for (name, is_ext, stat) in &stats {
            let Some(v) = agg.get(*stat) else { continue };
            if *is_ext {
                ext.insert(name.clone(), json!(v));
            } else {
                dp.insert(name.clone(), json!(v));
            }
        }
        if !ext.is_empty() {
            dp.insert("ExtendedStatistics".into(), Value::Object(ext));
        }
        dp.insert("Unit".into(), json!(unit.as_deref().unwrap_or("None")));
        datapoints.push(Value::Object(dp));
    }
    Ok(json!({"Label": input.metric_name, "Datapoints": datapoints}))
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ListMetricsInput {
    namespace: Option<String>,
    metric_name: Option<String>,
    #[serde(default)]
    dimensions: Vec<DimensionFilter>,
    next_token: Option<String>,
    recently_active: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct DimensionFilter {
    name: String,
    value: Option<String>,
}

/// Implements `ListMetrics`.
///
/// # Gaps
/// - `IncludeLinkedAccounts` and `OwningAccount` are ignored (no cross-account observability).
pub fn list_metrics(ctx: &Context, input: Value) -> Result<Value, AwsError> {
    let input: ListMetricsInput = parse_input(input)?;
    let prefix = input.namespace.as_deref().map(MetricKey::namespace_prefix).unwrap_or_default();
    let part = ctx.partition();
    let now = ctx.time.timestamp_millis();
    let mut after = input.next_token.clone();
    if let Some(token) = &after
        && !token.starts_with('[')
    {
        return Err(invalid_token());
    }
    let mut metrics = Vec::new();
    let mut next_token = None;
    'pages: loop {
        let page = ctx
            .dispatcher
            .store()
            .read(|tx| METRICS.scan(tx, &part, &prefix, after.as_deref(), LIST_PAGE))
            .map_err(db)?;
        let done = page.len() < LIST_PAGE;
        for (id, record) in page {
            after = Some(id.clone());
            if !matches_filters(&record, &input, now) {
                continue;
            }
            metrics.push(json!({
                "Namespace": record.key.namespace,
                "MetricName": record.key.name,
                "Dimensions": record.key.dimensions,
            }));
            if metrics.len() == LIST_PAGE {
                next_token = Some(id);
                break 'pages;
            }
        }
        if done {
            break;
        }
    }
    let mut res = json!({"Metrics": metrics});
    if let Some(token) = next_token {
        res["NextToken"] = json!(token);
    }
    Ok(res)
}

fn matches_filters(record: &MetricRecord, input: &ListMetricsInput, now: i64) -> bool {
    if input.metric_name.as_ref().is_some_and(|n| *n != record.key.name) {
        return false;
    }
    if input.recently_active.is_some() && record.last_put_ms < now - RECENT_MS {
        return false;
    }
    input.dimensions.iter().all(|f| {
        record
            .key
            .dimensions
            .iter()
            .any(|d| d.name == f.name && f.value.as_ref().is_none_or(|v| *v == d.value))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn value_range() {
        let cases = [
            (0.0, true),
            (1.0, true),
            (-1e100, true),
            (f64::NAN, false),
            (f64::INFINITY, false),
            (2f64.powi(361), false),
            (2f64.powi(-361), false),
            (8.6e-109, true),
        ];
        for (v, want) in cases {
            assert_eq!(valid_value(v), want, "{v}");
        }
    }

    #[test]
    fn query_periods() {
        for (p, want) in [(1, true), (5, true), (7, false), (60, true), (90, false), (300, true)] {
            assert_eq!(valid_query_period(p), want, "{p}");
        }
    }
}
