//! Rejected patterns: each error names the offset and what was expected there.
//! Syntax rules from <https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/FilterAndPatternSyntax.html>
//! and <https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/regex-expressions.html>;
//! constructs the docs do not define are rejected too (fail closed).

use mamori_pattern::Pattern;

#[test]
fn bad_patterns() {
    let cases = [
        // pattern                               offset  message fragment
        // Terms.
        ("ERROR:", 5, "unquoted term contains ':'"),
        ("user@example.com", 4, "unquoted term contains '@'"),
        ("\"unterminated", 0, "unterminated quoted string"),
        ("ERROR ?", 7, "expected a term after '?'"),
        ("ERROR - x", 7, "expected a term after '-'"),
        ("\"a\"\"b\"", 3, "expected whitespace between terms"),
        ("a*", 1, "unquoted term contains '*'"),
        // JSON.
        ("{ $.eventName }", 14, "expected a comparison operator after selector, found '}'"),
        ("{ $.eventName == \"x\" }", 15, "expected a value after '='"),
        ("{ $.a = }", 8, "expected a value after '=', found '}'"),
        ("{ $.a = \"x\"", 11, "expected '&&', '||' or '}', found end of pattern"),
        ("{ $.a = 1 $.b = 2 }", 10, "expected '&&', '||' or '}'"),
        ("{ ($.a = 1 }", 11, "expected ')', found '}'"),
        ("{ }", 2, "expected a selector such as '$.field' or '('"),
        ("{ a = 1 }", 2, "expected a selector"),
        ("{ $ = 1 }", 3, "expected '.key' or '[index]' in selector"),
        ("{ $. = 1 }", 4, "expected '.key' or '[index]' in selector"),
        ("{ $.a[*] = 1 }", 5, "array wildcard '[*]' is not supported"),
        ("{ $.a[x] = 1 }", 6, "expected a non-negative integer index"),
        ("{ $.a[-1] = 1 }", 6, "expected a non-negative integer index"),
        ("{ $.a[0 = 1 }", 6, "expected a non-negative integer index"),
        ("{ $.a > \"x\" }", 6, "operator '>' needs a number"),
        ("{ $.a <= 4* }", 6, "operator '<=' needs a number"),
        ("{ $.a >= %x% }", 6, "operator '>=' needs a number"),
        ("{ $.a IS NOT NULL }", 9, "expected NULL, TRUE or FALSE after IS, found 'N'"),
        ("{ $.a IS null }", 9, "expected NULL, TRUE or FALSE after IS"),
        ("{ $.a EXISTS }", 6, "expected a comparison operator after selector, found 'E'"),
        ("{ $.a NOT NULL }", 10, "expected EXISTS after NOT"),
        ("{ $.a = true }", 8, "bare 'true' is ambiguous"),
        ("{ $.a = null }", 8, "bare 'null' is ambiguous"),
        ("{ $.a = a!b }", 9, "unquoted value contains '!'"),
        ("{ $.a = \"x }", 8, "unterminated quoted string"),
        ("{ $.a = 1 } x", 12, "unexpected 'x' after the end of the pattern"),
        ("{ $.a = 1 && }", 13, "expected a selector"),
        ("{ $.a = 1 || || $.b = 1 }", 13, "expected a selector"),
        ("{ $.a IS NULLX }", 9, "expected NULL, TRUE or FALSE after IS, found 'N'"),
        ("{ $.a IS NULL$.b = 1 }", 13, "expected '&&', '||' or '}', found '$'"),
        // Regex.
        ("%something!%", 10, "'!' is not supported in a regular expression"),
        ("%(a|b)%", 1, "'(' is not supported in a regular expression"),
        ("%a b%", 2, "a space is not supported in a regular expression"),
        ("%caf\u{e9}%", 4, "multi-byte character"),
        ("%\\p{L}%", 1, "unsupported escape '\\p'"),
        ("%abc", 0, "unterminated regular expression"),
        ("%%", 0, "empty regular expression"),
        ("%*a%", 1, "invalid regular expression"),
        ("%a{2,1}%", 1, "invalid regular expression"),
        ("%a% b", 4, "unexpected 'b' after the end of the pattern"),
        ("{ $.a = %a% || $.b = %b% || $.c = %c% }", 34, "at most 2 regular expressions"),
        ("[a = %x%, b = %y%, c = %z%]", 23, "at most 2 regular expressions"),
        ("{ $.a = %a!% }", 10, "'!' is not supported"),
        // Space-delimited.
        ("[]", 1, "expected a field name or '...', found ']'"),
        ("[a,]", 3, "expected a field name or '...'"),
        ("[a b]", 3, "expected ',', ']', '&&', '||' or a comparison operator, found 'b'"),
        ("[a = 1 && b = 2]", 10, "comparisons in one field must all name 'a'"),
        ("[a = 1 ||]", 9, "expected a field name"),
        ("[a > x]", 3, "operator '>' needs a number"),
        ("[a = ]", 5, "expected a value after '='"),
        ("[a", 2, "expected ',', ']'"),
        ("[a] b", 4, "unexpected 'b'"),
        ("[a = (1)]", 5, "expected a value after '=', found '('"),
        ("[a ! 1]", 3, "expected a comparison operator after field name, found '!'"),
    ];
    let mut failures = Vec::new();
    for (pattern, offset, fragment) in cases {
        match Pattern::parse(pattern) {
            Ok(p) => failures.push(format!("{pattern:?}: accepted as {p}")),
            Err(err) => {
                let text = err.to_string();
                let prefix = format!("invalid filter pattern at offset {offset}: ");
                if err.offset != offset || !text.starts_with(&prefix) || !text.contains(fragment) {
                    failures.push(format!("{pattern:?}: got offset {} {text:?}", err.offset));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn limits() {
    let deep = format!("{{ {}$.a = 1{} }}", "(".repeat(70), ")".repeat(70));
    let err = Pattern::parse(&deep).unwrap_err();
    assert!(err.to_string().contains("nest deeper than 64"), "{err}");
    let long = format!("\"{}\"", "a".repeat(1023));
    assert_eq!(Pattern::parse(&long).unwrap_err().offset, 1024);
}
