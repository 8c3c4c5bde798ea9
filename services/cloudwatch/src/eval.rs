//! The metric alarm evaluator, a pure function of (alarm configuration, per-period
//! values, now, current state), following
//! <https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/AlarmThatSendsEmail.html>
//! ("Configuring how CloudWatch alarms treat missing data" and "How alarm state is
//! evaluated when data is missing").
//!
//! The caller aggregates the metric into one value per period over the *evaluation
//! range* ([`evaluation_range`] periods ending at `now`, oldest first) and hands them
//! over as slots, `None` for a period without data. The rules, in order:
//! 1. no period missing among the newest N: judge those N;
//! 2. some missing but at least N real points in the range: judge the newest N real
//!    points (TreatMissingData unused);
//! 3. fewer than N real points: fill the shortfall per TreatMissingData.
//!
//! Judging counts breaching points: at least M (DatapointsToAlarm) is `ALARM`, else `OK`.
//! The outcome tables of the AWS page are the unit tests at the bottom.

use chrono::DateTime;
use serde_json::{Value, json};

use crate::state::aws_time;

/// An alarm state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StateValue {
    /// `OK`.
    Ok,
    /// `ALARM`.
    Alarm,
    /// `INSUFFICIENT_DATA`.
    InsufficientData,
}

impl StateValue {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ok => "OK",
            Self::Alarm => "ALARM",
            Self::InsufficientData => "INSUFFICIENT_DATA",
        }
    }

    /// Parses the wire name.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "OK" => Self::Ok,
            "ALARM" => Self::Alarm,
            "INSUFFICIENT_DATA" => Self::InsufficientData,
            _ => return None,
        })
    }
}

/// `TreatMissingData`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TreatMissing {
    /// `missing` (the default).
    Missing,
    /// `notBreaching`.
    NotBreaching,
    /// `breaching`.
    Breaching,
    /// `ignore`.
    Ignore,
}

impl TreatMissing {
    /// Parses the wire value.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "missing" => Self::Missing,
            "notBreaching" => Self::NotBreaching,
            "breaching" => Self::Breaching,
            "ignore" => Self::Ignore,
            _ => return None,
        })
    }
}

/// The static-threshold comparison operators; the statistic is the left operand.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operator {
    /// `GreaterThanOrEqualToThreshold`.
    Ge,
    /// `GreaterThanThreshold`.
    Gt,
    /// `LessThanThreshold`.
    Lt,
    /// `LessThanOrEqualToThreshold`.
    Le,
}

impl Operator {
    /// Parses a static-threshold operator; anomaly-band operators are `None`.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "GreaterThanOrEqualToThreshold" => Self::Ge,
            "GreaterThanThreshold" => Self::Gt,
            "LessThanThreshold" => Self::Lt,
            "LessThanOrEqualToThreshold" => Self::Le,
            _ => return None,
        })
    }

    fn breaches(self, value: f64, threshold: f64) -> bool {
        match self {
            Self::Ge => value >= threshold,
            Self::Gt => value > threshold,
            Self::Lt => value < threshold,
            Self::Le => value <= threshold,
        }
    }

    fn words(self) -> &'static str {
        match self {
            Self::Ge => "greater than or equal to",
            Self::Gt => "greater than",
            Self::Lt => "less than",
            Self::Le => "less than or equal to",
        }
    }
}

/// What the evaluator needs of an alarm.
#[derive(Debug, Clone)]
pub struct AlarmConfig {
    /// Period in seconds.
    pub period: i64,
    /// EvaluationPeriods (N).
    pub evaluation_periods: usize,
    /// DatapointsToAlarm (M).
    pub datapoints_to_alarm: usize,
    /// Threshold.
    pub threshold: f64,
    /// ComparisonOperator.
    pub operator: Operator,
    /// TreatMissingData.
    pub treat_missing: TreatMissing,
    /// The statistic's name for StateReasonData (`Maximum`, `p99`).
    pub statistic: String,
    /// The percentile, for `EvaluateLowSampleCountPercentile`.
    pub percentile: Option<f64>,
    /// `EvaluateLowSampleCountPercentile` is `ignore`.
    pub ignore_low_sample_count: bool,
}

/// One period's value.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PeriodPoint {
    /// Start of the period (ms).
    pub start_ms: i64,
    /// The statistic's value.
    pub value: f64,
    /// The period's sample count.
    pub sample_count: f64,
}

