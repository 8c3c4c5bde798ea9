//! `TagResource`, `UntagResource` and `ListTagsForResource` on alarms, following
//! <https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_TagResource.html>.

use mamori_aws::AwsError;
use mamori_service::{Context, parse_input};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::errors::{TxError, db, invalid_value};
use crate::state::{ALARMS, Alarm, Tag};

/// Tags per resource.
const MAX_TAGS: usize = 50;

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct TagInput {
    #[serde(rename = "ResourceARN")]
    resource_arn: String,
    #[serde(default)]
    tags: Vec<Tag>,
    #[serde(default)]
    tag_keys: Vec<String>,
}

fn not_found() -> AwsError {
    AwsError::new("ResourceNotFoundException", "The specified resource does not exist.")
}

/// The alarm name of an alarm ARN in the caller's account and region.
pub fn alarm_name<'a>(ctx: &Context, arn: &'a str) -> Option<&'a str> {
    let prefix = format!("arn:aws:cloudwatch:{}:{}:alarm:", ctx.region, ctx.account);
    arn.strip_prefix(prefix.as_str())
}

fn edit(
    ctx: &Context,
    arn: &str,
    f: impl FnOnce(&mut Alarm) -> Result<(), AwsError>,
) -> Result<(), AwsError> {
    let name = alarm_name(ctx, arn).ok_or_else(not_found)?;
    let part = ctx.partition();
    ctx.dispatcher.store().write(|tx| {
        let mut alarm = ALARMS.get(tx, &part, name)?.ok_or_else(not_found)?;
        f(&mut alarm)?;
        Ok::<_, TxError>(ALARMS.put(tx, &part, name, &alarm)?)
    })?;
    Ok(())
}

/// Implements `TagResource`: adds or overwrites tags.
///
/// # Gaps
/// - Only metric alarms can be tagged (no Contributor Insights rules or metric streams).
pub fn tag_resource(ctx: &Context, input: Value) -> Result<Value, AwsError> {
    let input: TagInput = parse_input(input)?;
    edit(ctx, &input.resource_arn, |alarm| {
        for tag in input.tags {
            match alarm.tags.iter_mut().find(|t| t.key == tag.key) {
                Some(t) => t.value = tag.value,
                None => alarm.tags.push(tag),
            }
        }
        if alarm.tags.len() > MAX_TAGS {
            return Err(invalid_value(format!("A resource can have at most {MAX_TAGS} tags.")));
        }
        Ok(())
    })?;
    Ok(json!({}))
}

/// Implements `UntagResource`.
pub fn untag_resource(ctx: &Context, input: Value) -> Result<Value, AwsError> {
    let input: TagInput = parse_input(input)?;
    edit(ctx, &input.resource_arn, |alarm| {
        alarm.tags.retain(|t| !input.tag_keys.contains(&t.key));
        Ok(())
    })?;
    Ok(json!({}))
}

/// Implements `ListTagsForResource`.
pub fn list_tags_for_resource(ctx: &Context, input: Value) -> Result<Value, AwsError> {
    let input: TagInput = parse_input(input)?;
    let name = alarm_name(ctx, &input.resource_arn).ok_or_else(not_found)?;
    let part = ctx.partition();
    let alarm = ctx.dispatcher.store().read(|tx| ALARMS.get(tx, &part, name)).map_err(db)?;
    let alarm = alarm.ok_or_else(not_found)?;
    Ok(json!({"Tags": alarm.tags}))
}
