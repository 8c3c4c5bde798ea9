//! Reads YAML templates, short-form intrinsic tags included, following
//! <https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/template-formats.html> and
//! <https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/intrinsic-function-reference.html>.
//!
//! We drive `saphyr-parser`'s event stream ourselves rather than use a YAML-to-value crate:
//! the events carry every node's tag, scalar style and position, which is what the short
//! forms (`!Ref`), CloudFormation's scalar typing and line-numbered errors need.
//! `saphyr-parser` is pure Rust (no C compiler), maintained, and builds in a few seconds.

use saphyr_parser::{Event, Parser, ScalarStyle, Span, Tag};

use crate::error::{ErrorKind, Pos, Result, Section, TemplateError};
use crate::node::{Key, Node, NodeValue, plain_scalar};

/// The functions that have a YAML short form `!Name`, each with its long-form key.
const SHORT_FORMS: &[(&str, &str)] = &[
    ("Ref", "Ref"),
    ("Condition", "Condition"),
    ("Sub", "Fn::Sub"),
    ("GetAtt", "Fn::GetAtt"),
    ("Join", "Fn::Join"),
    ("If", "Fn::If"),
    ("Equals", "Fn::Equals"),
    ("Not", "Fn::Not"),
    ("And", "Fn::And"),
    ("Or", "Fn::Or"),
    ("Select", "Fn::Select"),
    ("Split", "Fn::Split"),
    ("FindInMap", "Fn::FindInMap"),
    ("Base64", "Fn::Base64"),
    ("Cidr", "Fn::Cidr"),
    ("GetAZs", "Fn::GetAZs"),
    ("ImportValue", "Fn::ImportValue"),
];

/// Deepest nesting we accept; real templates stay far below it, and it bounds the work a
/// hostile body can ask for.
const MAX_DEPTH: usize = 256;

enum Frame {
    List { items: Vec<Node>, pos: Pos, tag: Option<String> },
    Map { entries: Vec<(Key, Node)>, key: Option<Key>, pos: Pos, tag: Option<String> },
}

/// Parses a YAML body into a [`Node`] tree.
pub fn parse(body: &str) -> Result<Node> {
    let mut stack: Vec<Frame> = Vec::new();
    let mut root: Option<Node> = None;
    let mut documents = 0usize;
    for event in Parser::new_from_str(body) {
        let (event, span) = event.map_err(|e| {
            let m = e.marker();
            not_well_formed(pos_of(m.line(), m.col()))
        })?;
        let pos = span_pos(&span);
        let done = match event {
            Event::DocumentStart(_) => {
                documents += 1;
                if documents > 1 {
                    return Err(not_well_formed(pos));
                }
                None
            }
            Event::Alias(_) => {
                return Err(TemplateError::format(
                    Section::Template,
                    "YAML aliases are not allowed in CloudFormation templates",
                )
                .at(pos));
            }
            Event::Scalar(text, style, _, tag) => Some(scalar(&text, style, tag.as_deref(), pos)?),
            Event::SequenceStart(_, tag) => {
                let tag = short_form(tag.as_deref(), pos)?;
                stack.push(Frame::List { items: Vec::new(), pos, tag });
                None
            }
            Event::MappingStart(_, tag) => {
                let tag = short_form(tag.as_deref(), pos)?;
                stack.push(Frame::Map { entries: Vec::new(), key: None, pos, tag });
                None
            }
            Event::SequenceEnd | Event::MappingEnd => match stack.pop() {
                Some(Frame::List { items, pos, tag }) => {
                    Some(wrap(Node::new(NodeValue::List(items), pos), tag))
                }
                Some(Frame::Map { entries, pos, tag, .. }) => {
                    Some(wrap(Node::new(NodeValue::Map(entries), pos), tag))
                }
                None => return Err(not_well_formed(pos)),
            },
            _ => None,
        };
        if stack.len() > MAX_DEPTH {
            return Err(not_well_formed(pos));
        }
        if let Some(node) = done {
            attach(&mut stack, &mut root, node)?;
        }
    }
    Ok(root.unwrap_or_else(|| Node::new(NodeValue::Null, Pos::new(1, 1))))
}

fn attach(stack: &mut [Frame], root: &mut Option<Node>, node: Node) -> Result<()> {
    match stack.last_mut() {
        None => *root = Some(node),
        Some(Frame::List { items, .. }) => items.push(node),
        Some(Frame::Map { entries, key, .. }) => match key.take() {
            Some(k) => entries.push((k, node)),
            None => {
                let pos = node.pos;
                let name = match (&node.value, node.scalar_text()) {
                    (NodeValue::List(_) | NodeValue::Map(_), _) | (_, None) => {
                        return Err(TemplateError::new(
                            ErrorKind::Syntax,
                            Section::Template,
                            format!(
                                "Template format error: YAML not well-formed. (line {}, column {})",
                                pos.line, pos.column
                            ),
                        )
                        .at(pos));
                    }
                    (_, Some(text)) => text,
                };
                if entries.iter().any(|(k, _)| k.name == name) {
                    return Err(TemplateError::new(
                        ErrorKind::Syntax,
                        Section::Template,
                        format!(
                            "Template format error: YAML not well-formed. Duplicate key {name} (line {}, column {})",
                            pos.line, pos.column
                        ),
                    )
                    .at(pos));
                }
                *key = Some(Key { name, pos });
            }
        },
    }
    Ok(())
}

