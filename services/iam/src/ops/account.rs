//! Account-wide views and settings, following the IAM API pages
//! `GetAccountAuthorizationDetails`, `UpdateAccountPasswordPolicy`,
//! `GetAccountPasswordPolicy`, `DeleteAccountPasswordPolicy` and `CreateLoginProfile`, and
//! <https://docs.aws.amazon.com/IAM/latest/UserGuide/id_credentials_passwords_account-policy.html>.

use hmac::{Hmac, Mac};
use mamori_aws::AwsError;
use mamori_service::Context;
use serde::Deserialize;
use serde_json::{Value, json};
use sha1::Sha1;

use super::entities::{get_user, role_json, user_json};
use super::policies::resolve;
use crate::state::*;

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct In {
    user_name: Option<String>,
    password: Option<String>,
    password_reset_required: Option<bool>,
    marker: Option<String>,
    max_items: Option<i64>,
}

const PASSWORD_POLICY: &str = "password_policy";

fn no_password_policy(acct: &str) -> AwsError {
    AwsError::new(
        "NoSuchEntityException",
        format!("The Password Policy with domain name {acct} cannot be found."),
    )
}

/// The password rules in force: the account's policy, or IAM's default when none is set
/// (at least 8 characters with three of upper case, lower case, digits and symbols).
fn check_password(policy: Option<&Value>, password: &str) -> Result<(), AwsError> {
    let upper = password.chars().any(|c| c.is_ascii_uppercase());
    let lower = password.chars().any(|c| c.is_ascii_lowercase());
    let digit = password.chars().any(|c| c.is_ascii_digit());
    let symbol = password.chars().any(|c| c.is_ascii_punctuation());
    let ok = match policy {
        None => {
            password.chars().count() >= 8
                && [upper, lower, digit, symbol].iter().filter(|x| **x).count() >= 3
        }
        Some(p) => {
            let flag = |k: &str| p.get(k).and_then(Value::as_bool).unwrap_or(false);
            let min = p.get("MinimumPasswordLength").and_then(Value::as_u64).unwrap_or(6);
            password.chars().count() as u64 >= min
                && (!flag("RequireUppercaseCharacters") || upper)
                && (!flag("RequireLowercaseCharacters") || lower)
                && (!flag("RequireNumbers") || digit)
                && (!flag("RequireSymbols") || symbol)
        }
    };
    if ok {
        Ok(())
    } else {
        Err(AwsError::new(
            "PasswordPolicyViolationException",
            "Password does not conform to the account password policy.",
        ))
    }
}

fn hash(user_id: &str, password: &str) -> String {
    let mut mac = Hmac::<Sha1>::new_from_slice(user_id.as_bytes()).unwrap_or_else(|_| {
        Hmac::<Sha1>::new_from_slice(b"mamori")
            .unwrap_or_else(|_| unreachable!("HMAC takes any key"))
    });
    mac.update(password.as_bytes());
    mac.finalize().into_bytes().iter().map(|b| format!("{b:02x}")).collect()
}

fn policy_details(p: &Policies) -> (Vec<Value>, Vec<Value>) {
    let inline = p
        .inline
        .iter()
        .map(|(n, d)| json!({"PolicyName": n, "PolicyDocument": encode_doc(d)}))
        .collect();
    let attached = p
        .attached
        .iter()
        .map(|a| json!({"PolicyName": a.rsplit('/').next().unwrap_or(a), "PolicyArn": a}))
        .collect();
    (inline, attached)
}

