//! How an access key id resolves to its secret and principal. The default knows only
//! the configured root key; IAM replaces it with one that also knows users' keys and
//! STS session credentials.

use mamori_aws::AccountId;

use crate::Principal;

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
