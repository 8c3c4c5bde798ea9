//! `LookupEvents`: the last 90 days of management events of a region, newest first,
//! following <https://docs.aws.amazon.com/awscloudtrail/latest/APIReference/API_LookupEvents.html>.

use base64::Engine;
use chrono::TimeDelta;
use mamori_aws::AwsError;
use mamori_service::{Context, parse_input};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::errors::db;
use crate::state::{EVENTS, StoredEvent};

/// How long event history keeps events.
pub const HISTORY_DAYS: i64 = 90;

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Input {
    #[serde(default)]
    lookup_attributes: Vec<Attribute>,
    start_time: Option<f64>,
    end_time: Option<f64>,
    event_category: Option<String>,
    max_results: Option<usize>,
    next_token: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Attribute {
    attribute_key: String,
    attribute_value: String,
}

fn matches(ev: &StoredEvent, attr: Option<&Attribute>) -> bool {
    let Some(a) = attr else { return true };
    let v = a.attribute_value.as_str();
    match a.attribute_key.as_str() {
        "EventId" => ev.event_id == v,
        "EventName" => ev.event_name == v,
        "ReadOnly" => ev.read_only.to_string() == v,
        "Username" => ev.username == v,
        "EventSource" => ev.event_source == v,
        "AccessKeyId" => ev.access_key_id == v,
        "ResourceType" => resources(ev).iter().any(|(ty, _, _)| ty == v),
        "ResourceName" => resources(ev).iter().any(|(_, name, arn)| name == v || arn == v),
        _ => false,
    }
}

/// The (type, name, ARN) of the resources a stored event's record lists.
fn resources(ev: &StoredEvent) -> Vec<(String, String, String)> {
    #[derive(Deserialize)]
    struct Record {
        #[serde(default)]
        resources: Vec<Resource>,
    }
    #[derive(Deserialize)]
    struct Resource {
        #[serde(rename = "type", default)]
        ty: String,
        #[serde(rename = "ARN", default)]
        arn: String,
    }
    let rec: Record =
        serde_json::from_str(ev.record.as_str()).unwrap_or(Record { resources: Vec::new() });
    rec.resources
        .into_iter()
        .map(|r| {
            let name = crate::data::resource_name(&r.ty, &r.arn).to_owned();
            (r.ty, name, r.arn)
        })
        .collect()
}

/// Implements `LookupEvents`.
///
/// # Gaps
/// - `ResourceType` / `ResourceName` lookups see only the resources [`crate::data`] lists.
/// - `EventCategory=insight` returns no events (Insights are not generated).
pub fn lookup_events(ctx: &Context, input: Value) -> Result<Value, AwsError> {
    let input: Input = parse_input(input)?;
    if input.lookup_attributes.len() > 1 {
        return Err(AwsError::new(
            "InvalidLookupAttributesException",
            "You cannot specify more than one lookup attribute.",
        ));
    }
    let max = input.max_results.unwrap_or(50);
    if !(1..=50).contains(&max) {
        return Err(AwsError::new(
            "InvalidMaxResultsException",
            "MaxResults must be between 1 and 50.",
        ));
    }
    let now = ctx.time.timestamp_millis();
    let oldest = now - TimeDelta::days(HISTORY_DAYS).num_milliseconds();
    let start = input.start_time.map_or(oldest, |s| (s * 1000.0) as i64).max(oldest);
    // EndTime is inclusive.
    let end = input.end_time.map_or(i64::MAX, |e| (e * 1000.0) as i64 + 1);
    if let (Some(s), Some(e)) = (input.start_time, input.end_time)
        && s > e
    {
        return Err(AwsError::new(
            "InvalidTimeRangeException",
            "Start time must be before end time.",
        ));
    }
    let cursor = match &input.next_token {
        Some(t) => Some(decode_token(t)?),
        None => None,
    };
    if input.event_category.as_deref() == Some("insight") {
        return Ok(json!({"Events": []}));
    }
    let attr = input.lookup_attributes.first();
    let part = ctx.partition();
    let store = ctx.dispatcher.store();
    let mut found: Vec<(i64, i64, StoredEvent)> = Vec::new();
    let mut after = cursor;
    let mut more = false;
    'scan: loop {
        let page = store
            .read(|tx| EVENTS.range(tx, &part, &["management"], start, end, after, 500, true))
            .map_err(db)?;
        let exhausted = page.len() < 500;
        for rec in page {
            after = Some((rec.ts, rec.id));
            if matches(&rec.value, attr) {
                if found.len() == max {
                    more = true;
                    break 'scan;
                }
                found.push((rec.ts, rec.id, rec.value));
            }
        }
        if exhausted {
            break;
        }
    }
    let events: Vec<Value> = found
        .iter()
        .map(|(ts, _, ev)| {
            json!({
                "EventId": ev.event_id,
                "EventName": ev.event_name,
                "ReadOnly": ev.read_only.to_string(),
                "AccessKeyId": ev.access_key_id,
                "EventTime": *ts as f64 / 1000.0,
                "EventSource": ev.event_source,
                "Username": ev.username,
                "Resources": resources(ev)
                    .into_iter()
                    .map(|(ty, name, _)| json!({"ResourceType": ty, "ResourceName": name}))
                    .collect::<Vec<_>>(),
                "CloudTrailEvent": ev.record.as_str(),
            })
        })
        .collect();
    let mut out = json!({"Events": events});
    if more && let Some((ts, id, _)) = found.last() {
        out["NextToken"] = Value::from(encode_token(*ts, *id));
    }
    Ok(out)
}

fn encode_token(ts: i64, id: i64) -> String {
    base64::engine::general_purpose::STANDARD.encode(format!("{ts}:{id}"))
}

fn decode_token(token: &str) -> Result<(i64, i64), AwsError> {
    let bad = || AwsError::new("InvalidNextTokenException", "The provided NextToken is not valid.");
    let raw = base64::engine::general_purpose::STANDARD.decode(token).map_err(|_| bad())?;
    let text = String::from_utf8(raw).map_err(|_| bad())?;
    let (ts, id) = text.split_once(':').ok_or_else(bad)?;
    Ok((ts.parse().map_err(|_| bad())?, id.parse().map_err(|_| bad())?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_round_trip_and_reject_garbage() {
        assert_eq!(decode_token(&encode_token(5, 7)).unwrap(), (5, 7));
        for bad in ["", "!!", "bm9wZQ=="] {
            assert_eq!(decode_token(bad).unwrap_err().code, "InvalidNextTokenException", "{bad}");
        }
    }
}
