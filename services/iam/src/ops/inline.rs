//! Inline policies and managed-policy attachments of users, groups and roles, following the
//! IAM API pages `PutUserPolicy`, `PutGroupPolicy`, `PutRolePolicy`, `AttachUserPolicy` and
//! their siblings. Inline documents are capped at 2,048 (user), 5,120 (group) and 10,240
//! (role) non-whitespace characters, summed over the entity's inline policies, as IAM's
//! quotas page says.

use mamori_aws::AwsError;
use mamori_policy::{Policy, PolicyKind, non_whitespace_len};
use mamori_service::Context;
use mamori_store::Tx;
use serde::Deserialize;
use serde_json::{Value, json};

use super::entities::{get_group, get_role, get_user};
use super::policies::{attach, list_attached};
use crate::state::*;

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct In {
    user_name: Option<String>,
    group_name: Option<String>,
    role_name: Option<String>,
    policy_name: Option<String>,
    policy_document: Option<String>,
    policy_arn: Option<String>,
    marker: Option<String>,
    max_items: Option<i64>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    User,
    Group,
    Role,
}

impl Kind {
    fn of(op: &str) -> Option<Kind> {
        if op.contains("User") {
            Some(Kind::User)
        } else if op.contains("Group") {
            Some(Kind::Group)
        } else if op.contains("Role") {
            Some(Kind::Role)
        } else {
            None
        }
    }

    fn inline_quota(self) -> (usize, &'static str) {
        match self {
            Kind::User => (2048, "UserPolicySize"),
            Kind::Group => (5120, "GroupPolicySize"),
            Kind::Role => (10240, "RolePolicySize"),
        }
    }

    fn label(self) -> &'static str {
        match self {
            Kind::User => "user",
            Kind::Group => "group",
            Kind::Role => "role",
        }
    }
}

/// Loads the entity's policies, lets `f` change them, and writes them back when asked.
fn with_policies<R>(
    tx: &Tx<'_>,
    acct: &str,
    kind: Kind,
    name: &str,
    write: bool,
    f: impl FnOnce(&Tx<'_>, &mut Policies) -> Result<R, AwsError>,
) -> Result<R, AwsError> {
    match kind {
        Kind::User => {
            let mut u = get_user(tx, acct, name)?;
            let out = f(tx, &mut u.policies)?;
            if write {
                USERS.put(tx, acct, name, &u).map_err(db)?;
            }
            Ok(out)
        }
        Kind::Group => {
            let mut g = get_group(tx, acct, name)?;
            let out = f(tx, &mut g.policies)?;
            if write {
                GROUPS.put(tx, acct, name, &g).map_err(db)?;
            }
            Ok(out)
        }
        Kind::Role => {
            let mut r = get_role(tx, acct, name)?;
            let out = f(tx, &mut r.policies)?;
            if write {
                ROLES.put(tx, acct, name, &r).map_err(db)?;
            }
            Ok(out)
        }
    }
}

pub fn call(ctx: &Context, op: &str, input: Value) -> Result<Value, AwsError> {
    let Some(kind) = Kind::of(op) else {
        return Err(AwsError::not_implemented("iam", op));
    };
    let i: In = mamori_service::parse_input(input)?;
    let name_field = match kind {
        Kind::User => &i.user_name,
        Kind::Group => &i.group_name,
        Kind::Role => &i.role_name,
    };
    let name = name_field
        .as_deref()
        .ok_or_else(|| AwsError::validation(format!("{}Name is required", kind.label())))?;
    let acct = ctx.account.as_str();
    let store = ctx.dispatcher.store();
    let policy_name =
        || i.policy_name.as_deref().ok_or_else(|| AwsError::validation("PolicyName is required"));
    let policy_arn =
        || i.policy_arn.as_deref().ok_or_else(|| AwsError::validation("PolicyArn is required"));
    let name_key = match kind {
        Kind::User => "UserName",
        Kind::Group => "GroupName",
        Kind::Role => "RoleName",
    };
    if op.starts_with("Put") {
        let pname = policy_name()?;
        check_name(pname, "policyName", 128)?;
        let doc = i
            .policy_document
            .as_deref()
            .ok_or_else(|| AwsError::validation("PolicyDocument is required"))?;
        Policy::parse(doc, PolicyKind::Identity)
            .map_err(|e| AwsError::new("MalformedPolicyDocumentException", e.iam_message()))?;
        let (quota, _) = kind.inline_quota();
        return wr(store, |tx| {
            with_policies(tx, acct, kind, name, true, |_, p| {
                let others: usize = p
                    .inline
                    .iter()
                    .filter(|(n, _)| n.as_str() != pname)
                    .map(|(_, d)| non_whitespace_len(d))
                    .sum();
                if others + non_whitespace_len(doc) > quota {
                    return Err(AwsError::new(
                        "LimitExceededException",
                        format!(
                            "Maximum policy size of {quota} bytes exceeded for {} {name}",
                            kind.label()
                        ),
                    ));
                }
                p.inline.insert(pname.to_owned(), doc.to_owned());
                Ok(json!({}))
            })
        });
    }
    if op.starts_with("Get") {
        let pname = policy_name()?;
        return rd(store, |tx| {
            with_policies(tx, acct, kind, name, false, |_, p| {
                let doc = p.inline.get(pname).ok_or_else(|| {
                    AwsError::new(
                        "NoSuchEntityException",
                        format!("The {} policy with name {pname} cannot be found.", kind.label()),
                    )
                })?;
                Ok(json!({name_key: name, "PolicyName": pname, "PolicyDocument": encode_doc(doc)}))
            })
        });
    }
    if op.starts_with("Delete") {
        let pname = policy_name()?;
        return wr(store, |tx| {
            with_policies(tx, acct, kind, name, true, |_, p| {
                p.inline.remove(pname).ok_or_else(|| {
                    AwsError::new(
                        "NoSuchEntityException",
                        format!("The {} policy with name {pname} cannot be found.", kind.label()),
                    )
                })?;
                Ok(json!({}))
            })
        });
    }
    if op.starts_with("Attach") || op.starts_with("Detach") {
        let arn = policy_arn()?;
        let on = op.starts_with("Attach");
        return wr(store, |tx| {
            with_policies(tx, acct, kind, name, true, |tx, p| {
                attach(tx, acct, p, arn, on)?;
                Ok(json!({}))
            })
        });
    }
    if op.starts_with("ListAttached") {
        return rd(store, |tx| {
            with_policies(tx, acct, kind, name, false, |tx, p| {
                list_attached(tx, acct, p, i.marker.as_deref(), i.max_items)
            })
        });
    }
    if op.starts_with("List") {
        return rd(store, |tx| {
            with_policies(tx, acct, kind, name, false, |_, p| {
                let items: Vec<_> = p.inline.keys().map(|k| (k.clone(), k.clone())).collect();
                let (page, marker) = paginate(items, i.marker.as_deref(), i.max_items);
                Ok(with_page(json!({"PolicyNames": page}), marker))
            })
        });
    }
    Err(AwsError::not_implemented("iam", op))
}
