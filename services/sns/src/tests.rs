//! Service tests: handlers called through the dispatcher against an in-memory store.

use std::sync::Arc;

use mamori_aws::{AccountId, Region};
use mamori_service::{Dispatcher, Principal, RealClock, RootCredentials};
use serde_json::json;

use super::*;

fn setup() -> (Arc<Dispatcher>, Context) {
    let account = AccountId::parse("000000000000").unwrap();
    let creds = RootCredentials {
        access_key_id: "test".into(),
        secret: "test".into(),
        account: account.clone(),
    };
    let store = mamori_store::Store::in_memory().unwrap();
    let sns = Arc::new(Sns::new("http://127.0.0.1:1"));
    let d = Dispatcher::new(vec![sns], Arc::new(creds), Arc::new(RealClock), store);
    let region = Region::parse("us-east-1").unwrap();
    let ctx = Context::internal(d.clone(), Principal::root(account.clone()), account, region);
    (d, ctx)
}

#[tokio::test]
async fn create_and_read_a_topic() {
    let (d, ctx) = setup();
    let out = d.call(&ctx, "sns", "CreateTopic", json!({"Name": "alerts"})).await.unwrap();
    let arn = out["TopicArn"].as_str().unwrap().to_owned();
    assert_eq!(arn, "arn:aws:sns:us-east-1:000000000000:alerts");
    let attrs = d.call(&ctx, "sns", "GetTopicAttributes", json!({"TopicArn": arn})).await.unwrap();
    assert_eq!(attrs["Attributes"]["Owner"], "000000000000");
    assert_eq!(attrs["Attributes"]["SubscriptionsConfirmed"], "0");
}
