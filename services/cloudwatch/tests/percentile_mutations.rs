//! A bounded, deterministic stand-in for `fuzz/fuzz_targets/percentile.rs`, so that
//! `cargo test` on stable checks the same properties: the statistics of
//! <https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/Statistics-definitions.html>
//! (`p99`, `p99.9`, `p99.99`, ..., `Maximum`) are mutated character by character, random
//! strings are thrown in, and the parser must agree with the documented grammar: `p`
//! with one to three digits and at most two decimals, from `p0` to `p100`.

use mamori_cloudwatch::stats::{Stat, parse_percentile};
use mamori_mutate::Rng;

const SEEDS: [&str; 9] = ["p99", "p99.9", "p99.99", "p50", "p0", "p100", "p100.00", "Maximum", ""];

const NAMES: [&str; 5] = ["SampleCount", "Average", "Sum", "Minimum", "Maximum"];

const CHARS: &[char] =
    &['p', 'P', '.', '0', '1', '5', '9', '-', '+', 'e', ' ', '_', '٣', 'ｐ', 'x', 'M'];

/// A few insertions, deletions and replacements of characters.
fn mutate(rng: &mut Rng, src: &str) -> String {
    mamori_mutate::mutate_chars(rng, src, CHARS)
}

/// `p` and up to eight characters.
fn random(rng: &mut Rng) -> String {
    let mut out = String::from("p");
    for _ in 0..rng.below(8) {
        out.push(CHARS[rng.below(CHARS.len())]);
    }
    out
}

/// The percentile `s` spells, in hundredths of a percent, by the documented grammar
/// (the fuzz target's oracle).
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

/// The properties of the fuzz target, for one input.
fn check(s: &str) -> bool {
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
    want.is_some()
}

#[test]
fn mutated_statistics_agree_with_the_grammar() {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let (mut accepted, mut rejected) = (0, 0);
    for i in 0..20_000 {
        let s =
            if i % 5 == 4 { random(&mut rng) } else { mutate(&mut rng, SEEDS[i % SEEDS.len()]) };
        if check(&s) {
            accepted += 1;
        } else {
            rejected += 1;
        }
    }
    assert!(accepted > 1_000 && rejected > 1_000, "accepted {accepted}, rejected {rejected}");
}

#[test]
fn every_percentile_with_two_decimals_parses_exactly() {
    for h in 0..=10_000u32 {
        let s = format!("p{}.{:02}", h / 100, h % 100);
        assert!(check(&s), "{s}");
        if h % 100 == 0 {
            assert!(check(&format!("p{}", h / 100)) && check(&format!("p{:03}", h / 100)));
        }
    }
    for s in ["p100.01", "p101", "p1000", "p99.999", "p.5", "p5.", "p", "p-1", "p+1", "p1e1"] {
        assert!(!check(s), "{s}");
    }
}
