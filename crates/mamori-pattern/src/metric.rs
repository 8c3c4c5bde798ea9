//! Metric extraction as metric filters do it: the value and dimensions that a
//! matching event contributes, following
//! <https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_MetricTransformation.html>
//! and <https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/FilterAndPatternSyntax.html>
//! ("Using metric filters to extract values").
//!
//! A metric value or dimension names a field as `$.path` (JSON patterns) or
//! `$name` (a named field of a space-delimited pattern). When a matching
//! event lacks the field, or the metric value field is not numeric, the event
//! yields no datapoint ([`Extracted::value`] is `None`): publishing it with a
//! made-up value or without its dimension would count it in the wrong metric.

use std::collections::BTreeMap;

use crate::ast::{Ast, SpaceField};
use crate::compile::{EventView, Outcome, SelectorTable, parse_number};
use crate::error::TransformError;
use crate::json_doc::Node;
use crate::parse::parse_selector;

/// Most dimensions of one metric transformation.
pub const MAX_DIMENSIONS: usize = 3;

/// The metric part of a metric filter (`PutMetricFilter`'s
/// `metricTransformations[0]`, without the metric name and namespace, which
/// the engine does not need).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct MetricTransformation {
    /// A number (`"1"`), `$.path` or `$field`.
    pub metric_value: String,
    /// Published by the service for periods without a match; not used per event.
    pub default_value: Option<f64>,
    /// Dimension name to `$.path` or `$field`.
    pub dimensions: BTreeMap<String, String>,
    /// The CloudWatch unit, passed through untouched.
    pub unit: Option<String>,
}

/// What one matching event contributes to the metric.
#[derive(Debug, Clone, PartialEq)]
pub struct Extracted {
    /// The value to add, or `None` when the event gives no datapoint (a named
    /// field is missing, or the value field is not a number).
    pub value: Option<f64>,
    /// The dimensions, by name, that could be resolved.
    pub dimensions: Vec<(String, String)>,
}

impl MetricTransformation {
    /// A transformation with `metric_value` and nothing else.
    pub fn new(metric_value: impl Into<String>) -> Self {
        MetricTransformation { metric_value: metric_value.into(), ..Default::default() }
    }
}

/// A reference to a value of the event.
#[derive(Debug, Clone)]
enum FieldRef {
    /// A JSON selector slot.
    Json(usize),
    /// A slot of a space-delimited pattern.
    Field(usize),
}

#[derive(Debug, Clone)]
enum CValue {
    Literal(f64),
    Ref(FieldRef),
}

/// A transformation checked against its pattern.
#[derive(Debug, Clone)]
pub(crate) struct CTransform {
    value: CValue,
    dimensions: Vec<(String, FieldRef)>,
}

impl CTransform {
    pub(crate) fn new(
        t: &MetricTransformation,
        ast: &Ast,
        table: &mut SelectorTable,
    ) -> Result<Self, TransformError> {
        if t.dimensions.len() > MAX_DIMENSIONS {
            return Err(TransformError::TooManyDimensions);
        }
        if t.default_value.is_some() && !t.dimensions.is_empty() {
            return Err(TransformError::DefaultWithDimensions);
        }
        let value = if t.metric_value.starts_with('$') {
            CValue::Ref(field_ref(&t.metric_value, ast, table)?)
        } else {
            match parse_number(t.metric_value.trim()) {
                Some(n) => CValue::Literal(n),
                None => {
                    return Err(TransformError::InvalidMetricValue {
                        value: t.metric_value.clone(),
                    });
                }
            }
        };
        let mut dimensions = Vec::with_capacity(t.dimensions.len());
        for (name, reference) in &t.dimensions {
            if !reference.starts_with('$') {
                return Err(TransformError::InvalidDimension {
                    name: name.clone(),
                    value: reference.clone(),
                });
            }
            dimensions.push((name.clone(), field_ref(reference, ast, table)?));
        }
        Ok(CTransform { value, dimensions })
    }

    /// Computes the contribution of a matching event.
    pub(crate) fn extract(&self, ev: &EventView<'_>, outcome: &Outcome) -> Extracted {
        let mut complete = true;
        let mut dimensions = Vec::with_capacity(self.dimensions.len());
        for (name, reference) in &self.dimensions {
            match resolve_text(reference, ev, outcome) {
                Some(text) => dimensions.push((name.clone(), text)),
                None => complete = false,
            }
        }
        let value = match &self.value {
            CValue::Literal(n) => Some(*n),
            CValue::Ref(FieldRef::Json(slot)) => {
                match ev.json.as_ref().and_then(|j| j.get(*slot)) {
                    Some(Node::Num(n)) => Some(*n),
                    // Numbers logged as strings ("latency": "12.5") still count.
                    Some(Node::Str(s)) => parse_number(s),
                    _ => None,
                }
            }
            CValue::Ref(r @ FieldRef::Field(_)) => {
                resolve_field(r, ev, outcome).and_then(parse_number)
            }
        };
        Extracted { value: value.filter(|_| complete), dimensions }
    }
}

fn field_ref(text: &str, ast: &Ast, table: &mut SelectorTable) -> Result<FieldRef, TransformError> {
    let unknown = || TransformError::UnknownField { reference: text.to_owned() };
    match ast {
        Ast::Json(_) => {
            parse_selector(text).map(|s| FieldRef::Json(table.slot(&s))).ok_or_else(unknown)
        }
        Ast::Space(fields) => {
            let name = text.strip_prefix('$').ok_or_else(unknown)?;
            fields
                .iter()
                .position(|f| matches!(f, SpaceField::Named { name: n, .. } if n == name))
                .map(FieldRef::Field)
                .ok_or_else(unknown)
        }
        _ => Err(unknown()),
    }
}

fn resolve_field<'a>(
    reference: &FieldRef,
    ev: &EventView<'a>,
    outcome: &Outcome,
) -> Option<&'a str> {
    match (reference, outcome) {
        (FieldRef::Field(slot), Outcome::SpaceMatch(binding)) => {
            let index = (*binding.get(*slot)?)?;
            ev.fields.get(index).copied()
        }
        _ => None,
    }
}

fn resolve_text(reference: &FieldRef, ev: &EventView<'_>, outcome: &Outcome) -> Option<String> {
    match reference {
        FieldRef::Json(slot) => ev.json.as_ref()?.get(*slot)?.to_text(),
        FieldRef::Field(_) => resolve_field(reference, ev, outcome).map(str::to_owned),
    }
}
