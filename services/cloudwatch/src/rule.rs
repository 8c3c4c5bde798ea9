//! The `AlarmRule` language of composite alarms, as the `PutCompositeAlarm` reference
//! describes it
//! (<https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_PutCompositeAlarm.html>):
//! the functions `ALARM(x)`, `OK(x)` and `INSUFFICIENT_DATA(x)` (true when alarm `x`, a
//! name or an ARN, quoted or not, is in that state), the constants `TRUE` and `FALSE`,
//! the operators `NOT`, `AND` and `OR` (in that order of precedence) and parentheses.
//!
//! Parsing is pure and fails closed: anything else (another function such as
//! `AT_LEAST`, a stray token, more than 100 children or 500 elements) is an error naming
//! what is wrong, never a rule that silently matches.

use std::collections::BTreeSet;

/// The most child alarms a rule may name.
pub const MAX_CHILDREN: usize = 100;
/// The most elements (children, `TRUE`/`FALSE` and parentheses) a rule may have.
pub const MAX_ELEMENTS: usize = 500;

/// A state a rule function tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Want {
    /// `ALARM(x)`.
    Alarm,
    /// `OK(x)`.
    Ok,
    /// `INSUFFICIENT_DATA(x)`.
    InsufficientData,
}

impl Want {
    /// The state value the function tests for.
    pub fn state(self) -> &'static str {
        match self {
            Want::Alarm => "ALARM",
            Want::Ok => "OK",
            Want::InsufficientData => "INSUFFICIENT_DATA",
        }
    }
}

/// A parsed rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rule {
    /// `TRUE` or `FALSE`.
    Const(bool),
    /// `ALARM(x)`, `OK(x)`, `INSUFFICIENT_DATA(x)`; `x` is a name or ARN as written.
    State(Want, String),
    /// `NOT r`.
    Not(Box<Rule>),
    /// `a AND b AND ...`.
    And(Vec<Rule>),
    /// `a OR b OR ...`.
    Or(Vec<Rule>),
}

impl Rule {
    /// Parses `text`.
    pub fn parse(text: &str) -> Result<Rule, String> {
        let tokens = tokenize(text)?;
        let mut p = Parser { tokens, at: 0, elements: 0, depth: 0 };
        let rule = p.or()?;
        if let Some(t) = p.tokens.get(p.at) {
            return Err(format!("unexpected {} after the end of the rule", t.describe()));
        }
        let children = rule.children();
        if children.len() > MAX_CHILDREN {
            return Err(format!(
                "the alarm rule names {} alarms; at most {MAX_CHILDREN} are allowed",
                children.len()
            ));
        }
        Ok(rule)
    }

    /// The alarms the rule names, as written (names or ARNs), without duplicates.
    pub fn children(&self) -> BTreeSet<String> {
        let mut out = BTreeSet::new();
        self.walk(&mut |r| {
            if let Rule::State(_, x) = r {
                out.insert(x.clone());
            }
        });
        out
    }

    fn walk(&self, f: &mut dyn FnMut(&Rule)) {
        f(self);
        match self {
            Rule::Not(r) => r.walk(f),
            Rule::And(rs) | Rule::Or(rs) => rs.iter().for_each(|r| r.walk(f)),
            Rule::Const(_) | Rule::State(..) => {}
        }
    }

