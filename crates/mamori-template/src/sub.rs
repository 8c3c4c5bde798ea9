//! Splits `Fn::Sub` strings into literal text and `${...}` variables, following
//! <https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/intrinsic-function-reference-sub.html>.
//!
//! `${!Literal}` writes `${Literal}` through unchanged, and a `${` with no closing brace is
//! kept as text, which is what CloudFormation does with it.

use crate::expr::SubPart;

/// Parses a `Fn::Sub` template string.
pub fn parse(text: &str) -> Vec<SubPart> {
    let mut parts = Vec::new();
    let mut literal = String::new();
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        literal.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let Some(end) = after.find('}') else {
            literal.push_str(&rest[start..]);
            rest = "";
            break;
        };
        let name = &after[..end];
        if let Some(lit) = name.strip_prefix('!') {
            literal.push_str("${");
            literal.push_str(lit);
            literal.push('}');
        } else {
            if !literal.is_empty() {
                parts.push(SubPart::Literal(std::mem::take(&mut literal)));
            }
            parts.push(SubPart::Var(name.trim().to_owned()));
        }
        rest = &after[end + 1..];
    }
    literal.push_str(rest);
    if !literal.is_empty() {
        parts.push(SubPart::Literal(literal));
    }
    parts
}

/// The variables of a parsed string, in order.
pub fn variables(parts: &[SubPart]) -> impl Iterator<Item = &str> {
    parts.iter().filter_map(|p| match p {
        SubPart::Var(v) => Some(v.as_str()),
        SubPart::Literal(_) => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use SubPart::{Literal as L, Var as V};

    #[test]
    fn sub_strings() {
        let cases: [(&str, Vec<SubPart>); 6] = [
            ("plain", vec![L("plain".into())]),
            (
                "arn:aws:ec2:${AWS::Region}:${AWS::AccountId}:vpc/${vpc}",
                vec![
                    L("arn:aws:ec2:".into()),
                    V("AWS::Region".into()),
                    L(":".into()),
                    V("AWS::AccountId".into()),
                    L(":vpc/".into()),
                    V("vpc".into()),
                ],
            ),
            ("${!Literal}-${A}", vec![L("${Literal}-".into()), V("A".into())]),
            ("${Res.Arn}", vec![V("Res.Arn".into())]),
            ("open ${ end", vec![L("open ${ end".into())]),
            ("", vec![]),
        ];
        for (text, want) in cases {
            assert_eq!(parse(text), want, "text={text:?}");
        }
    }
}
