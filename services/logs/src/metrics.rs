//! Metric filters publishing to CloudWatch, as described in
//! <https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/MonitoringLogData.html> and
//! <https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_MetricTransformation.html>.
//!
//! A `PutLogEvents` batch is run through its group's compiled [`FilterSet`] and the
//! matches are aggregated per (filter, dimensions, second of the event timestamp) into a
//! statistic set. Those datapoints are appended to the outbox series in the same
//! transaction as the events, so an acknowledged batch never loses its metrics, even to a
//! `kill -9`. [`deliver`] sends them to CloudWatch's `PutMetricData` through the
//! dispatcher and deletes each only once CloudWatch accepted it.
//!
//! Datapoints keep the second of the events they count, not only their minute, so that an
//! alarm with a 10 or 30 second period sees a match in the period it happened in (AWS
//! publishes filter metrics at one-minute resolution, where every second of a minute falls
//! in the same period, so a one-minute alarm sees exactly what AWS's would).
//!
//! `defaultValue`: AWS documents it as the value reported "during a period when logs are
//! ingested but no matching logs are found", and nothing when no logs are ingested. We
//! emit it once per filter, stamped at the minute's start, for every minute (of event
//! timestamps) that a batch has events in and no event matching the filter.
//! GAP: the minute is judged per batch, so a minute whose events span several batches may
//! get the default datapoint next to real matches (its Sum is unchanged for the usual
//! default of 0, but its Minimum becomes the default).

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use chrono::{DateTime, TimeDelta, Utc};
use mamori_aws::{AccountId, Region};
use mamori_pattern::{FilterMatch, FilterSet, MetricTransformation, Pattern};
use mamori_service::Dispatcher;
use serde_json::{Value, json};

use crate::state::{MetricFilter, OUTBOX, OUTBOX_PART, PendingDatapoint};

/// Most datapoints in one `PutMetricData` call.
const MAX_PER_CALL: usize = 1000;

/// What ingestion needs of a log group, cached per group: its metric filters compiled
/// into one set, and its retention. Dropped whenever either changes.
#[derive(Debug, Default)]
pub struct CompiledFilters {
    /// The set; filter `i` of the set is `filters[i]`.
    pub set: FilterSet,
    /// The filters, in the set's order.
    pub filters: Vec<MetricFilter>,
    /// The group's retention, for rejecting expired events.
    pub retention_in_days: Option<i32>,
}

/// The engine's view of a stored filter's transformation.
pub fn transformation(f: &MetricFilter) -> MetricTransformation {
    MetricTransformation {
        metric_value: f.metric_value.clone(),
        default_value: f.default_value,
        dimensions: f.dimensions.clone(),
        unit: f.unit.clone(),
    }
}

impl CompiledFilters {
    /// Compiles stored filters. They were validated by `PutMetricFilter`, so a failure
    /// here means the engine changed under stored data: the filter is skipped, loudly.
    pub fn compile(filters: Vec<MetricFilter>, retention_in_days: Option<i32>) -> Self {
        let mut res = CompiledFilters { retention_in_days, ..Default::default() };
        for f in filters {
            let added =
                Pattern::parse(&f.filter_pattern).map_err(|e| e.to_string()).and_then(|p| {
                    res.set.add_metric_filter(&p, &transformation(&f)).map_err(|e| e.to_string())
                });
            match added {
                Ok(_) => res.filters.push(f),
                Err(error) => tracing::error!(
                    log_group = %f.log_group_name, filter = %f.filter_name, %error,
                    "stored metric filter no longer compiles; skipped"
                ),
            }
        }
        res
    }
}

#[derive(Debug, Clone, Copy)]
struct Stats {
    n: f64,
    sum: f64,
    min: f64,
    max: f64,
}

impl Stats {
    fn one(v: f64) -> Self {
        Stats { n: 1.0, sum: v, min: v, max: v }
    }
    fn add(&mut self, v: f64) {
        self.n += 1.0;
        self.sum += v;
        self.min = self.min.min(v);
        self.max = self.max.max(v);
    }
}

/// What a statistic set aggregates over: (filter index, dimensions, epoch second).
type SeriesKey = (usize, Vec<(String, String)>, i64);

/// Aggregates one batch's matches into per-second statistic sets.
#[derive(Debug, Default)]
pub struct Aggregator {
    stats: BTreeMap<SeriesKey, Stats>,
    minutes: BTreeSet<i64>,
    matched: HashSet<(usize, i64)>,
}

