//! The SNS error shapes of the model, with AWS's message forms
//! (<https://docs.aws.amazon.com/sns/latest/api/CommonErrors.html>).

use mamori_aws::AwsError;

/// `InvalidParameter`: "Invalid parameter: <what>".
pub fn invalid_parameter(what: &str) -> AwsError {
    AwsError::new("InvalidParameterException", format!("Invalid parameter: {what}"))
}

/// `ParameterValueInvalid`.
pub fn invalid_parameter_value(msg: impl Into<String>) -> AwsError {
    AwsError::new("InvalidParameterValueException", msg)
}

/// `NotFound`.
pub fn not_found(msg: &str) -> AwsError {
    AwsError::new("NotFoundException", msg)
}

/// `AuthorizationError`.
pub fn authorization_error(msg: impl Into<String>) -> AwsError {
    AwsError::new("AuthorizationErrorException", msg)
}
