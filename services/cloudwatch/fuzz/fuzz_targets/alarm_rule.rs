//! Fuzzes the composite-alarm `AlarmRule` parser
//! (<https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_PutCompositeAlarm.html>):
//! no input panics; an accepted rule stays within the limits, evaluates without
//! panicking whatever state its children are in, and its fully parenthesized spelling
//! parses back to the same tree and the same verdicts.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mamori_cloudwatch::rule::{MAX_CHILDREN, Rule};

const STATES: [Option<&str>; 4] = [Some("ALARM"), Some("OK"), Some("INSUFFICIENT_DATA"), None];

fuzz_target!(|data: &[u8]| {
    // The last byte picks the children's states; the rest is the rule.
    let Some((&pick, rest)) = data.split_last() else { return };
    let Ok(text) = std::str::from_utf8(rest) else { return };
    let Ok(rule) = Rule::parse(text) else { return };
    let children = rule.children();
    assert!(children.len() <= MAX_CHILDREN);
    assert!(children.iter().all(|c| !c.trim().is_empty()));
    let printed = print(&rule);
    let again = Rule::parse(&printed).expect("the printed rule must parse");
    assert_eq!(again, rule, "round trip of {printed:?}");
    // Each child gets a state from the picked byte and its position.
    let index: Vec<&String> = children.iter().collect();
    let state = |name: &str| {
        let i = index.iter().position(|c| c.as_str() == name)?;
        STATES[(usize::from(pick) >> (i % 4 * 2)) % 4].map(str::to_owned)
    };
    assert_eq!(rule.eval(&state), again.eval(&state));
    let _ = rule.eval(&|_| Some("garbage".into()));
});

/// The rule with every name quoted and only the parentheses its tree needs.
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
