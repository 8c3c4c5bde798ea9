//! The request context a handler gets: who is calling, in which account and region,
//! with which request id, at what time, and the dispatcher for internal calls.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use mamori_aws::{AccountId, Region};

use crate::Dispatcher;

/// What kind of principal makes a call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PrincipalKind {
    /// The account's root user.
    Root,
    /// An IAM user.
    IamUser {
        /// The user name.
        name: String,
    },
    /// A role session from AssumeRole.
    AssumedRole {
        /// The role name.
        role: String,
        /// The session name.
        session: String,
    },
    /// An AWS service acting itself (`cloudtrail.amazonaws.com`).
    Service(String),
    /// An unsigned request.
    Anonymous,
}

/// The caller of a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// The principal's ARN (`arn:aws:iam::000000000000:root`); the service name for a
    /// service principal.
    pub arn: String,
    /// The account the principal belongs to.
    pub account: AccountId,
    /// The unique id (`aws:userid`).
    pub user_id: String,
    /// The kind.
    pub kind: PrincipalKind,
    /// The access key that signed the request.
    pub access_key_id: Option<String>,
    /// Signed in with MFA.
    pub mfa: bool,
}

impl Principal {
    /// The root user of `account`.
    pub fn root(account: AccountId) -> Self {
        Self {
            arn: format!("arn:aws:iam::{account}:root"),
            user_id: account.to_string(),
            account,
            kind: PrincipalKind::Root,
            access_key_id: None,
            mfa: false,
        }
    }

    /// An AWS service principal (`logs.amazonaws.com`) acting in `account`.
    pub fn service(name: &str, account: AccountId) -> Self {
        Self {
            arn: name.to_owned(),
            user_id: name.to_owned(),
            account,
            kind: PrincipalKind::Service(name.to_owned()),
            access_key_id: None,
            mfa: false,
        }
    }
}

/// Everything a handler knows about the call it serves.
#[derive(Clone)]
pub struct Context {
    /// The request id.
    pub request_id: String,
    /// The caller.
    pub principal: Principal,
    /// The account whose resources the call acts on.
    pub account: AccountId,
    /// The region of the call.
    pub region: Region,
    /// The caller's address (`AWS Internal` for internal calls).
    pub source_ip: String,
    /// The caller's User-Agent.
    pub user_agent: String,
    /// When the call arrived.
    pub time: DateTime<Utc>,
    /// The service that made this call on the caller's behalf (`cloudformation.amazonaws.com`).
    pub invoked_by: Option<String>,
    /// Whether the request came over TLS.
    pub secure_transport: bool,
    /// The call is the console's, not the API's: the operator's `mamori iam root-mfa`
    /// (the admin endpoint `/_mamori/iam/root-mfa`) sets it. Only the console may manage
    /// the root user's MFA device, as in AWS; nothing on the wire can set it.
    pub console: bool,
    /// For a service acting on behalf of one of its resources, that resource's ARN
    /// (`aws:SourceArn`: the alarm whose action publishes to SNS).
    pub source_arn: Option<String>,
    /// The account owning [`Context::source_arn`]'s resource (`aws:SourceAccount`).
    pub source_account: Option<String>,
    /// The dispatcher, for internal calls.
    pub dispatcher: Arc<Dispatcher>,
}

impl std::fmt::Debug for Context {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Context")
            .field("request_id", &self.request_id)
            .field("principal", &self.principal.arn)
            .field("account", &self.account)
            .field("region", &self.region)
            .finish_non_exhaustive()
    }
}

impl Context {
    /// The store partition of this call's account and region.
    pub fn partition(&self) -> String {
        format!("{}/{}", self.account, self.region)
    }

    /// A context for a call made by mamori itself as `principal` (a service acting on its
    /// own, such as CloudWatch publishing an alarm to SNS).
    pub fn internal(
        dispatcher: Arc<Dispatcher>,
        principal: Principal,
        account: AccountId,
        region: Region,
    ) -> Self {
        Self {
            request_id: mamori_aws::new_request_id(),
            principal,
            account,
            region,
            source_ip: "AWS Internal".into(),
            user_agent: "AWS Internal".into(),
            time: dispatcher.clock().now(),
            invoked_by: None,
            secure_transport: true,
            console: false,
            source_arn: None,
            source_account: None,
            dispatcher,
        }
    }

    /// A context for calls `service` makes on the caller's behalf (CloudFormation creating
    /// a stack's resources): the same principal, account and region, `invoked_by` set, and
    /// the service as source address and user agent, as CloudTrail shows such calls.
    pub fn on_behalf(&self, service: &str) -> Self {
        Self {
            request_id: mamori_aws::new_request_id(),
            source_ip: service.to_owned(),
            user_agent: service.to_owned(),
            time: self.dispatcher.clock().now(),
            invoked_by: Some(service.to_owned()),
            ..self.clone()
        }
    }
}