/// The result of one evaluation.
#[derive(Debug, Clone, PartialEq)]
pub struct Evaluation {
    /// The new state (equal to the current one when the rules keep it).
    pub state: StateValue,
    /// StateReason.
    pub reason: String,
    /// StateReasonData.
    pub reason_data: String,
}

/// How many periods an evaluation reads. AWS documents 5 for N = 3 and no formula; we
/// use N + 2 from N = 3 on, and N + (N - 1) below, so that a one-period alarm judges only
/// its last period (a sparse metric with `notBreaching` goes back to `OK` one period
/// after its datapoint, as the CIS alarms rely on). [derived; see docs/ARCHITECTURE.md]
pub fn evaluation_range(n: usize) -> usize {
    n + (n.saturating_sub(1)).min(2)
}

/// Evaluates an alarm. `slots` holds [`evaluation_range`] periods ending at `now_ms`,
/// oldest first (shorter slices are padded as missing at the old end).
pub fn evaluate(
    config: &AlarmConfig,
    slots: &[Option<PeriodPoint>],
    now_ms: i64,
    current: StateValue,
) -> Evaluation {
    let n = config.evaluation_periods.max(1);
    let m = config.datapoints_to_alarm.clamp(1, n);
    let real: Vec<PeriodPoint> = slots.iter().flatten().copied().collect();
    let window = &slots[slots.len().saturating_sub(n)..];
    let keep = |reason: &str| Evaluation {
        state: current,
        reason: reason.to_owned(),
        reason_data: String::new(),
    };

    // `EvaluateLowSampleCountPercentile: ignore`: the state does not change while a
    // period to judge has too few samples for the percentile to be significant.
    if let (Some(p), true) = (config.percentile, config.ignore_low_sample_count)
        && window.iter().flatten().any(|pt| !crate::stats::enough_samples(p, pt.sample_count))
    {
        return keep("");
    }

    let breaching = |pt: &PeriodPoint| config.operator.breaches(pt.value, config.threshold);
    let judge = |count: usize| if count >= m { StateValue::Alarm } else { StateValue::Ok };
    let (state, judged, fillers, filler_breaches) =
        if window.len() == n && window.iter().all(Option::is_some) {
            let judged: Vec<PeriodPoint> = window.iter().flatten().copied().collect();
            (judge(judged.iter().filter(|p| breaching(p)).count()), judged, 0, false)
        } else if real.len() >= n {
            let judged = real[real.len() - n..].to_vec();
            (judge(judged.iter().filter(|p| breaching(p)).count()), judged, 0, false)
        } else {
            let k = n - real.len();
            let n_breach = real.iter().filter(|p| breaching(p)).count();
            let has_ok = real.iter().any(|p| !breaching(p));
            match config.treat_missing {
                TreatMissing::Breaching => (judge(n_breach + k), real, k, true),
                TreatMissing::NotBreaching => (judge(n_breach), real, k, false),
                TreatMissing::Ignore | TreatMissing::Missing => {
                    let missing = config.treat_missing == TreatMissing::Missing;
                    if real.is_empty() {
                        if missing {
                            return insufficient(config, n, now_ms, slots.len());
                        }
                        return keep("");
                    }
                    // The premature-alarm guard: with `missing`, an isolated breaching
                    // point alarms only once it is at least M periods old and nothing
                    // newer contradicts it (`- - X - -` alarms, `- - - - X` waits).
                    let aged = missing
                        && oldest_breach_age(window, &breaching).is_some_and(|age| age >= m);
                    if n_breach >= m {
                        (StateValue::Alarm, real, 0, false)
                    } else if has_ok {
                        (StateValue::Ok, real, 0, false)
                    } else if aged {
                        (StateValue::Alarm, real, 0, false)
                    } else {
                        return keep("");
                    }
                }
            }
        };
    let reason =
        reason_text(config, state, current, &judged, fillers, filler_breaches, n, m, &breaching);
    let reason_data = reason_data(config, slots, &judged, now_ms);
    Evaluation { state, reason, reason_data }
}

/// How many slots back from the newest (the newest is 1) the oldest breaching point of
/// the newest-N window lies, when every newer slot is breaching or missing.
fn oldest_breach_age(
    window: &[Option<PeriodPoint>],
    breaching: &dyn Fn(&PeriodPoint) -> bool,
) -> Option<usize> {
    let mut oldest = None;
    for (i, slot) in window.iter().enumerate().rev() {
        match slot {
            Some(p) if breaching(p) => oldest = Some(window.len() - i),
            Some(_) => break,
            None => {}
        }
    }
    oldest
}

