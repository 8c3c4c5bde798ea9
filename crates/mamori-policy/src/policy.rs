//! The validated policy model and how one statement matches a request, following
//! <https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_grammar.html> and the
//! element pages under <https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements.html>.
//!
//! A [`Policy`] is built only by [`Policy::parse`] / [`Policy::from_raw`] (in `parse.rs`), so
//! every value here has passed validation and carries its compiled matchers.

use crate::condition::Condition;
use crate::matching::{Glob, Tok};
use crate::request::{Lookup, Principal, PrincipalKind};
use crate::variables::Template;

/// The `Version` element.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Version {
    /// `2012-10-17`: the current language, with policy variables.
    V2012_10_17,
    /// `2008-10-17`: the original language; `${...}` is literal text.
    V2008_10_17,
}

/// Where a policy is used, which decides the elements it must and must not have.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PolicyKind {
    /// A user, group or role policy (inline or managed): no `Principal`.
    Identity,
    /// A resource-based policy (bucket, queue, topic, key policy): `Principal` required.
    Resource,
    /// A role trust policy: `Principal` required, `Resource` forbidden.
    Trust,
    /// A service control policy: no `Principal`, `Version` 2012-10-17 only.
    Scp,
    /// A permissions boundary: same grammar as identity policies.
    Boundary,
    /// A session policy passed to `AssumeRole*` or `GetFederationToken`: same as identity.
    Session,
}

/// `Allow` or `Deny`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum Effect {
    /// `Allow`.
    Allow,
    /// `Deny`.
    Deny,
}

/// A validated policy document.
#[derive(Debug, Clone, PartialEq)]
pub struct Policy {
    /// `Version`; `None` when the document omits it, which AWS reads as `2008-10-17`.
    pub version: Option<Version>,
    /// The optional `Id` element.
    pub id: Option<String>,
    /// The statements, in document order.
    pub statements: Vec<Statement>,
}

/// One statement.
#[derive(Debug, Clone, PartialEq)]
pub struct Statement {
    /// `Sid`.
    pub sid: Option<String>,
    /// `Effect`.
    pub effect: Effect,
    /// `Principal` or `NotPrincipal`, present only in resource and trust policies.
    pub principal: Option<PrincipalElement>,
    /// `Action` or `NotAction`.
    pub action: ActionElement,
    /// `Resource` or `NotResource`; `None` matches every resource (trust policies, SCPs).
    pub resource: Option<ResourceElement>,
    /// The `Condition` block flattened to one entry per operator and key; all must hold.
    pub conditions: Vec<Condition>,
}

/// `Principal` (or, with `negated`, `NotPrincipal`).
#[derive(Debug, Clone, PartialEq)]
pub struct PrincipalElement {
    /// `NotPrincipal`.
    pub negated: bool,
    /// Who is named.
    pub principals: Principals,
}

/// The value of a `Principal` element.
#[derive(Debug, Clone, PartialEq)]
pub enum Principals {
    /// `"Principal": "*"`.
    Any,
    /// `"Principal": {"AWS": [...], "Service": ...}`, flattened.
    Listed(Vec<PrincipalId>),
}

/// One named principal.
#[derive(Debug, Clone, PartialEq)]
pub enum PrincipalId {
    /// `"AWS": "*"`.
    AnyAws,
    /// `"AWS": "111122223333"` or `"AWS": "arn:aws:iam::111122223333:root"`: the account.
    Account(String),
    /// `"AWS": "<user, role, session or federated-user ARN>"`.
    Arn(String),
    /// `"Service": "cloudtrail.amazonaws.com"`.
    Service(String),
    /// `"Federated": "cognito-identity.amazonaws.com"` or a provider ARN.
    Federated(String),
    /// `"CanonicalUser": "<id>"`.
    CanonicalUser(String),
}

