//! Amazon Simple Notification Service, following
//! <https://docs.aws.amazon.com/sns/latest/api/welcome.html>.
//!
//! Topics with their attributes and resource policies, subscriptions with the real
//! confirmation handshake, and Publish fanning out to HTTP endpoints through a durable
//! delivery queue with signed messages and retries; email subscriptions write to an
//! outbox. See docs/ARCHITECTURE.md for the invariants.

mod cfn;
mod delivery;
mod delivery_policy;
mod errors;
pub mod filter;
mod message;
mod ops;
mod policy;
mod signing;
mod smtp;
mod state;

use std::sync::{Arc, RwLock};

use chrono::TimeDelta;
pub use mamori_aws::AwsError;
use mamori_service::{AuthzRequest, Context, Dispatcher, OpSpec, Service, Task, async_trait};
use mamori_store::Store;
use serde_json::{Value, json};

use crate::delivery::Deliverer;
use crate::signing::Signer;
use crate::state::{OUTBOX, OUTBOX_PART, SETTINGS, db};

/// The delivery policy parsers, for the fuzz target and the property test.
#[doc(hidden)]
pub use delivery_policy::{parse_subscription_policy, parse_topic_policy};

/// The SNS service.
pub struct Sns {
    base_url: String,
    signer: RwLock<Option<Arc<Signer>>>,
    deliverer: Arc<Deliverer>,
    smtp: Option<smtp::Relay>,
}

impl std::fmt::Debug for Sns {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sns").field("base_url", &self.base_url).finish_non_exhaustive()
    }
}

const OPS: &[OpSpec] = &[
    OpSpec { name: "AddPermission", gaps: &[] },
    OpSpec {
        name: "ConfirmSubscription",
        gaps: &["the subscription limit per topic is not enforced"],
    },
    OpSpec {
        name: "CreateTopic",
        gaps: &["DataProtectionPolicy is rejected", "KmsMasterKeyId is stored, not used"],
    },
    OpSpec { name: "DeleteTopic", gaps: &[] },
    OpSpec { name: "GetSubscriptionAttributes", gaps: &[] },
    OpSpec { name: "GetTopicAttributes", gaps: &[] },
    OpSpec { name: "ListSubscriptions", gaps: &[] },
    OpSpec { name: "ListSubscriptionsByTopic", gaps: &[] },
    OpSpec { name: "ListTagsForResource", gaps: &[] },
    OpSpec { name: "ListTopics", gaps: &[] },
    OpSpec {
        name: "Publish",
        gaps: &[
            "TargetArn (mobile endpoints) and PhoneNumber (SMS) are rejected",
            "FIFO ordering and deduplication are not applied (MessageGroupId is accepted)",
            "RedrivePolicy is stored; failed messages are dropped, not sent to a DLQ",
            "--smtp-url: plain SMTP without STARTTLS or auth, no retries (the outbox keeps every email)",
        ],
    },
    OpSpec { name: "PublishBatch", gaps: &["as Publish"] },
    OpSpec { name: "RemovePermission", gaps: &[] },
    OpSpec { name: "SetSubscriptionAttributes", gaps: &[] },
    OpSpec {
        name: "SetTopicAttributes",
        gaps: &["delivery status logging attributes are stored only"],
    },
    OpSpec {
        name: "Subscribe",
        gaps: &["protocols sqs, lambda, application, sms and firehose are rejected"],
    },
    OpSpec { name: "TagResource", gaps: &[] },
    OpSpec { name: "Unsubscribe", gaps: &[] },
    OpSpec { name: "UntagResource", gaps: &[] },
];

/// The operations on a topic that its policy decides.
const TOPIC_POLICY_OPS: &[&str] = &[
    "Publish",
    "PublishBatch",
    "Subscribe",
    "GetTopicAttributes",
    "SetTopicAttributes",
    "AddPermission",
    "RemovePermission",
    "DeleteTopic",
    "ListSubscriptionsByTopic",
    "TagResource",
    "UntagResource",
    "ListTagsForResource",
];

