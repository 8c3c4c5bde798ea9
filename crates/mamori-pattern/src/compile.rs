//! Compiled patterns and their evaluation against one event, with the matching
//! rules of <https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/FilterAndPatternSyntax.html>.
//!
//! A compiled JSON pattern refers to selectors by slot number; the slots are
//! filled once per event by [`crate::json_doc::PathTrie`], so many patterns
//! share one pass over the event. Space-delimited patterns likewise share one
//! split of the line into fields.

use std::collections::HashMap;

use crate::ast::{Ast, CmpOp, JsonExpr, JsonTest, Selector, SpaceField, TermMode, TermText, Value};
use crate::aws_regex;
use crate::error::{PatternError, PatternErrorKind};
use crate::json_doc::Node;
use crate::parse::is_word_char;

/// Assigns one slot per distinct selector.
#[derive(Debug, Default, Clone)]
pub(crate) struct SelectorTable {
    pub(crate) selectors: Vec<Selector>,
    index: HashMap<Selector, usize>,
}

impl SelectorTable {
    pub(crate) fn slot(&mut self, selector: &Selector) -> usize {
        if let Some(&slot) = self.index.get(selector) {
            return slot;
        }
        let slot = self.selectors.len();
        self.selectors.push(selector.clone());
        self.index.insert(selector.clone(), slot);
        slot
    }
}

/// A pattern ready to run.
#[derive(Debug, Clone)]
pub(crate) enum Compiled {
    All,
    Terms(CTerms),
    Regex(regex::Regex),
    Json(CExpr),
    Space(CSpace),
}

#[derive(Debug, Clone)]
pub(crate) struct CTerms {
    required: Vec<CTerm>,
    optional: Vec<CTerm>,
    excluded: Vec<CTerm>,
}

#[derive(Debug, Clone)]
enum CTerm {
    Word(String),
    Phrase(String),
    /// A blank phrase (`" "`), AWS's documented "match everything" idiom.
    Always,
}

#[derive(Debug, Clone)]
pub(crate) enum CExpr {
    Cond { slot: usize, test: CTest },
    And(Vec<CExpr>),
    Or(Vec<CExpr>),
}

/// A test on one value; used by JSON conditions and space-delimited fields.
#[derive(Debug, Clone)]
pub(crate) enum CTest {
    Str { eq: bool, glob: Glob },
    Num { op: CmpOp, rhs: f64 },
    Regex { eq: bool, re: regex::Regex },
    Any { eq: bool },
    IsNull,
    IsTrue,
    IsFalse,
    NotExists,
}

/// A string with `*` wildcards, split at the stars.
#[derive(Debug, Clone)]
pub(crate) struct Glob {
    parts: Vec<String>,
}

#[derive(Debug, Clone)]
pub(crate) struct CSpace {
    slots: Vec<CSlot>,
}

#[derive(Debug, Clone)]
enum CSlot {
    Ellipsis,
    /// A named field: it matches if all tests of one alternative hold (or
    /// there are no alternatives).
    Field(Vec<Vec<CTest>>),
}

/// What one pass over an event produced, shared by all patterns of a set.
pub(crate) struct EventView<'a> {
    pub(crate) message: &'a str,
    /// Selected JSON nodes, or `None` if the event is not a JSON object (or no
    /// JSON pattern needs them).
    pub(crate) json: Option<Vec<Node<'a>>>,
    /// The fields of a space-delimited event (empty if no pattern needs them).
    pub(crate) fields: Vec<&'a str>,
}

/// The outcome of evaluating a pattern.
pub(crate) enum Outcome {
    NoMatch,
    Match,
    /// A space-delimited match, with the field index bound to each slot.
    SpaceMatch(Vec<Option<usize>>),
}

