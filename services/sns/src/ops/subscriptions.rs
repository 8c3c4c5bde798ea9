//! Subscription operations: Subscribe, ConfirmSubscription, Unsubscribe,
//! ListSubscriptions(ByTopic), Get/SetSubscriptionAttributes, following
//! <https://docs.aws.amazon.com/sns/latest/api/API_Subscribe.html> and
//! <https://docs.aws.amazon.com/sns/latest/dg/SendMessageToHttp.prepare.html>.

use std::collections::BTreeMap;

use mamori_aws::AwsError;
use mamori_service::{Context, PrincipalKind, parse_input};
use serde::Deserialize;
use serde_json::{Value, json};

use super::topics::{decode_token, encode_token};
use super::{after_commit, confirmation, write_outgoing};
use crate::errors::{authorization_error, invalid_parameter, not_found};
use crate::message::Confirmation;
use crate::state::{
    SUBSCRIPTIONS, Subscription, TOPICS, db, load_topic, parse_subscription_arn, parse_topic_arn,
    read, topic_subscriptions, write,
};
use crate::{Sns, delivery_policy, filter};

/// How long a confirmation token is valid: 2 days.
const TOKEN_VALIDITY_MS: i64 = 2 * 24 * 3600 * 1000;
const PAGE: usize = 100;

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct SubscribeInput {
    topic_arn: String,
    protocol: String,
    endpoint: Option<String>,
    #[serde(default)]
    attributes: BTreeMap<String, String>,
    #[serde(default)]
    return_subscription_arn: bool,
}

fn check_endpoint(protocol: &str, endpoint: &str) -> Result<(), AwsError> {
    match protocol {
        "http" | "https" => {
            let prefix = format!("{protocol}://");
            let ok = endpoint.len() > prefix.len()
                && endpoint[..prefix.len()].eq_ignore_ascii_case(&prefix)
                && endpoint
                    .parse::<http::Uri>()
                    .is_ok_and(|u| u.host().is_some_and(|h| !h.is_empty()));
            if ok {
                Ok(())
            } else {
                Err(invalid_parameter("Endpoint must match the specified protocol"))
            }
        }
        "email" | "email-json" => {
            let ok = endpoint.split_once('@').is_some_and(|(user, host)| {
                !user.is_empty()
                    && host.contains('.')
                    && !host.starts_with('.')
                    && !endpoint.contains(char::is_whitespace)
            });
            if ok { Ok(()) } else { Err(invalid_parameter("Email address")) }
        }
        _ => Err(invalid_parameter("Endpoint")),
    }
}

/// Checks one subscription attribute for `protocol`.
fn check_attribute(
    protocol: &str,
    name: &str,
    value: &str,
    scope: Option<&str>,
) -> Result<(), AwsError> {
    let http = matches!(protocol, "http" | "https");
    match name {
        "RawMessageDelivery" => {
            if !http {
                return Err(invalid_parameter(&format!(
                    "Attributes Reason: Delivery protocol [{protocol}] does not support raw message delivery attribute"
                )));
            }
            if !value.eq_ignore_ascii_case("true") && !value.eq_ignore_ascii_case("false") {
                return Err(invalid_parameter(&format!(
                    "RawMessageDelivery: Invalid value [{value}]. Must be true or false."
                )));
            }
        }
        "DeliveryPolicy" => {
            if !http {
                return Err(invalid_parameter(&format!(
                    "DeliveryPolicy: Delivery protocol [{protocol}] does not support delivery policies"
                )));
            }
            delivery_policy::parse_subscription_policy(value)?;
        }
        "FilterPolicy" => {
            if !value.is_empty() {
                let scope = match scope {
                    Some("MessageBody") => filter::Scope::MessageBody,
                    _ => filter::Scope::MessageAttributes,
                };
                filter::FilterPolicy::parse(value, scope)
                    .map_err(|e| invalid_parameter(&format!("FilterPolicy: {e}")))?;
            }
        }
        "FilterPolicyScope" => {
            if value != "MessageAttributes" && value != "MessageBody" {
                return Err(invalid_parameter(&format!(
                    "FilterPolicyScope: Invalid value [{value}]. Please use either MessageBody or MessageAttributes"
                )));
            }
        }
        "RedrivePolicy" => {
            let v: Value = serde_json::from_str(value).map_err(|_| {
                invalid_parameter("RedrivePolicy: Redrive policy is not a valid JSON")
            })?;
            if v.get("deadLetterTargetArn").and_then(Value::as_str).is_none() {
                return Err(invalid_parameter("RedrivePolicy: deadLetterTargetArn is missing"));
            }
        }
        "SubscriptionRoleArn" => {
            return Err(invalid_parameter(
                "Attributes Reason: SubscriptionRoleArn is only valid for firehose subscriptions",
            ));
        }
        _ => return Err(invalid_parameter("Attributes Reason: Unknown attribute")),
    }
    Ok(())
}

