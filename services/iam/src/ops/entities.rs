//! Users, groups and roles, following the IAM API pages `CreateUser`, `CreateGroup`,
//! `CreateRole`, `AddUserToGroup`, `PutUserPermissionsBoundary`, `TagRole` and their
//! siblings (<https://docs.aws.amazon.com/IAM/latest/APIReference/API_Operations.html>).

use mamori_aws::AwsError;
use mamori_policy::{Policy, PolicyKind, non_whitespace_len};
use mamori_service::{Context, PrincipalKind};
use mamori_store::Tx;
use serde::Deserialize;
use serde_json::{Value, json};

use super::policies::{adjust_counts, resolve};
use crate::state::*;

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct In {
    user_name: Option<String>,
    group_name: Option<String>,
    role_name: Option<String>,
    path: Option<String>,
    path_prefix: Option<String>,
    new_path: Option<String>,
    new_user_name: Option<String>,
    permissions_boundary: Option<String>,
    #[serde(default)]
    tags: Vec<Tag>,
    #[serde(default)]
    tag_keys: Vec<String>,
    assume_role_policy_document: Option<String>,
    policy_document: Option<String>,
    description: Option<String>,
    max_session_duration: Option<i64>,
    marker: Option<String>,
    max_items: Option<i64>,
    #[serde(rename = "AWSServiceName")]
    aws_service_name: Option<String>,
    custom_suffix: Option<String>,
}

fn req<'a>(v: &'a Option<String>, member: &str) -> Result<&'a str, AwsError> {
    v.as_deref().ok_or_else(|| AwsError::validation(format!("{member} is required")))
}

pub fn user_json(u: &User, with_tags: bool) -> Value {
    let mut v = json!({"Path": u.path, "UserName": u.name, "UserId": u.id, "Arn": u.arn, "CreateDate": ts(u.created)});
    if let Some(b) = &u.boundary {
        v["PermissionsBoundary"] = boundary_json(b);
    }
    if with_tags && !u.tags.is_empty() {
        v["Tags"] = tags_json(&u.tags);
    }
    v
}

pub fn group_json(g: &Group) -> Value {
    json!({"Path": g.path, "GroupName": g.name, "GroupId": g.id, "Arn": g.arn, "CreateDate": ts(g.created)})
}

pub fn role_json(r: &Role, full: bool) -> Value {
    let mut v = json!({
        "Path": r.path, "RoleName": r.name, "RoleId": r.id, "Arn": r.arn,
        "CreateDate": ts(r.created), "AssumeRolePolicyDocument": encode_doc(&r.trust),
        "MaxSessionDuration": r.max_session,
    });
    if let Some(d) = &r.description {
        v["Description"] = json!(d);
    }
    if let Some(b) = &r.boundary {
        v["PermissionsBoundary"] = boundary_json(b);
    }
    if full {
        if !r.tags.is_empty() {
            v["Tags"] = tags_json(&r.tags);
        }
        v["RoleLastUsed"] = json!({});
    }
    v
}

fn boundary_json(arn: &str) -> Value {
    json!({"PermissionsBoundaryType": "PermissionsBoundaryPolicy", "PermissionsBoundaryArn": arn})
}

pub fn get_user(tx: &Tx<'_>, acct: &str, name: &str) -> Result<User, AwsError> {
    USERS.get(tx, acct, name).map_err(db)?.ok_or_else(|| no_such("user", name))
}

pub fn get_group(tx: &Tx<'_>, acct: &str, name: &str) -> Result<Group, AwsError> {
    GROUPS.get(tx, acct, name).map_err(db)?.ok_or_else(|| no_such("group", name))
}

pub fn get_role(tx: &Tx<'_>, acct: &str, name: &str) -> Result<Role, AwsError> {
    ROLES.get(tx, acct, name).map_err(db)?.ok_or_else(|| no_such("role", name))
}

/// Validates a trust policy: grammar and the 2,048-character default quota.
pub fn check_trust(doc: &str) -> Result<(), AwsError> {
    if non_whitespace_len(doc) > 2048 {
        return Err(AwsError::new(
            "LimitExceededException",
            "Cannot exceed quota for ACLSizePerRole: 2048",
        ));
    }
    Policy::parse(doc, PolicyKind::Trust)
        .map(|_| ())
        .map_err(|e| AwsError::new("MalformedPolicyDocumentException", e.iam_message()))
}