impl Compiled {
    /// Compiles a syntax tree; JSON selectors get slots from `table`.
    pub(crate) fn new(ast: &Ast, table: &mut SelectorTable) -> Result<Self, PatternError> {
        Ok(match ast {
            Ast::MatchAll => Compiled::All,
            Ast::Terms(terms) => {
                let mut res = CTerms { required: vec![], optional: vec![], excluded: vec![] };
                for term in terms {
                    let cterm = match &term.text {
                        TermText::Word(w) => CTerm::Word(w.clone()),
                        TermText::Phrase(p) if p.trim().is_empty() => CTerm::Always,
                        TermText::Phrase(p) => CTerm::Phrase(p.clone()),
                    };
                    match term.mode {
                        TermMode::Required => res.required.push(cterm),
                        TermMode::Optional => res.optional.push(cterm),
                        TermMode::Excluded => res.excluded.push(cterm),
                    }
                }
                Compiled::Terms(res)
            }
            Ast::Regex(re) => Compiled::Regex(aws_regex::compile(&re.0, 0)?),
            Ast::Json(expr) => Compiled::Json(compile_expr(expr, table)?),
            Ast::Space(fields) => {
                let mut slots = Vec::with_capacity(fields.len());
                for field in fields {
                    slots.push(match field {
                        SpaceField::Ellipsis => CSlot::Ellipsis,
                        SpaceField::Named { alternatives, .. } => {
                            let mut alts = Vec::with_capacity(alternatives.len());
                            for all in alternatives {
                                let mut tests = Vec::with_capacity(all.len());
                                for cmp in all {
                                    tests.push(compare_test(cmp.op, &cmp.value)?);
                                }
                                alts.push(tests);
                            }
                            CSlot::Field(alts)
                        }
                    });
                }
                Compiled::Space(CSpace { slots })
            }
        })
    }

    /// Evaluates the pattern on one event.
    pub(crate) fn eval(&self, ev: &EventView<'_>) -> Outcome {
        let hit = match self {
            Compiled::All => true,
            Compiled::Terms(terms) => terms.eval(ev.message),
            Compiled::Regex(re) => re.is_match(ev.message),
            Compiled::Json(expr) => match &ev.json {
                Some(nodes) => expr.eval(nodes),
                None => false,
            },
            Compiled::Space(space) => {
                return match space.bind(&ev.fields) {
                    Some(binding) => Outcome::SpaceMatch(binding),
                    None => Outcome::NoMatch,
                };
            }
        };
        if hit { Outcome::Match } else { Outcome::NoMatch }
    }
}

fn compile_expr(expr: &JsonExpr, table: &mut SelectorTable) -> Result<CExpr, PatternError> {
    Ok(match expr {
        JsonExpr::Cond(cond) => {
            let slot = table.slot(&cond.selector);
            let test = match &cond.test {
                JsonTest::Compare(op, value) => compare_test(*op, value)?,
                JsonTest::IsNull => CTest::IsNull,
                JsonTest::IsTrue => CTest::IsTrue,
                JsonTest::IsFalse => CTest::IsFalse,
                JsonTest::NotExists => CTest::NotExists,
            };
            CExpr::Cond { slot, test }
        }
        JsonExpr::And(items) => {
            CExpr::And(items.iter().map(|e| compile_expr(e, table)).collect::<Result<_, _>>()?)
        }
        JsonExpr::Or(items) => {
            CExpr::Or(items.iter().map(|e| compile_expr(e, table)).collect::<Result<_, _>>()?)
        }
    })
}

fn compare_test(op: CmpOp, value: &Value) -> Result<CTest, PatternError> {
    let eq = match op {
        CmpOp::Eq => true,
        CmpOp::Ne => false,
        _ => {
            return match value {
                Value::Num(n) => Ok(CTest::Num { op, rhs: n.value() }),
                // The parser never builds this; a hand-built tree fails closed.
                _ => {
                    Err(PatternError::new(0, PatternErrorKind::ExpectedNumber { op: op.as_str() }))
                }
            };
        }
    };
    Ok(match value {
        Value::Str(s) => CTest::Str { eq, glob: Glob::new(s) },
        Value::Num(n) => CTest::Num { op, rhs: n.value() },
        Value::Regex(re) => CTest::Regex { eq, re: aws_regex::compile(&re.0, 0)? },
        Value::Any => CTest::Any { eq },
    })
}

impl CTerms {
    fn eval(&self, message: &str) -> bool {
        self.required.iter().all(|t| t.hit(message))
            && (self.optional.is_empty() || self.optional.iter().any(|t| t.hit(message)))
            && !self.excluded.iter().any(|t| t.hit(message))
    }
}