fn scalar(text: &str, style: ScalarStyle, tag: Option<&Tag>, pos: Pos) -> Result<Node> {
    if let Some(tag) = tag {
        if tag.handle == "tag:yaml.org,2002:" {
            // Explicit core-schema tags: `!!str 5` is the string "5"; the others fall back to
            // the plain typing so `!!int 5` is still 5.
            let value = match tag.suffix.as_str() {
                "str" => NodeValue::String(text.to_owned()),
                _ => plain_scalar(text),
            };
            return Ok(Node::new(value, pos));
        }
        let long = short_form(Some(tag), pos)?;
        // A tagged scalar is always a string argument (`!GetAZs ''`, `!Sub 2012`).
        let node = Node::new(NodeValue::String(text.to_owned()), pos);
        return Ok(wrap(node, long));
    }
    let value = match style {
        ScalarStyle::Plain => plain_scalar(text),
        _ => NodeValue::String(text.to_owned()),
    };
    Ok(Node::new(value, pos))
}

/// Maps a `!Name` tag to its long-form key; `None` for untagged nodes.
fn short_form(tag: Option<&Tag>, pos: Pos) -> Result<Option<String>> {
    let Some(tag) = tag else { return Ok(None) };
    if tag.handle == "tag:yaml.org,2002:" {
        return Ok(None);
    }
    if tag.handle == "!"
        && let Some((_, long)) = SHORT_FORMS.iter().find(|(short, _)| *short == tag.suffix)
    {
        return Ok(Some((*long).to_owned()));
    }
    Err(TemplateError::format(
        Section::Template,
        format_args!(
            "YAML not well-formed. Unknown tag {}{} (line {}, column {})",
            tag.handle, tag.suffix, pos.line, pos.column
        ),
    )
    .at(pos))
}

/// Wraps a tagged node into its long form: `!Ref X` becomes `{"Ref": "X"}`, and the dotted
/// `!GetAtt Res.Attr` becomes `{"Fn::GetAtt": ["Res", "Attr"]}` (split at the first dot, so
/// attributes with dots such as `Endpoint.Address` survive).
fn wrap(node: Node, tag: Option<String>) -> Node {
    let Some(long) = tag else { return node };
    let pos = node.pos;
    let arg = match (&node.value, long.as_str()) {
        (NodeValue::String(s), "Fn::GetAtt") => match s.split_once('.') {
            Some((res, attr)) => Node::new(
                NodeValue::List(vec![
                    Node::new(NodeValue::String(res.to_owned()), pos),
                    Node::new(NodeValue::String(attr.to_owned()), pos),
                ]),
                pos,
            ),
            None => node,
        },
        _ => node,
    };
    Node::new(NodeValue::Map(vec![(Key { name: long, pos }, arg)]), pos)
}

fn span_pos(span: &Span) -> Pos {
    pos_of(span.start.line(), span.start.col())
}

fn pos_of(line: usize, col: usize) -> Pos {
    Pos::new(u32::try_from(line).unwrap_or(u32::MAX), u32::try_from(col + 1).unwrap_or(u32::MAX))
}

fn not_well_formed(pos: Pos) -> TemplateError {
    TemplateError::new(
        ErrorKind::Syntax,
        Section::Template,
        format!(
            "Template format error: YAML not well-formed. (line {}, column {})",
            pos.line, pos.column
        ),
    )
    .at(pos)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn json(body: &str) -> serde_json::Value {
        parse(body).unwrap().to_json()
    }

    #[test]
    fn short_forms_expand_to_long_forms() {
        let cases = [
            ("!Ref Foo", r#"{"Ref":"Foo"}"#),
            ("!GetAtt Res.Arn", r#"{"Fn::GetAtt":["Res","Arn"]}"#),
            ("!GetAtt Db.Endpoint.Address", r#"{"Fn::GetAtt":["Db","Endpoint.Address"]}"#),
            ("!GetAtt [Res, Arn]", r#"{"Fn::GetAtt":["Res","Arn"]}"#),
            ("!Sub 'a-${AWS::Region}'", r#"{"Fn::Sub":"a-${AWS::Region}"}"#),
            ("!Join ['', [a, !Ref B]]", r#"{"Fn::Join":["",["a",{"Ref":"B"}]]}"#),
            ("!GetAZs ''", r#"{"Fn::GetAZs":""}"#),
            ("!Not [!Condition C]", r#"{"Fn::Not":[{"Condition":"C"}]}"#),
            ("!Sub\n  - '${A}'\n  - A: 1", r#"{"Fn::Sub":["${A}",{"A":1}]}"#),
        ];
        for (yaml, want) in cases {
            let want: serde_json::Value = serde_json::from_str(want).unwrap();
            assert_eq!(json(yaml), want, "yaml={yaml:?}");
        }
    }

    #[test]
    fn quoted_scalars_stay_strings() {
        assert_eq!(
            json("a: '1'\nb: 1\nc: \"true\"\nd: yes"),
            serde_json::json!({"a": "1", "b": 1, "c": "true", "d": "yes"})
        );
    }

    #[test]
    fn errors_name_the_line() {
        let cases = [
            ("a: b\n  c: d\n", "YAML not well-formed. (line 2"),
            ("a: 1\na: 2\n", "Duplicate key a (line 2, column 1)"),
            ("a: !Foo x\n", "Unknown tag !Foo (line 1"),
            ("a: &x 1\nb: *x\n", "YAML aliases are not allowed"),
            ("a: [1, 2\n", "YAML not well-formed."),
        ];
        for (yaml, want) in cases {
            let err = parse(yaml).unwrap_err();
            assert!(err.message.contains(want), "yaml={yaml:?} got={}", err.message);
            assert!(err.pos.is_some(), "yaml={yaml:?}");
        }
    }
}
