//! Wildcard matching for actions, resource ARNs and `StringLike`/`ArnLike` values, following
//! <https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_action.html>,
//! <https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_resource.html>
//! and the ARN operators of
//! <https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html>.
//!
//! A pattern is compiled once into [`Glob`]: the common shapes (`*`, an exact string, a literal
//! prefix followed by `*`) get a fast path, and everything else runs a small NFA over a bitset
//! kept on the stack, so matching never allocates for patterns of up to 255 tokens.
//!
//! Resource ARNs follow the documented rule: `*` and `?` stay inside one colon-separated segment
//! of the first five (partition, service, region, account), except that a `*` which is the last
//! character of a segment "can expand to match beyond colon boundaries". In the resource part
//! (after the fifth colon) wildcards match any character. `ArnLike` conditions compare "each of
//! the six colon-delimited components separately", so there a `*` never leaves its segment.

/// One element of a compiled wildcard pattern.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Tok {
    /// A literal character (already lower-cased for case-insensitive globs).
    Lit(char),
    /// `?`: any single character; with `seg`, any character except `:`.
    One { seg: bool },
    /// `*`: any run of characters; with `seg`, a run without `:`.
    Star { seg: bool },
}

/// How `*` and `?` treat the `:` separators of an ARN.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    /// Plain glob: wildcards match any character (actions, `StringLike`).
    Plain,
    /// `Resource` element: wildcards stay in the first five segments, except a trailing `*`.
    ArnResource,
    /// `ArnLike` condition: wildcards never cross the first five colons.
    ArnCondition,
}

/// A compiled wildcard pattern.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Glob {
    kind: GlobKind,
    /// Compare ASCII letters case-insensitively (the pattern is stored lower-cased).
    fold: bool,
}

#[derive(Debug, Clone, PartialEq)]
enum GlobKind {
    Any,
    Exact(Box<str>),
    Prefix(Box<str>),
    /// Literal chunks around `*`s that match any character, and no `?`: the chunks are found
    /// left to right with substring search.
    Chunks {
        first: Box<str>,
        middle: Box<[Box<str>]>,
        last: Box<str>,
    },
    /// Every `*` may match any character: a greedy matcher with one backtrack point suffices.
    Simple(Box<[Tok]>),
    /// Some wildcard must stay inside an ARN segment: run the NFA.
    General(Box<[Tok]>),
}

impl Glob {
    /// Compiles `pattern` where every `*` and `?` is a wildcard.
    pub(crate) fn new(pattern: &str, mode: Mode, fold: bool) -> Self {
        Self::from_toks(compile(pattern.chars().map(|c| (c, false)), mode, fold), fold)
    }

    /// Builds a glob from already compiled tokens, picking a fast path where one applies.
    pub(crate) fn from_toks(toks: Vec<Tok>, fold: bool) -> Self {
        let lits = |toks: &[Tok]| -> Option<String> {
            toks.iter().map(|t| if let Tok::Lit(c) = t { Some(*c) } else { None }).collect()
        };
        let general = |toks: Vec<Tok>| {
            let segmented =
                toks.iter().any(|t| matches!(t, Tok::Star { seg: true } | Tok::One { seg: true }));
            if segmented {
                return GlobKind::General(toks.into());
            }
            if toks.iter().any(|t| matches!(t, Tok::One { .. })) {
                return GlobKind::Simple(toks.into());
            }
            let mut chunks: Vec<Box<str>> = toks
                .split(|t| matches!(t, Tok::Star { .. }))
                .map(|chunk| lits(chunk).unwrap_or_default().into())
                .collect();
            // `split` yields at least two chunks here because there is at least one star.
            let last = chunks.pop().unwrap_or_default();
            let first = if chunks.is_empty() { Box::default() } else { chunks.remove(0) };
            let middle = chunks.into_iter().filter(|c| !c.is_empty()).collect();
            GlobKind::Chunks { first, middle, last }
        };
        let kind = match toks.split_last() {
            None => GlobKind::Exact("".into()),
            Some((Tok::Star { seg: false }, [])) => GlobKind::Any,
            Some((Tok::Star { seg: false }, rest)) => match lits(rest) {
                Some(prefix) => GlobKind::Prefix(prefix.into()),
                None => general(toks),
            },
            Some(_) => match lits(&toks) {
                Some(exact) => GlobKind::Exact(exact.into()),
                None => general(toks),
            },
        };
        Self { kind, fold }
    }

