//! One function per intrinsic, each following its page under
//! <https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/intrinsic-function-reference.html>.

use base64::Engine as _;
use serde_json::{Map, Value};

use super::{Evaluator, scalar_string};
use crate::error::{Result, Section, TemplateError};
use crate::expr::{Expr, ExprKind, SubPart};

fn err(what: impl std::fmt::Display) -> TemplateError {
    TemplateError::evaluation(Section::Template, what)
}

/// Resolves `expr`; `Ok(None)` is `AWS::NoValue`.
pub(super) fn resolve(ev: &Evaluator<'_>, expr: &Expr) -> Result<Option<Value>> {
    let v = match &expr.kind {
        ExprKind::Null => Value::Null,
        ExprKind::Bool(b) => Value::Bool(*b),
        ExprKind::Number(n) => Value::Number(n.clone()),
        ExprKind::String(s) => Value::String(s.clone()),
        ExprKind::List(items) => {
            let mut out = Vec::with_capacity(items.len());
            for i in items {
                if let Some(v) = ev.resolve(i)? {
                    out.push(v);
                }
            }
            Value::Array(out)
        }
        ExprKind::Map(entries) => {
            let mut out = Map::new();
            for (k, e) in entries {
                if let Some(v) = ev.resolve(e)? {
                    out.insert(k.clone(), v);
                }
            }
            Value::Object(out)
        }
        ExprKind::Ref(name) => return reference(ev, name),
        ExprKind::GetAtt { resource, attribute } => attribute_of(ev, resource, attribute)?,
        ExprKind::Sub { parts, vars } => Value::String(sub(ev, parts, vars)?),
        ExprKind::Join { delimiter, list } => {
            let items = list_of_strings(ev, list, "Fn::Join")?;
            Value::String(items.join(delimiter))
        }
        ExprKind::Select { index, list } => return select(ev, index, list),
        ExprKind::Split { delimiter, source } => {
            let s = string(ev, source, "Fn::Split")?;
            if delimiter.is_empty() {
                return Err(err("Fn::Split requires a non-empty delimiter"));
            }
            s.split(delimiter.as_str()).map(|p| Value::String(p.to_owned())).collect()
        }
        ExprKind::FindInMap { map, top, second } => {
            let (m, t, s) = (
                string(ev, map, "Fn::FindInMap")?,
                string(ev, top, "Fn::FindInMap")?,
                string(ev, second, "Fn::FindInMap")?,
            );
            ev.template
                .mappings
                .get(&m)
                .and_then(|mapping| mapping.get(&t))
                .and_then(|level| level.get(&s))
                .cloned()
                .ok_or_else(|| err(format_args!("Unable to get mapping for {m}::{t}::{s}")))?
        }
        ExprKind::Base64(inner) => {
            let s = string(ev, inner, "Fn::Base64")?;
            Value::String(base64::engine::general_purpose::STANDARD.encode(s.as_bytes()))
        }
        ExprKind::Cidr { block, count, bits } => {
            let b = string(ev, block, "Fn::Cidr")?;
            let c = integer(ev, count, "Fn::Cidr")?;
            let n = integer(ev, bits, "Fn::Cidr")?;
            let subnets = crate::cidr::cidr(&b, c, n)
                .map_err(|e| err(format_args!("Fn::Cidr failed: {e}")))?;
            subnets.into_iter().map(Value::String).collect()
        }
        ExprKind::GetAzs(region) => {
            let r = string(ev, region, "Fn::GetAZs")?;
            let r = if r.is_empty() { ev.pseudo.region.clone() } else { r };
            ev.resolver.availability_zones(&r).into_iter().map(Value::String).collect()
        }
        ExprKind::ImportValue(name) => {
            let n = string(ev, name, "Fn::ImportValue")?;
            ev.resolver.import_value(&n).ok_or_else(|| {
                TemplateError::evaluation(
                    Section::Template,
                    format_args!("No export named {n} found"),
                )
            })?
        }
        ExprKind::If { condition, then, otherwise } => {
            let Some(c) = ev.condition(condition) else {
                return Err(TemplateError::format(
                    Section::Template,
                    format_args!("Unresolved condition dependency {condition} in Fn::If"),
                ));
            };
            return ev.resolve(if c { then } else { otherwise });
        }
        ExprKind::Condition(name) => Value::Bool(ev.condition(name).ok_or_else(|| {
            TemplateError::format(
                Section::Template,
                format_args!("Unresolved condition dependency {name}"),
            )
        })?),
        ExprKind::Equals(..) | ExprKind::Not(_) | ExprKind::And(_) | ExprKind::Or(_) => {
            // Condition functions outside Conditions evaluate to booleans, which is what
            // CloudFormation does inside Fn::If branches' values.
            let mut scratch = Vec::new();
            let mut copy = Evaluator {
                template: ev.template,
                params: ev.params,
                pseudo: ev.pseudo,
                resolver: ev.resolver,
                conditions: ev.conditions.clone(),
            };
            Value::Bool(copy.condition_expr(expr, &mut scratch)?)
        }
    };
    Ok(Some(v))
}