fn check_boundary(tx: &Tx<'_>, acct: &str, arn: &str) -> Result<(), AwsError> {
    if resolve(tx, acct, arn)?.is_none() {
        return Err(AwsError::new("InvalidInputException", format!("ARN {arn} is not valid.")));
    }
    Ok(())
}

fn list<T>(
    items: Vec<(String, T)>,
    path_of: impl Fn(&T) -> &str,
    input: &In,
    field: &str,
    to_json: impl Fn(&T) -> Value,
) -> Value {
    let prefix = input.path_prefix.as_deref().unwrap_or("/");
    let items: Vec<_> = items.into_iter().filter(|(_, x)| path_of(x).starts_with(prefix)).collect();
    let (page, marker) = paginate(items, input.marker.as_deref(), input.max_items);
    with_page(json!({ field: page.iter().map(to_json).collect::<Vec<_>>() }), marker)
}

pub fn call(ctx: &Context, op: &str, input: Value) -> Result<Value, AwsError> {
    let i: In = mamori_service::parse_input(input)?;
    let acct = ctx.account.as_str();
    let now = ctx.time;
    let store = ctx.dispatcher.store();
    match op {
        "CreateUser" => {
            let name = req(&i.user_name, "UserName")?;
            check_name(name, "userName", 64)?;
            let path = i.path.clone().unwrap_or_else(|| "/".into());
            check_path(&path, "path")?;
            wr(store, |tx| {
                if USERS.contains(tx, acct, name).map_err(db)? {
                    return Err(already_exists("User", name));
                }
                if let Some(b) = &i.permissions_boundary {
                    check_boundary(tx, acct, b)?;
                    adjust_counts(tx, acct, b, 0, 1)?;
                }
                let mut tags = Vec::new();
                merge_tags(&mut tags, i.tags.clone())?;
                let u = User {
                    name: name.into(),
                    arn: arn(acct, "user", &path, name),
                    path: path.clone(),
                    id: new_id("AIDA", 17),
                    created: now,
                    policies: Policies::default(),
                    groups: Vec::new(),
                    boundary: i.permissions_boundary.clone(),
                    tags,
                    keys: Vec::new(),
                    login: None,
                };
                USERS.put(tx, acct, name, &u).map_err(db)?;
                tracing::info!(target: "iam", user = %u.arn, "user created");
                Ok(json!({"User": user_json(&u, true)}))
            })
        }
        "GetUser" => match &i.user_name {
            Some(name) => {
                rd(store, |tx| Ok(json!({"User": user_json(&get_user(tx, acct, name)?, true)})))
            }
            None => match &ctx.principal.kind {
                PrincipalKind::IamUser { name } => rd(store, |tx| {
                    Ok(
                        json!({"User": user_json(&get_user(tx, &ctx.principal.account.to_string(), name)?, true)}),
                    )
                }),
                PrincipalKind::Root => Ok(json!({"User": {
                    "UserId": ctx.principal.account.as_str(), "Arn": ctx.principal.arn,
                    "Path": "/", "UserName": "root", "CreateDate": ts(now)}})),
                _ => Err(AwsError::validation(
                    "Must specify userName when calling with non-User credentials",
                )),
            },
        },
        "ListUsers" => rd(store, |tx| {
            let all = USERS.all(tx, acct).map_err(db)?;
            Ok(list(all, |u: &User| &u.path, &i, "Users", |u| user_json(u, false)))
        }),
        "UpdateUser" => {
            let name = req(&i.user_name, "UserName")?;
            if let Some(n) = &i.new_user_name {
                check_name(n, "newUserName", 64)?;
            }
            if let Some(p) = &i.new_path {
                check_path(p, "newPath")?;
            }
            wr(store, |tx| {
                let mut u = get_user(tx, acct, name)?;
                if let Some(p) = &i.new_path {
                    u.path = p.clone();
                }
                if let Some(n) = &i.new_user_name
                    && n != name
                {
                    if USERS.contains(tx, acct, n).map_err(db)? {
                        return Err(already_exists("User", n));
                    }
                    USERS.delete(tx, acct, name).map_err(db)?;
                    u.name = n.clone();
                }
                u.arn = arn(acct, "user", &u.path, &u.name);
                // The user's keys sign as the renamed user from now on.
                for k in &u.keys {
                    let part = mamori_service::ACCESS_KEY_PARTITION;
                    if let Some(mut key) =
                        mamori_service::ACCESS_KEYS.get(tx, part, &k.id).map_err(db)?
                    {
                        key.arn = u.arn.clone();
                        key.kind =
                            mamori_service::StoredPrincipalKind::IamUser { name: u.name.clone() };
                        mamori_service::ACCESS_KEYS.put(tx, part, &k.id, &key).map_err(db)?;
                    }
                }
                USERS.put(tx, acct, &u.name, &u).map_err(db)?;
                Ok(json!({}))
            })
        }
        "DeleteUser" => {
            let name = req(&i.user_name, "UserName")?;
            wr(store, |tx| {
                let u = get_user(tx, acct, name)?;
                let conflict = |what: &str| {
                    AwsError::new(
                        "DeleteConflictException",
                        format!("Cannot delete entity, must {what} first."),
                    )
                };
                if !u.keys.is_empty() {
                    return Err(conflict("delete access keys"));
                }
                if !u.policies.inline.is_empty() || !u.policies.attached.is_empty() {
                    return Err(conflict("delete policies"));
                }
                if !u.groups.is_empty() {
                    return Err(conflict("remove users from group"));
                }
                if u.login.is_some() {
                    return Err(conflict("delete login profile"));
                }
                if super::has_device(tx, acct, name)? {
                    return Err(conflict("remove MFA device"));
                }
                if let Some(b) = &u.boundary {
                    adjust_counts(tx, acct, b, 0, -1)?;
                }
                USERS.delete(tx, acct, name).map_err(db)?;
                tracing::info!(target: "iam", user = %u.arn, "user deleted");
                Ok(json!({}))
            })
        }
        "TagUser" | "UntagUser" | "ListUserTags" => {
            let name = req(&i.user_name, "UserName")?;
            wr(store, |tx| {
                let mut u = get_user(tx, acct, name)?;
                let out = tag_op(op, &mut u.tags, &i)?;
                USERS.put(tx, acct, name, &u).map_err(db)?;
                Ok(out)
            })
        }
        "PutUserPermissionsBoundary" | "DeleteUserPermissionsBoundary" => {
            let name = req(&i.user_name, "UserName")?;
            wr(store, |tx| {
                let mut u = get_user(tx, acct, name)?;
                u.boundary = set_boundary(tx, acct, u.boundary.take(), op.starts_with("Put"), &i)?;
                USERS.put(tx, acct, name, &u).map_err(db)?;
                Ok(json!({}))
            })
        }
        "CreateGroup" => {
            let name = req(&i.group_name, "GroupName")?;
            check_name(name, "groupName", 128)?;
            let path = i.path.clone().unwrap_or_else(|| "/".into());
            check_path(&path, "path")?;
            wr(store, |tx| {
                if GROUPS.contains(tx, acct, name).map_err(db)? {
                    return Err(already_exists("Group", name));
                }
                let g = Group {
                    name: name.into(),
                    arn: arn(acct, "group", &path, name),
                    path,
                    id: new_id("AGPA", 17),
                    created: now,
                    policies: Policies::default(),
                };
                GROUPS.put(tx, acct, name, &g).map_err(db)?;
                Ok(json!({"Group": group_json(&g)}))
            })
        }
        "GetGroup" => {
            let name = req(&i.group_name, "GroupName")?;
            rd(store, |tx| {
                let g = get_group(tx, acct, name)?;
                let members: Vec<_> = USERS
                    .all(tx, acct)
                    .map_err(db)?
                    .into_iter()
                    .filter(|(_, u)| u.groups.iter().any(|x| x == name))
                    .collect();
                let (page, marker) = paginate(members, i.marker.as_deref(), i.max_items);
                let users: Vec<_> = page.iter().map(|u| user_json(u, false)).collect();
                Ok(with_page(json!({"Group": group_json(&g), "Users": users}), marker))
            })
        }
        "ListGroups" => rd(store, |tx| {
            let all = GROUPS.all(tx, acct).map_err(db)?;
            Ok(list(all, |g: &Group| &g.path, &i, "Groups", group_json))
        }),
        "ListGroupsForUser" => {
            let name = req(&i.user_name, "UserName")?;
            rd(store, |tx| {
                let u = get_user(tx, acct, name)?;
                let mut groups = Vec::new();
                for g in &u.groups {
                    if let Some(g) = GROUPS.get(tx, acct, g).map_err(db)? {
                        groups.push((g.name.clone(), g));
                    }
                }
                let (page, marker) = paginate(groups, i.marker.as_deref(), i.max_items);
                Ok(with_page(
                    json!({"Groups": page.iter().map(group_json).collect::<Vec<_>>()}),
                    marker,
                ))
            })
        }
        "DeleteGroup" => {
            let name = req(&i.group_name, "GroupName")?;
            wr(store, |tx| {
                let g = get_group(tx, acct, name)?;
                let has_members = USERS
                    .all(tx, acct)
                    .map_err(db)?
                    .iter()
                    .any(|(_, u)| u.groups.iter().any(|x| x == name));
                if has_members {
                    return Err(AwsError::new(
                        "DeleteConflictException",
                        "Cannot delete entity, must remove users from group first.",
                    ));
                }
                if !g.policies.inline.is_empty() || !g.policies.attached.is_empty() {
                    return Err(AwsError::new(
                        "DeleteConflictException",
                        "Cannot delete entity, must delete policies first.",
                    ));
                }
                GROUPS.delete(tx, acct, name).map_err(db)?;
                Ok(json!({}))
            })
        }
        "AddUserToGroup" | "RemoveUserFromGroup" => {
            let group = req(&i.group_name, "GroupName")?;
            let user = req(&i.user_name, "UserName")?;
            wr(store, |tx| {
                get_group(tx, acct, group)?;
                let mut u = get_user(tx, acct, user)?;
                if op == "AddUserToGroup" {
                    if !u.groups.iter().any(|g| g == group) {
                        if u.groups.len() >= 10 {
                            return Err(AwsError::new(
                                "LimitExceededException",
                                "Cannot exceed quota for GroupsPerUser: 10",
                            ));
                        }
                        u.groups.push(group.into());
                    }
                } else if let Some(pos) = u.groups.iter().position(|g| g == group) {
                    u.groups.remove(pos);
                } else {
                    return Err(AwsError::new(
                        "NoSuchEntityException",
                        format!("User {user} is not in group {group}."),
                    ));
                }
                USERS.put(tx, acct, user, &u).map_err(db)?;
                Ok(json!({}))
            })
        }
        "CreateRole" => {
            let name = req(&i.role_name, "RoleName")?;
            check_name(name, "roleName", 64)?;
            let path = i.path.clone().unwrap_or_else(|| "/".into());
            check_path(&path, "path")?;
            let trust = req(&i.assume_role_policy_document, "AssumeRolePolicyDocument")?;
            check_trust(trust)?;
            let max_session = i.max_session_duration.unwrap_or(3600);
            wr(store, |tx| {
                if ROLES.contains(tx, acct, name).map_err(db)? {
                    return Err(already_exists("Role", name));
                }
                if let Some(b) = &i.permissions_boundary {
                    check_boundary(tx, acct, b)?;
                    adjust_counts(tx, acct, b, 0, 1)?;
                }
                let mut tags = Vec::new();
                merge_tags(&mut tags, i.tags.clone())?;
                let r = Role {
                    name: name.into(),
                    arn: arn(acct, "role", &path, name),
                    path,
                    id: new_id("AROA", 17),
                    created: now,
                    trust: trust.into(),
                    description: i.description.clone(),
                    max_session,
                    boundary: i.permissions_boundary.clone(),
                    policies: Policies::default(),
                    tags,
                };
                ROLES.put(tx, acct, name, &r).map_err(db)?;
                tracing::info!(target: "iam", role = %r.arn, "role created");
                Ok(json!({"Role": role_json(&r, true)}))
            })
        }
        "CreateServiceLinkedRole" => {
            let service = req(&i.aws_service_name, "AWSServiceName")?;
            let base = service.split('.').next().unwrap_or(service);
            let mut name = format!("AWSServiceRoleFor{}", capitalize(base));
            if let Some(sfx) = &i.custom_suffix {
                name = format!("{name}_{sfx}");
            }
            let path = format!("/aws-service-role/{service}/");
            let trust = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
                "Principal": {"Service": service}, "Action": "sts:AssumeRole"}]})
            .to_string();
            wr(store, |tx| {
                if ROLES.contains(tx, acct, &name).map_err(db)? {
                    return Err(AwsError::new(
                        "InvalidInputException",
                        format!(
                            "Service role name {name} has been taken in this account, please try a different suffix."
                        ),
                    ));
                }
                let r = Role {
                    arn: arn(acct, "role", &path, &name),
                    name: name.clone(),
                    path,
                    id: new_id("AROA", 17),
                    created: now,
                    trust,
                    description: i.description.clone(),
                    max_session: 3600,
                    boundary: None,
                    policies: Policies::default(),
                    tags: Vec::new(),
                };
                ROLES.put(tx, acct, &name, &r).map_err(db)?;
                Ok(json!({"Role": role_json(&r, false)}))
            })
        }
        "GetRole" => {
            let name = req(&i.role_name, "RoleName")?;
            rd(store, |tx| Ok(json!({"Role": role_json(&get_role(tx, acct, name)?, true)})))
        }
        "ListRoles" => rd(store, |tx| {
            let all = ROLES.all(tx, acct).map_err(db)?;
            Ok(list(all, |r: &Role| &r.path, &i, "Roles", |r| role_json(r, false)))
        }),
        "UpdateRole" | "UpdateAssumeRolePolicy" => {
            let name = req(&i.role_name, "RoleName")?;
            if op == "UpdateAssumeRolePolicy" {
                check_trust(req(&i.policy_document, "PolicyDocument")?)?;
            }
            wr(store, |tx| {
                let mut r = get_role(tx, acct, name)?;
                if let Some(d) = &i.policy_document {
                    r.trust = d.clone();
                }
                if let Some(d) = &i.description {
                    r.description = Some(d.clone());
                }
                if let Some(m) = i.max_session_duration {
                    r.max_session = m;
                }
                ROLES.put(tx, acct, name, &r).map_err(db)?;
                Ok(json!({}))
            })
        }
        "DeleteRole" => {
            let name = req(&i.role_name, "RoleName")?;
            wr(store, |tx| {
                let r = get_role(tx, acct, name)?;
                if !r.policies.inline.is_empty() || !r.policies.attached.is_empty() {
                    return Err(AwsError::new(
                        "DeleteConflictException",
                        "Cannot delete entity, must detach all policies first.",
                    ));
                }
                if !super::profiles_for_role(tx, acct, name)?.is_empty() {
                    return Err(AwsError::new(
                        "DeleteConflictException",
                        "Cannot delete entity, must remove roles from instance profile first.",
                    ));
                }
                if let Some(b) = &r.boundary {
                    adjust_counts(tx, acct, b, 0, -1)?;
                }
                ROLES.delete(tx, acct, name).map_err(db)?;
                tracing::info!(target: "iam", role = %r.arn, "role deleted");
                Ok(json!({}))
            })
        }
        "TagRole" | "UntagRole" | "ListRoleTags" => {
            let name = req(&i.role_name, "RoleName")?;
            wr(store, |tx| {
                let mut r = get_role(tx, acct, name)?;
                let out = tag_op(op, &mut r.tags, &i)?;
                ROLES.put(tx, acct, name, &r).map_err(db)?;
                Ok(out)
            })
        }
        "PutRolePermissionsBoundary" | "DeleteRolePermissionsBoundary" => {
            let name = req(&i.role_name, "RoleName")?;
            wr(store, |tx| {
                let mut r = get_role(tx, acct, name)?;
                r.boundary = set_boundary(tx, acct, r.boundary.take(), op.starts_with("Put"), &i)?;
                ROLES.put(tx, acct, name, &r).map_err(db)?;
                Ok(json!({}))
            })
        }
        other => Err(AwsError::not_implemented("iam", other)),
    }
}

