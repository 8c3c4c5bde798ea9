//! The AWS managed policies that common templates attach, with the names and ARNs AWS
//! gives them (<https://docs.aws.amazon.com/aws-managed-policy/latest/reference/policy-list.html>).
//!
//! Documents follow the AWS reference pages, reduced where the real policy names services
//! mamori does not serve. `ReadOnlyAccess` is `Describe*`, `Get*` and `List*` (plus a few
//! read verbs) of the services mamori serves, not AWS's list of several thousand actions.
//! Policy ids are derived from the name (stable, `ANPA` + 17 characters); AWS's real ids
//! differ.
// GAP: AWS managed policies are fixed data at version v1; AWS's own version history and
// the several hundred other managed policies are absent (attaching one is NoSuchEntity).

use std::sync::OnceLock;

use mamori_policy::{Policy, PolicyKind};

/// One AWS managed policy.
#[derive(Debug)]
pub struct AwsPolicy {
    /// `AdministratorAccess`.
    pub name: &'static str,
    /// `/` or `/service-role/`.
    pub path: &'static str,
    /// Description.
    pub description: &'static str,
    /// The v1 document.
    pub document: &'static str,
}

impl AwsPolicy {
    /// `arn:aws:iam::aws:policy/<path><name>`.
    pub fn arn(&self) -> String {
        format!("arn:aws:iam::aws:policy{}{}", self.path, self.name)
    }

    /// A stable id in IAM's form.
    pub fn id(&self) -> String {
        const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
        // FNV-1a over the name, stretched to 17 characters.
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        let mut out = String::from("ANPA");
        for i in 0..17u64 {
            for b in self.name.bytes().chain(std::iter::once(i as u8)) {
                h ^= u64::from(b);
                h = h.wrapping_mul(0x0100_0000_01b3);
            }
            out.push(ALPHABET[(h % 32) as usize] as char);
        }
        out
    }
}

const READ_SERVICES: &[&str] = &[
    "cloudformation",
    "cloudhsm",
    "cloudtrail",
    "cloudwatch",
    "config",
    "ec2",
    "fms",
    "iam",
    "inspector",
    "inspector2",
    "kms",
    "logs",
    "organizations",
    "s3",
    "shield",
    "sns",
    "ssm",
    "sts",
    "wafv2",
];

