//! Fuzzes the whole pipeline (parse, validate, parameters, conditions, resolve) on arbitrary
//! bodies, which must never panic, as
//! <https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/template-formats.html>
//! bodies come straight from clients.
#![no_main]

use std::collections::BTreeMap;

use libfuzzer_sys::fuzz_target;
use mamori_template::*;

fuzz_target!(|data: &[u8]| {
    let Ok(body) = std::str::from_utf8(data) else { return };
    let Ok(t) = Template::parse(body) else { return };
    let _ = t.summary();
    let Ok(graph) = t.validate(&DefaultAttributes) else { return };
    let given: BTreeMap<String, String> =
        t.parameters.keys().map(|k| (k.clone(), "10.0.0.0/16".to_owned())).collect();
    let Ok(values) = resolve_parameters(&t, &given, &NoParameterStore) else { return };
    let pseudo = PseudoParameters::new("123456789012", "us-east-1", "fuzz");
    let mut r = MapResolver::default();
    for id in t.resources.keys() {
        r.physical_ids.insert(id.clone(), "x".into());
    }
    let Ok(ev) = Evaluator::new(&t, &values, &pseudo, &r) else { return };
    for id in graph.creation_order() {
        let _ = ev.resolve_properties(id);
    }
    let _ = ev.resolve_outputs();
});
