//! Managed policies and their versions, and attaching them, following the IAM API pages
//! `CreatePolicy`, `CreatePolicyVersion` (at most five versions), `SetDefaultPolicyVersion`,
//! `DeletePolicy` (only when unattached), `AttachUserPolicy` and `ListPolicies`, and
//! <https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies_managed-versioning.html>.

use mamori_aws::AwsError;
use mamori_policy::{Policy, PolicyKind, non_whitespace_len};
use mamori_service::Context;
use mamori_store::Tx;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::managed;
use crate::state::*;

/// A managed policy found by ARN: customer (stored) or AWS's.
pub enum Resolved {
    /// A customer managed policy.
    Local(Box<ManagedPolicy>),
    /// An AWS managed policy.
    Aws(&'static managed::AwsPolicy),
}

impl Resolved {
    /// The default version's document.
    pub fn document(&self) -> &str {
        match self {
            Resolved::Local(p) => p.default_document(),
            Resolved::Aws(p) => p.document,
        }
    }

    /// The policy name.
    pub fn name(&self) -> &str {
        match self {
            Resolved::Local(p) => &p.name,
            Resolved::Aws(p) => p.name,
        }
    }
}

/// The name a customer policy ARN of `acct` carries, if it is one.
fn local_name<'a>(acct: &str, arn: &'a str) -> Option<&'a str> {
    let rest = arn.strip_prefix("arn:aws:iam::")?.strip_prefix(acct)?.strip_prefix(":policy/")?;
    Some(rest.rsplit('/').next().unwrap_or(rest))
}

/// Finds a managed policy by ARN.
pub fn resolve(tx: &Tx<'_>, acct: &str, arn: &str) -> Result<Option<Resolved>, AwsError> {
    if let Some(p) = managed::by_arn(arn) {
        return Ok(Some(Resolved::Aws(p)));
    }
    let Some(name) = local_name(acct, arn) else { return Ok(None) };
    Ok(POLICIES
        .get(tx, acct, name)
        .map_err(db)?
        .filter(|p| p.arn == arn)
        .map(|p| Resolved::Local(Box::new(p))))
}

fn get_local(tx: &Tx<'_>, acct: &str, arn: &str) -> Result<ManagedPolicy, AwsError> {
    match resolve(tx, acct, arn)? {
        Some(Resolved::Local(p)) => Ok(*p),
        Some(Resolved::Aws(_)) => Err(AwsError::new(
            "InvalidInputException",
            format!("Policy {arn} is an AWS managed policy and cannot be changed."),
        )),
        None => Err(AwsError::new("NoSuchEntityException", format!("Policy {arn} was not found."))),
    }
}

/// Adds `attach` attachments and `boundary` boundary uses to a customer policy's counts.
pub fn adjust_counts(
    tx: &Tx<'_>,
    acct: &str,
    arn: &str,
    attach: i32,
    boundary: i32,
) -> Result<(), AwsError> {
    if let Some(Resolved::Local(mut p)) = resolve(tx, acct, arn)? {
        p.attachments = p.attachments.saturating_add_signed(attach);
        p.boundary_uses = p.boundary_uses.saturating_add_signed(boundary);
        POLICIES.put(tx, acct, &p.name.clone(), &p).map_err(db)?;
    }
    Ok(())
}

/// Validates a managed policy document (6,144 non-whitespace characters).
pub fn check_managed(doc: &str) -> Result<(), AwsError> {
    if non_whitespace_len(doc) > 6144 {
        return Err(AwsError::new(
            "LimitExceededException",
            "Cannot exceed quota for PolicySize: 6144",
        ));
    }
    Policy::parse(doc, PolicyKind::Identity)
        .map(|_| ())
        .map_err(|e| AwsError::new("MalformedPolicyDocumentException", e.iam_message()))
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct In {
    policy_name: Option<String>,
    policy_arn: Option<String>,
    path: Option<String>,
    path_prefix: Option<String>,
    policy_document: Option<String>,
    description: Option<String>,
    version_id: Option<String>,
    set_as_default: Option<bool>,
    scope: Option<String>,
    only_attached: Option<bool>,
    #[serde(default)]
    tags: Vec<Tag>,
    #[serde(default)]
    tag_keys: Vec<String>,
    marker: Option<String>,
    max_items: Option<i64>,
}

fn req<'a>(v: &'a Option<String>, member: &str) -> Result<&'a str, AwsError> {
    v.as_deref().ok_or_else(|| AwsError::validation(format!("{member} is required")))
}

