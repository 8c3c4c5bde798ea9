//! Log events: `PutLogEvents`, `GetLogEvents` and `FilterLogEvents`, following
//! <https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_PutLogEvents.html>,
//! `API_GetLogEvents.html` and `API_FilterLogEvents.html`.

use std::sync::Arc;

use mamori_aws::AwsError;
use mamori_pattern::Pattern;
use mamori_service::{Context, parse_input};
use mamori_store::Record;
use serde::Deserialize;
use serde_json::{Value, json};

use super::streams::sequence_token;
use super::{named_group, now_millis};
use crate::Logs;
use crate::errors::{group_not_found, invalid, read, stream_not_found, write};
use crate::metrics::{Aggregator, CompiledFilters};
use crate::state::{
    self, EVENTS, Event, GROUPS, METRIC_FILTERS, OUTBOX, OUTBOX_PART, STREAMS, child_key,
    decode_cursor, encode_cursor, events_part,
};

/// Most bytes in a batch, counting 26 bytes of overhead per event.
pub const MAX_BATCH_BYTES: usize = 1_048_576;
/// The per-event overhead counted in the batch size.
pub const EVENT_OVERHEAD: usize = 26;
/// Most events in a batch.
pub const MAX_BATCH_EVENTS: usize = 10_000;
const HOUR_MS: i64 = 3_600_000;
const DAY_MS: i64 = 24 * HOUR_MS;
/// Events older than this are rejected whatever the retention.
const MAX_AGE_MS: i64 = 14 * DAY_MS;
/// Events further ahead than this are rejected.
const MAX_AHEAD_MS: i64 = 2 * HOUR_MS;
/// Most bytes of messages in one read response.
const MAX_RESPONSE_BYTES: usize = 1_048_576;
/// Most events `FilterLogEvents` examines per call before returning a token.
const MAX_SCAN: usize = 100_000;

