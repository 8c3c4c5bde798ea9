//! The request context that policies are evaluated against, following
//! <https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html#policy-eval-reqcontext>
//! and the principal kinds of
//! <https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_principal.html>.

use std::collections::BTreeMap;
use std::net::IpAddr;

use base64::Engine as _;
use chrono::{DateTime, SecondsFormat, Utc};

/// One authorization question: may `principal` perform `action` on `resources`?
#[derive(Debug, Clone, PartialEq)]
pub struct Request {
    /// Who is calling.
    pub principal: Principal,
    /// The action, as `service:Operation` (compared case-insensitively).
    pub action: String,
    /// The resource ARNs the action touches. Each must be allowed; an empty list stands for the
    /// single resource `*`, as for actions without resource-level permissions.
    pub resources: Vec<String>,
    /// Condition keys and their values. Keys are matched case-insensitively.
    pub context: BTreeMap<String, ContextValue>,
}

/// The calling principal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// The caller's own ARN: `arn:aws:iam::111122223333:user/Bob`,
    /// `arn:aws:sts::111122223333:assumed-role/R/S`, `arn:aws:iam::111122223333:root`,
    /// a service name such as `cloudtrail.amazonaws.com`, or an identity provider.
    pub arn: String,
    /// The principal's account id (empty for service principals and anonymous callers).
    pub account: String,
    /// What kind of principal this is.
    pub kind: PrincipalKind,
    /// A service-linked role session: SCPs do not apply to it.
    pub service_linked_role: bool,
    /// The canonical user id, matched by `"CanonicalUser"` principals.
    pub canonical_user: Option<String>,
}

/// The kinds of principal that evaluation treats differently.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PrincipalKind {
    /// The account's root user: full access within its account, still capped by SCPs.
    Root,
    /// An IAM user.
    IamUser,
    /// A role session (`arn:aws:sts::…:assumed-role/R/S`) of the role `role_arn`.
    AssumedRole {
        /// The role's ARN, `arn:aws:iam::…:role/path/R`.
        role_arn: String,
    },
    /// A federated user session from `GetFederationToken`.
    FederatedUser {
        /// The IAM user who called `GetFederationToken`.
        federating_user_arn: String,
    },
    /// An AWS service principal (`arn` is the service name, like `cloudtrail.amazonaws.com`).
    Service,
    /// A web identity or SAML provider (matched by `"Federated"` principals).
    Federated,
    /// An unauthenticated caller: only `"Principal": "*"` matches it.
    Anonymous,
}

/// The value of one condition key: a single value, or the set of a multivalued key.
#[derive(Debug, Clone, PartialEq)]
pub enum ContextValue {
    /// A single-valued key.
    Single(Value),
    /// A multivalued key (compared with `ForAllValues:` / `ForAnyValue:`).
    Multi(Vec<Value>),
}

/// A typed condition value. Operators convert between types the way AWS does: every value has
/// a string form, and strings are parsed for the numeric, date, IP and boolean operators.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// A string.
    String(String),
    /// A boolean.
    Bool(bool),
    /// A number.
    Number(f64),
    /// A point in time.
    Date(DateTime<Utc>),
    /// An IP address.
    Ip(IpAddr),
    /// Raw bytes (compared by `BinaryEquals`).
    Binary(Vec<u8>),
}

impl Request {
    /// A request for `action` on `resource` by `principal`, with an empty context.
    pub fn new(principal: Principal, action: &str, resource: &str) -> Self {
        let resources = vec![resource.to_owned()];
        Self { principal, action: action.to_owned(), resources, context: BTreeMap::new() }
    }

    /// Adds a condition key.
    pub fn with_context(mut self, key: &str, value: impl Into<ContextValue>) -> Self {
        self.context.insert(key.to_owned(), value.into());
        self
    }

    /// Adds the global keys AWS derives from the principal, unless the context already has
    /// them: `aws:PrincipalArn`, `aws:PrincipalAccount`, `aws:PrincipalType`, `aws:username`
    /// (IAM users) and `aws:PrincipalServiceName` (service principals), as listed in
    /// <https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html>.
    ///
    /// ```
    /// use mamori_policy::{ContextValue, Principal, Request};
    /// let session = Principal::role_session("111122223333", "Dev", "alice");
    /// let request = Request::new(session, "s3:GetObject", "*").with_principal_keys();
    /// // For a role session, aws:PrincipalArn is the role, not the session.
    /// assert_eq!(request.context["aws:PrincipalArn"], ContextValue::from("arn:aws:iam::111122223333:role/Dev"));
    /// assert_eq!(request.context["aws:PrincipalType"], ContextValue::from("AssumedRole"));
    /// ```
    pub fn with_principal_keys(mut self) -> Self {
        let principal = &self.principal;
        let mut keys: Vec<(&str, String)> = Vec::new();
        let principal_type = match &principal.kind {
            PrincipalKind::Root => "Account",
            PrincipalKind::IamUser => "User",
            PrincipalKind::AssumedRole { .. } => "AssumedRole",
            PrincipalKind::FederatedUser { .. } => "FederatedUser",
            PrincipalKind::Anonymous => "Anonymous",
            PrincipalKind::Service | PrincipalKind::Federated => "",
        };
        match &principal.kind {
            PrincipalKind::Service => {
                keys.push(("aws:PrincipalServiceName", principal.arn.clone()))
            }
            PrincipalKind::Federated | PrincipalKind::Anonymous => {}
            PrincipalKind::AssumedRole { role_arn } => {
                keys.push(("aws:PrincipalArn", role_arn.clone()))
            }
            _ => keys.push(("aws:PrincipalArn", principal.arn.clone())),
        }
        if !principal.account.is_empty() {
            keys.push(("aws:PrincipalAccount", principal.account.clone()));
        }
        if !principal_type.is_empty() {
            keys.push(("aws:PrincipalType", principal_type.to_owned()));
        }
        if principal.kind == PrincipalKind::IamUser
            && let Some((_, name)) = principal.arn.rsplit_once('/')
        {
            keys.push(("aws:username", name.to_owned()));
        }
        for (key, value) in keys {
            if self.context.lookup(&key.to_ascii_lowercase()).is_none() {
                self.context.insert(key.to_owned(), ContextValue::from(value));
            }
        }
        self
    }
}

