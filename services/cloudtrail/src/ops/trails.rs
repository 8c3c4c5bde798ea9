//! Trail management: Create/Update/Delete/Describe/Get/List trails, logging on and off,
//! status, event and insight selectors and tags, following
//! <https://docs.aws.amazon.com/awscloudtrail/latest/APIReference/API_CreateTrail.html>
//! and the pages of the other operations.

use mamori_aws::AwsError;
use mamori_service::{Context, parse_input};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::errors::{db, trail_not_found};
use crate::ops::checks::{BucketCheck, check_bucket, check_logs_destination, check_topic};
use crate::selectors;
use crate::state::{DeliveryStatus, TRAILS, Trail, cursors_now, trail_parts};

/// Trails per region.
const MAX_TRAILS: usize = 5;

/// Checks a trail name the way CreateTrail does.
pub fn validate_name(name: &str) -> Result<(), AwsError> {
    let bad = |why: &str| {
        AwsError::new(
            "InvalidTrailNameException",
            format!(
                "Trail name or ARN can only contain uppercase letters, lowercase letters, numbers, periods (.), hyphens (-), and underscores (_); {why}."
            ),
        )
    };
    if !(3..=128).contains(&name.len()) {
        return Err(bad("it must be between 3 and 128 characters"));
    }
    if !name.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-')) {
        return Err(bad("it contains another character"));
    }
    let (first, last) = (name.as_bytes()[0], name.as_bytes()[name.len() - 1]);
    if !first.is_ascii_alphanumeric() || !last.is_ascii_alphanumeric() {
        return Err(bad("it must start and end with a letter or number"));
    }
    if name
        .as_bytes()
        .windows(2)
        .any(|w| !w[0].is_ascii_alphanumeric() && !w[1].is_ascii_alphanumeric())
    {
        return Err(bad("it cannot have adjacent periods, underscores or dashes"));
    }
    if name.parse::<std::net::Ipv4Addr>().is_ok() {
        return Err(bad("it cannot be an IP address"));
    }
    Ok(())
}

/// The trail name of a `Name` or `TrailName` parameter that may be a trail ARN.
fn name_of(name_or_arn: &str) -> &str {
    name_or_arn
        .strip_prefix("arn:")
        .and_then(|rest| rest.rsplit_once(":trail/"))
        .map_or(name_or_arn, |(_, n)| n)
}

fn load(ctx: &Context, name_or_arn: &str) -> Result<Trail, AwsError> {
    let name = name_of(name_or_arn);
    ctx.dispatcher
        .store()
        .read(|tx| TRAILS.get(tx, ctx.account.as_str(), name))
        .map_err(db)?
        .ok_or_else(|| trail_not_found(name, ctx.account.as_str()))
}

fn save(ctx: &Context, trail: &Trail) -> Result<(), AwsError> {
    ctx.dispatcher
        .store()
        .write(|tx| TRAILS.put(tx, ctx.account.as_str(), &trail.name, trail))
        .map_err(db)
}

fn trail_json(t: &Trail) -> Value {
    json!({
        "Name": t.name,
        "S3BucketName": t.s3_bucket_name,
        "S3KeyPrefix": t.s3_key_prefix,
        "SnsTopicName": t.sns_topic_name,
        "SnsTopicARN": t.sns_topic_arn(),
        "IncludeGlobalServiceEvents": t.include_global_service_events,
        "IsMultiRegionTrail": t.is_multi_region_trail,
        "HomeRegion": t.home_region,
        "TrailARN": t.arn(),
        "LogFileValidationEnabled": t.log_file_validation_enabled,
        "CloudWatchLogsLogGroupArn": t.cloud_watch_logs_log_group_arn,
        "CloudWatchLogsRoleArn": t.cloud_watch_logs_role_arn,
        "KmsKeyId": t.kms_key_id,
        "HasCustomEventSelectors": t.has_custom_event_selectors(),
        "HasInsightSelectors": !t.insight_selectors.is_empty(),
        "IsOrganizationTrail": t.is_organization_trail,
    })
}