    /// Evaluates the rule; `state` gives the current state value of a named child.
    pub fn eval(&self, state: &dyn Fn(&str) -> Option<String>) -> bool {
        match self {
            Rule::Const(b) => *b,
            Rule::State(want, x) => state(x).is_some_and(|s| s == want.state()),
            Rule::Not(r) => !r.eval(state),
            Rule::And(rs) => rs.iter().all(|r| r.eval(state)),
            Rule::Or(rs) => rs.iter().any(|r| r.eval(state)),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    Open,
    Close,
    /// A bare word: an operator, a function name, a constant or an unquoted alarm name.
    Word(String),
    /// A double-quoted alarm name.
    Name(String),
}

impl Token {
    fn describe(&self) -> String {
        match self {
            Token::Open => "'('".into(),
            Token::Close => "')'".into(),
            Token::Word(w) => format!("'{w}'"),
            Token::Name(n) => format!("\"{n}\""),
        }
    }
}

fn tokenize(text: &str) -> Result<Vec<Token>, String> {
    let mut out = Vec::new();
    let mut chars = text.char_indices().peekable();
    while let Some(&(i, c)) = chars.peek() {
        match c {
            c if c.is_whitespace() => {
                chars.next();
            }
            '(' => {
                chars.next();
                out.push(Token::Open);
            }
            ')' => {
                chars.next();
                out.push(Token::Close);
            }
            '"' => {
                chars.next();
                let mut name = String::new();
                loop {
                    match chars.next() {
                        Some((_, '"')) => break,
                        Some((_, c)) => name.push(c),
                        None => {
                            return Err(format!(
                                "the quote opened at character {} is never closed",
                                i + 1
                            ));
                        }
                    }
                }
                out.push(Token::Name(name));
            }
            _ => {
                let mut word = String::new();
                while let Some(&(_, c)) = chars.peek() {
                    if c.is_whitespace() || c == '(' || c == ')' || c == '"' {
                        break;
                    }
                    word.push(c);
                    chars.next();
                }
                out.push(Token::Word(word));
            }
        }
    }
    Ok(out)
}

struct Parser {
    tokens: Vec<Token>,
    at: usize,
    /// Children, constants and grouping parentheses seen so far.
    elements: usize,
    /// Nesting of `NOT` and parentheses, bounded so that parsing cannot exhaust the stack.
    depth: usize,
}

impl Parser {
    fn count(&mut self, n: usize) -> Result<(), String> {
        self.elements += n;
        if self.elements > MAX_ELEMENTS {
            return Err(format!("the alarm rule has more than {MAX_ELEMENTS} elements"));
        }
        Ok(())
    }

    fn nest(&mut self) -> Result<(), String> {
        self.depth += 1;
        if self.depth > MAX_ELEMENTS {
            return Err(format!("the alarm rule nests deeper than {MAX_ELEMENTS} levels"));
        }
        Ok(())
    }

    fn peek_word(&self) -> Option<&str> {
        match self.tokens.get(self.at) {
            Some(Token::Word(w)) => Some(w.as_str()),
            _ => None,
        }
    }

    fn or(&mut self) -> Result<Rule, String> {
        let mut items = vec![self.and()?];
        while self.peek_word() == Some("OR") {
            self.at += 1;
            items.push(self.and()?);
        }
        Ok(if items.len() == 1 { items.remove(0) } else { Rule::Or(items) })
    }

    fn and(&mut self) -> Result<Rule, String> {
        let mut items = vec![self.not()?];
        while self.peek_word() == Some("AND") {
            self.at += 1;
            items.push(self.not()?);
        }
        Ok(if items.len() == 1 { items.remove(0) } else { Rule::And(items) })
    }

    fn not(&mut self) -> Result<Rule, String> {
        if self.peek_word() == Some("NOT") {
            self.at += 1;
            self.nest()?;
            let inner = self.not()?;
            self.depth -= 1;
            return Ok(Rule::Not(Box::new(inner)));
        }
        self.primary()
    }

    fn primary(&mut self) -> Result<Rule, String> {
        let Some(token) = self.tokens.get(self.at).cloned() else {
            return Err("the alarm rule ends where an expression is expected".into());
        };
        self.at += 1;
        match token {
            Token::Open => {
                self.count(2)?;
                self.nest()?;
                let inner = self.or()?;
                self.depth -= 1;
                match self.tokens.get(self.at) {
                    Some(Token::Close) => {
                        self.at += 1;
                        Ok(inner)
                    }
                    Some(t) => Err(format!("expected ')' but found {}", t.describe())),
                    None => Err("a parenthesis is never closed".into()),
                }
            }
            Token::Word(w) if w == "TRUE" || w == "FALSE" => {
                self.count(1)?;
                Ok(Rule::Const(w == "TRUE"))
            }
            Token::Word(w) => {
                let want = match w.as_str() {
                    "ALARM" => Want::Alarm,
                    "OK" => Want::Ok,
                    "INSUFFICIENT_DATA" => Want::InsufficientData,
                    "AND" | "OR" | "NOT" => {
                        return Err(format!("'{w}' needs an expression on its left"));
                    }
                    other => {
                        return Err(format!(
                            "unknown function or keyword '{other}' (supported: ALARM, OK, INSUFFICIENT_DATA, TRUE, FALSE, AND, OR, NOT)"
                        ));
                    }
                };
                if self.tokens.get(self.at) != Some(&Token::Open) {
                    return Err(format!("{w} must be followed by '(' and an alarm name"));
                }
                self.at += 1;
                let name = match self.tokens.get(self.at).cloned() {
                    Some(Token::Name(n)) => n,
                    Some(Token::Word(n)) => n,
                    _ => return Err(format!("{w}() needs an alarm name or ARN")),
                };
                self.at += 1;
                if self.tokens.get(self.at) != Some(&Token::Close) {
                    return Err(format!("{w}({name} must be closed by ')'"));
                }
                self.at += 1;
                if name.trim().is_empty() {
                    return Err(format!("{w}() needs an alarm name or ARN"));
                }
                self.count(1)?;
                Ok(Rule::State(want, name))
            }
            other => {
                Err(format!("unexpected {} where an expression is expected", other.describe()))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn states(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: std::collections::HashMap<String, String> =
            pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        move |k| map.get(k).cloned()
    }

    #[test]
    fn aws_examples_evaluate_as_documented() {
        // The three examples of the PutCompositeAlarm reference.
        let both = "ALARM(CPUUtilizationTooHigh) AND ALARM(DiskReadOpsTooHigh)";
        let quiet = "ALARM(CPUUtilizationTooHigh) AND NOT ALARM(DeploymentInProgress)";
        let net =
            "(ALARM(CPUUtilizationTooHigh) OR ALARM(DiskReadOpsTooHigh)) AND OK(NetworkOutTooHigh)";
        type Case<'a> = (&'a str, &'a [(&'a str, &'a str)], bool);
        let cases: &[Case<'_>] = &[
            (both, &[("CPUUtilizationTooHigh", "ALARM"), ("DiskReadOpsTooHigh", "ALARM")], true),
            (both, &[("CPUUtilizationTooHigh", "ALARM"), ("DiskReadOpsTooHigh", "OK")], false),
            (quiet, &[("CPUUtilizationTooHigh", "ALARM"), ("DeploymentInProgress", "OK")], true),
            (
                quiet,
                &[("CPUUtilizationTooHigh", "ALARM"), ("DeploymentInProgress", "ALARM")],
                false,
            ),
            (
                net,
                &[
                    ("CPUUtilizationTooHigh", "OK"),
                    ("DiskReadOpsTooHigh", "ALARM"),
                    ("NetworkOutTooHigh", "OK"),
                ],
                true,
            ),
            (net, &[("CPUUtilizationTooHigh", "ALARM"), ("NetworkOutTooHigh", "ALARM")], false),
            (
                net,
                &[("CPUUtilizationTooHigh", "ALARM"), ("NetworkOutTooHigh", "INSUFFICIENT_DATA")],
                false,
            ),
            ("TRUE", &[], true),
            ("FALSE", &[], false),
            ("NOT FALSE", &[], true),
            ("INSUFFICIENT_DATA(\"a b\")", &[("a b", "INSUFFICIENT_DATA")], true),
            // AND binds tighter than OR.
            ("TRUE OR FALSE AND FALSE", &[], true),
            ("(TRUE OR FALSE) AND FALSE", &[], false),
            ("NOT ALARM(x) AND ALARM(y)", &[("x", "OK"), ("y", "ALARM")], true),
            // A child with no state (deleted since) satisfies no function.
            ("OK(gone) OR ALARM(gone) OR INSUFFICIENT_DATA(gone)", &[], false),
        ];
        for (text, st, want) in cases {
            let rule = Rule::parse(text).unwrap_or_else(|e| panic!("{text}: {e}"));
            assert_eq!(rule.eval(&states(st)), *want, "{text} with {st:?}");
        }
    }

    #[test]
    fn names_quoted_or_not_and_arns() {
        let rule = Rule::parse(
            r#"ALARM("my alarm") OR OK(arn:aws:cloudwatch:us-east-1:123456789012:alarm:cpu) OR ALARM(my-alarm.2)"#,
        )
        .unwrap();
        let children: Vec<String> = rule.children().into_iter().collect();
        assert_eq!(
            children,
            ["arn:aws:cloudwatch:us-east-1:123456789012:alarm:cpu", "my alarm", "my-alarm.2"]
        );
    }

    #[test]
    fn bad_rules_are_refused_with_the_reason() {
        let cases = [
            ("", "ends where an expression"),
            ("ALARM(a) AND", "ends where an expression"),
            ("ALARM(a) ALARM(b)", "unexpected 'ALARM'"),
            ("AT_LEAST(2, ALARM, (a, b))", "unknown function or keyword 'AT_LEAST'"),
            ("alarm(a)", "unknown function or keyword 'alarm'"),
            ("ALARM a", "must be followed by '('"),
            ("ALARM()", "needs an alarm name"),
            ("ALARM(\"\")", "needs an alarm name"),
            ("ALARM(a", "must be closed"),
            ("(ALARM(a)", "never closed"),
            ("ALARM(a))", "unexpected ')'"),
            ("ALARM(\"a)", "never closed"),
            ("AND ALARM(a)", "needs an expression on its left"),
            ("ALARM(a) XOR ALARM(b)", "unexpected 'XOR'"),
        ];
        for (text, want) in cases {
            let err = Rule::parse(text).expect_err(text);
            assert!(err.contains(want), "{text}: {err}");
        }
    }

    #[test]
    fn limits() {
        let many: Vec<String> = (0..101).map(|i| format!("ALARM(a{i})")).collect();
        let err = Rule::parse(&many.join(" OR ")).unwrap_err();
        assert!(err.contains("names 101 alarms"), "{err}");
        let ok: Vec<String> = (0..100).map(|i| format!("ALARM(a{i})")).collect();
        assert!(Rule::parse(&ok.join(" OR ")).is_ok());
        let deep = format!("{}TRUE{}", "(".repeat(250), ")".repeat(250));
        let err = Rule::parse(&deep).unwrap_err();
        assert!(err.contains("more than 500 elements"), "{err}");
        let shallow = format!("{}TRUE{}", "(".repeat(249), ")".repeat(249));
        assert!(Rule::parse(&shallow).is_ok());
        let nots = format!("{}TRUE", "NOT ".repeat(2000));
        let err = Rule::parse(&nots).unwrap_err();
        assert!(err.contains("nests deeper"), "{err}");
    }
}
