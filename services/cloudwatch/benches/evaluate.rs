//! Alarm evaluation per tick: 10,000 alarms over 10,000 metrics (one alarm per metric,
//! ten minutes of one-minute samples each), on an on-disk store.
//!
//! Reports, per tick: the pure evaluator alone (slots precomputed), the storage read
//! path plus the evaluator (what a tick computes), and a full scheduled tick
//! (`tasks::evaluate_due`, steady state: no transitions). Run with
//! `cargo bench -p mamori-cloudwatch --bench evaluate`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::DateTime;
use mamori_aws::{AccountId, Region};
use mamori_cloudwatch::eval::{self, StateValue};
use mamori_cloudwatch::state::{ALARMS, Alarm, AlarmState, MetricKey};
use mamori_cloudwatch::{CloudWatch, tasks};
use mamori_service::{Context, Dispatcher, ManualClock, Principal, RootCredentials, SharedClock};
use serde_json::json;

const N: usize = 10_000;
/// A minute boundary.
const T: i64 = 1_700_000_040;

fn main() {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    let dir = std::env::temp_dir().join(format!("mamori-cw-bench-{}", std::process::id()));
    let store = mamori_store::Store::open(&dir).expect("store");
    let account = AccountId::parse("000000000000").expect("account");
    let region = Region::parse("us-east-1").expect("region");
    let creds =
        RootCredentials { access_key_id: "k".into(), secret: "s".into(), account: account.clone() };
    let clock: SharedClock =
        Arc::new(ManualClock::new(DateTime::from_timestamp(T, 0).expect("time")));
    let cw = Arc::new(CloudWatch::default());
    let d = Dispatcher::new(vec![cw.clone()], Arc::new(creds), clock, store.clone());
    let ctx = Context::internal(d.clone(), Principal::root(account.clone()), account, region);
    let part = ctx.partition();

    // Ten minutes of data (T-5min .. T+5min) for each metric, 1,000 datums per call.
    let setup = Instant::now();
    let datums: Vec<_> = (0..N)
        .flat_map(|m| {
            (-5..5).map(move |minute| {
                let value = if m % 2 == 0 { 5.0 } else { 0.0 };
                json!({"MetricName": format!("m{m}"), "Dimensions": [{"Name": "Host", "Value": format!("h{}", m % 100)}],
                       "Value": value, "Timestamp": T + 60 * minute + 1})
            })
        })
        .collect();
    for chunk in datums.chunks(1000) {
        let input = json!({"Namespace": "Bench", "MetricData": chunk});
        rt.block_on(d.call(&ctx, "cloudwatch", "PutMetricData", input)).expect("put");
    }
    let alarms: Vec<Alarm> = (0..N)
        .map(|m| {
            let key = MetricKey::new(
                "Bench",
                &format!("m{m}"),
                vec![mamori_cloudwatch::state::Dimension {
                    name: "Host".into(),
                    value: format!("h{}", m % 100),
                }],
            );
            let name = format!("alarm-{m:05}");
            Alarm {
                arn: Alarm::arn_for("us-east-1", "000000000000", &name),
                name,
                description: None,
                actions_enabled: true,
                ok_actions: vec![],
                alarm_actions: vec![],
                insufficient_data_actions: vec![],
                metric: Some(key),
                statistic: Some(["Maximum", "Average", "Sum"][m % 3].into()),
                extended_statistic: None,
                period: 60,
                unit: None,
                evaluation_periods: (m % 3 + 1) as i64,
                datapoints_to_alarm: None,
                threshold: 1.0,
                comparison_operator: "GreaterThanOrEqualToThreshold".into(),
                treat_missing_data: Some(
                    ["missing", "notBreaching", "breaching", "ignore"][m % 4].into(),
                ),
                evaluate_low_sample_count_percentile: None,
                rule: None,
                metrics: None,
                tags: vec![],
                config_updated_ms: T * 1000,
                state: AlarmState {
                    value: "INSUFFICIENT_DATA".into(),
                    reason: "Unchecked: Initial alarm creation".into(),
                    reason_data: None,
                    updated_ms: T * 1000,
                    transitioned_ms: T * 1000,
                },
            }
        })
        .collect();
    store
        .write(|tx| {
            for a in &alarms {
                ALARMS.put(tx, &part, &a.name, a)?;
            }
            Ok::<_, mamori_store::StoreError>(())
        })
        .expect("alarms");
    println!("setup: {N} metrics x 10 samples, {N} alarms in {:?}", setup.elapsed());

    // First tick: every alarm leaves INSUFFICIENT_DATA (writes, history).
    let first = Instant::now();
    rt.block_on(tasks::evaluate_due(&cw, &d, DateTime::from_timestamp(T + 60, 0).expect("t")));
    println!("first tick (10,000 transitions, history, no actions): {:?}", first.elapsed());

    let now_ms = (T + 120) * 1000;
    let configs: Vec<_> = alarms.iter().map(|a| tasks::config_of(a).expect("config")).collect();
    let read = |i: usize| {
        store
            .read(|tx| {
                let mut slots = Vec::with_capacity(N);
                for (a, c) in alarms.iter().zip(&configs) {
                    slots.push(tasks::read_slots(tx, &part, a, c, now_ms, None)?);
                }
                Ok::<_, mamori_store::StoreError>(slots)
            })
            .unwrap_or_else(|e| panic!("read {i}: {e}"))
    };
    let slots = read(0);

    // Steady state: each alarm already is in the state its data gives.
    let states: Vec<StateValue> = configs
        .iter()
        .zip(&slots)
        .map(|(c, s)| eval::evaluate(c, s, now_ms, StateValue::InsufficientData).state)
        .collect();
    assert!(states.contains(&StateValue::Alarm) && states.contains(&StateValue::Ok));
    let pure = time(20, || {
        for ((c, s), current) in configs.iter().zip(&slots).zip(&states) {
            std::hint::black_box(eval::evaluate(c, s, now_ms, *current));
        }
    });
    println!("pure evaluator, {N} alarms, steady state: {}", fmt(pure));
    let flips = time(5, || {
        for (c, s) in configs.iter().zip(&slots) {
            std::hint::black_box(eval::evaluate(c, s, now_ms, StateValue::InsufficientData));
        }
    });
    println!(
        "pure evaluator, {N} alarms, every one transitions (reason texts built): {}",
        fmt(flips)
    );

    let with_reads = time(5, || {
        let slots = read(1);
        for ((c, s), current) in configs.iter().zip(&slots).zip(&states) {
            std::hint::black_box(eval::evaluate(c, s, now_ms, *current));
        }
    });
    println!("per-alarm storage reads + evaluator, {N} alarms: {}", fmt(with_reads));

    let list = time(5, || {
        std::hint::black_box(store.read(|tx| ALARMS.everywhere(tx)).expect("alarms"));
    });
    println!(
        "reading and decoding the {N} alarm documents (cached between alarm writes): {}",
        fmt(list)
    );

    let mut minute = 2;
    let full = time(3, || {
        let due = DateTime::from_timestamp(T + 60 * minute, 0).expect("t");
        minute += 1;
        rt.block_on(tasks::evaluate_due(&cw, &d, due));
    });
    println!("full scheduled tick (steady state, alarm cache warm), {N} alarms: {}", fmt(full));
    let _ = std::fs::remove_dir_all(&dir);
}

