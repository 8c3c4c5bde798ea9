//! `GetMetricData` and metric math, following
//! <https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_GetMetricData.html>.

use mamori_aws::AwsError;
use mamori_store::{StoreError, Tx};
use serde_json::Value;

use crate::errors::invalid_value;
use crate::eval::PeriodPoint;

/// Checks the `Metrics` of a metric math alarm; returns their period.
pub fn check_alarm_queries(_queries: &[Value]) -> Result<i64, AwsError> {
    // GAP: metric math alarms are not built yet.
    Err(invalid_value("Metric math alarms (Metrics) are not supported by mamori yet."))
}

/// The per-period values of a metric math alarm.
pub fn alarm_slots(
    _tx: &Tx<'_>,
    _part: &str,
    _queries: &Value,
    start: i64,
    end: i64,
    period: i64,
) -> Result<Vec<Option<PeriodPoint>>, StoreError> {
    let n = ((end - start) / (period * 1000)).max(0) as usize;
    Ok(vec![None; n])
}

/// Implements `GetMetricData`.
pub fn get_metric_data(_ctx: &mamori_service::Context, _input: Value) -> Result<Value, AwsError> {
    Err(AwsError::not_implemented("cloudwatch", "GetMetricData"))
}
