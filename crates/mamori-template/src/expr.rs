//! The typed tree of values and intrinsic functions, following
//! <https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/intrinsic-function-reference.html>.
//!
//! Every value of a template that may hold an intrinsic function (resource properties,
//! outputs, conditions) is converted once into an [`Expr`], with the argument shapes checked
//! here, so that evaluation and the dependency graph never look at raw mappings again.

use crate::error::{Pos, Result, TemplateError};
use crate::node::{Node, NodeValue};

/// A template value: plain data or an intrinsic function, with where it was written.
#[derive(Debug, Clone, PartialEq)]
pub struct Expr {
    /// What the value is.
    pub kind: ExprKind,
    /// Where it starts in the body.
    pub pos: Pos,
}

/// One piece of an `Fn::Sub` string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SubPart {
    /// Text copied as is (`${!Literal}` has already become `${Literal}` here).
    Literal(String),
    /// A `${Name}` or `${Resource.Attribute}` variable.
    Var(String),
}

/// The kinds of [`Expr`].
#[derive(Debug, Clone, PartialEq)]
pub enum ExprKind {
    /// `null`.
    Null,
    /// A boolean.
    Bool(bool),
    /// A number.
    Number(serde_json::Number),
    /// A string.
    String(String),
    /// A list.
    List(Vec<Expr>),
    /// A mapping, in document order.
    Map(Vec<(String, Expr)>),
    /// `Ref`: a parameter, a resource or a pseudo parameter.
    Ref(String),
    /// `Fn::GetAtt`.
    GetAtt {
        /// The resource's logical id.
        resource: String,
        /// The attribute name (may contain dots).
        attribute: String,
    },
    /// `Fn::Sub`, in string form (no variables) or list form (with a variable map).
    Sub {
        /// The parsed template string.
        parts: Vec<SubPart>,
        /// The variable map of the list form.
        vars: Vec<(String, Expr)>,
    },
    /// `Fn::Join`.
    Join {
        /// The delimiter.
        delimiter: String,
        /// The values (a list, or a function returning one).
        list: Box<Expr>,
    },
    /// `Fn::Select`.
    Select {
        /// The index.
        index: Box<Expr>,
        /// The list.
        list: Box<Expr>,
    },
    /// `Fn::Split`.
    Split {
        /// The delimiter.
        delimiter: String,
        /// The string to split.
        source: Box<Expr>,
    },
    /// `Fn::FindInMap`.
    FindInMap {
        /// The mapping's name.
        map: Box<Expr>,
        /// The top-level key.
        top: Box<Expr>,
        /// The second-level key.
        second: Box<Expr>,
    },
    /// `Fn::Base64`.
    Base64(Box<Expr>),
    /// `Fn::Cidr`.
    Cidr {
        /// The CIDR block to divide.
        block: Box<Expr>,
        /// How many subnets.
        count: Box<Expr>,
        /// Host bits per subnet.
        bits: Box<Expr>,
    },
    /// `Fn::GetAZs`.
    GetAzs(Box<Expr>),
    /// `Fn::ImportValue`.
    ImportValue(Box<Expr>),
    /// `Fn::If`.
    If {
        /// The condition's name.
        condition: String,
        /// The value when it is true.
        then: Box<Expr>,
        /// The value when it is false.
        otherwise: Box<Expr>,
    },
    /// `Fn::Equals`.
    Equals(Box<Expr>, Box<Expr>),
    /// `Fn::Not`.
    Not(Box<Expr>),
    /// `Fn::And`.
    And(Vec<Expr>),
    /// `Fn::Or`.
    Or(Vec<Expr>),
    /// `{"Condition": "Name"}` inside a condition function.
    Condition(String),
}

/// The functions CloudFormation lists when it meets an unknown one.
const SUPPORTED: &str = "[Fn::Base64, Fn::GetAtt, Fn::GetAZs, Fn::ImportValue, Fn::Join, Fn::Split, Fn::FindInMap, Fn::Select, Ref, Fn::Equals, Fn::If, Fn::Not, Condition, Fn::And, Fn::Or, Fn::Sub, Fn::Cidr]";

impl Expr {
    /// Converts a value where intrinsic functions may appear (properties, outputs).
    pub fn from_node(node: &Node) -> Result<Expr> {
        convert(node, false)
    }

    /// Converts a condition body, where `{"Condition": "Name"}` is a function.
    pub fn from_condition(node: &Node) -> Result<Expr> {
        convert(node, true)
    }

    fn new(kind: ExprKind, pos: Pos) -> Self {
        Self { kind, pos }
    }

