//! The operation handlers, one file per family of the
//! <https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_Operations.html>.

pub mod events;
pub mod groups;
pub mod metric_filters;
pub mod streams;

use mamori_aws::AwsError;
use mamori_service::Context;

use crate::errors::invalid;
use crate::state::{self, GROUPS, LogGroup};

/// The group a call names through `logGroupName` or `logGroupIdentifier` (exactly one).
pub fn named_group(name: Option<&str>, identifier: Option<&str>) -> Result<String, AwsError> {
    match (name, identifier) {
        (Some(n), None) => {
            state::check_group_name(n, "logGroupName")?;
            Ok(n.to_owned())
        }
        (None, Some(id)) => state::group_from_identifier(id),
        (Some(_), Some(_)) => {
            Err(invalid("LogGroup name and LogGroup ARN are mutually exclusive parameters."))
        }
        (None, None) => Err(invalid("Should provide either a LogGroup name or a LogGroup ARN.")),
    }
}

/// Loads a group or answers `ResourceNotFoundException`.
pub fn load_group(ctx: &Context, name: &str) -> Result<LogGroup, AwsError> {
    let part = ctx.partition();
    crate::errors::read(ctx.dispatcher.store(), |tx| Ok(GROUPS.get(tx, &part, name)?))?
        .ok_or_else(crate::errors::group_not_found)
}

/// Milliseconds since the epoch of the call.
pub fn now_millis(ctx: &Context) -> i64 {
    ctx.time.timestamp_millis()
}
