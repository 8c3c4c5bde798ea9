//! Parser for JSON patterns (`{ $.a = "x" && ($.b > 1 || $.c NOT EXISTS) }`),
//! following the "Using filter patterns to match terms in JSON log events"
//! section of <https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/FilterAndPatternSyntax.html>.
//!
//! Precedence is `()` over `&&` over `||`, as documented.

use super::{Cursor, MAX_DEPTH, cmp_op, comparison_rhs};
use crate::ast::{JsonCond, JsonExpr, JsonTest, PathStep, Selector};
use crate::error::{PatternError, PatternErrorKind};

/// Parses a JSON pattern; the cursor is on its `{`.
pub(super) fn parse(cur: &mut Cursor<'_>) -> Result<JsonExpr, PatternError> {
    cur.bump();
    let expr = or_expr(cur, 0)?;
    cur.skip_ws();
    if !cur.eat("}") {
        return Err(cur.error(PatternErrorKind::ExpectedJsonEnd { found: cur.found() }));
    }
    Ok(expr)
}

fn or_expr(cur: &mut Cursor<'_>, depth: usize) -> Result<JsonExpr, PatternError> {
    let mut items = vec![and_expr(cur, depth)?];
    loop {
        cur.skip_ws();
        if !cur.eat("||") {
            break;
        }
        items.push(and_expr(cur, depth)?);
    }
    Ok(if items.len() == 1 { items.remove(0) } else { JsonExpr::Or(items) })
}

fn and_expr(cur: &mut Cursor<'_>, depth: usize) -> Result<JsonExpr, PatternError> {
    let mut items = vec![unary(cur, depth)?];
    loop {
        cur.skip_ws();
        if !cur.eat("&&") {
            break;
        }
        items.push(unary(cur, depth)?);
    }
    Ok(if items.len() == 1 { items.remove(0) } else { JsonExpr::And(items) })
}

fn unary(cur: &mut Cursor<'_>, depth: usize) -> Result<JsonExpr, PatternError> {
    cur.skip_ws();
    match cur.peek() {
        Some('(') => {
            if depth >= MAX_DEPTH {
                return Err(cur.error(PatternErrorKind::TooDeep { max: MAX_DEPTH }));
            }
            cur.bump();
            let expr = or_expr(cur, depth + 1)?;
            cur.skip_ws();
            if !cur.eat(")") {
                return Err(cur.error(PatternErrorKind::ExpectedCloseParen { found: cur.found() }));
            }
            Ok(expr)
        }
        Some('$') => Ok(JsonExpr::Cond(cond(cur)?)),
        _ => Err(cur.error(PatternErrorKind::ExpectedSelector { found: cur.found() })),
    }
}

fn cond(cur: &mut Cursor<'_>) -> Result<JsonCond, PatternError> {
    let selector = selector(cur)?;
    cur.skip_ws();
    let op_offset = cur.pos;
    if let Some(op) = cmp_op(cur) {
        let value = comparison_rhs(cur, op, op_offset, |ch| matches!(ch, ')' | '&' | '|' | '}'))?;
        return Ok(JsonCond { selector, test: JsonTest::Compare(op, value) });
    }
    let test = if keyword(cur, "IS") {
        cur.skip_ws();
        let at = cur.pos;
        match cur.take_while(|ch| ch.is_ascii_alphabetic()) {
            "NULL" => JsonTest::IsNull,
            "TRUE" => JsonTest::IsTrue,
            "FALSE" => JsonTest::IsFalse,
            _ => {
                cur.pos = at;
                return Err(cur.error(PatternErrorKind::ExpectedIsKeyword { found: cur.found() }));
            }
        }
    } else if keyword(cur, "NOT") {
        cur.skip_ws();
        let at = cur.pos;
        if cur.take_while(|ch| ch.is_ascii_alphabetic()) != "EXISTS" {
            cur.pos = at;
            return Err(cur.error(PatternErrorKind::ExpectedExists { found: cur.found() }));
        }
        JsonTest::NotExists
    } else {
        return Err(cur.error(PatternErrorKind::ExpectedComparison { found: cur.found() }));
    };
    // A keyword must not run into the next word (`IS NULLX`).
    if cur.peek().is_some_and(|ch| ch.is_alphanumeric()) {
        return Err(cur.error(PatternErrorKind::ExpectedJsonEnd { found: cur.found() }));
    }
    Ok(JsonCond { selector, test })
}

/// Consumes `word` if it stands at the cursor followed by whitespace.
fn keyword(cur: &mut Cursor<'_>, word: &str) -> bool {
    let rest = cur.rest();
    if rest.starts_with(word) && rest[word.len()..].starts_with(char::is_whitespace) {
        cur.pos += word.len();
        true
    } else {
        false
    }
}

fn is_key_char(ch: char) -> bool {
    ch.is_alphanumeric() || ch == '_' || ch == '-'
}

/// Parses `$` followed by one or more `.key` / `[n]` steps.
fn selector(cur: &mut Cursor<'_>) -> Result<Selector, PatternError> {
    cur.bump();
    let mut steps = Vec::new();
    loop {
        if cur.eat(".") {
            let key = cur.take_while(is_key_char);
            if key.is_empty() {
                return Err(
                    cur.error(PatternErrorKind::ExpectedSelectorStep { found: cur.found() })
                );
            }
            steps.push(PathStep::Key(key.to_owned()));
        } else if cur.peek() == Some('[') {
            let open = cur.pos;
            cur.bump();
            if cur.peek() == Some('*') {
                return Err(PatternError::new(open, PatternErrorKind::ArrayWildcard));
            }
            let at = cur.pos;
            let digits = cur.take_while(|ch| ch.is_ascii_digit());
            let index = digits.parse::<usize>().ok().filter(|_| cur.eat("]"));
            match index {
                Some(index) => steps.push(PathStep::Index(index)),
                None => return Err(PatternError::new(at, PatternErrorKind::InvalidIndex)),
            }
        } else {
            break;
        }
    }
    if steps.is_empty() {
        return Err(cur.error(PatternErrorKind::ExpectedSelectorStep { found: cur.found() }));
    }
    Ok(Selector(steps))
}

/// Parses a whole string as a selector (`$.a.b[0]`), as used by metric values
/// and dimensions.
pub(crate) fn parse_selector(text: &str) -> Option<Selector> {
    let mut cur = Cursor::new(text);
    if cur.peek() != Some('$') {
        return None;
    }
    let selector = selector(&mut cur).ok()?;
    cur.at_end().then_some(selector)
}
