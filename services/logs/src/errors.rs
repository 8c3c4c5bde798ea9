//! The CloudWatch Logs errors handlers return, with AWS's message texts, as listed in
//! <https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/CommonErrors.html>
//! and each operation's Errors section.

use mamori_aws::AwsError;

/// `InvalidParameterException` with `msg`.
pub fn invalid(msg: impl Into<String>) -> AwsError {
    AwsError::new("InvalidParameterException", msg)
}

/// The group named in the call does not exist.
pub fn group_not_found() -> AwsError {
    AwsError::new("ResourceNotFoundException", "The specified log group does not exist.")
}

/// The stream named in the call does not exist.
pub fn stream_not_found() -> AwsError {
    AwsError::new("ResourceNotFoundException", "The specified log stream does not exist.")
}

/// The resource to create exists already.
pub fn already_exists(what: &str) -> AwsError {
    AwsError::new("ResourceAlreadyExistsException", format!("The specified {what} already exists"))
}

/// A per-resource quota is reached.
pub fn limit_exceeded(msg: impl Into<String>) -> AwsError {
    AwsError::new("LimitExceededException", msg)
}

/// The error of a store transaction in a handler: an AWS error, or a store failure
/// turned into a 500. It exists because `Store::write` needs an error type that a
/// `StoreError` converts into.
#[derive(Debug)]
pub struct Fail(pub AwsError);

impl From<mamori_store::StoreError> for Fail {
    fn from(e: mamori_store::StoreError) -> Self {
        Fail(AwsError::internal(e))
    }
}

impl From<AwsError> for Fail {
    fn from(e: AwsError) -> Self {
        Fail(e)
    }
}

/// Runs `f` in a write transaction of `store`.
pub fn write<T>(
    store: &mamori_store::Store,
    f: impl FnOnce(&mamori_store::Tx<'_>) -> Result<T, Fail>,
) -> Result<T, AwsError> {
    store.write(f).map_err(|e| e.0)
}

/// Runs `f` in a read transaction of `store`.
pub fn read<T>(
    store: &mamori_store::Store,
    f: impl FnOnce(&mamori_store::Tx<'_>) -> Result<T, Fail>,
) -> Result<T, AwsError> {
    store.read(f).map_err(|e| e.0)
}