    /// Calls `f` on this expression and every expression inside it, depth first.
    pub fn walk<'a>(&'a self, f: &mut dyn FnMut(&'a Expr)) {
        f(self);
        match &self.kind {
            ExprKind::List(items) | ExprKind::And(items) | ExprKind::Or(items) => {
                items.iter().for_each(|e| e.walk(f));
            }
            ExprKind::Map(entries) => entries.iter().for_each(|(_, e)| e.walk(f)),
            ExprKind::Sub { vars, .. } => vars.iter().for_each(|(_, e)| e.walk(f)),
            ExprKind::Join { list: a, .. }
            | ExprKind::Split { source: a, .. }
            | ExprKind::Base64(a)
            | ExprKind::GetAzs(a)
            | ExprKind::ImportValue(a)
            | ExprKind::Not(a) => a.walk(f),
            ExprKind::Select { index: a, list: b }
            | ExprKind::Equals(a, b)
            | ExprKind::If { then: a, otherwise: b, .. } => {
                a.walk(f);
                b.walk(f);
            }
            ExprKind::FindInMap { map: a, top: b, second: c }
            | ExprKind::Cidr { block: a, count: b, bits: c } => {
                a.walk(f);
                b.walk(f);
                c.walk(f);
            }
            ExprKind::Null
            | ExprKind::Bool(_)
            | ExprKind::Number(_)
            | ExprKind::String(_)
            | ExprKind::Ref(_)
            | ExprKind::GetAtt { .. }
            | ExprKind::Condition(_) => {}
        }
    }
}

fn convert(node: &Node, cond: bool) -> Result<Expr> {
    let pos = node.pos;
    let kind = match &node.value {
        NodeValue::Null => ExprKind::Null,
        NodeValue::Bool(b) => ExprKind::Bool(*b),
        NodeValue::Number(n) => ExprKind::Number(n.clone()),
        NodeValue::String(s) => ExprKind::String(s.clone()),
        NodeValue::List(items) => {
            ExprKind::List(items.iter().map(|n| convert(n, cond)).collect::<Result<_>>()?)
        }
        NodeValue::Map(entries) => {
            if let [(key, arg)] = entries.as_slice()
                && let Some(kind) = function(&key.name, arg, cond)?
            {
                return Ok(Expr::new(kind, key.pos));
            }
            ExprKind::Map(
                entries
                    .iter()
                    .map(|(k, v)| Ok((k.name.clone(), convert(v, cond)?)))
                    .collect::<Result<_>>()?,
            )
        }
    };
    Ok(Expr::new(kind, pos))
}

