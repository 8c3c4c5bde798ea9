//! Policy variables (`${aws:username}`, `${aws:PrincipalTag/team, 'default'}`, `${*}`), following
//! <https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_variables.html>.
//!
//! Variables only exist in policies with `"Version": "2012-10-17"`; the parser does not build a
//! [`Template`] for older policies, so there `${...}` is plain text. A value substituted for a
//! variable, and the escaped characters `${*}`, `${?}` and `${$}`, always match literally: they
//! never act as wildcards.

use crate::request::{ContextValue, Lookup};

/// A string with policy variables, split into its pieces.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Template {
    pieces: Vec<Piece>,
}

#[derive(Debug, Clone, PartialEq)]
enum Piece {
    /// Text from the policy; `*` and `?` in it keep their wildcard meaning.
    Text(String),
    /// `${*}`, `${?}` or `${$}`.
    Escaped(char),
    /// `${key}` or `${key, 'default'}`; `key` is lower-cased because keys are case-insensitive.
    Var { key: String, default: Option<String> },
}

impl Template {
    /// Splits `text` into pieces, or returns `None` when it contains no variable at all.
    pub(crate) fn parse(text: &str) -> Option<Self> {
        let mut pieces = Vec::new();
        let mut rest = text;
        let mut literal = String::new();
        let mut found = false;
        while let Some(start) = rest.find("${") {
            let after = &rest[start + 2..];
            let Some(end) = after.find('}') else { break };
            let piece = parse_var(&after[..end]);
            literal.push_str(&rest[..start]);
            match piece {
                Some(piece) => {
                    found = true;
                    if !literal.is_empty() {
                        pieces.push(Piece::Text(std::mem::take(&mut literal)));
                    }
                    pieces.push(piece);
                }
                // Not a variable (such as `${}`): keep the text as it is.
                None => literal.push_str(&rest[start..start + 2 + end + 1]),
            }
            rest = &after[end + 1..];
        }
        if !found {
            return None;
        }
        literal.push_str(rest);
        if !literal.is_empty() {
            pieces.push(Piece::Text(literal));
        }
        Some(Self { pieces })
    }

    /// Resolves the template against the request context into `(char, literal)` pairs.
    ///
    /// Returns `false` when a variable has neither a value nor a default: the documented rule
    /// is that the element (or condition value) then matches nothing.
    pub(crate) fn resolve(&self, ctx: &dyn Lookup, out: &mut Vec<(char, bool)>) -> bool {
        for piece in &self.pieces {
            match piece {
                Piece::Text(text) => out.extend(text.chars().map(|c| (c, false))),
                Piece::Escaped(c) => out.push((*c, true)),
                Piece::Var { key, default } => match ctx.lookup(key).and_then(single_string) {
                    Some(value) => out.extend(value.chars().map(|c| (c, true))),
                    None => match default {
                        Some(value) => out.extend(value.chars().map(|c| (c, true))),
                        None => return false,
                    },
                },
            }
        }
        true
    }

    /// Resolves the template into a plain string (for the exact-match operators).
    pub(crate) fn resolve_string(&self, ctx: &dyn Lookup) -> Option<String> {
        let mut chars = Vec::new();
        self.resolve(ctx, &mut chars).then(|| chars.into_iter().map(|(c, _)| c).collect())
    }
}

/// Interprets the inside of `${...}`.
fn parse_var(inner: &str) -> Option<Piece> {
    match inner {
        "*" => return Some(Piece::Escaped('*')),
        "?" => return Some(Piece::Escaped('?')),
        "$" => return Some(Piece::Escaped('$')),
        _ => {}
    }
    let (key, default) = match inner.split_once(',') {
        Some((key, default)) => {
            let default = default.trim();
            let quoted = default.len() >= 2 && default.starts_with('\'') && default.ends_with('\'');
            if !quoted {
                return None;
            }
            (key.trim(), Some(default[1..default.len() - 1].to_owned()))
        }
        None => (inner.trim(), None),
    };
    let valid = !key.is_empty() && !key.contains(['$', '{', '\'', ' ']);
    valid.then(|| Piece::Var { key: key.to_ascii_lowercase(), default })
}

/// The value a variable takes. A multivalued key has no single value, so it counts as unset.
fn single_string(value: &ContextValue) -> Option<String> {
    match value {
        ContextValue::Single(v) => Some(v.to_policy_string()),
        ContextValue::Multi(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn resolve(template: &str, ctx: &BTreeMap<String, ContextValue>) -> Option<String> {
        Template::parse(template)?.resolve_string(ctx)
    }

    /// <https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_variables.html>
    #[test]
    fn documented_variables() {
        let mut ctx = BTreeMap::new();
        ctx.insert("aws:username".to_owned(), ContextValue::from("david"));
        ctx.insert("aws:PrincipalTag/team".to_owned(), ContextValue::from("red"));
        let cases = [
            ("home/${aws:username}/", Some("home/david/")),
            ("home/${AWS:UserName}/", Some("home/david/")),
            ("${aws:PrincipalTag/team}", Some("red")),
            ("${aws:PrincipalTag/dept, 'company-wide'}", Some("company-wide")),
            ("${aws:PrincipalTag/team, 'company-wide'}", Some("red")),
            ("${aws:userid}", None),
            ("a${*}b${?}c${$}", Some("a*b?c$")),
        ];
        for (template, want) in cases {
            assert_eq!(resolve(template, &ctx).as_deref(), want, "template={template:?}");
        }
    }

    #[test]
    fn text_without_variables_is_not_a_template() {
        for text in ["plain", "${", "${}", "a${b", "${x, nodefault}"] {
            assert!(Template::parse(text).is_none(), "text={text:?}");
        }
    }
}
