//! The durable state of SNS: topics, subscriptions, the delivery queue and the email
//! outbox, with the identifier rules of
//! <https://docs.aws.amazon.com/sns/latest/api/API_CreateTopic.html> and
//! <https://docs.aws.amazon.com/sns/latest/api/API_Subscribe.html>.

use std::collections::BTreeMap;

use mamori_aws::{Arn, AwsError};
use mamori_store::{Collection, Series, Store, StoreError, Tx};
use serde::{Deserialize, Serialize};

use crate::errors::{invalid_parameter, not_found};

/// Topics by partition `account/region` and name.
pub const TOPICS: Collection<Topic> = Collection::new("sns.topics");
/// Subscriptions by the partition of their topic and subscription ARN, so that the
/// subscriptions of a topic are the keys starting with `<topicArn>:`.
pub const SUBSCRIPTIONS: Collection<Subscription> = Collection::new("sns.subscriptions");
/// Pending deliveries in one partition, keyed by `<due millis, 15 digits>-<id>` so that a
/// key-ordered scan yields them by due time.
pub const DELIVERIES: Collection<crate::delivery::Delivery> = Collection::new("sns.deliveries");
/// The partition of [`DELIVERIES`].
pub const QUEUE_PART: &str = "queue";
/// Email messages kept when no SMTP relay is configured.
pub const OUTBOX: Series<OutboxEntry> = Series::new("sns.outbox");
/// The partition and stream of [`OUTBOX`].
pub const OUTBOX_PART: &str = "outbox";
/// Service-wide settings: the signing key.
pub const SETTINGS: Collection<String> = Collection::new("sns.settings");

/// Maps a store failure to a 500 (the cause is logged by the server).
pub fn db(e: StoreError) -> AwsError {
    AwsError::internal(e)
}

struct TxError(AwsError);

impl From<StoreError> for TxError {
    fn from(e: StoreError) -> Self {
        Self(db(e))
    }
}

/// Runs `f` in a write transaction of `store` (AwsError cannot implement
/// `From<StoreError>` here, so errors travel wrapped).
pub fn write<T>(
    store: &Store,
    f: impl FnOnce(&Tx<'_>) -> Result<T, AwsError>,
) -> Result<T, AwsError> {
    store.write(|tx| f(tx).map_err(TxError)).map_err(|TxError(e)| e)
}

/// Runs `f` in a read transaction of `store`.
pub fn read<T>(
    store: &Store,
    f: impl FnOnce(&Tx<'_>) -> Result<T, AwsError>,
) -> Result<T, AwsError> {
    store.read(|tx| f(tx).map_err(TxError)).map_err(|TxError(e)| e)
}

/// A topic.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Topic {
    /// `arn:aws:sns:<region>:<account>:<name>`.
    pub arn: String,
    /// The name.
    pub name: String,
    /// The owning account.
    pub owner: String,
    /// Attributes set by the user (DisplayName, Policy, DeliveryPolicy, ...); computed
    /// ones (TopicArn, Owner, counts, EffectiveDeliveryPolicy) are not stored.
    pub attributes: BTreeMap<String, String>,
    /// Tags.
    pub tags: BTreeMap<String, String>,
    /// How many subscriptions were deleted (the `SubscriptionsDeleted` attribute).
    #[serde(default)]
    pub subscriptions_deleted: u64,
}

impl Topic {
    /// Whether this is a FIFO topic.
    pub fn is_fifo(&self) -> bool {
        self.attributes.get("FifoTopic").is_some_and(|v| v == "true")
    }
}

/// A subscription.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Subscription {
    /// `<topicArn>:<uuid>`.
    pub arn: String,
    /// The topic.
    pub topic_arn: String,
    /// `http`, `https`, `email`, `email-json`.
    pub protocol: String,
    /// URL or address.
    pub endpoint: String,
    /// The subscriber's account.
    pub owner: String,
    /// True until confirmed.
    pub pending: bool,
    /// The confirmation token while pending.
    pub token: Option<String>,
    /// When the token expires (epoch millis).
    pub token_expires_ms: i64,
    /// The confirmation was made by a signed request.
    pub confirmation_was_authenticated: bool,
    /// Unsubscribe needs a signed request.
    #[serde(default)]
    pub authenticate_on_unsubscribe: bool,
    /// User-set attributes (RawMessageDelivery, FilterPolicy, FilterPolicyScope,
    /// DeliveryPolicy, RedrivePolicy, SubscriptionRoleArn).
    pub attributes: BTreeMap<String, String>,
}

impl Subscription {
    /// Whether RawMessageDelivery is on.
    pub fn raw(&self) -> bool {
        self.attributes.get("RawMessageDelivery").is_some_and(|v| v.eq_ignore_ascii_case("true"))
    }
}

