//! Parsing, validating and evaluating arbitrary input returns an error or a value and never
//! panics; a `ValidationError` is the worst a client can cause
//! (<https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/template-formats.html>).

use std::collections::BTreeMap;

use mamori_template::*;
use proptest::prelude::*;

fn run(body: &str) {
    let Ok(t) = Template::parse(body) else { return };
    let _ = t.summary();
    let Ok(graph) = t.validate(&DefaultAttributes) else { return };
    let given: BTreeMap<String, String> =
        t.parameters.keys().map(|k| (k.clone(), "10.0.0.0/16".to_owned())).collect();
    let Ok(values) = resolve_parameters(&t, &given, &NoParameterStore) else { return };
    let pseudo = PseudoParameters::new("123456789012", "us-east-1", "s");
    let mut r = MapResolver::default();
    for id in t.resources.keys() {
        r.physical_ids.insert(id.clone(), "x".into());
    }
    let Ok(ev) = Evaluator::new(&t, &values, &pseudo, &r) else { return };
    for id in graph.creation_order() {
        let _ = ev.resolve_properties(id);
    }
    let _ = ev.resolve_outputs();
}

/// Fragments that make random input look like a template, so the search gets past the
/// first syntax check.
fn fragment() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("Resources:\n".to_owned()),
        Just("  A:\n    Type: T\n    Properties:\n".to_owned()),
        Just("      X: ".to_owned()),
        Just("!Ref ".to_owned()),
        Just("!Sub '${A.Arn}-${!x}-${'".to_owned()),
        Just("!Select [".to_owned()),
        Just("!Cidr [10.0.0.0/16, 300, 129]".to_owned()),
        Just("!If [C, a, !Ref AWS::NoValue]".to_owned()),
        Just("{\"Fn::Join\": [\",\", [1, 2]]}".to_owned()),
        Just("Conditions:\n  C: !Equals [a, a]\n".to_owned()),
        Just("Parameters:\n  P: {Type: CommaDelimitedList}\n".to_owned()),
        Just("&a [*a]".to_owned()),
        "[ -~\n\t]{0,12}",
        "\\PC{0,4}",
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn arbitrary_strings_never_panic(body in "\\PC{0,200}") {
        run(&body);
    }

    #[test]
    fn template_like_strings_never_panic(parts in proptest::collection::vec(fragment(), 0..16)) {
        run(&parts.concat());
    }
}

#[test]
fn deep_nesting_is_refused_not_overflowed() {
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    assert!(Template::parse(&deep).is_err());
    let deep_json = format!("{{\"Resources\": {}{}}}", "[".repeat(100_000), "]".repeat(100_000));
    assert!(Template::parse(&deep_json).is_err());
}
