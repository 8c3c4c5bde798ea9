//! Parsing and validation: `RawPolicy` (what the JSON said) into [`Policy`], and back, following
//! <https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_grammar.html> and
//! <https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements.html>.
//!
//! Element names are case-sensitive and unknown elements are rejected, as IAM does.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::condition::{Condition, Operator};
use crate::error::PolicyError;
use crate::matching::{Glob, Mode, compile};
use crate::policy::*;
use crate::variables::Template;

/// A policy document as JSON spells it, before validation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs)]
pub struct RawPolicy {
    #[serde(rename = "Version", default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    #[serde(rename = "Id", default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(rename = "Statement", default, skip_serializing_if = "Option::is_none")]
    pub statement: Option<OneOrMany<RawStatement>>,
}

/// A statement as JSON spells it.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs)]
pub struct RawStatement {
    #[serde(rename = "Sid", default, skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
    #[serde(rename = "Effect", default, skip_serializing_if = "Option::is_none")]
    pub effect: Option<String>,
    #[serde(rename = "Principal", default, skip_serializing_if = "Option::is_none")]
    pub principal: Option<RawPrincipal>,
    #[serde(rename = "NotPrincipal", default, skip_serializing_if = "Option::is_none")]
    pub not_principal: Option<RawPrincipal>,
    #[serde(rename = "Action", default, skip_serializing_if = "Option::is_none")]
    pub action: Option<OneOrMany<String>>,
    #[serde(rename = "NotAction", default, skip_serializing_if = "Option::is_none")]
    pub not_action: Option<OneOrMany<String>>,
    #[serde(rename = "Resource", default, skip_serializing_if = "Option::is_none")]
    pub resource: Option<OneOrMany<String>>,
    #[serde(rename = "NotResource", default, skip_serializing_if = "Option::is_none")]
    pub not_resource: Option<OneOrMany<String>>,
    #[serde(rename = "Condition", default, skip_serializing_if = "Option::is_none")]
    pub condition: Option<BTreeMap<String, BTreeMap<String, OneOrMany<serde_json::Value>>>>,
}

/// `"*"` or a map from principal type (`AWS`, `Service`, ...) to one or more values.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
#[allow(missing_docs)]
pub enum RawPrincipal {
    Star(String),
    Map(BTreeMap<String, OneOrMany<String>>),
}

/// A JSON value that may be given alone or as a list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
#[allow(missing_docs)]
pub enum OneOrMany<T> {
    Many(Vec<T>),
    One(T),
}

impl<T> OneOrMany<T> {
    fn into_vec(self) -> Vec<T> {
        match self {
            OneOrMany::Many(v) => v,
            OneOrMany::One(x) => vec![x],
        }
    }

    fn from_vec(mut v: Vec<T>) -> Self {
        if v.len() == 1 { OneOrMany::One(v.remove(0)) } else { OneOrMany::Many(v) }
    }
}

/// The policy size IAM counts against its quotas: characters other than white space.
///
/// ```
/// assert_eq!(mamori_policy::non_whitespace_len("{ \"a\" :\n 1 }"), 7);
/// ```
pub fn non_whitespace_len(doc: &str) -> usize {
    doc.chars().filter(|c| !c.is_whitespace()).count()
}

impl Policy {
    /// Parses and validates a JSON policy document for use as `kind`.
    ///
    /// ```
    /// use mamori_policy::{Policy, PolicyKind};
    /// let doc = r#"{"Version":"2012-10-17","Statement":[
    ///     {"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"}]}"#;
    /// let policy = Policy::parse(doc, PolicyKind::Identity).unwrap();
    /// assert_eq!(policy.statements.len(), 1);
    /// let err = Policy::parse(doc, PolicyKind::Resource).unwrap_err();
    /// assert_eq!(err.iam_message(), "Missing required field Principal");
    /// ```
    pub fn parse(json: &str, kind: PolicyKind) -> Result<Self, PolicyError> {
        let raw: RawPolicy = serde_json::from_str(json)
            .map_err(|err| PolicyError::Syntax { detail: err.to_string() })?;
        Self::from_raw(raw, kind)
    }

