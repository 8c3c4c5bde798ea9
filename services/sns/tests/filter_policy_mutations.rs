//! A bounded, deterministic stand-in for `fuzz/fuzz_targets/filter_policy.rs`, so that
//! `cargo test` on stable checks the same properties: the filter policy examples of
//! <https://docs.aws.amazon.com/sns/latest/dg/sns-subscription-filter-policies.html>
//! (string, numeric, exists, prefix, suffix, anything-but, equals-ignore-case, cidr,
//! `$or`, nested body policies) are mutated token by token, random token strings are
//! thrown in, and no mutant may panic. Every accepted one stays within the 150
//! combinations, re-parses to itself, evaluates against mutated and random messages,
//! ignores keys it does not name, and (for `MessageAttributes`) gives the same verdict
//! as a `MessageBody` policy on the same message as a JSON body.

use mamori_mutate::{Alphabet, Rng};
use std::collections::BTreeMap;

use mamori_sns::filter::{AttrValue, FilterPolicy, MAX_COMBINATIONS, Scope};
use serde_json::{Map, Value};

use Scope::{MessageAttributes as A, MessageBody as B};

/// (scope, policy, a message), as in `fuzz/seeds/filter_policy`.
const SEEDS: [(Scope, &str, &str); 13] = [
    (
        A,
        r#"{"customer_interests": ["rugby", "football", "baseball"]}"#,
        r#"{"customer_interests": "rugby"}"#,
    ),
    (A, r#"{"price_usd": [{"numeric": [">", 0, "<=", 150]}]}"#, r#"{"price_usd": 100}"#),
    (A, r#"{"price_usd": [{"numeric": ["=", 301.5]}, 300]}"#, r#"{"price_usd": 301.5}"#),
    (
        A,
        r#"{"store": [{"exists": true}], "event": [{"exists": false}]}"#,
        r#"{"store": "example_corp"}"#,
    ),
    (A, r#"{"customer_interests": [{"prefix": "bas"}]}"#, r#"{"customer_interests": "baseball"}"#),
    (
        A,
        r#"{"customer_interests": [{"suffix": "ball"}]}"#,
        r#"{"customer_interests": ["rugby", "baseball"]}"#,
    ),
    (
        A,
        r#"{"customer_interests": [{"anything-but": ["rugby", "tennis"]}], "price": [{"anything-but": [100, 500]}]}"#,
        r#"{"customer_interests": "baseball", "price": 200}"#,
    ),
    (
        A,
        r#"{"customer_interests": [{"anything-but": {"prefix": "bas"}}, {"anything-but": {"suffix": "ball"}}]}"#,
        r#"{"customer_interests": "rugby"}"#,
    ),
    (
        A,
        r#"{"customer_interests": [{"equals-ignore-case": "tennis"}]}"#,
        r#"{"customer_interests": "TeNnIs"}"#,
    ),
    (
        A,
        r#"{"source_ip": [{"cidr": "10.0.0.0/24"}, {"cidr": "2001:db8::/32"}]}"#,
        r#"{"source_ip": "10.0.0.255"}"#,
    ),
    (
        A,
        r#"{"source": ["aws.cloudwatch"], "$or": [{"metricName": ["CPUUtilization", "ReadLatency"]}, {"metricType": ["MetricType"], "$or": [{"metricId": [1234, 4321]}, {"spaceId": [1000, 2000, 3000]}]}]}"#,
        r#"{"source": "aws.cloudwatch", "metricType": "MetricType", "spaceId": 2000}"#,
    ),
    (
        B,
        r#"{"patient": {"name": ["Jane"], "age": [{"numeric": [">=", 40]}], "visits": {"clinic": [{"prefix": "no"}]}}, "insured": [true]}"#,
        r#"{"patient": {"name": "Jane", "age": 42, "visits": [{"clinic": "north"}]}, "insured": true}"#,
    ),
    (
        B,
        r#"{"store": [{"exists": true}], "$or": [{"customer_interests": [{"anything-but": ["rugby"]}]}, {"price_usd": [{"numeric": ["<", 0]}]}]}"#,
        r#"{"store": "example_corp", "price_usd": -5, "customer_interests": ["rugby"]}"#,
    ),
];

/// The fuzz target's fixed messages.
const MESSAGES: [&str; 4] = [
    r#"{"customer_interests": "rugby", "price_usd": 100, "store": "example_corp"}"#,
    r#"{"customer_interests": ["soccer", "baseball"], "source_ip": "10.0.0.255", "flag": true}"#,
    r#"{"price_usd": -1000000000.5, "customer_interests": "TeNnIs", "n": null, "o": {"a": [1]}}"#,
    "{}",
];

const WORDS: [&str; 30] = [
    "{",
    "}",
    "[",
    "]",
    "\"",
    ":",
    ",",
    " ",
    "\"$or\"",
    "\"prefix\"",
    "\"suffix\"",
    "\"anything-but\"",
    "\"equals-ignore-case\"",
    "\"numeric\"",
    "\"exists\"",
    "\"cidr\"",
    "\">\"",
    "\"<=\"",
    "\"=\"",
    "1e9",
    "-1000000001",
    "0.5",
    "true",
    "false",
    "null",
    "\"10.0.0.0/8\"",
    "\"::/0\"",
    "\"a\"",
    "{\"a\": [\"x\"]}",
    "[{\"b\": [1]}, {\"c\": [2]}]",
];

const CHARS: &[char] =
    &['{', '}', '[', ']', '"', ':', ',', '/', '0', '9', '-', '.', 'a', '\\', 'é'];

/// What mutations insert.
const ALPHABET: Alphabet<'static> = Alphabet { words: &WORDS, chars: CHARS };

/// The message as attributes and as the same JSON body (the fuzz target's `split`).
fn split(message: &Map<String, Value>) -> (BTreeMap<String, AttrValue>, Value) {
    let mut attrs = BTreeMap::new();
    let mut body = Map::new();
    for (k, v) in message {
        let (a, b) = match v {
            Value::String(s) => (AttrValue::String(s.clone()), v.clone()),
            Value::Number(n) => match n.as_f64() {
                Some(f) => (AttrValue::Number(f), v.clone()),
                None => (AttrValue::Binary, Value::Null),
            },
            Value::Array(_) => (AttrValue::Array(v.clone()), v.clone()),
            _ => (AttrValue::Binary, Value::Null),
        };
        attrs.insert(k.clone(), a);
        body.insert(k.clone(), b);
    }
    (attrs, Value::Object(body))
}

/// The properties of the fuzz target, for one policy and some candidate messages
/// (which need not be JSON).
fn check(scope: Scope, text: &str, messages: &[String]) -> bool {
    let Ok(p) = FilterPolicy::parse(text, scope) else { return false };
    assert!(p.combinations() <= MAX_COMBINATIONS, "{text:?}");
    let v: Value = serde_json::from_str(text).expect("an accepted policy is JSON");
    let printed = serde_json::to_string_pretty(&v).expect("JSON prints");
    let again = FilterPolicy::parse(&printed, scope).expect("the re-printed policy must parse");
    assert_eq!(again, p, "{text:?} -> {printed:?}");
    let names_unrelated = printed.contains("unrelated");
    let by_body =
        (scope == A).then(|| FilterPolicy::parse(text, B).expect("accepted for the body too"));
    let parsed = messages.iter().filter_map(|m| serde_json::from_str::<Value>(m).ok());
    let fixed = MESSAGES.iter().map(|m| serde_json::from_str::<Value>(m).expect("fixed JSON"));
    for message in parsed.chain(fixed) {
        let verdict = p.matches_body(&message);
        let Value::Object(message) = message else { continue };
        let mut wider = message.clone();
        wider.insert("unrelated".into(), Value::String("rugby".into()));
        match scope {
            A => {
                let (attrs, body) = split(&message);
                let verdict = p.matches_attributes(&attrs);
                if !names_unrelated {
                    assert_eq!(p.matches_attributes(&split(&wider).0), verdict, "{text:?}");
                }
                if let Some(b) = &by_body {
                    assert_eq!(b.matches_body(&body), verdict, "{text:?} on {message:?}");
                }
            }
            B => {
                if !names_unrelated {
                    assert_eq!(p.matches_body(&Value::Object(wider)), verdict, "{text:?}");
                }
            }
        }
    }
    true
}

#[test]
fn seeds_are_accepted() {
    for (scope, policy, message) in SEEDS {
        assert!(check(scope, policy, &[message.to_owned()]), "{policy}");
    }
}

#[test]
fn mutated_policies_never_panic_and_round_trip() {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let (mut accepted, mut rejected) = (0, 0);
    for i in 0..20_000 {
        let (scope, policy, message) = SEEDS[i % SEEDS.len()];
        let scope = if rng.below(4) == 0 { B } else { scope };
        let text =
            if i % 5 == 4 { ALPHABET.random(&mut rng) } else { ALPHABET.mutate(&mut rng, policy) };
        let other = SEEDS[rng.below(SEEDS.len())].2;
        let messages = [
            message.to_owned(),
            ALPHABET.mutate(&mut rng, message),
            ALPHABET.mutate(&mut rng, other),
            ALPHABET.random(&mut rng),
        ];
        if check(scope, &text, &messages) {
            accepted += 1;
        } else {
            rejected += 1;
        }
    }
    // The mutants must exercise both sides of the parser.
    assert!(accepted > 1_000 && rejected > 1_000, "accepted {accepted}, rejected {rejected}");
}

#[test]
fn deep_and_wide_policies_are_bounded() {
    let messages = ["{\"a\": {\"a\": [\"x\"]}}".to_owned()];
    // serde_json stops at 128 levels, so the recursive compiler and matcher never go
    // deeper than that; the policy is rejected, not a stack overflow.
    for depth in [10, 120, 1_000, 100_000] {
        let nested = format!("{}[\"x\"]{}", "{\"a\": ".repeat(depth), "}".repeat(depth));
        assert_eq!(check(B, &nested, &messages), depth <= 120, "depth {depth}");
        assert!(!check(A, &nested, &messages), "depth {depth}");
        let ors = format!(
            "{}{{\"b\": [1]}}{}",
            "{\"$or\": [{\"a\": [1]}, ".repeat(depth),
            "]}".repeat(depth)
        );
        assert_eq!(check(A, &ors, &messages), depth <= 10, "$or depth {depth}");
    }
    // Deep messages are refused by the JSON parser before any matching.
    let deep = format!("{}1{}", "[".repeat(100_000), "]".repeat(100_000));
    assert!(check(A, r#"{"a": [1]}"#, &[deep.clone(), format!("{{\"a\": {deep}}}")]));
}
