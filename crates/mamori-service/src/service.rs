//! The `Service` trait each service crate implements.

use async_trait::async_trait;
use mamori_aws::AwsError;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use std::sync::Arc;

use crate::{AuthzRequest, Context, ResourceProvider};

/// An operation a service implements, with its known gaps (for docs/COVERAGE.md).
#[derive(Debug, Clone, Copy)]
pub struct OpSpec {
    /// The operation name as in the model.
    pub name: &'static str,
    /// What this handler does not do yet, one line each.
    pub gaps: &'static [&'static str],
}

/// A service: the operations of one model.
#[async_trait]
pub trait Service: Send + Sync + 'static {
    /// The model id (`sts`, `logs`, `cloudwatch`).
    fn model_id(&self) -> &'static str;

    /// The operations with handlers; any other operation of the model answers 501.
    fn operations(&self) -> &'static [OpSpec];

    /// The IAM action, resources and condition keys of a call, for the authorization
    /// hook. The default is `<signing prefix>:<Operation>` on `*`.
    fn authz(&self, ctx: &Context, operation: &str, input: &Value) -> AuthzRequest {
        let _ = (ctx, input);
        AuthzRequest::new(format!("{}:{operation}", self.model_id()), vec!["*".into()])
    }

    /// The resource-based policy (JSON) that bears on a call, for the authorization hook:
    /// an SNS topic policy, an S3 bucket policy. The default is none, which leaves the
    /// decision to identity-based policies.
    fn resource_policy(&self, ctx: &Context, operation: &str, input: &Value) -> Option<String> {
        let _ = (ctx, operation, input);
        None
    }

    /// Handles one call.
    async fn call(&self, ctx: &Context, operation: &str, input: Value) -> Result<Value, AwsError>;

    /// The CloudFormation resource providers of this service's resource types (see
    /// [`ResourceProvider`]); the dispatcher collects them. The default is none.
    fn resource_providers(&self) -> Vec<Arc<dyn ResourceProvider>> {
        Vec::new()
    }

    /// Drops in-memory state after `POST /_mamori/reset` cleared the store.
    fn reset(&self) {}
}

/// Deserializes a neutral input into a handler's input struct. The wire layer has
/// already checked types and required members, so a failure here is a handler bug.
pub fn parse_input<T: DeserializeOwned>(input: Value) -> Result<T, AwsError> {
    serde_json::from_value(input)
        .map_err(|e| AwsError::new("ValidationException", format!("invalid input: {e}")))
}

/// Serializes a handler's output struct into the neutral form.
pub fn to_output<T: Serialize>(output: &T) -> Result<Value, AwsError> {
    serde_json::to_value(output).map_err(AwsError::internal)
}
