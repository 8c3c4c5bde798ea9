//! The protocol-neutral error every handler returns.
//!
//! `code` is the error shape's name from the service model (`NotFoundException`) or a
//! generic AWS code (`ValidationError`, `AccessDenied`). The wire layer looks the shape up
//! in the model to find its wire code (query protocols use the model's `error.code`,
//! e.g. SNS `NotFound`) and HTTP status, so a handler never repeats what the model says.

use std::fmt;

/// Who is at fault for an error, as the query protocol's `<Type>` names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// The caller sent something wrong (4xx).
    Sender,
    /// The server failed (5xx).
    Receiver,
}

/// An error answered to a client.
#[derive(Debug, Clone)]
pub struct AwsError {
    /// The error shape name or generic code.
    pub code: String,
    /// The message sent to the client.
    pub message: String,
    /// HTTP status; when `None` the wire layer takes it from the model, else 400/500.
    pub status: Option<u16>,
    /// Sender or receiver fault.
    pub fault: Fault,
    /// Extra members of the error shape (e.g. S3's `BucketName`).
    pub extra: serde_json::Map<String, serde_json::Value>,
    /// The internal cause, logged by the server and never sent.
    pub cause: Option<String>,
}

impl AwsError {
    /// A sender-fault error whose status comes from the model (or 400).
    pub fn new(code: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            code: code.into(),
            message: message.into(),
            status: None,
            fault: Fault::Sender,
            extra: serde_json::Map::new(),
            cause: None,
        }
    }

    /// Sets the HTTP status explicitly.
    pub fn with_status(mut self, status: u16) -> Self {
        self.status = Some(status);
        if status >= 500 {
            self.fault = Fault::Receiver;
        }
        self
    }

    /// Adds an extra member to the error body.
    pub fn with_extra(mut self, key: &str, value: impl Into<serde_json::Value>) -> Self {
        self.extra.insert(key.to_owned(), value.into());
        self
    }

    /// A server fault with a generic message; `cause` is logged, never sent.
    pub fn internal(cause: impl fmt::Display) -> Self {
        Self {
            code: "InternalFailure".into(),
            message: "We encountered an internal error. Please try again.".into(),
            status: Some(500),
            fault: Fault::Receiver,
            extra: serde_json::Map::new(),
            cause: Some(cause.to_string()),
        }
    }

    /// An operation present in the model that has no handler yet (501).
    pub fn not_implemented(service: &str, operation: &str) -> Self {
        Self::new(
            "NotImplemented",
            format!("{service}.{operation} is not implemented by mamori yet; see docs/COVERAGE.md"),
        )
        .with_status(501)
    }

    /// A validation error naming the member, in the form query services use.
    pub fn validation(message: impl Into<String>) -> Self {
        Self::new("ValidationError", message)
    }

    /// True for 5xx errors.
    pub fn is_server_fault(&self) -> bool {
        self.fault == Fault::Receiver
    }
}

impl fmt::Display for AwsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

impl std::error::Error for AwsError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_and_fault() {
        let err = AwsError::new("NotFoundException", "no such topic");
        assert_eq!(err.status, None);
        assert_eq!(err.fault, Fault::Sender);
        let err = AwsError::internal("disk full");
        assert_eq!(err.status, Some(500));
        assert!(err.is_server_fault());
        assert!(!err.message.contains("disk"));
        assert_eq!(AwsError::not_implemented("sts", "AssumeRole").status, Some(501));
    }
}
