//! CloudFormation resource providers for `AWS::SNS::Topic`, `AWS::SNS::TopicPolicy` and
//! `AWS::SNS::Subscription`, following
//! <https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-sns-topic.html>,
//! <https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-sns-topicpolicy.html>
//! and <https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-sns-subscription.html>.
//!
//! Every action is one of this service's own operations called through the dispatcher
//! with the stack caller's context. A topic's `Ref` is its ARN; a topic policy's is a
//! generated id, and deleting it puts the default policy back on its topics.

use std::collections::BTreeMap;

use mamori_aws::AwsError;
use mamori_service::{
    Context, ResourceProvider, ResourceRequest, ResourceState, async_trait, generated_name,
    missing_property, prop_bool, prop_document, prop_str,
};
use serde_json::{Map, Value, json};

/// The SNS resource provider.
#[derive(Debug, Default)]
pub struct SnsProvider;

const TOPIC: &str = "AWS::SNS::Topic";
const TOPIC_POLICY: &str = "AWS::SNS::TopicPolicy";
const SUBSCRIPTION: &str = "AWS::SNS::Subscription";

/// Topic properties that are topic attributes of the same name.
const TOPIC_ATTRIBUTES: &[&str] =
    &["DisplayName", "KmsMasterKeyId", "SignatureVersion", "TracingConfig"];

/// Subscription properties that are subscription attributes of the same name.
const SUBSCRIPTION_ATTRIBUTES: &[&str] = &[
    "DeliveryPolicy",
    "FilterPolicy",
    "FilterPolicyScope",
    "RawMessageDelivery",
    "RedrivePolicy",
    "SubscriptionRoleArn",
];

#[async_trait]
impl ResourceProvider for SnsProvider {
    fn types(&self) -> &'static [&'static str] {
        &[TOPIC, TOPIC_POLICY, SUBSCRIPTION]
    }

    fn replacement_properties(&self, type_name: &str) -> &'static [&'static str] {
        match type_name {
            TOPIC => &["TopicName", "FifoTopic"],
            SUBSCRIPTION => &["Endpoint", "Protocol", "TopicArn", "Region"],
            _ => &[],
        }
    }

    fn gaps(&self, type_name: &str) -> &'static [&'static str] {
        match type_name {
            TOPIC => &[
                "changes of Tags and of the inline Subscription list of an existing topic are not applied",
                "ArchivePolicy and DeliveryStatusLogging are ignored",
            ],
            _ => &[],
        }
    }

    async fn create(
        &self,
        ctx: &Context,
        req: &ResourceRequest,
    ) -> Result<ResourceState, AwsError> {
        match req.type_name.as_str() {
            TOPIC => create_topic(ctx, req).await,
            TOPIC_POLICY => {
                set_policies(ctx, req).await?;
                let id = generated_name(&req.stack_name, &req.logical_id, 256);
                Ok(ResourceState {
                    attributes: BTreeMap::from([("Id".into(), json!(id))]),
                    physical_id: id,
                })
            }
            _ => subscribe(ctx, req).await,
        }
    }

    async fn update(
        &self,
        ctx: &Context,
        req: &ResourceRequest,
        old: &Map<String, Value>,
        previous: &ResourceState,
    ) -> Result<ResourceState, AwsError> {
        match req.type_name.as_str() {
            TOPIC => {
                for name in TOPIC_ATTRIBUTES {
                    if req.properties.get(*name) != old.get(*name) {
                        let value = prop_str(&req.properties, name).unwrap_or_default();
                        set_topic_attribute(ctx, &previous.physical_id, name, &value).await?;
                    }
                }
                // GAP: changes of Tags and of the inline Subscription list are not applied.
                Ok(previous.clone())
            }
            TOPIC_POLICY => {
                // Topics dropped from the list get the default policy back.
                let new_topics = topics(&req.properties);
                for t in topics(old) {
                    if !new_topics.contains(&t) {
                        reset_policy(ctx, &t).await?;
                    }
                }
                set_policies(ctx, req).await?;
                Ok(previous.clone())
            }
            _ => {
                for name in SUBSCRIPTION_ATTRIBUTES {
                    if req.properties.get(*name) != old.get(*name) {
                        let value = attribute_value(&req.properties, name).unwrap_or_default();
                        let input = json!({"SubscriptionArn": previous.physical_id, "AttributeName": name, "AttributeValue": value});
                        call(ctx, "SetSubscriptionAttributes", input).await?;
                    }
                }
                Ok(previous.clone())
            }
        }
    }

    async fn delete(
        &self,
        ctx: &Context,
        req: &ResourceRequest,
        state: &ResourceState,
    ) -> Result<(), AwsError> {
        let res = match req.type_name.as_str() {
            TOPIC => call(ctx, "DeleteTopic", json!({"TopicArn": state.physical_id})).await,
            TOPIC_POLICY => {
                for t in topics(&req.properties) {
                    reset_policy(ctx, &t).await?;
                }
                Ok(Value::Null)
            }
            _ => call(ctx, "Unsubscribe", json!({"SubscriptionArn": state.physical_id})).await,
        };
        match res {
            Err(e) if is_not_found(&e) => Ok(()),
            other => other.map(|_| ()),
        }
    }
}

fn is_not_found(e: &AwsError) -> bool {
    e.code == "NotFoundException" || e.code == "NotFound"
}