pub fn call(ctx: &Context, op: &str, input: Value) -> Result<Value, AwsError> {
    let acct = ctx.account.as_str();
    let store = ctx.dispatcher.store();
    let i: In = mamori_service::parse_input(input.clone())?;
    match op {
        "GetAccountAuthorizationDetails" => rd(store, |tx| {
            let mut items: Vec<(String, (char, Value))> = Vec::new();
            let mut used = std::collections::BTreeSet::new();
            for (_, u) in USERS.all(tx, acct).map_err(db)? {
                let (inline, attached) = policy_details(&u.policies);
                used.extend(u.policies.attached.iter().cloned());
                let mut v = user_json(&u, true);
                v["UserPolicyList"] = json!(inline);
                v["AttachedManagedPolicies"] = json!(attached);
                v["GroupList"] = json!(u.groups);
                items.push((format!("1{}", u.name), ('u', v)));
            }
            for (_, g) in GROUPS.all(tx, acct).map_err(db)? {
                let (inline, attached) = policy_details(&g.policies);
                used.extend(g.policies.attached.iter().cloned());
                let v = json!({"Path": g.path, "GroupName": g.name, "GroupId": g.id, "Arn": g.arn,
                    "CreateDate": ts(g.created), "GroupPolicyList": inline, "AttachedManagedPolicies": attached});
                items.push((format!("2{}", g.name), ('g', v)));
            }
            for (_, r) in ROLES.all(tx, acct).map_err(db)? {
                let (inline, attached) = policy_details(&r.policies);
                used.extend(r.policies.attached.iter().cloned());
                let mut v = role_json(&r, true);
                v.as_object_mut().map(|o| o.remove("MaxSessionDuration"));
                v.as_object_mut().map(|o| o.remove("Description"));
                v["RolePolicyList"] = json!(inline);
                v["AttachedManagedPolicies"] = json!(attached);
                let profiles: Vec<Value> = super::profiles_for_role(tx, acct, &r.name)?
                    .iter()
                    .map(|(_, p)| super::profile_json(tx, acct, p, true))
                    .collect();
                v["InstanceProfileList"] = json!(profiles);
                items.push((format!("3{}", r.name), ('r', v)));
            }
            let mut local: Vec<_> =
                POLICIES.all(tx, acct).map_err(db)?.into_iter().map(|(_, p)| p.arn).collect();
            local.extend(used.into_iter().filter(|a| a.starts_with("arn:aws:iam::aws:")));
            local.sort();
            local.dedup();
            for arn in local {
                let Some(p) = resolve(tx, acct, &arn)? else { continue };
                let v = match p {
                    super::policies::Resolved::Local(p) => json!({
                        "PolicyName": p.name, "PolicyId": p.id, "Arn": p.arn, "Path": p.path,
                        "DefaultVersionId": p.default_version, "AttachmentCount": p.attachments,
                        "PermissionsBoundaryUsageCount": p.boundary_uses, "IsAttachable": true,
                        "CreateDate": ts(p.created), "UpdateDate": ts(p.updated),
                        "PolicyVersionList": p.versions.iter().map(|v| json!({"Document": encode_doc(&v.document),
                            "VersionId": v.id, "IsDefaultVersion": v.id == p.default_version, "CreateDate": ts(v.created)})).collect::<Vec<_>>(),
                    }),
                    super::policies::Resolved::Aws(p) => json!({
                        "PolicyName": p.name, "PolicyId": p.id(), "Arn": p.arn(), "Path": p.path,
                        "DefaultVersionId": "v1", "IsAttachable": true,
                        "PolicyVersionList": [{"Document": encode_doc(p.document), "VersionId": "v1", "IsDefaultVersion": true}],
                    }),
                };
                items.push((format!("4{arn}"), ('p', v)));
            }
            let (page, marker) = paginate(items, i.marker.as_deref(), i.max_items);
            let pick = |k: char| {
                page.iter().filter(|(c, _)| *c == k).map(|(_, v)| v.clone()).collect::<Vec<_>>()
            };
            Ok(with_page(
                json!({"UserDetailList": pick('u'), "GroupDetailList": pick('g'),
                "RoleDetailList": pick('r'), "Policies": pick('p')}),
                marker,
            ))
        }),
        "UpdateAccountPasswordPolicy" => wr(store, |tx| {
            let mut p = input.clone();
            let expires = p.get("MaxPasswordAge").and_then(Value::as_i64).is_some_and(|d| d > 0);
            p["ExpirePasswords"] = json!(expires);
            for k in [
                "RequireSymbols",
                "RequireNumbers",
                "RequireUppercaseCharacters",
                "RequireLowercaseCharacters",
                "AllowUsersToChangePassword",
            ] {
                if p.get(k).is_none() {
                    p[k] = json!(false);
                }
            }
            if p.get("MinimumPasswordLength").is_none() {
                p["MinimumPasswordLength"] = json!(6);
            }
            SETTINGS.put(tx, acct, PASSWORD_POLICY, &p).map_err(db)?;
            Ok(json!({}))
        }),
        "GetAccountPasswordPolicy" => rd(store, |tx| {
            let p = SETTINGS
                .get(tx, acct, PASSWORD_POLICY)
                .map_err(db)?
                .ok_or_else(|| no_password_policy(acct))?;
            Ok(json!({"PasswordPolicy": p}))
        }),
        "DeleteAccountPasswordPolicy" => wr(store, |tx| {
            if !SETTINGS.delete(tx, acct, PASSWORD_POLICY).map_err(db)? {
                return Err(no_password_policy(acct));
            }
            Ok(json!({}))
        }),
        "CreateLoginProfile" | "UpdateLoginProfile" | "GetLoginProfile" | "DeleteLoginProfile" => {
            let name = i.user_name.clone().or_else(|| match &ctx.principal.kind {
                mamori_service::PrincipalKind::IamUser { name } => Some(name.clone()),
                _ => None,
            });
            let name = name.ok_or_else(|| AwsError::validation("UserName is required"))?;
            wr(store, |tx| {
                let mut u = get_user(tx, acct, &name)?;
                let missing = || {
                    AwsError::new(
                        "NoSuchEntityException",
                        format!("Login Profile for User {name} cannot be found."),
                    )
                };
                let out = match op {
                    "CreateLoginProfile" | "UpdateLoginProfile" => {
                        if op == "CreateLoginProfile" && u.login.is_some() {
                            return Err(AwsError::new(
                                "EntityAlreadyExistsException",
                                format!("Login Profile for user {name} already exists."),
                            ));
                        }
                        if op == "UpdateLoginProfile" && u.login.is_none() {
                            return Err(missing());
                        }
                        let policy = SETTINGS.get(tx, acct, PASSWORD_POLICY).map_err(db)?;
                        let old = u.login.take();
                        let password_hash = match &i.password {
                            Some(pw) => {
                                check_password(policy.as_ref(), pw)?;
                                hash(&u.id, pw)
                            }
                            None => match &old {
                                Some(o) => o.password_hash.clone(),
                                None => return Err(AwsError::validation("Password is required")),
                            },
                        };
                        let reset = i
                            .password_reset_required
                            .unwrap_or(old.as_ref().is_some_and(|o| o.reset_required));
                        let created = old.map_or(ctx.time, |o| o.created);
                        u.login =
                            Some(LoginProfile { created, reset_required: reset, password_hash });
                        if op == "CreateLoginProfile" {
                            json!({"LoginProfile": {"UserName": name, "CreateDate": ts(created), "PasswordResetRequired": reset}})
                        } else {
                            json!({})
                        }
                    }
                    "GetLoginProfile" => {
                        let l = u.login.as_ref().ok_or_else(missing)?;
                        return Ok(
                            json!({"LoginProfile": {"UserName": name, "CreateDate": ts(l.created), "PasswordResetRequired": l.reset_required}}),
                        );
                    }
                    _ => {
                        u.login.take().ok_or_else(missing)?;
                        json!({})
                    }
                };
                USERS.put(tx, acct, &name, &u).map_err(db)?;
                Ok(out)
            })
        }
        other => Err(AwsError::not_implemented("iam", other)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_follow_the_policy() {
        let p =
            json!({"MinimumPasswordLength": 12, "RequireSymbols": true, "RequireNumbers": true});
        for (pw, ok) in
            [("short1!", false), ("longenoughpassword", false), ("longenough1!pass", true)]
        {
            assert_eq!(check_password(Some(&p), pw).is_ok(), ok, "{pw}");
        }
        assert!(check_password(None, "Abcdefg1").is_ok());
        assert!(check_password(None, "abcdefgh").is_err());
        assert_ne!(hash("AIDA1", "pw"), hash("AIDA2", "pw"));
    }
}
