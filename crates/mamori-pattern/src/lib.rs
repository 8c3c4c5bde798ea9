//! CloudWatch Logs filter patterns: parse, match and extract, as described in
//! <https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/FilterAndPatternSyntax.html>
//! and <https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/regex-expressions.html>.
//!
//! The same language serves metric filters, subscription filters,
//! `FilterLogEvents`, Live Tail and `TestMetricFilter`. This crate is pure:
//! no I/O, no wire format, and no panics on input. A pattern is parsed and
//! compiled once ([`Pattern::parse`]), then run for every event; a
//! [`FilterSet`] runs many filters over an event in one pass.
//!
//! # Pattern kinds
//!
//! The first non-blank character decides: `{` is a JSON pattern, `[` a
//! space-delimited pattern, `%` a standalone regular expression, anything
//! else a term pattern. The empty or all-blank pattern matches everything.
//!
//! # Choices where AWS documents nothing
//!
//! These follow the project's behaviour digest; each is pinned by a test.
//!
//! - **Words and phrases.** An unquoted term matches a whole *token* of the
//!   event: a run of letters, digits and `_`, so `ERROR` matches `[ERROR 400]`
//!   but not `ERRORS`, and `AUTHORIZED` does not match `UNAUTHORIZED` (the
//!   regex page uses `%AUTHORIZED%` for that). A quoted term is a
//!   case-sensitive substring. An unquoted term may hold only letters, digits
//!   and `_`; anything else must be quoted, and is a syntax error otherwise.
//! - **Blank phrases.** `" "` (any quoted run of blanks) matches every event,
//!   AWS's documented idiom, even an event without a space.
//! - **Mixing `?` terms with others.** Plain terms are all required, `-` terms
//!   all excluded, and at least one `?` term must be present.
//! - **Types in JSON comparisons.** Quoting decides the type: a bare number
//!   (`400`, `1e3`) compares only with JSON numbers, a string (quoted, or a
//!   bare non-number such as `kms.amazonaws.com`) only with JSON strings, so
//!   `= 400` does not match `"400"`. A bare `*` matches any string or number.
//!   Bare `true`, `false` and `null` are rejected in favour of `IS TRUE`,
//!   `IS FALSE` and `IS NULL`.
//! - **Missing and compound nodes.** Every comparison, `!=` included, needs a
//!   string or number node: an absent path, `null`, an object or an array
//!   fails it. Only `NOT EXISTS` matches an absent path.
//! - **Selectors.** `$.a[*]` is rejected. Keys are letters, digits, `_`, `-`.
//! - **Space-delimited events** are split on runs of spaces; `"..."` and
//!   `[...]` are single fields without their delimiters. Without `...`, the
//!   number of fields must equal the number of slots. Numeric comparisons
//!   need a field that reads as a number.
//! - **Regular expressions** accept exactly the documented characters, at
//!   most two per structured pattern; `\d \s \w` (and their negations) are
//!   ASCII classes; other escapes are rejected.
//! - **Offsets** in [`PatternError`] are byte offsets into the pattern.
//!
//! # Example
//!
//! ```
//! use mamori_pattern::Pattern;
//!
//! let pattern = Pattern::parse(r#"{ ($.errorCode = "*UnauthorizedOperation") || ($.errorCode = "AccessDenied*") }"#)?;
//! assert!(pattern.matches(r#"{"errorCode":"Client.UnauthorizedOperation"}"#));
//! assert!(!pattern.matches(r#"{"errorCode":"TrailNotFoundException"}"#));
//! assert!(!pattern.matches("AccessDenied, but not JSON"));
//! // The canonical spelling parses back to the same pattern.
//! assert_eq!(Pattern::parse(&pattern.to_string())?.ast(), pattern.ast());
//! # Ok::<(), mamori_pattern::PatternError>(())
//! ```
#![warn(missing_docs)]

mod ast;
mod aws_regex;
mod compile;
mod error;
mod filter_set;
mod json_doc;
mod metric;
mod parse;

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

pub use ast::{
    Ast, CmpOp, FieldCmp, JsonCond, JsonExpr, JsonTest, Number, PathStep, RegexSource, Selector,
    SpaceField, Term, TermMode, TermText, Value,
};
pub use error::{PatternError, PatternErrorKind, TransformError};
pub use filter_set::{FilterMatch, FilterSet};
pub use metric::{Extracted, MAX_DIMENSIONS, MetricTransformation};
pub use parse::{MAX_DEPTH, MAX_PATTERN_CHARS, MAX_REGEXES};

use compile::{Compiled, EventView, Outcome, SelectorTable, split_fields};
use json_doc::PathTrie;

/// A parsed and compiled filter pattern.
///
/// ```
/// use mamori_pattern::Pattern;
///
/// let pattern = Pattern::parse("ERROR -ARGUMENTS")?;
/// assert!(pattern.matches("[ERROR 400] BAD REQUEST"));
/// assert!(!pattern.matches("[ERROR 419] MISSING ARGUMENTS"));
///
/// let err = Pattern::parse("{ $.eventName }").unwrap_err();
/// assert_eq!(err.offset, 14);
/// assert!(err.to_string().starts_with(
///     "invalid filter pattern at offset 14: expected a comparison operator after selector"
/// ));
/// # Ok::<(), mamori_pattern::PatternError>(())
/// ```
#[derive(Debug, Clone)]
pub struct Pattern {
    ast: Ast,
    compiled: Compiled,
    trie: PathTrie,
    /// `$.path` spelling of each JSON slot, for `extracted_values`.
    slot_names: Vec<String>,
}

