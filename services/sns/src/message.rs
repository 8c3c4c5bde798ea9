//! The JSON documents SNS sends to HTTP/S and email-json endpoints, following
//! <https://docs.aws.amazon.com/sns/latest/dg/sns-message-and-json-formats.html>:
//! `SubscriptionConfirmation`, `Notification` and `UnsubscribeConfirmation`, each
//! signed as [`crate::signing`] describes. Keys are written in the order AWS writes
//! them.

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

use crate::signing::{Signer, string_to_sign};

/// Where mamori serves the links it puts in messages.
#[derive(Debug, Clone)]
pub struct Links<'a> {
    /// `http://127.0.0.1:4566`, without a trailing slash.
    pub base: &'a str,
    /// The signer, for the certificate URL and the signature.
    pub signer: &'a Signer,
    /// `1` or `2`.
    pub signature_version: &'a str,
}

impl Links<'_> {
    /// The SigningCertURL.
    pub fn cert_url(&self) -> String {
        format!("{}/_mamori/sns/SimpleNotificationService-{}.pem", self.base, self.signer.key_id)
    }

    /// The SubscribeURL of a confirmation.
    pub fn subscribe_url(&self, topic_arn: &str, token: &str) -> String {
        format!("{}/?Action=ConfirmSubscription&TopicArn={topic_arn}&Token={token}", self.base)
    }

    /// The UnsubscribeURL of a notification.
    pub fn unsubscribe_url(&self, subscription_arn: &str) -> String {
        format!("{}/?Action=Unsubscribe&SubscriptionArn={subscription_arn}", self.base)
    }
}

/// A message attribute as a notification shows it (`{"Type": .., "Value": ..}`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attribute {
    /// `String`, `String.Array`, `Number`, `Binary` (with an optional `.suffix`).
    pub data_type: String,
    /// The string value, or the base64 of a binary one.
    pub value: String,
}

/// What a notification carries.
#[derive(Debug, Clone)]
pub struct Notification<'a> {
    /// The message id (the same for every subscriber and retry).
    pub message_id: &'a str,
    /// The topic.
    pub topic_arn: &'a str,
    /// The subject, if published with one.
    pub subject: Option<&'a str>,
    /// The message text for this subscriber's protocol.
    pub message: &'a str,
    /// ISO 8601 with milliseconds.
    pub timestamp: &'a str,
    /// Message attributes.
    pub attributes: &'a BTreeMap<String, Attribute>,
}

/// The signature of a notification; it does not depend on the subscription.
pub fn notification_signature(links: &Links<'_>, n: &Notification<'_>) -> String {
    let text = string_to_sign(&[
        ("Message", Some(n.message)),
        ("MessageId", Some(n.message_id)),
        ("Subject", n.subject),
        ("Timestamp", Some(n.timestamp)),
        ("TopicArn", Some(n.topic_arn)),
        ("Type", Some("Notification")),
    ]);
    links.signer.sign(links.signature_version, &text)
}

/// The body of a `Notification` to `subscription_arn`, with its `signature`.
pub fn notification(
    links: &Links<'_>,
    n: &Notification<'_>,
    subscription_arn: &str,
    signature: &str,
) -> String {
    let mut doc = Map::new();
    doc.insert("Type".into(), "Notification".into());
    doc.insert("MessageId".into(), n.message_id.into());
    doc.insert("TopicArn".into(), n.topic_arn.into());
    if let Some(subject) = n.subject {
        doc.insert("Subject".into(), subject.into());
    }
    doc.insert("Message".into(), n.message.into());
    doc.insert("Timestamp".into(), n.timestamp.into());
    doc.insert("SignatureVersion".into(), links.signature_version.into());
    doc.insert("Signature".into(), signature.into());
    doc.insert("SigningCertURL".into(), links.cert_url().into());
    doc.insert("UnsubscribeURL".into(), links.unsubscribe_url(subscription_arn).into());
    if !n.attributes.is_empty() {
        let attrs: Map<String, Value> = n
            .attributes
            .iter()
            .map(|(k, a)| (k.clone(), json!({"Type": a.data_type, "Value": a.value})))
            .collect();
        doc.insert("MessageAttributes".into(), Value::Object(attrs));
    }
    Value::Object(doc).to_string()
}

