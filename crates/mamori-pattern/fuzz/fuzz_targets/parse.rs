//! Fuzzes the filter-pattern parser
//! (<https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/FilterAndPatternSyntax.html>):
//! no input panics, and an accepted pattern's canonical spelling parses back
//! to the same tree.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mamori_pattern::Pattern;

fuzz_target!(|data: &[u8]| {
    let Ok(src) = std::str::from_utf8(data) else { return };
    if let Ok(pattern) = Pattern::parse(src) {
        let printed = pattern.to_string();
        let again = Pattern::parse(&printed).expect("canonical form must parse");
        assert_eq!(again, pattern, "round trip of {printed:?}");
    }
});
