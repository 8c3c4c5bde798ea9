//! Tables for the evaluator: the two outcome tables of
//! <https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/AlarmThatSendsEmail.html#alarms-evaluating-missing-data>
//! verbatim, then operators, M-of-N, statistics and low-sample-count percentiles.

use super::*;

const T0: i64 = 1_700_000_040_000;

fn config(m: usize, n: usize, treat: TreatMissing) -> AlarmConfig {
    AlarmConfig {
        period: 60,
        evaluation_periods: n,
        datapoints_to_alarm: m,
        threshold: 1.0,
        operator: Operator::Ge,
        treat_missing: treat,
        statistic: "Maximum".into(),
        percentile: None,
        ignore_low_sample_count: false,
    }
}

/// `0 - X - X` (oldest first): 0 is an OK point, X breaching, - missing.
fn slots(pattern: &str) -> Vec<Option<PeriodPoint>> {
    let cells: Vec<&str> = pattern.split_whitespace().collect();
    let len = cells.len() as i64;
    cells
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let start_ms = T0 - (len - i as i64) * 60_000;
            match *c {
                "0" => Some(PeriodPoint { start_ms, value: 0.0, sample_count: 1.0 }),
                "X" => Some(PeriodPoint { start_ms, value: 5.0, sample_count: 1.0 }),
                _ => None,
            }
        })
        .collect()
}

/// The expected cell: a state, or `keep` for "keep the current state".
fn check(m: usize, n: usize, pattern: &str, treat: TreatMissing, want: &str) {
    for current in [StateValue::Ok, StateValue::Alarm, StateValue::InsufficientData] {
        let got = evaluate(&config(m, n, treat), &slots(pattern), T0, current).state;
        let want = if want == "keep" { current } else { StateValue::parse(want).unwrap() };
        assert_eq!(got, want, "M={m} N={n} {pattern:?} {treat:?} from {current:?}");
    }
}

const MODES: [TreatMissing; 4] = [
    TreatMissing::Missing,
    TreatMissing::Ignore,
    TreatMissing::Breaching,
    TreatMissing::NotBreaching,
];

#[test]
fn documented_table_m3_n3() {
    let rows = [
        // points       missing              ignore    breaching  notBreaching
        ("0 - X - X", ["OK", "OK", "OK", "OK"]),
        ("0 - - - -", ["OK", "OK", "OK", "OK"]),
        ("- - - - -", ["INSUFFICIENT_DATA", "keep", "ALARM", "OK"]),
        ("0 X X - X", ["ALARM", "ALARM", "ALARM", "ALARM"]),
        ("- - X - -", ["ALARM", "keep", "ALARM", "OK"]),
    ];
    assert_eq!(evaluation_range(3), 5);
    for (pattern, wants) in rows {
        for (treat, want) in MODES.iter().zip(wants) {
            check(3, 3, pattern, *treat, want);
        }
    }
}

#[test]
fn documented_table_m2_n3() {
    let rows = [
        ("0 - X - X", ["ALARM", "ALARM", "ALARM", "ALARM"]),
        ("0 0 X 0 X", ["ALARM", "ALARM", "ALARM", "ALARM"]),
        ("0 - X - -", ["OK", "OK", "ALARM", "OK"]),
        ("- - - - 0", ["OK", "OK", "ALARM", "OK"]),
        ("- - - X -", ["ALARM", "keep", "ALARM", "OK"]),
    ];
    for (pattern, wants) in rows {
        for (treat, want) in MODES.iter().zip(wants) {
            check(2, 3, pattern, *treat, want);
        }
    }
}

#[test]
fn premature_alarm_guard() {
    // A fresh breaching point does not alarm a 3-of-3 alarm under `missing` until it is
    // three periods old.
    check(3, 3, "- - - - X", TreatMissing::Missing, "keep");
    check(3, 3, "- - - X -", TreatMissing::Missing, "keep");
    check(3, 3, "- - X - -", TreatMissing::Missing, "ALARM");
}

#[test]
fn m_of_n() {
    let n = 60;
    let range = evaluation_range(n);
    for (breaches, want) in [(5, "OK"), (6, "ALARM"), (60, "ALARM"), (0, "OK")] {
        // Breaching minutes spread over the hour, the rest missing (CIS 3.1: 6 of 60).
        let cells: Vec<&str> =
            (0..range).map(|i| if i % 10 == 1 && i / 10 < breaches { "X" } else { "-" }).collect();
        let cells = if breaches == 60 { vec!["X"; range] } else { cells };
        check(6, n, &cells.join(" "), TreatMissing::NotBreaching, want);
    }
    check(2, 3, "0 0 X 0 0", TreatMissing::Missing, "OK");
    check(1, 3, "0 0 0 0 X", TreatMissing::Missing, "ALARM");
    check(1, 1, "X", TreatMissing::NotBreaching, "ALARM");
    check(1, 1, "-", TreatMissing::NotBreaching, "OK");
    check(1, 1, "-", TreatMissing::Missing, "INSUFFICIENT_DATA");
    assert_eq!(evaluation_range(1), 1);
}

