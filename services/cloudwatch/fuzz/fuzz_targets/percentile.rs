//! Fuzzes the statistic parser (`Stat::parse`, with `stats::parse_percentile` for
//! `ExtendedStatistic`s, <https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/Statistics-definitions.html>):
//! no input panics, and what is accepted is exactly a statistic name or `p` with one to
//! three digits and at most two decimals, from `p0` to `p100`, read as the fraction it
//! spells.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mamori_cloudwatch::stats::{Stat, parse_percentile};

const NAMES: [&str; 5] = ["SampleCount", "Average", "Sum", "Minimum", "Maximum"];

/// The percentile `s` spells, in hundredths of a percent, by the documented grammar.
fn oracle(s: &str) -> Option<u32> {
    let num = s.strip_prefix('p')?;
    let (int, frac) = match num.split_once('.') {
        Some((i, f)) if !f.is_empty() => (i, f),
        Some(_) => return None,
        None => (num, ""),
    };
    let digits = |d: &str, max: usize| d.len() <= max && d.bytes().all(|b| b.is_ascii_digit());
    if int.is_empty() || !digits(int, 3) || !digits(frac, 2) {
        return None;
    }
    let frac = format!("{frac:0<2}");
    let v = int.parse::<u32>().ok()? * 100 + frac.parse::<u32>().ok()?;
    (v <= 10_000).then_some(v)
}

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else { return };
    let want = oracle(s);
    match (parse_percentile(s), want) {
        (None, None) => {}
        (Some(v), Some(w)) => {
            assert!((0.0..=1.0).contains(&v), "{s:?} -> {v}");
            assert!((v * 10_000.0 - f64::from(w)).abs() < 1e-6, "{s:?} -> {v}, want {w}");
        }
        (got, want) => panic!("{s:?}: parsed {got:?}, want {want:?} hundredths"),
    }
    match Stat::parse(s) {
        Some(Stat::Percentile(v)) => assert_eq!(Some(v), parse_percentile(s), "{s:?}"),
        Some(_) => assert!(NAMES.contains(&s), "{s:?}"),
        None => assert!(want.is_none() && !NAMES.contains(&s), "{s:?}"),
    }
});