async fn call(ctx: &Context, op: &str, input: Value) -> Result<Value, AwsError> {
    ctx.dispatcher.call(ctx, "sns", op, input).await
}

async fn create_topic(ctx: &Context, req: &ResourceRequest) -> Result<ResourceState, AwsError> {
    let p = &req.properties;
    let fifo = prop_bool(p, "FifoTopic") == Some(true);
    let name = prop_str(p, "TopicName").unwrap_or_else(|| {
        let base = generated_name(&req.stack_name, &req.logical_id, if fifo { 251 } else { 256 });
        if fifo { format!("{base}.fifo") } else { base }
    });
    let mut attributes = BTreeMap::new();
    for a in TOPIC_ATTRIBUTES {
        if let Some(v) = attribute_value(p, a) {
            attributes.insert((*a).to_owned(), v);
        }
    }
    if fifo {
        attributes.insert("FifoTopic".into(), "true".into());
    }
    if let Some(v) = prop_bool(p, "ContentBasedDeduplication") {
        attributes.insert("ContentBasedDeduplication".into(), v.to_string());
    }
    let mut input = json!({"Name": name});
    if !attributes.is_empty() {
        input["Attributes"] = json!(attributes);
    }
    if let Some(tags) = p.get("Tags") {
        input["Tags"] = tags.clone();
    }
    if let Some(d) = prop_document(p, "DataProtectionPolicy") {
        input["DataProtectionPolicy"] = json!(d);
    }
    let out = call(ctx, "CreateTopic", input).await?;
    let arn = out.get("TopicArn").and_then(Value::as_str).unwrap_or_default().to_owned();
    for s in p.get("Subscription").and_then(Value::as_array).into_iter().flatten() {
        let input = json!({
            "TopicArn": arn,
            "Protocol": s.get("Protocol").and_then(Value::as_str).unwrap_or_default(),
            "Endpoint": s.get("Endpoint").and_then(Value::as_str).unwrap_or_default(),
        });
        if let Err(e) = call(ctx, "Subscribe", input).await {
            let _ = call(ctx, "DeleteTopic", json!({"TopicArn": arn})).await;
            return Err(e);
        }
    }
    Ok(ResourceState {
        physical_id: arn.clone(),
        attributes: BTreeMap::from([
            ("TopicArn".into(), json!(arn)),
            ("TopicName".into(), json!(name)),
        ]),
    })
}

async fn set_topic_attribute(
    ctx: &Context,
    arn: &str,
    name: &str,
    value: &str,
) -> Result<(), AwsError> {
    let input = json!({"TopicArn": arn, "AttributeName": name, "AttributeValue": value});
    call(ctx, "SetTopicAttributes", input).await.map(|_| ())
}

fn topics(p: &Map<String, Value>) -> Vec<String> {
    p.get("Topics")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|t| t.as_str().map(str::to_owned))
        .collect()
}

async fn set_policies(ctx: &Context, req: &ResourceRequest) -> Result<(), AwsError> {
    let policy = prop_document(&req.properties, "PolicyDocument")
        .ok_or_else(|| missing_property(req, "PolicyDocument"))?;
    let topics = topics(&req.properties);
    if topics.is_empty() {
        return Err(missing_property(req, "Topics"));
    }
    for t in topics {
        set_topic_attribute(ctx, &t, "Policy", &policy).await?;
    }
    Ok(())
}

async fn reset_policy(ctx: &Context, topic: &str) -> Result<(), AwsError> {
    let policy = crate::policy::default_policy(topic, ctx.account.as_str());
    match set_topic_attribute(ctx, topic, "Policy", &policy).await {
        Err(e) if is_not_found(&e) => Ok(()),
        other => other,
    }
}

/// An attribute value as SNS takes it: documents serialized, booleans as text.
fn attribute_value(p: &Map<String, Value>, name: &str) -> Option<String> {
    match p.get(name)? {
        Value::Object(_) | Value::Array(_) => prop_document(p, name),
        _ => prop_str(p, name),
    }
}

async fn subscribe(ctx: &Context, req: &ResourceRequest) -> Result<ResourceState, AwsError> {
    let p = &req.properties;
    let topic = prop_str(p, "TopicArn").ok_or_else(|| missing_property(req, "TopicArn"))?;
    let protocol = prop_str(p, "Protocol").ok_or_else(|| missing_property(req, "Protocol"))?;
    let mut attributes = BTreeMap::new();
    for a in SUBSCRIPTION_ATTRIBUTES {
        if let Some(v) = attribute_value(p, a) {
            attributes.insert((*a).to_owned(), v);
        }
    }
    let mut input = json!({"TopicArn": topic, "Protocol": protocol, "ReturnSubscriptionArn": true});
    if let Some(e) = prop_str(p, "Endpoint") {
        input["Endpoint"] = json!(e);
    }
    if !attributes.is_empty() {
        input["Attributes"] = json!(attributes);
    }
    let out = call(ctx, "Subscribe", input).await?;
    let arn = out.get("SubscriptionArn").and_then(Value::as_str).unwrap_or_default().to_owned();
    Ok(ResourceState {
        physical_id: arn.clone(),
        attributes: BTreeMap::from([("Arn".into(), json!(arn))]),
    })
}
