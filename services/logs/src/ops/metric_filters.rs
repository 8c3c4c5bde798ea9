//! Metric filters: put, describe, delete and test, following
//! <https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_PutMetricFilter.html>,
//! `API_DescribeMetricFilters.html` and `API_TestMetricFilter.html`.

use std::collections::BTreeMap;

use mamori_aws::AwsError;
use mamori_pattern::{FilterSet, Pattern};
use mamori_service::{Context, parse_input};
use serde::Deserialize;
use serde_json::{Value, json};

use super::now_millis;
use crate::Logs;
use crate::errors::{group_not_found, invalid, limit_exceeded, read, write};
use crate::metrics::transformation;
use crate::state::{
    self, GROUPS, METRIC_FILTERS, MetricFilter, child_key, decode_token, encode_token, events_part,
};

/// Most metric filters per log group (a hard AWS quota).
pub const MAX_FILTERS: usize = 100;
/// Most filters with a regular expression per log group.
pub const MAX_REGEX_FILTERS: usize = 5;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct TransformationInput {
    metric_name: String,
    metric_namespace: String,
    metric_value: String,
    default_value: Option<f64>,
    #[serde(default)]
    dimensions: BTreeMap<String, String>,
    unit: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PutMetricFilterInput {
    log_group_name: String,
    filter_name: String,
    filter_pattern: String,
    metric_transformations: Vec<TransformationInput>,
    apply_on_transformed_logs: Option<bool>,
    field_selection_criteria: Option<String>,
    emit_system_field_dimensions: Option<Vec<String>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct DescribeMetricFiltersInput {
    log_group_name: Option<String>,
    filter_name_prefix: Option<String>,
    next_token: Option<String>,
    limit: Option<usize>,
    metric_name: Option<String>,
    metric_namespace: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct DeleteMetricFilterInput {
    log_group_name: String,
    filter_name: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct TestMetricFilterInput {
    filter_pattern: String,
    log_event_messages: Vec<String>,
}

/// Parses a pattern; the parser's message (offset and what was expected) reaches the
/// client.
fn parse_pattern(src: &str) -> Result<Pattern, AwsError> {
    Pattern::parse(src).map_err(|e| invalid(format!("Invalid metric filter pattern: {e}")))
}

/// The `MetricFilter` shape of a stored filter.
fn filter_output(f: &MetricFilter) -> Value {
    let mut t = json!({
        "metricName": f.metric_name,
        "metricNamespace": f.metric_namespace,
        "metricValue": f.metric_value,
        "defaultValue": f.default_value,
        "unit": f.unit,
    });
    if !f.dimensions.is_empty() {
        t["dimensions"] = json!(f.dimensions);
    }
    json!({
        "filterName": f.filter_name,
        "filterPattern": f.filter_pattern,
        "metricTransformations": [t],
        "creationTime": f.creation_time,
        "logGroupName": f.log_group_name,
    })
}

/// Implements `PutMetricFilter` (create or replace).
///
/// # Gaps
/// - `applyOnTransformedLogs`, `fieldSelectionCriteria` and `emitSystemFieldDimensions`
///   are rejected: there are no transformers, and ignoring them would change the metric.
pub fn put_metric_filter(svc: &Logs, ctx: &Context, input: Value) -> Result<Value, AwsError> {
    let input: PutMetricFilterInput = parse_input(input)?;
    state::check_group_name(&input.log_group_name, "logGroupName")?;
    state::check_stream_name(&input.filter_name, "filterName")?;
    if input.apply_on_transformed_logs == Some(true)
        || input.field_selection_criteria.is_some()
        || input.emit_system_field_dimensions.as_ref().is_some_and(|v| !v.is_empty())
    {
        // GAP: log transformers and system field dimensions are not implemented.
        return Err(invalid(
            "applyOnTransformedLogs, fieldSelectionCriteria and emitSystemFieldDimensions are not supported.",
        ));
    }
    let [t] = <[TransformationInput; 1]>::try_from(input.metric_transformations)
        .map_err(|_| invalid("metricTransformations must contain exactly one item."))?;
    state::check_metric_name(&t.metric_name, "metricTransformations.1.member.metricName")?;
    state::check_metric_name(
        &t.metric_namespace,
        "metricTransformations.1.member.metricNamespace",
    )?;
    let pattern = parse_pattern(&input.filter_pattern)?;
    let filter = MetricFilter {
        filter_name: input.filter_name,
        filter_pattern: input.filter_pattern,
        log_group_name: input.log_group_name,
        creation_time: now_millis(ctx),
        metric_name: t.metric_name,
        metric_namespace: t.metric_namespace,
        metric_value: t.metric_value,
        default_value: t.default_value,
        dimensions: t.dimensions,
        unit: t.unit,
    };
    // The engine checks the value and dimensions against the pattern's fields.
    FilterSet::new()
        .add_metric_filter(&pattern, &transformation(&filter))
        .map_err(|e| invalid(format!("Invalid metric transformation: {e}")))?;
    let part = ctx.partition();
    let group = filter.log_group_name.clone();
    let key = child_key(&group, &filter.filter_name);
    write(ctx.dispatcher.store(), |tx| {
        let mut group_doc = GROUPS.get(tx, &part, &group)?.ok_or_else(group_not_found)?;
        let existing = METRIC_FILTERS.scan(tx, &part, &format!("{group}:"), None, usize::MAX)?;
        let others: Vec<&MetricFilter> = existing
            .iter()
            .map(|(_, f)| f)
            .filter(|f| f.filter_name != filter.filter_name)
            .collect();
        if others.len() >= MAX_FILTERS {
            return Err(limit_exceeded("Resource limit exceeded.").into());
        }
        if pattern.has_regex() {
            let n_regex = others
                .iter()
                .filter(|f| Pattern::parse(&f.filter_pattern).is_ok_and(|p| p.has_regex()))
                .count();
            if n_regex >= MAX_REGEX_FILTERS {
                return Err(limit_exceeded(
                    "A log group can have at most 5 filters whose pattern contains a regular expression.",
                )
                .into());
            }
        }
        METRIC_FILTERS.put(tx, &part, &key, &filter)?;
        group_doc.metric_filter_count = others.len() + 1;
        Ok(GROUPS.put(tx, &part, &group, &group_doc)?)
    })?;
    svc.invalidate_filters(&events_part(&part, &group));
    tracing::info!(log_group = %group, filter = %filter.filter_name, metric = %filter.metric_name, "metric filter put");
    Ok(json!({}))
}

/// Implements `DescribeMetricFilters`, in (group, filter name) order.
pub fn describe_metric_filters(ctx: &Context, input: Value) -> Result<Value, AwsError> {
    let input: DescribeMetricFiltersInput = parse_input(input)?;
    if input.filter_name_prefix.is_some() && input.log_group_name.is_none() {
        return Err(invalid("filterNamePrefix requires logGroupName."));
    }
    if input.metric_name.is_some() != input.metric_namespace.is_some() {
        return Err(invalid("metricName and metricNamespace must be specified together."));
    }
    let limit = input.limit.unwrap_or(50);
    let after = input.next_token.as_deref().map(decode_token).transpose()?;
    let prefix = match &input.log_group_name {
        Some(g) => {
            state::check_group_name(g, "logGroupName")?;
            format!("{g}:{}", input.filter_name_prefix.as_deref().unwrap_or(""))
        }
        None => String::new(),
    };
    let part = ctx.partition();
    let rows = read(ctx.dispatcher.store(), |tx| {
        if let Some(g) = &input.log_group_name
            && !GROUPS.contains(tx, &part, g)?
        {
            return Err(group_not_found().into());
        }
        Ok(METRIC_FILTERS.scan(tx, &part, &prefix, after.as_deref(), usize::MAX)?)
    })?;
    let mut page = Vec::new();
    let mut next = None;
    for (key, f) in rows {
        let keep = input.metric_name.as_ref().is_none_or(|m| *m == f.metric_name)
            && input.metric_namespace.as_ref().is_none_or(|n| *n == f.metric_namespace);
        if !keep {
            continue;
        }
        if page.len() == limit {
            next = page.last().map(|(k, _): &(String, MetricFilter)| encode_token(k));
            break;
        }
        page.push((key, f));
    }
    let filters: Vec<Value> = page.iter().map(|(_, f)| filter_output(f)).collect();
    Ok(json!({ "metricFilters": filters, "nextToken": next }))
}

/// Implements `DeleteMetricFilter`.
pub fn delete_metric_filter(svc: &Logs, ctx: &Context, input: Value) -> Result<Value, AwsError> {
    let input: DeleteMetricFilterInput = parse_input(input)?;
    state::check_group_name(&input.log_group_name, "logGroupName")?;
    let part = ctx.partition();
    let group = &input.log_group_name;
    write(ctx.dispatcher.store(), |tx| {
        let mut group_doc = GROUPS.get(tx, &part, group)?.ok_or_else(group_not_found)?;
        if !METRIC_FILTERS.delete(tx, &part, &child_key(group, &input.filter_name))? {
            return Err(AwsError::new(
                "ResourceNotFoundException",
                "The specified metric filter does not exist.",
            )
            .into());
        }
        group_doc.metric_filter_count = group_doc.metric_filter_count.saturating_sub(1);
        Ok(GROUPS.put(tx, &part, group, &group_doc)?)
    })?;
    svc.invalidate_filters(&events_part(&part, group));
    tracing::info!(log_group = %group, filter = %input.filter_name, "metric filter deleted");
    Ok(json!({}))
}

/// Implements `TestMetricFilter`: the matching messages and the values the pattern names.
pub fn test_metric_filter(input: Value) -> Result<Value, AwsError> {
    let input: TestMetricFilterInput = parse_input(input)?;
    let pattern = parse_pattern(&input.filter_pattern)?;
    let messages: Vec<&str> = input.log_event_messages.iter().map(String::as_str).collect();
    let matches: Vec<Value> = mamori_pattern::test_messages(&pattern, &messages)
        .into_iter()
        .map(|m| {
            json!({
                "eventNumber": m.event_number,
                "eventMessage": m.event_message,
                "extractedValues": m.extracted_values,
            })
        })
        .collect();
    Ok(json!({ "matches": matches }))
}