#[derive(Deserialize)]
struct InputLogEvent {
    timestamp: i64,
    message: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PutLogEventsInput {
    log_group_name: String,
    log_stream_name: String,
    log_events: Vec<InputLogEvent>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct GetLogEventsInput {
    log_group_name: Option<String>,
    log_group_identifier: Option<String>,
    log_stream_name: String,
    start_time: Option<i64>,
    end_time: Option<i64>,
    next_token: Option<String>,
    limit: Option<usize>,
    #[serde(default)]
    start_from_head: bool,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct FilterLogEventsInput {
    log_group_name: Option<String>,
    log_group_identifier: Option<String>,
    log_stream_names: Option<Vec<String>>,
    log_stream_name_prefix: Option<String>,
    start_time: Option<i64>,
    end_time: Option<i64>,
    filter_pattern: Option<String>,
    next_token: Option<String>,
    limit: Option<usize>,
}

/// Which events of a batch are rejected, as index bounds (AWS's `RejectedLogEventsInfo`).
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Rejected {
    pub too_new_start: Option<usize>,
    pub too_old_end: Option<usize>,
    pub expired_end: Option<usize>,
}

impl Rejected {
    /// The indices stored: after every too-old or expired event, before the too-new ones.
    pub fn accepted(&self, n: usize) -> std::ops::Range<usize> {
        let start = self.too_old_end.max(self.expired_end).map_or(0, |i| i + 1);
        let end = self.too_new_start.unwrap_or(n);
        start..end.max(start)
    }
}

/// Checks a batch's shape: sizes, order and span. Each failure rejects the whole batch.
pub fn check_batch(events: &[(i64, &str)]) -> Result<(), AwsError> {
    if events.len() > MAX_BATCH_EVENTS {
        return Err(invalid(format!(
            "1 validation error detected: Value at 'logEvents' failed to satisfy constraint: Member must have length less than or equal to {MAX_BATCH_EVENTS}"
        )));
    }
    let mut total = 0usize;
    for (_, message) in events {
        let size = message.len() + EVENT_OVERHEAD;
        if size > MAX_BATCH_BYTES {
            return Err(invalid(format!(
                "Log event too large: {} bytes exceeds limit of {}",
                message.len(),
                MAX_BATCH_BYTES - EVENT_OVERHEAD
            )));
        }
        total += size;
    }
    if total > MAX_BATCH_BYTES {
        return Err(invalid(format!(
            "Upload too large: {total} bytes exceeds limit of {MAX_BATCH_BYTES}"
        )));
    }
    if events.windows(2).any(|w| w[1].0 < w[0].0) {
        return Err(invalid(
            "Log events in a single PutLogEvents request must be in chronological order.",
        ));
    }
    if let (Some(first), Some(last)) = (events.first(), events.last())
        && last.0 - first.0 > DAY_MS
    {
        return Err(invalid(
            "The batch of log events in a single PutLogEvents request cannot span more than 24 hours.",
        ));
    }
    Ok(())
}

/// Classifies a chronological batch against `now` and the group's retention.
pub fn classify(timestamps: &[i64], now: i64, retention_days: Option<i32>) -> Rejected {
    let too_old = now - MAX_AGE_MS;
    let expired = retention_days.map(|d| now - i64::from(d) * DAY_MS);
    Rejected {
        too_new_start: timestamps.iter().position(|&t| t > now + MAX_AHEAD_MS),
        too_old_end: timestamps.iter().rposition(|&t| t < too_old),
        expired_end: expired.and_then(|e| timestamps.iter().rposition(|&t| t < e)),
    }
}

/// Implements `PutLogEvents`: stores the accepted events, runs the group's metric
/// filters over them and queues their datapoints, all in one transaction.
///
/// # Gaps
/// - `entity` is ignored; subscription filters are not evaluated.
pub async fn put_log_events(svc: &Logs, ctx: &Context, input: Value) -> Result<Value, AwsError> {
    // GAP: `entity` is ignored and subscription filters are not run (not implemented).
    let input: PutLogEventsInput = parse_input(input)?;
    let (group, stream) = (input.log_group_name, input.log_stream_name);
    state::check_group_name(&group, "logGroupName")?;
    state::check_stream_name(&stream, "logStreamName")?;
    let shape: Vec<(i64, &str)> =
        input.log_events.iter().map(|e| (e.timestamp, e.message.as_str())).collect();
    check_batch(&shape)?;
    drop(shape);

    let part = ctx.partition();
    let ev_part = events_part(&part, &group);
    let stream_key = child_key(&group, &stream);
    let store = ctx.dispatcher.store();
    let started = std::time::Instant::now();
    let generation = svc.filters_gen.load(std::sync::atomic::Ordering::SeqCst);
    // The group's compiled filters and retention are cached, so the usual batch takes the
    // store lock once, to write; the group and stream are checked in that transaction.
    let cached = svc.filters.lock().unwrap_or_else(|e| e.into_inner()).get(&ev_part).cloned();
    let compiled = match cached {
        Some(c) => c,
        None => {
            let compiled = read(store, |tx| {
                let group_doc = GROUPS.get(tx, &part, &group)?.ok_or_else(group_not_found)?;
                let filters =
                    METRIC_FILTERS.scan(tx, &part, &format!("{group}:"), None, usize::MAX)?;
                let filters = filters.into_iter().map(|(_, f)| f).collect();
                Ok(Arc::new(CompiledFilters::compile(filters, group_doc.retention_in_days)))
            })?;
            let mut cache = svc.filters.lock().unwrap_or_else(|e| e.into_inner());
            if svc.filters_gen.load(std::sync::atomic::Ordering::SeqCst) == generation {
                cache.entry(ev_part.clone()).or_insert_with(|| compiled.clone());
            }
            compiled
        }
    };
    let retention = compiled.retention_in_days;
    let read_done = started.elapsed();
    let now = now_millis(ctx);
    let timestamps: Vec<i64> = input.log_events.iter().map(|e| e.timestamp).collect();
    let rejected = classify(&timestamps, now, retention);
    let accepted = rejected.accepted(timestamps.len());
    let mut aggregator = Aggregator::default();
    let mut matches = Vec::new();
    let events: Vec<(i64, Event)> = input
        .log_events
        .into_iter()
        .enumerate()
        .filter(|(i, _)| accepted.contains(i))
        .map(|(_, e)| {
            if !compiled.set.is_empty() {
                compiled.set.evaluate_into(&e.message, &mut matches);
                aggregator.add(e.timestamp, &mut matches);
            }
            (e.timestamp, Event { m: e.message, i: now })
        })
        .collect();
    let datapoints = aggregator.finish(&compiled);
    let eval_done = started.elapsed();

    // Compressed before taking the store, so other calls are not held up meanwhile.
    let packed =
        EVENTS.pack(events.iter().map(|(ts, ev)| (ev_part.as_str(), stream.as_str(), *ts, ev)));
    let sequence = write(store, |tx| {
        let Some(mut doc) = STREAMS.get(tx, &part, &stream_key)? else {
            if !GROUPS.contains(tx, &part, &group)? {
                return Err(group_not_found().into());
            }
            return Err(stream_not_found().into());
        };
        packed.insert(tx)?;
        if let (Some((first, _)), Some((last, _))) = (events.first(), events.last()) {
            doc.first_event_timestamp =
                Some(doc.first_event_timestamp.map_or(*first, |t| t.min(*first)));
            doc.last_event_timestamp =
                Some(doc.last_event_timestamp.map_or(*last, |t| t.max(*last)));
            doc.last_ingestion_time = Some(now);
        }
        doc.sequence += 1;
        STREAMS.put(tx, &part, &stream_key, &doc)?;
        for dp in &datapoints {
            OUTBOX.append(tx, OUTBOX_PART, &part, dp.timestamp * 1000, dp)?;
        }
        Ok(doc.sequence)
    })?;
    if tracing::enabled!(tracing::Level::DEBUG) {
        // `Metric:samples` per queued datapoint, for whoever follows a filter in the log.
        let metrics: Vec<String> =
            datapoints.iter().map(|p| format!("{}:{}", p.metric_name, p.sample_count)).collect();
        tracing::debug!(
            log_group = %group, log_stream = %stream, n_events = events.len(),
            n_datapoints = datapoints.len(), metrics = %metrics.join(","),
            read_us = read_done.as_micros(), eval_us = (eval_done - read_done).as_micros(),
            write_us = (started.elapsed() - eval_done).as_micros(), "log events stored"
        );
    }
    if !datapoints.is_empty() {
        let (delivery, d) = (svc.delivery.clone(), ctx.dispatcher.clone());
        tokio::spawn(async move { crate::metrics::try_deliver(&delivery, &d).await });
    }
    let mut out = json!({ "nextSequenceToken": sequence_token(sequence) });
    if rejected != Rejected::default() {
        let mut info = serde_json::Map::new();
        for (key, index) in [
            ("tooNewLogEventStartIndex", rejected.too_new_start),
            ("tooOldLogEventEndIndex", rejected.too_old_end),
            ("expiredLogEventEndIndex", rejected.expired_end),
        ] {
            if let Some(i) = index {
                info.insert(key.into(), json!(i));
            }
        }
        out["rejectedLogEventsInfo"] = Value::Object(info);
    }
    Ok(out)
}

/// Keeps the events of `records` that fit in one response, in order.
fn fit_response<T>(records: &mut Vec<Record<T>>, size: impl Fn(&T) -> usize) {
    let mut total = 0;
    let keep = records
        .iter()
        .position(|r| {
            total += size(&r.value) + EVENT_OVERHEAD;
            total > MAX_RESPONSE_BYTES
        })
        .unwrap_or(records.len());
    records.truncate(keep.max(1).min(records.len()));
}

/// Implements `GetLogEvents`. Tokens are `f/<cursor>` (read forward, after the cursor) and
/// `b/<cursor>` (read backward, before it); at either end the token given is returned
/// again, which is how clients know to stop.
pub fn get_log_events(ctx: &Context, input: Value) -> Result<Value, AwsError> {
    let input: GetLogEventsInput = parse_input(input)?;
    let group =
        named_group(input.log_group_name.as_deref(), input.log_group_identifier.as_deref())?;
    state::check_stream_name(&input.log_stream_name, "logStreamName")?;
    let limit = input.limit.unwrap_or(10_000);
    let (start, end) = (input.start_time.unwrap_or(i64::MIN), input.end_time.unwrap_or(i64::MAX));
    let bad_token = || invalid("The specified nextToken is invalid.");
    // (read backward, cursor)
    let (backward, cursor) = match input.next_token.as_deref() {
        Some(t) => match t.split_once('/') {
            Some(("f", c)) => (false, Some(decode_cursor(c)?)),
            Some(("b", c)) => (true, Some(decode_cursor(c)?)),
            _ => return Err(bad_token()),
        },
        None => (!input.start_from_head, None),
    };
    let part = ctx.partition();
    let key = child_key(&group, &input.log_stream_name);
    let ev_part = events_part(&part, &group);
    let stream = input.log_stream_name.as_str();
    let mut records = read(ctx.dispatcher.store(), |tx| {
        if !GROUPS.contains(tx, &part, &group)? {
            return Err(group_not_found().into());
        }
        if !STREAMS.contains(tx, &part, &key)? {
            return Err(stream_not_found().into());
        }
        Ok(EVENTS.range(tx, &ev_part, &[stream], start, end, cursor, limit, backward)?)
    })?;
    fit_response(&mut records, |e| e.m.len());
    if backward {
        records.reverse();
    }
    let origin = (i64::MIN, i64::MIN);
    let (forward, back) = match (records.first(), records.last()) {
        (Some(first), Some(last)) => ((last.ts, last.id), (first.ts, first.id)),
        // Nothing read: stay where the token pointed (or at the start of the stream).
        _ => match (input.next_token.as_deref(), cursor) {
            (Some(t), Some(c)) if backward => {
                return Ok(json!({
                    "events": [],
                    "nextForwardToken": format!("f/{}", encode_cursor((c.0, c.1.saturating_sub(1)))),
                    "nextBackwardToken": t,
                }));
            }
            (Some(t), Some(c)) => {
                return Ok(json!({
                    "events": [],
                    "nextForwardToken": t,
                    "nextBackwardToken": format!("b/{}", encode_cursor((c.0, c.1.saturating_add(1)))),
                }));
            }
            _ => (origin, origin),
        },
    };
    let events: Vec<Value> = records
        .iter()
        .map(|r| json!({ "timestamp": r.ts, "message": r.value.m, "ingestionTime": r.value.i }))
        .collect();
    Ok(json!({
        "events": events,
        "nextForwardToken": format!("f/{}", encode_cursor(forward)),
        "nextBackwardToken": format!("b/{}", encode_cursor(back)),
    }))
}

/// Implements `FilterLogEvents`: events of the group's streams (all, named, or by
/// prefix) in timestamp order, matched against the filter pattern. A call examines at
/// most 100,000 events and returns a `nextToken` when more remain.
///
/// # Gaps
/// - `searchedLogStreams` is not returned; `unmask` and `interleaved` are ignored.
pub fn filter_log_events(ctx: &Context, input: Value) -> Result<Value, AwsError> {
    let input: FilterLogEventsInput = parse_input(input)?;
    let group =
        named_group(input.log_group_name.as_deref(), input.log_group_identifier.as_deref())?;
    if input.log_stream_names.is_some() && input.log_stream_name_prefix.is_some() {
        return Err(invalid(
            "Cannot specify both logStreamNames and logStreamNamePrefix in the same request.",
        ));
    }
    let pattern = match input.filter_pattern.as_deref() {
        Some(p) if !p.trim().is_empty() => {
            Some(Pattern::parse(p).map_err(|e| invalid(format!("Invalid filter pattern: {e}")))?)
        }
        _ => None,
    };
    let limit = input.limit.unwrap_or(10_000);
    let (start, end) = (input.start_time.unwrap_or(i64::MIN), input.end_time.unwrap_or(i64::MAX));
    let mut cursor = input.next_token.as_deref().map(decode_cursor).transpose()?;
    let part = ctx.partition();
    let ev_part = events_part(&part, &group);
    let mut found = Vec::new();
    let mut next = None;
    read(ctx.dispatcher.store(), |tx| {
        if !GROUPS.contains(tx, &part, &group)? {
            return Err(group_not_found().into());
        }
        let streams: Vec<String> = match (&input.log_stream_names, &input.log_stream_name_prefix) {
            (Some(names), _) => names.clone(),
            (None, Some(prefix)) => {
                let scan_prefix = format!("{group}:{prefix}");
                let streams = STREAMS.scan(tx, &part, &scan_prefix, None, usize::MAX)?;
                if streams.is_empty() {
                    return Ok(());
                }
                streams.into_iter().map(|(_, s)| s.name).collect()
            }
            (None, None) => Vec::new(),
        };
        let streams: Vec<&str> = streams.iter().map(String::as_str).collect();
        let (mut scanned, mut bytes) = (0usize, 0usize);
        loop {
            let page = EVENTS.range(tx, &ev_part, &streams, start, end, cursor, 1000, false)?;
            let exhausted = page.len() < 1000;
            for r in page {
                cursor = Some((r.ts, r.id));
                scanned += 1;
                if pattern.as_ref().is_none_or(|p| p.matches(&r.value.m)) {
                    bytes += r.value.m.len() + EVENT_OVERHEAD;
                    found.push(r);
                }
                if found.len() >= limit || scanned >= MAX_SCAN || bytes >= MAX_RESPONSE_BYTES {
                    next = cursor;
                    return Ok(());
                }
            }
            if exhausted {
                return Ok(());
            }
        }
    })?;
    let events: Vec<Value> = found
        .iter()
        .map(|r| {
            json!({
                "logStreamName": r.stream,
                "timestamp": r.ts,
                "message": r.value.m,
                "ingestionTime": r.value.i,
                "eventId": format!("{}{:020}", r.ts, r.id),
            })
        })
        .collect();
    Ok(json!({ "events": events, "nextToken": next.map(encode_cursor) }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batch_rules() {
        let ok = [(1, "a"), (1, "b"), (5, "c")];
        assert!(check_batch(&ok).is_ok());
        let unsorted = [(5, "a"), (1, "b")];
        let err = check_batch(&unsorted).unwrap_err();
        assert_eq!(
            err.message,
            "Log events in a single PutLogEvents request must be in chronological order."
        );
        let span = [(0, "a"), (DAY_MS + 1, "b")];
        assert!(check_batch(&span).unwrap_err().message.contains("24 hours"));
        assert!(check_batch(&[(0, "a"), (DAY_MS, "b")]).is_ok());
        let big = "x".repeat(MAX_BATCH_BYTES / 2);
        let err = check_batch(&[(0, big.as_str()), (0, big.as_str())]).unwrap_err();
        assert_eq!(err.message, "Upload too large: 1048628 bytes exceeds limit of 1048576");
        let exact = "x".repeat(MAX_BATCH_BYTES - EVENT_OVERHEAD);
        assert!(check_batch(&[(0, exact.as_str())]).is_ok());
        let over = "x".repeat(MAX_BATCH_BYTES - EVENT_OVERHEAD + 1);
        assert!(
            check_batch(&[(0, over.as_str())])
                .unwrap_err()
                .message
                .starts_with("Log event too large")
        );
    }

    #[test]
    fn classification() {
        let now = 100 * DAY_MS;
        // timestamps, retention, rejected, accepted range
        type Case<'a> = (&'a [i64], Option<i32>, Rejected, std::ops::Range<usize>);
        let cases: [Case<'_>; 4] = [
            (&[now - HOUR_MS, now], None, Rejected::default(), 0..2),
            (
                &[now - 15 * DAY_MS, now - DAY_MS, now + 3 * HOUR_MS],
                None,
                Rejected { too_old_end: Some(0), too_new_start: Some(2), expired_end: None },
                1..2,
            ),
            (
                &[now - 2 * DAY_MS, now - HOUR_MS],
                Some(1),
                Rejected { expired_end: Some(0), ..Default::default() },
                1..2,
            ),
            (
                &[now + 3 * HOUR_MS],
                None,
                Rejected { too_new_start: Some(0), ..Default::default() },
                0..0,
            ),
        ];
        for (ts, retention, want, accepted) in cases {
            let got = classify(ts, now, retention);
            assert_eq!(got, want, "{ts:?}");
            assert_eq!(got.accepted(ts.len()), accepted, "{ts:?}");
        }
    }
}
