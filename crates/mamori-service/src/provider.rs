//! Resource providers: how CloudFormation creates, updates and deletes the resources of
//! other services without depending on their crates, following the resource type
//! reference <https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-template-resource-type-ref.html>.
//!
//! A service that owns resource types returns its providers from
//! [`crate::Service::resource_providers`]; the [`crate::Dispatcher`] collects them by type
//! and CloudFormation finds one with [`crate::Dispatcher::resource_provider`]. A provider
//! acts by calling its own service's public operations through the dispatcher with the
//! context CloudFormation hands it (the stack caller's principal, `invoked_by`
//! `cloudformation.amazonaws.com`, see [`crate::Context::on_behalf`]), so authorization,
//! validation, audit and side effects are exactly those of a direct call.

use std::collections::BTreeMap;

use async_trait::async_trait;
use mamori_aws::AwsError;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::Context;

/// One resource of a stack as CloudFormation asks a provider to act on it.
#[derive(Debug, Clone, PartialEq)]
pub struct ResourceRequest {
    /// The resource type (`AWS::SNS::Topic`).
    pub type_name: String,
    /// The logical id in the template.
    pub logical_id: String,
    /// The stack's name, for generated physical names (`<stack>-<logical id>-<suffix>`).
    pub stack_name: String,
    /// The properties, fully resolved to plain JSON (an empty map when none).
    pub properties: Map<String, Value>,
}

/// What CloudFormation stores for a created resource.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ResourceState {
    /// The physical id, which is also what `Ref` returns (an ARN for a topic, a name for a
    /// log group).
    pub physical_id: String,
    /// The `Fn::GetAtt` attributes by name.
    #[serde(default)]
    pub attributes: BTreeMap<String, Value>,
}

/// Creates, updates and deletes the resources of some types through the owning service.
#[async_trait]
pub trait ResourceProvider: Send + Sync + 'static {
    /// The resource types this provider handles.
    fn types(&self) -> &'static [&'static str];

    /// True when changing `old` properties to `new` needs a new physical resource ("Update
    /// requires: Replacement" in the resource reference). The default compares
    /// [`ResourceProvider::replacement_properties`].
    fn requires_replacement(&self, type_name: &str, old: &Value, new: &Value) -> bool {
        self.replacement_properties(type_name).iter().any(|p| old.get(p) != new.get(p))
    }

    /// The properties whose change needs a replacement.
    fn replacement_properties(&self, type_name: &str) -> &'static [&'static str] {
        let _ = type_name;
        &[]
    }

    /// What the provider does not do yet for `type_name`, one line each (for
    /// docs/COVERAGE.md).
    fn gaps(&self, type_name: &str) -> &'static [&'static str] {
        let _ = type_name;
        &[]
    }

    /// Creates the resource and returns its physical id and attributes.
    async fn create(&self, ctx: &Context, req: &ResourceRequest)
    -> Result<ResourceState, AwsError>;

    /// Brings an existing resource (`previous`, created from `old`) to `req.properties` in
    /// place. Only called when [`ResourceProvider::requires_replacement`] is false.
    async fn update(
        &self,
        ctx: &Context,
        req: &ResourceRequest,
        old: &Map<String, Value>,
        previous: &ResourceState,
    ) -> Result<ResourceState, AwsError>;

    /// Deletes the resource; `req.properties` are those it was last deployed with. A
    /// resource that is already gone is not an error.
    async fn delete(
        &self,
        ctx: &Context,
        req: &ResourceRequest,
        state: &ResourceState,
    ) -> Result<(), AwsError>;
}

/// Builds a physical name the way CloudFormation does for resources without an explicit
/// name: `<stack>-<logical id>-<12 random uppercase alphanumerics>`, cut to `max` bytes.
pub fn generated_name(stack_name: &str, logical_id: &str, max: usize) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    let bytes = uuid::Uuid::new_v4().into_bytes();
    let suffix: String =
        bytes.iter().take(12).map(|b| ALPHABET[*b as usize % ALPHABET.len()] as char).collect();
    let mut head = format!("{stack_name}-{logical_id}");
    let room = max.saturating_sub(suffix.len() + 1);
    if head.len() > room {
        let mut cut = room;
        while !head.is_char_boundary(cut) {
            cut -= 1;
        }
        head.truncate(cut);
    }
    format!("{head}-{suffix}")
}

/// A property as a string, accepting numbers and booleans as CloudFormation passes them.
pub fn prop_str(props: &Map<String, Value>, name: &str) -> Option<String> {
    match props.get(name)? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// A property as a number, accepting numeric strings (`'1'`), which templates often hold.
pub fn prop_f64(props: &Map<String, Value>, name: &str) -> Option<f64> {
    match props.get(name)? {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// A property as a boolean, accepting `"true"`/`"false"`.
pub fn prop_bool(props: &Map<String, Value>, name: &str) -> Option<bool> {
    match props.get(name)? {
        Value::Bool(b) => Some(*b),
        Value::String(s) if s.eq_ignore_ascii_case("true") => Some(true),
        Value::String(s) if s.eq_ignore_ascii_case("false") => Some(false),
        _ => None,
    }
}

/// A property that is a JSON document (an IAM policy given as an object) as the string an
/// API takes; a string is passed through.
pub fn prop_document(props: &Map<String, Value>, name: &str) -> Option<String> {
    match props.get(name)? {
        Value::String(s) => Some(s.clone()),
        Value::Null => None,
        other => Some(other.to_string()),
    }
}

/// The error for a required property the template left out, in CloudFormation's words.
pub fn missing_property(req: &ResourceRequest, name: &str) -> AwsError {
    AwsError::new(
        "ValidationError",
        format!("Properties validation failed for resource {} with message: #: required key [{name}] not found", req.logical_id),
    )
    .with_status(400)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn generated_names_fit_and_keep_their_prefix() {
        let cases = [("stack", "Topic", 256), ("a-very-long-stack-name", "LogicalIdentifier", 30)];
        for (stack, logical, max) in cases {
            let name = generated_name(stack, logical, max);
            assert!(name.len() <= max, "{name}");
            assert!(name.starts_with(&format!("{stack}-")[..6.min(stack.len() + 1)]), "{name}");
            assert_eq!(name.rsplit('-').next().map(str::len), Some(12), "{name}");
        }
    }

    #[test]
    fn properties_coerce_as_cloudformation_passes_them() {
        let props = json!({"n": "5", "b": "true", "d": {"Version": "2012-10-17"}, "s": 7});
        let props = props.as_object().unwrap();
        assert_eq!(prop_f64(props, "n"), Some(5.0));
        assert_eq!(prop_bool(props, "b"), Some(true));
        assert_eq!(prop_document(props, "d").as_deref(), Some(r#"{"Version":"2012-10-17"}"#));
        assert_eq!(prop_str(props, "s").as_deref(), Some("7"));
        assert_eq!(prop_str(props, "missing"), None);
    }
}
