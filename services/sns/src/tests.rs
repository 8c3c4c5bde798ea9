//! Service tests: handlers called through the dispatcher against an in-memory store
//! and a manual clock, with no HTTP server.

use std::sync::Arc;

use mamori_aws::{AccountId, Region};
use mamori_service::{Dispatcher, ManualClock, Principal, RootCredentials};
use serde_json::json;

use super::*;
use crate::state::{DELIVERIES, QUEUE_PART};

const ACCOUNT: &str = "000000000000";

fn setup() -> (Arc<Dispatcher>, Context) {
    let account = AccountId::parse(ACCOUNT).unwrap();
    let creds = RootCredentials {
        access_key_id: "test".into(),
        secret: "test".into(),
        account: account.clone(),
    };
    let store = mamori_store::Store::in_memory().unwrap();
    let sns = Arc::new(Sns::new("http://127.0.0.1:1/"));
    let start = chrono::DateTime::from_timestamp(1_700_000_000, 0).unwrap();
    let clock = Arc::new(ManualClock::new(start));
    let d = Dispatcher::new(vec![sns.clone()], Arc::new(creds), clock, store);
    register_tasks(&d, sns);
    let region = Region::parse("us-east-1").unwrap();
    let ctx = Context::internal(d.clone(), Principal::root(account.clone()), account, region);
    (d, ctx)
}

fn code(res: Result<Value, AwsError>) -> String {
    res.expect_err("expected an error").code
}

async fn topic(d: &Dispatcher, ctx: &Context, name: &str) -> String {
    let out = d.call(ctx, "sns", "CreateTopic", json!({"Name": name})).await.unwrap();
    out["TopicArn"].as_str().unwrap().to_owned()
}

fn queued(d: &Dispatcher) -> usize {
    d.store().read(|tx| DELIVERIES.count(tx, QUEUE_PART)).unwrap()
}

#[tokio::test]
async fn create_and_read_a_topic() {
    let (d, ctx) = setup();
    let arn = topic(&d, &ctx, "alerts").await;
    assert_eq!(arn, "arn:aws:sns:us-east-1:000000000000:alerts");
    let attrs = d.call(&ctx, "sns", "GetTopicAttributes", json!({"TopicArn": arn})).await.unwrap();
    assert_eq!(attrs["Attributes"]["Owner"], ACCOUNT);
    assert_eq!(attrs["Attributes"]["SubscriptionsConfirmed"], "0");
    assert_eq!(attrs["Attributes"]["TracingConfig"], "PassThrough");
    // The same name with other attributes is refused.
    let again = d
        .call(
            &ctx,
            "sns",
            "CreateTopic",
            json!({"Name": "alerts", "Attributes": {"DisplayName": "other"}}),
        )
        .await;
    assert_eq!(code(again), "InvalidParameterException");
}

#[tokio::test]
async fn fifo_topics_need_the_suffix_and_a_group_id() {
    let (d, ctx) = setup();
    let fifo = json!({"Name": "orders.fifo", "Attributes": {"FifoTopic": "true"}});
    let arn = d.call(&ctx, "sns", "CreateTopic", fifo).await.unwrap()["TopicArn"].clone();
    let res = d.call(&ctx, "sns", "Publish", json!({"TopicArn": arn, "Message": "m"})).await;
    assert_eq!(code(res), "InvalidParameterException");
    let ok = d
        .call(
            &ctx,
            "sns",
            "Publish",
            json!({"TopicArn": arn, "Message": "m", "MessageGroupId": "g", "MessageDeduplicationId": "1"}),
        )
        .await
        .unwrap();
    assert!(ok["SequenceNumber"].is_string());
    let no_suffix = json!({"Name": "orders", "Attributes": {"FifoTopic": "true"}});
    assert_eq!(
        code(d.call(&ctx, "sns", "CreateTopic", no_suffix).await),
        "InvalidParameterException"
    );
    let content_dedup =
        json!({"Name": "plain", "Attributes": {"ContentBasedDeduplication": "true"}});
    assert_eq!(
        code(d.call(&ctx, "sns", "CreateTopic", content_dedup).await),
        "InvalidParameterException"
    );
}

