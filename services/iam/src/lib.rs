//! AWS Identity and Access Management, following
//! <https://docs.aws.amazon.com/IAM/latest/APIReference/welcome.html>, and the policy
//! authorizer that decides every call mamori serves ([`PolicyAuthorizer`]).
//!
//! IAM is global: entities live in the store partition named by the account id alone,
//! whatever region the request was signed for. Access keys are written to the framework's
//! `ACCESS_KEYS` collection so SigV4 accepts them the moment they exist. Every IAM write
//! clears the authorizer's cache of compiled policy sets.
//!
//! Operations not built yet answer 501 NotImplemented (missing in docs/COVERAGE.md); see the
//! GAP notes below.
// GAP: hardware and FIDO MFA devices (virtual devices only, the root user's included).
// GAP: SAML providers (OIDC providers are stored, but nothing accepts their tokens),
// server certificates, SSH keys, service-specific credentials,
// credential reports, access advisor (GenerateServiceLastAccessedDetails).

mod authorizer;
#[cfg(test)]
mod authz_tests;
mod cfn;
pub mod managed;
mod ops;
mod state;

use std::sync::Arc;

use chrono::TimeDelta;
use mamori_aws::AwsError;
use mamori_service::{AuthzRequest, Context, Dispatcher, OpSpec, Service, Task, async_trait};
use serde_json::Value;

pub use authorizer::{PolicyAuthorizer, Shared, access_denied};

/// The IAM service.
#[derive(Debug, Default, Clone)]
pub struct Iam {
    shared: Arc<Shared>,
}

impl Iam {
    /// An IAM service with its own cache.
    pub fn new() -> Self {
        Self::default()
    }

    /// The authorizer that reads this service's state (sharing its cache).
    pub fn authorizer(&self) -> PolicyAuthorizer {
        PolicyAuthorizer::new(self.shared.clone())
    }
}

/// Registers the task that writes access keys' last uses to the store every 60 seconds.
pub fn register_tasks(dispatcher: &Arc<Dispatcher>, iam: &Iam) {
    let (shared, store) = (iam.shared.clone(), dispatcher.store().clone());
    let task = Task {
        name: "iam.key-last-use",
        interval: TimeDelta::seconds(60),
        run: Arc::new(move |_| {
            let (shared, store) = (shared.clone(), store.clone());
            Box::pin(async move { shared.flush_last_used(&store) })
        }),
    };
    dispatcher.scheduler().register_coalesced(task, dispatcher.clock().now());
}

const NONE: &[&str] = &[];

macro_rules! ops {
    ($($name:literal $(: $gap:expr)?),* $(,)?) => {
        &[$(OpSpec { name: $name, gaps: ops!(@gaps $($gap)?) }),*]
    };
    (@gaps) => { NONE };
    (@gaps $gap:expr) => { $gap };
}