    /// Validates a raw policy for use as `kind`.
    pub fn from_raw(raw: RawPolicy, kind: PolicyKind) -> Result<Self, PolicyError> {
        let version = match raw.version.as_deref() {
            None => None,
            Some("2012-10-17") => Some(Version::V2012_10_17),
            Some("2008-10-17") => Some(Version::V2008_10_17),
            Some(other) => return Err(PolicyError::UnsupportedVersion { version: other.into() }),
        };
        if kind == PolicyKind::Scp && version != Some(Version::V2012_10_17) {
            let detail = "Version must be 2012-10-17".to_owned();
            return Err(PolicyError::InvalidScp { detail });
        }
        let variables = version == Some(Version::V2012_10_17);
        let raw_statements = raw.statement.ok_or(PolicyError::MissingStatement)?.into_vec();
        let mut statements = Vec::with_capacity(raw_statements.len());
        let mut sids = BTreeSet::new();
        for (stmt, raw) in raw_statements.into_iter().enumerate() {
            let statement = statement_from_raw(stmt, raw, kind, variables)?;
            if let Some(sid) = &statement.sid
                && !sids.insert(sid.clone())
            {
                return Err(PolicyError::DuplicateSid { sid: sid.clone() });
            }
            statements.push(statement);
        }
        Ok(Self { version, id: raw.id, statements })
    }

    /// The raw form of this policy; [`Policy::from_raw`] turns it back into an equal policy.
    pub fn to_raw(&self) -> RawPolicy {
        let version = self.version.map(|v| match v {
            Version::V2012_10_17 => "2012-10-17".to_owned(),
            Version::V2008_10_17 => "2008-10-17".to_owned(),
        });
        let statements = self.statements.iter().map(statement_to_raw).collect();
        RawPolicy { version, id: self.id.clone(), statement: Some(OneOrMany::Many(statements)) }
    }

    /// The policy as a JSON document.
    pub fn to_json(&self) -> String {
        serde_json::to_string(&self.to_raw()).unwrap_or_default()
    }
}

fn statement_from_raw(
    stmt: usize,
    raw: RawStatement,
    kind: PolicyKind,
    variables: bool,
) -> Result<Statement, PolicyError> {
    let iam_grammar = matches!(
        kind,
        PolicyKind::Identity | PolicyKind::Trust | PolicyKind::Boundary | PolicyKind::Session
    );
    if let Some(sid) = &raw.sid {
        // IAM restricts Sids to letters and digits; resource policies (S3, SNS, ...) and SCPs
        // are looser, so only IAM's own policy types are checked.
        if iam_grammar && !sid.chars().all(|c| c.is_ascii_alphanumeric()) {
            return Err(PolicyError::InvalidSid { stmt, sid: sid.clone() });
        }
    }
    let effect = match raw.effect.as_deref() {
        None => return Err(PolicyError::MissingEffect { stmt }),
        Some("Allow") => Effect::Allow,
        Some("Deny") => Effect::Deny,
        Some(other) => return Err(PolicyError::InvalidEffect { stmt, value: other.into() }),
    };

    let principal = match pick(stmt, "Principal", raw.principal, raw.not_principal)? {
        Some((negated, raw)) => {
            Some(PrincipalElement { negated, principals: principals(stmt, raw)? })
        }
        None => None,
    };
    match (kind, principal.is_some()) {
        (PolicyKind::Resource | PolicyKind::Trust, false) => {
            return Err(PolicyError::MissingPrincipal { stmt });
        }
        (PolicyKind::Resource | PolicyKind::Trust, true) => {}
        (_, true) => return Err(PolicyError::PrincipalNotAllowed { stmt }),
        (_, false) => {}
    }

    let Some((negated, actions)) = pick(stmt, "Action", raw.action, raw.not_action)? else {
        return Err(PolicyError::MissingActions { stmt });
    };
    let actions = actions.into_vec();
    if actions.is_empty() {
        return Err(PolicyError::MissingActions { stmt });
    }
    let patterns = actions
        .into_iter()
        .map(|source| {
            if source != "*" && !has_vendor(&source) {
                return Err(PolicyError::MissingVendor { stmt, value: source });
            }
            let glob = Glob::new(&source.to_ascii_lowercase(), Mode::Plain, true);
            Ok(ActionPattern { source, glob })
        })
        .collect::<Result<_, _>>()?;
    let action = ActionElement::new(negated, patterns);

    let resource = match pick(stmt, "Resource", raw.resource, raw.not_resource)? {
        Some(_) if kind == PolicyKind::Trust => {
            return Err(PolicyError::ProhibitedResource { stmt });
        }
        Some((negated, resources)) => {
            let resources = resources.into_vec();
            if resources.is_empty() {
                return Err(PolicyError::MissingResources { stmt });
            }
            let patterns = resources
                .into_iter()
                .map(|source| resource_pattern(stmt, source, variables))
                .collect::<Result<_, _>>()?;
            Some(ResourceElement { negated, patterns })
        }
        // Trust policies have no resource (the role is implied). For SCPs we read a missing
        // Resource as "*", which is how Organizations shows such a policy.
        None if matches!(kind, PolicyKind::Trust | PolicyKind::Scp) => None,
        None => return Err(PolicyError::MissingResources { stmt }),
    };

    let mut conditions = Vec::new();
    for (op_name, keys) in raw.condition.unwrap_or_default() {
        let Some(operator) = Operator::parse(&op_name) else {
            return Err(PolicyError::UnknownConditionOperator { stmt, operator: op_name });
        };
        for (key, values) in keys {
            if !has_vendor(&key) {
                return Err(PolicyError::MissingVendor { stmt, value: key });
            }
            let invalid = |value: String| PolicyError::InvalidConditionValue {
                stmt,
                operator: op_name.clone(),
                key: key.clone(),
                value,
            };
            let values = values.into_vec();
            if values.is_empty() {
                return Err(invalid(String::new()));
            }
            let values = values
                .into_iter()
                .map(|value| match value {
                    serde_json::Value::String(s) => Ok(s),
                    serde_json::Value::Bool(b) => Ok(b.to_string()),
                    serde_json::Value::Number(n) => Ok(n.to_string()),
                    other => Err(invalid(other.to_string())),
                })
                .collect::<Result<Vec<_>, _>>()?;
            let condition = Condition::new(operator, &key, values, variables).map_err(invalid)?;
            conditions.push(condition);
        }
    }
    Ok(Statement { sid: raw.sid, effect, principal, action, resource, conditions })
}