impl Sns {
    /// The service, serving its links (SubscribeURL, SigningCertURL, ...) under
    /// `base_url` (`http://127.0.0.1:4566`).
    pub fn new(base_url: impl Into<String>) -> Self {
        let base_url = base_url.into().trim_end_matches('/').to_owned();
        Self {
            base_url,
            signer: RwLock::new(None),
            deliverer: Arc::new(Deliverer::default()),
            smtp: None,
        }
    }

    /// Sends email subscriptions' messages through the SMTP relay at `url`
    /// (`smtp://host:port`) as well as keeping them in the outbox.
    pub fn with_smtp_relay(mut self, url: &str) -> Result<Self, String> {
        self.smtp = Some(smtp::Relay::parse(url)?);
        Ok(self)
    }

    /// Also trusts the PEM CA certificates in `pem` for https endpoints (besides the
    /// Mozilla root set), e.g. a private CA of a test network.
    pub fn with_trusted_ca(mut self, pem: &[u8]) -> Result<Self, String> {
        self.deliverer = Arc::new(Deliverer::with_extra_roots(pem)?);
        Ok(self)
    }

    /// The signing key, loaded from the store or made and stored on first use.
    fn signer(&self, store: &Store) -> Result<Arc<Signer>, AwsError> {
        if let Some(s) = self.signer.read().unwrap_or_else(|e| e.into_inner()).as_ref() {
            return Ok(s.clone());
        }
        let mut slot = self.signer.write().unwrap_or_else(|e| e.into_inner());
        if let Some(s) = slot.as_ref() {
            return Ok(s.clone());
        }
        let stored = store.read(|tx| SETTINGS.get(tx, "global", "signing-key")).map_err(db)?;
        let signer = match stored {
            Some(text) => Signer::from_stored(&text).map_err(AwsError::internal)?,
            None => {
                let signer = Signer::generate().map_err(AwsError::internal)?;
                store
                    .write(|tx| SETTINGS.put(tx, "global", "signing-key", &signer.stored))
                    .map_err(db)?;
                tracing::info!(key_id = %signer.key_id, "generated the SNS signing key");
                signer
            }
        };
        let signer = Arc::new(signer);
        *slot = Some(signer.clone());
        Ok(signer)
    }

    /// The PEM certificate served at `/_mamori/sns/SimpleNotificationService-<id>.pem`,
    /// when `file` names the current key.
    pub fn certificate(&self, store: &Store, file: &str) -> Option<String> {
        let signer = self.signer(store).ok()?;
        let want = format!("SimpleNotificationService-{}.pem", signer.key_id);
        (file == want).then(|| signer.cert_pem.clone())
    }

    /// The email outbox, oldest first, as served at `/_mamori/sns/outbox`.
    pub fn outbox(&self, store: &Store) -> Result<Value, AwsError> {
        let records = store
            .read(|tx| OUTBOX.range(tx, OUTBOX_PART, &[], i64::MIN, i64::MAX, None, 10_000, false))
            .map_err(db)?;
        Ok(json!({"messages": records.into_iter().map(|r| r.value).collect::<Vec<_>>()}))
    }
}

/// Registers the delivery task (every second: start due deliveries) and loads (or
/// makes) the signing key in the background, so neither start-up nor the first request
/// waits for RSA key generation. Must run inside the tokio runtime.
pub fn register_tasks(dispatcher: &Arc<Dispatcher>, svc: Arc<Sns>) {
    let (key_svc, key_store) = (svc.clone(), dispatcher.store().clone());
    tokio::task::spawn_blocking(move || {
        if let Err(e) = key_svc.signer(&key_store) {
            tracing::error!(error = %e, "cannot load the SNS signing key");
        }
    });
    svc.deliverer.start_reaper(dispatcher.store().clone());
    let d = dispatcher.clone();
    let task = Task {
        name: "sns.deliveries",
        interval: TimeDelta::seconds(1),
        run: Arc::new(move |due| {
            let (d, svc) = (d.clone(), svc.clone());
            Box::pin(async move {
                let wait = d.clock().as_manual().is_some();
                svc.deliverer.run_due(&d, due, wait).await;
            })
        }),
    };
    dispatcher.scheduler().register(task, dispatcher.clock().now());
}