/// `Action` (or, with `negated`, `NotAction`).
#[derive(Debug, Clone, PartialEq)]
pub struct ActionElement {
    /// `NotAction`.
    pub negated: bool,
    pub(crate) patterns: Vec<ActionPattern>,
    /// A 64-bit filter of the services the patterns name ([`service_bit`]); all ones when a
    /// pattern has a wildcard in its service part or the element is `NotAction`. It lets
    /// evaluation skip most statements with one `AND`.
    pub(crate) service_mask: u64,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ActionPattern {
    pub(crate) source: String,
    pub(crate) glob: Glob,
}

/// `Resource` (or, with `negated`, `NotResource`).
#[derive(Debug, Clone, PartialEq)]
pub struct ResourceElement {
    /// `NotResource`.
    pub negated: bool,
    pub(crate) patterns: Vec<ResourcePattern>,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ResourcePattern {
    pub(crate) source: String,
    pub(crate) compiled: ResourceGlob,
}

/// A resource pattern, with the variables of its resource part (after the fifth colon) kept
/// for substitution at evaluation time.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum ResourceGlob {
    Static(Glob),
    Template { head: Vec<Tok>, rest: Template },
}

/// How the `Principal` of a matching resource-policy statement named the caller; evaluation
/// treats the three differently (see `eval.rs`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum PrincipalMatch {
    /// The caller's account (`arn:aws:iam::A:root`): the account's own policies must allow.
    Account,
    /// The role of a role session, or the IAM user behind a federated user session.
    RoleOrFederator,
    /// The caller itself, or everyone (`*`).
    Direct,
}

impl Policy {
    /// Whether `${...}` in this policy is a policy variable.
    pub fn has_variables(&self) -> bool {
        self.version == Some(Version::V2012_10_17)
    }
}

/// The filter bit of the service part of an action (`s3` in `s3:GetObject`), ignoring case.
pub(crate) fn service_bit(action: &str) -> u64 {
    let service = action.split_once(':').map_or(action, |(service, _)| service);
    // FNV-1a over the lower-cased bytes.
    let hash = service.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b.to_ascii_lowercase())).wrapping_mul(0x0100_0000_01b3)
    });
    1 << (hash >> 58)
}

impl ActionElement {
    pub(crate) fn new(negated: bool, patterns: Vec<ActionPattern>) -> Self {
        let service_mask = if negated {
            u64::MAX
        } else {
            patterns.iter().fold(0, |mask, p| match p.source.split_once(':') {
                Some((service, _)) if !service.contains(['*', '?']) => mask | service_bit(service),
                _ => u64::MAX,
            })
        };
        Self { negated, patterns, service_mask }
    }
}

impl Statement {
    /// The action, resource and condition parts: does the statement apply to this request?
    /// `service_bit` is [`service_bit`] of `action`.
    pub(crate) fn applies(
        &self,
        action: &str,
        service_bit: u64,
        resource: &str,
        ctx: &dyn Lookup,
    ) -> bool {
        self.action.service_mask & service_bit != 0
            && self.action.matches(action)
            && self.resource.as_ref().is_none_or(|r| r.matches(resource, ctx))
            && self.conditions.iter().all(|c| c.eval(ctx))
    }
}

impl ActionElement {
    /// Whether the element covers `action`.
    pub fn matches(&self, action: &str) -> bool {
        self.patterns.iter().any(|p| p.glob.matches(action)) != self.negated
    }

    /// The patterns as written.
    pub fn patterns(&self) -> impl Iterator<Item = &str> {
        self.patterns.iter().map(|p| p.source.as_str())
    }
}

impl ResourceElement {
    /// Whether the element covers `resource`, with policy variables taken from `ctx`.
    pub(crate) fn matches(&self, resource: &str, ctx: &dyn Lookup) -> bool {
        self.patterns.iter().any(|p| p.matches(resource, ctx)) != self.negated
    }

    /// The patterns as written.
    pub fn patterns(&self) -> impl Iterator<Item = &str> {
        self.patterns.iter().map(|p| p.source.as_str())
    }
}