impl CTerm {
    fn hit(&self, message: &str) -> bool {
        match self {
            CTerm::Word(word) => contains_word(message, word),
            CTerm::Phrase(phrase) => message.contains(phrase.as_str()),
            CTerm::Always => true,
        }
    }
}

/// Whether `word` occurs in `message` as a whole token, i.e. not preceded or
/// followed by a letter, digit or `_`.
fn contains_word(message: &str, word: &str) -> bool {
    // An occurrence that overlaps a rejected one starts inside a run of word
    // characters, so it would be rejected too: skipping it is safe.
    message.match_indices(word).any(|(i, _)| {
        let before = message[..i].chars().next_back();
        let after = message[i + word.len()..].chars().next();
        !before.is_some_and(is_word_char) && !after.is_some_and(is_word_char)
    })
}

impl CExpr {
    fn eval(&self, nodes: &[Node<'_>]) -> bool {
        match self {
            CExpr::Cond { slot, test } => nodes.get(*slot).is_some_and(|n| test.on_node(n)),
            CExpr::And(items) => items.iter().all(|e| e.eval(nodes)),
            CExpr::Or(items) => items.iter().any(|e| e.eval(nodes)),
        }
    }
}

impl CTest {
    /// Applies the test to a JSON node. A comparison needs a node of the
    /// value's type (string or number); anything else, including an absent
    /// path, an object or an array, does not match, whatever the operator.
    fn on_node(&self, node: &Node<'_>) -> bool {
        match (self, node) {
            (CTest::Str { eq, glob }, Node::Str(s)) => glob.matches(s) == *eq,
            (CTest::Num { op, rhs }, Node::Num(n)) => op.eval_num(*n, *rhs),
            (CTest::Regex { eq, re }, Node::Str(s)) => re.is_match(s) == *eq,
            (CTest::Any { eq }, Node::Str(_) | Node::Num(_)) => *eq,
            (CTest::IsNull, Node::Null) => true,
            (CTest::IsTrue, Node::Bool(true)) => true,
            (CTest::IsFalse, Node::Bool(false)) => true,
            (CTest::NotExists, Node::Missing) => true,
            _ => false,
        }
    }

    /// Applies the test to a space-delimited field. Numeric tests need a
    /// field that reads as a finite number.
    fn on_field(&self, field: &str) -> bool {
        match self {
            CTest::Str { eq, glob } => glob.matches(field) == *eq,
            CTest::Num { op, rhs } => parse_number(field).is_some_and(|n| op.eval_num(n, *rhs)),
            CTest::Regex { eq, re } => re.is_match(field) == *eq,
            CTest::Any { eq } => *eq,
            CTest::IsNull | CTest::IsTrue | CTest::IsFalse | CTest::NotExists => false,
        }
    }
}

/// Reads a field or string as a finite number (`inf` and `NaN` are not).
pub(crate) fn parse_number(text: &str) -> Option<f64> {
    text.parse::<f64>().ok().filter(|n| n.is_finite())
}

impl Glob {
    pub(crate) fn new(pattern: &str) -> Self {
        Glob { parts: pattern.split('*').map(str::to_owned).collect() }
    }

