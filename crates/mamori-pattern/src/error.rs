//! Syntax errors of filter patterns and metric transformations, for the rules of
//! <https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/FilterAndPatternSyntax.html>
//! and <https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_MetricTransformation.html>.
//!
//! The messages name no AWS error code: the Logs service maps a `PatternError`
//! to its wire error once, at its edge.

/// A pattern that could not be parsed: where, and what was expected there.
///
/// `offset` counts bytes from the start of the pattern (equal to characters for
/// ASCII patterns).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid filter pattern at offset {offset}: {kind}")]
pub struct PatternError {
    /// Byte offset of the offending input.
    pub offset: usize,
    /// What went wrong.
    pub kind: PatternErrorKind,
}

/// The reason a pattern was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PatternErrorKind {
    /// The pattern is longer than AWS allows.
    #[error("a filter pattern is at most {max} characters long")]
    TooLong {
        /// The limit.
        max: usize,
    },
    /// Parentheses nest deeper than the parser allows.
    #[error("parentheses nest deeper than {max} levels")]
    TooDeep {
        /// The limit.
        max: usize,
    },
    /// Something followed a complete pattern.
    #[error("unexpected {found} after the end of the pattern")]
    TrailingInput {
        /// What was found.
        found: String,
    },
    /// A quoted string has no closing quote.
    #[error("unterminated quoted string: expected a closing '\"'")]
    UnterminatedString,
    /// A `?` or `-` prefix with no term after it.
    #[error("expected a term after '{prefix}'")]
    ExpectedTerm {
        /// The prefix.
        prefix: char,
    },
    /// A bare term with a character that needs quoting.
    #[error(
        "unquoted term contains {found}; only letters, digits and '_' may be unquoted, quote the term"
    )]
    UnquotedTermChar {
        /// The character, described.
        found: String,
    },
    /// Two terms written without whitespace between them.
    #[error("expected whitespace between terms, found {found}")]
    ExpectedTermSeparator {
        /// What was found.
        found: String,
    },
    /// A JSON pattern without a condition where one was needed.
    #[error("expected a selector such as '$.field' or '(', found {found}")]
    ExpectedSelector {
        /// What was found.
        found: String,
    },
    /// A selector step that is not `.key` or `[n]`.
    #[error("expected '.key' or '[index]' in selector, found {found}")]
    ExpectedSelectorStep {
        /// What was found.
        found: String,
    },
    /// `$.a[*]` and other non-integer indexes.
    #[error("array wildcard '[*]' is not supported in selectors; use an index such as [0]")]
    ArrayWildcard,
    /// An index that is not a non-negative integer.
    #[error("expected a non-negative integer index followed by ']'")]
    InvalidIndex,
    /// A selector not followed by an operator or keyword.
    #[error("expected a comparison operator after selector, found {found}")]
    ExpectedComparison {
        /// What was found.
        found: String,
    },
    /// A space-delimited field name followed by `!` or another non-operator.
    #[error("expected a comparison operator after field name, found {found}")]
    ExpectedFieldComparison {
        /// What was found.
        found: String,
    },
    /// `IS` followed by something else than NULL, TRUE or FALSE.
    #[error("expected NULL, TRUE or FALSE after IS, found {found}")]
    ExpectedIsKeyword {
        /// What was found.
        found: String,
    },
    /// `NOT` followed by something else than EXISTS.
    #[error("expected EXISTS after NOT, found {found}")]
    ExpectedExists {
        /// What was found.
        found: String,
    },
    /// An operator with no value after it.
    #[error("expected a value after '{op}', found {found}")]
    ExpectedValue {
        /// The operator.
        op: &'static str,
        /// What was found.
        found: String,
    },
    /// A bare value with a character that needs quoting.
    #[error("unquoted value contains {found}; quote the value")]
    UnquotedValueChar {
        /// The character, described.
        found: String,
    },
    /// `true`, `false` or `null` written as a bare value.
    #[error("bare '{word}' is ambiguous; use IS TRUE, IS FALSE, IS NULL or quote it")]
    BareKeywordValue {
        /// The word.
        word: String,
    },
    /// `<`, `>`, `<=`, `>=` with a value that is not a number.
    #[error("operator '{op}' needs a number")]
    ExpectedNumber {
        /// The operator.
        op: &'static str,
    },
    /// A missing closing `)`.
    #[error("expected ')', found {found}")]
    ExpectedCloseParen {
        /// What was found.
        found: String,
    },
    /// A JSON pattern whose body ends without `}`.
    #[error("expected '&&', '||' or '}}', found {found}")]
    ExpectedJsonEnd {
        /// What was found.
        found: String,
    },
    /// A space-delimited slot that is not a name or `...`.
    #[error("expected a field name or '...', found {found}")]
    ExpectedFieldName {
        /// What was found.
        found: String,
    },
    /// A comparison inside a slot naming another field.
    #[error("comparisons in one field must all name '{expected}'")]
    FieldNameMismatch {
        /// The slot's name.
        expected: String,
    },
    /// A slot not followed by `,` or `]`.
    #[error("expected ',', ']', '&&', '||' or a comparison operator, found {found}")]
    ExpectedFieldEnd {
        /// What was found.
        found: String,
    },
    /// A `%` with no closing `%`.
    #[error("unterminated regular expression: expected a closing '%'")]
    UnterminatedRegex,
    /// `%%`.
    #[error("empty regular expression")]
    EmptyRegex,
    /// A character AWS does not accept in a regular expression.
    #[error("{found} is not supported in a regular expression")]
    RegexChar {
        /// The character, described.
        found: String,
    },
    /// A backslash escape AWS does not document.
    #[error("unsupported escape '\\{escape}' in a regular expression")]
    RegexEscape {
        /// The escaped character.
        escape: char,
    },
    /// More regular expressions than one structured pattern may hold.
    #[error("a JSON or space-delimited pattern may contain at most {max} regular expressions")]
    TooManyRegexes {
        /// The limit.
        max: usize,
    },
    /// The regular expression is malformed or too large.
    #[error("invalid regular expression: {reason}")]
    RegexInvalid {
        /// What the regex engine said, in short.
        reason: String,
    },
}

impl PatternError {
    pub(crate) fn new(offset: usize, kind: PatternErrorKind) -> Self {
        PatternError { offset, kind }
    }
}

/// A metric transformation that cannot be applied to a pattern.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TransformError {
    /// The metric value is not a number, `$.path` or `$field`.
    #[error("invalid metric value {value:?}: expected a number, '$.path' or '$field'")]
    InvalidMetricValue {
        /// The value given.
        value: String,
    },
    /// A dimension value is not `$.path` or `$field`.
    #[error("invalid dimension {name:?} value {value:?}: expected '$.path' or '$field'")]
    InvalidDimension {
        /// The dimension name.
        name: String,
        /// The value given.
        value: String,
    },
    /// More than three dimensions.
    #[error("at most 3 dimensions are allowed")]
    TooManyDimensions,
    /// A default value together with dimensions.
    #[error("a default value is not allowed when dimensions are set")]
    DefaultWithDimensions,
    /// A `$field` that the space-delimited pattern does not name, or a
    /// reference of the wrong kind for the pattern.
    #[error("{reference} is not a field of the filter pattern")]
    UnknownField {
        /// The reference.
        reference: String,
    },
}