/// The AWS managed policies mamori knows.
pub fn all() -> &'static [AwsPolicy] {
    static POLICIES: OnceLock<Vec<AwsPolicy>> = OnceLock::new();
    POLICIES.get_or_init(|| {
        let read: Vec<String> = READ_SERVICES
            .iter()
            .flat_map(|s| [format!("{s}:Describe*"), format!("{s}:Get*"), format!("{s}:List*")])
            .chain(["logs:FilterLogEvents", "logs:StartQuery", "logs:TestMetricFilter"].map(String::from))
            .chain(["cloudtrail:LookupEvents", "s3:HeadBucket"].map(String::from))
            .collect();
        let read_doc = serde_json::json!({
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": read, "Resource": "*"}]
        })
        .to_string();
        let leak = |s: String| -> &'static str { Box::leak(s.into_boxed_str()) };
        let read_doc = leak(read_doc);
        vec![
            AwsPolicy {
                name: "AdministratorAccess",
                path: "/",
                description: "Provides full access to AWS services and resources.",
                document: r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#,
            },
            AwsPolicy {
                name: "ReadOnlyAccess",
                path: "/",
                description: "Provides read-only access to AWS services and resources.",
                document: read_doc,
            },
            AwsPolicy {
                name: "SecurityAudit",
                path: "/",
                description: "The security audit template grants access to read security configuration metadata. It is useful for software that audits the configuration of an AWS account.",
                document: read_doc,
            },
            AwsPolicy {
                name: "PowerUserAccess",
                path: "/",
                description: "Provides full access to AWS services and resources, but does not allow management of Users and groups.",
                document: r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","NotAction":["iam:*","organizations:*","account:*"],"Resource":"*"},{"Effect":"Allow","Action":["iam:CreateServiceLinkedRole","iam:DeleteServiceLinkedRole","iam:ListRoles","organizations:DescribeOrganization","account:ListRegions","account:GetAccountInformation"],"Resource":"*"}]}"#,
            },
            AwsPolicy {
                name: "IAMFullAccess",
                path: "/",
                description: "Provides full access to IAM via the AWS Management Console.",
                document: r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["iam:*","organizations:DescribeAccount","organizations:DescribeOrganization","organizations:DescribeOrganizationalUnit","organizations:DescribePolicy","organizations:ListChildren","organizations:ListParents","organizations:ListPoliciesForTarget","organizations:ListRoots","organizations:ListPolicies","organizations:ListTargetsForPolicy"],"Resource":"*"}]}"#,
            },
            AwsPolicy {
                name: "IAMReadOnlyAccess",
                path: "/",
                description: "Provides read only access to IAM via the AWS Management Console.",
                document: r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["iam:GenerateCredentialReport","iam:GenerateServiceLastAccessedDetails","iam:Get*","iam:List*","iam:SimulateCustomPolicy","iam:SimulatePrincipalPolicy"],"Resource":"*"}]}"#,
            },
            AwsPolicy {
                name: "AWSCloudTrail_FullAccess",
                path: "/",
                description: "Provides full access to AWS CloudTrail.",
                document: r#"{"Version":"2012-10-17","Statement":[{"Sid":"AWSCloudTrailFullAccess","Effect":"Allow","Action":"cloudtrail:*","Resource":"*"},{"Effect":"Allow","Action":["sns:AddPermission","sns:CreateTopic","sns:SetTopicAttributes","sns:GetTopicAttributes","sns:ListTopics"],"Resource":"*"},{"Effect":"Allow","Action":["s3:CreateBucket","s3:PutBucketPolicy","s3:PutBucketPublicAccessBlock","s3:ListAllMyBuckets","s3:GetBucketLocation","s3:GetBucketPolicy"],"Resource":"*"},{"Effect":"Allow","Action":["kms:CreateKey","kms:CreateAlias","kms:ListKeys","kms:ListAliases"],"Resource":"*"},{"Effect":"Allow","Action":["iam:ListRoles","iam:GetRolePolicy","iam:GetUser"],"Resource":"*"},{"Effect":"Allow","Action":"iam:PassRole","Resource":"*","Condition":{"StringEquals":{"iam:PassedToService":"cloudtrail.amazonaws.com"}}},{"Effect":"Allow","Action":["logs:CreateLogGroup","logs:DescribeLogGroups"],"Resource":"*"}]}"#,
            },
            AwsPolicy {
                name: "AWSCloudTrail_ReadOnlyAccess",
                path: "/",
                description: "Provides read only access to AWS CloudTrail.",
                document: r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["cloudtrail:Get*","cloudtrail:Describe*","cloudtrail:List*","cloudtrail:LookupEvents"],"Resource":"*"}]}"#,
            },
            AwsPolicy {
                name: "CloudWatchFullAccess",
                path: "/",
                description: "Provides full access to CloudWatch.",
                document: r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["autoscaling:Describe*","cloudwatch:*","logs:*","sns:*","iam:GetPolicy","iam:GetPolicyVersion","iam:GetRole"],"Resource":"*"},{"Effect":"Allow","Action":"iam:CreateServiceLinkedRole","Resource":"arn:aws:iam::*:role/aws-service-role/events.amazonaws.com/AWSServiceRoleForCloudWatchEvents*","Condition":{"StringLike":{"iam:AWSServiceName":"events.amazonaws.com"}}}]}"#,
            },
            AwsPolicy {
                name: "CloudWatchReadOnlyAccess",
                path: "/",
                description: "Provides read only access to CloudWatch.",
                document: r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["cloudwatch:Describe*","cloudwatch:Get*","cloudwatch:List*","logs:Get*","logs:List*","logs:Describe*","logs:FilterLogEvents","logs:StartQuery","logs:TestMetricFilter","sns:Get*","sns:List*"],"Resource":"*"}]}"#,
            },
            AwsPolicy {
                name: "CloudWatchLogsFullAccess",
                path: "/",
                description: "Provides full access to CloudWatch Logs.",
                document: r#"{"Version":"2012-10-17","Statement":[{"Sid":"CloudWatchLogsFullAccess","Effect":"Allow","Action":["logs:*","cloudwatch:GenerateQuery"],"Resource":"*"}]}"#,
            },
            AwsPolicy {
                name: "CloudWatchLogsReadOnlyAccess",
                path: "/",
                description: "Provides read only access to CloudWatch Logs.",
                document: r#"{"Version":"2012-10-17","Statement":[{"Sid":"CloudWatchLogsReadOnlyAccess","Effect":"Allow","Action":["logs:Describe*","logs:Get*","logs:List*","logs:StartQuery","logs:StopQuery","logs:TestMetricFilter","logs:FilterLogEvents","logs:StartLiveTail","logs:StopLiveTail","cloudwatch:GenerateQuery"],"Resource":"*"}]}"#,
            },
            AwsPolicy {
                name: "AmazonSNSFullAccess",
                path: "/",
                description: "Provides full access to Amazon SNS via the AWS Management Console.",
                document: r#"{"Version":"2012-10-17","Statement":[{"Sid":"SNSFullAccess","Effect":"Allow","Action":"sns:*","Resource":"*"}]}"#,
            },
            AwsPolicy {
                name: "AmazonSNSReadOnlyAccess",
                path: "/",
                description: "Provides read only access to Amazon SNS via the AWS Management Console.",
                document: r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["sns:GetTopicAttributes","sns:List*","sns:CheckIfPhoneNumberIsOptedOut","sns:GetEndpointAttributes","sns:GetDataProtectionPolicy","sns:GetPlatformApplicationAttributes","sns:GetSMSAttributes","sns:GetSMSSandboxAccountStatus","sns:GetSubscriptionAttributes"],"Resource":"*"}]}"#,
            },
            AwsPolicy {
                name: "AmazonS3FullAccess",
                path: "/",
                description: "Provides full access to all buckets via the AWS Management Console.",
                document: r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:*","s3-object-lambda:*"],"Resource":"*"}]}"#,
            },
            AwsPolicy {
                name: "AmazonS3ReadOnlyAccess",
                path: "/",
                description: "Provides read only access to all buckets via the AWS Management Console.",
                document: r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:Get*","s3:List*","s3:Describe*","s3-object-lambda:Get*","s3-object-lambda:List*"],"Resource":"*"}]}"#,
            },
            AwsPolicy {
                name: "AWSKeyManagementServicePowerUser",
                path: "/",
                description: "Provides access to AWS Key Management Service (KMS).",
                document: r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["kms:CreateAlias","kms:CreateKey","kms:DeleteAlias","kms:Describe*","kms:GenerateRandom","kms:Get*","kms:List*","kms:TagResource","kms:UntagResource","iam:ListGroups","iam:ListRoles","iam:ListUsers"],"Resource":"*"}]}"#,
            },
            AwsPolicy {
                name: "AWS_ConfigRole",
                path: "/service-role/",
                description: "Provides AWS Config access to the resource configurations it records.",
                document: read_doc,
            },
        ]
    })
}

