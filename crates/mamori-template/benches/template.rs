//! Parse + validate + resolve time for a generated 500-resource template and for the seed's
//! CIS fixture (see PERFORMANCE.md), following the pipeline of
//! <https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/stacks.html>.

use std::collections::BTreeMap;

use mamori_template::*;

fn main() {
    divan::main();
}

const CIS: &str = include_str!("../tests/fixtures/cis.yaml");

/// 500 resources in chains of ten, each with a Sub, a GetAtt, a Join and an If.
fn generated() -> String {
    let mut body = String::from(
        "Parameters:\n  Env: {Type: String, Default: prod}\nConditions:\n  IsProd: !Equals [!Ref Env, prod]\nResources:\n",
    );
    for i in 0..500 {
        body.push_str(&format!("  Group{i}:\n    Type: AWS::Logs::LogGroup\n    Properties:\n      LogGroupName: !Sub '/app/${{Env}}/${{AWS::StackName}}/{i}'\n      RetentionInDays: !If [IsProd, 365, 7]\n"));
        if i % 10 != 0 {
            let prev = i - 1;
            body.push_str(&format!(
                "      KmsKeyId: !Join ['', [!GetAtt Group{prev}.Arn, '-', !Select [0, !GetAZs '']]]\n"
            ));
        }
    }
    body
}

fn given(t: &Template) -> BTreeMap<String, String> {
    t.parameters
        .keys()
        .filter(|k| t.parameters[*k].default.is_none())
        .map(|k| (k.clone(), format!("value-{k}")))
        .collect()
}

fn pipeline(body: &str) -> usize {
    let t = Template::parse(body).unwrap();
    let graph = t.validate(&DefaultAttributes).unwrap();
    let values = resolve_parameters(&t, &given(&t), &NoParameterStore).unwrap();
    let pseudo = PseudoParameters::new("123456789012", "us-east-1", "bench");
    let mut r = MapResolver::default();
    for id in t.resources.keys() {
        r.physical_ids.insert(id.clone(), id.as_str().into());
        r.attributes.insert((id.clone(), "Arn".into()), format!("arn:aws:logs:::{id}").into());
    }
    let ev = Evaluator::new(&t, &values, &pseudo, &r).unwrap();
    let mut n = 0;
    for id in graph.creation_order() {
        n += ev.resolve_properties(id).unwrap().map_or(0, |v| v.as_object().map_or(0, |o| o.len()));
    }
    n
}

#[divan::bench]
fn generated_500_parse_validate_resolve(bencher: divan::Bencher) {
    let body = generated();
    bencher.bench(|| pipeline(divan::black_box(&body)));
}

#[divan::bench]
fn generated_500_parse_only(bencher: divan::Bencher) {
    let body = generated();
    bencher.bench(|| Template::parse(divan::black_box(&body)).unwrap());
}

#[divan::bench]
fn cis_parse_validate_resolve(bencher: divan::Bencher) {
    bencher.bench(|| pipeline(divan::black_box(CIS)));
}

#[divan::bench]
fn cis_parse_only(bencher: divan::Bencher) {
    bencher.bench(|| Template::parse(divan::black_box(CIS)).unwrap());
}
