//! Publish and PublishBatch, following
//! <https://docs.aws.amazon.com/sns/latest/api/API_Publish.html> and
//! <https://docs.aws.amazon.com/sns/latest/dg/sns-message-attributes.html>: checks,
//! the topic policy, filter policies, then one transaction that queues a delivery per
//! matching confirmed subscription.

use std::collections::{BTreeMap, HashMap, HashSet};

use mamori_aws::AwsError;
use mamori_service::{Context, parse_input};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{Outgoing, after_commit, http_delivery, signature_version, write_outgoing};
use crate::Sns;
use crate::errors::{invalid_parameter, invalid_parameter_value};
use crate::filter::{self, FilterPolicy};
use crate::message::{self, Attribute, Links, Notification};
use crate::state::{
    OutboxEntry, Subscription, Topic, load_topic, parse_topic_arn, read, topic_subscriptions, write,
};

/// The largest message, attributes included: 256 KiB.
pub const MAX_MESSAGE_BYTES: usize = 262_144;
const MAX_ATTRIBUTES: usize = 10;
/// The largest magnitude of a `Number` attribute.
const MAX_NUMBER: f64 = 1e126;
const MAX_BATCH: usize = 10;

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct AttributeInput {
    data_type: String,
    string_value: Option<String>,
    binary_value: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct PublishInput {
    topic_arn: Option<String>,
    target_arn: Option<String>,
    phone_number: Option<String>,
    #[serde(flatten)]
    entry: EntryInput,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct EntryInput {
    #[serde(default)]
    id: String,
    message: String,
    subject: Option<String>,
    message_structure: Option<String>,
    #[serde(default)]
    message_attributes: BTreeMap<String, AttributeInput>,
    message_deduplication_id: Option<String>,
    message_group_id: Option<String>,
}

/// A checked message.
struct Message {
    default: String,
    // Per-protocol texts of a MessageStructure=json message.
    per_protocol: HashMap<String, String>,
    subject: Option<String>,
    attributes: BTreeMap<String, Attribute>,
    // The attributes as filter policies see them.
    filter_attributes: BTreeMap<String, filter::AttrValue>,
}

impl Message {
    fn text_for(&self, protocol: &str) -> &str {
        self.per_protocol.get(protocol).map_or(&self.default, String::as_str)
    }
}

fn check_subject(subject: &str) -> Result<(), AwsError> {
    let ok = !subject.is_empty()
        && subject.chars().count() < 100
        && subject.chars().all(|c| !c.is_control())
        && subject.chars().next().is_some_and(|c| c.is_alphanumeric() || c.is_ascii_punctuation());
    if ok { Ok(()) } else { Err(invalid_parameter("Subject")) }
}

/// Attributes as notifications show them, as filters see them, and their size.
type CheckedAttributes = (BTreeMap<String, Attribute>, BTreeMap<String, filter::AttrValue>, usize);

fn check_attributes(
    attrs: &BTreeMap<String, AttributeInput>,
) -> Result<CheckedAttributes, AwsError> {
    if attrs.len() > MAX_ATTRIBUTES {
        return Err(invalid_parameter_value(format!(
            "Number of message attributes [{}] exceeds the allowed maximum [{MAX_ATTRIBUTES}].",
            attrs.len()
        )));
    }
    let mut res = BTreeMap::new();
    let mut for_filter = BTreeMap::new();
    let mut size = 0;
    for (name, a) in attrs {
        let name_ok = !name.is_empty()
            && name.len() <= 256
            && name.bytes().all(|b| b.is_ascii_alphanumeric() || b"_-.".contains(&b))
            && !name.starts_with('.')
            && !name.ends_with('.')
            && !name.contains("..")
            && !name.to_ascii_lowercase().starts_with("aws.")
            && !name.to_ascii_lowercase().starts_with("amazon.");
        if !name_ok {
            return Err(invalid_parameter_value(format!(
                "The message attribute name '{name}' is invalid."
            )));
        }
        let base = a.data_type.split('.').next().unwrap_or_default();
        let base = if a.data_type.starts_with("String.Array") { "String.Array" } else { base };
        let (value, filter_value) = match base {
            "String" | "Number" | "String.Array" => {
                let v = a.string_value.clone().filter(|v| !v.is_empty()).ok_or_else(|| {
                    invalid_parameter_value(format!(
                        "The message attribute '{name}' must contain non-empty message attribute value for message attribute type '{}'.",
                        a.data_type
                    ))
                })?;
                let fv = match base {
                    "Number" => {
                        // Rust also parses NaN and infinities, which SNS refuses; its
                        // numbers lie within plus or minus 10^126.
                        let n = v
                            .trim()
                            .parse::<f64>()
                            .ok()
                            .filter(|n| n.is_finite() && n.abs() <= MAX_NUMBER)
                            .ok_or_else(|| {
                                invalid_parameter_value(format!(
                                    "Could not cast message attribute '{name}' value to number."
                                ))
                            })?;
                        filter::AttrValue::Number(n)
                    }
                    "String.Array" => {
                        let arr: Value = serde_json::from_str(&v).ok().filter(Value::is_array).ok_or_else(|| {
                            invalid_parameter_value(format!(
                                "The message attribute '{name}' with type 'String.Array' has an invalid value."
                            ))
                        })?;
                        filter::AttrValue::Array(arr)
                    }
                    _ => filter::AttrValue::String(v.clone()),
                };
                (v, fv)
            }
            "Binary" => {
                let v = a.binary_value.clone().filter(|v| !v.is_empty()).ok_or_else(|| {
                    invalid_parameter_value(format!(
                        "The message attribute '{name}' must contain non-empty message attribute value for message attribute type 'Binary'."
                    ))
                })?;
                (v, filter::AttrValue::Binary)
            }
            _ => {
                return Err(invalid_parameter_value(format!(
                    "The message attribute '{name}' has an invalid message attribute type, the set of supported type prefixes is Binary, Number, and String."
                )));
            }
        };
        size += name.len() + a.data_type.len() + value.len();
        for_filter.insert(name.clone(), filter_value);
        res.insert(name.clone(), Attribute { data_type: a.data_type.clone(), value });
    }
    Ok((res, for_filter, size))
}

fn check_message(
    e: &EntryInput,
    topic_fifo: bool,
    content_dedup: bool,
) -> Result<Message, AwsError> {
    if e.message.is_empty() {
        return Err(invalid_parameter("Empty message"));
    }
    if let Some(s) = &e.subject {
        check_subject(s)?;
    }
    let (attributes, filter_attributes, attr_size) = check_attributes(&e.message_attributes)?;
    if e.message.len() + attr_size > MAX_MESSAGE_BYTES {
        return Err(invalid_parameter("Message too long"));
    }
    let mut per_protocol = HashMap::new();
    let default = match e.message_structure.as_deref() {
        None => e.message.clone(),
        Some("json") => {
            let doc: serde_json::Map<String, Value> =
                serde_json::from_str(&e.message).map_err(|_| {
                    invalid_parameter("Message Structure - JSON message body failed to parse")
                })?;
            let default = doc
                .get("default")
                .and_then(Value::as_str)
                .ok_or_else(|| {
                    invalid_parameter("Message Structure - No default entry in JSON message body")
                })?
                .to_owned();
            for (k, v) in &doc {
                if let Some(text) = v.as_str() {
                    per_protocol.insert(k.clone(), text.to_owned());
                }
            }
            default
        }
        Some(_) => return Err(invalid_parameter("MessageStructure")),
    };
    // GAP: FIFO topics check the group and deduplication ids but do not order by group
    // or drop duplicates.
    if topic_fifo {
        if e.message_group_id.is_none() {
            return Err(invalid_parameter(
                "The MessageGroupId parameter is required for FIFO topics",
            ));
        }
        if e.message_deduplication_id.is_none() && !content_dedup {
            return Err(invalid_parameter(
                "The topic should either have ContentBasedDeduplication enabled or MessageDeduplicationId provided explicitly",
            ));
        }
    } else if e.message_deduplication_id.is_some() {
        return Err(invalid_parameter(
            "MessageDeduplicationId Reason: The request includes MessageDeduplicationId parameter that is not valid for this topic type",
        ));
    }
    Ok(Message { default, per_protocol, subject: e.subject.clone(), attributes, filter_attributes })
}

/// Whether `sub`'s filter policy lets `msg` through. A stored policy that no longer
/// parses (impossible through the API) matches nothing.
fn passes(
    sub: &Subscription,
    msg: &Message,
    cache: &mut HashMap<String, Option<FilterPolicy>>,
) -> bool {
    let Some(text) = sub.attributes.get("FilterPolicy") else { return true };
    let scope = match sub.attributes.get("FilterPolicyScope").map(String::as_str) {
        Some("MessageBody") => filter::Scope::MessageBody,
        _ => filter::Scope::MessageAttributes,
    };
    let key = format!("{scope:?}{text}");
    let compiled = cache.entry(key).or_insert_with(|| FilterPolicy::parse(text, scope).ok());
    let Some(policy) = compiled else { return false };
    match scope {
        filter::Scope::MessageAttributes => policy.matches_attributes(&msg.filter_attributes),
        filter::Scope::MessageBody => {
            serde_json::from_str::<Value>(&msg.default).is_ok_and(|body| policy.matches_body(&body))
        }
    }
}

/// The deliveries of one message to the confirmed, matching subscriptions.
fn fan_out(
    sns: &Sns,
    ctx: &Context,
    topic: &Topic,
    subs: &[Subscription],
    msg: &Message,
    message_id: &str,
) -> Result<Vec<Outgoing>, AwsError> {
    let signer = sns.signer(ctx.dispatcher.store())?;
    let links =
        Links { base: &sns.base_url, signer: &signer, signature_version: signature_version(topic) };
    let timestamp = mamori_aws::timestamp_iso8601(ctx.time);
    let mut cache = HashMap::new();
    let mut signed: HashMap<String, String> = HashMap::new();
    let mut res = Vec::new();
    for sub in subs.iter().filter(|s| !s.pending) {
        if !passes(sub, msg, &mut cache) {
            tracing::debug!(sub = %sub.arn, msg = %message_id, "filtered out");
            continue;
        }
        let text = msg.text_for(&sub.protocol);
        let n = Notification {
            message_id,
            topic_arn: &topic.arn,
            subject: msg.subject.as_deref(),
            message: text,
            timestamp: &timestamp,
            attributes: &msg.attributes,
        };
        // The signature does not cover the subscription, so subscribers of the same
        // protocol text share one (RSA signing is the costly part of a fan-out).
        let signature = signed
            .entry(text.to_owned())
            .or_insert_with(|| message::notification_signature(&links, &n))
            .clone();
        let envelope = || message::notification(&links, &n, &sub.arn, &signature);
        match sub.protocol.as_str() {
            "http" | "https" => {
                let raw = sub.raw();
                let body = if raw { text.to_owned() } else { envelope() };
                res.push(Outgoing::Http(http_delivery(
                    ctx,
                    topic,
                    sub,
                    "Notification",
                    message_id,
                    body,
                    raw,
                )));
            }
            proto => {
                let body = if proto == "email-json" {
                    envelope()
                } else {
                    format!(
                        "{text}\n\n--\nIf you wish to stop receiving notifications from this topic, please click or visit the link below to unsubscribe:\n{}\n\nPlease do not reply directly to this email.\n",
                        links.unsubscribe_url(&sub.arn)
                    )
                };
                res.push(Outgoing::Email(OutboxEntry {
                    sender_name: super::sender_name(topic),
                    to: sub.endpoint.clone(),
                    protocol: proto.to_owned(),
                    subject: msg
                        .subject
                        .clone()
                        .unwrap_or_else(|| "AWS Notification Message".into()),
                    body,
                    message_type: "Notification".into(),
                    topic_arn: topic.arn.clone(),
                    subscription_arn: sub.arn.clone(),
                    timestamp: timestamp.clone(),
                }));
            }
        }
    }
    Ok(res)
}

fn topic_of(input: &PublishInput) -> Result<&str, AwsError> {
    if input.phone_number.is_some() {
        // GAP: SMS is not in mamori.
        return Err(invalid_parameter("PhoneNumber Reason: SMS is not supported by mamori"));
    }
    match (&input.topic_arn, &input.target_arn) {
        (Some(t), None) => Ok(t),
        (None, Some(t)) if t.split(':').count() == 6 => Ok(t),
        (None, Some(_)) => Err(invalid_parameter(
            "TargetArn Reason: mobile push endpoints are not supported by mamori",
        )),
        (Some(_), Some(_)) => Err(invalid_parameter(
            "TopicArn or TargetArn Reason: Only one of TopicArn or TargetArn may be specified",
        )),
        (None, None) => {
            Err(invalid_parameter("TopicArn or TargetArn Reason: no value for required parameter"))
        }
    }
}

fn load(ctx: &Context, arn: &str) -> Result<(Topic, Vec<Subscription>), AwsError> {
    let r = parse_topic_arn(arn, "TopicArn")?;
    read(ctx.dispatcher.store(), |tx| {
        let topic = load_topic(tx, &r)?;
        Ok((topic, topic_subscriptions(tx, &r)?))
    })
}

fn commit(sns: &Sns, ctx: &Context, outgoing: Vec<Outgoing>) -> Result<(), AwsError> {
    let store = ctx.dispatcher.store();
    let n_http = outgoing.iter().filter(|o| matches!(o, Outgoing::Http(_))).count();
    sns.deliverer.check_capacity(store, n_http)?;
    write(store, |tx| write_outgoing(sns, tx, &outgoing, ctx.time.timestamp_millis()))?;
    after_commit(sns, ctx, outgoing);
    Ok(())
}

/// The topic and its subscriptions, and whether the topic deduplicates by content. (The
/// authorizer has already decided the topic policy: `Sns::resource_policy`.)
fn load_for_publish(
    ctx: &Context,
    arn: &str,
) -> Result<(Topic, Vec<Subscription>, bool), AwsError> {
    let (topic, subs) = load(ctx, arn)?;
    let content_dedup =
        topic.attributes.get("ContentBasedDeduplication").is_some_and(|v| v == "true");
    Ok((topic, subs, content_dedup))
}

/// Implements `Publish`.
///
/// # Gaps
/// - TargetArn (mobile push) and PhoneNumber (SMS) are rejected.
pub fn publish(sns: &Sns, ctx: &Context, input: Value) -> Result<Value, AwsError> {
    let input: PublishInput = parse_input(input)?;
    let arn = topic_of(&input)?.to_owned();
    let (topic, subs, content_dedup) = load_for_publish(ctx, &arn)?;
    let msg = check_message(&input.entry, topic.is_fifo(), content_dedup)?;
    let message_id = uuid::Uuid::new_v4().to_string();
    let outgoing = fan_out(sns, ctx, &topic, &subs, &msg, &message_id)?;
    let n = outgoing.len();
    commit(sns, ctx, outgoing)?;
    tracing::debug!(topic = %topic.arn, msg = %message_id, deliveries = n, "published");
    let seq = topic.is_fifo().then(|| format!("{:020}", ctx.time.timestamp_micros()));
    Ok(json!({"MessageId": message_id, "SequenceNumber": seq}))
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct PublishBatchInput {
    topic_arn: String,
    publish_batch_request_entries: Vec<EntryInput>,
}

/// Implements `PublishBatch`: up to 10 entries, each checked on its own; the accepted
/// ones are queued in one transaction.
pub fn publish_batch(sns: &Sns, ctx: &Context, input: Value) -> Result<Value, AwsError> {
    let input: PublishBatchInput = parse_input(input)?;
    let entries = input.publish_batch_request_entries;
    if entries.is_empty() {
        return Err(AwsError::new(
            "EmptyBatchRequestException",
            "The batch request doesn't contain any entries.",
        ));
    }
    if entries.len() > MAX_BATCH {
        return Err(AwsError::new(
            "TooManyEntriesInBatchRequestException",
            format!("The batch request contains more entries than permissible ({MAX_BATCH})."),
        ));
    }
    let mut ids = HashSet::new();
    for e in &entries {
        let ok = !e.id.is_empty()
            && e.id.len() <= 80
            && e.id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if !ok {
            return Err(AwsError::new(
                "InvalidBatchEntryIdException",
                "The Id of a batch entry in a batch request doesn't abide by the specification.",
            ));
        }
        if !ids.insert(e.id.as_str()) {
            return Err(AwsError::new(
                "BatchEntryIdsNotDistinctException",
                "Two or more batch entries in the request have the same Id.",
            ));
        }
    }
    let total: usize = entries.iter().map(|e| e.message.len()).sum();
    if total > MAX_MESSAGE_BYTES {
        return Err(AwsError::new(
            "BatchRequestTooLongException",
            "The length of all the messages put together is more than the limit.",
        ));
    }
    let (topic, subs, content_dedup) = load_for_publish(ctx, &input.topic_arn)?;
    let mut outgoing = Vec::new();
    let mut successful = Vec::new();
    let mut failed = Vec::new();
    for e in &entries {
        match check_message(e, topic.is_fifo(), content_dedup) {
            Ok(msg) => {
                let message_id = uuid::Uuid::new_v4().to_string();
                outgoing.extend(fan_out(sns, ctx, &topic, &subs, &msg, &message_id)?);
                successful.push(json!({"Id": e.id, "MessageId": message_id}));
            }
            Err(err) => failed.push(json!({
                "Id": e.id,
                "Code": wire_code(&err.code),
                "Message": err.message,
                "SenderFault": true,
            })),
        }
    }
    commit(sns, ctx, outgoing)?;
    Ok(json!({"Successful": successful, "Failed": failed}))
}

/// The wire code of an error shape, as a batch entry reports it.
fn wire_code(shape: &str) -> &str {
    match shape {
        "InvalidParameterException" => "InvalidParameter",
        "InvalidParameterValueException" => "InvalidParameterValue",
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn number_attributes_are_finite_numbers_within_range() {
        // value, accepted
        let cases = [
            ("42", true),
            (" -1.5e3 ", true),
            ("1e126", true),
            ("-1e126", true),
            ("0", true),
            ("1e127", false),
            ("NaN", false),
            ("nan", false),
            ("inf", false),
            ("-Infinity", false),
            ("12abc", false),
        ];
        for (value, ok) in cases {
            let attrs = BTreeMap::from([(
                "n".to_owned(),
                AttributeInput {
                    data_type: "Number".into(),
                    string_value: Some(value.into()),
                    binary_value: None,
                },
            )]);
            match check_attributes(&attrs) {
                Ok(_) => assert!(ok, "{value:?} accepted"),
                Err(e) => {
                    assert!(!ok, "{value:?} refused: {}", e.message);
                    assert_eq!(e.code, "InvalidParameterValueException", "{value:?}");
                    assert!(e.message.contains("Could not cast"), "{value:?}: {}", e.message);
                }
            }
        }
    }
}
