//! Log streams: create, delete, describe, following
//! <https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_CreateLogStream.html>
//! and `API_DescribeLogStreams.html`.

use mamori_aws::AwsError;
use mamori_service::{Context, parse_input};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{named_group, now_millis};
use crate::errors::{already_exists, group_not_found, invalid, read, stream_not_found, write};
use crate::state::{
    self, EVENTS, GROUPS, LogStream, STREAMS, child_key, decode_token, encode_token, events_part,
};

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct StreamInput {
    log_group_name: String,
    log_stream_name: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct DescribeLogStreamsInput {
    log_group_name: Option<String>,
    log_group_identifier: Option<String>,
    log_stream_name_prefix: Option<String>,
    order_by: Option<String>,
    #[serde(default)]
    descending: bool,
    next_token: Option<String>,
    limit: Option<usize>,
}

/// The sequence token AWS-style clients still read (AWS no longer checks it).
pub fn sequence_token(sequence: u64) -> String {
    format!("4963{sequence:052}")
}

/// The `LogStream` shape of a stored stream.
pub fn stream_output(ctx: &Context, group: &str, s: &LogStream) -> Value {
    json!({
        "logStreamName": s.name,
        "creationTime": s.creation_time,
        "firstEventTimestamp": s.first_event_timestamp,
        "lastEventTimestamp": s.last_event_timestamp,
        "lastIngestionTime": s.last_ingestion_time,
        "uploadSequenceToken": sequence_token(s.sequence),
        "arn": state::stream_arn(ctx.region.as_str(), ctx.account.as_str(), group, &s.name),
        "storedBytes": 0,
    })
}

/// Implements `CreateLogStream`.
pub fn create_log_stream(ctx: &Context, input: Value) -> Result<Value, AwsError> {
    let input: StreamInput = parse_input(input)?;
    state::check_group_name(&input.log_group_name, "logGroupName")?;
    state::check_stream_name(&input.log_stream_name, "logStreamName")?;
    let part = ctx.partition();
    let key = child_key(&input.log_group_name, &input.log_stream_name);
    let stream = LogStream {
        name: input.log_stream_name.clone(),
        creation_time: now_millis(ctx),
        first_event_timestamp: None,
        last_event_timestamp: None,
        last_ingestion_time: None,
        sequence: 1,
    };
    write(ctx.dispatcher.store(), |tx| {
        if !GROUPS.contains(tx, &part, &input.log_group_name)? {
            return Err(group_not_found().into());
        }
        if STREAMS.contains(tx, &part, &key)? {
            return Err(already_exists("log stream").into());
        }
        Ok(STREAMS.put(tx, &part, &key, &stream)?)
    })?;
    tracing::debug!(log_group = %input.log_group_name, log_stream = %input.log_stream_name, "log stream created");
    Ok(json!({}))
}

/// Implements `DeleteLogStream`, with its events.
pub fn delete_log_stream(ctx: &Context, input: Value) -> Result<Value, AwsError> {
    let input: StreamInput = parse_input(input)?;
    state::check_group_name(&input.log_group_name, "logGroupName")?;
    state::check_stream_name(&input.log_stream_name, "logStreamName")?;
    let part = ctx.partition();
    let key = child_key(&input.log_group_name, &input.log_stream_name);
    write(ctx.dispatcher.store(), |tx| {
        if !GROUPS.contains(tx, &part, &input.log_group_name)? {
            return Err(group_not_found().into());
        }
        if !STREAMS.delete(tx, &part, &key)? {
            return Err(stream_not_found().into());
        }
        let events = events_part(&part, &input.log_group_name);
        Ok(EVENTS.delete_stream(tx, &events, &input.log_stream_name)?)
    })?;
    tracing::info!(log_group = %input.log_group_name, log_stream = %input.log_stream_name, "log stream deleted");
    Ok(json!({}))
}

/// Implements `DescribeLogStreams`: by name (a key scan), or by last event time (the
/// group's streams sorted in memory; stream documents are small).
pub fn describe_log_streams(ctx: &Context, input: Value) -> Result<Value, AwsError> {
    let input: DescribeLogStreamsInput = parse_input(input)?;
    let group =
        named_group(input.log_group_name.as_deref(), input.log_group_identifier.as_deref())?;
    let by_time = match input.order_by.as_deref() {
        None | Some("LogStreamName") => false,
        Some("LastEventTime") => true,
        Some(other) => return Err(invalid(format!("Invalid orderBy: {other}"))),
    };
    if by_time && input.log_stream_name_prefix.is_some() {
        return Err(invalid("Cannot order by LastEventTime with a logStreamNamePrefix."));
    }
    let limit = input.limit.unwrap_or(50);
    let token = input.next_token.as_deref().map(decode_token).transpose()?;
    let part = ctx.partition();
    let prefix = format!("{group}:{}", input.log_stream_name_prefix.as_deref().unwrap_or(""));
    let streams = read(ctx.dispatcher.store(), |tx| {
        if !GROUPS.contains(tx, &part, &group)? {
            return Err(group_not_found().into());
        }
        Ok(STREAMS.scan(tx, &part, &prefix, None, usize::MAX)?)
    })?;
    let mut streams: Vec<LogStream> = streams.into_iter().map(|(_, s)| s).collect();
    if by_time {
        // Streams without events sort first, as their last event time is unset.
        streams.sort_by(|a, b| {
            (a.last_event_timestamp, &a.name).cmp(&(b.last_event_timestamp, &b.name))
        });
    }
    if input.descending {
        streams.reverse();
    }
    // The token is the position in this order of the first stream of the next page.
    let start: usize = match &token {
        Some(t) => t.parse().map_err(|_| invalid("The specified nextToken is invalid."))?,
        None => 0,
    };
    let page: Vec<Value> =
        streams.iter().skip(start).take(limit).map(|s| stream_output(ctx, &group, s)).collect();
    let next = (start + limit < streams.len()).then(|| encode_token(&(start + limit).to_string()));
    Ok(json!({ "logStreams": page, "nextToken": next }))
}
