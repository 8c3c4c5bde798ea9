//! Operation routing and the IAM authorization reference
//! (<https://docs.aws.amazon.com/service-authorization/latest/reference/list_awsidentityandaccessmanagementiam.html>):
//! which resource ARN each operation acts on.

mod access_keys;
mod account;
mod entities;
mod inline;
mod instance_profiles;
mod mfa;
mod oidc;
mod policies;
mod simulate;

use mamori_aws::AwsError;
use mamori_service::{AuthzRequest, Context};
use serde_json::Value;

use crate::state::{GROUPS, ROLES, USERS, arn, db, rd};

/// Whether `op` only reads (reads leave the authorizer's cache alone).
pub fn is_read(op: &str) -> bool {
    op.starts_with("Get") || op.starts_with("List") || op.starts_with("Simulate")
}

/// Runs one operation.
pub fn call(ctx: &Context, op: &str, input: Value) -> Result<Value, AwsError> {
    match op {
        "CreateUser"
        | "GetUser"
        | "ListUsers"
        | "UpdateUser"
        | "DeleteUser"
        | "TagUser"
        | "UntagUser"
        | "ListUserTags"
        | "CreateGroup"
        | "GetGroup"
        | "ListGroups"
        | "DeleteGroup"
        | "AddUserToGroup"
        | "RemoveUserFromGroup"
        | "ListGroupsForUser"
        | "CreateRole"
        | "GetRole"
        | "ListRoles"
        | "UpdateRole"
        | "DeleteRole"
        | "UpdateAssumeRolePolicy"
        | "TagRole"
        | "UntagRole"
        | "ListRoleTags"
        | "CreateServiceLinkedRole"
        | "PutUserPermissionsBoundary"
        | "DeleteUserPermissionsBoundary"
        | "PutRolePermissionsBoundary"
        | "DeleteRolePermissionsBoundary" => entities::call(ctx, op, input),
        "CreatePolicy"
        | "GetPolicy"
        | "DeletePolicy"
        | "ListPolicies"
        | "CreatePolicyVersion"
        | "GetPolicyVersion"
        | "ListPolicyVersions"
        | "SetDefaultPolicyVersion"
        | "DeletePolicyVersion"
        | "ListEntitiesForPolicy"
        | "TagPolicy"
        | "UntagPolicy"
        | "ListPolicyTags" => policies::call(ctx, op, input),
        "CreateAccessKey"
        | "ListAccessKeys"
        | "UpdateAccessKey"
        | "DeleteAccessKey"
        | "GetAccessKeyLastUsed" => access_keys::call(ctx, op, input),
        "SimulatePrincipalPolicy" | "SimulateCustomPolicy" => simulate::call(ctx, op, input),
        "GetAccountAuthorizationDetails"
        | "UpdateAccountPasswordPolicy"
        | "GetAccountPasswordPolicy"
        | "DeleteAccountPasswordPolicy"
        | "CreateLoginProfile"
        | "GetLoginProfile"
        | "UpdateLoginProfile"
        | "DeleteLoginProfile" => account::call(ctx, op, input),
        "CreateVirtualMFADevice"
        | "EnableMFADevice"
        | "ResyncMFADevice"
        | "DeactivateMFADevice"
        | "DeleteVirtualMFADevice"
        | "ListMFADevices"
        | "ListVirtualMFADevices"
        | "GetMFADevice"
        | "TagMFADevice"
        | "UntagMFADevice"
        | "ListMFADeviceTags" => mfa::call(ctx, op, input),
        "CreateInstanceProfile"
        | "GetInstanceProfile"
        | "DeleteInstanceProfile"
        | "ListInstanceProfiles"
        | "ListInstanceProfilesForRole"
        | "AddRoleToInstanceProfile"
        | "RemoveRoleFromInstanceProfile"
        | "TagInstanceProfile"
        | "UntagInstanceProfile"
        | "ListInstanceProfileTags" => instance_profiles::call(ctx, op, input),
        "CreateOpenIDConnectProvider"
        | "GetOpenIDConnectProvider"
        | "ListOpenIDConnectProviders"
        | "DeleteOpenIDConnectProvider"
        | "AddClientIDToOpenIDConnectProvider"
        | "RemoveClientIDFromOpenIDConnectProvider"
        | "UpdateOpenIDConnectProviderThumbprint"
        | "TagOpenIDConnectProvider"
        | "UntagOpenIDConnectProvider"
        | "ListOpenIDConnectProviderTags" => oidc::call(ctx, op, input),
        _ => inline::call(ctx, op, input),
    }
}

fn s<'a>(input: &'a Value, member: &str) -> Option<&'a str> {
    input.get(member).and_then(Value::as_str)
}

