//! Log groups: create, delete, describe, retention and tags, following
//! <https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_CreateLogGroup.html>,
//! `API_DescribeLogGroups.html`, `API_PutRetentionPolicy.html` and `API_TagResource.html`.

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{DateTime, TimeDelta, Utc};
use mamori_aws::AwsError;
use mamori_service::{Context, Dispatcher, parse_input};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{load_group, now_millis};
use crate::Logs;
use crate::errors::{already_exists, group_not_found, invalid, read, write};
use crate::state::{
    self, EVENTS, GROUPS, LogGroup, METRIC_FILTERS, RETENTION_DAYS, STREAMS, decode_token,
    encode_token, events_part,
};

/// Most tags on one log group.
const MAX_TAGS: usize = 50;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CreateLogGroupInput {
    log_group_name: String,
    kms_key_id: Option<String>,
    #[serde(default)]
    tags: BTreeMap<String, String>,
    log_group_class: Option<String>,
    deletion_protection_enabled: Option<bool>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct GroupNameInput {
    log_group_name: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct DescribeLogGroupsInput {
    log_group_name_prefix: Option<String>,
    log_group_name_pattern: Option<String>,
    next_token: Option<String>,
    limit: Option<usize>,
    log_group_class: Option<String>,
    log_group_identifiers: Option<Vec<String>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PutRetentionPolicyInput {
    log_group_name: String,
    retention_in_days: i32,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct TagResourceInput {
    resource_arn: String,
    #[serde(default)]
    tags: BTreeMap<String, String>,
    #[serde(default)]
    tag_keys: Vec<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct TagLogGroupInput {
    log_group_name: String,
    #[serde(default)]
    tags: BTreeMap<String, String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct UntagLogGroupInput {
    log_group_name: String,
    tags: Vec<String>,
}

/// The `LogGroup` shape of a stored group.
pub fn group_output(ctx: &Context, g: &LogGroup) -> Value {
    let arn = state::group_arn(ctx.region.as_str(), ctx.account.as_str(), &g.name);
    json!({
        "logGroupName": g.name,
        "creationTime": g.creation_time,
        "retentionInDays": g.retention_in_days,
        "metricFilterCount": g.metric_filter_count,
        "arn": format!("{arn}:*"),
        // GAP: storedBytes is always 0; nothing tracks the bytes a group holds.
        "storedBytes": 0,
        "kmsKeyId": g.kms_key_id,
        "logGroupClass": g.log_group_class,
        "logGroupArn": arn,
    })
}

/// Implements `CreateLogGroup`.
///
/// # Gaps
/// - `kmsKeyId` is stored but nothing is encrypted; `deletionProtectionEnabled` is ignored.
pub fn create_log_group(ctx: &Context, input: Value) -> Result<Value, AwsError> {
    let input: CreateLogGroupInput = parse_input(input)?;
    state::check_group_name(&input.log_group_name, "logGroupName")?;
    if input.tags.len() > MAX_TAGS {
        return Err(invalid("A log group can have no more than 50 tags."));
    }
    if input.deletion_protection_enabled.is_some() {
        // GAP: deletion protection is not enforced; DeleteLogGroup always deletes.
        tracing::warn!(log_group = %input.log_group_name, "deletionProtectionEnabled is ignored");
    }
    let group = LogGroup {
        name: input.log_group_name,
        creation_time: now_millis(ctx),
        retention_in_days: None,
        kms_key_id: input.kms_key_id,
        log_group_class: input.log_group_class.unwrap_or_else(|| "STANDARD".into()),
        tags: input.tags,
        metric_filter_count: 0,
    };
    let part = ctx.partition();
    write(ctx.dispatcher.store(), |tx| {
        if GROUPS.contains(tx, &part, &group.name)? {
            return Err(already_exists("log group").into());
        }
        Ok(GROUPS.put(tx, &part, &group.name, &group)?)
    })?;
    tracing::info!(log_group = %group.name, "log group created");
    Ok(json!({}))
}

/// Implements `DeleteLogGroup`: the group, its streams, events and metric filters.
/// Datapoints already in the outbox are still delivered.
pub fn delete_log_group(svc: &Logs, ctx: &Context, input: Value) -> Result<Value, AwsError> {
    let input: GroupNameInput = parse_input(input)?;
    let name = input.log_group_name;
    state::check_group_name(&name, "logGroupName")?;
    let part = ctx.partition();
    let n_events = write(ctx.dispatcher.store(), |tx| {
        if !GROUPS.delete(tx, &part, &name)? {
            return Err(group_not_found().into());
        }
        let prefix = format!("{name}:");
        for (key, _) in STREAMS.scan(tx, &part, &prefix, None, usize::MAX)? {
            STREAMS.delete(tx, &part, &key)?;
        }
        for (key, _) in METRIC_FILTERS.scan(tx, &part, &prefix, None, usize::MAX)? {
            METRIC_FILTERS.delete(tx, &part, &key)?;
        }
        Ok(EVENTS.delete_before(tx, &events_part(&part, &name), None, i64::MAX)?)
    })?;
    svc.invalidate_filters(&events_part(&part, &name));
    tracing::info!(log_group = %name, n_events, "log group deleted");
    Ok(json!({}))
}

/// Implements `DescribeLogGroups`, in name order.
///
/// # Gaps
/// - `accountIdentifiers` and `includeLinkedAccounts` are ignored; `storedBytes` is 0.
pub fn describe_log_groups(ctx: &Context, input: Value) -> Result<Value, AwsError> {
    let input: DescribeLogGroupsInput = parse_input(input)?;
    if input.log_group_name_prefix.is_some() && input.log_group_name_pattern.is_some() {
        return Err(invalid(
            "LogGroup name prefix and LogGroup name pattern are mutually exclusive parameters.",
        ));
    }
    let limit = input.limit.unwrap_or(50);
    let after = input.next_token.as_deref().map(decode_token).transpose()?;
    let prefix = input.log_group_name_prefix.unwrap_or_default();
    let identifiers = input
        .log_group_identifiers
        .map(|ids| ids.iter().map(|id| state::group_from_identifier(id)).collect())
        .transpose()?
        .map(|v: Vec<String>| v.into_iter().collect::<std::collections::BTreeSet<_>>());
    let part = ctx.partition();
    let mut res = Vec::new();
    let mut next = None;
    read(ctx.dispatcher.store(), |tx| {
        let mut cursor = after.clone();
        'pages: loop {
            let page = GROUPS.scan(tx, &part, &prefix, cursor.as_deref(), 200)?;
            let done = page.len() < 200;
            for (key, group) in page {
                cursor = Some(key);
                let keep = input
                    .log_group_name_pattern
                    .as_ref()
                    .is_none_or(|p| group.name.contains(p))
                    && input.log_group_class.as_ref().is_none_or(|c| *c == group.log_group_class)
                    && identifiers.as_ref().is_none_or(|ids| ids.contains(&group.name));
                if !keep {
                    continue;
                }
                if res.len() == limit {
                    next = res.last().map(|g: &LogGroup| encode_token(&g.name));
                    break 'pages;
                }
                res.push(group);
            }
            if done {
                break;
            }
        }
        Ok(())
    })?;
    let groups: Vec<Value> = res.iter().map(|g| group_output(ctx, g)).collect();
    Ok(json!({ "logGroups": groups, "nextToken": next }))
}

/// Implements `PutRetentionPolicy`; only AWS's listed day counts are accepted.
pub fn put_retention_policy(svc: &Logs, ctx: &Context, input: Value) -> Result<Value, AwsError> {
    let input: PutRetentionPolicyInput = parse_input(input)?;
    let days = input.retention_in_days;
    if !RETENTION_DAYS.contains(&days) {
        let allowed: Vec<String> = RETENTION_DAYS.iter().map(ToString::to_string).collect();
        return Err(invalid(format!(
            "1 validation error detected: Value '{days}' at 'retentionInDays' failed to satisfy constraint: Member must satisfy enum value set: [{}]",
            allowed.join(", ")
        )));
    }
    update_group(ctx, &input.log_group_name, |g| {
        g.retention_in_days = Some(days);
        Ok(())
    })?;
    svc.invalidate_filters(&events_part(&ctx.partition(), &input.log_group_name));
    tracing::info!(log_group = %input.log_group_name, days, "retention policy set");
    Ok(json!({}))
}

/// Implements `DeleteRetentionPolicy`: events are kept forever again.
pub fn delete_retention_policy(svc: &Logs, ctx: &Context, input: Value) -> Result<Value, AwsError> {
    let input: GroupNameInput = parse_input(input)?;
    update_group(ctx, &input.log_group_name, |g| {
        g.retention_in_days = None;
        Ok(())
    })?;
    svc.invalidate_filters(&events_part(&ctx.partition(), &input.log_group_name));
    Ok(json!({}))
}

/// Implements `TagResource` (log group ARNs).
pub fn tag_resource(ctx: &Context, input: Value) -> Result<Value, AwsError> {
    let input: TagResourceInput = parse_input(input)?;
    let name = group_of_arn(&input.resource_arn)?;
    add_tags(ctx, &name, input.tags, "TooManyTagsException")?;
    Ok(json!({}))
}

/// Implements `UntagResource`.
pub fn untag_resource(ctx: &Context, input: Value) -> Result<Value, AwsError> {
    let input: TagResourceInput = parse_input(input)?;
    let name = group_of_arn(&input.resource_arn)?;
    update_group(ctx, &name, |g| {
        for k in &input.tag_keys {
            g.tags.remove(k);
        }
        Ok(())
    })?;
    Ok(json!({}))
}

/// Implements `ListTagsForResource`.
pub fn list_tags_for_resource(ctx: &Context, input: Value) -> Result<Value, AwsError> {
    let input: TagResourceInput = parse_input(input)?;
    let name = group_of_arn(&input.resource_arn)?;
    Ok(json!({ "tags": load_group(ctx, &name)?.tags }))
}

/// Implements the legacy `TagLogGroup`.
pub fn tag_log_group(ctx: &Context, input: Value) -> Result<Value, AwsError> {
    let input: TagLogGroupInput = parse_input(input)?;
    add_tags(ctx, &input.log_group_name, input.tags, "InvalidParameterException")?;
    Ok(json!({}))
}

/// Implements the legacy `UntagLogGroup`.
pub fn untag_log_group(ctx: &Context, input: Value) -> Result<Value, AwsError> {
    let input: UntagLogGroupInput = parse_input(input)?;
    update_group(ctx, &input.log_group_name, |g| {
        for k in &input.tags {
            g.tags.remove(k);
        }
        Ok(())
    })?;
    Ok(json!({}))
}

/// Implements the legacy `ListTagsLogGroup`.
pub fn list_tags_log_group(ctx: &Context, input: Value) -> Result<Value, AwsError> {
    let input: GroupNameInput = parse_input(input)?;
    Ok(json!({ "tags": load_group(ctx, &input.log_group_name)?.tags }))
}

/// Deletes events older than each group's retention, as of `now`. Runs from the
/// scheduler; failures are logged and retried on the next run.
pub fn enforce_retention(dispatcher: &Arc<Dispatcher>, now: DateTime<Utc>) {
    let store = dispatcher.store();
    let res = store.write(|tx| {
        let mut deleted = Vec::new();
        for (part, name, group) in GROUPS.everywhere(tx)? {
            let Some(days) = group.retention_in_days else { continue };
            let cutoff = (now - TimeDelta::days(i64::from(days))).timestamp_millis();
            let n = EVENTS.delete_before(tx, &events_part(&part, &name), None, cutoff)?;
            if n > 0 {
                deleted.push((name, n));
            }
        }
        Ok::<_, mamori_store::StoreError>(deleted)
    });
    match res {
        Ok(deleted) => {
            for (log_group, n_events) in deleted {
                tracing::info!(%log_group, n_events, "expired events deleted by retention");
            }
        }
        Err(e) => tracing::error!(error = %e, "retention run failed"),
    }
}

fn group_of_arn(arn: &str) -> Result<String, AwsError> {
    if !arn.contains(":log-group:") {
        return Err(invalid(format!("Invalid resource ARN: {arn}")));
    }
    state::group_from_identifier(arn)
}

fn add_tags(
    ctx: &Context,
    name: &str,
    tags: BTreeMap<String, String>,
    too_many: &str,
) -> Result<(), AwsError> {
    update_group(ctx, name, |g| {
        g.tags.extend(tags);
        if g.tags.len() > MAX_TAGS {
            return Err(AwsError::new(too_many, "A resource can have no more than 50 tags."));
        }
        Ok(())
    })
}

fn update_group(
    ctx: &Context,
    name: &str,
    f: impl FnOnce(&mut LogGroup) -> Result<(), AwsError>,
) -> Result<(), AwsError> {
    state::check_group_name(name, "logGroupName")?;
    let part = ctx.partition();
    write(ctx.dispatcher.store(), |tx| {
        let mut group = GROUPS.get(tx, &part, name)?.ok_or_else(group_not_found)?;
        f(&mut group)?;
        Ok(GROUPS.put(tx, &part, name, &group)?)
    })
}
