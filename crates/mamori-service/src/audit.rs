//! The audit record every completed call produces, for CloudTrail to turn into events.

use chrono::{DateTime, Utc};
use mamori_aws::{AccountId, Region};
use serde_json::Value;

use crate::Principal;

/// One completed call, success or failure.
#[derive(Debug, Clone)]
pub struct AuditRecord {
    /// The model id of the service (`logs`).
    pub service: &'static str,
    /// The operation (`PutMetricFilter`).
    pub operation: String,
    /// The caller.
    pub principal: Principal,
    /// The account acted on.
    pub account: AccountId,
    /// The region of the call.
    pub region: Region,
    /// The caller's address.
    pub source_ip: String,
    /// The caller's User-Agent.
    pub user_agent: String,
    /// The request id.
    pub request_id: String,
    /// When the call arrived.
    pub time: DateTime<Utc>,
    /// The decoded input (secrets included: the sink redacts as CloudTrail does).
    pub input: Value,
    /// The output, on success.
    pub output: Option<Value>,
    /// The error code and message, on failure.
    pub error: Option<(String, String)>,
    /// The service that made the call on the caller's behalf.
    pub invoked_by: Option<String>,
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

    /// The copy of a call's input or output the record keeps (the handler consumes the
    /// input). A sink can leave out what it never records, such as object bodies, so a
    /// large upload is not copied for the audit record.
    fn capture(&self, service: &str, operation: &str, value: &Value) -> Value {
        let _ = (service, operation);
        value.clone()
    }

    /// Records one call.
    fn record(&self, record: &std::sync::Arc<AuditRecord>);

    /// Resolves once every record handed over before the call is stored, for sinks that
    /// write in the background. The manual clock flushes before it moves, so scheduled
    /// work sees every call made before the advance.
    fn flush(&self) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send + '_>> {
        Box::pin(async {})
    }
}
