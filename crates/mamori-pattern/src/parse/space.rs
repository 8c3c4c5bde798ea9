//! Parser for space-delimited patterns (`[ip, user, ..., status_code = 4*, bytes > 1000]`),
//! following the "Using filter patterns to match terms in space-delimited log
//! events" section of <https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/FilterAndPatternSyntax.html>.
//!
//! Inside one slot `&&` binds tighter than `||` and there are no parentheses,
//! so a slot's condition is kept as an OR of ANDs.

use super::{Cursor, cmp_op, comparison_rhs, is_word_char};
use crate::ast::{FieldCmp, SpaceField};
use crate::error::{PatternError, PatternErrorKind};

/// Parses a space-delimited pattern; the cursor is on its `[`.
pub(super) fn parse(cur: &mut Cursor<'_>) -> Result<Vec<SpaceField>, PatternError> {
    cur.bump();
    let mut fields = Vec::new();
    loop {
        cur.skip_ws();
        if cur.eat("...") {
            fields.push(SpaceField::Ellipsis);
        } else {
            fields.push(named(cur)?);
        }
        cur.skip_ws();
        if cur.eat(",") {
            continue;
        }
        if cur.eat("]") {
            return Ok(fields);
        }
        return Err(cur.error(PatternErrorKind::ExpectedFieldEnd { found: cur.found() }));
    }
}

fn named(cur: &mut Cursor<'_>) -> Result<SpaceField, PatternError> {
    let name = field_name(cur)?.to_owned();
    cur.skip_ws();
    let mut alternatives: Vec<Vec<FieldCmp>> = Vec::new();
    if cur.peek().is_some_and(|ch| matches!(ch, '=' | '!' | '<' | '>')) {
        alternatives.push(vec![comparison(cur)?]);
        loop {
            cur.skip_ws();
            let new_group = if cur.eat("&&") {
                false
            } else if cur.eat("||") {
                true
            } else {
                break;
            };
            cur.skip_ws();
            let at = cur.pos;
            if field_name(cur)? != name {
                return Err(PatternError::new(
                    at,
                    PatternErrorKind::FieldNameMismatch { expected: name },
                ));
            }
            cur.skip_ws();
            let cmp = comparison(cur)?;
            match alternatives.last_mut() {
                Some(group) if !new_group => group.push(cmp),
                _ => alternatives.push(vec![cmp]),
            }
        }
    }
    Ok(SpaceField::Named { name, alternatives })
}

fn field_name<'a>(cur: &mut Cursor<'a>) -> Result<&'a str, PatternError> {
    let name = cur.take_while(is_word_char);
    if name.is_empty() {
        return Err(cur.error(PatternErrorKind::ExpectedFieldName { found: cur.found() }));
    }
    Ok(name)
}

fn comparison(cur: &mut Cursor<'_>) -> Result<FieldCmp, PatternError> {
    let op_offset = cur.pos;
    let Some(op) = cmp_op(cur) else {
        return Err(cur.error(PatternErrorKind::ExpectedFieldComparison { found: cur.found() }));
    };
    let value = comparison_rhs(cur, op, op_offset, |ch| matches!(ch, ',' | ']' | '&' | '|'))?;
    Ok(FieldCmp { op, value })
}