fn insufficient(config: &AlarmConfig, n: usize, now_ms: i64, range: usize) -> Evaluation {
    let reason = format!(
        "Insufficient Data: {n} datapoint{} {} unknown.",
        plural(n),
        if n == 1 { "was" } else { "were" }
    );
    let data = json!({
        "version": "1.0",
        "queryDate": aws_time(now_ms),
        "startDate": aws_time(now_ms - config.period * 1000 * range as i64),
        "statistic": config.statistic,
        "period": config.period,
        "recentDatapoints": [],
        "threshold": config.threshold,
    });
    Evaluation { state: StateValue::InsufficientData, reason, reason_data: data.to_string() }
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

/// A Java-style double (`1.0`, `99.8`), as AWS prints values.
pub fn fmt_double(v: f64) -> String {
    if v.is_finite() && v.fract() == 0.0 && v.abs() < 1e16 {
        format!("{v:.1}")
    } else {
        format!("{v}")
    }
}

fn point_text(p: &PeriodPoint) -> String {
    let when =
        DateTime::from_timestamp_millis(p.start_ms).unwrap_or_default().format("%d/%m/%y %H:%M:%S");
    format!("{} ({when})", fmt_double(p.value))
}

#[allow(clippy::too_many_arguments)]
fn reason_text(
    config: &AlarmConfig,
    state: StateValue,
    current: StateValue,
    judged: &[PeriodPoint],
    fillers: usize,
    filler_breaches: bool,
    n: usize,
    m: usize,
    breaching: &dyn Fn(&PeriodPoint) -> bool,
) -> String {
    let alarm = state == StateValue::Alarm;
    let shown: Vec<&PeriodPoint> = judged.iter().rev().filter(|p| breaching(p) == alarm).collect();
    let negation = if alarm { "" } else { "not " };
    let treated = if filler_breaches { "Breaching" } else { "NonBreaching" };
    let threshold = fmt_double(config.threshold);
    let mut text = String::from("Threshold Crossed: ");
    if judged.is_empty() {
        text.push_str(&format!(
            "no datapoints were received for {fillers} period{} and {fillers} missing datapoint{} {} treated as [{treated}].",
            plural(fillers),
            plural(fillers),
            if fillers == 1 { "was" } else { "were" },
        ));
        return text;
    }
    let list: Vec<String> = shown.iter().map(|p| point_text(p)).collect();
    // Fillers count among "the last N" and, when they side with the outcome, among the
    // points that decided it; only real points are listed.
    let count = shown.len() + if filler_breaches == alarm { fillers } else { 0 };
    text.push_str(&format!(
        "{count} out of the last {} datapoints [{}] {} {negation}{} the threshold ({threshold})",
        judged.len() + fillers,
        list.join(", "),
        if count == 1 { "was" } else { "were" },
        config.operator.words(),
    ));
    if fillers > 0 {
        text.push_str(&format!(
            " and {fillers} missing datapoint{} {} treated as [{treated}]",
            plural(fillers),
            if fillers == 1 { "was" } else { "were" },
        ));
    }
    let (needed, from) = if alarm { (m, current) } else { (n - m + 1, current) };
    let from = if from == state { StateValue::InsufficientData } else { from };
    text.push_str(&format!(
        " (minimum {needed} datapoint{} for {} -> {} transition).",
        plural(needed),
        from.as_str(),
        state.as_str()
    ));
    text
}

fn reason_data(
    config: &AlarmConfig,
    slots: &[Option<PeriodPoint>],
    judged: &[PeriodPoint],
    now_ms: i64,
) -> String {
    let recent: Vec<f64> = slots.iter().flatten().map(|p| p.value).collect();
    let evaluated: Vec<Value> = judged
        .iter()
        .rev()
        .map(|p| json!({"timestamp": aws_time(p.start_ms), "sampleCount": p.sample_count, "value": p.value}))
        .collect();
    let mut data = json!({
        "version": "1.0",
        "queryDate": aws_time(now_ms),
        "startDate": aws_time(now_ms - config.period * 1000 * slots.len() as i64),
        "statistic": config.statistic,
        "period": config.period,
        "recentDatapoints": recent,
        "threshold": config.threshold,
    });
    if !evaluated.is_empty() {
        data["evaluatedDatapoints"] = Value::Array(evaluated);
    }
    data.to_string()
}

#[cfg(test)]
mod tests;