fn create_update_response(t: &Trail) -> Value {
    let mut v = trail_json(t);
    if let Some(obj) = v.as_object_mut() {
        obj.remove("HomeRegion");
        obj.remove("HasCustomEventSelectors");
        obj.remove("HasInsightSelectors");
    }
    v
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct TrailInput {
    name: String,
    s3_bucket_name: Option<String>,
    s3_key_prefix: Option<String>,
    sns_topic_name: Option<String>,
    include_global_service_events: Option<bool>,
    is_multi_region_trail: Option<bool>,
    enable_log_file_validation: Option<bool>,
    cloud_watch_logs_log_group_arn: Option<String>,
    cloud_watch_logs_role_arn: Option<String>,
    kms_key_id: Option<String>,
    is_organization_trail: Option<bool>,
    #[serde(default)]
    tags_list: Vec<Tag>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Tag {
    key: String,
    value: Option<String>,
}

/// The log group name of a CloudWatch Logs group ARN (`...:log-group:<name>:*`).
pub fn log_group_name(arn: &str) -> Option<&str> {
    let rest = arn.strip_prefix("arn:")?.split_once(":log-group:")?.1;
    let name = rest.strip_suffix(":*").unwrap_or(rest);
    (!name.is_empty()).then_some(name)
}

/// The ARN of a topic given by name or ARN.
fn topic_arn(ctx: &Context, topic: &str) -> String {
    if topic.starts_with("arn:") {
        topic.to_owned()
    } else {
        format!("arn:aws:sns:{}:{}:{topic}", ctx.region, ctx.account)
    }
}

/// Implements `CreateTrail`.
///
/// # Gaps
/// - The KMS key is not checked (KMS is not built yet).
/// - Organization trails are refused: no account is in an organization yet.
pub async fn create_trail(ctx: &Context, input: Value) -> Result<Value, AwsError> {
    let input: TrailInput = parse_input(input)?;
    validate_name(&input.name)?;
    refuse_organization_trail(input.is_organization_trail)?;
    let bucket = input.s3_bucket_name.clone().unwrap_or_default();
    let account = ctx.account.to_string();
    let store = ctx.dispatcher.store();
    let existing = store.read(|tx| TRAILS.all(tx, &account)).map_err(db)?;
    if existing.iter().any(|(k, _)| *k == input.name) {
        return Err(AwsError::new(
            "TrailAlreadyExistsException",
            format!("Trail {} already exists for customer: {account}", input.name),
        ));
    }
    if existing.iter().filter(|(_, t)| t.home_region == ctx.region.as_str()).count() >= MAX_TRAILS {
        return Err(AwsError::new(
            "MaximumNumberOfTrailsExceededException",
            format!("User: {account} already has {MAX_TRAILS} trails in {}.", ctx.region),
        ));
    }
    let arn = format!("arn:aws:cloudtrail:{}:{account}:trail/{}", ctx.region, input.name);
    let s3_error = match check_bucket(ctx, &bucket, input.s3_key_prefix.as_deref(), &arn).await? {
        BucketCheck::Ok => None,
        BucketCheck::NoS3(e) => Some(e),
    };
    if let Some(topic) = input.sns_topic_name.as_deref() {
        check_topic(ctx, &topic_arn(ctx, topic), &arn).await?;
    }
    check_logs_destination(
        ctx,
        &arn,
        input.cloud_watch_logs_log_group_arn.as_deref(),
        input.cloud_watch_logs_role_arn.as_deref(),
    )
    .await?;
    let mut trail = Trail {
        name: input.name,
        home_region: ctx.region.to_string(),
        account,
        s3_bucket_name: bucket,
        s3_key_prefix: input.s3_key_prefix,
        sns_topic_name: input.sns_topic_name,
        include_global_service_events: input.include_global_service_events.unwrap_or(true),
        is_multi_region_trail: input.is_multi_region_trail.unwrap_or(false),
        log_file_validation_enabled: input.enable_log_file_validation.unwrap_or(false),
        cloud_watch_logs_log_group_arn: input.cloud_watch_logs_log_group_arn,
        cloud_watch_logs_role_arn: input.cloud_watch_logs_role_arn,
        kms_key_id: input.kms_key_id,
        is_organization_trail: input.is_organization_trail.unwrap_or(false),
        event_selectors: Vec::new(),
        advanced_event_selectors: Vec::new(),
        insight_selectors: Vec::new(),
        tags: input.tags_list.into_iter().map(|t| (t.key, t.value.unwrap_or_default())).collect(),
        is_logging: false,
        start_logging_time: None,
        stop_logging_time: None,
        status: DeliveryStatus { latest_delivery_error: s3_error, ..Default::default() },
    };
    // Delivery starts with events recorded from now on.
    let cursors = store.read(|tx| cursors_now(tx, &trail_parts(tx, &trail)?)).map_err(db)?;
    trail.status.logs_cursor = cursors.clone();
    trail.status.s3_cursor = cursors;
    save(ctx, &trail)?;
    tracing::info!(trail = %trail.arn(), "trail created");
    Ok(create_update_response(&trail))
}

/// An organization trail needs the caller's account to manage an organization; mamori
/// has no organizations yet, so every account answers as one outside any organization.
// GAP: organization trails wait for Organizations; until then they are refused.
fn refuse_organization_trail(requested: Option<bool>) -> Result<(), AwsError> {
    if requested == Some(true) {
        return Err(AwsError::new(
            "OrganizationsNotInUseException",
            "This account is not a member of an organization, so it cannot create an organization trail.",
        ));
    }
    Ok(())
}

/// Implements `UpdateTrail`.
pub async fn update_trail(ctx: &Context, input: Value) -> Result<Value, AwsError> {
    let input: TrailInput = parse_input(input)?;
    let mut trail = load(ctx, &input.name)?;
    let prefix_changed = input.s3_key_prefix.is_some();
    if prefix_changed {
        trail.s3_key_prefix = input.s3_key_prefix.filter(|p| !p.is_empty());
    }
    // A new prefix needs the bucket policy to cover it too.
    let bucket =
        input.s3_bucket_name.or_else(|| prefix_changed.then(|| trail.s3_bucket_name.clone()));
    if let Some(b) = bucket {
        let prefix = trail.s3_key_prefix.clone();
        trail.status.latest_delivery_error =
            match check_bucket(ctx, &b, prefix.as_deref(), &trail.arn()).await? {
                BucketCheck::Ok => None,
                BucketCheck::NoS3(e) => Some(e),
            };
        trail.s3_bucket_name = b;
    }
    if input.sns_topic_name.is_some() {
        trail.sns_topic_name = input.sns_topic_name.filter(|p| !p.is_empty());
        if let Some(topic) = trail.sns_topic_arn() {
            check_topic(ctx, &topic, &trail.arn()).await?;
        }
    }
    if input.cloud_watch_logs_log_group_arn.is_some() || input.cloud_watch_logs_role_arn.is_some() {
        let group = input.cloud_watch_logs_log_group_arn.filter(|s| !s.is_empty());
        let role = input.cloud_watch_logs_role_arn.filter(|s| !s.is_empty());
        check_logs_destination(ctx, &trail.arn(), group.as_deref(), role.as_deref()).await?;
        trail.cloud_watch_logs_log_group_arn = group;
        trail.cloud_watch_logs_role_arn = role;
        trail.status.logs_streams.clear();
        crate::role::forget(&trail.arn());
    }
    trail.include_global_service_events =
        input.include_global_service_events.unwrap_or(trail.include_global_service_events);
    let multi = input.is_multi_region_trail.unwrap_or(trail.is_multi_region_trail);
    if multi && !trail.is_multi_region_trail {
        // The other regions are delivered from now on, not their backlog.
        trail.is_multi_region_trail = true;
        let store = ctx.dispatcher.store();
        let fresh = store.read(|tx| cursors_now(tx, &trail_parts(tx, &trail)?)).map_err(db)?;
        for (part, cursor) in fresh {
            for cursors in [&mut trail.status.logs_cursor, &mut trail.status.s3_cursor] {
                if !cursors.iter().any(|(p, _)| *p == part) {
                    cursors.push((part.clone(), cursor));
                }
            }
        }
    }
    trail.is_multi_region_trail = multi;
    let validation = input.enable_log_file_validation.unwrap_or(trail.log_file_validation_enabled);
    if validation && !trail.log_file_validation_enabled {
        // A new chain starts: the first digest covers from now.
        trail.status.digest = Default::default();
        trail.status.digest.start = trail.is_logging.then_some(ctx.time);
    }
    trail.log_file_validation_enabled = validation;
    refuse_organization_trail(input.is_organization_trail)?;
    if input.kms_key_id.is_some() {
        trail.kms_key_id = input.kms_key_id.filter(|k| !k.is_empty());
    }
    save(ctx, &trail)?;
    Ok(create_update_response(&trail))
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct NameInput {
    name: String,
}

/// Implements `DeleteTrail`.
pub fn delete_trail(ctx: &Context, input: Value) -> Result<Value, AwsError> {
    let input: NameInput = parse_input(input)?;
    let trail = load(ctx, &input.name)?;
    ctx.dispatcher
        .store()
        .write(|tx| TRAILS.delete(tx, ctx.account.as_str(), &trail.name))
        .map_err(db)?;
    crate::role::forget(&trail.arn());
    tracing::info!(trail = %trail.arn(), "trail deleted");
    Ok(json!({}))
}

fn visible(ctx: &Context) -> Result<Vec<Trail>, AwsError> {
    let all = ctx.dispatcher.store().read(|tx| TRAILS.all(tx, ctx.account.as_str())).map_err(db)?;
    Ok(all
        .into_iter()
        .map(|(_, t)| t)
        .filter(|t| t.home_region == ctx.region.as_str() || t.is_multi_region_trail)
        .collect())
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct DescribeInput {
    trail_name_list: Option<Vec<String>>,
}

/// Implements `DescribeTrails`.
pub fn describe_trails(ctx: &Context, input: Value) -> Result<Value, AwsError> {
    let input: DescribeInput = parse_input(input)?;
    let trails = visible(ctx)?;
    let list: Vec<Value> = trails
        .iter()
        .filter(|t| {
            input.trail_name_list.as_ref().is_none_or(|names| {
                names.is_empty() || names.iter().any(|n| name_of(n) == t.name || *n == t.arn())
            })
        })
        .map(trail_json)
        .collect();
    Ok(json!({"trailList": list}))
}

/// Implements `GetTrail`.
pub fn get_trail(ctx: &Context, input: Value) -> Result<Value, AwsError> {
    let input: NameInput = parse_input(input)?;
    Ok(json!({"Trail": trail_json(&load(ctx, &input.name)?)}))
}

/// Implements `ListTrails`.
pub fn list_trails(ctx: &Context) -> Result<Value, AwsError> {
    let trails: Vec<Value> = visible(ctx)?
        .iter()
        .map(|t| json!({"TrailARN": t.arn(), "Name": t.name, "HomeRegion": t.home_region}))
        .collect();
    Ok(json!({"Trails": trails}))
}

fn epoch(t: Option<chrono::DateTime<chrono::Utc>>) -> Value {
    t.map_or(Value::Null, |t| Value::from(t.timestamp_millis() as f64 / 1000.0))
}

fn iso(t: Option<chrono::DateTime<chrono::Utc>>) -> Option<String> {
    t.map(|t| t.format("%Y-%m-%dT%H:%M:%SZ").to_string())
}

/// Implements `GetTrailStatus`.
pub fn get_trail_status(ctx: &Context, input: Value) -> Result<Value, AwsError> {
    let input: NameInput = parse_input(input)?;
    let t = load(ctx, &input.name)?;
    let s = &t.status;
    Ok(json!({
        "IsLogging": t.is_logging,
        "LatestDeliveryError": s.latest_delivery_error,
        "LatestDeliveryTime": epoch(s.latest_delivery_time),
        "LatestDeliveryAttemptTime": iso(s.latest_delivery_attempt_time),
        "LatestDeliveryAttemptSucceeded": iso(s.latest_delivery_attempt_succeeded),
        "LatestNotificationError": s.latest_notification_error,
        "LatestNotificationTime": epoch(s.latest_notification_time),
        "LatestNotificationAttemptTime": iso(s.latest_notification_attempt_time),
        "LatestNotificationAttemptSucceeded": iso(s.latest_notification_attempt_succeeded),
        "LatestDigestDeliveryTime": epoch(s.latest_digest_delivery_time),
        "LatestDigestDeliveryError": s.latest_digest_delivery_error,
        "StartLoggingTime": epoch(t.start_logging_time),
        "StopLoggingTime": epoch(t.stop_logging_time),
        "LatestCloudWatchLogsDeliveryTime": epoch(s.latest_cloud_watch_logs_delivery_time),
        "LatestCloudWatchLogsDeliveryError": s.latest_cloud_watch_logs_delivery_error,
        "TimeLoggingStarted": iso(t.start_logging_time),
        "TimeLoggingStopped": iso(t.stop_logging_time),
    }))
}

/// Implements `StartLogging` and `StopLogging`.
pub async fn set_logging(ctx: &Context, input: Value, on: bool) -> Result<Value, AwsError> {
    let input: NameInput = parse_input(input)?;
    if !on {
        // Every call answered before StopLogging is stored, so the final delivery has it.
        ctx.dispatcher.flush_audit().await;
    }
    let mut t = load(ctx, &input.name)?;
    if on && !t.is_logging {
        t.start_logging_time = Some(ctx.time);
        // Deliver what is recorded from now on, not the backlog from before logging.
        let store = ctx.dispatcher.store();
        let now = store.read(|tx| cursors_now(tx, &trail_parts(tx, &t)?)).map_err(db)?;
        t.status.logs_cursor = now.clone();
        t.status.s3_cursor = now;
        if t.log_file_validation_enabled {
            t.status.digest.start = Some(ctx.time);
            for (_, chain) in &mut t.status.region_digests {
                chain.start = Some(ctx.time);
            }
        }
        t.status.stop_cursors.clear();
    } else if !on && t.is_logging {
        t.stop_logging_time = Some(ctx.time);
        // What was recorded until now is still delivered to S3, as AWS does.
        let store = ctx.dispatcher.store();
        t.status.stop_cursors =
            store.read(|tx| cursors_now(tx, &trail_parts(tx, &t)?)).map_err(db)?;
    }
    t.is_logging = on;
    save(ctx, &t)?;
    tracing::info!(trail = %t.arn(), logging = on, "trail logging changed");
    Ok(json!({}))
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct SelectorsInput {
    trail_name: String,
    event_selectors: Option<Vec<Value>>,
    advanced_event_selectors: Option<Vec<Value>>,
    insight_selectors: Option<Vec<Value>>,
}

/// Implements `PutEventSelectors`.
pub fn put_event_selectors(ctx: &Context, input: Value) -> Result<Value, AwsError> {
    let input: SelectorsInput = parse_input(input)?;
    let mut t = load(ctx, &input.trail_name)?;
    if t.home_region != ctx.region.as_str() {
        return Err(AwsError::new(
            "InvalidHomeRegionException",
            "This operation must be called from the trail's home region.",
        ));
    }
    match (input.event_selectors, input.advanced_event_selectors) {
        (Some(_), Some(_)) => {
            return Err(AwsError::new(
                "InvalidEventSelectorsException",
                "You can use either EventSelectors or AdvancedEventSelectors in a PutEventSelectors request, but not both.",
            ));
        }
        (Some(basic), None) => {
            selectors::validate_basic(&basic)?;
            t.event_selectors = basic;
            t.advanced_event_selectors.clear();
        }
        (None, Some(advanced)) => {
            selectors::validate_advanced(&advanced)?;
            t.advanced_event_selectors = advanced;
            t.event_selectors.clear();
        }
        (None, None) => {
            return Err(AwsError::new(
                "InvalidEventSelectorsException",
                "Specify EventSelectors or AdvancedEventSelectors.",
            ));
        }
    }
    save(ctx, &t)?;
    Ok(selectors_json(&t))
}

fn selectors_json(t: &Trail) -> Value {
    let mut out = json!({"TrailARN": t.arn()});
    if !t.advanced_event_selectors.is_empty() {
        out["AdvancedEventSelectors"] = Value::from(t.advanced_event_selectors.clone());
    } else if !t.event_selectors.is_empty() {
        out["EventSelectors"] = Value::from(t.event_selectors.clone());
    } else {
        out["EventSelectors"] = json!([{"ReadWriteType": "All", "IncludeManagementEvents": true, "DataResources": [], "ExcludeManagementEventSources": []}]);
    }
    out
}

/// Implements `GetEventSelectors`.
pub fn get_event_selectors(ctx: &Context, input: Value) -> Result<Value, AwsError> {
    let input: SelectorsInput = parse_input(input)?;
    Ok(selectors_json(&load(ctx, &input.trail_name)?))
}

/// Implements `PutInsightSelectors` (stored; Insights events are not generated).
pub fn put_insight_selectors(ctx: &Context, input: Value) -> Result<Value, AwsError> {
    let input: SelectorsInput = parse_input(input)?;
    let mut t = load(ctx, &input.trail_name)?;
    let sel = input.insight_selectors.unwrap_or_default();
    for s in &sel {
        if !matches!(s["InsightType"].as_str(), Some("ApiCallRateInsight" | "ApiErrorRateInsight"))
        {
            return Err(AwsError::new(
                "InvalidInsightSelectorsException",
                "InsightType must be ApiCallRateInsight or ApiErrorRateInsight.",
            ));
        }
    }
    t.insight_selectors = sel;
    save(ctx, &t)?;
    Ok(json!({"TrailARN": t.arn(), "InsightSelectors": t.insight_selectors}))
}

/// Implements `GetInsightSelectors`.
pub fn get_insight_selectors(ctx: &Context, input: Value) -> Result<Value, AwsError> {
    let input: SelectorsInput = parse_input(input)?;
    let t = load(ctx, &input.trail_name)?;
    if t.insight_selectors.is_empty() {
        return Err(AwsError::new(
            "InsightNotEnabledException",
            format!("Trail {} does not have Insights enabled.", t.arn()),
        ));
    }
    Ok(json!({"TrailARN": t.arn(), "InsightSelectors": t.insight_selectors}))
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct TagsInput {
    resource_id: String,
    #[serde(default)]
    tags_list: Vec<Tag>,
}

/// Implements `AddTags` and `RemoveTags`.
pub fn change_tags(ctx: &Context, input: Value, add: bool) -> Result<Value, AwsError> {
    let input: TagsInput = parse_input(input)?;
    let mut t = load(ctx, &input.resource_id)?;
    for tag in input.tags_list {
        t.tags.retain(|(k, _)| *k != tag.key);
        if add {
            t.tags.push((tag.key, tag.value.unwrap_or_default()));
        }
    }
    if t.tags.len() > 50 {
        return Err(AwsError::new(
            "TagsLimitExceededException",
            "The number of tags per trail cannot exceed 50.",
        ));
    }
    save(ctx, &t)?;
    Ok(json!({}))
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ListTagsInput {
    resource_id_list: Vec<String>,
}

/// Implements `ListTags`.
pub fn list_tags(ctx: &Context, input: Value) -> Result<Value, AwsError> {
    let input: ListTagsInput = parse_input(input)?;
    let mut list = Vec::new();
    for id in input.resource_id_list {
        let t = load(ctx, &id)?;
        let tags: Vec<Value> = t.tags.iter().map(|(k, v)| json!({"Key": k, "Value": v})).collect();
        list.push(json!({"ResourceId": t.arn(), "TagsList": tags}));
    }
    Ok(json!({"ResourceTagList": list}))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trail_names() {
        let cases = [
            ("my-trail", true),
            ("my.trail_1", true),
            ("ab", false),
            ("-trail", false),
            ("trail-", false),
            ("my--trail", false),
            ("my._trail", false),
            ("has space", false),
            ("192.168.0.1", false),
        ];
        for (name, ok) in cases {
            assert_eq!(validate_name(name).is_ok(), ok, "{name}");
        }
    }

    #[test]
    fn names_from_arns() {
        assert_eq!(name_of("arn:aws:cloudtrail:us-east-1:000000000000:trail/t1"), "t1");
        assert_eq!(name_of("t1"), "t1");
        assert_eq!(
            log_group_name("arn:aws:logs:us-east-1:000000000000:log-group:CloudTrail/Logs:*"),
            Some("CloudTrail/Logs")
        );
        assert_eq!(log_group_name("arn:aws:logs:us-east-1:000000000000:log-group:g"), Some("g"));
        assert_eq!(log_group_name("nonsense"), None);
    }
}
