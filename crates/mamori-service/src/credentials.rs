//! How an access key id resolves to its secret and principal: the configured root key
//! first, then the keys kept in the store (IAM users' keys and STS session credentials,
//! written by those services), which may be inactive or expired.

use chrono::{DateTime, Utc};
use mamori_aws::AccountId;
use mamori_store::{Collection, Store};
use serde::{Deserialize, Serialize};

use crate::{Principal, PrincipalKind, SharedClock};

/// A resolved credential.
#[derive(Debug, Clone)]
pub struct Credential {
    /// The secret access key.
    pub secret: String,
    /// The session token that must accompany temporary credentials.
    pub session_token: Option<String>,
    /// Who signs with it.
    pub principal: Principal,
}

/// Looks up access keys.
pub trait Credentials: Send + Sync {
    /// The credential of `access_key_id`, if it exists and is active.
    fn lookup(&self, access_key_id: &str) -> Option<Credential>;
}

/// The configured root key of the default account.
#[derive(Debug, Clone)]
pub struct RootCredentials {
    /// The access key id (`test` by default).
    pub access_key_id: String,
    /// The secret (`test` by default).
    pub secret: String,
    /// The account.
    pub account: AccountId,
}

impl Credentials for RootCredentials {
    fn lookup(&self, access_key_id: &str) -> Option<Credential> {
        (access_key_id == self.access_key_id).then(|| {
            let mut principal = Principal::root(self.account.clone());
            principal.access_key_id = Some(access_key_id.to_owned());
            Credential { secret: self.secret.clone(), session_token: None, principal }
        })
    }
}

/// An access key kept in the store, in partition [`ACCESS_KEY_PARTITION`] under its id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredAccessKey {
    /// The secret access key.
    pub secret: String,
    /// The session token of temporary credentials.
    pub session_token: Option<String>,
    /// The owning account.
    pub account: AccountId,
    /// The principal's ARN.
    pub arn: String,
    /// The principal's unique id.
    pub user_id: String,
    /// The kind of principal.
    pub kind: StoredPrincipalKind,
    /// `Active` keys sign; `Inactive` ones are refused.
    pub active: bool,
    /// When temporary credentials stop working.
    pub expires: Option<DateTime<Utc>>,
    /// Whether the session was created with MFA.
    #[serde(default)]
    pub mfa: bool,
    /// When the MFA code was checked (`aws:MultiFactorAuthAge` counts from it).
    #[serde(default)]
    pub mfa_time: Option<DateTime<Utc>>,
    /// The session policies (JSON documents) passed when temporary credentials were made;
    /// the authorizer intersects the role's permissions with them.
    #[serde(default)]
    pub session_policies: Vec<String>,
}

/// The kinds of principal an access key can belong to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum StoredPrincipalKind {
    /// An account's root user.
    Root,
    /// An IAM user.
    IamUser {
        /// User name.
        name: String,
    },
    /// A role session.
    AssumedRole {
        /// Role name.
        role: String,
        /// Session name.
        session: String,
    },
}

/// The collection of stored access keys.
pub const ACCESS_KEYS: Collection<StoredAccessKey> = Collection::new("iam.access_keys");
/// Access keys are global: one partition for all accounts, as key ids are unique.
pub const ACCESS_KEY_PARTITION: &str = "global";

/// The root key, then the store.
#[derive(Debug, Clone)]
pub struct StoreCredentials {
    /// The configured root key.
    pub root: RootCredentials,
    /// The store holding other keys.
    pub store: Store,
    /// The clock that decides expiry.
    pub clock: SharedClock,
}

impl Credentials for StoreCredentials {
    fn lookup(&self, access_key_id: &str) -> Option<Credential> {
        if let Some(root) = self.root.lookup(access_key_id) {
            return Some(root);
        }
        let key =
            match self.store.read(|tx| ACCESS_KEYS.get(tx, ACCESS_KEY_PARTITION, access_key_id)) {
                Ok(k) => k?,
                Err(err) => {
                    tracing::error!(error = %err, "access key lookup failed");
                    return None;
                }
            };
        if !key.active || key.expires.is_some_and(|t| t <= self.clock.now()) {
            return None;
        }
        let kind = match key.kind {
            StoredPrincipalKind::Root => PrincipalKind::Root,
            StoredPrincipalKind::IamUser { name } => PrincipalKind::IamUser { name },
            StoredPrincipalKind::AssumedRole { role, session } => {
                PrincipalKind::AssumedRole { role, session }
            }
        };
        let principal = Principal {
            arn: key.arn,
            account: key.account,
            user_id: key.user_id,
            kind,
            access_key_id: Some(access_key_id.to_owned()),
            mfa: key.mfa,
        };
        Some(Credential { secret: key.secret, session_token: key.session_token, principal })
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use chrono::TimeDelta;

    use super::*;
    use crate::{Clock, ManualClock};

    #[test]
    fn stored_keys_resolve_until_inactive_or_expired() {
        let account = AccountId::parse("111122223333").unwrap();
        let clock = Arc::new(ManualClock::new(DateTime::from_timestamp(1_700_000_000, 0).unwrap()));
        let store = Store::in_memory().unwrap();
        let creds = StoreCredentials {
            root: RootCredentials {
                access_key_id: "test".into(),
                secret: "test".into(),
                account: account.clone(),
            },
            store: store.clone(),
            clock: clock.clone(),
        };
        let mut key = StoredAccessKey {
            secret: "s".into(),
            session_token: Some("tok".into()),
            account: account.clone(),
            arn: "arn:aws:sts::111122223333:assumed-role/r/s".into(),
            user_id: "AROA:s".into(),
            kind: StoredPrincipalKind::AssumedRole { role: "r".into(), session: "s".into() },
            active: true,
            expires: Some(clock.now() + TimeDelta::hours(1)),
            mfa: false,
            mfa_time: None,
            session_policies: Vec::new(),
        };
        store.write(|tx| ACCESS_KEYS.put(tx, ACCESS_KEY_PARTITION, "ASIA1", &key)).unwrap();
        let got = creds.lookup("ASIA1").unwrap();
        assert_eq!(got.session_token.as_deref(), Some("tok"));
        assert!(matches!(got.principal.kind, PrincipalKind::AssumedRole { .. }));
        assert!(creds.lookup("test").is_some());
        assert!(creds.lookup("nope").is_none());
        clock.advance(TimeDelta::hours(2));
        assert!(creds.lookup("ASIA1").is_none(), "expired");
        key.expires = None;
        key.active = false;
        store.write(|tx| ACCESS_KEYS.put(tx, ACCESS_KEY_PARTITION, "ASIA1", &key)).unwrap();
        assert!(creds.lookup("ASIA1").is_none(), "inactive");
    }
}
