//! A `FilterSet` mixing every pattern kind, as the metric and subscription
//! filters of one log group do
//! (<https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/MonitoringLogData.html>).

use mamori_pattern::{
    Ast, CmpOp, Extracted, FilterSet, JsonCond, JsonExpr, JsonTest, MetricTransformation, PathStep,
    Pattern, Selector, TransformError, Value,
};

fn extracted(value: Option<f64>, dims: &[(&str, &str)]) -> Option<Extracted> {
    let dimensions = dims.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
    Some(Extracted { value, dimensions })
}

#[test]
fn mixed_set() {
    let mut set = FilterSet::new();
    let term = set.add_pattern(&Pattern::parse("ERROR").unwrap());
    let all = set
        .add_metric_filter(&Pattern::parse("").unwrap(), &MetricTransformation::new("1"))
        .unwrap();
    let mut t = MetricTransformation::new("$.latency");
    t.dimensions.insert("op".into(), "$.op".into());
    let json = set.add_metric_filter(&Pattern::parse("{ $.status >= 500 }").unwrap(), &t).unwrap();
    let mut t = MetricTransformation::new("$bytes");
    t.dimensions.insert("status".into(), "$status".into());
    let space =
        set.add_metric_filter(&Pattern::parse("[..., status = 5*, bytes]").unwrap(), &t).unwrap();
    let regex = set.add_pattern(&Pattern::parse("%time[o]ut%").unwrap());
    assert_eq!(set.len(), 5);

    let hits = |msg: &str| {
        set.evaluate(msg).into_iter().map(|m| (m.filter, m.extracted)).collect::<Vec<_>>()
    };
    assert_eq!(
        hits(r#"{"status":503,"latency":12.5,"op":"GetItem","msg":"ERROR timeout"}"#),
        [
            (term, None),
            (all, extracted(Some(1.0), &[])),
            (json, extracted(Some(12.5), &[("op", "GetItem")])),
            (regex, None),
        ]
    );
    assert_eq!(
        hits("GET /x 502 1234"),
        [(all, extracted(Some(1.0), &[])), (space, extracted(Some(1234.0), &[("status", "502")]))]
    );
    // A matching event without the value field gives no datapoint.
    assert_eq!(hits(r#"{"status":500}"#)[1], (json, extracted(None, &[])));
}

#[test]
fn transformation_errors() {
    let json = Pattern::parse("{ $.a = 1 }").unwrap();
    let space = Pattern::parse("[a, b]").unwrap();
    let terms = Pattern::parse("ERROR").unwrap();
    let mut set = FilterSet::new();
    let err = |p: &Pattern, v: &str| {
        FilterSet::new().add_metric_filter(p, &MetricTransformation::new(v)).unwrap_err()
    };
    assert!(matches!(err(&json, "$a"), TransformError::UnknownField { .. }));
    assert!(matches!(err(&json, "$.a[*]"), TransformError::UnknownField { .. }));
    assert!(matches!(err(&space, "$c"), TransformError::UnknownField { .. }));
    assert!(matches!(err(&terms, "$.a"), TransformError::UnknownField { .. }));
    assert!(matches!(err(&terms, "abc"), TransformError::InvalidMetricValue { .. }));
    let mut t = MetricTransformation::new("1");
    for d in ["a", "b", "c", "d"] {
        t.dimensions.insert(d.into(), "$a".into());
    }
    assert_eq!(set.add_metric_filter(&space, &t), Err(TransformError::TooManyDimensions));
    let mut t = MetricTransformation::new("1");
    t.dimensions.insert("x".into(), "b".into());
    assert!(matches!(
        set.add_metric_filter(&space, &t),
        Err(TransformError::InvalidDimension { .. })
    ));
    // A failed add leaves the set unchanged.
    assert!(set.is_empty());
    assert!(set.evaluate("a b").is_empty());
}

#[test]
fn hand_built_trees_fail_closed() {
    // `<` with a string cannot be written, but it can be built: it is refused.
    let cond = JsonCond {
        selector: Selector(vec![PathStep::Key("a".into())]),
        test: JsonTest::Compare(CmpOp::Lt, Value::Str("x".into())),
    };
    assert!(Pattern::from_ast(Ast::Json(JsonExpr::Cond(cond))).is_err());
}

#[test]
fn regex_detection() {
    for (src, want) in [
        ("%a%", true),
        ("{ $.a = %b% }", true),
        ("[a, b = %c%]", true),
        ("{ $.a = \"%b%\" }", false),
        ("\"%x%\"", false),
        ("[a, b]", false),
    ] {
        assert_eq!(Pattern::parse(src).unwrap().has_regex(), want, "{src}");
    }
}
