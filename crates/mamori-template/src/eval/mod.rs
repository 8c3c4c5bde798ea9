//! Evaluates intrinsic functions and conditions to plain JSON, following
//! <https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/intrinsic-function-reference.html>
//! and
//! <https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/conditions-section-structure.html>.
//!
//! Evaluation is a pure function of the template, the parameter values, the pseudo
//! parameters and a [`Resolver`]; `AWS::NoValue` is represented as `None` and removes the
//! property or list item that holds it.

mod context;
mod functions;

use std::collections::BTreeMap;

use serde_json::Value;

pub use context::{MapResolver, PSEUDO_PARAMETERS, PseudoParameters, Resolver};

use crate::error::{Result, Section, TemplateError};
use crate::expr::{Expr, ExprKind};
use crate::params::ParameterValues;
use crate::template::Template;

/// Evaluates a template's values for one stack.
pub struct Evaluator<'a> {
    template: &'a Template,
    params: &'a ParameterValues,
    pseudo: &'a PseudoParameters,
    resolver: &'a dyn Resolver,
    conditions: BTreeMap<String, bool>,
}

/// An output with its value resolved.
#[derive(Debug, Clone, PartialEq)]
pub struct ResolvedOutput {
    /// The output's logical id.
    pub logical_id: String,
    /// Its value.
    pub value: Value,
    /// Its description.
    pub description: Option<String>,
    /// The export name, when exported.
    pub export_name: Option<String>,
}

impl<'a> Evaluator<'a> {
    /// Evaluates every condition of the template and returns an evaluator for its values.
    pub fn new(
        template: &'a Template,
        params: &'a ParameterValues,
        pseudo: &'a PseudoParameters,
        resolver: &'a dyn Resolver,
    ) -> Result<Self> {
        let mut eval = Self { template, params, pseudo, resolver, conditions: BTreeMap::new() };
        let mut in_progress = Vec::new();
        for name in template.conditions.keys() {
            eval.condition_value(name, &mut in_progress)?;
        }
        Ok(eval)
    }

    /// The value of every condition.
    pub fn conditions(&self) -> &BTreeMap<String, bool> {
        &self.conditions
    }

    /// True when the resource (or output) condition `name` holds; `None` if undeclared.
    pub fn condition(&self, name: &str) -> Option<bool> {
        self.conditions.get(name).copied()
    }

    /// True when the resource exists and its `Condition` (if any) holds.
    pub fn is_created(&self, logical_id: &str) -> bool {
        match self.template.resources.get(logical_id) {
            None => false,
            Some(r) => r.condition.as_deref().is_none_or(|c| self.condition(c) == Some(true)),
        }
    }

    /// Resolves a resource's `Properties` to plain JSON; `None` when it has none.
    ///
    /// See the crate example for a full run.
    pub fn resolve_properties(&self, logical_id: &str) -> Result<Option<Value>> {
        let Some(resource) = self.template.resources.get(logical_id) else {
            return Err(TemplateError::reference(
                Section::Resources,
                format_args!("instance of Ref references undefined resource {logical_id}"),
            ));
        };
        match &resource.properties {
            None => Ok(None),
            Some(p) => self.resolve(p).map_err(|e| e.in_section(Section::Resources)),
        }
    }

    /// Resolves the outputs whose condition holds, in template order.
    pub fn resolve_outputs(&self) -> Result<Vec<ResolvedOutput>> {
        let mut res = Vec::new();
        for o in self.template.outputs.values() {
            if let Some(c) = &o.condition
                && self.condition(c) != Some(true)
            {
                continue;
            }
            let value = self.resolve(&o.value).map_err(|e| e.in_section(Section::Outputs))?;
            let export_name = match &o.export_name {
                None => None,
                Some(n) => Some(
                    self.resolve_string(n, "Export.Name")
                        .map_err(|e| e.in_section(Section::Outputs))?,
                ),
            };
            res.push(ResolvedOutput {
                logical_id: o.logical_id.clone(),
                value: value.unwrap_or(Value::String(String::new())),
                description: o.description.clone(),
                export_name,
            });
        }
        Ok(res)
    }

    /// Resolves any value; `None` is `AWS::NoValue`.
    pub fn resolve(&self, expr: &Expr) -> Result<Option<Value>> {
        functions::resolve(self, expr).map_err(|e| e.at(expr.pos))
    }

    fn resolve_string(&self, expr: &Expr, what: &str) -> Result<String> {
        let value = self.resolve(expr)?;
        value.as_ref().and_then(scalar_string).ok_or_else(|| {
            TemplateError::evaluation(
                Section::Template,
                format_args!("{what} must resolve to a string"),
            )
            .at(expr.pos)
        })
    }

    fn condition_value(&mut self, name: &str, in_progress: &mut Vec<String>) -> Result<bool> {
        if let Some(v) = self.conditions.get(name) {
            return Ok(*v);
        }
        let Some(expr) = self.template.conditions.get(name) else {
            return Err(TemplateError::format(
                Section::Conditions,
                format_args!("Unresolved condition dependency {name} in Fn::If"),
            ));
        };
        if in_progress.iter().any(|n| n == name) {
            in_progress.push(name.to_owned());
            return Err(TemplateError::format(
                Section::Conditions,
                format_args!(
                    "Circular dependency between conditions: [{}]",
                    in_progress.join(", ")
                ),
            )
            .at(expr.pos));
        }
        in_progress.push(name.to_owned());
        let v = self
            .condition_expr(expr, in_progress)
            .map_err(|e| e.in_section(Section::Conditions))?;
        in_progress.pop();
        self.conditions.insert(name.to_owned(), v);
        Ok(v)
    }

    fn condition_expr(&mut self, expr: &Expr, in_progress: &mut Vec<String>) -> Result<bool> {
        let res = match &expr.kind {
            ExprKind::Condition(name) => self.condition_value(name, in_progress)?,
            ExprKind::Not(inner) => !self.condition_expr(inner, in_progress)?,
            ExprKind::And(items) => {
                let mut all = true;
                for i in items {
                    all &= self.condition_expr(i, in_progress)?;
                }
                all
            }
            ExprKind::Or(items) => {
                let mut any = false;
                for i in items {
                    any |= self.condition_expr(i, in_progress)?;
                }
                any
            }
            ExprKind::Equals(a, b) => {
                let a = self.resolve(a)?;
                let b = self.resolve(b)?;
                loosely_equal(a.as_ref(), b.as_ref())
            }
            ExprKind::Bool(b) => *b,
            ExprKind::String(s) if s == "true" || s == "false" => s == "true",
            _ => {
                return Err(TemplateError::format(
                    Section::Conditions,
                    "Conditions can only be boolean operations on parameters and other conditions",
                )
                .at(expr.pos));
            }
        };
        Ok(res)
    }
}

/// The text of a scalar as CloudFormation compares and concatenates it.
pub(crate) fn scalar_string(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// `Fn::Equals` compares values as CloudFormation's strings: `"5"` equals `5` and `"true"`
/// equals `true`, and lists compare item by item.
fn loosely_equal(a: Option<&Value>, b: Option<&Value>) -> bool {
    match (a, b) {
        (Some(Value::Array(x)), Some(Value::Array(y))) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| loosely_equal(Some(p), Some(q)))
        }
        (Some(x), Some(y)) => match (scalar_string(x), scalar_string(y)) {
            (Some(p), Some(q)) => p == q,
            _ => x == y,
        },
        (None, None) => true,
        _ => false,
    }
}

#[cfg(test)]
mod tests;
