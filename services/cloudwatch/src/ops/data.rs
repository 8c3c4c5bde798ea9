//! `GetMetricData` and metric math alarms, following
//! <https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_GetMetricData.html>
//! and <https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/Create-alarm-on-metric-math-expression.html>.

use std::collections::{BTreeMap, HashMap};

use mamori_aws::AwsError;
use mamori_service::{Context, parse_input};
use mamori_store::{StoreError, Tx};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::errors::{TxError, invalid_token, validation};
use crate::eval::PeriodPoint;
use crate::math::{self, Expr, Resolve, Series, Val};
use crate::ops::metrics::{aggregate, valid_query_period};
use crate::state::{Dimension, MetricKey, epoch_seconds, to_millis};
use crate::stats::{Agg, Stat};

/// Queries per request.
const MAX_QUERIES: usize = 500;
/// Default and largest `MaxDatapoints`.
const MAX_DATAPOINTS: usize = 100_800;

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Query {
    id: String,
    metric_stat: Option<MetricStat>,
    expression: Option<String>,
    label: Option<String>,
    return_data: Option<bool>,
    period: Option<i64>,
    account_id: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct MetricStat {
    metric: Metric,
    period: i64,
    stat: String,
    unit: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Metric {
    namespace: Option<String>,
    metric_name: Option<String>,
    #[serde(default)]
    dimensions: Vec<Dimension>,
}

/// A checked query.
enum Kind {
    Stat { key: MetricKey, period: i64, stat: Stat, unit: Option<String> },
    Math(Expr),
}

struct Checked {
    id: String,
    label: String,
    return_data: bool,
    kind: Kind,
}

fn valid_id(id: &str) -> bool {
    let mut chars = id.chars();
    chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

fn check(queries: Vec<Query>) -> Result<Vec<Checked>, AwsError> {
    if queries.is_empty() {
        return Err(crate::errors::missing("MetricDataQueries"));
    }
    if queries.len() > MAX_QUERIES {
        return Err(validation(format!(
            "The collection MetricDataQueries must not have a size greater than {MAX_QUERIES}."
        )));
    }
    let mut seen = std::collections::HashSet::new();
    let mut res = Vec::new();
    for (i, q) in queries.into_iter().enumerate() {
        let at = format!("MetricDataQueries.member.{}", i + 1);
        if !valid_id(&q.id) {
            return Err(validation(format!(
                "The value {} for parameter {at}.Id is invalid: it must start with a lowercase letter and contain only letters, digits and underscores.",
                q.id
            )));
        }
        if !seen.insert(q.id.clone()) {
            return Err(validation(format!(
                "The value {} for parameter {at}.Id is not unique.",
                q.id
            )));
        }
        if q.account_id.is_some() {
            // GAP: no cross-account observability.
            return Err(validation(format!("{at}.AccountId is not supported by mamori.")));
        }
        let kind = match (q.metric_stat, &q.expression) {
            (Some(_), Some(_)) | (None, None) => {
                return Err(validation(format!(
                    "Exactly one of {at}.MetricStat and {at}.Expression must be specified."
                )));
            }
            (Some(ms), None) => {
                let stat = Stat::parse(&ms.stat).ok_or_else(|| {
                    validation(format!(
                        "The value {} for parameter {at}.MetricStat.Stat is invalid.",
                        ms.stat
                    ))
                })?;
                if !valid_query_period(ms.period) {
                    return Err(validation(format!(
                        "The parameter {at}.MetricStat.Period must be 1, 5, 10, 20, 30 or a multiple of 60."
                    )));
                }
                let (Some(ns), Some(name)) = (ms.metric.namespace, ms.metric.metric_name) else {
                    return Err(crate::errors::missing(&format!(
                        "{at}.MetricStat.Metric.MetricName"
                    )));
                };
                let key = MetricKey::new(&ns, &name, ms.metric.dimensions);
                Kind::Stat { key, period: ms.period, stat, unit: ms.unit }
            }
            (None, Some(src)) => Kind::Math(math::parse(src).map_err(|e| {
                validation(format!("Invalid metrics math expression for {at}.Expression: {e}"))
            })?),
        };
        let label = q.label.clone().unwrap_or_else(|| match &kind {
            Kind::Stat { key, .. } => key.name.clone(),
            Kind::Math(_) => q.id.clone(),
        });
        res.push(Checked { id: q.id, label, return_data: q.return_data.unwrap_or(true), kind });
    }
    for q in &res {
        if let Kind::Math(e) = &q.kind {
            let mut refs = Vec::new();
            math::references(e, &mut refs);
            if let Some(r) = refs.iter().find(|r| !res.iter().any(|q| q.id == **r)) {
                return Err(validation(format!(
                    "Unknown metric id {r} in expression of {}.",
                    q.id
                )));
            }
        }
    }
    Ok(res)
}

/// Computes every query over `[start, end)` with periods aligned to `origin`.
struct Engine<'a, 'tx> {
    tx: &'a Tx<'tx>,
    part: &'a str,
    queries: &'a [Checked],
    start: i64,
    end: i64,
    origin: i64,
    done: HashMap<String, Val>,
    active: Vec<String>,
}

impl Engine<'_, '_> {
    fn value(&mut self, id: &str) -> Result<Val, TxError> {
        if let Some(v) = self.done.get(id) {
            return Ok(v.clone());
        }
        if self.active.iter().any(|a| a == id) {
            return Err(validation(format!("The expression of {id} refers to itself.")).into());
        }
        let q = self
            .queries
            .iter()
            .find(|q| q.id == id)
            .ok_or_else(|| validation(format!("Unknown metric id {id}.")))?;
        let v = match &q.kind {
            Kind::Stat { key, period, stat, unit } => {
                let aggs = aggregate(
                    self.tx,
                    self.part,
                    key,
                    self.start,
                    self.end,
                    *period,
                    unit.as_deref(),
                    self.origin,
                )?;
                let mut merged: BTreeMap<i64, Agg> = BTreeMap::new();
                for ((t, _), a) in aggs {
                    match merged.get_mut(&t) {
                        Some(m) => m.merge(&a),
                        None => {
                            merged.insert(t, a);
                        }
                    }
                }
                Val::Series(
                    merged
                        .into_iter()
                        .filter(|(t, _)| *t >= self.start)
                        .filter_map(|(t, a)| Some((t, a.get(*stat)?)))
                        .collect(),
                )
            }
            Kind::Math(e) => {
                self.active.push(id.to_owned());
                let e = e.clone();
                let mut err = None;
                let res = {
                    let mut r = EngineResolve { engine: self, err: &mut err };
                    math::eval(&e, &mut r)
                };
                self.active.pop();
                if let Some(e) = err {
                    return Err(e);
                }
                res.map_err(|m| validation(format!("Error in expression {id}: {m}")))?
            }
        };
        self.done.insert(id.to_owned(), v.clone());
        Ok(v)
    }
}

struct EngineResolve<'e, 'a, 'tx> {
    engine: &'e mut Engine<'a, 'tx>,
    err: &'e mut Option<TxError>,
}

impl Resolve for EngineResolve<'_, '_, '_> {
    fn id(&mut self, id: &str) -> Result<Val, String> {
        self.engine.value(id).map_err(|e| {
            let msg = e.0.message.clone();
            *self.err = Some(e);
            msg
        })
    }

    fn metrics(&mut self, filter: Option<&str>) -> Result<Val, String> {
        let ids: Vec<(String, String)> = self
            .engine
            .queries
            .iter()
            .filter(|q| matches!(q.kind, Kind::Stat { .. }))
            .filter(|q| filter.is_none_or(|f| q.label.contains(f) || q.id.contains(f)))
            .map(|q| (q.id.clone(), q.label.clone()))
            .collect();
        let mut arr = Vec::new();
        for (id, label) in ids {
            if let Val::Series(s) = self.id(&id)? {
                arr.push((label, s));
            }
        }
        Ok(Val::Array(arr))
    }
}

/// The smallest period of the metric queries (for scalar expressions), else 60.
fn grid_period(queries: &[Checked]) -> i64 {
    queries
        .iter()
        .filter_map(|q| match q.kind {
            Kind::Stat { period, .. } => Some(period),
            Kind::Math(_) => None,
        })
        .min()
        .unwrap_or(60)
}

fn as_series(v: Val, label: &str, start: i64, end: i64, period: i64) -> Vec<(String, Series)> {
    match v {
        Val::Series(s) => vec![(label.to_owned(), s)],
        Val::Array(arr) => arr,
        Val::Scalar(x) => {
            let step = period * 1000;
            let first = start.div_euclid(step) * step;
            let s = (0..)
                .map(|i| first + i * step)
                .take_while(|t| *t < end)
                .filter(|t| *t >= start)
                .map(|t| (t, x))
                .collect();
            vec![(label.to_owned(), s)]
        }
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct GetMetricDataInput {
    metric_data_queries: Vec<Query>,
    start_time: f64,
    end_time: f64,
    next_token: Option<String>,
    scan_by: Option<String>,
    max_datapoints: Option<usize>,
}

/// Implements `GetMetricData`.
///
/// # Gaps
/// - Metric math covers arithmetic, unary minus, SUM/AVG/MIN/MAX and METRICS() only.
/// - `LabelOptions` is ignored; `AccountId` is rejected.
pub fn get_metric_data(ctx: &Context, input: Value) -> Result<Value, AwsError> {
    let input: GetMetricDataInput = parse_input(input)?;
    let queries = check(input.metric_data_queries)?;
    if !queries.iter().any(|q| q.return_data) {
        return Err(validation("At least one MetricDataQuery must have ReturnData set to true."));
    }
    let (start, end) = (to_millis(input.start_time), to_millis(input.end_time));
    if start >= end {
        return Err(validation("The parameter StartTime must be less than the parameter EndTime."));
    }
    let max = input.max_datapoints.unwrap_or(MAX_DATAPOINTS).clamp(1, MAX_DATAPOINTS);
    let offset: usize = match &input.next_token {
        None => 0,
        Some(t) => t.parse().map_err(|_| invalid_token())?,
    };
    let descending = input.scan_by.as_deref() != Some("TimestampAscending");
    let part = ctx.partition();
    let period = grid_period(&queries);
    let results = ctx.dispatcher.store().read(|tx| {
        let mut engine = Engine {
            tx,
            part: &part,
            queries: &queries,
            start,
            end,
            origin: 0,
            done: HashMap::new(),
            active: Vec::new(),
        };
        let mut out = Vec::new();
        for q in queries.iter().filter(|q| q.return_data) {
            let v = engine.value(&q.id)?;
            for (label, series) in as_series(v, &q.label, start, end, period) {
                out.push((q.id.clone(), label, series));
            }
        }
        Ok::<_, TxError>(out)
    })?;
    // Pagination counts datapoints across results, in result order.
    let mut skipped = 0usize;
    let mut taken = 0usize;
    let mut rendered = Vec::new();
    let mut more = false;
    for (id, label, series) in results {
        let mut points: Vec<(i64, f64)> = series.into_iter().collect();
        if descending {
            points.reverse();
        }
        let skip = offset.saturating_sub(skipped).min(points.len());
        skipped += skip;
        let room = max - taken;
        let page: Vec<(i64, f64)> = points[skip..].iter().take(room).copied().collect();
        taken += page.len();
        let partial = skip + page.len() < points.len();
        more |= partial;
        if skip == points.len() && skip > 0 {
            continue;
        }
        rendered.push(json!({
            "Id": id,
            "Label": label,
            "Timestamps": page.iter().map(|(t, _)| epoch_seconds(*t)).collect::<Vec<_>>(),
            "Values": page.iter().map(|(_, v)| *v).collect::<Vec<_>>(),
            "StatusCode": if partial { "PartialData" } else { "Complete" },
        }));
    }
    let mut res = json!({"MetricDataResults": rendered, "Messages": []});
    if more {
        res["NextToken"] = json!((offset + taken).to_string());
    }
    Ok(res)
}

/// Checks the `Metrics` of a metric math alarm; returns their common period.
pub fn check_alarm_queries(queries: &[Value]) -> Result<i64, AwsError> {
    let parsed: Vec<Query> = queries
        .iter()
        .map(|q| serde_json::from_value(q.clone()))
        .collect::<Result<_, _>>()
        .map_err(|e| validation(format!("Invalid Metrics: {e}")))?;
    let explicit_periods: Vec<i64> = parsed.iter().filter_map(|q| q.period).collect();
    let checked = check(parsed)?;
    if checked.iter().filter(|q| q.return_data).count() != 1 {
        return Err(validation("Exactly one element of the metrics list should return data."));
    }
    let mut periods: Vec<i64> = checked
        .iter()
        .filter_map(|q| match q.kind {
            Kind::Stat { period, .. } => Some(period),
            Kind::Math(_) => None,
        })
        .collect();
    periods.extend(explicit_periods);
    periods.dedup();
    match periods.as_slice() {
        [] => Err(validation("A metric math alarm needs at least one MetricStat.")),
        [p] => Ok(*p),
        _ if periods.iter().all(|p| *p == periods[0]) => Ok(periods[0]),
        _ => Err(validation("All metrics in a metric math alarm must have the same period.")),
    }
}

/// The per-period values of a metric math alarm over `[start, end)`, one slot per
/// period aligned to `start`.
pub fn alarm_slots(
    tx: &Tx<'_>,
    part: &str,
    queries: &Value,
    start: i64,
    end: i64,
    period: i64,
) -> Result<Vec<Option<PeriodPoint>>, StoreError> {
    let step = period * 1000;
    let n = ((end - start) / step).max(0) as usize;
    let parsed: Option<Vec<Query>> = serde_json::from_value(queries.clone()).ok();
    let Some(checked) = parsed.and_then(|p| check(p).ok()) else { return Ok(vec![None; n]) };
    let Some(target) = checked.iter().find(|q| q.return_data).map(|q| q.id.clone()) else {
        return Ok(vec![None; n]);
    };
    let mut engine = Engine {
        tx,
        part,
        queries: &checked,
        start,
        end,
        origin: start,
        done: HashMap::new(),
        active: Vec::new(),
    };
    let series = match engine.value(&target) {
        Ok(Val::Series(s)) => s,
        Ok(Val::Scalar(x)) => (0..n as i64).map(|i| (start + i * step, x)).collect(),
        Ok(Val::Array(_)) => Series::new(),
        Err(TxError(e)) if e.is_server_fault() => {
            return Err(StoreError::Io(std::io::Error::other(e.to_string())));
        }
        Err(e) => {
            tracing::debug!(error = %e.0, "metric math alarm expression failed");
            Series::new()
        }
    };
    Ok((0..n as i64)
        .map(|i| {
            let t = start + i * step;
            series.get(&t).map(|v| PeriodPoint { start_ms: t, value: *v, sample_count: 1.0 })
        })
        .collect())
}
