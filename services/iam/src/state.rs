//! IAM's stored entities, their ids and ARNs, and the input rules every operation shares,
//! following <https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_identifiers.html>
//! and <https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html>.
//!
//! IAM is global: every entity lives in the store partition of its account id alone.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use mamori_aws::AwsError;
use mamori_store::{Collection, Store, StoreError, Tx};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// A tag.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Tag {
    /// Key.
    pub key: String,
    /// Value.
    pub value: String,
}

/// An access key's listing entry on its user (the secret lives in `ACCESS_KEYS`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyMeta {
    /// The key id.
    pub id: String,
    /// Active or not.
    pub active: bool,
    /// Created.
    pub created: DateTime<Utc>,
}

/// What users, groups and roles share: attached managed policies, inline policies, tags.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Policies {
    /// Attached managed policy ARNs, in attachment order.
    pub attached: Vec<String>,
    /// Inline policies by name (documents as given, URL-decoded).
    pub inline: BTreeMap<String, String>,
}

/// An IAM user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    /// Name.
    pub name: String,
    /// Path (`/` or `/a/b/`).
    pub path: String,
    /// `AIDA...`.
    pub id: String,
    /// ARN.
    pub arn: String,
    /// Created.
    pub created: DateTime<Utc>,
    /// Policies.
    pub policies: Policies,
    /// Group names.
    pub groups: Vec<String>,
    /// Permissions boundary ARN.
    pub boundary: Option<String>,
    /// Tags.
    pub tags: Vec<Tag>,
    /// Access keys.
    pub keys: Vec<KeyMeta>,
    /// Console password (hash) and whether a reset is required.
    #[serde(default)]
    pub login: Option<LoginProfile>,
}

/// A console login profile.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoginProfile {
    /// Created.
    pub created: DateTime<Utc>,
    /// Must change at next sign-in.
    pub reset_required: bool,
    /// SHA-1 HMAC of the password, hex (never returned).
    pub password_hash: String,
}

/// An IAM group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Group {
    /// Name.
    pub name: String,
    /// Path.
    pub path: String,
    /// `AGPA...`.
    pub id: String,
    /// ARN.
    pub arn: String,
    /// Created.
    pub created: DateTime<Utc>,
    /// Policies.
    pub policies: Policies,
}

/// An IAM role.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Role {
    /// Name.
    pub name: String,
    /// Path.
    pub path: String,
    /// `AROA...`.
    pub id: String,
    /// ARN.
    pub arn: String,
    /// Created.
    pub created: DateTime<Utc>,
    /// The trust policy.
    pub trust: String,
    /// Description.
    pub description: Option<String>,
    /// Maximum session duration in seconds.
    pub max_session: i64,
    /// Permissions boundary ARN.
    pub boundary: Option<String>,
    /// Policies.
    pub policies: Policies,
    /// Tags.
    pub tags: Vec<Tag>,
}

/// One version of a managed policy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicyVersion {
    /// `v1`, `v2`, ...
    pub id: String,
    /// The document.
    pub document: String,
    /// Created.
    pub created: DateTime<Utc>,
}

/// A customer managed policy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManagedPolicy {
    /// Name.
    pub name: String,
    /// Path.
    pub path: String,
    /// `ANPA...`.
    pub id: String,
    /// ARN.
    pub arn: String,
    /// Description.
    pub description: Option<String>,
    /// Created.
    pub created: DateTime<Utc>,
    /// Last changed.
    pub updated: DateTime<Utc>,
    /// The default version id.
    pub default_version: String,
    /// Versions, oldest first.
    pub versions: Vec<PolicyVersion>,
    /// The next version number.
    pub next_version: u32,
    /// Users, groups and roles it is attached to.
    pub attachments: u32,
    /// Users and roles using it as their boundary.
    pub boundary_uses: u32,
    /// Tags.
    pub tags: Vec<Tag>,
}

impl ManagedPolicy {
    /// The default version's document.
    pub fn default_document(&self) -> &str {
        self.versions
            .iter()
            .find(|v| v.id == self.default_version)
            .map_or("", |v| v.document.as_str())
    }
}

/// Users by name.
pub const USERS: Collection<User> = Collection::new("iam.users");
/// Groups by name.
pub const GROUPS: Collection<Group> = Collection::new("iam.groups");
/// Roles by name.
pub const ROLES: Collection<Role> = Collection::new("iam.roles");
/// Customer managed policies by name.
pub const POLICIES: Collection<ManagedPolicy> = Collection::new("iam.policies");
/// When and where an access key was last used, by key id (partition `global`), flushed in
/// batches from the authorizer's memory.
pub const KEY_LAST_USED: Collection<KeyUse> = Collection::new("iam.key-last-used");

