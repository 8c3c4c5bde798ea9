//! CloudWatch's error shapes, per
//! <https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/CommonErrors.html>.
//! Codes are the model's shape names; the wire layer maps them to the query codes
//! (`InvalidParameterValueException` -> `InvalidParameterValue`).

use mamori_aws::AwsError;
use mamori_store::StoreError;

/// `InvalidParameterValue` (400).
pub fn invalid_value(msg: impl Into<String>) -> AwsError {
    AwsError::new("InvalidParameterValueException", msg)
}

/// `InvalidParameterCombination` (400).
pub fn invalid_combination(msg: impl Into<String>) -> AwsError {
    AwsError::new("InvalidParameterCombinationException", msg)
}

/// `MissingParameter` (400).
pub fn missing(parameter: &str) -> AwsError {
    AwsError::new(
        "MissingRequiredParameterException",
        format!("The parameter {parameter} is required."),
    )
}

/// `ResourceNotFound` (404).
pub fn not_found(msg: impl Into<String>) -> AwsError {
    AwsError::new("ResourceNotFound", msg)
}

/// `ValidationError` (400).
pub fn validation(msg: impl Into<String>) -> AwsError {
    AwsError::new("ValidationException", msg)
}

/// `InvalidNextToken` (400).
pub fn invalid_token() -> AwsError {
    AwsError::new("InvalidNextToken", "The service returned an invalid next token.")
}

/// A store failure: a server fault.
pub fn db(e: StoreError) -> AwsError {
    AwsError::internal(e)
}

/// `"The value X for parameter Y is invalid."`, AWS's wording for a bad value.
pub fn bad_value(value: impl std::fmt::Display, parameter: &str) -> AwsError {
    invalid_value(format!("The value {value} for parameter {parameter} is invalid."))
}

/// The error of a store transaction that can also fail with an answer to the client
/// (`AwsError` cannot implement `From<StoreError>` here, so this carries it).
#[derive(Debug)]
pub struct TxError(pub AwsError);

impl From<StoreError> for TxError {
    fn from(e: StoreError) -> Self {
        Self(db(e))
    }
}

impl From<AwsError> for TxError {
    fn from(e: AwsError) -> Self {
        Self(e)
    }
}

impl From<TxError> for AwsError {
    fn from(e: TxError) -> Self {
        e.0
    }
}
