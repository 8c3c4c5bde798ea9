//! Fuzzes the subscription filter policy parser
//! (<https://docs.aws.amazon.com/sns/latest/dg/sns-subscription-filter-policies.html>)
//! and its matcher. The first byte picks the scope (`B` for `MessageBody`, anything
//! else `MessageAttributes`); the rest is the policy, then optionally a NUL byte and a
//! JSON object standing for the message.
//!
//! No input may panic or overflow the stack. An accepted policy stays within the
//! 150 combinations of values, re-parses to itself from its re-serialized JSON, and
//! evaluates without panicking against the message, against fixed ones and against
//! any JSON body. A key the policy does not name never changes a verdict, and a
//! policy accepted for `MessageAttributes` is accepted for `MessageBody` too and gives
//! the same verdict on the same message as a JSON body.
#![no_main]

use std::collections::BTreeMap;

use libfuzzer_sys::fuzz_target;
use mamori_sns::filter::{AttrValue, FilterPolicy, MAX_COMBINATIONS, Scope};
use serde_json::{Map, Value};

const MESSAGES: [&str; 4] = [
    r#"{"customer_interests": "rugby", "price_usd": 100, "store": "example_corp"}"#,
    r#"{"customer_interests": ["soccer", "baseball"], "source_ip": "10.0.0.255", "flag": true}"#,
    r#"{"price_usd": -1000000000.5, "customer_interests": "TeNnIs", "n": null, "o": {"a": [1]}}"#,
    "{}",
];

fuzz_target!(|data: &[u8]| {
    let Some((&pick, rest)) = data.split_first() else { return };
    let scope = if pick == b'B' { Scope::MessageBody } else { Scope::MessageAttributes };
    let (policy, message) = match rest.iter().position(|&b| b == 0) {
        Some(i) => (&rest[..i], Some(&rest[i + 1..])),
        None => (rest, None),
    };
    let Ok(text) = std::str::from_utf8(policy) else { return };
    let Ok(p) = FilterPolicy::parse(text, scope) else { return };
    assert!(p.combinations() <= MAX_COMBINATIONS, "{text:?}");
    let v: Value = serde_json::from_str(text).expect("an accepted policy is JSON");
    let printed = serde_json::to_string_pretty(&v).expect("JSON prints");
    let again = FilterPolicy::parse(&printed, scope).expect("the re-printed policy must parse");
    assert_eq!(again, p, "{text:?} -> {printed:?}");
    // The printer writes every string's characters other than controls and quotes
    // as they are, so a policy naming the key anywhere has it in `printed`.
    let names_unrelated = printed.contains("unrelated");
    let by_body = (scope == Scope::MessageAttributes)
        .then(|| FilterPolicy::parse(text, Scope::MessageBody).expect("accepted for the body"));
    let parsed = message.and_then(|m| serde_json::from_slice::<Value>(m).ok());
    let fixed = MESSAGES.iter().map(|m| serde_json::from_str::<Value>(m).expect("fixed JSON"));
    for message in parsed.into_iter().chain(fixed) {
        // Any body, not only an object.
        let verdict = p.matches_body(&message);
        let Value::Object(message) = message else { continue };
        let mut wider = message.clone();
        wider.insert("unrelated".into(), Value::String("rugby".into()));
        match scope {
            Scope::MessageAttributes => {
                let (attrs, body) = split(&message);
                let verdict = p.matches_attributes(&attrs);
                if !names_unrelated {
                    assert_eq!(p.matches_attributes(&split(&wider).0), verdict, "{text:?}");
                }
                if let Some(b) = &by_body {
                    assert_eq!(b.matches_body(&body), verdict, "{text:?} on {message:?}");
                }
            }
            Scope::MessageBody => {
                if !names_unrelated {
                    assert_eq!(p.matches_body(&Value::Object(wider)), verdict, "{text:?}");
                }
            }
        }
    }
});

/// The message as attributes (strings, numbers and arrays as such, anything else as
/// `Binary`), and as the JSON body with the same content (`Binary` becoming `null`,
/// which is there but holds no value).
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
