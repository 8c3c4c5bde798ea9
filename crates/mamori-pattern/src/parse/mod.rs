//! The filter-pattern parser: picks the pattern kind from its first character
//! and parses term patterns itself, as described in
//! <https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/FilterAndPatternSyntax.html>.
//!
//! JSON patterns live in `json.rs` and space-delimited ones in `space.rs`;
//! this file also holds the pieces they share (quoted strings, values,
//! `%regex%` literals).

mod json;
mod space;

pub(crate) use json::parse_selector;

use crate::ast::{Ast, Number, RegexSource, Term, TermMode, TermText, Value};
use crate::aws_regex;
use crate::error::{PatternError, PatternErrorKind};

/// Longest accepted pattern, in characters (`filterPattern` max length in the
/// Logs API model).
pub const MAX_PATTERN_CHARS: usize = 1024;

/// Most regular expressions in one JSON or space-delimited pattern.
pub const MAX_REGEXES: usize = 2;

/// Deepest parenthesis nesting accepted in a JSON pattern.
pub const MAX_DEPTH: usize = 64;

/// Parses a filter pattern into its syntax tree.
pub fn parse(src: &str) -> Result<Ast, PatternError> {
    if let Some((offset, _)) = src.char_indices().nth(MAX_PATTERN_CHARS) {
        return Err(PatternError::new(
            offset,
            PatternErrorKind::TooLong { max: MAX_PATTERN_CHARS },
        ));
    }
    let mut cur = Cursor::new(src);
    cur.skip_ws();
    let ast = match cur.peek() {
        None => return Ok(Ast::MatchAll),
        Some('{') => Ast::Json(json::parse(&mut cur)?),
        Some('[') => Ast::Space(space::parse(&mut cur)?),
        Some('%') => {
            let (re, _) = regex_literal(&mut cur)?;
            Ast::Regex(re)
        }
        Some(_) => return terms(&mut cur),
    };
    cur.skip_ws();
    if !cur.at_end() {
        return Err(cur.error(PatternErrorKind::TrailingInput { found: cur.found() }));
    }
    Ok(ast)
}

/// Describes a character for an error message.
pub(crate) fn describe_char(ch: char) -> String {
    match ch {
        ' ' => "a space".to_owned(),
        '\t' | '\n' | '\r' => "whitespace".to_owned(),
        _ => format!("'{ch}'"),
    }
}

/// A position in the pattern being parsed.
pub(crate) struct Cursor<'a> {
    src: &'a str,
    pos: usize,
    /// Regular expressions seen so far (structured patterns only).
    n_regexes: usize,
}

impl<'a> Cursor<'a> {
    fn new(src: &'a str) -> Self {
        Cursor { src, pos: 0, n_regexes: 0 }
    }

    fn rest(&self) -> &'a str {
        &self.src[self.pos..]
    }

    fn peek(&self) -> Option<char> {
        self.rest().chars().next()
    }

    fn at_end(&self) -> bool {
        self.pos >= self.src.len()
    }

    fn bump(&mut self) -> Option<char> {
        let ch = self.peek()?;
        self.pos += ch.len_utf8();
        Some(ch)
    }

    fn eat(&mut self, s: &str) -> bool {
        if self.rest().starts_with(s) {
            self.pos += s.len();
            true
        } else {
            false
        }
    }

    fn skip_ws(&mut self) {
        while self.peek().is_some_and(char::is_whitespace) {
            self.bump();
        }
    }

    fn error(&self, kind: PatternErrorKind) -> PatternError {
        PatternError::new(self.pos, kind)
    }

    /// Describes what is at the cursor, for error messages.
    fn found(&self) -> String {
        match self.peek() {
            None => "end of pattern".to_owned(),
            Some(ch) => describe_char(ch),
        }
    }

    /// Consumes a run of characters satisfying `pred`.
    fn take_while(&mut self, pred: impl Fn(char) -> bool) -> &'a str {
        let start = self.pos;
        while self.peek().is_some_and(&pred) {
            self.bump();
        }
        &self.src[start..self.pos]
    }
}

/// Parses the terms of an unstructured pattern, up to the end.
fn terms(cur: &mut Cursor<'_>) -> Result<Ast, PatternError> {
    let mut res = Vec::new();
    loop {
        cur.skip_ws();
        let Some(first) = cur.peek() else { break };
        let mode = match first {
            '?' => TermMode::Optional,
            '-' => TermMode::Excluded,
            _ => TermMode::Required,
        };
        if mode != TermMode::Required {
            cur.bump();
        }
        let text = match cur.peek() {
            Some('"') => TermText::Phrase(quoted(cur)?),
            Some(ch) if is_word_char(ch) => TermText::Word(cur.take_while(is_word_char).to_owned()),
            Some(ch) if !ch.is_whitespace() => {
                return Err(
                    cur.error(PatternErrorKind::UnquotedTermChar { found: describe_char(ch) })
                );
            }
            _ => {
                let prefix = if mode == TermMode::Optional { '?' } else { '-' };
                return Err(cur.error(PatternErrorKind::ExpectedTerm { prefix }));
            }
        };
        match cur.peek() {
            None => {}
            Some(ch) if ch.is_whitespace() => {}
            Some(ch) if matches!(text, TermText::Word(_)) && ch != '"' => {
                return Err(
                    cur.error(PatternErrorKind::UnquotedTermChar { found: describe_char(ch) })
                );
            }
            Some(_) => {
                return Err(
                    cur.error(PatternErrorKind::ExpectedTermSeparator { found: cur.found() })
                );
            }
        }
        res.push(Term { mode, text });
    }
    Ok(Ast::Terms(res))
}

