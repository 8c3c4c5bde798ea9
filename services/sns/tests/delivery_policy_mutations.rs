//! A bounded, deterministic stand-in for `fuzz/fuzz_targets/delivery_policy.rs`, so
//! that `cargo test` on stable checks the same properties: the HTTP/S delivery policy
//! examples of <https://docs.aws.amazon.com/sns/latest/dg/sns-message-delivery-retries.html>
//! (a topic's and a subscription's) are mutated token by token, random token strings
//! are thrown in, and no mutant may panic or overflow. Every accepted retry policy stays
//! within the limits, and its retry schedule is as documented: `numRetries` delays,
//! first the immediate ones, then from `minDelayTarget` up to `maxDelayTarget` never
//! decreasing, for at most an hour in all.

use mamori_mutate::{Alphabet, Rng};
use mamori_sns::{parse_subscription_policy, parse_topic_policy};

/// (topic?, policy), as in `fuzz/seeds/delivery_policy`.
const SEEDS: [(bool, &str); 5] = [
    (
        true,
        r#"{"http": {"defaultHealthyRetryPolicy": {"minDelayTarget": 1, "maxDelayTarget": 60, "numRetries": 50, "numNoDelayRetries": 3, "numMinDelayRetries": 2, "numMaxDelayRetries": 35, "backoffFunction": "exponential"}, "disableSubscriptionOverrides": false, "defaultThrottlePolicy": {"maxReceivesPerSecond": 10}, "defaultRequestPolicy": {"headerContentType": "text/plain; charset=UTF-8"}}}"#,
    ),
    (
        false,
        r#"{"healthyRetryPolicy": {"minDelayTarget": 1, "maxDelayTarget": 60, "numRetries": 50, "numNoDelayRetries": 3, "numMinDelayRetries": 2, "numMaxDelayRetries": 35, "backoffFunction": "exponential"}, "throttlePolicy": {"maxReceivesPerSecond": 10}, "requestPolicy": {"headerContentType": "application/json"}}"#,
    ),
    (
        false,
        r#"{"healthyRetryPolicy": {"minDelayTarget": 20, "maxDelayTarget": 20, "numRetries": 3, "numMaxDelayRetries": 0, "numNoDelayRetries": 0, "numMinDelayRetries": 0, "backoffFunction": "linear"}, "sicklyRetryPolicy": null, "throttlePolicy": null, "guaranteed": false}"#,
    ),
    (
        true,
        r#"{"https": {"defaultHealthyRetryPolicy": {"minDelayTarget": 5, "maxDelayTarget": 600, "numRetries": 10, "backoffFunction": "geometric"}, "disableSubscriptionOverrides": true}}"#,
    ),
    (
        false,
        r#"{"healthyRetryPolicy": {"minDelayTarget": 2, "maxDelayTarget": 10, "numRetries": 8, "numNoDelayRetries": 1, "numMinDelayRetries": 2, "numMaxDelayRetries": 1, "backoffFunction": "arithmetic"}}"#,
    ),
];

const WORDS: [&str; 24] = [
    "{",
    "}",
    "\"",
    ":",
    ",",
    " ",
    "0",
    "1",
    "100",
    "101",
    "3600",
    "4294967295",
    "4294967296",
    "-1",
    "1.5",
    "null",
    "true",
    "\"linear\"",
    "\"exponential\"",
    "\"numNoDelayRetries\": ",
    "\"numMinDelayRetries\": ",
    "\"numMaxDelayRetries\": ",
    "\"numRetries\": ",
    "\"maxDelayTarget\": ",
];

const CHARS: &[char] = &['{', '}', '"', ':', ',', '0', '1', '9', '-', '.', 'e', 'a', 'é'];

/// What mutations insert.
const ALPHABET: Alphabet<'static> = Alphabet { words: &WORDS, chars: CHARS };

/// The properties of the fuzz target, for one policy.
fn check(topic: bool, text: &str) -> bool {
    let parsed = if topic { parse_topic_policy(text) } else { parse_subscription_policy(text) };
    let Ok(p) = parsed else { return false };
    let Some(r) = p.retry else { return true };
    let phases = u64::from(r.num_no_delay_retries)
        + u64::from(r.num_min_delay_retries)
        + u64::from(r.num_max_delay_retries);
    assert!(phases <= u64::from(r.num_retries) && r.num_retries <= 100, "{text}: {r:?}");
    assert!(1 <= r.min_delay_target, "{text}: {r:?}");
    assert!(r.min_delay_target <= r.max_delay_target && r.max_delay_target <= 3600, "{text}");
    assert_eq!(r.delay_before_retry(0), None, "{text}");
    assert_eq!(r.delay_before_retry(r.num_retries + 1), None, "{text}");
    assert_eq!(r.delay_before_retry(u32::MAX), None, "{text}");
    let delays: Vec<u32> = (1..=r.num_retries)
        .map(|n| r.delay_before_retry(n).unwrap_or_else(|| panic!("{text}: retry {n}")))
        .collect();
    let immediate = r.num_no_delay_retries as usize;
    assert!(delays[..immediate].iter().all(|&d| d == 0), "{text}: {delays:?}");
    assert!(
        delays[immediate..].iter().all(|&d| (r.min_delay_target..=r.max_delay_target).contains(&d)),
        "{text}: {delays:?}"
    );
    assert!(delays.windows(2).all(|w| w[0] <= w[1]), "{text}: {delays:?}");
    assert!(delays.iter().map(|&d| u64::from(d)).sum::<u64>() <= 3600, "{text}: {delays:?}");
    true
}

#[test]
fn seeds_are_accepted() {
    for (topic, text) in SEEDS {
        assert!(check(topic, text), "{text}");
    }
}

#[test]
fn mutated_policies_never_panic_and_keep_the_schedule() {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let (mut accepted, mut rejected) = (0, 0);
    for i in 0..20_000 {
        let (topic, text) = SEEDS[i % SEEDS.len()];
        let text =
            if i % 5 == 4 { ALPHABET.random(&mut rng) } else { ALPHABET.mutate(&mut rng, text) };
        if check(topic, &text) {
            accepted += 1;
        } else {
            rejected += 1;
        }
    }
    // The mutants must exercise both sides of the parser.
    assert!(accepted > 1_000 && rejected > 1_000, "accepted {accepted}, rejected {rejected}");
}

/// Phase counts whose sum overflows a `u32`: they used to panic in debug builds and,
/// wrapping in release, to pass as fewer than `numRetries`.
#[test]
fn phase_counts_that_overflow_are_rejected() {
    let cases = [
        r#"{"numRetries": 3, "numNoDelayRetries": 4294967295, "numMinDelayRetries": 1}"#,
        r#"{"numRetries": 3, "numMinDelayRetries": 4294967295, "numMaxDelayRetries": 2}"#,
        r#"{"numRetries": 3, "numNoDelayRetries": 2147483648, "numMaxDelayRetries": 2147483648}"#,
        r#"{"numRetries": 3, "numNoDelayRetries": 4294967295}"#,
    ];
    for retry in cases {
        let sub = format!(r#"{{"healthyRetryPolicy": {retry}}}"#);
        assert!(!check(false, &sub), "{sub}");
        let topic = format!(r#"{{"http": {{"defaultHealthyRetryPolicy": {retry}}}}}"#);
        assert!(!check(true, &topic), "{topic}");
    }
}