/// The topic policy reaches the authorizer through `resource_policy` (mamori-policy decides
/// it: see the IAM authorizer's tests and tests/e2e/test_sns.py): the default policy AWS
/// writes, then what SetTopicAttributes stored; none for an unknown topic or another op.
#[tokio::test]
async fn topic_policy_goes_to_the_authorizer() {
    let (d, ctx) = setup();
    let arn = topic(&d, &ctx, "alarms").await;
    let sns = Sns::new("http://127.0.0.1:1/");
    let publish = json!({"TopicArn": arn, "Message": "{}"});
    let got = sns.resource_policy(&ctx, "Publish", &publish).unwrap();
    assert_eq!(got, policy::default_policy(&arn, ACCOUNT));
    let seed = json!({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": "*"}, "Resource": "*", "Action": "SNS:Publish"}]});
    let set =
        json!({"TopicArn": arn, "AttributeName": "Policy", "AttributeValue": seed.to_string()});
    d.call(&ctx, "sns", "SetTopicAttributes", set).await.unwrap();
    assert_eq!(sns.resource_policy(&ctx, "Subscribe", &publish).unwrap(), seed.to_string());
    assert_eq!(sns.resource_policy(&ctx, "ListTopics", &json!({})), None);
    let missing = json!({"TopicArn": format!("{arn}-missing"), "Message": "m"});
    assert_eq!(sns.resource_policy(&ctx, "Publish", &missing), None);
    // A policy the engine cannot read is refused when it is set.
    let bad = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": "*",
        "Action": "SNS:Publish", "Resource": "*", "Condition": {"StringEqualz": {"a": "b"}}}]});
    let set =
        json!({"TopicArn": arn, "AttributeName": "Policy", "AttributeValue": bad.to_string()});
    assert_eq!(
        code(d.call(&ctx, "sns", "SetTopicAttributes", set).await),
        "InvalidParameterException"
    );
}

#[tokio::test]
async fn pending_subscriptions_get_no_notifications() {
    let (d, ctx) = setup();
    let arn = topic(&d, &ctx, "pending").await;
    let sub = json!({"TopicArn": arn, "Protocol": "http", "Endpoint": "http://127.0.0.1:9/x"});
    let out = d.call(&ctx, "sns", "Subscribe", sub).await.unwrap();
    assert_eq!(out["SubscriptionArn"], "pending confirmation");
    let before = queued(&d);
    assert_eq!(before, 1, "the confirmation is queued");
    d.call(&ctx, "sns", "Publish", json!({"TopicArn": arn, "Message": "m"})).await.unwrap();
    assert_eq!(queued(&d), before, "nothing is queued for a pending subscription");
}

#[tokio::test]
async fn subscriptions_page_by_100() {
    let (d, ctx) = setup();
    let arn = topic(&d, &ctx, "many").await;
    for i in 0..103 {
        let sub =
            json!({"TopicArn": arn, "Protocol": "email", "Endpoint": format!("u{i}@example.com")});
        d.call(&ctx, "sns", "Subscribe", sub).await.unwrap();
    }
    let first =
        d.call(&ctx, "sns", "ListSubscriptionsByTopic", json!({"TopicArn": arn})).await.unwrap();
    assert_eq!(first["Subscriptions"].as_array().unwrap().len(), 100);
    let token = first["NextToken"].clone();
    let second =
        d.call(&ctx, "sns", "ListSubscriptions", json!({"NextToken": token})).await.unwrap();
    assert_eq!(second["Subscriptions"].as_array().unwrap().len(), 3);
    assert!(second.get("NextToken").is_none_or(Value::is_null));
    assert_eq!(outbox_len(&d), 103, "one confirmation email each");
}