/// The path of an existing entity, for its ARN; `/` when it does not exist (yet).
fn path_of(ctx: &Context, kind: &str, name: &str) -> String {
    let acct = ctx.account.as_str();
    let store = ctx.dispatcher.store();
    let got = rd(store, |tx| {
        Ok(match kind {
            "user" => USERS.get(tx, acct, name).map_err(db)?.map(|u| u.path),
            "group" => GROUPS.get(tx, acct, name).map_err(db)?.map(|g| g.path),
            _ => ROLES.get(tx, acct, name).map_err(db)?.map(|r| r.path),
        })
    });
    got.ok().flatten().unwrap_or_else(|| "/".into())
}

/// The path of an existing instance profile; `/` when it does not exist (yet).
fn profile_path(ctx: &Context, name: &str) -> String {
    let acct = ctx.account.as_str();
    let got = rd(ctx.dispatcher.store(), |tx| {
        Ok(instance_profiles::INSTANCE_PROFILES.get(tx, acct, name).map_err(db)?.map(|p| p.path))
    });
    got.ok().flatten().unwrap_or_else(|| "/".into())
}

/// The action and resource of an IAM call.
pub fn authz(ctx: &Context, op: &str, input: &Value) -> AuthzRequest {
    let acct = ctx.account.as_str();
    let entity = |kind: &str, member: &str| {
        s(input, member).map(|name| {
            let path = s(input, "Path")
                .filter(|_| op.starts_with("Create"))
                .map_or_else(|| path_of(ctx, kind, name), str::to_owned);
            arn(acct, kind, &path, name)
        })
    };
    let resource = match op {
        "GetUser"
        | "ListAccessKeys"
        | "CreateAccessKey"
        | "UpdateAccessKey"
        | "DeleteAccessKey"
        | "GetAccessKeyLastUsed"
            if s(input, "UserName").is_none() =>
        {
            Some(ctx.principal.arn.clone())
        }
        "ListUsers" => Some(format!("arn:aws:iam::{acct}:user/")),
        "ListRoles" => Some(format!("arn:aws:iam::{acct}:role/")),
        "ListGroups" => Some(format!("arn:aws:iam::{acct}:group/")),
        "ListPolicies" => Some(format!("arn:aws:iam::{acct}:policy/")),
        "CreatePolicy" => {
            s(input, "PolicyName").map(|n| arn(acct, "policy", s(input, "Path").unwrap_or("/"), n))
        }
        "SimulatePrincipalPolicy" => s(input, "PolicySourceArn").map(str::to_owned),
        "CreateVirtualMFADevice" => s(input, "VirtualMFADeviceName")
            .map(|n| arn(acct, "mfa", s(input, "Path").unwrap_or("/"), n)),
        "DeactivateMFADevice"
        | "DeleteVirtualMFADevice"
        | "GetMFADevice"
        | "TagMFADevice"
        | "UntagMFADevice"
        | "ListMFADeviceTags" => s(input, "SerialNumber").map(str::to_owned),
        "ListMFADevices" if s(input, "UserName").is_none() => Some(ctx.principal.arn.clone()),
        "ListInstanceProfiles" => Some(format!("arn:aws:iam::{acct}:instance-profile/")),
        "CreateOpenIDConnectProvider" => s(input, "Url").map(|u| {
            let rest = u.strip_prefix("https://").unwrap_or(u).trim_end_matches('/');
            format!("arn:aws:iam::{acct}:oidc-provider/{rest}")
        }),
        _ if input.get("OpenIDConnectProviderArn").is_some() => {
            s(input, "OpenIDConnectProviderArn").map(str::to_owned)
        }
        "ListInstanceProfilesForRole" => entity("role", "RoleName"),
        _ if input.get("InstanceProfileName").is_some() => {
            s(input, "InstanceProfileName").map(|name| {
                let path = s(input, "Path")
                    .filter(|_| op.starts_with("Create"))
                    .map_or_else(|| profile_path(ctx, name), str::to_owned);
                arn(acct, "instance-profile", &path, name)
            })
        }
        _ if input.get("PolicyArn").is_some()
            && !op.starts_with("Attach")
            && !op.starts_with("Detach") =>
        {
            s(input, "PolicyArn").map(str::to_owned)
        }
        _ if input.get("RoleName").is_some() => entity("role", "RoleName"),
        _ if input.get("GroupName").is_some() => entity("group", "GroupName"),
        _ if input.get("UserName").is_some() => entity("user", "UserName"),
        _ => None,
    };
    AuthzRequest::new(format!("iam:{op}"), vec![resource.unwrap_or_else(|| "*".into())])
}

pub use instance_profiles::{profile_json, profiles_for_role};
pub use mfa::has_device;

/// The default-version document of a managed policy (customer or AWS) by ARN.
pub fn resolve_policy(
    tx: &mamori_store::Tx<'_>,
    acct: &str,
    arn: &str,
) -> Result<Option<String>, AwsError> {
    Ok(policies::resolve(tx, acct, arn)?.map(|p| p.document().to_owned()))
}

#[cfg(test)]
mod tests;