fn check_attributes(protocol: &str, attrs: &BTreeMap<String, String>) -> Result<(), AwsError> {
    let scope = attrs.get("FilterPolicyScope").map(String::as_str);
    for (name, value) in attrs {
        check_attribute(protocol, name, value, scope)?;
    }
    Ok(())
}

fn new_token() -> String {
    use rand::RngCore as _;
    let mut bytes = [0u8; 64];
    rand::thread_rng().fill_bytes(&mut bytes);
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Implements `Subscribe`: a pending subscription and its confirmation message.
///
/// # Gaps
/// - sqs, lambda, application, sms and firehose are rejected.
pub fn subscribe(sns: &Sns, ctx: &Context, input: Value) -> Result<Value, AwsError> {
    let input: SubscribeInput = parse_input(input)?;
    let r = parse_topic_arn(&input.topic_arn, "TopicArn")?;
    let protocol = input.protocol.to_ascii_lowercase();
    match protocol.as_str() {
        "http" | "https" | "email" | "email-json" => {}
        "sqs" | "lambda" | "application" | "sms" | "firehose" => {
            // GAP: these targets are not in mamori yet.
            return Err(invalid_parameter(&format!(
                "Protocol: {protocol} subscriptions are not supported by mamori yet"
            )));
        }
        _ => {
            return Err(invalid_parameter(&format!(
                "Amazon SNS does not support this protocol string: {}",
                input.protocol
            )));
        }
    }
    let endpoint = input.endpoint.clone().unwrap_or_default();
    check_endpoint(&protocol, &endpoint)?;
    check_attributes(&protocol, &input.attributes)?;
    let store = ctx.dispatcher.store();
    let (topic, existing) = read(store, |tx| {
        let topic = load_topic(tx, &r)?;
        let subs = topic_subscriptions(tx, &r)?;
        Ok::<_, AwsError>((topic, subs))
    })?;
    if let Some(sub) = existing.iter().find(|s| s.protocol == protocol && s.endpoint == endpoint) {
        if !input.attributes.iter().all(|(k, v)| sub.attributes.get(k) == Some(v)) {
            return Err(invalid_parameter(
                "Attributes Reason: Subscription already exists with different attributes",
            ));
        }
        if !sub.pending {
            return Ok(json!({"SubscriptionArn": sub.arn}));
        }
    }
    let mut sub = existing
        .into_iter()
        .find(|s| s.protocol == protocol && s.endpoint == endpoint)
        .unwrap_or_else(|| Subscription {
            arn: format!("{}:{}", topic.arn, uuid::Uuid::new_v4()),
            topic_arn: topic.arn.clone(),
            protocol: protocol.clone(),
            endpoint: endpoint.clone(),
            owner: ctx.account.to_string(),
            pending: true,
            token: None,
            token_expires_ms: 0,
            confirmation_was_authenticated: false,
            authenticate_on_unsubscribe: false,
            attributes: input.attributes.clone(),
        });
    let token = new_token();
    sub.token = Some(token.clone());
    sub.token_expires_ms = ctx.time.timestamp_millis() + TOKEN_VALIDITY_MS;
    let outgoing = vec![confirmation(sns, ctx, &topic, &sub, Confirmation::Subscribe, &token)?];
    sns.deliverer.check_capacity(store, outgoing.len())?;
    write(store, |tx| {
        SUBSCRIPTIONS.put(tx, &r.part, &sub.arn, &sub).map_err(db)?;
        write_outgoing(sns, tx, &outgoing, ctx.time.timestamp_millis())
    })?;
    tracing::info!(sub = %sub.arn, protocol = %protocol, endpoint = %endpoint, "subscription pending confirmation");
    after_commit(sns, ctx, outgoing);
    let arn = if input.return_subscription_arn { sub.arn } else { "pending confirmation".into() };
    Ok(json!({"SubscriptionArn": arn}))
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ConfirmInput {
    topic_arn: String,
    token: String,
    authenticate_on_unsubscribe: Option<String>,
}

/// Implements `ConfirmSubscription`, signed or not (the SubscribeURL link).
pub fn confirm_subscription(ctx: &Context, input: Value) -> Result<Value, AwsError> {
    let input: ConfirmInput = parse_input(input)?;
    let r = parse_topic_arn(&input.topic_arn, "TopicArn")?;
    let authenticated = ctx.principal.kind != PrincipalKind::Anonymous;
    let auth_unsub =
        matches!(input.authenticate_on_unsubscribe.as_deref(), Some("true" | "True" | "TRUE"));
    let now = ctx.time.timestamp_millis();
    let arn = write(ctx.dispatcher.store(), |tx| {
        load_topic(tx, &r)?;
        let mut sub = topic_subscriptions(tx, &r)?
            .into_iter()
            .find(|s| s.token.as_deref() == Some(input.token.as_str()))
            .ok_or_else(|| invalid_parameter("Token"))?;
        if sub.pending {
            if sub.token_expires_ms < now {
                return Err(invalid_parameter("Token"));
            }
            sub.pending = false;
            sub.confirmation_was_authenticated = authenticated;
            sub.authenticate_on_unsubscribe = auth_unsub && authenticated;
            SUBSCRIPTIONS.put(tx, &r.part, &sub.arn, &sub).map_err(db)?;
            tracing::info!(sub = %sub.arn, authenticated, "subscription confirmed");
        }
        Ok(sub.arn)
    })?;
    Ok(json!({"SubscriptionArn": arn}))
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct SubscriptionArnInput {
    subscription_arn: String,
}

/// Implements `Unsubscribe`, signed or not (the UnsubscribeURL link, unless the
/// subscription was confirmed with AuthenticateOnUnsubscribe). HTTP/S endpoints get an
/// UnsubscribeConfirmation.
///
/// GAP: visiting the SubscribeURL of an UnsubscribeConfirmation does not restore the
/// subscription (its token names no subscription any more).
pub fn unsubscribe(sns: &Sns, ctx: &Context, input: Value) -> Result<Value, AwsError> {
    let input: SubscriptionArnInput = parse_input(input)?;
    let r = parse_subscription_arn(&input.subscription_arn)?;
    let store = ctx.dispatcher.store();
    let (topic, sub) = read(store, |tx| {
        let sub = SUBSCRIPTIONS
            .get(tx, &r.part, &input.subscription_arn)
            .map_err(db)?
            .ok_or_else(|| not_found("Subscription does not exist"))?;
        let topic = TOPICS.get(tx, &r.part, &r.name).map_err(db)?;
        Ok::<_, AwsError>((topic, sub))
    })?;
    if ctx.principal.kind == PrincipalKind::Anonymous && sub.authenticate_on_unsubscribe {
        return Err(authorization_error(
            "Unsubscribe requires authentication for this subscription",
        ));
    }
    let mut outgoing = Vec::new();
    if let Some(topic) = &topic
        && matches!(sub.protocol.as_str(), "http" | "https")
        && !sub.pending
    {
        let token = new_token();
        outgoing.push(confirmation(sns, ctx, topic, &sub, Confirmation::Unsubscribe, &token)?);
    }
    write(store, |tx| {
        SUBSCRIPTIONS.delete(tx, &r.part, &sub.arn).map_err(db)?;
        if let Some(mut topic) = TOPICS.get(tx, &r.part, &r.name).map_err(db)? {
            topic.subscriptions_deleted += 1;
            TOPICS.put(tx, &r.part, &r.name, &topic).map_err(db)?;
        }
        write_outgoing(sns, tx, &outgoing, ctx.time.timestamp_millis())
    })?;
    tracing::info!(sub = %sub.arn, "unsubscribed");
    after_commit(sns, ctx, outgoing);
    Ok(json!({}))
}

fn summary(s: &Subscription) -> Value {
    json!({
        "SubscriptionArn": if s.pending { "PendingConfirmation" } else { s.arn.as_str() },
        "Owner": s.owner,
        "Protocol": s.protocol,
        "Endpoint": s.endpoint,
        "TopicArn": s.topic_arn,
    })
}

fn page(subs: Vec<(String, Subscription)>) -> Value {
    let more = subs.len() > PAGE;
    let next = more.then(|| subs.get(PAGE - 1).map(|(k, _)| encode_token(k))).flatten();
    let items: Vec<_> = subs.iter().take(PAGE).map(|(_, s)| summary(s)).collect();
    json!({"Subscriptions": items, "NextToken": next})
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ListInput {
    topic_arn: Option<String>,
    next_token: Option<String>,
}

/// Implements `ListSubscriptions`, 100 per page.
pub fn list_subscriptions(ctx: &Context, input: Value) -> Result<Value, AwsError> {
    let input: ListInput = parse_input(input)?;
    let after = input.next_token.as_deref().map(decode_token).transpose()?;
    let part = ctx.partition();
    let subs = read(ctx.dispatcher.store(), |tx| {
        SUBSCRIPTIONS.scan(tx, &part, "", after.as_deref(), PAGE + 1).map_err(db)
    })?;
    Ok(page(subs))
}

/// Implements `ListSubscriptionsByTopic`, 100 per page.
pub fn list_subscriptions_by_topic(ctx: &Context, input: Value) -> Result<Value, AwsError> {
    let input: ListInput = parse_input(input)?;
    let r = parse_topic_arn(input.topic_arn.as_deref().unwrap_or_default(), "TopicArn")?;
    let after = input.next_token.as_deref().map(decode_token).transpose()?;
    let prefix = format!("{}:", r.arn);
    let subs = read(ctx.dispatcher.store(), |tx| {
        load_topic(tx, &r)?;
        SUBSCRIPTIONS.scan(tx, &r.part, &prefix, after.as_deref(), PAGE + 1).map_err(db)
    })?;
    Ok(page(subs))
}

fn load_subscription(
    ctx: &Context,
    arn: &str,
) -> Result<(Subscription, Option<crate::state::Topic>), AwsError> {
    let r = parse_subscription_arn(arn)?;
    read(ctx.dispatcher.store(), |tx| {
        let sub = SUBSCRIPTIONS
            .get(tx, &r.part, arn)
            .map_err(db)?
            .ok_or_else(|| not_found("Subscription does not exist"))?;
        Ok((sub, TOPICS.get(tx, &r.part, &r.name).map_err(db)?))
    })
}

/// Implements `GetSubscriptionAttributes`.
pub fn get_subscription_attributes(ctx: &Context, input: Value) -> Result<Value, AwsError> {
    let input: SubscriptionArnInput = parse_input(input)?;
    let (sub, topic) = load_subscription(ctx, &input.subscription_arn)?;
    let mut attrs = sub.attributes.clone();
    attrs.insert("SubscriptionArn".into(), sub.arn.clone());
    attrs.insert("TopicArn".into(), sub.topic_arn.clone());
    attrs.insert("Owner".into(), sub.owner.clone());
    attrs.insert("Protocol".into(), sub.protocol.clone());
    attrs.insert("Endpoint".into(), sub.endpoint.clone());
    attrs.insert("PendingConfirmation".into(), sub.pending.to_string());
    attrs.insert(
        "ConfirmationWasAuthenticated".into(),
        sub.confirmation_was_authenticated.to_string(),
    );
    attrs.entry("RawMessageDelivery".into()).or_insert_with(|| "false".into());
    if attrs.contains_key("FilterPolicy") {
        attrs.entry("FilterPolicyScope".into()).or_insert_with(|| "MessageAttributes".into());
    }
    if matches!(sub.protocol.as_str(), "http" | "https") {
        let topic_policy =
            topic.as_ref().and_then(|t| t.attributes.get("DeliveryPolicy")).map(String::as_str);
        attrs.insert(
            "EffectiveDeliveryPolicy".into(),
            delivery_policy::subscription_effective_json(
                topic_policy,
                sub.attributes.get("DeliveryPolicy").map(String::as_str),
            ),
        );
    }
    Ok(json!({"Attributes": attrs}))
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct SetAttributeInput {
    subscription_arn: String,
    attribute_name: String,
    attribute_value: Option<String>,
}

/// Implements `SetSubscriptionAttributes`. An empty FilterPolicy (or `{}`) removes it.
pub fn set_subscription_attributes(ctx: &Context, input: Value) -> Result<Value, AwsError> {
    let input: SetAttributeInput = parse_input(input)?;
    let r = parse_subscription_arn(&input.subscription_arn)?;
    let value = input.attribute_value.unwrap_or_default();
    let name = input.attribute_name.as_str();
    write(ctx.dispatcher.store(), |tx| {
        let mut sub = SUBSCRIPTIONS
            .get(tx, &r.part, &input.subscription_arn)
            .map_err(db)?
            .ok_or_else(|| not_found("Subscription does not exist"))?;
        let remove = match name {
            "FilterPolicy" => value.is_empty() || value.trim() == "{}",
            "DeliveryPolicy" | "RedrivePolicy" => value.is_empty(),
            _ => false,
        };
        if remove {
            sub.attributes.remove(name);
        } else {
            let scope = if name == "FilterPolicyScope" {
                Some(value.as_str())
            } else {
                sub.attributes.get("FilterPolicyScope").map(String::as_str)
            };
            check_attribute(&sub.protocol, name, &value, scope)?;
            if name == "FilterPolicyScope"
                && let Some(fp) = sub.attributes.get("FilterPolicy")
            {
                check_attribute(&sub.protocol, "FilterPolicy", fp, scope)?;
            }
            sub.attributes.insert(name.to_owned(), value.clone());
        }
        SUBSCRIPTIONS.put(tx, &r.part, &sub.arn, &sub).map_err(db)?;
        tracing::info!(sub = %sub.arn, attribute = name, "subscription attribute set");
        Ok::<_, AwsError>(())
    })?;
    Ok(json!({}))
}
