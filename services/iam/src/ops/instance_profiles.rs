//! Instance profiles, following the IAM API pages `CreateInstanceProfile`,
//! `AddRoleToInstanceProfile`, `RemoveRoleFromInstanceProfile`,
//! `ListInstanceProfilesForRole` and their siblings
//! (<https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_use_switch-role-ec2_instance-profiles.html>).
//!
//! A profile holds at most one role (the `InstanceSessionsPerInstanceProfile` quota). The
//! role is stored by name and rendered from `ROLES`, so a profile always shows the role as
//! it is now; DeleteRole refuses a role that is still in a profile.

use mamori_aws::AwsError;
use mamori_service::Context;
use mamori_store::{Collection, Tx};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::entities::{get_role, role_json};
use crate::state::*;

/// An instance profile.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InstanceProfile {
    /// Name.
    pub name: String,
    /// Path.
    pub path: String,
    /// `AIPA...`.
    pub id: String,
    /// ARN.
    pub arn: String,
    /// Created.
    pub created: chrono::DateTime<chrono::Utc>,
    /// The role names (zero or one).
    pub roles: Vec<String>,
    /// Tags.
    pub tags: Vec<Tag>,
}

/// Instance profiles by name.
pub const INSTANCE_PROFILES: Collection<InstanceProfile> = Collection::new("iam.instance-profiles");

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct In {
    instance_profile_name: Option<String>,
    role_name: Option<String>,
    path: Option<String>,
    path_prefix: Option<String>,
    #[serde(default)]
    tags: Vec<Tag>,
    #[serde(default)]
    tag_keys: Vec<String>,
    marker: Option<String>,
    max_items: Option<i64>,
}

fn no_profile(name: &str) -> AwsError {
    AwsError::new("NoSuchEntityException", format!("Instance Profile {name} cannot be found."))
}

fn get(tx: &Tx<'_>, acct: &str, name: &str) -> Result<InstanceProfile, AwsError> {
    INSTANCE_PROFILES.get(tx, acct, name).map_err(db)?.ok_or_else(|| no_profile(name))
}

/// A profile as IAM renders it, with its role(s).
pub fn profile_json(tx: &Tx<'_>, acct: &str, p: &InstanceProfile, tags: bool) -> Value {
    let roles: Vec<Value> = p
        .roles
        .iter()
        .filter_map(|r| ROLES.get(tx, acct, r).ok().flatten())
        .map(|r| role_json(&r, false))
        .collect();
    let mut v = json!({"Path": p.path, "InstanceProfileName": p.name, "InstanceProfileId": p.id,
        "Arn": p.arn, "CreateDate": ts(p.created), "Roles": roles});
    if tags && !p.tags.is_empty() {
        v["Tags"] = tags_json(&p.tags);
    }
    v
}

/// The profiles that hold role `role`, by name.
pub fn profiles_for_role(
    tx: &Tx<'_>,
    acct: &str,
    role: &str,
) -> Result<Vec<(String, InstanceProfile)>, AwsError> {
    let all = INSTANCE_PROFILES.all(tx, acct).map_err(db)?;
    Ok(all.into_iter().filter(|(_, p)| p.roles.iter().any(|r| r == role)).collect())
}