/// One matching event of [`test_messages`], as `TestMetricFilter` returns it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TestMatch {
    /// 1-based position of the message in the input.
    pub event_number: usize,
    /// The message.
    pub event_message: String,
    /// `$name` or `$.path` of each field the pattern names, to its value.
    pub extracted_values: BTreeMap<String, String>,
}

impl Pattern {
    /// Parses and compiles a filter pattern.
    pub fn parse(src: &str) -> Result<Self, PatternError> {
        Self::from_ast(parse::parse(src)?)
    }

    /// Compiles a syntax tree (for example one built by hand).
    pub fn from_ast(ast: Ast) -> Result<Self, PatternError> {
        let mut table = SelectorTable::default();
        let compiled = Compiled::new(&ast, &mut table)?;
        let trie = PathTrie::build(&table.selectors);
        let slot_names = table.selectors.iter().map(ToString::to_string).collect();
        Ok(Pattern { ast, compiled, trie, slot_names })
    }

    /// The syntax tree.
    pub fn ast(&self) -> &Ast {
        &self.ast
    }

    pub(crate) fn compiled(&self) -> &Compiled {
        &self.compiled
    }

    /// Whether the pattern contains a regular expression (AWS limits such
    /// filters to 5 per log group).
    pub fn has_regex(&self) -> bool {
        match &self.ast {
            Ast::Regex(_) => true,
            Ast::Json(expr) => json_has_regex(expr),
            Ast::Space(fields) => fields.iter().any(|f| match f {
                SpaceField::Ellipsis => false,
                SpaceField::Named { alternatives, .. } => {
                    alternatives.iter().flatten().any(|c| matches!(c.value, Value::Regex(_)))
                }
            }),
            Ast::MatchAll | Ast::Terms(_) => false,
        }
    }

    /// Whether `message` matches. A JSON pattern never matches an event that is
    /// not a JSON object; the event is parsed only for JSON patterns.
    pub fn matches(&self, message: &str) -> bool {
        let ev = self.view(message);
        !matches!(self.compiled.eval(&ev), Outcome::NoMatch)
    }

    /// The values of the fields the pattern names, keyed `$name`
    /// (space-delimited) or `$.path` (JSON), as `TestMetricFilter`'s
    /// `extractedValues`. Empty when the event does not match, and for term
    /// and regex patterns. JSON paths that are absent or designate an object
    /// or array are left out.
    pub fn extracted_values(&self, message: &str) -> BTreeMap<String, String> {
        let ev = self.view(message);
        let outcome = self.compiled.eval(&ev);
        let mut res = BTreeMap::new();
        match (&outcome, &self.ast) {
            (Outcome::NoMatch, _) => {}
            (Outcome::SpaceMatch(binding), Ast::Space(fields)) => {
                for (field, index) in fields.iter().zip(binding) {
                    if let (SpaceField::Named { name, .. }, Some(index)) = (field, index)
                        && let Some(value) = ev.fields.get(*index)
                    {
                        res.insert(format!("${name}"), (*value).to_owned());
                    }
                }
            }
            (Outcome::Match, Ast::Json(_)) => {
                if let Some(nodes) = &ev.json {
                    for (name, node) in self.slot_names.iter().zip(nodes) {
                        if let Some(text) = node.to_text() {
                            res.insert(name.clone(), text);
                        }
                    }
                }
            }
            _ => {}
        }
        res
    }

    /// The metric contribution of `message` under `transformation`: `Ok(None)`
    /// if the event does not match. For many events or filters, build a
    /// [`FilterSet`] once instead.
    pub fn extract(
        &self,
        message: &str,
        transformation: &MetricTransformation,
    ) -> Result<Option<Extracted>, TransformError> {
        let mut set = FilterSet::new();
        set.add_metric_filter(self, transformation)?;
        Ok(set.evaluate(message).pop().and_then(|m| m.extracted))
    }

    fn view<'a>(&self, message: &'a str) -> EventView<'a> {
        EventView {
            message,
            json: match self.compiled {
                Compiled::Json(_) => self.trie.extract(message),
                _ => None,
            },
            fields: match self.compiled {
                Compiled::Space(_) => split_fields(message),
                _ => Vec::new(),
            },
        }
    }
}

fn json_has_regex(expr: &JsonExpr) -> bool {
    match expr {
        JsonExpr::Cond(c) => matches!(c.test, JsonTest::Compare(_, Value::Regex(_))),
        JsonExpr::And(items) | JsonExpr::Or(items) => items.iter().any(json_has_regex),
    }
}

impl fmt::Display for Pattern {
    /// Prints the canonical spelling of the pattern.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.ast.fmt(f)
    }
}

impl FromStr for Pattern {
    type Err = PatternError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Pattern::parse(s)
    }
}

impl PartialEq for Pattern {
    fn eq(&self, other: &Self) -> bool {
        self.ast == other.ast
    }
}

/// Runs `pattern` over `messages` as `TestMetricFilter` does: the matching
/// messages, numbered from 1, with their extracted values.
///
/// ```
/// use mamori_pattern::{Pattern, test_messages};
///
/// let pattern = Pattern::parse("[ip, user, status = 4*]").unwrap();
/// let res = test_messages(&pattern, &["1.2.3.4 bob 200", "1.2.3.4 eve 404"]);
/// assert_eq!(res.len(), 1);
/// assert_eq!(res[0].event_number, 2);
/// assert_eq!(res[0].extracted_values["$status"], "404");
/// ```
pub fn test_messages(pattern: &Pattern, messages: &[&str]) -> Vec<TestMatch> {
    messages
        .iter()
        .enumerate()
        .filter(|(_, m)| pattern.matches(m))
        .map(|(i, m)| TestMatch {
            event_number: i + 1,
            event_message: (*m).to_owned(),
            extracted_values: pattern.extracted_values(m),
        })
        .collect()
}
