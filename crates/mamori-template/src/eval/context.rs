//! What an evaluation needs from outside the template: pseudo parameters and the values of
//! created resources, following
//! <https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/pseudo-parameter-reference.html>.

use std::collections::BTreeMap;

use serde_json::Value;

/// The values of the pseudo parameters for one stack.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PseudoParameters {
    /// `AWS::AccountId`.
    pub account_id: String,
    /// `AWS::Region`.
    pub region: String,
    /// `AWS::StackName`.
    pub stack_name: String,
    /// `AWS::StackId`.
    pub stack_id: String,
    /// `AWS::Partition`.
    pub partition: String,
    /// `AWS::URLSuffix`.
    pub url_suffix: String,
    /// `AWS::NotificationARNs`.
    pub notification_arns: Vec<String>,
}

/// The pseudo parameter names, `AWS::NoValue` included.
pub const PSEUDO_PARAMETERS: &[&str] = &[
    "AWS::AccountId",
    "AWS::Region",
    "AWS::StackName",
    "AWS::StackId",
    "AWS::Partition",
    "AWS::URLSuffix",
    "AWS::NotificationARNs",
    "AWS::NoValue",
];

impl PseudoParameters {
    /// Pseudo parameters for a stack, with the partition and URL suffix derived from the
    /// region and a placeholder stack id (the service sets the real one).
    pub fn new(account_id: &str, region: &str, stack_name: &str) -> Self {
        let (partition, url_suffix) = if region.starts_with("cn-") {
            ("aws-cn", "amazonaws.com.cn")
        } else if region.starts_with("us-gov-") {
            ("aws-us-gov", "amazonaws.com")
        } else {
            ("aws", "amazonaws.com")
        };
        Self {
            account_id: account_id.to_owned(),
            region: region.to_owned(),
            stack_name: stack_name.to_owned(),
            stack_id: format!(
                "arn:{partition}:cloudformation:{region}:{account_id}:stack/{stack_name}/00000000-0000-0000-0000-000000000000"
            ),
            partition: partition.to_owned(),
            url_suffix: url_suffix.to_owned(),
            notification_arns: Vec::new(),
        }
    }

    /// The value of a pseudo parameter; `None` for `AWS::NoValue` and unknown names.
    pub fn get(&self, name: &str) -> Option<Value> {
        let s = |v: &str| Some(Value::String(v.to_owned()));
        match name {
            "AWS::AccountId" => s(&self.account_id),
            "AWS::Region" => s(&self.region),
            "AWS::StackName" => s(&self.stack_name),
            "AWS::StackId" => s(&self.stack_id),
            "AWS::Partition" => s(&self.partition),
            "AWS::URLSuffix" => s(&self.url_suffix),
            "AWS::NotificationARNs" => {
                Some(self.notification_arns.iter().cloned().map(Value::String).collect())
            }
            _ => None,
        }
    }
}

/// Supplies what only the running service knows: physical ids and attributes of the
/// resources created so far, exports of other stacks, and Availability Zones.
pub trait Resolver {
    /// What `Ref` returns for a created resource (its physical id, or an ARN for some types).
    fn physical_id(&self, logical_id: &str) -> Option<Value>;

    /// What `Fn::GetAtt` returns for a created resource's attribute.
    fn attribute(&self, logical_id: &str, attribute: &str) -> Option<Value>;

    /// The value exported under `name` by another stack (`Fn::ImportValue`).
    fn import_value(&self, name: &str) -> Option<Value> {
        let _ = name;
        None
    }

    /// The Availability Zones of `region` (`Fn::GetAZs`): `<region>a`, `b` and `c` unless
    /// the service knows better.
    fn availability_zones(&self, region: &str) -> Vec<String> {
        ["a", "b", "c"].iter().map(|z| format!("{region}{z}")).collect()
    }
}

/// A [`Resolver`] over maps, for tests and for services that collect values as they go.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MapResolver {
    /// `Ref` values by logical id.
    pub physical_ids: BTreeMap<String, Value>,
    /// `Fn::GetAtt` values by (logical id, attribute).
    pub attributes: BTreeMap<(String, String), Value>,
    /// Exports by name.
    pub exports: BTreeMap<String, Value>,
    /// Availability Zones by region; absent regions get the default three.
    pub zones: BTreeMap<String, Vec<String>>,
}

impl Resolver for MapResolver {
    fn physical_id(&self, logical_id: &str) -> Option<Value> {
        self.physical_ids.get(logical_id).cloned()
    }

    fn attribute(&self, logical_id: &str, attribute: &str) -> Option<Value> {
        self.attributes.get(&(logical_id.to_owned(), attribute.to_owned())).cloned()
    }

    fn import_value(&self, name: &str) -> Option<Value> {
        self.exports.get(name).cloned()
    }

    fn availability_zones(&self, region: &str) -> Vec<String> {
        match self.zones.get(region) {
            Some(z) => z.clone(),
            None => ["a", "b", "c"].iter().map(|z| format!("{region}{z}")).collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partitions_follow_the_region() {
        let cases = [
            ("us-east-1", "aws", "amazonaws.com"),
            ("cn-north-1", "aws-cn", "amazonaws.com.cn"),
            ("us-gov-west-1", "aws-us-gov", "amazonaws.com"),
        ];
        for (region, partition, suffix) in cases {
            let p = PseudoParameters::new("123456789012", region, "s");
            assert_eq!(
                (p.partition.as_str(), p.url_suffix.as_str()),
                (partition, suffix),
                "{region}"
            );
            assert!(p.stack_id.starts_with(&format!(
                "arn:{partition}:cloudformation:{region}:123456789012:stack/s/"
            )));
        }
        let p = PseudoParameters::new("1", "eu-west-1", "s");
        assert_eq!(p.get("AWS::NotificationARNs"), Some(serde_json::json!([])));
        assert_eq!(p.get("AWS::NoValue"), None);
        assert_eq!(
            MapResolver::default().availability_zones("eu-west-1"),
            ["eu-west-1a", "eu-west-1b", "eu-west-1c"]
        );
    }
}
