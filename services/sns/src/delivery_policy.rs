//! HTTP/S delivery policies, following
//! <https://docs.aws.amazon.com/sns/latest/dg/sns-message-delivery-retries.html>: a
//! topic's `DeliveryPolicy` (`{"http": {"defaultHealthyRetryPolicy", ...}}`), a
//! subscription's (`{"healthyRetryPolicy", ...}`), their validation and the delay
//! before each retry.
//!
//! The retry phases run in order: immediate retries, retries at the minimum delay, the
//! backoff phase from minimum to maximum delay, then retries at the maximum delay.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::errors::invalid_parameter;

/// How the backoff phase grows from the minimum to the maximum delay.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Backoff {
    /// Equal steps.
    #[default]
    Linear,
    /// Steps growing with the square of the retry number.
    Arithmetic,
    /// A constant ratio between steps.
    Geometric,
    /// Doubling steps.
    Exponential,
}

/// A resolved retry policy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RetryPolicy {
    /// Seconds.
    pub min_delay_target: u32,
    /// Seconds.
    pub max_delay_target: u32,
    /// All retries, across phases.
    pub num_retries: u32,
    /// Retries at the maximum delay, after the backoff phase.
    pub num_max_delay_retries: u32,
    /// Immediate retries.
    pub num_no_delay_retries: u32,
    /// Retries at the minimum delay, before the backoff phase.
    pub num_min_delay_retries: u32,
    /// The backoff function.
    pub backoff_function: Backoff,
}

impl Default for RetryPolicy {
    /// The HTTP/S default: 3 retries, 20 seconds apart.
    fn default() -> Self {
        Self {
            min_delay_target: 20,
            max_delay_target: 20,
            num_retries: 3,
            num_max_delay_retries: 0,
            num_no_delay_retries: 0,
            num_min_delay_retries: 0,
            backoff_function: Backoff::Linear,
        }
    }
}

/// The parts of a delivery policy SNS acts on.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeliveryPolicy {
    /// The retry policy, when given.
    pub retry: Option<RetryPolicy>,
    /// Topic only: subscriptions' own policies are ignored.
    pub disable_subscription_overrides: bool,
    /// The Content-Type of deliveries, when given.
    pub header_content_type: Option<String>,
}

/// The default Content-Type of HTTP/S deliveries.
pub const DEFAULT_CONTENT_TYPE: &str = "text/plain; charset=UTF-8";

const CONTENT_TYPES: &[&str] = &[
    "text/plain",
    "application/json",
    "application/xml",
    "text/plain; charset=UTF-8",
    "application/json; charset=UTF-8",
    "application/xml; charset=UTF-8",
];

impl RetryPolicy {
    /// The delay in seconds before retry `n` (1-based), or `None` when the retries are
    /// exhausted.
    pub fn delay_before_retry(&self, n: u32) -> Option<u32> {
        if n == 0 || n > self.num_retries {
            return None;
        }
        let (min, max) = (self.min_delay_target, self.max_delay_target);
        if n <= self.num_no_delay_retries {
            return Some(0);
        }
        let n = n - self.num_no_delay_retries;
        if n <= self.num_min_delay_retries {
            return Some(min);
        }
        let n = n - self.num_min_delay_retries;
        let backoff = self.backoff_retries();
        if n > backoff {
            return Some(max);
        }
        let (k, b, lo, hi) = (f64::from(n), f64::from(backoff), f64::from(min), f64::from(max));
        let f = k / b;
        let d = match self.backoff_function {
            Backoff::Linear => lo + (hi - lo) * f,
            Backoff::Arithmetic => lo + (hi - lo) * f * f,
            Backoff::Geometric => lo * (hi / lo.max(1.0)).powf(f),
            Backoff::Exponential => lo + (hi - lo) * (2f64.powf(k) - 1.0) / (2f64.powf(b) - 1.0),
        };
        Some((d.round() as u32).clamp(min, max))
    }

    fn backoff_retries(&self) -> u32 {
        self.num_retries.saturating_sub(self.phase_retries())
    }