/// Picks the element or its `Not` form; both at once is an error.
fn pick<T>(
    stmt: usize,
    element: &'static str,
    positive: Option<T>,
    negative: Option<T>,
) -> Result<Option<(bool, T)>, PolicyError> {
    match (positive, negative) {
        (Some(_), Some(_)) => Err(PolicyError::ConflictingElements { stmt, element }),
        (Some(p), None) => Ok(Some((false, p))),
        (None, Some(n)) => Ok(Some((true, n))),
        (None, None) => Ok(None),
    }
}

fn has_vendor(value: &str) -> bool {
    matches!(value.split_once(':'), Some((vendor, _)) if !vendor.is_empty())
}

fn principals(stmt: usize, raw: RawPrincipal) -> Result<Principals, PolicyError> {
    let map = match raw {
        RawPrincipal::Star(s) if s == "*" => return Ok(Principals::Any),
        RawPrincipal::Star(s) => {
            return Err(PolicyError::InvalidPrincipal { stmt, key: String::new(), value: s });
        }
        RawPrincipal::Map(map) => map,
    };
    let mut ids = Vec::new();
    for (key, values) in map {
        for value in values.into_vec() {
            let invalid =
                || PolicyError::InvalidPrincipal { stmt, key: key.clone(), value: value.clone() };
            let id = match key.as_str() {
                "AWS" => aws_principal(&value).ok_or_else(invalid)?,
                "Service" if !value.is_empty() => PrincipalId::Service(value),
                "Federated" if !value.is_empty() => PrincipalId::Federated(value),
                "CanonicalUser" if !value.is_empty() => PrincipalId::CanonicalUser(value),
                _ => return Err(invalid()),
            };
            ids.push(id);
        }
    }
    if ids.is_empty() {
        return Err(PolicyError::InvalidPrincipal { stmt, key: String::new(), value: "{}".into() });
    }
    Ok(Principals::Listed(ids))
}

