//! Access keys, following the IAM API pages `CreateAccessKey`, `ListAccessKeys`,
//! `UpdateAccessKey`, `DeleteAccessKey` and `GetAccessKeyLastUsed`. The key itself is
//! written to the framework's `ACCESS_KEYS` collection, which SigV4 reads: a new key signs
//! at once, and an `Inactive` one is refused.

use mamori_aws::AwsError;
use mamori_service::{
    ACCESS_KEY_PARTITION, ACCESS_KEYS, Context, PrincipalKind, StoredAccessKey, StoredPrincipalKind,
};
use serde::Deserialize;
use serde_json::{Value, json};

use super::entities::get_user;
use crate::state::*;

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct In {
    user_name: Option<String>,
    access_key_id: Option<String>,
    status: Option<String>,
    marker: Option<String>,
    max_items: Option<i64>,
}

/// The user a key operation is about: `UserName`, or the calling IAM user.
fn target(ctx: &Context, i: &In) -> Result<String, AwsError> {
    if let Some(n) = &i.user_name {
        return Ok(n.clone());
    }
    match &ctx.principal.kind {
        PrincipalKind::IamUser { name } => Ok(name.clone()),
        // GAP: root access keys are configured on the command line, not managed by IAM.
        _ => Err(AwsError::validation(
            "Must specify userName when calling with non-User credentials",
        )),
    }
}

fn status(active: bool) -> &'static str {
    if active { "Active" } else { "Inactive" }
}

pub fn call(ctx: &Context, op: &str, input: Value) -> Result<Value, AwsError> {
    let i: In = mamori_service::parse_input(input)?;
    let acct = ctx.account.as_str();
    let store = ctx.dispatcher.store();
    match op {
        "CreateAccessKey" => {
            let name = target(ctx, &i)?;
            wr(store, |tx| {
                let mut u = get_user(tx, acct, &name)?;
                if u.keys.len() >= 2 {
                    return Err(AwsError::new(
                        "LimitExceededException",
                        "Cannot exceed quota for AccessKeysPerUser: 2",
                    ));
                }
                let id = new_id("AKIA", 16);
                let secret = new_secret();
                let key = StoredAccessKey {
                    secret: secret.clone(),
                    session_token: None,
                    account: ctx.account.clone(),
                    arn: u.arn.clone(),
                    user_id: u.id.clone(),
                    kind: StoredPrincipalKind::IamUser { name: name.clone() },
                    active: true,
                    expires: None,
                    mfa: false,
                    mfa_time: None,
                    session_policies: Vec::new(),
                };
                ACCESS_KEYS.put(tx, ACCESS_KEY_PARTITION, &id, &key).map_err(db)?;
                u.keys.push(KeyMeta { id: id.clone(), active: true, created: ctx.time });
                USERS.put(tx, acct, &name, &u).map_err(db)?;
                tracing::info!(target: "iam", user = %u.arn, key = %id, "access key created");
                Ok(json!({"AccessKey": {"UserName": name, "AccessKeyId": id, "Status": "Active",
                    "SecretAccessKey": secret, "CreateDate": ts(ctx.time)}}))
            })
        }
        "ListAccessKeys" => {
            let name = target(ctx, &i)?;
            rd(store, |tx| {
                let u = get_user(tx, acct, &name)?;
                let items: Vec<_> = u
                    .keys
                    .iter()
                    .map(|k| {
                        (
                            k.id.clone(),
                            json!({"UserName": name, "AccessKeyId": k.id,
                            "Status": status(k.active), "CreateDate": ts(k.created)}),
                        )
                    })
                    .collect();
                let (page, marker) = paginate(items, i.marker.as_deref(), i.max_items);
                Ok(with_page(json!({"AccessKeyMetadata": page}), marker))
            })
        }
        "UpdateAccessKey" | "DeleteAccessKey" => {
            let name = target(ctx, &i)?;
            let id = i
                .access_key_id
                .as_deref()
                .ok_or_else(|| AwsError::validation("AccessKeyId is required"))?;
            wr(store, |tx| {
                let mut u = get_user(tx, acct, &name)?;
                let Some(pos) = u.keys.iter().position(|k| k.id == id) else {
                    return Err(AwsError::new(
                        "NoSuchEntityException",
                        format!("The Access Key with id {id} cannot be found."),
                    ));
                };
                if op == "DeleteAccessKey" {
                    u.keys.remove(pos);
                    ACCESS_KEYS.delete(tx, ACCESS_KEY_PARTITION, id).map_err(db)?;
                } else {
                    let active = match i.status.as_deref() {
                        Some("Active") => true,
                        Some("Inactive") => false,
                        other => {
                            return Err(validation(
                                other.unwrap_or(""),
                                "status",
                                "Member must satisfy enum value set: [Active, Inactive]",
                            ));
                        }
                    };
                    u.keys[pos].active = active;
                    if let Some(mut k) =
                        ACCESS_KEYS.get(tx, ACCESS_KEY_PARTITION, id).map_err(db)?
                    {
                        k.active = active;
                        ACCESS_KEYS.put(tx, ACCESS_KEY_PARTITION, id, &k).map_err(db)?;
                    }
                }
                USERS.put(tx, acct, &name, &u).map_err(db)?;
                tracing::info!(target: "iam", user = %u.arn, key = %id, op, "access key changed");
                Ok(json!({}))
            })
        }
        "GetAccessKeyLastUsed" => {
            let id = i
                .access_key_id
                .as_deref()
                .ok_or_else(|| AwsError::validation("AccessKeyId is required"))?;
            rd(store, |tx| {
                let key = ACCESS_KEYS.get(tx, ACCESS_KEY_PARTITION, id).map_err(db)?;
                match key {
                    Some(StoredAccessKey {
                        kind: StoredPrincipalKind::IamUser { name },
                        account,
                        ..
                    }) if account.as_str() == acct => {
                        // A key never used answers N/A, as AWS does.
                        let used = match KEY_LAST_USED
                            .get(tx, ACCESS_KEY_PARTITION, id)
                            .map_err(db)?
                        {
                            Some(u) => json!({"LastUsedDate": ts(u.time), "ServiceName": u.service,
                                "Region": u.region}),
                            None => json!({"ServiceName": "N/A", "Region": "N/A"}),
                        };
                        Ok(json!({"UserName": name, "AccessKeyLastUsed": used}))
                    }
                    _ => Err(AwsError::new(
                        "NoSuchEntityException",
                        format!("The Access Key with id {id} cannot be found."),
                    )),
                }
            })
        }
        other => Err(AwsError::not_implemented("iam", other)),
    }
}