#[async_trait]
impl Service for Sns {
    fn model_id(&self) -> &'static str {
        "sns"
    }

    fn operations(&self) -> &'static [OpSpec] {
        OPS
    }

    fn authz(&self, ctx: &Context, operation: &str, input: &Value) -> AuthzRequest {
        let arn = ["TopicArn", "ResourceArn", "SubscriptionArn"]
            .iter()
            .find_map(|k| input.get(*k).and_then(Value::as_str))
            .map(|a| match operation {
                // A subscription's actions are authorized on its topic.
                "Unsubscribe" | "GetSubscriptionAttributes" | "SetSubscriptionAttributes" => {
                    a.rsplit_once(':').map_or(a, |(t, _)| t).to_owned()
                }
                _ => a.to_owned(),
            });
        let _ = ctx;
        AuthzRequest::new(format!("sns:{operation}"), vec![arn.unwrap_or_else(|| "*".into())])
    }

    /// The topic's policy (or the default one AWS writes) for the operations that act on
    /// a topic; the authorizer decides it with mamori-policy for every caller.
    fn resource_policy(&self, ctx: &Context, operation: &str, input: &Value) -> Option<String> {
        if !TOPIC_POLICY_OPS.contains(&operation) {
            return None;
        }
        let arn = input.get("TopicArn").or_else(|| input.get("ResourceArn"))?.as_str()?;
        // An unknown topic has no policy: the handler answers NotFound.
        let r = state::parse_topic_arn(arn, "TopicArn").ok()?;
        match ctx.dispatcher.store().read(|tx| state::TOPICS.get(tx, &r.part, &r.name)) {
            Ok(topic) => topic.map(|t| {
                t.attributes
                    .get("Policy")
                    .cloned()
                    .unwrap_or_else(|| policy::default_policy(&t.arn, &t.owner))
            }),
            Err(e) => {
                // An empty document does not parse, and the authorizer denies (fail closed).
                tracing::error!(error = %e, topic = arn, "cannot read the topic policy");
                Some(String::new())
            }
        }
    }

    async fn call(&self, ctx: &Context, operation: &str, input: Value) -> Result<Value, AwsError> {
        match operation {
            "CreateTopic" => ops::topics::create_topic(self, ctx, input),
            "DeleteTopic" => ops::topics::delete_topic(self, ctx, input),
            "ListTopics" => ops::topics::list_topics(ctx, input),
            "GetTopicAttributes" => ops::topics::get_topic_attributes(ctx, input),
            "SetTopicAttributes" => ops::topics::set_topic_attributes(ctx, input),
            "AddPermission" => ops::topics::add_permission(ctx, input),
            "RemovePermission" => ops::topics::remove_permission(ctx, input),
            "TagResource" => ops::topics::tag_resource(ctx, input),
            "UntagResource" => ops::topics::untag_resource(ctx, input),
            "ListTagsForResource" => ops::topics::list_tags_for_resource(ctx, input),
            "Subscribe" => ops::subscriptions::subscribe(self, ctx, input),
            "ConfirmSubscription" => ops::subscriptions::confirm_subscription(ctx, input),
            "Unsubscribe" => ops::subscriptions::unsubscribe(self, ctx, input),
            "ListSubscriptions" => ops::subscriptions::list_subscriptions(ctx, input),
            "ListSubscriptionsByTopic" => {
                ops::subscriptions::list_subscriptions_by_topic(ctx, input)
            }
            "GetSubscriptionAttributes" => {
                ops::subscriptions::get_subscription_attributes(ctx, input)
            }
            "SetSubscriptionAttributes" => {
                ops::subscriptions::set_subscription_attributes(ctx, input)
            }
            "Publish" => ops::publish::publish(self, ctx, input),
            "PublishBatch" => ops::publish::publish_batch(self, ctx, input),
            other => Err(AwsError::not_implemented("sns", other)),
        }
    }

    fn resource_providers(&self) -> Vec<Arc<dyn mamori_service::ResourceProvider>> {
        vec![Arc::new(cfn::SnsProvider)]
    }

    fn reset(&self) {
        *self.signer.write().unwrap_or_else(|e| e.into_inner()) = None;
        self.deliverer.reset();
    }
}

#[cfg(test)]
mod tests;
