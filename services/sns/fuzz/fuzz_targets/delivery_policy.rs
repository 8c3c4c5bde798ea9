//! Fuzzes the HTTP/S delivery policy parsers
//! (<https://docs.aws.amazon.com/sns/latest/dg/sns-message-delivery-retries.html>).
//! The first byte picks the parser (`T` for a topic's policy, anything else a
//! subscription's); the rest is the policy.
//!
//! No input may panic or overflow. An accepted retry policy stays within the limits,
//! and its schedule is as documented: `numRetries` delays, first the immediate ones,
//! then from `minDelayTarget` up to `maxDelayTarget` never decreasing, for at most an
//! hour in all; no retry 0 and none past `numRetries`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mamori_sns::{parse_subscription_policy, parse_topic_policy};

fuzz_target!(|data: &[u8]| {
    let Some((&pick, rest)) = data.split_first() else { return };
    let Ok(text) = std::str::from_utf8(rest) else { return };
    let parsed =
        if pick == b'T' { parse_topic_policy(text) } else { parse_subscription_policy(text) };
    let Ok(p) = parsed else { return };
    let Some(r) = p.retry else { return };
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
});