const OPS: &[OpSpec] = ops![
    "CreateUser", "GetUser", "ListUsers", "UpdateUser", "DeleteUser",
    "TagUser", "UntagUser", "ListUserTags",
    "PutUserPermissionsBoundary", "DeleteUserPermissionsBoundary",
    "CreateGroup", "GetGroup", "ListGroups", "DeleteGroup", "AddUserToGroup",
    "RemoveUserFromGroup", "ListGroupsForUser",
    "CreateRole", "GetRole", "ListRoles", "UpdateRole", "DeleteRole", "UpdateAssumeRolePolicy",
    "TagRole", "UntagRole", "ListRoleTags",
    "PutRolePermissionsBoundary", "DeleteRolePermissionsBoundary",
    "CreateServiceLinkedRole": &["no service-specific role policies: the role gets the trust policy of the service only"],
    "CreatePolicy", "GetPolicy", "DeletePolicy", "ListPolicies": &["PolicyUsageFilter is ignored"],
    "CreatePolicyVersion", "GetPolicyVersion", "ListPolicyVersions", "SetDefaultPolicyVersion",
    "DeletePolicyVersion", "ListEntitiesForPolicy", "TagPolicy", "UntagPolicy", "ListPolicyTags",
    "PutUserPolicy", "GetUserPolicy", "DeleteUserPolicy", "ListUserPolicies",
    "PutGroupPolicy", "GetGroupPolicy", "DeleteGroupPolicy", "ListGroupPolicies",
    "PutRolePolicy", "GetRolePolicy", "DeleteRolePolicy", "ListRolePolicies",
    "AttachUserPolicy", "DetachUserPolicy", "ListAttachedUserPolicies",
    "AttachGroupPolicy", "DetachGroupPolicy", "ListAttachedGroupPolicies",
    "AttachRolePolicy", "DetachRolePolicy", "ListAttachedRolePolicies",
    "CreateAccessKey", "ListAccessKeys", "UpdateAccessKey", "DeleteAccessKey",
    "GetAccessKeyLastUsed": &["uses are kept in memory and written every 60 s: a kill -9 loses the last minute's"],
    "SimulatePrincipalPolicy": &["CallerArn and ResourceHandlingOption are ignored; no statement positions"],
    "SimulateCustomPolicy": &["ResourceHandlingOption is ignored; no statement positions"],
    "GetAccountAuthorizationDetails": &["Filter is ignored"],
    "UpdateAccountPasswordPolicy", "GetAccountPasswordPolicy", "DeleteAccountPasswordPolicy",
    "CreateLoginProfile": &["PasswordReusePrevention and password expiry are not enforced"],
    "GetLoginProfile", "UpdateLoginProfile", "DeleteLoginProfile",
    "CreateVirtualMFADevice",
    "EnableMFADevice": &["virtual devices only: no hardware or FIDO devices; the root user's device through `mamori iam root-mfa` (the console's action), never the API"],
    "ResyncMFADevice", "DeactivateMFADevice",
    "DeleteVirtualMFADevice", "ListMFADevices", "ListVirtualMFADevices", "GetMFADevice",
    "TagMFADevice", "UntagMFADevice", "ListMFADeviceTags",
    "CreateInstanceProfile", "GetInstanceProfile", "DeleteInstanceProfile", "ListInstanceProfiles",
    "ListInstanceProfilesForRole",
    "AddRoleToInstanceProfile": &["iam:PassRole on the role is not checked"],
    "RemoveRoleFromInstanceProfile",
    "TagInstanceProfile", "UntagInstanceProfile", "ListInstanceProfileTags",
    "CreateOpenIDConnectProvider": &["stored only: STS AssumeRoleWithWebIdentity does not exist yet; ContextProvider and IdentityCenterInstanceArn are ignored"],
    "GetOpenIDConnectProvider", "ListOpenIDConnectProviders", "DeleteOpenIDConnectProvider",
    "AddClientIDToOpenIDConnectProvider", "RemoveClientIDFromOpenIDConnectProvider",
    "UpdateOpenIDConnectProviderThumbprint", "TagOpenIDConnectProvider",
    "UntagOpenIDConnectProvider", "ListOpenIDConnectProviderTags",
];

#[async_trait]
impl Service for Iam {
    fn model_id(&self) -> &'static str {
        "iam"
    }

    fn operations(&self) -> &'static [OpSpec] {
        OPS
    }

    fn authz(&self, ctx: &Context, operation: &str, input: &Value) -> AuthzRequest {
        ops::authz(ctx, operation, input)
    }

    async fn call(&self, ctx: &Context, operation: &str, input: Value) -> Result<Value, AwsError> {
        if operation == "GetAccessKeyLastUsed" {
            self.shared.flush_last_used(ctx.dispatcher.store());
        }
        let out = ops::call(ctx, operation, input);
        if out.is_ok() && !ops::is_read(operation) {
            self.shared.invalidate();
        }
        out
    }

    fn resource_providers(&self) -> Vec<Arc<dyn mamori_service::ResourceProvider>> {
        vec![Arc::new(cfn::IamProvider)]
    }

    fn reset(&self) {
        self.shared.invalidate();
        self.shared.clear_last_used();
    }
}