fn policy_json(p: &Resolved, with_tags: bool) -> Value {
    match p {
        Resolved::Local(p) => {
            let mut v = json!({
                "PolicyName": p.name, "PolicyId": p.id, "Arn": p.arn, "Path": p.path,
                "DefaultVersionId": p.default_version, "AttachmentCount": p.attachments,
                "PermissionsBoundaryUsageCount": p.boundary_uses, "IsAttachable": true,
                "CreateDate": ts(p.created), "UpdateDate": ts(p.updated),
            });
            if let Some(d) = &p.description {
                v["Description"] = json!(d);
            }
            if with_tags && !p.tags.is_empty() {
                v["Tags"] = tags_json(&p.tags);
            }
            v
        }
        Resolved::Aws(p) => json!({
            "PolicyName": p.name, "PolicyId": p.id(), "Arn": p.arn(), "Path": p.path,
            "DefaultVersionId": "v1", "AttachmentCount": 0, "PermissionsBoundaryUsageCount": 0,
            "IsAttachable": true, "Description": p.description,
            "CreateDate": 1_423_000_000.0, "UpdateDate": 1_423_000_000.0,
        }),
    }
}

fn version_json(v: &PolicyVersion, default: &str) -> Value {
    json!({"Document": encode_doc(&v.document), "VersionId": v.id,
        "IsDefaultVersion": v.id == default, "CreateDate": ts(v.created)})
}

/// Every policy ARN attached to some user, group or role of `acct`.
fn attached_arns(tx: &Tx<'_>, acct: &str) -> Result<std::collections::BTreeSet<String>, AwsError> {
    let mut out = std::collections::BTreeSet::new();
    for (_, u) in USERS.all(tx, acct).map_err(db)? {
        out.extend(u.policies.attached);
    }
    for (_, g) in GROUPS.all(tx, acct).map_err(db)? {
        out.extend(g.policies.attached);
    }
    for (_, r) in ROLES.all(tx, acct).map_err(db)? {
        out.extend(r.policies.attached);
    }
    Ok(out)
}

