//! The typed syntax tree of a filter pattern and its canonical printer, following
//! <https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/FilterAndPatternSyntax.html>.
//!
//! The tree holds no source positions, so two spellings of one pattern
//! (`{$.a=1}` and `{ ($.a = 1) }`) give equal trees. `Display` prints the
//! canonical spelling, and parsing that spelling gives the same tree back.

use std::fmt;

/// A parsed filter pattern.
#[derive(Debug, Clone, PartialEq)]
pub enum Ast {
    /// The empty (or all-blank) pattern: matches every event.
    MatchAll,
    /// Unstructured terms, e.g. `ERROR -timeout ?WARN "disk full"`.
    Terms(Vec<Term>),
    /// A standalone regular expression, `%...%`, searched in the whole message.
    Regex(RegexSource),
    /// A JSON pattern, `{ ... }`.
    Json(JsonExpr),
    /// A space-delimited pattern, `[ ... ]`.
    Space(Vec<SpaceField>),
}

/// One term of an unstructured pattern.
#[derive(Debug, Clone, PartialEq)]
pub struct Term {
    /// Whether the term is required, one of several alternatives, or excluded.
    pub mode: TermMode,
    /// The text the term looks for.
    pub text: TermText,
}

/// How a term takes part in the match.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TermMode {
    /// A plain term: the event must contain it.
    Required,
    /// A `?term`: at least one of the pattern's `?` terms must be present.
    Optional,
    /// A `-term`: the event must not contain it.
    Excluded,
}

/// What a term looks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TermText {
    /// An unquoted word (letters, digits and `_`), matched against whole tokens.
    Word(String),
    /// A quoted phrase, matched as a case-sensitive substring.
    Phrase(String),
}

/// The source of a `%...%` regular expression, without the percent signs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegexSource(pub String);

/// A boolean expression of a JSON pattern.
#[derive(Debug, Clone, PartialEq)]
pub enum JsonExpr {
    /// One condition on one selector.
    Cond(JsonCond),
    /// All of two or more expressions (`&&`).
    And(Vec<JsonExpr>),
    /// Any of two or more expressions (`||`).
    Or(Vec<JsonExpr>),
}

/// A condition on the node a selector designates.
#[derive(Debug, Clone, PartialEq)]
pub struct JsonCond {
    /// The path into the event, e.g. `$.userIdentity.type`.
    pub selector: Selector,
    /// What the node must satisfy.
    pub test: JsonTest,
}

/// The test applied to a selected JSON node.
#[derive(Debug, Clone, PartialEq)]
pub enum JsonTest {
    /// `op value`.
    Compare(CmpOp, Value),
    /// `IS NULL`: the node is JSON `null`.
    IsNull,
    /// `IS TRUE`: the node is JSON `true`.
    IsTrue,
    /// `IS FALSE`: the node is JSON `false`.
    IsFalse,
    /// `NOT EXISTS`: the path is absent.
    NotExists,
}

/// A JSON selector: `$` followed by keys and array indexes.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Selector(pub Vec<PathStep>);

/// One step of a selector.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PathStep {
    /// `.key`; keys are letters, digits, `_` and `-`.
    Key(String),
    /// `[n]`, 0-based.
    Index(usize),
}

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CmpOp {
    /// `=`
    Eq,
    /// `!=`
    Ne,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
}

/// The right-hand side of a comparison.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// A string, where each `*` stands for any run of characters. Written
    /// quoted, or bare when it is not a number.
    Str(String),
    /// A number, written bare (`400`, `-1.5`, `1e-3`).
    Num(Number),
    /// A `%regex%`.
    Regex(RegexSource),
    /// A bare `*`: any string or number.
    Any,
}

/// A numeric literal; it keeps the spelling it was written with so that
/// printing is exact.
#[derive(Debug, Clone)]
pub struct Number {
    text: String,
    value: f64,
}

/// A slot of a space-delimited pattern.
#[derive(Debug, Clone, PartialEq)]
pub enum SpaceField {
    /// `...`: any number of fields.
    Ellipsis,
    /// A named field, with an optional condition.
    Named {
        /// The field name, exposed as `$name`.
        name: String,
        /// The condition in disjunctive form: the field matches if every
        /// comparison of one of the inner lists holds. Empty means no condition.
        alternatives: Vec<Vec<FieldCmp>>,
    },
}

/// One comparison on a space-delimited field (the field name is the slot's).
#[derive(Debug, Clone, PartialEq)]
pub struct FieldCmp {
    /// The operator.
    pub op: CmpOp,
    /// The value compared with the field.
    pub value: Value,
}

impl Number {
    /// Parses a numeric literal: optional `-`, digits, optional `.digits`,
    /// optional exponent (`e`/`E`, optional sign, digits). Returns `None` for
    /// anything else, or for a value that does not fit in an `f64`.
    pub fn parse(text: &str) -> Option<Number> {
        let b = text.as_bytes();
        let mut i = 0;
        if b.first() == Some(&b'-') {
            i += 1;
        }
        let digits = |i: &mut usize| {
            let start = *i;
            while *i < b.len() && b[*i].is_ascii_digit() {
                *i += 1;
            }
            *i > start
        };
        if !digits(&mut i) {
            return None;
        }
        if b.get(i) == Some(&b'.') {
            i += 1;
            if !digits(&mut i) {
                return None;
            }
        }
        if matches!(b.get(i), Some(b'e' | b'E')) {
            i += 1;
            if matches!(b.get(i), Some(b'+' | b'-')) {
                i += 1;
            }
            if !digits(&mut i) {
                return None;
            }
        }
        if i != b.len() {
            return None;
        }
        let value: f64 = text.parse().ok()?;
        value.is_finite().then(|| Number { text: text.to_owned(), value })
    }

