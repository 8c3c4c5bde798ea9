//! Topic operations: CreateTopic, DeleteTopic, ListTopics, Get/SetTopicAttributes,
//! AddPermission, RemovePermission and tags, following
//! <https://docs.aws.amazon.com/sns/latest/api/API_CreateTopic.html> and
//! <https://docs.aws.amazon.com/sns/latest/api/API_GetTopicAttributes.html>.

use std::collections::BTreeMap;

use mamori_aws::AwsError;
use mamori_service::{Context, parse_input};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::Sns;
use crate::delivery_policy;
use crate::errors::invalid_parameter;
use crate::policy;
use crate::state::{
    SUBSCRIPTIONS, TOPICS, Topic, db, load_topic, parse_topic_arn, read, topic_subscriptions,
    validate_topic_name, write,
};

/// Topics per account and region (the AWS default quota for standard topics).
const MAX_TOPICS: usize = 100_000;
const PAGE: usize = 100;
const MAX_TAGS: usize = 50;

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Tag {
    key: String,
    value: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct CreateTopicInput {
    name: String,
    #[serde(default)]
    attributes: BTreeMap<String, String>,
    #[serde(default)]
    tags: Vec<Tag>,
    data_protection_policy: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct TopicArnInput {
    topic_arn: String,
}

/// Checks a settable topic attribute and returns the value to store.
fn check_attribute(name: &str, value: &str, fifo: bool) -> Result<String, AwsError> {
    match name {
        "DisplayName" => {
            if value.chars().count() > 100 {
                return Err(invalid_parameter("DisplayName"));
            }
        }
        "Policy" => {
            policy::validate(value)?;
        }
        "DeliveryPolicy" => {
            delivery_policy::parse_topic_policy(value)?;
        }
        "SignatureVersion" => {
            if value != "1" && value != "2" {
                return Err(invalid_parameter("Attribute Name: SignatureVersion"));
            }
        }
        "TracingConfig" => {
            if value != "PassThrough" && value != "Active" {
                return Err(invalid_parameter("Attribute Name: TracingConfig"));
            }
        }
        // GAP: the KMS key is stored and returned; messages are not encrypted at rest
        // with it, and the key's existence is not checked.
        "KmsMasterKeyId" => {}
        "ContentBasedDeduplication" => {
            if !fifo {
                return Err(invalid_parameter(
                    "ContentBasedDeduplication: Content-based deduplication can only be set for FIFO topics",
                ));
            }
            if value != "true" && value != "false" {
                return Err(invalid_parameter("ContentBasedDeduplication"));
            }
        }
        "ArchivePolicy" | "FifoThroughputScope" if fifo => {}
        n if feedback_attribute(n) => {}
        _ => return Err(invalid_parameter("AttributeName")),
    }
    Ok(value.to_owned())
}

/// The delivery-status logging attributes (`HTTPSuccessFeedbackRoleArn`, ...), stored.
fn feedback_attribute(name: &str) -> bool {
    let protos = ["HTTP", "Firehose", "Lambda", "Application", "SQS"];
    let suffixes =
        ["SuccessFeedbackRoleArn", "SuccessFeedbackSampleRate", "FailureFeedbackRoleArn"];
    protos.iter().any(|p| suffixes.iter().any(|s| name.strip_prefix(p) == Some(s)))
}

/// Implements `CreateTopic`. Creating a topic that exists with the same attributes
/// returns its ARN; different attributes are an error, as in AWS.
///
/// # Gaps
/// - DataProtectionPolicy is rejected.
pub fn create_topic(_: &Sns, ctx: &Context, input: Value) -> Result<Value, AwsError> {
    let input: CreateTopicInput = parse_input(input)?;
    if input.data_protection_policy.is_some() {
        return Err(invalid_parameter(
            "DataProtectionPolicy: message data protection is not supported by mamori",
        ));
    }
    let fifo_attr = input.attributes.get("FifoTopic").map(String::as_str);
    let fifo = match fifo_attr {
        None | Some("false") => false,
        Some("true") => true,
        Some(_) => return Err(invalid_parameter("FifoTopic")),
    };
    validate_topic_name(&input.name, fifo)?;
    if fifo != input.name.ends_with(".fifo") {
        return Err(invalid_parameter(
            "Fifo Topic names must end with .fifo and must be made up of only uppercase and lowercase ASCII letters, numbers, underscores, and hyphens, and must be between 1 and 256 characters long.",
        ));
    }
    let mut attributes = BTreeMap::new();
    for (name, value) in &input.attributes {
        if name == "FifoTopic" {
            if fifo {
                attributes.insert(name.clone(), value.clone());
            }
            continue;
        }
        attributes.insert(name.clone(), check_attribute(name, value, fifo)?);
    }
    let tags = check_tags(&input.tags)?;
    let part = ctx.partition();
    let arn = format!("arn:aws:sns:{}:{}:{}", ctx.region, ctx.account, input.name);
    attributes
        .entry("Policy".into())
        .or_insert_with(|| policy::default_policy(&arn, ctx.account.as_str()));
    let store = ctx.dispatcher.store();
    write(store, |tx| {
        if let Some(existing) = TOPICS.get(tx, &part, &input.name).map_err(db)? {
            let same = input
                .attributes
                .iter()
                .all(|(k, v)| existing.attributes.get(k) == Some(v) || k == "FifoTopic" && !fifo);
            if !same {
                return Err(invalid_parameter(
                    "Attributes Reason: Topic already exists with different attributes",
                ));
            }
            return Ok(());
        }
        if TOPICS.count(tx, &part).map_err(db)? >= MAX_TOPICS {
            return Err(AwsError::new("TopicLimitExceededException", "Topic limit exceeded"));
        }
        let topic = Topic {
            arn: arn.clone(),
            name: input.name.clone(),
            owner: ctx.account.to_string(),
            attributes,
            tags: tags.into_iter().collect(),
            subscriptions_deleted: 0,
        };
        TOPICS.put(tx, &part, &input.name, &topic).map_err(db)?;
        tracing::info!(topic = %arn, "topic created");
        Ok(())
    })?;
    Ok(json!({"TopicArn": arn}))
}

fn check_tags(tags: &[Tag]) -> Result<Vec<(String, String)>, AwsError> {
    if tags.len() > MAX_TAGS {
        return Err(AwsError::new(
            "TagLimitExceededException",
            "Could not complete request: tag quota of per resource exceeded",
        ));
    }
    let mut res = Vec::new();
    for t in tags {
        if t.key.is_empty()
            || t.key.chars().count() > 128
            || t.value.chars().count() > 256
            || t.key.starts_with("aws:")
        {
            return Err(invalid_parameter("Tags"));
        }
        res.push((t.key.clone(), t.value.clone()));
    }
    Ok(res)
}

/// Implements `DeleteTopic`: the topic, its subscriptions. Deleting a topic that does
/// not exist succeeds, as in AWS.
pub fn delete_topic(_: &Sns, ctx: &Context, input: Value) -> Result<Value, AwsError> {
    let input: TopicArnInput = parse_input(input)?;
    let r = parse_topic_arn(&input.topic_arn, "TopicArn")?;
    write(ctx.dispatcher.store(), |tx| {
        for s in topic_subscriptions(tx, &r)? {
            SUBSCRIPTIONS.delete(tx, &r.part, &s.arn).map_err(db)?;
        }
        if TOPICS.delete(tx, &r.part, &r.name).map_err(db)? {
            tracing::info!(topic = %r.arn, "topic deleted");
        }
        Ok::<_, AwsError>(())
    })?;
    Ok(json!({}))
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct PageInput {
    next_token: Option<String>,
}

/// Implements `ListTopics`, 100 per page.
pub fn list_topics(ctx: &Context, input: Value) -> Result<Value, AwsError> {
    let input: PageInput = parse_input(input)?;
    let after = input.next_token.as_deref().map(decode_token).transpose()?;
    let part = ctx.partition();
    let page = read(ctx.dispatcher.store(), |tx| {
        TOPICS.scan(tx, &part, "", after.as_deref(), PAGE + 1).map_err(db)
    })?;
    let more = page.len() > PAGE;
    let topics: Vec<_> = page.iter().take(PAGE).map(|(_, t)| json!({"TopicArn": t.arn})).collect();
    let next = more.then(|| page.get(PAGE - 1).map(|(k, _)| encode_token(k))).flatten();
    Ok(json!({"Topics": topics, "NextToken": next}))
}

/// A NextToken: the last key of the page, hex-encoded so it is opaque.
pub fn encode_token(key: &str) -> String {
    key.bytes().map(|b| format!("{b:02x}")).collect()
}

/// The key a NextToken stands for.
pub fn decode_token(token: &str) -> Result<String, AwsError> {
    let bad = || invalid_parameter("NextToken");
    if !token.len().is_multiple_of(2) {
        return Err(bad());
    }
    let bytes: Result<Vec<u8>, _> = (0..token.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(token.get(i..i + 2).unwrap_or("zz"), 16))
        .collect();
    String::from_utf8(bytes.map_err(|_| bad())?).map_err(|_| bad())
}

/// Implements `GetTopicAttributes`.
pub fn get_topic_attributes(ctx: &Context, input: Value) -> Result<Value, AwsError> {
    let input: TopicArnInput = parse_input(input)?;
    let r = parse_topic_arn(&input.topic_arn, "TopicArn")?;
    let (topic, subs) = read(ctx.dispatcher.store(), |tx| {
        let topic = load_topic(tx, &r)?;
        Ok::<_, AwsError>((topic, topic_subscriptions(tx, &r)?))
    })?;
    let pending = subs.iter().filter(|s| s.pending).count();
    let mut attrs: BTreeMap<String, String> = topic.attributes.clone();
    attrs.insert("TopicArn".into(), topic.arn.clone());
    attrs.insert("Owner".into(), topic.owner.clone());
    attrs.insert("SubscriptionsConfirmed".into(), (subs.len() - pending).to_string());
    attrs.insert("SubscriptionsPending".into(), pending.to_string());
    attrs.insert("SubscriptionsDeleted".into(), topic.subscriptions_deleted.to_string());
    attrs.entry("DisplayName".into()).or_default();
    attrs.entry("TracingConfig".into()).or_insert_with(|| "PassThrough".into());
    attrs.insert(
        "EffectiveDeliveryPolicy".into(),
        delivery_policy::topic_effective_json(
            topic.attributes.get("DeliveryPolicy").map(String::as_str),
        ),
    );
    if topic.is_fifo() {
        attrs.entry("ContentBasedDeduplication".into()).or_insert_with(|| "false".into());
    }
    Ok(json!({"Attributes": attrs}))
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct SetAttributeInput {
    topic_arn: String,
    attribute_name: String,
    attribute_value: Option<String>,
}

/// Implements `SetTopicAttributes`. An empty value removes an optional attribute.
pub fn set_topic_attributes(ctx: &Context, input: Value) -> Result<Value, AwsError> {
    let input: SetAttributeInput = parse_input(input)?;
    let r = parse_topic_arn(&input.topic_arn, "TopicArn")?;
    let value = input.attribute_value.unwrap_or_default();
    if matches!(input.attribute_name.as_str(), "FifoTopic" | "TopicArn" | "Owner") {
        return Err(invalid_parameter("AttributeName"));
    }
    write(ctx.dispatcher.store(), |tx| {
        let mut topic = load_topic(tx, &r)?;
        let name = input.attribute_name.as_str();
        let optional = matches!(name, "DeliveryPolicy" | "KmsMasterKeyId" | "ArchivePolicy")
            || feedback_attribute(name);
        if value.is_empty() && name == "Policy" {
            let owner = topic.owner.clone();
            topic.attributes.insert(name.into(), policy::default_policy(&topic.arn, &owner));
        } else if value.is_empty() && optional {
            topic.attributes.remove(name);
        } else {
            let v = check_attribute(name, &value, topic.is_fifo())?;
            topic.attributes.insert(name.into(), v);
        }
        TOPICS.put(tx, &r.part, &r.name, &topic).map_err(db)?;
        tracing::info!(topic = %r.arn, attribute = name, "topic attribute set");
        Ok(())
    })?;
    Ok(json!({}))
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct AddPermissionInput {
    topic_arn: String,
    label: String,
    #[serde(rename = "AWSAccountId")]
    aws_account_id: Vec<String>,
    action_name: Vec<String>,
}

const PERMISSION_ACTIONS: &[&str] = &[
    "AddPermission",
    "DeleteTopic",
    "GetTopicAttributes",
    "ListSubscriptionsByTopic",
    "Publish",
    "Receive",
    "RemovePermission",
    "SetTopicAttributes",
    "Subscribe",
];

/// Implements `AddPermission`: a statement labelled `Label` in the topic policy.
pub fn add_permission(ctx: &Context, input: Value) -> Result<Value, AwsError> {
    let input: AddPermissionInput = parse_input(input)?;
    let r = parse_topic_arn(&input.topic_arn, "TopicArn")?;
    if input.label.is_empty()
        || input.label.len() > 80
        || !input.label.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return Err(invalid_parameter("Label"));
    }
    if input.aws_account_id.is_empty()
        || input
            .aws_account_id
            .iter()
            .any(|a| a.len() != 12 || !a.bytes().all(|b| b.is_ascii_digit()))
    {
        return Err(invalid_parameter("AWSAccountId"));
    }
    if input.action_name.is_empty()
        || input.action_name.iter().any(|a| !PERMISSION_ACTIONS.contains(&a.as_str()))
    {
        return Err(invalid_parameter("ActionName"));
    }
    write(ctx.dispatcher.store(), |tx| {
        let mut topic = load_topic(tx, &r)?;
        let current = topic
            .attributes
            .get("Policy")
            .cloned()
            .unwrap_or_else(|| policy::default_policy(&topic.arn, &topic.owner));
        let updated = policy::add_permission(
            &current,
            &topic.arn,
            &input.label,
            &input.aws_account_id,
            &input.action_name,
        )?;
        topic.attributes.insert("Policy".into(), updated);
        TOPICS.put(tx, &r.part, &r.name, &topic).map_err(db)
    })?;
    Ok(json!({}))
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct RemovePermissionInput {
    topic_arn: String,
    label: String,
}

/// Implements `RemovePermission`.
pub fn remove_permission(ctx: &Context, input: Value) -> Result<Value, AwsError> {
    let input: RemovePermissionInput = parse_input(input)?;
    let r = parse_topic_arn(&input.topic_arn, "TopicArn")?;
    write(ctx.dispatcher.store(), |tx| {
        let mut topic = load_topic(tx, &r)?;
        let current = topic.attributes.get("Policy").cloned().unwrap_or_default();
        let updated = policy::remove_permission(&current, &input.label)?;
        topic.attributes.insert("Policy".into(), updated);
        TOPICS.put(tx, &r.part, &r.name, &topic).map_err(db)
    })?;
    Ok(json!({}))
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct TagInput {
    resource_arn: String,
    #[serde(default)]
    tags: Vec<Tag>,
    #[serde(default)]
    tag_keys: Vec<String>,
}

fn tagged_topic(
    tx: &mamori_store::Tx<'_>,
    arn: &str,
) -> Result<(crate::state::TopicRef, Topic), AwsError> {
    let r = parse_topic_arn(arn, "ResourceArn")?;
    let topic = TOPICS
        .get(tx, &r.part, &r.name)
        .map_err(db)?
        .ok_or_else(|| AwsError::new("ResourceNotFoundException", "Resource does not exist"))?;
    Ok((r, topic))
}

/// Implements `TagResource`.
pub fn tag_resource(ctx: &Context, input: Value) -> Result<Value, AwsError> {
    let input: TagInput = parse_input(input)?;
    let tags = check_tags(&input.tags)?;
    write(ctx.dispatcher.store(), |tx| {
        let (r, mut topic) = tagged_topic(tx, &input.resource_arn)?;
        topic.tags.extend(tags);
        if topic.tags.len() > MAX_TAGS {
            return Err(AwsError::new(
                "TagLimitExceededException",
                "Could not complete request: tag quota of per resource exceeded",
            ));
        }
        TOPICS.put(tx, &r.part, &r.name, &topic).map_err(db)
    })?;
    Ok(json!({}))
}

/// Implements `UntagResource`.
pub fn untag_resource(ctx: &Context, input: Value) -> Result<Value, AwsError> {
    let input: TagInput = parse_input(input)?;
    write(ctx.dispatcher.store(), |tx| {
        let (r, mut topic) = tagged_topic(tx, &input.resource_arn)?;
        for k in &input.tag_keys {
            topic.tags.remove(k);
        }
        TOPICS.put(tx, &r.part, &r.name, &topic).map_err(db)
    })?;
    Ok(json!({}))
}

/// Implements `ListTagsForResource`.
pub fn list_tags_for_resource(ctx: &Context, input: Value) -> Result<Value, AwsError> {
    let input: TagInput = parse_input(input)?;
    let (_, topic) = read(ctx.dispatcher.store(), |tx| tagged_topic(tx, &input.resource_arn))?;
    let tags: Vec<_> = topic.tags.iter().map(|(k, v)| json!({"Key": k, "Value": v})).collect();
    Ok(json!({"Tags": tags}))
}