pub fn call(ctx: &Context, op: &str, input: Value) -> Result<Value, AwsError> {
    let i: In = mamori_service::parse_input(input)?;
    let acct = ctx.account.as_str();
    let now = ctx.time;
    let store = ctx.dispatcher.store();
    match op {
        "CreatePolicy" => {
            let name = req(&i.policy_name, "PolicyName")?;
            check_name(name, "policyName", 128)?;
            let path = i.path.clone().unwrap_or_else(|| "/".into());
            check_path(&path, "path")?;
            let doc = req(&i.policy_document, "PolicyDocument")?;
            check_managed(doc)?;
            wr(store, |tx| {
                if POLICIES.contains(tx, acct, name).map_err(db)? {
                    return Err(AwsError::new(
                        "EntityAlreadyExistsException",
                        format!(
                            "A policy called {name} already exists. Duplicate names are not allowed."
                        ),
                    ));
                }
                let mut tags = Vec::new();
                merge_tags(&mut tags, i.tags.clone())?;
                let p = ManagedPolicy {
                    name: name.into(),
                    arn: arn(acct, "policy", &path, name),
                    path,
                    id: new_id("ANPA", 17),
                    description: i.description.clone(),
                    created: now,
                    updated: now,
                    default_version: "v1".into(),
                    versions: vec![PolicyVersion {
                        id: "v1".into(),
                        document: doc.into(),
                        created: now,
                    }],
                    next_version: 2,
                    attachments: 0,
                    boundary_uses: 0,
                    tags,
                };
                POLICIES.put(tx, acct, name, &p).map_err(db)?;
                tracing::info!(target: "iam", policy = %p.arn, "policy created");
                Ok(json!({"Policy": policy_json(&Resolved::Local(Box::new(p)), true)}))
            })
        }
        "GetPolicy" => {
            let arn = req(&i.policy_arn, "PolicyArn")?;
            rd(store, |tx| match resolve(tx, acct, arn)? {
                Some(p) => Ok(json!({"Policy": policy_json(&p, true)})),
                None => Err(AwsError::new(
                    "NoSuchEntityException",
                    format!("Policy {arn} was not found."),
                )),
            })
        }
        "DeletePolicy" => {
            let arn = req(&i.policy_arn, "PolicyArn")?;
            wr(store, |tx| {
                let p = get_local(tx, acct, arn)?;
                if p.attachments > 0 || p.boundary_uses > 0 {
                    return Err(AwsError::new(
                        "DeleteConflictException",
                        "Cannot delete a policy attached to entities.",
                    ));
                }
                POLICIES.delete(tx, acct, &p.name).map_err(db)?;
                Ok(json!({}))
            })
        }
        "ListPolicies" => rd(store, |tx| {
            let scope = i.scope.as_deref().unwrap_or("All");
            let mut items: Vec<(String, Resolved)> = Vec::new();
            if scope != "Local" {
                items.extend(managed::all().iter().map(|p| (p.arn(), Resolved::Aws(p))));
            }
            if scope != "AWS" {
                items.extend(
                    POLICIES
                        .all(tx, acct)
                        .map_err(db)?
                        .into_iter()
                        .map(|(_, p)| (p.arn.clone(), Resolved::Local(Box::new(p)))),
                );
            }
            let prefix = i.path_prefix.as_deref().unwrap_or("/");
            let attached =
                if i.only_attached == Some(true) { Some(attached_arns(tx, acct)?) } else { None };
            items.retain(|(arn, p)| {
                let path = match p {
                    Resolved::Local(p) => p.path.as_str(),
                    Resolved::Aws(p) => p.path,
                };
                path.starts_with(prefix) && attached.as_ref().is_none_or(|a| a.contains(arn))
            });
            items.sort_by(|a, b| a.0.cmp(&b.0));
            let (page, marker) = paginate(items, i.marker.as_deref(), i.max_items);
            let out: Vec<_> = page.iter().map(|p| policy_json(p, false)).collect();
            Ok(with_page(json!({"Policies": out}), marker))
        }),
        "CreatePolicyVersion" => {
            let arn = req(&i.policy_arn, "PolicyArn")?;
            let doc = req(&i.policy_document, "PolicyDocument")?;
            check_managed(doc)?;
            wr(store, |tx| {
                let mut p = get_local(tx, acct, arn)?;
                if p.versions.len() >= 5 {
                    return Err(AwsError::new(
                        "LimitExceededException",
                        "A managed policy can have up to 5 versions. Before you create a new version, you must delete an existing version.",
                    ));
                }
                let v = PolicyVersion {
                    id: format!("v{}", p.next_version),
                    document: doc.into(),
                    created: now,
                };
                p.next_version += 1;
                if i.set_as_default == Some(true) {
                    p.default_version = v.id.clone();
                }
                p.updated = now;
                let out = version_json(&v, &p.default_version);
                p.versions.push(v);
                POLICIES.put(tx, acct, &p.name.clone(), &p).map_err(db)?;
                Ok(json!({"PolicyVersion": out}))
            })
        }
        "GetPolicyVersion" => {
            let arn = req(&i.policy_arn, "PolicyArn")?;
            let vid = req(&i.version_id, "VersionId")?;
            rd(store, |tx| match resolve(tx, acct, arn)? {
                Some(Resolved::Local(p)) => p
                    .versions
                    .iter()
                    .find(|v| v.id == vid)
                    .map(|v| json!({"PolicyVersion": version_json(v, &p.default_version)}))
                    .ok_or_else(|| {
                        AwsError::new(
                            "NoSuchEntityException",
                            format!(
                                "Policy {arn} version {vid} does not exist or is not attachable."
                            ),
                        )
                    }),
                Some(Resolved::Aws(p)) if vid == "v1" => {
                    let v = PolicyVersion {
                        id: "v1".into(),
                        document: p.document.into(),
                        created: chrono::DateTime::from_timestamp(1_423_000_000, 0).unwrap_or(now),
                    };
                    Ok(json!({"PolicyVersion": version_json(&v, "v1")}))
                }
                _ => Err(AwsError::new(
                    "NoSuchEntityException",
                    format!("Policy {arn} version {vid} does not exist or is not attachable."),
                )),
            })
        }
        "ListPolicyVersions" => {
            let arn = req(&i.policy_arn, "PolicyArn")?;
            rd(store, |tx| match resolve(tx, acct, arn)? {
                Some(Resolved::Local(p)) => {
                    let mut vs: Vec<_> = p
                        .versions
                        .iter()
                        .rev()
                        .map(|v| version_json(v, &p.default_version))
                        .collect();
                    for v in &mut vs {
                        v.as_object_mut().map(|o| o.remove("Document"));
                    }
                    Ok(json!({"Versions": vs, "IsTruncated": false}))
                }
                Some(Resolved::Aws(_)) => Ok(
                    json!({"Versions": [{"VersionId": "v1", "IsDefaultVersion": true, "CreateDate": 1_423_000_000.0}], "IsTruncated": false}),
                ),
                None => Err(AwsError::new(
                    "NoSuchEntityException",
                    format!("Policy {arn} was not found."),
                )),
            })
        }
        "SetDefaultPolicyVersion" | "DeletePolicyVersion" => {
            let arn = req(&i.policy_arn, "PolicyArn")?;
            let vid = req(&i.version_id, "VersionId")?;
            wr(store, |tx| {
                let mut p = get_local(tx, acct, arn)?;
                let Some(pos) = p.versions.iter().position(|v| v.id == vid) else {
                    return Err(AwsError::new(
                        "NoSuchEntityException",
                        format!("Policy {arn} version {vid} does not exist or is not attachable."),
                    ));
                };
                if op == "SetDefaultPolicyVersion" {
                    p.default_version = vid.into();
                } else if p.default_version == vid {
                    return Err(AwsError::new(
                        "DeleteConflictException",
                        "Cannot delete the default version of a policy.",
                    ));
                } else {
                    p.versions.remove(pos);
                }
                p.updated = now;
                POLICIES.put(tx, acct, &p.name.clone(), &p).map_err(db)?;
                Ok(json!({}))
            })
        }
        "ListEntitiesForPolicy" => {
            let arn = req(&i.policy_arn, "PolicyArn")?;
            rd(store, |tx| {
                if resolve(tx, acct, arn)?.is_none() {
                    return Err(AwsError::new(
                        "NoSuchEntityException",
                        format!("Policy {arn} was not found."),
                    ));
                }
                let has = |p: &Policies| p.attached.iter().any(|a| a == arn);
                let users: Vec<_> = USERS
                    .all(tx, acct)
                    .map_err(db)?
                    .into_iter()
                    .filter(|(_, u)| has(&u.policies))
                    .map(|(_, u)| json!({"UserName": u.name, "UserId": u.id}))
                    .collect();
                let groups: Vec<_> = GROUPS
                    .all(tx, acct)
                    .map_err(db)?
                    .into_iter()
                    .filter(|(_, g)| has(&g.policies))
                    .map(|(_, g)| json!({"GroupName": g.name, "GroupId": g.id}))
                    .collect();
                let roles: Vec<_> = ROLES
                    .all(tx, acct)
                    .map_err(db)?
                    .into_iter()
                    .filter(|(_, r)| has(&r.policies))
                    .map(|(_, r)| json!({"RoleName": r.name, "RoleId": r.id}))
                    .collect();
                Ok(
                    json!({"PolicyUsers": users, "PolicyGroups": groups, "PolicyRoles": roles, "IsTruncated": false}),
                )
            })
        }
        "TagPolicy" | "UntagPolicy" | "ListPolicyTags" => {
            let arn = req(&i.policy_arn, "PolicyArn")?;
            wr(store, |tx| {
                let mut p = get_local(tx, acct, arn)?;
                let out = if op == "TagPolicy" {
                    merge_tags(&mut p.tags, i.tags.clone())?;
                    json!({})
                } else if op == "UntagPolicy" {
                    p.tags.retain(|t| !i.tag_keys.contains(&t.key));
                    json!({})
                } else {
                    json!({"Tags": p.tags, "IsTruncated": false})
                };
                POLICIES.put(tx, acct, &p.name.clone(), &p).map_err(db)?;
                Ok(out)
            })
        }
        other => Err(AwsError::not_implemented("iam", other)),
    }
}

