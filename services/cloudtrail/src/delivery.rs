//! Delivery of recorded events to a trail's CloudWatch Logs group, through the Logs
//! service as the CloudTrail service principal, following
//! <https://docs.aws.amazon.com/awscloudtrail/latest/userguide/send-cloudtrail-events-to-cloudwatch-logs.html>:
//! one log event per record, in stream `<account>_CloudTrail_<region>`.
//!
//! Each trail keeps a cursor (the last delivered event id); the cursor moves only after
//! the Logs service accepted a batch, so a failed delivery is retried on the next run
//! and reported by GetTrailStatus meanwhile.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use chrono::{DateTime, Utc};
use mamori_aws::{AccountId, Region};
use mamori_service::Dispatcher;
use serde_json::{Value, json};

use crate::ops::trails::log_group_name;
use crate::selectors;
use crate::state::{DELIVERY_VIEW, DeliveryEvent, TRAILS, Trail, part_region, trail_parts};

/// The principal CloudTrail delivers as.
pub const PRINCIPAL: &str = "cloudtrail.amazonaws.com";
/// Events read per trail and run.
const READ_BATCH: usize = 5_000;
/// PutLogEvents limits: 10,000 events, 1,048,576 bytes with 26 bytes per event.
const MAX_EVENTS: usize = 10_000;
const MAX_BYTES: usize = 1_048_576;
/// PutLogEvents refuses batches spanning more than 24 hours.
const MAX_SPAN_MS: i64 = 24 * 3600 * 1000;

/// One delivery run at a time: the scheduled one and those an import asks for would
/// otherwise read the same cursor and deliver the same events twice.
static RUNNING: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
/// Set when a run was asked for while one was going; the running one goes round again.
static ASKED: AtomicBool = AtomicBool::new(false);

/// Starts a delivery run now rather than at the next interval (after an import, so its
/// records reach the log groups while the next batch is being stored). With the manual
/// clock nothing happens before the clock moves, as for every other task.
pub fn deliver_soon(dispatcher: &Arc<Dispatcher>) {
    if dispatcher.clock().as_manual().is_some() {
        return;
    }
    ASKED.store(true, Ordering::SeqCst);
    let d = dispatcher.clone();
    tokio::spawn(async move {
        // A run in progress sees ASKED when it finishes and goes round again.
        let Ok(_running) = RUNNING.try_lock() else { return };
        while ASKED.swap(false, Ordering::SeqCst) {
            deliver_all_locked(&d, d.clock().now()).await;
        }
    });
}

/// Delivers what every logging trail has not delivered yet. With the real clock, when a
/// run an import asked for is going, that run goes round again instead: the scheduler
/// (which runs one task at a time) is not held up for as long as a large import takes to
/// deliver. With the manual clock (where imports ask for nothing) a run waits its turn,
/// so an advance has delivered everything when it returns.
pub async fn deliver_all(dispatcher: &Arc<Dispatcher>, now: DateTime<Utc>) {
    let _running = if dispatcher.clock().as_manual().is_some() {
        RUNNING.lock().await
    } else {
        let Ok(running) = RUNNING.try_lock() else {
            ASKED.store(true, Ordering::SeqCst);
            return;
        };
        running
    };
    deliver_all_locked(dispatcher, now).await;
}

async fn deliver_all_locked(dispatcher: &Arc<Dispatcher>, now: DateTime<Utc>) {
    let trails = match dispatcher.store().read(|tx| TRAILS.everywhere(tx)) {
        Ok(t) => t,
        Err(err) => {
            tracing::error!(error = %err, "cannot read trails");
            return;
        }
    };
    for (_, _, trail) in trails {
        if !trail.is_logging || trail.cloud_watch_logs_log_group_arn.is_none() {
            continue;
        }
        let parts = match dispatcher.store().read(|tx| trail_parts(tx, &trail)) {
            Ok(p) => p,
            Err(err) => {
                tracing::error!(error = %err, trail = %trail.arn(), "cannot list the trail's regions");
                continue;
            }
        };
        let (account, name) = (trail.account.clone(), trail.name.clone());
        let mut next = Some(trail);
        for part in &parts {
            // Catch up in batches (an import can add millions of events at once), up to a
            // bound per run so one trail cannot starve the others.
            for _ in 0..MAX_BATCHES_PER_RUN {
                let Some(t) = next.take() else { break };
                let more = deliver_trail(dispatcher, t, part, now).await;
                next = dispatcher.store().read(|tx| TRAILS.get(tx, &account, &name)).ok().flatten();
                if !more {
                    break;
                }
            }
        }
    }
}