fn capitalize(s: &str) -> String {
    let mut c = s.chars();
    c.next().map(|f| f.to_uppercase().chain(c).collect()).unwrap_or_default()
}

fn set_boundary(
    tx: &Tx<'_>,
    acct: &str,
    old: Option<String>,
    put: bool,
    i: &In,
) -> Result<Option<String>, AwsError> {
    if let Some(b) = &old {
        adjust_counts(tx, acct, b, 0, -1)?;
    }
    if !put {
        return Ok(None);
    }
    let b = req(&i.permissions_boundary, "PermissionsBoundary")?;
    check_boundary(tx, acct, b)?;
    adjust_counts(tx, acct, b, 0, 1)?;
    Ok(Some(b.to_owned()))
}

fn tag_op(op: &str, tags: &mut Vec<Tag>, i: &In) -> Result<Value, AwsError> {
    if op.starts_with("Tag") {
        merge_tags(tags, i.tags.clone())?;
    } else if op.starts_with("Untag") {
        tags.retain(|t| !i.tag_keys.contains(&t.key));
    } else {
        let items: Vec<_> = tags.iter().map(|t| (t.key.clone(), t.clone())).collect();
        let (page, marker) = paginate(items, i.marker.as_deref(), i.max_items);
        return Ok(with_page(json!({"Tags": page}), marker));
    }
    Ok(json!({}))
}
