//! Many filters over one event, for the metric and subscription filters of a
//! log group (<https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/MonitoringLogData.html>).
//!
//! This is the ingestion hot path: every event of a log group runs through
//! all of its filters. The set merges the JSON selectors of all its filters,
//! so a JSON event is read once and only for the nodes some filter names, and
//! a space-delimited event is split into fields once.

use crate::compile::{Compiled, EventView, Outcome, SelectorTable, split_fields};
use crate::json_doc::PathTrie;
use crate::metric::{CTransform, Extracted, MetricTransformation};
use crate::{Pattern, TransformError};

/// A compiled set of filters, evaluated together.
///
/// ```
/// use mamori_pattern::{FilterSet, MetricTransformation, Pattern};
///
/// let mut set = FilterSet::new();
/// let root = Pattern::parse(r#"{ $.userIdentity.type = "Root" }"#).unwrap();
/// let denied = Pattern::parse(r#"{ $.errorCode = "AccessDenied*" }"#).unwrap();
/// let a = set.add_metric_filter(&root, &MetricTransformation::new("1")).unwrap();
/// let b = set.add_pattern(&denied);
///
/// let event = r#"{"userIdentity":{"type":"Root"},"errorCode":"AccessDenied"}"#;
/// let hits = set.evaluate(event);
/// assert_eq!(hits.iter().map(|m| m.filter).collect::<Vec<_>>(), [a, b]);
/// assert_eq!(hits[0].extracted.as_ref().unwrap().value, Some(1.0));
/// ```
#[derive(Debug, Default, Clone)]
pub struct FilterSet {
    entries: Vec<Entry>,
    table: SelectorTable,
    trie: PathTrie,
    needs_json: bool,
    needs_fields: bool,
}

#[derive(Debug, Clone)]
struct Entry {
    compiled: Compiled,
    transform: Option<CTransform>,
}

/// One filter of a set that matched an event.
#[derive(Debug, Clone, PartialEq)]
pub struct FilterMatch {
    /// The filter's index, as returned when it was added.
    pub filter: usize,
    /// The metric contribution, for filters added with a transformation.
    pub extracted: Option<Extracted>,
}

impl FilterSet {
    /// An empty set.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a filter without metric (a subscription filter, say); returns its
    /// index.
    pub fn add_pattern(&mut self, pattern: &Pattern) -> usize {
        // The pattern compiled once already, so compiling its tree again
        // cannot fail; fall back to its own program rather than panic.
        let compiled = Compiled::new(pattern.ast(), &mut self.table)
            .unwrap_or_else(|_| pattern.compiled().clone());
        self.push(Entry { compiled, transform: None })
    }

    /// Adds a metric filter; returns its index.
    pub fn add_metric_filter(
        &mut self,
        pattern: &Pattern,
        transformation: &MetricTransformation,
    ) -> Result<usize, TransformError> {
        let mut table = self.table.clone();
        let transform = CTransform::new(transformation, pattern.ast(), &mut table)?;
        let compiled =
            Compiled::new(pattern.ast(), &mut table).unwrap_or_else(|_| pattern.compiled().clone());
        self.table = table;
        Ok(self.push(Entry { compiled, transform: Some(transform) }))
    }

    fn push(&mut self, entry: Entry) -> usize {
        match &entry.compiled {
            Compiled::Json(_) => self.needs_json = true,
            Compiled::Space(_) => self.needs_fields = true,
            _ => {}
        }
        if entry.transform.is_some() && !self.table.selectors.is_empty() {
            self.needs_json = true;
        }
        self.entries.push(entry);
        self.trie = PathTrie::build(&self.table.selectors);
        self.entries.len() - 1
    }

    /// The number of filters.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the set has no filter.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The filters that match `message`, in the order they were added.
    pub fn evaluate(&self, message: &str) -> Vec<FilterMatch> {
        let mut res = Vec::new();
        self.evaluate_into(message, &mut res);
        res
    }

    /// Like [`FilterSet::evaluate`], appending to `out` to reuse its memory.
    pub fn evaluate_into(&self, message: &str, out: &mut Vec<FilterMatch>) {
        let ev = self.view(message);
        for (filter, entry) in self.entries.iter().enumerate() {
            let outcome = entry.compiled.eval(&ev);
            if matches!(outcome, Outcome::NoMatch) {
                continue;
            }
            let extracted = entry.transform.as_ref().map(|t| t.extract(&ev, &outcome));
            out.push(FilterMatch { filter, extracted });
        }
    }

    /// Whether any filter matches, without computing extractions.
    pub fn any_match(&self, message: &str) -> bool {
        let ev = self.view(message);
        self.entries.iter().any(|e| !matches!(e.compiled.eval(&ev), Outcome::NoMatch))
    }

    fn view<'a>(&self, message: &'a str) -> EventView<'a> {
        EventView {
            message,
            json: if self.needs_json { self.trie.extract(message) } else { None },
            fields: if self.needs_fields { split_fields(message) } else { Vec::new() },
        }
    }
}
