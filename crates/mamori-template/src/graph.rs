//! The resource dependency graph: creation and deletion order, and cycle detection,
//! following
//! <https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-attribute-dependson.html>.
//!
//! A resource depends on every resource it names through `Ref`, `Fn::GetAtt`, a `${...}`
//! variable of `Fn::Sub` (both branches of an `Fn::If` count) and `DependsOn`. The creation
//! order is topological with ties broken by logical id, so it is the same on every run.

use std::collections::{BTreeMap, BTreeSet};

use crate::error::{ErrorKind, Result, Section, TemplateError};
use crate::expr::{Expr, ExprKind};
use crate::template::Template;

/// The dependency graph of a template's resources.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Graph {
    deps: BTreeMap<String, BTreeSet<String>>,
    order: Vec<String>,
}

impl Graph {
    /// Builds the graph and the creation order; fails with the resources on a cycle named.
    /// References to undeclared resources are ignored here: [`Template::validate`] reports
    /// them first.
    pub fn build(template: &Template) -> Result<Graph> {
        let mut deps: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for (id, r) in &template.resources {
            let mut set = BTreeSet::new();
            if let Some(p) = &r.properties {
                referenced_resources(p, template, &mut |name| {
                    set.insert(name.to_owned());
                });
            }
            for d in &r.depends_on {
                if template.resources.contains_key(d) {
                    set.insert(d.clone());
                }
            }
            deps.insert(id.clone(), set);
        }
        let order = topological(&deps)?;
        Ok(Graph { deps, order })
    }

    /// The resources `logical_id` depends on directly, by logical id.
    pub fn dependencies(&self, logical_id: &str) -> impl Iterator<Item = &str> {
        self.deps.get(logical_id).into_iter().flatten().map(String::as_str)
    }

    /// The resources that depend directly on `logical_id`, by logical id.
    pub fn dependents(&self, logical_id: &str) -> Vec<&str> {
        self.deps.iter().filter(|(_, d)| d.contains(logical_id)).map(|(k, _)| k.as_str()).collect()
    }

    /// Every resource, dependencies first; ties broken by logical id.
    pub fn creation_order(&self) -> &[String] {
        &self.order
    }

    /// Every resource, dependents first: the reverse of the creation order.
    pub fn deletion_order(&self) -> Vec<String> {
        self.order.iter().rev().cloned().collect()
    }
}

/// Calls `f` with every resource that `expr` names (Ref, GetAtt, Sub variables).
pub fn referenced_resources(expr: &Expr, template: &Template, f: &mut dyn FnMut(&str)) {
    expr.walk(&mut |e| match &e.kind {
        ExprKind::Ref(name) if template.resources.contains_key(name) => f(name),
        ExprKind::GetAtt { resource, .. } if template.resources.contains_key(resource) => {
            f(resource)
        }
        ExprKind::Sub { parts, vars } => {
            for v in crate::sub::variables(parts) {
                if vars.iter().any(|(k, _)| k == v) {
                    continue;
                }
                let target = v.split_once('.').map_or(v, |(r, _)| r);
                if template.resources.contains_key(target) {
                    f(target);
                }
            }
        }
        _ => {}
    });
}

/// Kahn's algorithm with a sorted ready set.
fn topological(deps: &BTreeMap<String, BTreeSet<String>>) -> Result<Vec<String>> {
    let mut remaining: BTreeMap<&str, usize> =
        deps.iter().map(|(k, d)| (k.as_str(), d.len())).collect();
    let mut ready: BTreeSet<&str> =
        remaining.iter().filter(|(_, n)| **n == 0).map(|(k, _)| *k).collect();
    let mut dependents: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (k, d) in deps {
        for dep in d {
            dependents.entry(dep.as_str()).or_default().push(k.as_str());
        }
    }
    let mut order = Vec::with_capacity(deps.len());
    while let Some(next) = ready.pop_first() {
        remaining.remove(next);
        order.push(next.to_owned());
        for d in dependents.get(next).into_iter().flatten() {
            if let Some(n) = remaining.get_mut(d) {
                *n -= 1;
                if *n == 0 {
                    ready.insert(d);
                }
            }
        }
    }
    if remaining.is_empty() {
        return Ok(order);
    }
    let cycle = on_cycles(deps, &remaining.keys().copied().collect());
    Err(TemplateError::new(
        ErrorKind::Circular,
        Section::Resources,
        format!("Circular dependency between resources: [{}]", cycle.join(", ")),
    ))
}

/// Among the resources left after Kahn's algorithm, the ones on a cycle (the rest merely
/// depend on one), found as the members of strongly connected components with a cycle.
fn on_cycles<'a>(
    deps: &'a BTreeMap<String, BTreeSet<String>>,
    left: &BTreeSet<&'a str>,
) -> Vec<&'a str> {
    // A node is on a cycle when it can reach itself; the graph is at most 500 nodes, so a
    // search per node is cheap enough and simpler to trust than Tarjan's algorithm.
    let mut res = Vec::new();
    for &start in left {
        let mut seen = BTreeSet::new();
        let mut stack: Vec<&str> =
            deps.get(start).into_iter().flatten().map(String::as_str).collect();
        while let Some(n) = stack.pop() {
            if n == start {
                res.push(start);
                break;
            }
            if left.contains(n) && seen.insert(n) {
                stack.extend(deps.get(n).into_iter().flatten().map(String::as_str));
            }
        }
    }
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    fn graph(yaml: &str) -> Result<Graph> {
        Graph::build(&Template::parse(yaml).unwrap())
    }

    #[test]
    fn order_is_topological_with_ties_by_logical_id() {
        let g = graph(
            "Resources:
  C: {Type: T, Properties: {A: !Sub '${B.Arn}-x'}}
  B: {Type: T, Properties: {A: !Ref A}}
  A: {Type: T}
  Z: {Type: T}
  D: {Type: T, DependsOn: [C, Z]}
  E: {Type: T, Properties: {X: !If [Cond, !GetAtt Z.Arn, !Ref AWS::NoValue]}}
",
        )
        .unwrap();
        assert_eq!(g.creation_order(), ["A", "B", "C", "Z", "D", "E"]);
        assert_eq!(g.deletion_order(), ["E", "D", "Z", "C", "B", "A"]);
        assert_eq!(g.dependencies("D").collect::<Vec<_>>(), ["C", "Z"]);
        assert_eq!(g.dependents("Z"), ["D", "E"]);
    }

    #[test]
    fn cycles_are_named() {
        let cases = [
            (
                "Resources:\n  A: {Type: T, DependsOn: B}\n  B: {Type: T, Properties: {X: !Ref A}}\n",
                "[A, B]",
            ),
            ("Resources:\n  A: {Type: T, Properties: {X: !Sub '${A.Arn}'}}\n", "[A]"),
            // C only depends on the cycle; it is not named.
            (
                "Resources:\n  A: {Type: T, DependsOn: B}\n  B: {Type: T, DependsOn: A}\n  C: {Type: T, DependsOn: A}\n",
                "[A, B]",
            ),
        ];
        for (yaml, want) in cases {
            let err = graph(yaml).unwrap_err();
            assert_eq!(
                err.message,
                format!("Circular dependency between resources: {want}"),
                "yaml={yaml:?}"
            );
            assert_eq!(err.kind, ErrorKind::Circular);
        }
    }
}