fn outbox_len(d: &Dispatcher) -> usize {
    d.store()
        .read(|tx| OUTBOX.range(tx, OUTBOX_PART, &[], i64::MIN, i64::MAX, None, 10_000, false))
        .unwrap()
        .len()
}

#[tokio::test]
async fn confirmation_tokens_expire_after_two_days() {
    let (d, ctx) = setup();
    let arn = topic(&d, &ctx, "expiry").await;
    let sub = json!({"TopicArn": arn, "Protocol": "email-json", "Endpoint": "a@example.com"});
    d.call(&ctx, "sns", "Subscribe", sub).await.unwrap();
    let mail = d
        .store()
        .read(|tx| OUTBOX.range(tx, OUTBOX_PART, &[], i64::MIN, i64::MAX, None, 10, false))
        .unwrap();
    let doc: Value = serde_json::from_str(&mail[0].value.body).unwrap();
    let token = doc["Token"].as_str().unwrap().to_owned();
    let mut later = ctx.clone();
    later.time = ctx.time + chrono::TimeDelta::days(2) + chrono::TimeDelta::seconds(1);
    let confirm = json!({"TopicArn": arn, "Token": token});
    assert_eq!(
        code(d.call(&later, "sns", "ConfirmSubscription", confirm.clone()).await),
        "InvalidParameterException"
    );
    let out = d.call(&ctx, "sns", "ConfirmSubscription", confirm).await.unwrap();
    assert!(out["SubscriptionArn"].as_str().unwrap().starts_with(&format!("{arn}:")));
}

#[tokio::test]
async fn deleting_a_topic_deletes_its_subscriptions() {
    let (d, ctx) = setup();
    let arn = topic(&d, &ctx, "gone").await;
    let sub = json!({"TopicArn": arn, "Protocol": "email", "Endpoint": "a@example.com", "ReturnSubscriptionArn": true});
    let sub_arn = d.call(&ctx, "sns", "Subscribe", sub).await.unwrap()["SubscriptionArn"].clone();
    d.call(&ctx, "sns", "DeleteTopic", json!({"TopicArn": arn})).await.unwrap();
    let res =
        d.call(&ctx, "sns", "GetSubscriptionAttributes", json!({"SubscriptionArn": sub_arn})).await;
    assert_eq!(code(res), "NotFoundException");
    let listed = d.call(&ctx, "sns", "ListSubscriptions", json!({})).await.unwrap();
    assert_eq!(listed["Subscriptions"], json!([]));
    // Deleting again is not an error, as in AWS.
    d.call(&ctx, "sns", "DeleteTopic", json!({"TopicArn": arn})).await.unwrap();
}

#[tokio::test]
async fn subscription_attributes_are_checked_per_protocol() {
    let (d, ctx) = setup();
    let arn = topic(&d, &ctx, "attrs").await;
    let cases = [
        ("email", "a@example.com", json!({"RawMessageDelivery": "true"})),
        ("email", "a@example.com", json!({"DeliveryPolicy": "{}"})),
        ("http", "http://127.0.0.1:9/", json!({"RawMessageDelivery": "maybe"})),
        ("http", "http://127.0.0.1:9/", json!({"FilterPolicyScope": "Headers"})),
        ("http", "http://127.0.0.1:9/", json!({"RedrivePolicy": "{}"})),
        ("http", "http://127.0.0.1:9/", json!({"Unknown": "1"})),
        (
            "http",
            "http://127.0.0.1:9/",
            json!({"FilterPolicyScope": "MessageAttributes", "FilterPolicy": "{\"a\": {\"b\": [\"c\"]}}"}),
        ),
    ];
    for (protocol, endpoint, attrs) in cases {
        let sub = json!({"TopicArn": arn, "Protocol": protocol, "Endpoint": endpoint, "Attributes": attrs});
        assert_eq!(
            code(d.call(&ctx, "sns", "Subscribe", sub).await),
            "InvalidParameterException",
            "{attrs}"
        );
    }
}
