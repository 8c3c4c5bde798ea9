//! Property tests of the parser and matcher: printing then parsing gives the
//! same tree, and no input string, pattern or event, makes anything panic.
//! Grammar from <https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/FilterAndPatternSyntax.html>.

use mamori_pattern::{
    Ast, CmpOp, FieldCmp, FilterSet, JsonCond, JsonExpr, JsonTest, MetricTransformation, Number,
    PathStep, Pattern, RegexSource, Selector, SpaceField, Term, TermMode, TermText, Value,
};
use proptest::prelude::*;

const REGEXES: [&str; 6] =
    ["AUTHORIZED", "^[hc]at$", "\\d{1,3}\\.\\d+", "[Ee]rror|[Ff]ail", "colou?r", "a{3,5}"];

fn word() -> impl Strategy<Value = String> {
    "[A-Za-z0-9_]{1,8}"
}

fn text() -> impl Strategy<Value = String> {
    // Printable ASCII, quotes and backslashes included, plus some non-ASCII.
    "([ -~]|é|日){0,10}"
}

fn regex() -> impl Strategy<Value = RegexSource> {
    prop::sample::select(&REGEXES[..]).prop_map(|s| RegexSource(s.to_owned()))
}

fn number() -> impl Strategy<Value = Number> {
    (any::<bool>(), 0u32..100_000, prop::option::of(0u32..1000), prop::option::of(-20i32..20))
        .prop_map(|(neg, int, frac, exp)| {
            let mut s = String::new();
            if neg {
                s.push('-');
            }
            s.push_str(&int.to_string());
            if let Some(frac) = frac {
                s.push_str(&format!(".{frac}"));
            }
            if let Some(exp) = exp {
                s.push_str(&format!("e{exp}"));
            }
            Number::parse(&s).expect("generated number")
        })
}

fn eq_value() -> impl Strategy<Value = Value> {
    prop_oneof![
        4 => text().prop_map(Value::Str),
        3 => number().prop_map(Value::Num),
        1 => regex().prop_map(Value::Regex),
        1 => Just(Value::Any),
    ]
}

fn comparison() -> impl Strategy<Value = (CmpOp, Value)> {
    prop_oneof![
        (prop::sample::select(vec![CmpOp::Eq, CmpOp::Ne]), eq_value()),
        (
            prop::sample::select(vec![CmpOp::Lt, CmpOp::Le, CmpOp::Gt, CmpOp::Ge]),
            number().prop_map(Value::Num)
        ),
    ]
}

fn selector() -> impl Strategy<Value = Selector> {
    prop::collection::vec(
        prop_oneof![
            3 => "[A-Za-z0-9_-]{1,6}".prop_map(PathStep::Key),
            1 => (0usize..20).prop_map(PathStep::Index),
        ],
        1..4,
    )
    .prop_map(Selector)
}

fn cond() -> impl Strategy<Value = JsonExpr> {
    let test = prop_oneof![
        6 => comparison().prop_map(|(op, v)| JsonTest::Compare(op, v)),
        1 => Just(JsonTest::IsNull),
        1 => Just(JsonTest::IsTrue),
        1 => Just(JsonTest::IsFalse),
        1 => Just(JsonTest::NotExists),
    ];
    (selector(), test).prop_map(|(selector, test)| JsonExpr::Cond(JsonCond { selector, test }))
}

fn json_expr() -> impl Strategy<Value = JsonExpr> {
    cond().prop_recursive(4, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 2..4).prop_map(JsonExpr::And),
            prop::collection::vec(inner, 2..4).prop_map(JsonExpr::Or),
        ]
    })
}

fn space_field() -> impl Strategy<Value = SpaceField> {
    let cmp = comparison().prop_map(|(op, value)| FieldCmp { op, value });
    prop_oneof![
        1 => Just(SpaceField::Ellipsis),
        4 => (word(), prop::collection::vec(prop::collection::vec(cmp, 1..3), 0..3))
            .prop_map(|(name, alternatives)| SpaceField::Named { name, alternatives }),
    ]
}

fn term() -> impl Strategy<Value = Term> {
    let mode =
        prop::sample::select(vec![TermMode::Required, TermMode::Optional, TermMode::Excluded]);
    let text = prop_oneof![word().prop_map(TermText::Word), text().prop_map(TermText::Phrase)];
    (mode, text).prop_map(|(mode, text)| Term { mode, text })
}

fn ast() -> impl Strategy<Value = Ast> {
    prop_oneof![
        1 => Just(Ast::MatchAll),
        3 => prop::collection::vec(term(), 1..5).prop_map(Ast::Terms),
        1 => regex().prop_map(Ast::Regex),
        4 => json_expr().prop_map(Ast::Json),
        3 => prop::collection::vec(space_field(), 1..6).prop_map(Ast::Space),
    ]
    // AWS allows at most two regexes in one structured pattern.
    .prop_filter("at most 2 regexes", |ast| ast.to_string().matches('%').count() <= 4)
}

/// Events that exercise every kind of pattern.
fn event() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "[ -~]{0,60}",
        r#"\{"[a-c]":("[a-z*]{0,4}"|[0-9]{1,3}|null|true|\[1,"x"\]|\{"a":1\})(,"[a-c]":[0-9])?\}"#,
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn print_then_parse_round_trips(ast in ast()) {
        let printed = ast.to_string();
        let parsed = Pattern::parse(&printed).map_err(|e| TestCaseError::fail(format!("{printed:?}: {e}")))?;
        prop_assert_eq!(parsed.ast(), &ast, "printed as {:?}", printed);
    }

    #[test]
    fn generated_patterns_match_without_panics(ast in ast(), message in event()) {
        let pattern = Pattern::from_ast(ast).unwrap();
        let hit = pattern.matches(&message);
        let mut set = FilterSet::new();
        set.add_pattern(&pattern);
        prop_assert_eq!(set.any_match(&message), hit);
        let values = pattern.extracted_values(&message);
        prop_assert!(hit || values.is_empty());
    }

    #[test]
    fn arbitrary_strings_never_panic(src in any::<String>(), message in event()) {
        if let Ok(p) = Pattern::parse(&src) {
            let _ = p.matches(&message);
            prop_assert_eq!(Pattern::parse(&p.to_string()).unwrap(), p);
        }
    }

    #[test]
    fn pattern_like_strings_never_panic(
        src in r#"[\[\]{}()$.a-c0-9 =!<>&|*%"?,\\-]{0,40}|(\{|\[)[\[\]{}()$.a-c0-9 =!<>&|*%"?,\\-]{0,40}"#,
        message in event(),
    ) {
        if let Ok(p) = Pattern::parse(&src) {
            let hit = p.matches(&message);
            let mut set = FilterSet::new();
            set.add_pattern(&p);
            let _ = set.add_metric_filter(&p, &MetricTransformation::new("$.a"));
            prop_assert_eq!(set.evaluate(&message).iter().any(|m| m.filter == 0), hit);
            prop_assert_eq!(Pattern::parse(&p.to_string()).unwrap(), p);
        }
    }
}