/// `Ref`: a parameter, a pseudo parameter or a resource.
fn reference(ev: &Evaluator<'_>, name: &str) -> Result<Option<Value>> {
    if name == "AWS::NoValue" {
        return Ok(None);
    }
    if let Some(v) = ev.params.get(name) {
        return Ok(Some(v.to_json()));
    }
    if let Some(v) = ev.pseudo.get(name) {
        return Ok(Some(v));
    }
    if ev.template.resources.contains_key(name) {
        return resource_value(ev, name, None).map(Some);
    }
    Err(TemplateError::format(
        Section::Template,
        format_args!(
            "Unresolved resource dependencies [{name}] in the Resources block of the template"
        ),
    ))
}

fn attribute_of(ev: &Evaluator<'_>, resource: &str, attribute: &str) -> Result<Value> {
    if !ev.template.resources.contains_key(resource) {
        return Err(TemplateError::reference(
            Section::Template,
            format_args!("instance of Fn::GetAtt references undefined resource {resource}"),
        ));
    }
    resource_value(ev, resource, Some(attribute))
}

fn resource_value(ev: &Evaluator<'_>, resource: &str, attribute: Option<&str>) -> Result<Value> {
    if !ev.is_created(resource) {
        // A reference to a resource whose condition is false; AWS refuses the stack.
        return Err(TemplateError::format(
            Section::Template,
            format_args!(
                "Unresolved resource dependencies [{resource}] in the Resources block of the template"
            ),
        ));
    }
    let got = match attribute {
        None => ev.resolver.physical_id(resource),
        Some(a) => ev.resolver.attribute(resource, a),
    };
    got.ok_or_else(|| match attribute {
        None => err(format_args!("resource {resource} has no physical id yet")),
        Some(a) => err(format_args!("resource {resource} has no value for attribute {a} yet")),
    })
}

fn sub(ev: &Evaluator<'_>, parts: &[SubPart], vars: &[(String, Expr)]) -> Result<String> {
    let mut out = String::new();
    for p in parts {
        match p {
            SubPart::Literal(s) => out.push_str(s),
            SubPart::Var(name) => {
                let value = if let Some((_, e)) = vars.iter().find(|(k, _)| k == name) {
                    ev.resolve(e)?
                } else if let Some((res, attr)) = name.split_once('.') {
                    Some(attribute_of(ev, res, attr)?)
                } else {
                    reference(ev, name)?
                };
                let text = value.as_ref().and_then(scalar_string).ok_or_else(|| {
                    err(format_args!("Fn::Sub variable {name} must resolve to a string"))
                })?;
                out.push_str(&text);
            }
        }
    }
    Ok(out)
}

fn select(ev: &Evaluator<'_>, index: &Expr, list: &Expr) -> Result<Option<Value>> {
    let i = integer(ev, index, "Fn::Select")?;
    let Some(Value::Array(items)) = ev.resolve(list)? else {
        return Err(err("Fn::Select requires a list as its second argument"));
    };
    let i = usize::try_from(i).unwrap_or(usize::MAX);
    items
        .into_iter()
        .nth(i)
        .map(Some)
        .ok_or_else(|| err(format_args!("Fn::Select cannot select nonexistent value at index {i}")))
}

fn string(ev: &Evaluator<'_>, expr: &Expr, func: &str) -> Result<String> {
    ev.resolve(expr)?
        .as_ref()
        .and_then(scalar_string)
        .ok_or_else(|| err(format_args!("{func} requires a string argument")).at(expr.pos))
}

fn integer(ev: &Evaluator<'_>, expr: &Expr, func: &str) -> Result<u64> {
    let s = string(ev, expr, func)?;
    s.trim().parse::<u64>().map_err(|_| {
        err(format_args!("{func} requires a non-negative integer, got {s}")).at(expr.pos)
    })
}

fn list_of_strings(ev: &Evaluator<'_>, expr: &Expr, func: &str) -> Result<Vec<String>> {
    match ev.resolve(expr)? {
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| {
                scalar_string(v).ok_or_else(|| {
                    err(format_args!("{func} requires a list of strings")).at(expr.pos)
                })
            })
            .collect(),
        _ => Err(err(format_args!("{func} requires a list of strings")).at(expr.pos)),
    }
}