    /// The immediate, minimum-delay and maximum-delay retries together: each may be
    /// any `u32` as given, so their sum is not one.
    fn phase_retries(&self) -> u32 {
        self.num_no_delay_retries
            .saturating_add(self.num_min_delay_retries)
            .saturating_add(self.num_max_delay_retries)
    }

    fn to_json(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }

    fn from_json(v: &Value, field: &str) -> Result<Self, crate::AwsError> {
        let bad = |why: &str| invalid_parameter(&format!("DeliveryPolicy: {field}.{why}"));
        let obj = v.as_object().ok_or_else(|| bad("must be an object"))?;
        let d = Self::default();
        let num = |key: &str, default: u32| -> Result<u32, crate::AwsError> {
            match obj.get(key) {
                None | Some(Value::Null) => Ok(default),
                Some(v) => v
                    .as_u64()
                    .and_then(|n| u32::try_from(n).ok())
                    .ok_or_else(|| bad(&format!("{key} must be a non-negative integer"))),
            }
        };
        let res = Self {
            min_delay_target: num("minDelayTarget", d.min_delay_target)?,
            max_delay_target: num("maxDelayTarget", d.max_delay_target)?,
            num_retries: num("numRetries", d.num_retries)?,
            num_max_delay_retries: num("numMaxDelayRetries", 0)?,
            num_no_delay_retries: num("numNoDelayRetries", 0)?,
            num_min_delay_retries: num("numMinDelayRetries", 0)?,
            backoff_function: match obj.get("backoffFunction") {
                None | Some(Value::Null) => Backoff::Linear,
                Some(v) => serde_json::from_value(v.clone()).map_err(|_| {
                    bad("backoffFunction must be one of linear, arithmetic, geometric, exponential")
                })?,
            },
        };
        for key in obj.keys() {
            if !matches!(
                key.as_str(),
                "minDelayTarget"
                    | "maxDelayTarget"
                    | "numRetries"
                    | "numMaxDelayRetries"
                    | "numNoDelayRetries"
                    | "numMinDelayRetries"
                    | "backoffFunction"
            ) {
                return Err(bad(&format!("{key} is not a retry policy field")));
            }
        }
        if res.min_delay_target < 1 || res.min_delay_target > res.max_delay_target {
            return Err(bad("minDelayTarget must be between 1 and maxDelayTarget"));
        }
        if res.max_delay_target > 3600 {
            return Err(bad("maxDelayTarget must be at most 3600"));
        }
        if res.num_retries > 100 {
            return Err(bad("numRetries must be at most 100"));
        }
        if res.phase_retries() > res.num_retries {
            return Err(bad("the retries of all phases must not exceed numRetries"));
        }
        let total: u64 =
            (1..=res.num_retries).filter_map(|n| res.delay_before_retry(n)).map(u64::from).sum();
        if total > 3600 {
            return Err(bad("the policy may retry for at most 3600 seconds"));
        }
        Ok(res)
    }
}

fn content_type(v: Option<&Value>, field: &str) -> Result<Option<String>, crate::AwsError> {
    let Some(v) = v.filter(|v| !v.is_null()) else { return Ok(None) };
    let ct = v.get("headerContentType").and_then(Value::as_str);
    match ct {
        None => Ok(None),
        Some(ct) if CONTENT_TYPES.contains(&ct) => Ok(Some(ct.to_owned())),
        Some(ct) => Err(invalid_parameter(&format!(
            "DeliveryPolicy: {field}.headerContentType {ct} is not supported"
        ))),
    }
}

fn parse_json(text: &str) -> Result<Value, crate::AwsError> {
    let v: Value = serde_json::from_str(text)
        .map_err(|e| invalid_parameter(&format!("DeliveryPolicy: invalid JSON: {e}")))?;
    if !v.is_object() {
        return Err(invalid_parameter("DeliveryPolicy: must be a JSON object"));
    }
    Ok(v)
}