/// Characters of an unquoted term: tokens are runs of these in an event.
pub(crate) fn is_word_char(ch: char) -> bool {
    ch.is_alphanumeric() || ch == '_'
}

/// Parses a double-quoted string at the cursor. `\"` and `\\` are escapes;
/// any other backslash is kept as written.
fn quoted(cur: &mut Cursor<'_>) -> Result<String, PatternError> {
    let start = cur.pos;
    cur.bump();
    let mut res = String::new();
    loop {
        match cur.bump() {
            None => return Err(PatternError::new(start, PatternErrorKind::UnterminatedString)),
            Some('"') => return Ok(res),
            Some('\\') => match cur.peek() {
                Some(ch @ ('"' | '\\')) => {
                    cur.bump();
                    res.push(ch);
                }
                _ => res.push('\\'),
            },
            Some(ch) => res.push(ch),
        }
    }
}

/// Parses `%...%` at the cursor; returns the source and its compiled form.
fn regex_literal(cur: &mut Cursor<'_>) -> Result<(RegexSource, regex::Regex), PatternError> {
    let start = cur.pos;
    cur.bump();
    let body_start = cur.pos;
    let body = cur.take_while(|ch| ch != '%');
    if !cur.eat("%") {
        return Err(PatternError::new(start, PatternErrorKind::UnterminatedRegex));
    }
    if body.is_empty() {
        return Err(PatternError::new(start, PatternErrorKind::EmptyRegex));
    }
    let compiled = aws_regex::compile(body, body_start)?;
    Ok((RegexSource(body.to_owned()), compiled))
}

/// Characters of a bare (unquoted) value in a structured pattern. AWS's own
/// examples use dotted and wildcarded bare values (`kms.amazonaws.com`,
/// `123.123.*`), so these go beyond the documented "letters, digits and `_`".
fn is_bare_value_char(ch: char) -> bool {
    ch.is_alphanumeric() || matches!(ch, '_' | '.' | '-' | '*' | ':' | '/' | '@' | '+' | '#')
}

/// Parses the value after a comparison operator. `stop` tells which characters
/// end a bare value in this kind of pattern.
fn value(
    cur: &mut Cursor<'_>,
    op: &'static str,
    stop: fn(char) -> bool,
) -> Result<Value, PatternError> {
    cur.skip_ws();
    let start = cur.pos;
    match cur.peek() {
        Some('"') => Ok(Value::Str(quoted(cur)?)),
        Some('%') => {
            if cur.n_regexes >= MAX_REGEXES {
                return Err(cur.error(PatternErrorKind::TooManyRegexes { max: MAX_REGEXES }));
            }
            let (re, _) = regex_literal(cur)?;
            cur.n_regexes += 1;
            Ok(Value::Regex(re))
        }
        Some(ch) if is_bare_value_char(ch) => {
            let text = cur.take_while(is_bare_value_char);
            if let Some(ch) = cur.peek().filter(|&ch| !ch.is_whitespace() && !stop(ch)) {
                return Err(
                    cur.error(PatternErrorKind::UnquotedValueChar { found: describe_char(ch) })
                );
            }
            if matches!(text, "true" | "false" | "null") {
                return Err(PatternError::new(
                    start,
                    PatternErrorKind::BareKeywordValue { word: text.to_owned() },
                ));
            }
            if text == "*" {
                return Ok(Value::Any);
            }
            Ok(match Number::parse(text) {
                Some(n) => Value::Num(n),
                None => Value::Str(text.to_owned()),
            })
        }
        _ => Err(cur.error(PatternErrorKind::ExpectedValue { op, found: cur.found() })),
    }
}

/// Parses a comparison operator at the cursor, if there is one.
fn cmp_op(cur: &mut Cursor<'_>) -> Option<crate::ast::CmpOp> {
    use crate::ast::CmpOp;
    for (text, op) in [
        ("!=", CmpOp::Ne),
        ("<=", CmpOp::Le),
        (">=", CmpOp::Ge),
        ("=", CmpOp::Eq),
        ("<", CmpOp::Lt),
        (">", CmpOp::Gt),
    ] {
        if cur.eat(text) {
            return Some(op);
        }
    }
    None
}

/// Parses `op value` and checks that ordering operators get a number.
fn comparison_rhs(
    cur: &mut Cursor<'_>,
    op: crate::ast::CmpOp,
    op_offset: usize,
    stop: fn(char) -> bool,
) -> Result<Value, PatternError> {
    use crate::ast::CmpOp;
    let val = value(cur, op.as_str(), stop)?;
    let ordering = !matches!(op, CmpOp::Eq | CmpOp::Ne);
    if ordering && !matches!(val, Value::Num(_)) {
        return Err(PatternError::new(
            op_offset,
            PatternErrorKind::ExpectedNumber { op: op.as_str() },
        ));
    }
    Ok(val)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_by_first_char() {
        assert_eq!(parse("").unwrap(), Ast::MatchAll);
        assert_eq!(parse("   ").unwrap(), Ast::MatchAll);
        assert!(matches!(parse(" { $.a = 1 }").unwrap(), Ast::Json(_)));
        assert!(matches!(parse("[a]").unwrap(), Ast::Space(_)));
        assert!(matches!(parse("%a%").unwrap(), Ast::Regex(_)));
        assert!(matches!(parse("a").unwrap(), Ast::Terms(_)));
    }

    #[test]
    fn too_long() {
        let src = "a".repeat(MAX_PATTERN_CHARS + 1);
        assert_eq!(parse(&src).unwrap_err().offset, MAX_PATTERN_CHARS);
        assert!(parse(&"a".repeat(MAX_PATTERN_CHARS)).is_ok());
    }
}