#[test]
fn each_operator() {
    let cases = [
        // operator     value  threshold breaches
        (Operator::Ge, 1.0, 1.0, true),
        (Operator::Ge, 0.9, 1.0, false),
        (Operator::Gt, 1.0, 1.0, false),
        (Operator::Gt, 1.1, 1.0, true),
        (Operator::Lt, 1.0, 1.0, false),
        (Operator::Lt, 0.9, 1.0, true),
        (Operator::Le, 1.0, 1.0, true),
        (Operator::Le, 1.1, 1.0, false),
    ];
    for (op, value, threshold, breaches) in cases {
        let mut cfg = config(1, 1, TreatMissing::Missing);
        cfg.operator = op;
        cfg.threshold = threshold;
        let pt = PeriodPoint { start_ms: T0 - 60_000, value, sample_count: 1.0 };
        let got = evaluate(&cfg, &[Some(pt)], T0, StateValue::InsufficientData).state;
        let want = if breaches { StateValue::Alarm } else { StateValue::Ok };
        assert_eq!(got, want, "{op:?} {value} vs {threshold}");
    }
    assert_eq!(Operator::parse("LessThanLowerOrGreaterThanUpperThreshold"), None);
}

#[test]
fn low_sample_count_percentiles() {
    let cases = [
        // samples  evaluate-mode  from   want
        (5.0, false, StateValue::Ok, StateValue::Alarm),
        (5.0, true, StateValue::Ok, StateValue::Ok),
        (1000.0, true, StateValue::Ok, StateValue::Alarm),
    ];
    for (samples, ignore, from, want) in cases {
        let mut cfg = config(1, 1, TreatMissing::Missing);
        cfg.statistic = "p99".into();
        cfg.percentile = Some(0.99);
        cfg.ignore_low_sample_count = ignore;
        let pt = PeriodPoint { start_ms: T0 - 60_000, value: 7.0, sample_count: samples };
        let got = evaluate(&cfg, &[Some(pt)], T0, from).state;
        assert_eq!(got, want, "samples={samples} ignore={ignore}");
    }
}

#[test]
fn reasons_read_like_aws() {
    let cfg = config(1, 1, TreatMissing::NotBreaching);
    let pt = PeriodPoint { start_ms: 1_433_353_380_000, value: 1234.0, sample_count: 1.0 };
    let got = evaluate(&cfg, &[Some(pt)], 1_433_353_440_000, StateValue::Ok);
    assert_eq!(
        got.reason,
        "Threshold Crossed: 1 out of the last 1 datapoints [1234.0 (03/06/15 17:43:00)] was greater than or equal to the threshold (1.0) (minimum 1 datapoint for OK -> ALARM transition)."
    );
    let data: Value = serde_json::from_str(&got.reason_data).unwrap();
    assert_eq!(data["statistic"], "Maximum");
    assert_eq!(data["period"], 60);
    assert_eq!(data["recentDatapoints"], json!([1234.0]));
    assert_eq!(data["queryDate"], "2015-06-03T17:44:00.000+0000");
    assert_eq!(data["startDate"], "2015-06-03T17:43:00.000+0000");
    assert_eq!(data["evaluatedDatapoints"][0]["value"], 1234.0);

    let ok = evaluate(&cfg, &[None], 1_433_353_500_000, StateValue::Alarm);
    assert_eq!(ok.state, StateValue::Ok);
    assert_eq!(
        ok.reason,
        "Threshold Crossed: no datapoints were received for 1 period and 1 missing datapoint was treated as [NonBreaching]."
    );
    let none = evaluate(&config(1, 1, TreatMissing::Missing), &[None], T0, StateValue::Ok);
    assert_eq!(none.reason, "Insufficient Data: 1 datapoint was unknown.");
    let below = PeriodPoint { start_ms: T0 - 60_000, value: 0.0, sample_count: 2.0 };
    let ok = evaluate(&cfg, &[Some(below)], T0, StateValue::Alarm);
    assert!(
        ok.reason.contains("was not greater than or equal to the threshold (1.0)"),
        "{}",
        ok.reason
    );
    assert!(
        ok.reason.ends_with("(minimum 1 datapoint for ALARM -> OK transition)."),
        "{}",
        ok.reason
    );
}