    /// Whether `text` matches the whole pattern.
    pub(crate) fn matches(&self, text: &str) -> bool {
        match &self.kind {
            GlobKind::Any => true,
            GlobKind::Exact(p) if self.fold => p.as_bytes().eq_ignore_ascii_case(text.as_bytes()),
            GlobKind::Exact(p) => **p == *text,
            GlobKind::Prefix(p) if self.fold => {
                text.len() >= p.len()
                    && p.as_bytes().eq_ignore_ascii_case(&text.as_bytes()[..p.len()])
            }
            GlobKind::Prefix(p) => text.starts_with(&**p),
            GlobKind::Chunks { first, middle, last } => {
                match_chunks(first, middle, last, text, self.fold)
            }
            GlobKind::Simple(toks) => match_greedy(toks, text, self.fold),
            GlobKind::General(toks) => match_toks(toks, text, self.fold),
        }
    }
}

fn match_chunks(first: &str, middle: &[Box<str>], last: &str, text: &str, fold: bool) -> bool {
    let eq = |a: &[u8], b: &[u8]| if fold { a.eq_ignore_ascii_case(b) } else { bytes_eq(a, b) };
    let bytes = text.as_bytes();
    if bytes.len() < first.len() + last.len()
        || !eq(&bytes[..first.len()], first.as_bytes())
        || !eq(&bytes[bytes.len() - last.len()..], last.as_bytes())
    {
        return false;
    }
    let mut rest = &bytes[first.len()..bytes.len() - last.len()];
    for chunk in middle {
        let chunk = chunk.as_bytes();
        // Byte-wise search is exact for UTF-8: a chunk starting with a lead byte can only
        // match at a character boundary, and ASCII folding never touches non-ASCII bytes.
        let found = if fold {
            rest.windows(chunk.len()).position(|w| w.eq_ignore_ascii_case(chunk))
        } else {
            find_bytes(rest, chunk)
        };
        match found {
            Some(idx) => rest = &rest[idx + chunk.len()..],
            None => return false,
        }
    }
    true
}

/// Equality of short byte strings with an early exit; ARN chunks are a few dozen bytes, where
/// a call into the C library's `memcmp` costs more than the comparison (seen in `perf`).
fn bytes_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x == y)
}

fn find_bytes(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    let (&head, tail) = needle.split_first()?;
    let mut from = 0;
    while let Some(offset) = haystack[from..].iter().position(|&b| b == head) {
        let at = from + offset;
        let candidate = &haystack[at + 1..];
        if candidate.len() >= tail.len() && bytes_eq(&candidate[..tail.len()], tail) {
            return Some(at);
        }
        from = at + 1;
    }
    None
}

/// The classic wildcard matcher for patterns whose `*` and `?` match any character: on a
/// mismatch, let the most recent `*` swallow one more character and retry from there.
fn match_greedy(toks: &[Tok], text: &str, fold: bool) -> bool {
    let next_char = |at: usize| text[at..].chars().next();
    let (mut pi, mut ti) = (0, 0);
    let mut backtrack: Option<(usize, usize)> = None;
    loop {
        if let Some(tok) = toks.get(pi) {
            let c = next_char(ti);
            match (*tok, c) {
                (Tok::Star { .. }, _) => {
                    pi += 1;
                    backtrack = Some((pi, ti));
                    continue;
                }
                (Tok::One { .. }, Some(c)) => {
                    pi += 1;
                    ti += c.len_utf8();
                    continue;
                }
                (Tok::Lit(l), Some(c)) if l == if fold { c.to_ascii_lowercase() } else { c } => {
                    pi += 1;
                    ti += c.len_utf8();
                    continue;
                }
                _ => {}
            }
        } else if ti == text.len() {
            return true;
        }
        match backtrack {
            Some((star_pi, star_ti)) => match next_char(star_ti) {
                Some(c) => {
                    backtrack = Some((star_pi, star_ti + c.len_utf8()));
                    pi = star_pi;
                    ti = star_ti + c.len_utf8();
                }
                None => return false,
            },
            None => return false,
        }
    }
}

/// Compiles characters into tokens. A `true` flag marks a character that must match literally
/// (from a `${*}`-style escape or a substituted variable), never as a wildcard.
pub(crate) fn compile(
    chars: impl Iterator<Item = (char, bool)>,
    mode: Mode,
    fold: bool,
) -> Vec<Tok> {
    let chars: Vec<(char, bool)> = chars.collect();
    let n_colons = chars.iter().filter(|(c, lit)| *c == ':' && !lit).count();
    // An `ArnLike` value without any colon (such as a bare `*`) is a plain glob; one with some
    // colons keeps its segments, so `arn:aws:sns:*` does not match a full topic ARN.
    let mode = if mode == Mode::ArnCondition && n_colons == 0 { Mode::Plain } else { mode };
    let mut res = Vec::with_capacity(chars.len());
    let mut colons = 0;
    for (idx, &(c, literal)) in chars.iter().enumerate() {
        let in_head = mode != Mode::Plain && colons < 5;
        let next_is_boundary = matches!(chars.get(idx + 1), None | Some((':', _)));
        res.push(match c {
            '*' if !literal => {
                let seg = in_head && !(mode == Mode::ArnResource && next_is_boundary);
                Tok::Star { seg }
            }
            '?' if !literal => Tok::One { seg: in_head },
            _ => {
                if c == ':' {
                    colons += 1;
                }
                Tok::Lit(if fold { c.to_ascii_lowercase() } else { c })
            }
        });
    }
    res
}