/// `Attach*Policy` / `Detach*Policy` on `policies`, keeping the policy's count.
pub fn attach(
    tx: &Tx<'_>,
    acct: &str,
    policies: &mut Policies,
    arn: &str,
    attach: bool,
) -> Result<(), AwsError> {
    if attach {
        if resolve(tx, acct, arn)?.is_none() {
            return Err(no_such_policy(arn));
        }
        if !policies.attached.iter().any(|a| a == arn) {
            if policies.attached.len() >= 10 {
                return Err(AwsError::new(
                    "LimitExceededException",
                    "Cannot exceed quota for PoliciesPerUser: 10",
                ));
            }
            policies.attached.push(arn.into());
            adjust_counts(tx, acct, arn, 1, 0)?;
        }
    } else {
        let Some(pos) = policies.attached.iter().position(|a| a == arn) else {
            return Err(AwsError::new(
                "NoSuchEntityException",
                format!("Policy {arn} was not found."),
            ));
        };
        policies.attached.remove(pos);
        adjust_counts(tx, acct, arn, -1, 0)?;
    }
    Ok(())
}

/// `ListAttached*Policies`.
pub fn list_attached(
    tx: &Tx<'_>,
    acct: &str,
    policies: &Policies,
    marker: Option<&str>,
    max: Option<i64>,
) -> Result<Value, AwsError> {
    let mut items = Vec::new();
    for arn in &policies.attached {
        let name = match resolve(tx, acct, arn)? {
            Some(p) => p.name().to_owned(),
            None => arn.rsplit('/').next().unwrap_or(arn).to_owned(),
        };
        items.push((arn.clone(), json!({"PolicyName": name, "PolicyArn": arn})));
    }
    items.sort_by(|a, b| a.0.cmp(&b.0));
    let (page, marker) = paginate(items, marker, max);
    Ok(with_page(json!({"AttachedPolicies": page}), marker))
}