/// Recognizes a one-key mapping as a function call; `None` when the key is not a function.
fn function(name: &str, arg: &Node, cond: bool) -> Result<Option<ExprKind>> {
    let at = |e: TemplateError| e.at(arg.pos);
    let sub = |n: &Node| convert(n, cond).map(Box::new);
    let args = |n: usize, msg: &str| -> Result<Vec<&Node>> {
        match &arg.value {
            NodeValue::List(items) if items.len() == n => Ok(items.iter().collect()),
            _ => Err(at(TemplateError::shape(msg))),
        }
    };
    let kind = match name {
        "Ref" => match arg.as_str() {
            Some(target) if !target.is_empty() => ExprKind::Ref(target.to_owned()),
            _ => {
                return Err(at(TemplateError::shape(
                    "every Ref object must have a single String value.",
                )));
            }
        },
        "Condition" if cond => match arg.as_str() {
            Some(c) => ExprKind::Condition(c.to_owned()),
            None => {
                return Err(at(TemplateError::shape(
                    "every Condition object must have a single String value.",
                )));
            }
        },
        "Fn::GetAtt" => {
            let msg = "every Fn::GetAtt object requires two non-empty parameters";
            let a = args(2, msg)?;
            match (a[0].as_str(), a[1].as_str()) {
                (Some(r), Some(attr)) if !r.is_empty() && !attr.is_empty() => {
                    ExprKind::GetAtt { resource: r.to_owned(), attribute: attr.to_owned() }
                }
                // GAP: an attribute name computed by Ref is rejected; real templates use
                // literals, and a computed one would defeat the static attribute check.
                _ => return Err(at(TemplateError::shape(msg))),
            }
        }
        "Fn::Sub" => {
            let (text, vars) = match &arg.value {
                NodeValue::String(s) => (s.as_str(), Vec::new()),
                NodeValue::List(items) if items.len() == 2 => {
                    let (Some(text), Some(map)) = (items[0].as_str(), items[1].as_map()) else {
                        return Err(at(TemplateError::shape(
                            "One or more Fn::Sub intrinsic functions don't specify expected arguments. Specify a string as first argument, and an optional second argument to specify a mapping of values to replace in the string",
                        )));
                    };
                    let vars = map
                        .iter()
                        .map(|(k, v)| Ok((k.name.clone(), convert(v, cond)?)))
                        .collect::<Result<_>>()?;
                    (text, vars)
                }
                _ => {
                    return Err(at(TemplateError::shape(
                        "One or more Fn::Sub intrinsic functions don't specify expected arguments. Specify a string as first argument, and an optional second argument to specify a mapping of values to replace in the string",
                    )));
                }
            };
            ExprKind::Sub { parts: crate::sub::parse(text), vars }
        }
        "Fn::Join" => {
            let msg = "every Fn::Join object requires two parameters, (1) a string delimiter and (2) a list of strings to be joined or a function that returns a list of strings (such as Fn::GetAZs) to be joined.";
            let a = args(2, msg)?;
            let Some(delimiter) = a[0].scalar_text().filter(|_| a[0].as_str().is_some()) else {
                return Err(at(TemplateError::shape(msg)));
            };
            ExprKind::Join { delimiter, list: sub(a[1])? }
        }
        "Fn::Select" => {
            let a = args(
                2,
                "Fn::Select requires a list argument with two elements: an integer index and a list",
            )?;
            ExprKind::Select { index: sub(a[0])?, list: sub(a[1])? }
        }
        "Fn::Split" => {
            let msg = "Fn::Split requires a list argument with two elements: a string delimiter and a source string";
            let a = args(2, msg)?;
            let Some(delimiter) = a[0].as_str() else { return Err(at(TemplateError::shape(msg))) };
            ExprKind::Split { delimiter: delimiter.to_owned(), source: sub(a[1])? }
        }
        "Fn::FindInMap" => {
            let a = args(
                3,
                "Fn::FindInMap requires a list argument with three elements: a map name, a top-level key and a second-level key",
            )?;
            ExprKind::FindInMap { map: sub(a[0])?, top: sub(a[1])?, second: sub(a[2])? }
        }
        "Fn::Base64" => ExprKind::Base64(sub(arg)?),
        "Fn::Cidr" => {
            let a = args(
                3,
                "Fn::Cidr requires a list argument with three elements: an IP block, a count and the CIDR bits",
            )?;
            ExprKind::Cidr { block: sub(a[0])?, count: sub(a[1])?, bits: sub(a[2])? }
        }
        "Fn::GetAZs" => ExprKind::GetAzs(sub(arg)?),
        "Fn::ImportValue" => ExprKind::ImportValue(sub(arg)?),
        "Fn::If" => {
            let msg = "Fn::If requires a list argument with three elements: a condition name, a value if true and a value if false";
            let a = args(3, msg)?;
            let Some(condition) = a[0].as_str() else { return Err(at(TemplateError::shape(msg))) };
            ExprKind::If {
                condition: condition.to_owned(),
                then: sub(a[1])?,
                otherwise: sub(a[2])?,
            }
        }
        "Fn::Equals" => {
            let a = args(2, "Fn::Equals requires a list argument with two elements")?;
            ExprKind::Equals(Box::new(convert(a[0], true)?), Box::new(convert(a[1], true)?))
        }
        "Fn::Not" => {
            let a = args(1, "Fn::Not requires a list argument with one function token")?;
            ExprKind::Not(Box::new(convert(a[0], true)?))
        }
        "Fn::And" | "Fn::Or" => {
            let items = match &arg.value {
                NodeValue::List(items) if (2..=10).contains(&items.len()) => items,
                _ => {
                    return Err(at(TemplateError::shape(format_args!(
                        "{name} requires a list argument with between 2 and 10 function tokens"
                    ))));
                }
            };
            let items = items.iter().map(|n| convert(n, true)).collect::<Result<Vec<_>>>()?;
            if name == "Fn::And" { ExprKind::And(items) } else { ExprKind::Or(items) }
        }
        other if other.starts_with("Fn::") => {
            return Err(at(TemplateError::format(
                crate::error::Section::Template,
                format_args!(
                    "Encountered unsupported function: {other} Supported functions are: {SUPPORTED}"
                ),
            )));
        }
        _ => return Ok(None),
    };
    Ok(Some(kind))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn expr(yaml: &str) -> Result<Expr> {
        Expr::from_node(&crate::yaml::parse(yaml)?)
    }

    #[test]
    fn functions_are_recognized() {
        let e = expr("!Join [',', [!Ref A, !GetAtt B.Arn]]").unwrap();
        let ExprKind::Join { delimiter, list } = e.kind else { panic!("not a join: {e:?}") };
        assert_eq!(delimiter, ",");
        let ExprKind::List(items) = list.kind else { panic!("not a list") };
        assert_eq!(items[0].kind, ExprKind::Ref("A".into()));
        assert_eq!(
            items[1].kind,
            ExprKind::GetAtt { resource: "B".into(), attribute: "Arn".into() }
        );
        // A property named Condition is data outside condition functions.
        let e = expr("Condition: {StringEquals: {a: b}}").unwrap();
        assert!(matches!(e.kind, ExprKind::Map(_)));
    }

    #[test]
    fn malformed_functions_are_rejected() {
        let cases = [
            ("!Ref [a]", "every Ref object must have a single String value."),
            ("!GetAtt Foo", "every Fn::GetAtt object requires two non-empty parameters"),
            ("!Join [',']", "every Fn::Join object requires two parameters"),
            (
                "{'Fn::Sbu': x}",
                "Encountered unsupported function: Fn::Sbu Supported functions are: [Fn::Base64",
            ),
            ("!And [!Condition A]", "Fn::And requires a list argument with between 2 and 10"),
            ("!If [A, b]", "Fn::If requires a list argument with three elements"),
            ("!Sub [1, 2]", "One or more Fn::Sub intrinsic functions"),
        ];
        for (yaml, want) in cases {
            let err = expr(yaml).unwrap_err();
            assert!(err.message.contains(want), "yaml={yaml:?} got={}", err.message);
            assert!(err.pos.is_some(), "yaml={yaml:?}");
        }
    }
}