/// Runs the pattern as an NFA: bit `i` of the state set means "`toks[..i]` matched so far".
pub(crate) fn match_toks(toks: &[Tok], text: &str, fold: bool) -> bool {
    const STACK_WORDS: usize = 4;
    let n_words = (toks.len() + 1).div_ceil(64);
    let (mut stack_a, mut stack_b) = ([0u64; STACK_WORDS], [0u64; STACK_WORDS]);
    let (mut heap_a, mut heap_b);
    let (mut cur, mut next): (&mut [u64], &mut [u64]) = if n_words <= STACK_WORDS {
        (&mut stack_a[..n_words], &mut stack_b[..n_words])
    } else {
        heap_a = vec![0u64; n_words];
        heap_b = vec![0u64; n_words];
        (&mut heap_a, &mut heap_b)
    };
    cur[0] = 1;
    close(toks, cur);
    for c in text.chars() {
        let c = if fold { c.to_ascii_lowercase() } else { c };
        next.fill(0);
        let mut alive = false;
        for (word_idx, &word) in cur.iter().enumerate() {
            let mut bits = word;
            while bits != 0 {
                let state = word_idx * 64 + bits.trailing_zeros() as usize;
                bits &= bits - 1;
                let Some(tok) = toks.get(state) else { continue };
                let target = match *tok {
                    Tok::Lit(l) if l == c => state + 1,
                    Tok::One { seg } if !(seg && c == ':') => state + 1,
                    Tok::Star { seg } if !(seg && c == ':') => state,
                    _ => continue,
                };
                next[target / 64] |= 1 << (target % 64);
                alive = true;
            }
        }
        if !alive {
            return false;
        }
        close(toks, next);
        std::mem::swap(&mut cur, &mut next);
    }
    let accept = toks.len();
    cur[accept / 64] & (1 << (accept % 64)) != 0
}

