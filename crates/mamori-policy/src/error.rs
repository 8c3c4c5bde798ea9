//! Policy validation errors, with the `MalformedPolicyDocument` messages IAM returns for them
//! (<https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies_policy-validator.html>
//! and <https://docs.aws.amazon.com/IAM/latest/UserGuide/troubleshoot_policies.html>).
//!
//! `Display` is precise and lower-case for logs; [`PolicyError::iam_message`] is the wire text a
//! service puts in its `MalformedPolicyDocument` error.

/// Why a policy document was rejected. `stmt` is the statement's zero-based index.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PolicyError {
    /// The document is not JSON of the policy grammar's shape.
    #[error("policy is not valid policy json: {detail}")]
    Syntax {
        /// What the JSON parser or shape check said.
        detail: String,
    },
    /// `Version` is neither `2012-10-17` nor `2008-10-17`.
    #[error("unsupported policy version {version:?}")]
    UnsupportedVersion {
        /// The version given.
        version: String,
    },
    /// The policy has no `Statement`.
    #[error("policy has no statement element")]
    MissingStatement,
    /// A statement has no `Effect`.
    #[error("statement {stmt} has no effect")]
    MissingEffect {
        /// Statement index.
        stmt: usize,
    },
    /// `Effect` is not `Allow` or `Deny`.
    #[error("statement {stmt} has invalid effect {value:?}")]
    InvalidEffect {
        /// Statement index.
        stmt: usize,
        /// The effect given.
        value: String,
    },
    /// Both an element and its `Not` form (for example `Action` and `NotAction`).
    #[error("statement {stmt} has both {element} and Not{element}")]
    ConflictingElements {
        /// Statement index.
        stmt: usize,
        /// `Action`, `Resource` or `Principal`.
        element: &'static str,
    },
    /// No `Action`/`NotAction`, or an empty list.
    #[error("statement {stmt} has no action")]
    MissingActions {
        /// Statement index.
        stmt: usize,
    },
    /// An action or condition key without a `vendor:` prefix.
    #[error("statement {stmt}: {value:?} has no service prefix")]
    MissingVendor {
        /// Statement index.
        stmt: usize,
        /// The action or condition key.
        value: String,
    },
    /// No `Resource`/`NotResource` where the policy type needs one, or an empty list.
    #[error("statement {stmt} has no resource")]
    MissingResources {
        /// Statement index.
        stmt: usize,
    },
    /// A resource that is neither `*` nor an ARN.
    #[error("statement {stmt}: resource {value:?} is not an arn")]
    InvalidResource {
        /// Statement index.
        stmt: usize,
        /// The resource given.
        value: String,
    },
    /// A `Resource` in a policy type that forbids it (role trust policies).
    #[error("statement {stmt} has a resource, which this policy type forbids")]
    ProhibitedResource {
        /// Statement index.
        stmt: usize,
    },
    /// A `Principal` in a policy type that forbids it (identity policies, SCPs).
    #[error("statement {stmt} has a principal, which this policy type forbids")]
    PrincipalNotAllowed {
        /// Statement index.
        stmt: usize,
    },
    /// No `Principal` where the policy type needs one (resource and trust policies).
    #[error("statement {stmt} has no principal")]
    MissingPrincipal {
        /// Statement index.
        stmt: usize,
    },
    /// A principal of an unknown type or an unusable value.
    #[error("statement {stmt}: invalid principal {key}={value:?}")]
    InvalidPrincipal {
        /// Statement index.
        stmt: usize,
        /// `AWS`, `Service`, ... as written.
        key: String,
        /// The value given.
        value: String,
    },
    /// An unknown condition operator. We fail closed: such a policy is never accepted.
    #[error("statement {stmt}: unknown condition operator {operator:?}")]
    UnknownConditionOperator {
        /// Statement index.
        stmt: usize,
        /// The operator given.
        operator: String,
    },
    /// A condition value the operator cannot use (a non-number for `NumericEquals`, ...).
    #[error("statement {stmt}: invalid value {value:?} for {operator} on {key}")]
    InvalidConditionValue {
        /// Statement index.
        stmt: usize,
        /// The operator.
        operator: String,
        /// The condition key.
        key: String,
        /// The value given.
        value: String,
    },
    /// A `Sid` with characters IAM does not accept.
    #[error("statement {stmt} has invalid sid {sid:?}")]
    InvalidSid {
        /// Statement index.
        stmt: usize,
        /// The sid given.
        sid: String,
    },
    /// Two statements with the same `Sid`.
    #[error("sid {sid:?} is used by more than one statement")]
    DuplicateSid {
        /// The repeated sid.
        sid: String,
    },
    /// A document that breaks the SCP grammar (Organizations' own message).
    #[error("not a valid service control policy: {detail}")]
    InvalidScp {
        /// What is wrong.
        detail: String,
    },
}

impl PolicyError {
    /// The message IAM returns with `MalformedPolicyDocument` for this error.
    ///
    /// ```
    /// use mamori_policy::{Policy, PolicyKind};
    /// let doc = r#"{"Version":"2012-10-17","Statement":{"Action":"s3:*","Resource":"*"}}"#;
    /// let err = Policy::parse(doc, PolicyKind::Identity).unwrap_err();
    /// assert_eq!(err.iam_message(), "Missing required field Effect");
    /// ```
    pub fn iam_message(&self) -> String {
        match self {
            PolicyError::Syntax { .. }
            | PolicyError::ConflictingElements { .. }
            | PolicyError::UnknownConditionOperator { .. }
            | PolicyError::InvalidEffect { .. } => "Syntax errors in policy.".to_owned(),
            PolicyError::UnsupportedVersion { .. } => "The policy failed legacy parsing".to_owned(),
            PolicyError::MissingStatement => "Missing required field Statement".to_owned(),
            PolicyError::MissingEffect { .. } => "Missing required field Effect".to_owned(),
            PolicyError::MissingActions { .. } => {
                "Policy statement must contain actions.".to_owned()
            }
            PolicyError::MissingVendor { .. } => {
                "Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc."
                    .to_owned()
            }
            PolicyError::MissingResources { .. } => {
                "Policy statement must contain resources.".to_owned()
            }
            PolicyError::InvalidResource { value, .. } => {
                format!("Resource {value} must be in ARN format or \"*\".")
            }
            PolicyError::ProhibitedResource { .. } => "Has prohibited field Resource".to_owned(),
            PolicyError::PrincipalNotAllowed { .. } => {
                "Policy document should not specify a principal.".to_owned()
            }
            PolicyError::MissingPrincipal { .. } => "Missing required field Principal".to_owned(),
            PolicyError::InvalidPrincipal { key, value, .. } => {
                format!("Invalid principal in policy: \"{key}\":\"{value}\"")
            }
            PolicyError::InvalidConditionValue { operator, value, .. } => {
                format!("Invalid Condition value for {operator}: {value}")
            }
            PolicyError::InvalidSid { .. } => "Statement IDs (SID) must be alpha-numeric. Check \
                that your input satisfies the regular expression [0-9A-Za-z]*"
                .to_owned(),
            PolicyError::DuplicateSid { .. } => {
                "Statement IDs (SID) in a single policy must be unique.".to_owned()
            }
            PolicyError::InvalidScp { .. } => "The provided policy document does not meet the \
                requirements of the specified policy type."
                .to_owned(),
        }
    }
}