/// One access key's last use.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyUse {
    /// When.
    pub time: DateTime<Utc>,
    /// The service's signing name (`iam`, `sns`).
    pub service: String,
    /// The region of the call.
    pub region: String,
}

/// Account settings (password policy) by setting name.
pub const SETTINGS: Collection<Value> = Collection::new("iam.settings");

/// A store transaction's error: ours or the store's.
pub struct TxError(AwsError);

impl From<StoreError> for TxError {
    fn from(e: StoreError) -> Self {
        TxError(db(e))
    }
}

/// Runs `f` in a read transaction.
pub fn rd<T>(store: &Store, f: impl FnOnce(&Tx<'_>) -> Result<T, AwsError>) -> Result<T, AwsError> {
    store.read(|tx| f(tx).map_err(TxError)).map_err(|TxError(e)| e)
}

/// Runs `f` in a write transaction (durable when it returns).
pub fn wr<T>(store: &Store, f: impl FnOnce(&Tx<'_>) -> Result<T, AwsError>) -> Result<T, AwsError> {
    store.write(|tx| f(tx).map_err(TxError)).map_err(|TxError(e)| e)
}

/// Store errors are ours.
pub fn db(e: StoreError) -> AwsError {
    AwsError::internal(e)
}

/// A fresh unique id: a four-letter prefix and 17 characters of [A-Z2-7], 21 in all, as
/// IAM prints unique ids (`AIDA`, `AGPA`, `AROA`, `ANPA`); access keys use 16 for 20.
pub fn new_id(prefix: &str, len: usize) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let mut out = String::with_capacity(prefix.len() + len);
    out.push_str(prefix);
    let mut bytes = Vec::new();
    while bytes.len() < len {
        bytes.extend_from_slice(uuid::Uuid::new_v4().as_bytes());
    }
    out.extend(bytes.iter().take(len).map(|b| ALPHABET[usize::from(b % 32)] as char));
    out
}

/// A 40-character secret access key.
pub fn new_secret() -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut bytes = Vec::new();
    while bytes.len() < 40 {
        bytes.extend_from_slice(uuid::Uuid::new_v4().as_bytes());
    }
    bytes.iter().take(40).map(|b| ALPHABET[usize::from(b % 64)] as char).collect()
}

/// `arn:aws:iam::<account>:<kind>/<path-without-leading-slash><name>`.
pub fn arn(account: &str, kind: &str, path: &str, name: &str) -> String {
    format!("arn:aws:iam::{account}:{kind}{path}{name}")
}

/// `EntityAlreadyExists`.
pub fn already_exists(what: &str, name: &str) -> AwsError {
    AwsError::new(
        "EntityAlreadyExistsException",
        format!("{what} with name {name} already exists."),
    )
}

/// `NoSuchEntity` with IAM's message form.
pub fn no_such(what: &str, name: &str) -> AwsError {
    AwsError::new("NoSuchEntityException", format!("The {what} with name {name} cannot be found."))
}

/// `NoSuchEntity` for a policy ARN.
pub fn no_such_policy(arn: &str) -> AwsError {
    AwsError::new(
        "NoSuchEntityException",
        format!("Policy {arn} does not exist or is not attachable."),
    )
}

/// `ValidationError` as IAM words constraint failures.
pub fn validation(value: &str, member: &str, constraint: &str) -> AwsError {
    AwsError::new(
        "ValidationError",
        format!(
            "1 validation error detected: Value '{value}' at '{member}' failed to satisfy \
             constraint: {constraint}"
        ),
    )
    .with_status(400)
}

/// Checks a user, role, group or policy name against `[\w+=,.@-]+` and `max` characters.
pub fn check_name(name: &str, member: &str, max: usize) -> Result<(), AwsError> {
    let ok_char = |c: char| c.is_ascii_alphanumeric() || "_+=,.@-".contains(c);
    if name.is_empty() || !name.chars().all(ok_char) {
        return Err(validation(
            name,
            member,
            r"Member must satisfy regular expression pattern: [\w+=,.@-]+",
        ));
    }
    if name.chars().count() > max {
        return Err(validation(
            name,
            member,
            &format!("Member must have length less than or equal to {max}"),
        ));
    }
    Ok(())
}