/// Runs `f` `n` times; returns the (min, median) wall time and the median CPU time of
/// this thread (the runtime is single-threaded), which is what a shared machine's load
/// does not inflate.
fn time(n: usize, mut f: impl FnMut()) -> (Duration, Duration, Option<Duration>) {
    let mut runs: Vec<(Duration, Option<Duration>)> = (0..n)
        .map(|_| {
            let cpu = cpu_time();
            let start = Instant::now();
            f();
            let wall = start.elapsed();
            (wall, cpu.zip(cpu_time()).map(|(a, b)| b.saturating_sub(a)))
        })
        .collect();
    let mut cpu: Vec<Duration> = runs.iter().filter_map(|r| r.1).collect();
    cpu.sort();
    runs.sort();
    (runs[0].0, runs[n / 2].0, cpu.get(cpu.len() / 2).copied())
}

/// Time this thread spent on a CPU (Linux `schedstat`, nanoseconds).
fn cpu_time() -> Option<Duration> {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let ns: u64 = text.split_whitespace().next()?.parse().ok()?;
    Some(Duration::from_nanos(ns))
}

fn fmt((min, median, cpu): (Duration, Duration, Option<Duration>)) -> String {
    let cpu = cpu.map(|c| format!(", median CPU {c:.2?}")).unwrap_or_default();
    format!("wall min {min:.2?}, median {median:.2?}{cpu} per tick")
}
