//! The audit record every completed call produces, for CloudTrail to turn into events.

use std::future::{Future, IntoFuture};
use std::pin::Pin;

use chrono::{DateTime, Utc};
use mamori_aws::{AccountId, Region};
use serde_json::Value;

use crate::Principal;

/// Resolves once a sink keeps a record (see [`AuditSink::record`]).
#[must_use = "the record may not be stored yet: await this before answering the call"]
pub struct Kept<'a>(Pin<Box<dyn Future<Output = ()> + Send + 'a>>);

impl<'a> Kept<'a> {
    /// Kept already: nothing to wait for (a boxed `Ready<()>` allocates nothing).
    pub fn now() -> Self {
        Self(Box::pin(std::future::ready(())))
    }

    /// Kept once `until` resolves.
    pub fn when(until: impl Future<Output = ()> + Send + 'a) -> Self {
        Self(Box::pin(until))
    }
}

impl<'a> IntoFuture for Kept<'a> {
    type Output = ();
    type IntoFuture = Pin<Box<dyn Future<Output = ()> + Send + 'a>>;

    fn into_future(self) -> Self::IntoFuture {
        self.0
    }
}

/// One completed call, success or failure, borrowed from the call while the sinks see it
/// (a sink that keeps a record copies what it keeps).
#[derive(Debug, Clone, Copy)]
pub struct AuditRecord<'a> {
    /// The model id of the service (`logs`).
    pub service: &'static str,
    /// The operation (`PutMetricFilter`).
    pub operation: &'a str,
    /// The caller.
    pub principal: &'a Principal,
    /// The account acted on.
    pub account: &'a AccountId,
    /// The region of the call.
    pub region: &'a Region,
    /// The caller's address.
    pub source_ip: &'a str,
    /// The caller's User-Agent.
    pub user_agent: &'a str,
    /// The request id.
    pub request_id: &'a str,
    /// When the call arrived.
    pub time: DateTime<Utc>,
    /// The sink's capture of the decoded input (secrets included: the sink redacts as
    /// CloudTrail does).
    pub input: &'a Value,
    /// The output, on success: the call's own answer, not a copy.
    pub output: Option<&'a Value>,
    /// The error code and message, on failure.
    pub error: Option<(&'a str, &'a str)>,
    /// The service that made the call on the caller's behalf.
    pub invoked_by: Option<&'a str>,
    /// Whether the call came from inside mamori.
    pub internal: bool,
}

/// Receives audit records. Sinks must be quick: they run on the request path.
pub trait AuditSink: Send + Sync {
    /// Whether the sink records this call; when no sink does, the dispatcher skips
    /// building the record (and copying the call's input) at all.
    fn wants(&self, ctx: &crate::Context, service: &str, operation: &str) -> bool {
        let _ = (ctx, service, operation);
        true
    }

    /// The copy of a call's input the record keeps (the handler consumes the input; the
    /// output is lent as it is). A sink can leave out what it never records, such as
    /// object bodies, so a large upload is not copied for the audit record.
    fn capture(&self, service: &str, operation: &str, value: &Value) -> Value {
        let _ = (service, operation);
        value.clone()
    }

    /// Records one call, before the caller sees its answer. The caller awaits what this
    /// returns before answering: a sink that stores records in the background resolves
    /// it once the record is where a crash cannot lose it, for the records it promises
    /// that of (CloudTrail's recorder: calls that change something or fail, on disk);
    /// [`Kept::now`] when there is nothing to wait for.
    fn record(&self, record: &AuditRecord<'_>) -> Kept<'_>;

    /// Resolves once every record handed over before the call is stored, for sinks that
    /// write in the background. The manual clock flushes before it moves, so scheduled
    /// work sees every call made before the advance.
    fn flush(&self) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send + '_>> {
        Box::pin(async {})
    }
}