    pub(crate) fn matches(&self, s: &str) -> bool {
        let (first, rest) = match self.parts.split_first() {
            Some(split) => split,
            None => return s.is_empty(),
        };
        let Some((last, middle)) = rest.split_last() else {
            return s == first;
        };
        let Some(mut tail) = s.strip_prefix(first.as_str()) else {
            return false;
        };
        for part in middle {
            match tail.find(part.as_str()) {
                Some(i) => tail = &tail[i + part.len()..],
                None => return false,
            }
        }
        tail.ends_with(last.as_str())
    }
}

impl CSpace {
    /// Binds slots to fields; `...` takes any number of fields. Returns the
    /// field index of each named slot, or `None` if the event does not match.
    ///
    /// This is wildcard matching with one-field predicates, so the classic
    /// greedy algorithm (retry from the last ellipsis) is exact and takes at
    /// most slots × fields steps.
    fn bind(&self, fields: &[&str]) -> Option<Vec<Option<usize>>> {
        let mut binding = vec![None; self.slots.len()];
        let (mut si, mut fi) = (0, 0);
        let mut retry: Option<(usize, usize)> = None;
        loop {
            if let Some(slot) = self.slots.get(si) {
                match slot {
                    CSlot::Ellipsis => {
                        retry = Some((si + 1, fi));
                        si += 1;
                        continue;
                    }
                    CSlot::Field(alts) => {
                        if let Some(field) = fields.get(fi) {
                            let ok = alts.is_empty()
                                || alts.iter().any(|all| all.iter().all(|t| t.on_field(field)));
                            if ok {
                                binding[si] = Some(fi);
                                si += 1;
                                fi += 1;
                                continue;
                            }
                        }
                    }
                }
            } else if fi == fields.len() {
                return Some(binding);
            }
            match retry {
                Some((next_slot, start)) if start < fields.len() => {
                    retry = Some((next_slot, start + 1));
                    si = next_slot;
                    fi = start + 1;
                }
                _ => return None,
            }
        }
    }
}

/// Splits a space-delimited event into fields: runs of spaces separate
/// fields, and text in `"..."` or `[...]` is one field with the quotes or
/// brackets removed. An unterminated quote or bracket runs to the end.
pub(crate) fn split_fields(message: &str) -> Vec<&str> {
    let mut res = Vec::new();
    let mut rest = message;
    loop {
        rest = rest.trim_start_matches([' ', '\t']);
        let Some(first) = rest.chars().next() else { break };
        let close = match first {
            '"' => Some('"'),
            '[' => Some(']'),
            _ => None,
        };
        match close {
            Some(close) => {
                let inner = &rest[1..];
                match inner.find(close) {
                    Some(end) => {
                        res.push(&inner[..end]);
                        rest = &inner[end + 1..];
                    }
                    None => {
                        res.push(inner);
                        rest = "";
                    }
                }
            }
            None => {
                let end = rest.find([' ', '\t']).unwrap_or(rest.len());
                res.push(&rest[..end]);
                rest = &rest[end..];
            }
        }
    }
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs() {
        let cases = [
            // pattern           input                        matches
            ("AccessDenied*", "AccessDeniedException", true),
            ("AccessDenied*", "AccessDenied", true),
            ("AccessDenied*", "XAccessDenied", false),
            ("*UnauthorizedOperation", "Client.UnauthorizedOperation", true),
            ("*UnauthorizedOperation", "Unauthorized", false),
            ("123.123.*", "123.123.1.1", true),
            ("*.html*", "GET /index.html HTTP/1.0", true),
            ("a*b*a", "aba", true),
            ("a*b*a", "ab", false),
            ("a*a", "a", false),
            ("*", "", true),
            ("", "", true),
            ("", "x", false),
        ];
        for (pattern, input, want) in cases {
            assert_eq!(Glob::new(pattern).matches(input), want, "{pattern:?} on {input:?}");
        }
    }

    #[test]
    fn words() {
        assert!(contains_word("[ERROR 400] BAD", "ERROR"));
        assert!(!contains_word("ERRORS", "ERROR"));
        assert!(!contains_word("UNAUTHORIZED", "AUTHORIZED"));
        assert!(contains_word("x-AUTHORIZED.", "AUTHORIZED"));
        assert!(!contains_word("my_ERROR", "ERROR"));
        assert!(contains_word("ééERROR ERROR", "ERROR"));
    }

    #[test]
    fn fields() {
        let line = r#"127.0.0.1 Prod frank [10/Oct/2000:13:25:15 -0700] "GET /index.html HTTP/1.0" 404 1534"#;
        assert_eq!(
            split_fields(line),
            [
                "127.0.0.1",
                "Prod",
                "frank",
                "10/Oct/2000:13:25:15 -0700",
                "GET /index.html HTTP/1.0",
                "404",
                "1534"
            ]
        );
        assert_eq!(split_fields("  a   b "), ["a", "b"]);
        assert_eq!(split_fields("a \"b c"), ["a", "b c"]);
        assert!(split_fields("").is_empty());
    }
}