impl Aggregator {
    /// Adds the matches of one event at `ts` (epoch milliseconds).
    pub fn add(&mut self, ts: i64, matches: &mut Vec<FilterMatch>) {
        let second = ts.div_euclid(1000);
        let minute = second.div_euclid(60) * 60;
        self.minutes.insert(minute);
        for m in matches.drain(..) {
            self.matched.insert((m.filter, minute));
            // A match whose value or a dimension cannot be read gives no datapoint.
            let Some(extracted) = m.extracted else { continue };
            let Some(value) = extracted.value else { continue };
            self.stats
                .entry((m.filter, extracted.dimensions, second))
                .and_modify(|s| s.add(value))
                .or_insert_with(|| Stats::one(value));
        }
    }

    /// The datapoints of the batch, including default values for minutes without a
    /// match.
    pub fn finish(self, compiled: &CompiledFilters) -> Vec<PendingDatapoint> {
        let mut res = Vec::new();
        let mut push = |f: &MetricFilter, dimensions, timestamp, s: Stats| {
            res.push(PendingDatapoint {
                log_group: f.log_group_name.clone(),
                filter_name: f.filter_name.clone(),
                namespace: f.metric_namespace.clone(),
                metric_name: f.metric_name.clone(),
                dimensions,
                timestamp,
                sample_count: s.n,
                sum: s.sum,
                minimum: s.min,
                maximum: s.max,
                unit: f.unit.clone(),
            })
        };
        for ((filter, dimensions, second), s) in self.stats {
            if let Some(f) = compiled.filters.get(filter) {
                push(f, dimensions, second, s);
            }
        }
        for (i, f) in compiled.filters.iter().enumerate() {
            let Some(default) = f.default_value else { continue };
            for &minute in &self.minutes {
                if !self.matched.contains(&(i, minute)) {
                    push(f, Vec::new(), minute, Stats::one(default));
                }
            }
        }
        res
    }
}

/// When the outbox is next tried after a failed delivery.
#[derive(Debug, Default)]
pub struct DeliveryState {
    retry_at: Option<DateTime<Utc>>,
    failures: u32,
}

/// Deliveries: a lock, so they never overlap and no datapoint is sent twice by two of
/// them, and a flag for a delivery asked for while one was running.
#[derive(Debug, Default)]
pub struct Delivery {
    state: tokio::sync::Mutex<DeliveryState>,
    asked: AtomicBool,
}

/// The shared delivery state.
pub type SharedDelivery = Arc<Delivery>;

/// Sends outbox datapoints to CloudWatch, oldest first, deleting each batch CloudWatch
/// accepted. After a failure the outbox is retried with a growing delay (5 s doubling up
/// to 5 minutes of clock time), and the failure is logged with the filters and metrics
/// that wait.
pub async fn deliver(delivery: &SharedDelivery, d: &Arc<Dispatcher>, now: DateTime<Utc>) {
    let mut state = delivery.state.lock().await;
    run_delivery(&mut state, d, now).await;
}

/// Like [`deliver`], but leaves the work to a delivery already running, which then goes
/// round again for the entries written since it read the outbox (without that they would
/// wait for the next scheduled delivery, up to 5 s). A round starts [`GATHER`] after the
/// previous one started at the earliest, so a steady stream of batches makes at most one
/// call a round per account, region and namespace, not one a batch.
pub async fn try_deliver(delivery: &SharedDelivery, d: &Arc<Dispatcher>) {
    delivery.asked.store(true, Ordering::SeqCst);
    let Ok(mut state) = delivery.state.try_lock() else { return };
    let mut last: Option<tokio::time::Instant> = None;
    while delivery.asked.swap(false, Ordering::SeqCst) {
        if let Some(last) = last {
            tokio::time::sleep_until(last + GATHER).await;
        }
        last = Some(tokio::time::Instant::now());
        run_delivery(&mut state, d, d.clock().now()).await;
    }
}

/// How long after a round of delivery the next may start. Short, because it is also how
/// long the last datapoints of a burst (an import's) may wait for CloudWatch; a round
/// costs a read of the outbox and a call per account, region and namespace, so even 50
/// rounds a second stay cheap beside the PutLogEvents calls that feed them.
const GATHER: std::time::Duration = std::time::Duration::from_millis(20);