/// Checks a path: `/` or `/` + printable ASCII + `/`, at most 512 characters.
pub fn check_path(path: &str, member: &str) -> Result<(), AwsError> {
    let ok = path == "/"
        || (path.len() >= 2
            && path.starts_with('/')
            && path.ends_with('/')
            && path.bytes().all(|b| (0x21..=0x7e).contains(&b)));
    if !ok || path.len() > 512 {
        return Err(validation(
            path,
            member,
            r"Member must satisfy regular expression pattern: (\u002F)|(\u002F[\u0021-\u007E]+\u002F)",
        ));
    }
    Ok(())
}

/// The neutral form of tags.
pub fn tags_json(tags: &[Tag]) -> Value {
    json!(tags)
}

/// Merges `new` into `tags` (same key replaces), refusing more than 50.
pub fn merge_tags(tags: &mut Vec<Tag>, new: Vec<Tag>) -> Result<(), AwsError> {
    for t in new {
        match tags.iter_mut().find(|x| x.key == t.key) {
            Some(x) => x.value = t.value,
            None => tags.push(t),
        }
    }
    if tags.len() > 50 {
        return Err(AwsError::new(
            "LimitExceededException",
            "The number of tags has reached the maximum limit.",
        ));
    }
    Ok(())
}

/// Percent-encodes a policy document the way IAM returns them (botocore decodes them).
pub fn encode_doc(doc: &str) -> String {
    percent_encoding::utf8_percent_encode(doc, percent_encoding::NON_ALPHANUMERIC).to_string()
}

/// Epoch seconds, the neutral timestamp form.
pub fn ts(t: DateTime<Utc>) -> Value {
    json!(t.timestamp_millis() as f64 / 1000.0)
}

/// One page of `items` (sorted by key) after `marker`, at most `max_items` (default 100).
pub fn paginate<T>(
    items: Vec<(String, T)>,
    marker: Option<&str>,
    max_items: Option<i64>,
) -> (Vec<T>, Option<String>) {
    let max = usize::try_from(max_items.unwrap_or(100).clamp(1, 1000)).unwrap_or(100);
    let mut page = Vec::new();
    let mut last = None;
    let mut truncated = false;
    for (key, item) in items.into_iter().filter(|(k, _)| marker.is_none_or(|m| k.as_str() > m)) {
        if page.len() == max {
            truncated = true;
            break;
        }
        last = Some(key);
        page.push(item);
    }
    (page, if truncated { last } else { None })
}

/// Adds `IsTruncated` and `Marker` to a list answer.
pub fn with_page(mut out: Value, marker: Option<String>) -> Value {
    out["IsTruncated"] = json!(marker.is_some());
    if let Some(m) = marker {
        out["Marker"] = json!(m);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_have_aws_shape() {
        let id = new_id("AIDA", 17);
        assert_eq!(id.len(), 21);
        assert!(id.starts_with("AIDA"));
        assert_eq!(new_id("AKIA", 16).len(), 20);
        assert_eq!(new_secret().len(), 40);
        assert_ne!(new_id("AKIA", 16), new_id("AKIA", 16));
    }

    #[test]
    fn names_and_paths() {
        for (name, ok) in [
            ("alice", true),
            ("a+b=c,d.e@f-g_h", true),
            ("bad name", false),
            ("", false),
            ("x/y", false),
        ] {
            assert_eq!(check_name(name, "userName", 64).is_ok(), ok, "{name}");
        }
        assert!(check_name(&"a".repeat(65), "userName", 64).is_err());
        for (path, ok) in
            [("/", true), ("/a/b/", true), ("a/", false), ("/a", false), ("/a b/", false)]
        {
            assert_eq!(check_path(path, "path").is_ok(), ok, "{path}");
        }
    }

    #[test]
    fn pages_carry_a_marker_until_the_end() {
        let items: Vec<_> = (0..5).map(|i| (format!("k{i}"), i)).collect();
        let (page, marker) = paginate(items.clone(), None, Some(2));
        assert_eq!((page, marker.as_deref()), (vec![0, 1], Some("k1")));
        let (page, marker) = paginate(items.clone(), Some("k1"), Some(2));
        assert_eq!((page, marker.as_deref()), (vec![2, 3], Some("k3")));
        let (page, marker) = paginate(items, Some("k3"), Some(2));
        assert_eq!((page, marker), (vec![4], None));
    }
}