/// Whether `trail` delivers `ev` (its selectors, IncludeGlobalServiceEvents).
pub fn selected(trail: &Trail, ev: &DeliveryEvent) -> bool {
    let selected = if trail.has_custom_event_selectors() {
        let rec: Value = serde_json::from_str(ev.record.as_str()).unwrap_or(Value::Null);
        selectors::selects(&trail.event_selectors, &trail.advanced_event_selectors, &rec)
    } else {
        // The default selector: every management event.
        !ev.data()
    };
    selected
        && (trail.include_global_service_events
            || !crate::record::is_global_source(ev.event_source()))
}

/// Batches of [`READ_BATCH`] events delivered per trail and run.
const MAX_BATCHES_PER_RUN: usize = 100;

/// Delivers one batch of the events of partition `part`; true when a full batch went
/// out and more may be waiting.
async fn deliver_trail(
    dispatcher: &Arc<Dispatcher>,
    mut trail: Trail,
    part: &str,
    now: DateTime<Utc>,
) -> bool {
    let (Some(account), Some(region)) =
        (AccountId::parse(&trail.account), Region::parse(&trail.home_region))
    else {
        return false;
    };
    let Some(group) =
        trail.cloud_watch_logs_log_group_arn.as_deref().and_then(log_group_name).map(str::to_owned)
    else {
        return false;
    };
    // A partition without a cursor appeared after logging started: all of it is new.
    let cursor = trail.status.logs_cursor.iter().find(|(p, _)| p == part).map_or(0, |(_, c)| *c);
    let records = match dispatcher
        .store()
        .read(|tx| DELIVERY_VIEW.since_id(tx, part, cursor, READ_BATCH))
    {
        Ok(r) => r,
        Err(err) => {
            tracing::error!(error = %err, trail = %trail.arn(), "cannot read events to deliver");
            return false;
        }
    };
    let full = records.len() == READ_BATCH;
    let Some(last_id) = records.last().map(|r| r.id) else { return false };
    let mut events: Vec<(i64, String)> = records
        .into_iter()
        .filter(|r| selected(&trail, &r.value))
        .map(|r| (r.ts, r.value.record))
        .collect();
    events.sort_by_key(|(ts, _)| *ts);
    // One stream per region of the events, in the home region's group.
    let stream = format!("{account}_CloudTrail_{}", part_region(part));
    let result = put_all(dispatcher, &account, &region, &group, &stream, &mut trail, events).await;
    // Re-read the trail so a concurrent UpdateTrail or StopLogging is not overwritten.
    let res = dispatcher.store().write(|tx| {
        let Some(mut current) = TRAILS.get(tx, &trail.account, &trail.name)? else { return Ok(()) };
        current.status.logs_streams = trail.status.logs_streams.clone();
        match &result {
            Ok(()) => {
                current.status.logs_cursor.retain(|(p, _)| p != part);
                current.status.logs_cursor.push((part.to_owned(), last_id));
                current.status.latest_cloud_watch_logs_delivery_time = Some(now);
                current.status.latest_cloud_watch_logs_delivery_error = None;
            }
            Err(msg) => current.status.latest_cloud_watch_logs_delivery_error = Some(msg.clone()),
        }
        TRAILS.put(tx, &trail.account, &trail.name, &current)
    });
    if let Err(err) = res {
        tracing::error!(error = %err, trail = %trail.arn(), "cannot save delivery status");
    }
    match result {
        Ok(()) => {
            tracing::debug!(trail = %trail.arn(), log_group = %group, "events delivered to CloudWatch Logs");
            full
        }
        Err(msg) => {
            tracing::warn!(trail = %trail.arn(), log_group = %group, error = %msg, "CloudWatch Logs delivery failed; will retry");
            false
        }
    }
}

