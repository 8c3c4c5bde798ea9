//! A bounded, deterministic stand-in for `fuzz/fuzz_targets/alarm_rule.rs`, so that
//! `cargo test` on stable checks the same properties: the `AlarmRule` examples of
//! <https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_PutCompositeAlarm.html>
//! are mutated character by character (and random strings are thrown in), and no mutant
//! may panic the parser; every accepted one stays within the limits, evaluates for every
//! assignment of child states, and prints and re-parses to itself.

use mamori_cloudwatch::rule::{MAX_CHILDREN, Rule};
use mamori_mutate::{Alphabet, Rng};

const SEEDS: [&str; 8] = [
    "ALARM(CPUUtilizationTooHigh) AND ALARM(DiskReadOpsTooHigh)",
    "ALARM(CPUUtilizationTooHigh) AND NOT ALARM(DeploymentInProgress)",
    "(ALARM(CPUUtilizationTooHigh) OR ALARM(DiskReadOpsTooHigh)) AND OK(NetworkOutTooHigh)",
    r#"ALARM("my alarm") OR OK(arn:aws:cloudwatch:us-east-1:123456789012:alarm:cpu) OR INSUFFICIENT_DATA(my-alarm.2)"#,
    "NOT (TRUE OR FALSE) AND (FALSE OR NOT ALARM(x))",
    "((ALARM(a) OR OK(b)) OR (ALARM(c) AND (OK(d) AND OK(e)))) AND NOT NOT INSUFFICIENT_DATA(a)",
    "AT_LEAST(2, ALARM, (a, b))",
    "",
];

const WORDS: [&str; 12] =
    ["ALARM", "OK", "INSUFFICIENT_DATA", "TRUE", "FALSE", "NOT", "AND", "OR", "(", ")", "\"", " "];

const CHARS: &[char] = &['(', ')', '"', ' ', '\t', ',', 'a', 'Z', '_', ':', '/', 'é', '\u{3000}'];

/// What mutations insert.
const ALPHABET: Alphabet<'static> = Alphabet { words: &WORDS, chars: CHARS };

const STATES: [Option<&str>; 4] = [Some("ALARM"), Some("OK"), Some("INSUFFICIENT_DATA"), None];

/// The rule with every name quoted and only the parentheses its tree needs (the same
/// printer as the fuzz target's).
fn print(rule: &Rule) -> String {
    fn operand(r: &Rule, parent_and: bool) -> String {
        match r {
            Rule::Or(_) => format!("({})", print(r)),
            Rule::And(_) if parent_and => format!("({})", print(r)),
            _ => print(r),
        }
    }
    match rule {
        Rule::Const(b) => (if *b { "TRUE" } else { "FALSE" }).into(),
        Rule::State(want, name) => format!("{}(\"{name}\")", want.state()),
        Rule::Not(r) => match **r {
            Rule::And(_) | Rule::Or(_) => format!("NOT ({})", print(r)),
            _ => format!("NOT {}", print(r)),
        },
        Rule::And(rs) => rs.iter().map(|r| operand(r, true)).collect::<Vec<_>>().join(" AND "),
        Rule::Or(rs) => rs.iter().map(|r| operand(r, false)).collect::<Vec<_>>().join(" OR "),
    }
}

/// The properties of the fuzz target, for one input.
fn check(text: &str, rng: &mut Rng) -> bool {
    let Ok(rule) = Rule::parse(text) else { return false };
    let children: Vec<String> = rule.children().into_iter().collect();
    assert!(children.len() <= MAX_CHILDREN, "{text:?}");
    assert!(children.iter().all(|c| !c.trim().is_empty()), "{text:?}");
    let printed = print(&rule);
    let again = Rule::parse(&printed).unwrap_or_else(|e| panic!("{text:?} -> {printed:?}: {e}"));
    assert_eq!(again, rule, "{text:?} -> {printed:?}");
    for _ in 0..4 {
        let picks: Vec<Option<&str>> =
            children.iter().map(|_| STATES[rng.below(STATES.len())]).collect();
        let state = |name: &str| {
            let i = children.iter().position(|c| c == name)?;
            picks[i].map(str::to_owned)
        };
        assert_eq!(rule.eval(&state), again.eval(&state), "{text:?} -> {printed:?}");
    }
    let _ = rule.eval(&|_| Some("garbage".into()));
    true
}

#[test]
fn mutated_rules_never_panic_and_round_trip() {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let (mut accepted, mut rejected) = (0, 0);
    for i in 0..20_000 {
        let text = if i % 5 == 4 {
            ALPHABET.random(&mut rng)
        } else {
            ALPHABET.mutate(&mut rng, SEEDS[i % SEEDS.len()])
        };
        if check(&text, &mut rng) {
            accepted += 1;
        } else {
            rejected += 1;
        }
    }
    // The mutants must exercise both sides of the parser.
    assert!(accepted > 1_000 && rejected > 1_000, "accepted {accepted}, rejected {rejected}");
}

#[test]
fn deep_and_wide_rules_stay_within_the_limits() {
    let mut rng = Rng(1);
    let deep = format!("{}ALARM(a){}", "(NOT ".repeat(240), ")".repeat(240));
    assert!(check(&deep, &mut rng));
    let wide: Vec<String> = (0..100).map(|i| format!("(OK(a{i}) AND ALARM(\"b {i}\"))")).collect();
    assert!(!check(&wide.join(" OR "), &mut rng), "200 children");
    let wide: Vec<String> = (0..50).map(|i| format!("(OK(a{i}) AND ALARM(\"b {i}\"))")).collect();
    assert!(check(&wide.join(" OR "), &mut rng));
}