/// One email kept in the outbox.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OutboxEntry {
    /// Display name of the sender (the topic's DisplayName, or its name).
    #[serde(default)]
    pub sender_name: String,
    /// Recipient address.
    pub to: String,
    /// `email` or `email-json`.
    pub protocol: String,
    /// Subject line.
    pub subject: String,
    /// Body text.
    pub body: String,
    /// The SNS message type (`SubscriptionConfirmation`, `Notification`, ...).
    pub message_type: String,
    /// The topic.
    pub topic_arn: String,
    /// The subscription.
    pub subscription_arn: String,
    /// ISO 8601 time it was written.
    pub timestamp: String,
}

/// A topic ARN split into its partition key and name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicRef {
    /// The full ARN.
    pub arn: String,
    /// `account/region`.
    pub part: String,
    /// The topic name.
    pub name: String,
    /// The account.
    pub account: String,
    /// The region.
    pub region: String,
}

/// Parses a topic ARN; a malformed one is `InvalidParameter` as AWS answers it.
pub fn parse_topic_arn(s: &str, param: &str) -> Result<TopicRef, AwsError> {
    let bad = || invalid_parameter(param);
    let arn = Arn::parse(s).map_err(|_| bad())?;
    if arn.service != "sns" || arn.region.is_empty() || arn.account.is_empty() {
        return Err(bad());
    }
    if arn.resource.contains(':') || validate_topic_name(&arn.resource, true).is_err() {
        return Err(bad());
    }
    Ok(TopicRef {
        arn: s.to_owned(),
        part: format!("{}/{}", arn.account, arn.region),
        name: arn.resource,
        account: arn.account,
        region: arn.region,
    })
}

/// Parses a subscription ARN into its topic and the full ARN.
pub fn parse_subscription_arn(s: &str) -> Result<TopicRef, AwsError> {
    let bad = || invalid_parameter("SubscriptionArn");
    let (topic, id) = s.rsplit_once(':').ok_or_else(bad)?;
    if id.is_empty() || uuid::Uuid::parse_str(id).is_err() {
        return Err(bad());
    }
    parse_topic_arn(topic, "SubscriptionArn").map_err(|_| bad())
}

/// Checks a topic name: 1-256 of `[A-Za-z0-9_-]`, with `.fifo` allowed at the end of a
/// FIFO topic's name.
pub fn validate_topic_name(name: &str, fifo_ok: bool) -> Result<(), AwsError> {
    let base = if fifo_ok { name.strip_suffix(".fifo").unwrap_or(name) } else { name };
    let ok = !name.is_empty()
        && name.len() <= 256
        && !base.is_empty()
        && base.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if ok { Ok(()) } else { Err(invalid_parameter("Topic Name")) }
}

/// The topic at `r`, or `NotFound`.
pub fn load_topic(tx: &Tx<'_>, r: &TopicRef) -> Result<Topic, AwsError> {
    TOPICS.get(tx, &r.part, &r.name).map_err(db)?.ok_or_else(|| not_found("Topic does not exist"))
}

/// The subscriptions of a topic, in ARN order.
pub fn topic_subscriptions(tx: &Tx<'_>, r: &TopicRef) -> Result<Vec<Subscription>, AwsError> {
    let prefix = format!("{}:", r.arn);
    Ok(SUBSCRIPTIONS
        .scan(tx, &r.part, &prefix, None, usize::MAX)
        .map_err(db)?
        .into_iter()
        .map(|(_, s)| s)
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topic_names() {
        let cases = [
            ("alerts", false, true),
            ("a-b_C9", false, true),
            ("", false, false),
            ("has space", false, false),
            ("dot.name", false, false),
            ("orders.fifo", true, true),
            (".fifo", true, false),
            (&"x".repeat(256), false, true),
            (&"x".repeat(257), false, false),
        ];
        for (name, fifo, ok) in cases {
            assert_eq!(validate_topic_name(name, fifo).is_ok(), ok, "name={name:?}");
        }
    }

    #[test]
    fn arns() {
        let r = parse_topic_arn("arn:aws:sns:us-east-1:000000000000:alerts", "TopicArn").unwrap();
        assert_eq!(r.part, "000000000000/us-east-1");
        assert_eq!(r.name, "alerts");
        assert!(parse_topic_arn("alerts", "TopicArn").is_err());
        assert!(parse_topic_arn("arn:aws:sqs:us-east-1:000000000000:q", "TopicArn").is_err());
        let s = parse_subscription_arn(
            "arn:aws:sns:us-east-1:000000000000:alerts:0b9a3d8e-0f55-4a8e-9d57-3c1f0d0c9c11",
        )
        .unwrap();
        assert_eq!(s.name, "alerts");
        assert!(parse_subscription_arn("arn:aws:sns:us-east-1:000000000000:alerts").is_err());
    }
}