/// Parses a topic's `DeliveryPolicy`. Protocols other than `http`/`https` keys are
/// accepted and ignored: only HTTP/S policies are customizable.
pub fn parse_topic_policy(text: &str) -> Result<DeliveryPolicy, crate::AwsError> {
    let v = parse_json(text)?;
    let Some(http) = v.get("http").or_else(|| v.get("https")) else {
        return Ok(DeliveryPolicy::default());
    };
    let retry = match http.get("defaultHealthyRetryPolicy") {
        None | Some(Value::Null) => None,
        Some(p) => Some(RetryPolicy::from_json(p, "http.defaultHealthyRetryPolicy")?),
    };
    let disable = match http.get("disableSubscriptionOverrides") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(_) => {
            return Err(invalid_parameter(
                "DeliveryPolicy: http.disableSubscriptionOverrides must be a boolean",
            ));
        }
    };
    // GAP: defaultThrottlePolicy.maxReceivesPerSecond is stored but not enforced.
    let header_content_type =
        content_type(http.get("defaultRequestPolicy"), "http.defaultRequestPolicy")?;
    Ok(DeliveryPolicy { retry, disable_subscription_overrides: disable, header_content_type })
}

/// Parses a subscription's `DeliveryPolicy`.
pub fn parse_subscription_policy(text: &str) -> Result<DeliveryPolicy, crate::AwsError> {
    let v = parse_json(text)?;
    let retry = match v.get("healthyRetryPolicy") {
        None | Some(Value::Null) => None,
        Some(p) => Some(RetryPolicy::from_json(p, "healthyRetryPolicy")?),
    };
    let header_content_type = content_type(v.get("requestPolicy"), "requestPolicy")?;
    Ok(DeliveryPolicy { retry, disable_subscription_overrides: false, header_content_type })
}

/// The policy a delivery follows: the subscription's unless the topic disables
/// overrides, then the topic's, then the default. Malformed stored text (impossible
/// through the API) falls back to the default.
pub fn effective(topic: Option<&str>, subscription: Option<&str>) -> (RetryPolicy, String) {
    let topic = topic.and_then(|t| parse_topic_policy(t).ok()).unwrap_or_default();
    let sub = subscription
        .filter(|_| !topic.disable_subscription_overrides)
        .and_then(|s| parse_subscription_policy(s).ok())
        .unwrap_or_default();
    let retry = sub.retry.or(topic.retry).unwrap_or_default();
    let ct = sub
        .header_content_type
        .or(topic.header_content_type)
        .unwrap_or_else(|| DEFAULT_CONTENT_TYPE.to_owned());
    (retry, ct)
}

/// The topic's `EffectiveDeliveryPolicy` attribute.
pub fn topic_effective_json(topic: Option<&str>) -> String {
    let p = topic.and_then(|t| parse_topic_policy(t).ok()).unwrap_or_default();
    let ct = p.header_content_type.unwrap_or_else(|| DEFAULT_CONTENT_TYPE.to_owned());
    json!({"http": {
        "defaultHealthyRetryPolicy": p.retry.unwrap_or_default().to_json(),
        "disableSubscriptionOverrides": p.disable_subscription_overrides,
        "defaultRequestPolicy": {"headerContentType": ct},
    }})
    .to_string()
}

