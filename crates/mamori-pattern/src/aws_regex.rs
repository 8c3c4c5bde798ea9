//! Maps AWS's filter-pattern regex subset onto the `regex` crate, following
//! <https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/regex-expressions.html>.
//!
//! AWS accepts only ASCII letters and digits, the symbols `: _ # = @ / ; , -`
//! and the operators `^ $ ? [ ] { } | \ * + .`; there are no groups and no
//! multi-byte characters. Everything else is a syntax error, so an unsupported
//! construct never turns into a pattern that matches more than intended.
//! Backslash escapes are limited to the classes `\d \D \s \S \w \W`, which are
//! rewritten to their ASCII meaning, and to escaping one of the accepted
//! symbols or operators.

use crate::error::{PatternError, PatternErrorKind};

/// Compiled program size limit; keeps one pattern from using unbounded memory.
const SIZE_LIMIT: usize = 1 << 20;

/// Checks `src` (the text between the `%` signs, found at byte `offset` of the
/// pattern) and compiles it.
pub(crate) fn compile(src: &str, offset: usize) -> Result<regex::Regex, PatternError> {
    let translated = translate(src, offset)?;
    regex::RegexBuilder::new(&translated)
        .size_limit(SIZE_LIMIT)
        .dfa_size_limit(SIZE_LIMIT)
        .build()
        .map_err(|err| {
            let reason = match err {
                regex::Error::Syntax(text) => {
                    text.lines().rev().find(|l| !l.trim().is_empty()).unwrap_or("").to_owned()
                }
                regex::Error::CompiledTooBig(_) => "the expression is too large".to_owned(),
                _ => "the expression cannot be compiled".to_owned(),
            };
            PatternError::new(offset, PatternErrorKind::RegexInvalid { reason })
        })
}

/// Rewrites AWS syntax into `regex` crate syntax, rejecting what AWS rejects.
fn translate(src: &str, offset: usize) -> Result<String, PatternError> {
    let mut res = String::with_capacity(src.len() + 8);
    let mut chars = src.char_indices();
    while let Some((i, ch)) = chars.next() {
        match ch {
            'a'..='z' | 'A'..='Z' | '0'..='9' => res.push(ch),
            ':' | '_' | '#' | '=' | '@' | '/' | ';' | ',' | '-' => res.push(ch),
            '^' | '$' | '?' | '[' | ']' | '{' | '}' | '|' | '*' | '+' | '.' => res.push(ch),
            '\\' => {
                let Some((_, esc)) = chars.next() else {
                    return Err(PatternError::new(
                        offset + i,
                        PatternErrorKind::RegexInvalid { reason: "trailing backslash".to_owned() },
                    ));
                };
                // Bracketed forms work both inside and outside a class.
                match esc {
                    'd' => res.push_str("[0-9]"),
                    'D' => res.push_str("[^0-9]"),
                    's' => res.push_str("[\\t\\n\\x0B\\x0C\\r ]"),
                    'S' => res.push_str("[^\\t\\n\\x0B\\x0C\\r ]"),
                    'w' => res.push_str("[0-9A-Za-z_]"),
                    'W' => res.push_str("[^0-9A-Za-z_]"),
                    ':' | '_' | '#' | '=' | '@' | '/' | ';' | ',' | '-' | '^' | '$' | '?' | '['
                    | ']' | '{' | '}' | '|' | '\\' | '*' | '+' | '.' => {
                        res.push('\\');
                        res.push(esc);
                    }
                    _ => {
                        return Err(PatternError::new(
                            offset + i,
                            PatternErrorKind::RegexEscape { escape: esc },
                        ));
                    }
                }
            }
            _ => {
                let found = if ch.is_ascii() {
                    crate::parse::describe_char(ch)
                } else {
                    format!("multi-byte character {ch:?}")
                };
                return Err(PatternError::new(offset + i, PatternErrorKind::RegexChar { found }));
            }
        }
    }
    Ok(res)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepted_and_rejected() {
        let cases = [
            // regex                  ok
            ("AUTHORIZED", true),
            ("\\d{1,3}\\.\\d{1,3}", true),
            ("[Ee]rror|[Ff]ail", true),
            ("^[hc]at$", true),
            ("colou?r", true),
            ("a{3,5}", true),
            ("[^\\d]x", true),
            ("(a)", false),
            ("something!", false),
            ("a b", false),
            ("é", false),
            ("\\p", false),
            ("\\", false),
            ("*a", false),
        ];
        for (src, ok) in cases {
            assert_eq!(compile(src, 0).is_ok(), ok, "regex={src:?}");
        }
    }

    #[test]
    fn classes_are_ascii() {
        let re = compile("^\\d+$", 0).unwrap();
        assert!(re.is_match("123"));
        assert!(!re.is_match("١٢٣"));
    }
}
