//! AWS Security Token Service, following
//! <https://docs.aws.amazon.com/STS/latest/APIReference/welcome.html>.
//!
//! Today it answers who the caller is; AssumeRole and session credentials come with IAM.

use mamori_aws::AwsError;
use mamori_service::{AuthzRequest, Context, OpSpec, Service, async_trait, to_output};
use serde::Serialize;
use serde_json::Value;

/// The STS service.
#[derive(Debug, Default)]
pub struct Sts;

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct GetCallerIdentityResponse<'a> {
    user_id: &'a str,
    account: &'a str,
    arn: &'a str,
}

const OPS: &[OpSpec] = &[OpSpec { name: "GetCallerIdentity", gaps: &[] }];

#[async_trait]
impl Service for Sts {
    fn model_id(&self) -> &'static str {
        "sts"
    }

    fn operations(&self) -> &'static [OpSpec] {
        OPS
    }

    fn authz(&self, _: &Context, operation: &str, _: &Value) -> AuthzRequest {
        AuthzRequest { action: format!("sts:{operation}"), resources: vec!["*".into()] }
    }

    async fn call(&self, ctx: &Context, operation: &str, _input: Value) -> Result<Value, AwsError> {
        match operation {
            "GetCallerIdentity" => get_caller_identity(ctx),
            other => Err(AwsError::not_implemented("sts", other)),
        }
    }
}

/// Implements `GetCallerIdentity`: the caller's user id, account and ARN.
fn get_caller_identity(ctx: &Context) -> Result<Value, AwsError> {
    let p = &ctx.principal;
    to_output(&GetCallerIdentityResponse {
        user_id: &p.user_id,
        account: p.account.as_str(),
        arn: &p.arn,
    })
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use mamori_aws::{AccountId, Region};
    use mamori_service::{Dispatcher, Principal, RealClock, RootCredentials};
    use serde_json::json;

    use super::*;

    #[tokio::test]
    async fn root_identity() {
        let account = AccountId::parse("000000000000").unwrap();
        let creds = RootCredentials {
            access_key_id: "test".into(),
            secret: "test".into(),
            account: account.clone(),
        };
        let store = mamori_store::Store::in_memory().unwrap();
        let d = Dispatcher::new(vec![Arc::new(Sts)], Arc::new(creds), Arc::new(RealClock), store);
        let region = Region::parse("us-east-1").unwrap();
        let ctx = Context::internal(d.clone(), Principal::root(account.clone()), account, region);
        let got = d.call(&ctx, "sts", "GetCallerIdentity", json!({})).await.unwrap();
        assert_eq!(
            got,
            json!({"UserId": "000000000000", "Account": "000000000000", "Arn": "arn:aws:iam::000000000000:root"})
        );
    }
}