/// A subscription's `EffectiveDeliveryPolicy` attribute.
pub fn subscription_effective_json(topic: Option<&str>, subscription: Option<&str>) -> String {
    let (retry, ct) = effective(topic, subscription);
    json!({
        "healthyRetryPolicy": retry.to_json(),
        "sicklyRetryPolicy": null,
        "throttlePolicy": null,
        "requestPolicy": {"headerContentType": ct},
        "guaranteed": false,
    })
    .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(text: &str) -> RetryPolicy {
        parse_subscription_policy(text).unwrap().retry.unwrap()
    }

    #[test]
    fn default_is_three_retries_twenty_seconds_apart() {
        let p = RetryPolicy::default();
        let delays: Vec<_> = (1..=4).map(|n| p.delay_before_retry(n)).collect();
        assert_eq!(delays, vec![Some(20), Some(20), Some(20), None]);
    }

    #[test]
    fn phases_run_in_order() {
        let p = policy(
            r#"{"healthyRetryPolicy": {"minDelayTarget": 2, "maxDelayTarget": 10, "numRetries": 8,
                "numNoDelayRetries": 1, "numMinDelayRetries": 2, "numMaxDelayRetries": 1,
                "backoffFunction": "linear"}}"#,
        );
        let delays: Vec<_> = (1..=9).map(|n| p.delay_before_retry(n)).collect();
        // 1 immediate, 2 at min, 4 backoff (2 -> 10 linear), 1 at max, then exhausted.
        assert_eq!(
            delays,
            vec![Some(0), Some(2), Some(2), Some(4), Some(6), Some(8), Some(10), Some(10), None]
        );
    }

    #[test]
    fn backoff_functions_stay_between_min_and_max() {
        for f in ["linear", "arithmetic", "geometric", "exponential"] {
            let p = policy(&format!(
                r#"{{"healthyRetryPolicy": {{"minDelayTarget": 1, "maxDelayTarget": 60, "numRetries": 6, "backoffFunction": "{f}"}}}}"#
            ));
            let delays: Vec<u32> = (1..=6).filter_map(|n| p.delay_before_retry(n)).collect();
            assert_eq!(delays.len(), 6, "{f}");
            assert!(delays.windows(2).all(|w| w[0] <= w[1]), "{f}: {delays:?}");
            assert_eq!(delays.last(), Some(&60), "{f}");
            assert!(delays[0] >= 1, "{f}");
        }
    }

    #[test]
    fn invalid_policies_are_rejected() {
        let cases = [
            "not json",
            "[]",
            r#"{"healthyRetryPolicy": {"minDelayTarget": 0}}"#,
            r#"{"healthyRetryPolicy": {"minDelayTarget": 30, "maxDelayTarget": 20}}"#,
            r#"{"healthyRetryPolicy": {"maxDelayTarget": 4000, "minDelayTarget": 1}}"#,
            r#"{"healthyRetryPolicy": {"numRetries": 101}}"#,
            r#"{"healthyRetryPolicy": {"numRetries": 2, "numNoDelayRetries": 3}}"#,
            r#"{"healthyRetryPolicy": {"backoffFunction": "cubic"}}"#,
            r#"{"healthyRetryPolicy": {"numRetries": 100, "minDelayTarget": 3600, "maxDelayTarget": 3600}}"#,
            r#"{"healthyRetryPolicy": {"typo": 1}}"#,
            // Phase counts whose u32 sum overflows: a panic in debug builds, and in
            // release a wrapped sum that passed as at most numRetries.
            r#"{"healthyRetryPolicy": {"numRetries": 3, "numNoDelayRetries": 4294967295, "numMinDelayRetries": 1}}"#,
            r#"{"healthyRetryPolicy": {"numRetries": 3, "numNoDelayRetries": 2147483648, "numMaxDelayRetries": 2147483648}}"#,
            r#"{"healthyRetryPolicy": {"numRetries": 3, "numMinDelayRetries": 4294967295}}"#,
            r#"{"requestPolicy": {"headerContentType": "image/png"}}"#,
        ];
        for text in cases {
            assert!(parse_subscription_policy(text).is_err(), "{text}");
        }
    }

    #[test]
    fn topic_policy_and_overrides() {
        let topic = r#"{"http": {"defaultHealthyRetryPolicy": {"minDelayTarget": 5, "maxDelayTarget": 5, "numRetries": 1}, "disableSubscriptionOverrides": true}}"#;
        let sub = r#"{"healthyRetryPolicy": {"minDelayTarget": 1, "maxDelayTarget": 1, "numRetries": 9}}"#;
        assert_eq!(effective(Some(topic), Some(sub)).0.num_retries, 1);
        let topic2 = topic.replace("true", "false");
        assert_eq!(effective(Some(&topic2), Some(sub)).0.num_retries, 9);
        assert_eq!(effective(None, None), (RetryPolicy::default(), DEFAULT_CONTENT_TYPE.into()));
        let v: Value = serde_json::from_str(&topic_effective_json(None)).unwrap();
        assert_eq!(v["http"]["defaultHealthyRetryPolicy"]["numRetries"], 3);
    }
}
