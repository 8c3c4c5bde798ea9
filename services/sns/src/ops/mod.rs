//! The SNS operations by family, and what they share: turning a message for one
//! subscription into a queued HTTP delivery or an outbox email.

pub mod publish;
pub mod subscriptions;
pub mod topics;

use mamori_aws::AwsError;
use mamori_service::Context;
use mamori_store::Tx;

use crate::Sns;
use crate::delivery::Delivery;
use crate::delivery_policy;
use crate::message::{self, Confirmation, Links};
use crate::state::{OUTBOX, OUTBOX_PART, OutboxEntry, Subscription, Topic};

/// Something to send, decided before the transaction that accepts it.
#[derive(Debug)]
pub enum Outgoing {
    /// An HTTP/S POST through the delivery queue.
    Http(Delivery),
    /// An email, kept in the outbox.
    Email(OutboxEntry),
}

/// Writes `outgoing` in the caller's transaction.
pub fn write_outgoing(
    sns: &Sns,
    tx: &Tx<'_>,
    outgoing: &[Outgoing],
    ts: i64,
) -> Result<(), AwsError> {
    for o in outgoing {
        match o {
            Outgoing::Http(d) => sns.deliverer.enqueue(tx, std::slice::from_ref(d))?,
            Outgoing::Email(e) => {
                // Every email is kept in the outbox, and also sent when --smtp-url names
                // a relay (after the commit, see after_commit).
                OUTBOX.append(tx, OUTBOX_PART, OUTBOX_PART, ts, e).map_err(crate::state::db)?;
            }
        }
    }
    Ok(())
}

/// After the commit: starts the HTTP deliveries and logs the emails.
pub fn after_commit(sns: &Sns, ctx: &Context, outgoing: Vec<Outgoing>) {
    let mut http = Vec::new();
    for o in outgoing {
        match o {
            Outgoing::Http(d) => http.push(d),
            Outgoing::Email(e) => match &sns.smtp {
                None => tracing::info!(
                    to = %e.to, subject = %e.subject, kind = %e.message_type, sub = %e.subscription_arn,
                    "email kept in the outbox (no SMTP relay)"
                ),
                Some(relay) => {
                    let relay = relay.clone();
                    let date = ctx.time.to_rfc2822();
                    tokio::spawn(async move {
                        let mail = crate::smtp::Mail {
                            from_name: &e.sender_name,
                            to: &e.to,
                            subject: &e.subject,
                            body: &e.body,
                        };
                        let id = uuid::Uuid::new_v4().to_string();
                        match crate::smtp::send(&relay, &mail, &date, &id).await {
                            Ok(()) => {
                                tracing::info!(to = %e.to, subject = %e.subject, kind = %e.message_type, "email sent")
                            }
                            Err(why) => {
                                tracing::warn!(to = %e.to, sub = %e.subscription_arn, error = %why, "email not sent; it stays in the outbox")
                            }
                        }
                    });
                }
            },
        }
    }
    if !http.is_empty() {
        sns.deliverer.start(&ctx.dispatcher, http);
    }
}

/// The topic's SignatureVersion (1 unless set to 2).
pub fn signature_version(topic: &Topic) -> &str {
    match topic.attributes.get("SignatureVersion").map(String::as_str) {
        Some("2") => "2",
        _ => "1",
    }
}

/// An HTTP delivery of `body` to `sub`, due now, under the effective delivery policy.
pub fn http_delivery(
    ctx: &Context,
    topic: &Topic,
    sub: &Subscription,
    message_type: &str,
    message_id: &str,
    body: String,
    raw: bool,
) -> Delivery {
    let (policy, content_type) = delivery_policy::effective(
        topic.attributes.get("DeliveryPolicy").map(String::as_str),
        sub.attributes.get("DeliveryPolicy").map(String::as_str),
    );
    Delivery {
        id: uuid::Uuid::new_v4().to_string(),
        subscription_arn: sub.arn.clone(),
        topic_arn: topic.arn.clone(),
        protocol: sub.protocol.clone(),
        endpoint: sub.endpoint.clone(),
        message_type: message_type.to_owned(),
        message_id: message_id.to_owned(),
        raw,
        content_type,
        body,
        attempts: 0,
        policy,
        due_ms: ctx.time.timestamp_millis(),
    }
}

/// The confirmation (or unsubscribe confirmation) for `sub`.
pub fn confirmation(
    sns: &Sns,
    ctx: &Context,
    topic: &Topic,
    sub: &Subscription,
    kind: Confirmation,
    token: &str,
) -> Result<Outgoing, AwsError> {
    let signer = sns.signer(ctx.dispatcher.store())?;
    let links =
        Links { base: &sns.base_url, signer: &signer, signature_version: signature_version(topic) };
    let message_id = uuid::Uuid::new_v4().to_string();
    let timestamp = mamori_aws::timestamp_iso8601(ctx.time);
    let doc =
        message::confirmation(&links, kind, &message_id, &topic.arn, &sub.arn, token, &timestamp);
    Ok(match sub.protocol.as_str() {
        "http" | "https" => Outgoing::Http(http_delivery(
            ctx,
            topic,
            sub,
            kind.type_name(),
            &message_id,
            doc,
            false,
        )),
        _ => {
            let (subject, body) = if sub.protocol == "email-json" {
                (confirmation_subject(kind), doc)
            } else {
                let display = sender_name(topic);
                let url = links.subscribe_url(&topic.arn, token);
                (
                    confirmation_subject(kind),
                    message::confirmation_email(&display, &topic.arn, &url),
                )
            };
            Outgoing::Email(OutboxEntry {
                sender_name: sender_name(topic),
                to: sub.endpoint.clone(),
                protocol: sub.protocol.clone(),
                subject: subject.to_owned(),
                body,
                message_type: kind.type_name().to_owned(),
                topic_arn: topic.arn.clone(),
                subscription_arn: sub.arn.clone(),
                timestamp,
            })
        }
    })
}

/// The sender's display name of a topic's emails.
pub fn sender_name(topic: &Topic) -> String {
    topic.attributes.get("DisplayName").filter(|d| !d.is_empty()).unwrap_or(&topic.name).clone()
}

fn confirmation_subject(kind: Confirmation) -> &'static str {
    match kind {
        Confirmation::Subscribe => "AWS Notification - Subscription Confirmation",
        Confirmation::Unsubscribe => "AWS Notification - Unsubscribe Confirmation",
    }
}
