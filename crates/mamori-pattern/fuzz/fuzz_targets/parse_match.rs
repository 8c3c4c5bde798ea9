//! Fuzzes parsing and matching together: the input is split at the first NUL
//! into a pattern and an event message; nothing may panic, and a `FilterSet`
//! must agree with the single pattern.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mamori_pattern::{FilterSet, MetricTransformation, Pattern};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let (src, message) = text.split_once('\0').unwrap_or((text, ""));
    let Ok(pattern) = Pattern::parse(src) else { return };
    let hit = pattern.matches(message);
    let _ = pattern.extracted_values(message);
    let mut set = FilterSet::new();
    set.add_pattern(&pattern);
    let _ = set.add_metric_filter(&pattern, &MetricTransformation::new("$.a"));
    assert_eq!(set.evaluate(message).iter().any(|m| m.filter == 0), hit);
});