/// `*`, a 12-digit account id, `arn:<partition>:iam::<account>:root`, or an IAM/STS ARN.
fn aws_principal(value: &str) -> Option<PrincipalId> {
    if value == "*" {
        return Some(PrincipalId::AnyAws);
    }
    let is_account = |s: &str| s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit());
    if is_account(value) {
        return Some(PrincipalId::Account(value.to_owned()));
    }
    let parts: Vec<&str> = value.splitn(6, ':').collect();
    match parts.as_slice() {
        ["arn", partition, "iam", "", account, "root"]
            if !partition.is_empty() && is_account(account) =>
        {
            Some(PrincipalId::Account((*account).to_owned()))
        }
        ["arn", partition, "iam" | "sts", "", account, rest]
            if !partition.is_empty() && is_account(account) && !rest.is_empty() =>
        {
            Some(PrincipalId::Arn(value.to_owned()))
        }
        _ => None,
    }
}

fn resource_pattern(
    stmt: usize,
    source: String,
    variables: bool,
) -> Result<ResourcePattern, PolicyError> {
    let arn_like = source.starts_with("arn:") && source.matches(':').count() >= 5;
    if source != "*" && !arn_like {
        return Err(PolicyError::InvalidResource { stmt, value: source });
    }
    // Variables are only substituted in the resource part, after the fifth colon [doc].
    let split = source.match_indices(':').nth(4).map(|(idx, _)| idx + 1).unwrap_or(0);
    let (head, rest) = source.split_at(split);
    let compiled = match variables.then(|| Template::parse(rest)).flatten() {
        Some(rest) => {
            let head = compile(head.chars().map(|c| (c, false)), Mode::ArnResource, false);
            ResourceGlob::Template { head, rest }
        }
        None => ResourceGlob::Static(Glob::new(&source, Mode::ArnResource, false)),
    };
    Ok(ResourcePattern { source, compiled })
}

fn statement_to_raw(statement: &Statement) -> RawStatement {
    let mut raw = RawStatement {
        sid: statement.sid.clone(),
        effect: Some(match statement.effect {
            Effect::Allow => "Allow".to_owned(),
            Effect::Deny => "Deny".to_owned(),
        }),
        ..RawStatement::default()
    };
    if let Some(element) = &statement.principal {
        let principal = principals_to_raw(&element.principals);
        if element.negated {
            raw.not_principal = Some(principal)
        } else {
            raw.principal = Some(principal)
        }
    }
    let actions = OneOrMany::from_vec(statement.action.patterns().map(str::to_owned).collect());
    if statement.action.negated {
        raw.not_action = Some(actions)
    } else {
        raw.action = Some(actions)
    }
    if let Some(element) = &statement.resource {
        let resources = OneOrMany::from_vec(element.patterns().map(str::to_owned).collect());
        if element.negated {
            raw.not_resource = Some(resources)
        } else {
            raw.resource = Some(resources)
        }
    }
    if !statement.conditions.is_empty() {
        let mut block: BTreeMap<String, BTreeMap<String, OneOrMany<serde_json::Value>>> =
            BTreeMap::new();
        for condition in &statement.conditions {
            let values = condition.values().map(|v| serde_json::Value::String(v.to_owned()));
            block
                .entry(condition.operator.name())
                .or_default()
                .insert(condition.key.clone(), OneOrMany::from_vec(values.collect()));
        }
        raw.condition = Some(block);
    }
    raw
}

fn principals_to_raw(principals: &Principals) -> RawPrincipal {
    let ids = match principals {
        Principals::Any => return RawPrincipal::Star("*".to_owned()),
        Principals::Listed(ids) => ids,
    };
    let mut map: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for id in ids {
        let (key, value) = match id {
            PrincipalId::AnyAws => ("AWS", "*".to_owned()),
            PrincipalId::Account(a) => ("AWS", format!("arn:aws:iam::{a}:root")),
            PrincipalId::Arn(a) => ("AWS", a.clone()),
            PrincipalId::Service(s) => ("Service", s.clone()),
            PrincipalId::Federated(f) => ("Federated", f.clone()),
            PrincipalId::CanonicalUser(c) => ("CanonicalUser", c.clone()),
        };
        map.entry(key.to_owned()).or_default().push(value);
    }
    RawPrincipal::Map(map.into_iter().map(|(k, v)| (k, OneOrMany::from_vec(v))).collect())
}