impl ResourcePattern {
    fn matches(&self, resource: &str, ctx: &dyn Lookup) -> bool {
        match &self.compiled {
            ResourceGlob::Static(glob) => glob.matches(resource),
            ResourceGlob::Template { head, rest } => {
                let mut chars = Vec::new();
                // An unresolved variable without a default makes this pattern match nothing.
                if !rest.resolve(ctx, &mut chars) {
                    return false;
                }
                let mut toks = head.clone();
                toks.extend(crate::matching::compile(
                    chars.into_iter(),
                    crate::matching::Mode::Plain,
                    false,
                ));
                Glob::from_toks(toks, false).matches(resource)
            }
        }
    }
}

impl PrincipalElement {
    /// How this element names `principal`, or `None` when the statement does not apply to it.
    pub(crate) fn matches(&self, principal: &Principal) -> Option<PrincipalMatch> {
        if self.negated {
            // NotPrincipal excludes a caller only when every identity in its chain (itself, its
            // role or federating user, its account) is listed; that is why the documentation
            // asks for the account ARN next to a role session in `NotPrincipal`.
            let Principals::Listed(ids) = &self.principals else { return None };
            let listed = |pred: &dyn Fn(&PrincipalId) -> bool| ids.iter().any(pred);
            if listed(&|id| *id == PrincipalId::AnyAws) {
                return None;
            }
            let mut excluded = listed(&|id| id_names_arn(id, principal));
            excluded &= match &principal.kind {
                PrincipalKind::AssumedRole { role_arn } => {
                    listed(&|id| matches!(id, PrincipalId::Arn(a) if a == role_arn))
                }
                PrincipalKind::FederatedUser { federating_user_arn } => {
                    listed(&|id| matches!(id, PrincipalId::Arn(a) if a == federating_user_arn))
                }
                _ => true,
            };
            if !principal.account.is_empty() {
                excluded &=
                    listed(&|id| matches!(id, PrincipalId::Account(a) if *a == principal.account));
            }
            return (!excluded).then_some(PrincipalMatch::Direct);
        }
        match &self.principals {
            Principals::Any => Some(PrincipalMatch::Direct),
            Principals::Listed(ids) => ids.iter().filter_map(|id| id_match(id, principal)).max(),
        }
    }
}

fn id_names_arn(id: &PrincipalId, principal: &Principal) -> bool {
    match (id, &principal.kind) {
        (PrincipalId::Arn(arn), _) => *arn == principal.arn,
        (PrincipalId::Account(a), PrincipalKind::Root) => *a == principal.account,
        (PrincipalId::Service(s), PrincipalKind::Service) => *s == principal.arn,
        (PrincipalId::Federated(p), PrincipalKind::Federated) => *p == principal.arn,
        (PrincipalId::CanonicalUser(c), _) => principal.canonical_user.as_ref() == Some(c),
        _ => false,
    }
}

fn id_match(id: &PrincipalId, principal: &Principal) -> Option<PrincipalMatch> {
    let has_account = !matches!(
        principal.kind,
        PrincipalKind::Service | PrincipalKind::Federated | PrincipalKind::Anonymous
    );
    match id {
        PrincipalId::AnyAws => Some(PrincipalMatch::Direct),
        PrincipalId::Account(a) if has_account && *a == principal.account => {
            Some(if principal.kind == PrincipalKind::Root {
                PrincipalMatch::Direct
            } else {
                PrincipalMatch::Account
            })
        }
        PrincipalId::Arn(arn) => match &principal.kind {
            _ if *arn == principal.arn => Some(PrincipalMatch::Direct),
            PrincipalKind::AssumedRole { role_arn } if role_arn == arn => {
                Some(PrincipalMatch::RoleOrFederator)
            }
            PrincipalKind::FederatedUser { federating_user_arn } if federating_user_arn == arn => {
                Some(PrincipalMatch::RoleOrFederator)
            }
            _ => None,
        },
        _ => id_names_arn(id, principal).then_some(PrincipalMatch::Direct),
    }
}
