//! `ListPublicKeys`, following
//! <https://docs.aws.amazon.com/awscloudtrail/latest/APIReference/API_ListPublicKeys.html>:
//! the public keys (PKCS#1 DER) whose private keys signed the region's digest files.

use chrono::{DateTime, Utc};
use mamori_aws::AwsError;
use mamori_service::{Context, parse_input};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::digest;
use crate::errors::db;

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ListPublicKeysInput {
    start_time: Option<f64>,
    end_time: Option<f64>,
}

fn time(secs: f64) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp_millis((secs * 1000.0) as i64)
}

/// Implements `ListPublicKeys`: without a range, the keys valid now.
pub fn list_public_keys(ctx: &Context, input: Value) -> Result<Value, AwsError> {
    let input: ListPublicKeysInput = parse_input(input)?;
    let start = input.start_time.and_then(time).unwrap_or(ctx.time);
    let end = input.end_time.and_then(time).unwrap_or(ctx.time);
    if start > end {
        return Err(AwsError::new(
            "InvalidTimeRangeException",
            "Occurs if the timestamp values are invalid. Either the start time occurs after the end time or the time range is outside the range of possible values.",
        ));
    }
    let keys =
        digest::public_keys(ctx.dispatcher.store(), ctx.region.as_str(), start, end).map_err(db)?;
    Ok(json!({"PublicKeyList": keys}))
}