async fn put_all(
    dispatcher: &Arc<Dispatcher>,
    account: &AccountId,
    region: &Region,
    group: &str,
    stream: &str,
    trail: &mut Trail,
    events: Vec<(i64, String)>,
) -> Result<(), String> {
    if events.is_empty() {
        return Ok(());
    }
    // CloudTrail writes with a session of the trail's role: the role's permissions decide.
    let role_arn = trail.cloud_watch_logs_role_arn.clone().unwrap_or_default();
    let ctx = crate::role::logs_context(dispatcher, &trail.arn(), &role_arn, account, region)
        .await
        .map_err(|e| format!("{}: cannot assume {role_arn}: {}", e.code, e.message))?;
    let call = |op: &'static str, input: Value| dispatcher.call(&ctx, "logs", op, input);
    if !trail.status.logs_streams.iter().any(|s| s == stream) {
        match call("CreateLogStream", json!({"logGroupName": group, "logStreamName": stream})).await
        {
            Ok(_) => {}
            Err(e) if e.code == "ResourceAlreadyExistsException" => {}
            Err(e) => return Err(format!("{}: {}", e.code, e.message)),
        }
        trail.status.logs_streams.push(stream.to_owned());
    }
    // The batches are stored concurrently, each on a runtime thread: a backlog (an
    // import) is filtered and stored by every core rather than one. The cursor moves only
    // once all of them are accepted; after a failure no more are started, and the next
    // run sends them all again, as before.
    let mut calls = tokio::task::JoinSet::new();
    let mut failure = None;
    for batch in batches(events) {
        if calls.len() >= PARALLEL_PUTS {
            note_put(calls.join_next().await, &mut failure, &mut trail.status.logs_streams, stream);
        }
        if failure.is_some() {
            // The run fails whatever the rest do: a lasting failure (a permission taken
            // from the role) costs one or two calls per run, not one per batch.
            break;
        }
        // Built by hand so each message moves into the input instead of being copied.
        let log_events: Vec<Value> = batch
            .into_iter()
            .map(|(ts, msg)| {
                let mut ev = serde_json::Map::with_capacity(2);
                ev.insert("timestamp".into(), Value::from(ts));
                ev.insert("message".into(), Value::String(msg));
                Value::Object(ev)
            })
            .collect();
        // Not `json!`, which would copy every event again.
        let mut input = json!({"logGroupName": group, "logStreamName": stream});
        input["logEvents"] = Value::Array(log_events);
        let (d, ctx) = (dispatcher.clone(), ctx.clone());
        calls.spawn(async move { d.call(&ctx, "logs", "PutLogEvents", input).await });
    }
    while let Some(done) = calls.join_next().await {
        note_put(Some(done), &mut failure, &mut trail.status.logs_streams, stream);
    }
    failure.map_or(Ok(()), Err)
}

/// PutLogEvents calls of one delivery in flight at once.
const PARALLEL_PUTS: usize = 2;

/// Keeps the first failure of a finished PutLogEvents call; a stream found missing is
/// dropped from `streams` (the trail's known streams), so the next run creates it again.
fn note_put(
    done: Option<Result<Result<Value, mamori_aws::AwsError>, tokio::task::JoinError>>,
    failure: &mut Option<String>,
    streams: &mut Vec<String>,
    stream: &str,
) {
    let msg = match done {
        None | Some(Ok(Ok(_))) => return,
        Some(Ok(Err(e))) => {
            if e.code == "ResourceNotFoundException" {
                // The stream (or group) went away: create it again next time.
                streams.retain(|s| s != stream);
            }
            format!("{}: {}", e.code, e.message)
        }
        Some(Err(e)) => format!("InternalFailure: the delivery call ended: {e}"),
    };
    failure.get_or_insert(msg);
}

/// Splits time-ordered events into batches PutLogEvents accepts.
fn batches(events: Vec<(i64, String)>) -> Vec<Vec<(i64, String)>> {
    let mut res: Vec<Vec<(i64, String)>> = Vec::new();
    let mut bytes = 0;
    for ev in events {
        let size = ev.1.len() + 26;
        let start_new = match res.last() {
            None => true,
            Some(cur) => {
                cur.len() >= MAX_EVENTS || bytes + size > MAX_BYTES || ev.0 - cur[0].0 > MAX_SPAN_MS
            }
        };
        if start_new {
            res.push(Vec::new());
            bytes = 0;
        }
        bytes += size;
        if let Some(cur) = res.last_mut() {
            cur.push(ev);
        }
    }
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_failure_of_concurrent_puts_is_kept() {
        use mamori_aws::AwsError;
        let (mut failure, mut streams) = (None, vec!["s".to_owned(), "t".to_owned()]);
        let results = [
            Some(Ok(Ok(json!({})))),
            None,
            Some(Ok(Err(AwsError::new("ResourceNotFoundException", "no stream")))),
            Some(Ok(Err(AwsError::new("AccessDeniedException", "denied")))),
        ];
        for done in results {
            note_put(done, &mut failure, &mut streams, "s");
        }
        assert_eq!(failure.as_deref(), Some("ResourceNotFoundException: no stream"));
        assert_eq!(streams, ["t"], "the missing stream is created again next run");
        let (mut failure, mut streams) = (None, vec!["s".to_owned()]);
        note_put(Some(Ok(Ok(json!({})))), &mut failure, &mut streams, "s");
        assert_eq!((failure, streams.len()), (None, 1));
    }

    #[test]
    fn batches_respect_put_log_events_limits() {
        let evs: Vec<(i64, String)> = (0..25_000).map(|i| (i, "x".into())).collect();
        let b = batches(evs);
        assert_eq!(b.iter().map(Vec::len).collect::<Vec<_>>(), [10_000, 10_000, 5_000]);
        let big: Vec<(i64, String)> = (0..3).map(|i| (i, "y".repeat(600_000))).collect();
        assert_eq!(batches(big).len(), 3);
        let spread = vec![(0, "a".to_owned()), (MAX_SPAN_MS + 1, "b".to_owned())];
        assert_eq!(batches(spread).len(), 2);
        assert!(batches(Vec::new()).is_empty());
    }
}