impl Principal {
    /// An IAM user `arn:aws:iam::<account>:user/<name>`.
    pub fn user(account: &str, name: &str) -> Self {
        Self::new(format!("arn:aws:iam::{account}:user/{name}"), account, PrincipalKind::IamUser)
    }

    /// The root user of `account`.
    pub fn root(account: &str) -> Self {
        Self::new(format!("arn:aws:iam::{account}:root"), account, PrincipalKind::Root)
    }

    /// A session `session` of role `role` (without a path) in `account`.
    pub fn role_session(account: &str, role: &str, session: &str) -> Self {
        let role_arn = format!("arn:aws:iam::{account}:role/{role}");
        let arn = format!("arn:aws:sts::{account}:assumed-role/{role}/{session}");
        Self::new(arn, account, PrincipalKind::AssumedRole { role_arn })
    }

    /// A service principal such as `cloudtrail.amazonaws.com`.
    pub fn service(name: &str) -> Self {
        Self::new(name.to_owned(), "", PrincipalKind::Service)
    }

    /// A principal of `kind` with the given ARN and account.
    pub fn new(arn: String, account: &str, kind: PrincipalKind) -> Self {
        let account = account.to_owned();
        Self { arn, account, kind, service_linked_role: false, canonical_user: None }
    }

    /// Whether this principal is a session whose permissions session policies can cap.
    pub fn is_session(&self) -> bool {
        matches!(self.kind, PrincipalKind::AssumedRole { .. } | PrincipalKind::FederatedUser { .. })
    }
}

impl Value {
    /// The string form of the value, as string operators and policy variables see it.
    pub fn to_policy_string(&self) -> String {
        match self {
            Value::String(s) => s.clone(),
            Value::Bool(b) => b.to_string(),
            Value::Number(n) => n.to_string(),
            Value::Date(d) => d.to_rfc3339_opts(SecondsFormat::Secs, true),
            Value::Ip(ip) => ip.to_string(),
            Value::Binary(bytes) => base64::engine::general_purpose::STANDARD.encode(bytes),
        }
    }
}

impl ContextValue {
    /// The values of the key: one for a single-valued key, any number for a multivalued one.
    pub fn values(&self) -> &[Value] {
        match self {
            ContextValue::Single(v) => std::slice::from_ref(v),
            ContextValue::Multi(vs) => vs,
        }
    }

    /// A multivalued string key.
    pub fn strings<S: AsRef<str>>(values: impl IntoIterator<Item = S>) -> Self {
        ContextValue::Multi(
            values.into_iter().map(|s| Value::String(s.as_ref().to_owned())).collect(),
        )
    }
}

impl From<&str> for ContextValue {
    fn from(s: &str) -> Self {
        ContextValue::Single(Value::String(s.to_owned()))
    }
}

impl From<String> for ContextValue {
    fn from(s: String) -> Self {
        ContextValue::Single(Value::String(s))
    }
}

impl From<bool> for ContextValue {
    fn from(b: bool) -> Self {
        ContextValue::Single(Value::Bool(b))
    }
}

impl From<f64> for ContextValue {
    fn from(n: f64) -> Self {
        ContextValue::Single(Value::Number(n))
    }
}

impl From<i64> for ContextValue {
    fn from(n: i64) -> Self {
        ContextValue::Single(Value::Number(n as f64))
    }
}

impl From<IpAddr> for ContextValue {
    fn from(ip: IpAddr) -> Self {
        ContextValue::Single(Value::Ip(ip))
    }
}

impl From<DateTime<Utc>> for ContextValue {
    fn from(d: DateTime<Utc>) -> Self {
        ContextValue::Single(Value::Date(d))
    }
}

impl From<Value> for ContextValue {
    fn from(v: Value) -> Self {
        ContextValue::Single(v)
    }
}

/// Case-insensitive access to condition keys; `key` is always lower-case.
pub(crate) trait Lookup {
    fn lookup(&self, key: &str) -> Option<&ContextValue>;
}

impl Lookup for BTreeMap<String, ContextValue> {
    fn lookup(&self, key: &str) -> Option<&ContextValue> {
        // Most callers use the documented spelling, so try the exact key first and only then
        // scan; contexts hold a handful of keys.
        self.get(key)
            .or_else(|| self.iter().find(|(k, _)| k.eq_ignore_ascii_case(key)).map(|e| e.1))
    }
}
