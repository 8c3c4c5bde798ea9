//! A bounded, deterministic stand-in for the cargo-fuzz targets in `fuzz/`,
//! so that `cargo test` on stable exercises the same properties: valid
//! patterns of <https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/FilterAndPatternSyntax.html>
//! are mutated character by character, and no mutant may panic the parser or
//! the matcher; every accepted mutant must print and re-parse to itself, and a
//! `FilterSet` must agree with the single pattern.

use mamori_mutate::Rng;
use mamori_pattern::{FilterSet, MetricTransformation, Pattern};

const SEEDS: [&str; 12] = [
    r#"{($.errorCode="*UnauthorizedOperation") || ($.errorCode="AccessDenied*")}"#,
    r#"{($.eventName="ConsoleLogin") && ($.additionalEventData.MFAUsed !="Yes")}"#,
    r#"{$.userIdentity.type="Root" && $.userIdentity.invokedBy NOT EXISTS && $.eventType !="AwsServiceEvent"}"#,
    "{($.eventSource=kms.amazonaws.com) && (($.eventName=DisableKey) || ($.eventName=ScheduleKeyDeletion))}",
    "{ $.a[0][1] >= -1.5e3 || $.b IS NULL && $.c = %^x[0-9]{2}$% }",
    "[ip, user, ..., status_code = 4* || status_code = 5*, bytes > 1000]",
    "[w1!=ERROR && w1!=WARNING, w2 = %a|b%]",
    "ERROR ?WARN -\"disk full\" \" \"",
    "%\\d{1,3}\\.\\d{1,3}%",
    "{ $.x IS TRUE && $.y IS FALSE }",
    "",
    "[..., request = \"*.html*\", status_code = 404]",
];

const EVENTS: [&str; 6] = [
    r#"{"errorCode":"AccessDenied","eventName":"ConsoleLogin","a":[[1,-1500]],"b":null,"c":"x12","x":true,"y":false}"#,
    r#"{"userIdentity":{"type":"Root"},"eventType":"AwsApiCall","additionalEventData":{"MFAUsed":"No"}}"#,
    r#"127.0.0.1 bob [10/Oct/2000:13:25:15 -0700] "GET /index.html HTTP/1.0" 404 1534"#,
    "ERROR disk full on 10.0.0.1",
    "",
    "{not json",
];

const ALPHABET: &[char] = &[
    '{', '}', '[', ']', '(', ')', '$', '.', '=', '!', '<', '>', '&', '|', '*', '%', '"', '?', ',',
    '-', ' ', '\\', 'a', 'Z', '0', '9', 'e', 'N', 'é', '\t',
];

fn mutate(rng: &mut Rng, src: &str) -> String {
    mamori_mutate::mutate_chars(rng, src, ALPHABET)
}

#[test]
fn mutated_patterns_never_panic_and_round_trip() {
    let mut rng = Rng(0x5DEE_CE66_D1CE_4E5B);
    let (mut accepted, mut rejected) = (0, 0);
    for i in 0..20_000 {
        let src = mutate(&mut rng, SEEDS[i % SEEDS.len()]);
        let pattern = match Pattern::parse(&src) {
            Ok(p) => p,
            Err(err) => {
                rejected += 1;
                assert!(err.offset <= src.len(), "{src:?}: offset past the end: {err}");
                continue;
            }
        };
        accepted += 1;
        let printed = pattern.to_string();
        let again =
            Pattern::parse(&printed).unwrap_or_else(|e| panic!("{src:?} -> {printed:?}: {e}"));
        assert_eq!(again, pattern, "{src:?} -> {printed:?}");
        let mut set = FilterSet::new();
        set.add_pattern(&pattern);
        let _ = set.add_metric_filter(&pattern, &MetricTransformation::new("$.a[0][1]"));
        for event in EVENTS {
            let hit = pattern.matches(event);
            assert_eq!(again.matches(event), hit, "{src:?} on {event:?}");
            assert_eq!(
                set.evaluate(event).iter().any(|m| m.filter == 0),
                hit,
                "{src:?} on {event:?}"
            );
            let _ = pattern.extracted_values(event);
        }
    }
    // The mutants must exercise both sides of the parser.
    assert!(accepted > 2_000 && rejected > 2_000, "accepted {accepted}, rejected {rejected}");
}
