//! Service tests: handlers called through the dispatcher against an in-memory store
//! and a manual clock, with no HTTP server.

use std::sync::Arc;

use mamori_aws::{AccountId, Region};
use mamori_service::{Dispatcher, ManualClock, Principal, PrincipalKind, RootCredentials};
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

fn as_service(ctx: &Context, name: &str) -> Context {
    let mut c = ctx.clone();
    c.principal = Principal::service(name, ctx.account.clone());
    c
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

/// The contract with CloudWatch: alarms publish as `cloudwatch.amazonaws.com` in the
/// topic's account, and both the default policy and the seed's policy allow it.
#[tokio::test]
async fn cloudwatch_may_publish_under_the_default_and_the_seed_policy() {
    let (d, ctx) = setup();
    let arn = topic(&d, &ctx, "alarms").await;
    let cw = as_service(&ctx, "cloudwatch.amazonaws.com");
    let publish = json!({"TopicArn": arn, "Subject": "ALARM: \"x\" in US East (N. Virginia)", "Message": "{}"});
    d.call(&cw, "sns", "Publish", publish.clone()).await.unwrap();
    let seed = json!({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": "*"}, "Resource": "*", "Action": "SNS:Publish"}]});
    let set =
        json!({"TopicArn": arn, "AttributeName": "Policy", "AttributeValue": seed.to_string()});
    d.call(&ctx, "sns", "SetTopicAttributes", set).await.unwrap();
    d.call(&cw, "sns", "Publish", publish.clone()).await.unwrap();
    // A policy naming only the account's users does not let a service in.
    let users = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
        "Principal": {"AWS": "arn:aws:iam::000000000000:root"}, "Resource": "*", "Action": "SNS:Publish"}]});
    let set =
        json!({"TopicArn": arn, "AttributeName": "Policy", "AttributeValue": users.to_string()});
    d.call(&ctx, "sns", "SetTopicAttributes", set).await.unwrap();
    let res = d.call(&cw, "sns", "Publish", publish.clone()).await;
    assert_eq!(code(res), "AuthorizationErrorException");
    // Unless a statement names the service.
    let svc = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
        "Principal": {"Service": "cloudwatch.amazonaws.com"}, "Resource": arn, "Action": "sns:Publish"}]});
    let set =
        json!({"TopicArn": arn, "AttributeName": "Policy", "AttributeValue": svc.to_string()});
    d.call(&ctx, "sns", "SetTopicAttributes", set).await.unwrap();
    d.call(&cw, "sns", "Publish", publish).await.unwrap();
}

#[tokio::test]
async fn the_default_policy_refuses_other_accounts() {
    let (d, ctx) = setup();
    let arn = topic(&d, &ctx, "private").await;
    let other = AccountId::parse("111111111111").unwrap();
    let mut stranger = ctx.clone();
    stranger.principal = Principal {
        arn: "arn:aws:iam::111111111111:user/eve".into(),
        account: other.clone(),
        user_id: "AIDAEVE".into(),
        kind: PrincipalKind::IamUser { name: "eve".into() },
        access_key_id: None,
        mfa: false,
    };
    stranger.account = other;
    let res = d.call(&stranger, "sns", "Publish", json!({"TopicArn": arn, "Message": "m"})).await;
    let err = res.unwrap_err();
    assert_eq!(err.code, "AuthorizationErrorException");
    assert!(err.message.contains("arn:aws:iam::111111111111:user/eve"), "{}", err.message);
    // AddPermission opens it to that account.
    let add = json!({"TopicArn": arn, "Label": "eve", "AWSAccountId": ["111111111111"], "ActionName": ["Publish"]});
    d.call(&ctx, "sns", "AddPermission", add).await.unwrap();
    d.call(&stranger, "sns", "Publish", json!({"TopicArn": arn, "Message": "m"})).await.unwrap();
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
