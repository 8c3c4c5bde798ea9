//! Error helpers shared by CloudTrail's handlers.

use mamori_aws::AwsError;
use mamori_store::StoreError;

/// A store failure, answered as a server fault.
pub fn db(err: StoreError) -> AwsError {
    AwsError::internal(err)
}

/// `TrailNotFoundException` in AWS's words.
pub fn trail_not_found(name: &str, account: &str) -> AwsError {
    AwsError::new(
        "TrailNotFoundException",
        format!("Unknown trail: {name} for the user: {account}"),
    )
}
