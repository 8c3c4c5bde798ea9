//! S3 Control's account-level public access block (model `s3control`), following
//! <https://docs.aws.amazon.com/AmazonS3/latest/API/API_control_GetPublicAccessBlock.html>,
//! `PutPublicAccessBlock`, `DeletePublicAccessBlock` and
//! <https://docs.aws.amazon.com/AmazonS3/latest/userguide/configuring-block-public-access-account.html>.
//!
//! S3 Control signs as `s3`; the wire layer tells its requests from S3's by their
//! `/v20180820/` path and `x-amz-account-id` header. The configuration lives in
//! `s3.account-public-access-block` (see `state.rs`), where S3's enforcement reads it
//! together with each bucket's own (`Bucket::pab`).

use mamori_aws::AwsError;
use mamori_service::{AuthzRequest, Context, OpSpec, Service, async_trait};
use serde_json::{Value, json};

use crate::state::{ACCOUNT_PABS, BUCKET_PARTITION, db, malformed_xml};

/// The S3 Control service (account-level public access block only).
#[derive(Debug, Default)]
pub struct S3Control;

const OPS: &[OpSpec] = &[
    OpSpec {
        name: "PutPublicAccessBlock",
        gaps: &["IgnorePublicAcls has nothing to ignore: ACLs grant no access in mamori"],
    },
    OpSpec { name: "GetPublicAccessBlock", gaps: &[] },
    OpSpec { name: "DeletePublicAccessBlock", gaps: &[] },
];

#[async_trait]
impl Service for S3Control {
    fn model_id(&self) -> &'static str {
        "s3control"
    }

    fn operations(&self) -> &'static [OpSpec] {
        OPS
    }

    /// The IAM actions of the account-level operations (Delete needs the Put action), on
    /// `*`: the service authorization reference lists no resource for them.
    fn authz(&self, _ctx: &Context, operation: &str, _input: &Value) -> AuthzRequest {
        AuthzRequest::new(action(operation), vec!["*".into()])
    }

    async fn call(&self, ctx: &Context, operation: &str, input: Value) -> Result<Value, AwsError> {
        let account = input.get("AccountId").and_then(Value::as_str).unwrap_or_default();
        // An account manages only its own block (another account id is refused, as AWS does).
        if account != ctx.account.as_str() {
            return Err(AwsError::new("AccessDenied", "Access Denied").with_status(403));
        }
        let store = ctx.dispatcher.store();
        match operation {
            "GetPublicAccessBlock" => {
                let conf = crate::state::read(store, |tx| crate::state::account_pab(tx, account))?;
                conf.map(|c| json!({"PublicAccessBlockConfiguration": c})).ok_or_else(|| {
                    AwsError::new(
                        "NoSuchPublicAccessBlockConfiguration",
                        "The public access block configuration was not found",
                    )
                    .with_extra("AccountId", account)
                })
            }
            "PutPublicAccessBlock" => {
                let conf = input
                    .get("PublicAccessBlockConfiguration")
                    .map(crate::state::complete_pab)
                    .ok_or_else(malformed_xml)?;
                crate::state::write(store, |tx| {
                    ACCOUNT_PABS.put(tx, BUCKET_PARTITION, account, &conf).map_err(db)
                })?;
                tracing::info!(target: "s3", account, conf = %conf, "account public access block set");
                Ok(json!({}))
            }
            "DeletePublicAccessBlock" => {
                crate::state::write(store, |tx| {
                    ACCOUNT_PABS.delete(tx, BUCKET_PARTITION, account).map_err(db)
                })?;
                tracing::info!(target: "s3", account, "account public access block deleted");
                Ok(json!({}))
            }
            other => Err(AwsError::not_implemented("s3control", other)),
        }
    }
}

/// The IAM action of an operation.
fn action(operation: &str) -> String {
    match operation {
        "GetPublicAccessBlock" => "s3:GetAccountPublicAccessBlock".into(),
        "PutPublicAccessBlock" | "DeletePublicAccessBlock" => {
            "s3:PutAccountPublicAccessBlock".into()
        }
        other => format!("s3:{other}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn actions() {
        let cases = [
            ("GetPublicAccessBlock", "s3:GetAccountPublicAccessBlock"),
            ("PutPublicAccessBlock", "s3:PutAccountPublicAccessBlock"),
            ("DeletePublicAccessBlock", "s3:PutAccountPublicAccessBlock"),
        ];
        for (op, want) in cases {
            assert_eq!(action(op), want, "{op}");
        }
    }
}