/// The AWS managed policy with `arn`.
pub fn by_arn(arn: &str) -> Option<&'static AwsPolicy> {
    let rest = arn.strip_prefix("arn:aws:iam::aws:policy")?;
    all().iter().find(|p| rest.strip_prefix(p.path).is_some_and(|n| n == p.name))
}

/// Every document parses as an identity policy (checked by the tests and at first use).
pub fn parsed(arn: &str) -> Option<Policy> {
    by_arn(arn).and_then(|p| Policy::parse(p.document, PolicyKind::Identity).ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_document_is_a_valid_identity_policy() {
        for p in all() {
            Policy::parse(p.document, PolicyKind::Identity)
                .unwrap_or_else(|e| panic!("{}: {e}", p.name));
            assert!(mamori_policy::non_whitespace_len(p.document) <= 6144, "{}", p.name);
            assert_eq!(p.id().len(), 21);
            assert_eq!(by_arn(&p.arn()).map(|x| x.name), Some(p.name));
        }
        assert!(by_arn("arn:aws:iam::aws:policy/AdministratorAccess").is_some());
        assert!(by_arn("arn:aws:iam::aws:policy/service-role/AWS_ConfigRole").is_some());
        assert!(by_arn("arn:aws:iam::aws:policy/Nope").is_none());
    }
}