async fn run_delivery(state: &mut DeliveryState, d: &Arc<Dispatcher>, now: DateTime<Utc>) {
    if state.retry_at.is_some_and(|t| now < t) {
        return;
    }
    loop {
        let page = d.store().read(|tx| {
            OUTBOX.range(tx, OUTBOX_PART, &[], i64::MIN, i64::MAX, None, MAX_PER_CALL, false)
        });
        let page = match page {
            Ok(p) => p,
            Err(error) => {
                tracing::error!(%error, "cannot read the metric outbox");
                return;
            }
        };
        let full = page.len() == MAX_PER_CALL;
        // One call per (account/region, namespace), in outbox order.
        let mut calls: BTreeMap<(String, String), Vec<(i64, PendingDatapoint)>> = BTreeMap::new();
        for r in page {
            calls.entry((r.stream, r.value.namespace.clone())).or_default().push((r.id, r.value));
        }
        let mut failed = false;
        for ((scope, namespace), points) in calls {
            let Err(error) = deliver_call(d, &scope, &namespace, &points).await else { continue };
            let filters: BTreeSet<&str> =
                points.iter().map(|(_, p)| p.filter_name.as_str()).collect();
            let metrics: BTreeSet<&str> =
                points.iter().map(|(_, p)| p.metric_name.as_str()).collect();
            if is_permanent(&error) {
                // CloudWatch refused the data itself (say, a timestamp beyond its two weeks):
                // retrying cannot succeed and would block everything queued behind it.
                let ids: Vec<i64> = points.iter().map(|(id, _)| *id).collect();
                let dropped = d.store().write(|tx| OUTBOX.delete_ids(tx, OUTBOX_PART, &ids));
                tracing::warn!(
                    scope = %scope, namespace = %namespace, n = points.len(), filters = ?filters,
                    metrics = ?metrics, code = %error.code, error = %error.message,
                    dropped_ok = dropped.is_ok(), "CloudWatch rejected metric datapoints; dropped"
                );
                continue;
            }
            failed = true;
            tracing::warn!(
                scope = %scope, namespace = %namespace, pending = points.len(),
                filters = ?filters, metrics = ?metrics, code = %error.code, error = %error.message,
                "metric datapoints not delivered to CloudWatch; kept in the outbox for retry"
            );
        }
        if failed {
            state.failures = state.failures.saturating_add(1);
            let delay = 5i64.saturating_mul(1 << state.failures.min(6)).min(300);
            state.retry_at = Some(now + TimeDelta::seconds(delay));
            return;
        }
        state.failures = 0;
        state.retry_at = None;
        if !full {
            return;
        }
    }
}

/// Whether CloudWatch refused the datapoints for what they are (a client error about the
/// data), as opposed to being absent, throttling, denying or failing.
fn is_permanent(error: &mamori_aws::AwsError) -> bool {
    !error.is_server_fault()
        && !error.code.starts_with("AccessDenied")
        && !error.code.starts_with("Throttl")
        && error.code != "NotImplemented"
}

async fn deliver_call(
    d: &Arc<Dispatcher>,
    scope: &str,
    namespace: &str,
    points: &[(i64, PendingDatapoint)],
) -> Result<(), mamori_aws::AwsError> {
    let bad_scope = || mamori_aws::AwsError::internal(format!("bad outbox scope {scope:?}"));
    let (account, region) = scope.split_once('/').ok_or_else(bad_scope)?;
    let account = AccountId::parse(account).ok_or_else(bad_scope)?;
    let region = Region::parse(region).ok_or_else(bad_scope)?;
    let data: Vec<Value> = points.iter().map(|(_, p)| metric_datum(p)).collect();
    let input = json!({ "Namespace": namespace, "MetricData": data });
    d.call_as_service("logs.amazonaws.com", account, region, "cloudwatch", "PutMetricData", input)
        .await?;
    let ids: Vec<i64> = points.iter().map(|(id, _)| *id).collect();
    d.store()
        .write(|tx| OUTBOX.delete_ids(tx, OUTBOX_PART, &ids))
        .map_err(mamori_aws::AwsError::internal)?;
    tracing::info!(scope = %scope, namespace = %namespace, n = points.len(), "metric datapoints delivered to CloudWatch");
    Ok(())
}

/// One `MetricDatum` of `PutMetricData`.
pub fn metric_datum(p: &PendingDatapoint) -> Value {
    let dimensions: Vec<Value> =
        p.dimensions.iter().map(|(k, v)| json!({ "Name": k, "Value": v })).collect();
    let mut datum = json!({
        "MetricName": p.metric_name,
        "Timestamp": p.timestamp,
        "StatisticValues": {
            "SampleCount": p.sample_count,
            "Sum": p.sum,
            "Minimum": p.minimum,
            "Maximum": p.maximum,
        },
    });
    if !dimensions.is_empty() {
        datum["Dimensions"] = Value::Array(dimensions);
    }
    if let Some(unit) = &p.unit {
        datum["Unit"] = json!(unit);
    }
    datum
}