/// Adds the states reachable by letting a `*` match nothing.
fn close(toks: &[Tok], states: &mut [u64]) {
    for word_idx in 0..states.len() {
        let mut bits = states[word_idx];
        while bits != 0 {
            let idx = word_idx * 64 + bits.trailing_zeros() as usize;
            bits &= bits - 1;
            if matches!(toks.get(idx), Some(Tok::Star { .. })) {
                let target = idx + 1;
                states[target / 64] |= 1 << (target % 64);
                // A star right after this one is picked up later in this word, or in the next.
                if target / 64 == word_idx {
                    bits |= 1 << (target % 64);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn action_globs_ignore_case() {
        let cases = [
            // pattern            action                     matches
            ("*", "s3:GetObject", true),
            ("s3:*", "S3:GetObject", true),
            ("s3:Get*", "s3:getobject", true),
            ("s3:Get*", "s3:PutObject", false),
            ("iam:*AccessKey*", "iam:CreateAccessKey", true),
            ("iam:*AccessKey*", "iam:ListUsers", false),
            ("ec2:Describe?nstances", "ec2:DescribeInstances", true),
            ("ec2:Describe?nstances", "ec2:DescribeXXnstances", false),
            ("sqs:SendMessage", "SQS:SENDMESSAGE", true),
            ("sqs:SendMessage", "sqs:SendMessageBatch", false),
        ];
        for (pattern, action, want) in cases {
            let glob = Glob::new(&pattern.to_ascii_lowercase(), Mode::Plain, true);
            assert_eq!(glob.matches(action), want, "pattern={pattern:?} action={action:?}");
        }
    }

    /// <https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_resource.html>
    #[test]
    fn resource_arn_globs() {
        let cases = [
            ("*", "arn:aws:s3:::bucket", true),
            (
                "arn:aws:s3:::amzn-s3-demo-bucket/*",
                "arn:aws:s3:::amzn-s3-demo-bucket/a/b.txt",
                true,
            ),
            ("arn:aws:s3:::amzn-s3-demo-bucket/*", "arn:aws:s3:::amzn-s3-demo-bucket", false),
            ("arn:aws:s3:::amzn-s3-demo-bucket/*", "arn:aws:s3:::AMZN-s3-demo-bucket/x", false),
            ("arn:aws:iam::123456789012:user/Bob", "arn:aws:iam::123456789012:user/bob", false),
            (
                "arn:aws:iam::*:user/accounting/*",
                "arn:aws:iam::123456789012:user/accounting/x",
                true,
            ),
            // A trailing `*` may cross colon boundaries; an inner one may not.
            ("arn:aws:s3:*", "arn:aws:s3:::bucket/key", true),
            ("arn:aws:ec2:us-*-1:*:instance/*", "arn:aws:ec2:us-east-1:1:instance/i-1", true),
            ("arn:aws:ec2:us-*1:*:instance/*", "arn:aws:ec2:us:x:1:1:instance/i-1", false),
            ("arn:aws:ec2:?s-east-1:*:*", "arn:aws:ec2:us-east-1:1:volume/v", true),
            (
                "arn:aws:logs:*:*:log-group:app*",
                "arn:aws:logs:r:1:log-group:app:log-stream:s",
                true,
            ),
            ("arn:aws:s3:::a?c", "arn:aws:s3:::a/c", true),
        ];
        for (pattern, arn, want) in cases {
            let glob = Glob::new(pattern, Mode::ArnResource, false);
            assert_eq!(glob.matches(arn), want, "pattern={pattern:?} arn={arn:?}");
        }
    }

    #[test]
    fn arn_like_keeps_segments() {
        let cases = [
            (
                "arn:aws:cloudtrail:*:111122223333:trail/*",
                "arn:aws:cloudtrail:us-east-1:111122223333:trail/t",
                true,
            ),
            ("arn:aws:sns:*", "arn:aws:sns:us-east-1:111122223333:topic", false),
            ("arn:aws:sns:*:*:*", "arn:aws:sns:us-east-1:111122223333:topic", true),
            ("*", "arn:aws:sns:us-east-1:111122223333:topic", true),
        ];
        for (pattern, arn, want) in cases {
            let glob = Glob::new(pattern, Mode::ArnCondition, false);
            assert_eq!(glob.matches(arn), want, "pattern={pattern:?} arn={arn:?}");
        }
    }

    #[test]
    fn escaped_wildcards_are_literal() {
        let toks =
            compile([('a', false), ('*', true), ('*', false)].into_iter(), Mode::Plain, false);
        let glob = Glob::from_toks(toks, false);
        assert!(glob.matches("a*xyz"));
        assert!(!glob.matches("abc"));
    }

    #[test]
    fn greedy_and_nfa_agree() {
        let patterns = ["a*b*c", "*a?", "??*", "a**b", "*", "x*y*z*", "é*ü?", "*b*", "ab*ab", "*é"];
        let texts = ["abc", "aXbYc", "ab", "ba", "a", "", "xyz", "xxyyzz", "éaüb", "abcabc", "aba"];
        for pattern in patterns {
            let toks = compile(pattern.chars().map(|c| (c, false)), Mode::Plain, false);
            let glob = Glob::from_toks(toks.clone(), false);
            for text in texts {
                let want = match_toks(&toks, text, false);
                assert_eq!(match_greedy(&toks, text, false), want, "{pattern:?} {text:?}");
                assert_eq!(glob.matches(text), want, "{pattern:?} {text:?} {glob:?}");
            }
        }
    }

    proptest::proptest! {
        /// Every fast path (exact, prefix, chunks, greedy) agrees with the NFA.
        #[test]
        fn fast_paths_agree_with_the_nfa(
            pattern in "[aAb:/*?é]{0,12}",
            text in "[aAb:/é]{0,16}",
            mode in proptest::sample::select(vec![Mode::Plain, Mode::ArnResource, Mode::ArnCondition]),
            fold: bool,
        ) {
            let pattern = if fold { pattern.to_ascii_lowercase() } else { pattern };
            let toks = compile(pattern.chars().map(|c| (c, false)), mode, fold);
            let glob = Glob::from_toks(toks.clone(), fold);
            proptest::prop_assert_eq!(glob.matches(&text), match_toks(&toks, &text, fold), "{:?}", glob);
        }
    }

    #[test]
    fn long_patterns_use_the_heap() {
        let pattern = format!("{}*", "a?".repeat(200));
        let text = "ab".repeat(200) + "tail";
        assert!(Glob::new(&pattern, Mode::Plain, false).matches(&text));
        assert!(!Glob::new(&pattern, Mode::Plain, false).matches("ab"));
    }
}