pub fn call(ctx: &Context, op: &str, input: Value) -> Result<Value, AwsError> {
    let i: In = mamori_service::parse_input(input)?;
    let acct = ctx.account.as_str();
    let store = ctx.dispatcher.store();
    let profile_name = || {
        i.instance_profile_name
            .as_deref()
            .ok_or_else(|| AwsError::validation("InstanceProfileName is required"))
    };
    let role_name =
        || i.role_name.as_deref().ok_or_else(|| AwsError::validation("RoleName is required"));
    match op {
        "CreateInstanceProfile" => {
            let name = profile_name()?;
            check_name(name, "instanceProfileName", 128)?;
            let path = i.path.clone().unwrap_or_else(|| "/".into());
            check_path(&path, "path")?;
            wr(store, |tx| {
                if INSTANCE_PROFILES.contains(tx, acct, name).map_err(db)? {
                    return Err(already_exists("Instance Profile", name));
                }
                let mut tags = Vec::new();
                merge_tags(&mut tags, i.tags.clone())?;
                let p = InstanceProfile {
                    name: name.to_owned(),
                    arn: arn(acct, "instance-profile", &path, name),
                    path,
                    id: new_id("AIPA", 17),
                    created: ctx.time,
                    roles: Vec::new(),
                    tags,
                };
                INSTANCE_PROFILES.put(tx, acct, name, &p).map_err(db)?;
                tracing::info!(target: "iam", profile = %p.arn, "instance profile created");
                Ok(json!({"InstanceProfile": profile_json(tx, acct, &p, true)}))
            })
        }
        "GetInstanceProfile" => rd(store, |tx| {
            let p = get(tx, acct, profile_name()?)?;
            Ok(json!({"InstanceProfile": profile_json(tx, acct, &p, true)}))
        }),
        "DeleteInstanceProfile" => wr(store, |tx| {
            let name = profile_name()?;
            let p = get(tx, acct, name)?;
            if !p.roles.is_empty() {
                return Err(AwsError::new(
                    "DeleteConflictException",
                    "Cannot delete entity, must remove roles from instance profile first.",
                ));
            }
            INSTANCE_PROFILES.delete(tx, acct, name).map_err(db)?;
            tracing::info!(target: "iam", profile = %p.arn, "instance profile deleted");
            Ok(json!({}))
        }),
        "ListInstanceProfiles" => rd(store, |tx| {
            let prefix = i.path_prefix.as_deref().unwrap_or("/");
            let all: Vec<_> = INSTANCE_PROFILES
                .all(tx, acct)
                .map_err(db)?
                .into_iter()
                .filter(|(_, p)| p.path.starts_with(prefix))
                .collect();
            let (page, marker) = paginate(all, i.marker.as_deref(), i.max_items);
            let out: Vec<_> = page.iter().map(|p| profile_json(tx, acct, p, false)).collect();
            Ok(with_page(json!({"InstanceProfiles": out}), marker))
        }),
        "ListInstanceProfilesForRole" => rd(store, |tx| {
            let role = role_name()?;
            get_role(tx, acct, role)?;
            let mine = profiles_for_role(tx, acct, role)?;
            let (page, marker) = paginate(mine, i.marker.as_deref(), i.max_items);
            let out: Vec<_> = page.iter().map(|p| profile_json(tx, acct, p, false)).collect();
            Ok(with_page(json!({"InstanceProfiles": out}), marker))
        }),
        "AddRoleToInstanceProfile" => wr(store, |tx| {
            let (name, role) = (profile_name()?, role_name()?);
            let mut p = get(tx, acct, name)?;
            get_role(tx, acct, role)?;
            // GAP: AWS also requires iam:PassRole on the role; only iam:AddRoleToInstanceProfile
            // on the profile is authorized, so a caller can attach a role it could not pass.
            if !p.roles.is_empty() {
                return Err(AwsError::new(
                    "LimitExceededException",
                    "Cannot exceed quota for InstanceSessionsPerInstanceProfile: 1",
                ));
            }
            p.roles.push(role.to_owned());
            INSTANCE_PROFILES.put(tx, acct, name, &p).map_err(db)?;
            tracing::info!(target: "iam", profile = %p.arn, role, "role added to instance profile");
            Ok(json!({}))
        }),
        "RemoveRoleFromInstanceProfile" => wr(store, |tx| {
            let (name, role) = (profile_name()?, role_name()?);
            let mut p = get(tx, acct, name)?;
            if !p.roles.iter().any(|r| r == role) {
                return Err(no_such("role", role));
            }
            p.roles.retain(|r| r != role);
            INSTANCE_PROFILES.put(tx, acct, name, &p).map_err(db)?;
            Ok(json!({}))
        }),
        "TagInstanceProfile" | "UntagInstanceProfile" | "ListInstanceProfileTags" => {
            wr(store, |tx| {
                let name = profile_name()?;
                let mut p = get(tx, acct, name)?;
                match op {
                    "TagInstanceProfile" => merge_tags(&mut p.tags, i.tags.clone())?,
                    "UntagInstanceProfile" => p.tags.retain(|t| !i.tag_keys.contains(&t.key)),
                    _ => {
                        let items: Vec<_> =
                            p.tags.iter().map(|t| (t.key.clone(), t.clone())).collect();
                        let (page, marker) = paginate(items, i.marker.as_deref(), i.max_items);
                        return Ok(with_page(json!({"Tags": page}), marker));
                    }
                }
                INSTANCE_PROFILES.put(tx, acct, name, &p).map_err(db)?;
                Ok(json!({}))
            })
        }
        other => Err(AwsError::not_implemented("iam", other)),
    }
}