/// Which confirmation message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Confirmation {
    /// Sent on Subscribe.
    Subscribe,
    /// Sent on Unsubscribe.
    Unsubscribe,
}

impl Confirmation {
    /// The `Type` value.
    pub fn type_name(self) -> &'static str {
        match self {
            Self::Subscribe => "SubscriptionConfirmation",
            Self::Unsubscribe => "UnsubscribeConfirmation",
        }
    }
}

/// The body of a `SubscriptionConfirmation` or `UnsubscribeConfirmation`.
pub fn confirmation(
    links: &Links<'_>,
    kind: Confirmation,
    message_id: &str,
    topic_arn: &str,
    subscription_arn: &str,
    token: &str,
    timestamp: &str,
) -> String {
    let message = match kind {
        Confirmation::Subscribe => format!(
            "You have chosen to subscribe to the topic {topic_arn}.\nTo confirm the subscription, visit the SubscribeURL included in this message."
        ),
        Confirmation::Unsubscribe => format!(
            "You have chosen to deactivate subscription {subscription_arn}.\nTo cancel this operation and restore the subscription, visit the SubscribeURL included in this message."
        ),
    };
    let subscribe_url = links.subscribe_url(topic_arn, token);
    let type_name = kind.type_name();
    let text = string_to_sign(&[
        ("Message", Some(&message)),
        ("MessageId", Some(message_id)),
        ("SubscribeURL", Some(&subscribe_url)),
        ("Timestamp", Some(timestamp)),
        ("Token", Some(token)),
        ("TopicArn", Some(topic_arn)),
        ("Type", Some(type_name)),
    ]);
    json!({
        "Type": type_name,
        "MessageId": message_id,
        "Token": token,
        "TopicArn": topic_arn,
        "Message": message,
        "SubscribeURL": subscribe_url,
        "Timestamp": timestamp,
        "SignatureVersion": links.signature_version,
        "Signature": links.signer.sign(links.signature_version, &text),
        "SigningCertURL": links.cert_url(),
    })
    .to_string()
}

/// The text of a confirmation email (protocol `email`), with its link.
pub fn confirmation_email(display_name: &str, topic_arn: &str, subscribe_url: &str) -> String {
    format!(
        "You have chosen to subscribe to the topic: \n{topic_arn}\n\nTo confirm this subscription, click or visit the link below (If this was in error no action is necessary): \n{subscribe_url}\n\nPlease do not reply directly to this email. ({display_name})\n"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notification_keys_are_in_aws_order_and_subject_is_optional() {
        let signer = Signer::generate().unwrap();
        let links =
            Links { base: "http://127.0.0.1:4566", signer: &signer, signature_version: "1" };
        let attrs = BTreeMap::from([(
            "color".to_owned(),
            Attribute { data_type: "String".into(), value: "red".into() },
        )]);
        let n = Notification {
            message_id: "m-1",
            topic_arn: "arn:aws:sns:us-east-1:000000000000:t",
            subject: None,
            message: "hello",
            timestamp: "2024-01-01T00:00:00.000Z",
            attributes: &attrs,
        };
        let sig = notification_signature(&links, &n);
        let body = notification(&links, &n, "arn:aws:sns:us-east-1:000000000000:t:abc", &sig);
        let v: Map<String, Value> = serde_json::from_str(&body).unwrap();
        let keys: Vec<_> = v.keys().map(String::as_str).collect();
        assert_eq!(
            keys,
            [
                "Type",
                "MessageId",
                "TopicArn",
                "Message",
                "Timestamp",
                "SignatureVersion",
                "Signature",
                "SigningCertURL",
                "UnsubscribeURL",
                "MessageAttributes"
            ]
        );
        assert_eq!(v["MessageAttributes"]["color"], json!({"Type": "String", "Value": "red"}));
        assert_eq!(
            v["UnsubscribeURL"],
            "http://127.0.0.1:4566/?Action=Unsubscribe&SubscriptionArn=arn:aws:sns:us-east-1:000000000000:t:abc"
        );
    }
}