    /// The numeric value.
    pub fn value(&self) -> f64 {
        self.value
    }

    /// The literal as written.
    pub fn text(&self) -> &str {
        &self.text
    }
}

impl PartialEq for Number {
    fn eq(&self, other: &Self) -> bool {
        self.text == other.text
    }
}

impl CmpOp {
    /// The operator's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            CmpOp::Eq => "=",
            CmpOp::Ne => "!=",
            CmpOp::Lt => "<",
            CmpOp::Le => "<=",
            CmpOp::Gt => ">",
            CmpOp::Ge => ">=",
        }
    }

    /// Applies the operator to two numbers.
    pub fn eval_num(self, lhs: f64, rhs: f64) -> bool {
        match self {
            CmpOp::Eq => lhs == rhs,
            CmpOp::Ne => lhs != rhs,
            CmpOp::Lt => lhs < rhs,
            CmpOp::Le => lhs <= rhs,
            CmpOp::Gt => lhs > rhs,
            CmpOp::Ge => lhs >= rhs,
        }
    }
}

impl fmt::Display for Ast {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Ast::MatchAll => Ok(()),
            Ast::Terms(terms) => {
                for (i, term) in terms.iter().enumerate() {
                    if i > 0 {
                        f.write_str(" ")?;
                    }
                    write!(f, "{term}")?;
                }
                Ok(())
            }
            Ast::Regex(re) => write!(f, "{re}"),
            Ast::Json(expr) => write!(f, "{{ {expr} }}"),
            Ast::Space(fields) => {
                f.write_str("[")?;
                for (i, field) in fields.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{field}")?;
                }
                f.write_str("]")
            }
        }
    }
}

impl fmt::Display for Term {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.mode {
            TermMode::Required => {}
            TermMode::Optional => f.write_str("?")?,
            TermMode::Excluded => f.write_str("-")?,
        }
        match &self.text {
            TermText::Word(w) => f.write_str(w),
            TermText::Phrase(p) => write_quoted(f, p),
        }
    }
}

impl fmt::Display for RegexSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "%{}%", self.0)
    }
}

impl fmt::Display for JsonExpr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            JsonExpr::Cond(c) => write!(f, "{c}"),
            JsonExpr::And(items) => {
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        f.write_str(" && ")?;
                    }
                    // `&&` binds tighter than `||`, so only nested groups need parentheses.
                    match item {
                        JsonExpr::Cond(_) => write!(f, "{item}")?,
                        _ => write!(f, "({item})")?,
                    }
                }
                Ok(())
            }
            JsonExpr::Or(items) => {
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        f.write_str(" || ")?;
                    }
                    match item {
                        JsonExpr::Or(_) => write!(f, "({item})")?,
                        _ => write!(f, "{item}")?,
                    }
                }
                Ok(())
            }
        }
    }
}

impl fmt::Display for JsonCond {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.selector)?;
        match &self.test {
            JsonTest::Compare(op, value) => write!(f, " {} {value}", op.as_str()),
            JsonTest::IsNull => f.write_str(" IS NULL"),
            JsonTest::IsTrue => f.write_str(" IS TRUE"),
            JsonTest::IsFalse => f.write_str(" IS FALSE"),
            JsonTest::NotExists => f.write_str(" NOT EXISTS"),
        }
    }
}

impl fmt::Display for Selector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("$")?;
        for step in &self.0 {
            match step {
                PathStep::Key(k) => write!(f, ".{k}")?,
                PathStep::Index(i) => write!(f, "[{i}]")?,
            }
        }
        Ok(())
    }
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Str(s) => write_quoted(f, s),
            Value::Num(n) => f.write_str(&n.text),
            Value::Regex(re) => write!(f, "{re}"),
            Value::Any => f.write_str("*"),
        }
    }
}

impl fmt::Display for SpaceField {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SpaceField::Ellipsis => f.write_str("..."),
            SpaceField::Named { name, alternatives } => {
                if alternatives.is_empty() {
                    return f.write_str(name);
                }
                for (i, all) in alternatives.iter().enumerate() {
                    if i > 0 {
                        f.write_str(" || ")?;
                    }
                    for (j, cmp) in all.iter().enumerate() {
                        if j > 0 {
                            f.write_str(" && ")?;
                        }
                        write!(f, "{name} {} {}", cmp.op.as_str(), cmp.value)?;
                    }
                }
                Ok(())
            }
        }
    }
}

/// Writes `s` in double quotes, escaping `\` and `"` with a backslash.
fn write_quoted(f: &mut fmt::Formatter<'_>, s: &str) -> fmt::Result {
    f.write_str("\"")?;
    for ch in s.chars() {
        if ch == '"' || ch == '\\' {
            f.write_str("\\")?;
        }
        write!(f, "{ch}")?;
    }
    f.write_str("\"")
}
