//! The decision procedure, following
//! <https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html>,
//! <https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic-cross-account.html>
//! and <https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_policies_scps.html>.
//!
//! Every applicable policy is scanned once; the stages are then decided in AWS's order:
//! explicit deny, SCPs, resource-based policy, identity-based policies, permissions boundary,
//! session policies. Evaluation allocates only for the list of matched statements (and for
//! patterns with policy variables).

use serde::Serialize;

use crate::policy::{Effect, Policy, PrincipalMatch, service_bit};
use crate::request::{Lookup, PrincipalKind, Request};

/// A policy with the label a decision reports it by (an ARN, or an inline policy's name).
#[derive(Debug, Clone, PartialEq)]
pub struct AttachedPolicy {
    /// How decisions name this policy.
    pub label: String,
    /// The policy.
    pub policy: Policy,
}

/// Every policy that bears on one request.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PolicySet {
    /// Identity-based policies: the user's and its groups', or the role's.
    pub identity: Vec<AttachedPolicy>,
    /// The resource's resource-based policy.
    pub resource_policy: Option<AttachedPolicy>,
    /// The account owning the resource; `None` means the principal's own account.
    pub resource_account: Option<String>,
    /// The resource policy must allow by itself, as role trust policies and KMS key policies
    /// must: identity policies alone are not enough.
    pub resource_policy_required: bool,
    /// The principal's permissions boundary.
    pub permissions_boundary: Option<AttachedPolicy>,
    /// Session policies passed when the session was created; empty when none were.
    pub session_policies: Vec<AttachedPolicy>,
    /// SCPs from the organization root down to the account; every level must allow.
    /// Empty when the account is not in an organization.
    pub scps: Vec<Vec<AttachedPolicy>>,
    /// The principal's account is the organization's management account (SCPs do not apply).
    pub management_account: bool,
}

/// The outcome of an evaluation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum DecisionEffect {
    /// The request is allowed.
    Allow,
    /// A `Deny` statement matched.
    ExplicitDeny,
    /// Nothing allowed the request (or a cap did not).
    ImplicitDeny,
}

/// The kind of policy a statement came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum PolicySource {
    /// An identity-based policy.
    Identity,
    /// The resource-based policy.
    Resource,
    /// The permissions boundary.
    Boundary,
    /// A session policy.
    Session,
    /// An SCP at `level` (0 is the organization root).
    Scp {
        /// Index into [`PolicySet::scps`].
        level: usize,
    },
}

/// A statement that matched the request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct MatchedStatement<'p> {
    /// The kind of policy.
    pub source: PolicySource,
    /// The policy's label.
    pub policy: &'p str,
    /// The statement's index in the policy.
    pub statement_idx: usize,
    /// The statement's `Sid`.
    pub sid: Option<&'p str>,
    /// The statement's effect.
    pub effect: Effect,
}

/// Which stage of the decision procedure decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Reason {
    /// A `Deny` statement matched; `source` is the first kind of policy with one.
    ExplicitDeny {
        /// Where the deny was.
        source: PolicySource,
    },
    /// No SCP at `level` allows the request.
    ScpNotAllowed {
        /// Index into [`PolicySet::scps`].
        level: usize,
    },
    /// The resource policy (trust or key policy) must allow, and does not.
    ResourcePolicyRequired,
    /// A principal without identity policies (a service, identity provider or anonymous
    /// caller) is not allowed by the resource policy.
    NoResourcePolicyAllow,
    /// A cross-account request that the resource policy does not allow.
    CrossAccountNotAllowed,
    /// No identity-based policy allows the request.
    NoIdentityAllow,
    /// The permissions boundary does not allow the request.
    BoundaryNotAllowed,
    /// The session policies do not allow the request.
    SessionPolicyNotAllowed,
    /// A federated user session without a session policy has no permissions.
    NoSessionPolicy,
    /// The resource policy names the principal itself (or everyone), which is enough.
    ResourcePolicyAllowed,
    /// The resource policy names the principal's role (or federating user), and the boundary
    /// and session policies allow.
    ResourcePolicyAllowedWithinCaps,
    /// Identity-based policies allow, and so does every cap.
    IdentityAllowed,
    /// The account's root user, within its account.
    RootUser,
}

impl std::fmt::Display for Reason {
    /// One sentence for logs and `mamori policy eval`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Reason::ExplicitDeny { source } => write!(f, "explicitly denied by {source}"),
            Reason::ScpNotAllowed { level } => {
                write!(f, "no service control policy at level {level} allows the action")
            }
            Reason::ResourcePolicyRequired => f.write_str("the resource policy does not allow it"),
            Reason::NoResourcePolicyAllow => {
                f.write_str("no resource-based policy allows this principal")
            }
            Reason::CrossAccountNotAllowed => {
                f.write_str("cross-account request that no resource-based policy allows")
            }
            Reason::NoIdentityAllow => f.write_str("no identity-based policy allows the action"),
            Reason::BoundaryNotAllowed => f.write_str("the permissions boundary does not allow it"),
            Reason::SessionPolicyNotAllowed => f.write_str("no session policy allows the action"),
            Reason::NoSessionPolicy => f.write_str("a federated user session needs a session policy"),
            Reason::ResourcePolicyAllowed => f.write_str("allowed by the resource-based policy"),
            Reason::ResourcePolicyAllowedWithinCaps => f.write_str(
                "allowed by the resource-based policy naming the role, within boundary and session policies",
            ),
            Reason::IdentityAllowed => f.write_str("allowed by identity-based policy"),
            Reason::RootUser => f.write_str("the root user has full access to its account"),
        }
    }
}

impl std::fmt::Display for PolicySource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PolicySource::Identity => f.write_str("an identity-based policy"),
            PolicySource::Resource => f.write_str("the resource-based policy"),
            PolicySource::Boundary => f.write_str("the permissions boundary"),
            PolicySource::Session => f.write_str("a session policy"),
            PolicySource::Scp { level } => write!(f, "a service control policy at level {level}"),
        }
    }
}

/// The answer to one [`Request`], with the statements that led to it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Decision<'p> {
    /// Allow, explicit deny or implicit deny.
    pub effect: DecisionEffect,
    /// For an explicit deny, the matching `Deny` statements; otherwise the matching `Allow`
    /// statements of every applicable policy.
    pub matched: Vec<MatchedStatement<'p>>,
    /// The stage that decided.
    pub reason: Reason,
}

/// What the caps said, for simulation answers.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Caps {
    pub(crate) scp_allowed: Option<bool>,
    pub(crate) boundary_allowed: Option<bool>,
}

/// Decides `request` against `policies`.
///
/// ```
/// use mamori_policy::*;
/// let doc = r#"{"Version":"2012-10-17","Statement":
///     {"Effect":"Allow","Action":"s3:Get*","Resource":"arn:aws:s3:::bucket/*"}}"#;
/// let set = PolicySet {
///     identity: vec![AttachedPolicy {
///         label: "read".into(),
///         policy: Policy::parse(doc, PolicyKind::Identity).unwrap(),
///     }],
///     ..PolicySet::default()
/// };
/// let alice = Principal::user("111122223333", "alice");
/// let get = Request::new(alice.clone(), "s3:GetObject", "arn:aws:s3:::bucket/key");
/// assert_eq!(evaluate(&get, &set).effect, DecisionEffect::Allow);
/// let put = Request::new(alice, "s3:PutObject", "arn:aws:s3:::bucket/key");
/// assert_eq!(evaluate(&put, &set).reason, Reason::NoIdentityAllow);
/// ```
pub fn evaluate<'p>(request: &Request, policies: &'p PolicySet) -> Decision<'p> {
    let Some((first, rest)) = request.resources.split_first() else {
        return evaluate_resource(request, "*", policies).0;
    };
    let mut res = evaluate_resource(request, first, policies).0;
    for resource in rest {
        if res.effect == DecisionEffect::ExplicitDeny {
            break;
        }
        let next = evaluate_resource(request, resource, policies).0;
        match (res.effect, next.effect) {
            (DecisionEffect::Allow, DecisionEffect::Allow) => {
                for m in next.matched {
                    if !res.matched.contains(&m) {
                        res.matched.push(m);
                    }
                }
            }
            (DecisionEffect::ImplicitDeny, DecisionEffect::Allow) => {}
            _ => res = next,
        }
    }
    res
}

#[derive(Default)]
struct Scan {
    allow: bool,
    /// For the resource policy: the strongest way an `Allow` statement named the principal.
    grant: Option<PrincipalMatch>,
}

/// Decides one resource.
pub(crate) fn evaluate_resource<'p>(
    request: &Request,
    resource: &str,
    set: &'p PolicySet,
) -> (Decision<'p>, Caps) {
    let principal = &request.principal;
    let service_bit = service_bit(&request.action);
    let mut ev = Evaluator { request, resource, service_bit, matched: Vec::new(), deny: None };
    let no_identity = matches!(
        principal.kind,
        PrincipalKind::Service | PrincipalKind::Federated | PrincipalKind::Anonymous
    );
    let scp_applies = !set.scps.is_empty()
        && !set.management_account
        && !principal.service_linked_role
        && !no_identity;

    let mut caps = Caps::default();
    let mut scp_block = None;
    if scp_applies {
        for (level, policies) in set.scps.iter().enumerate() {
            let scan = ev.scan(policies, PolicySource::Scp { level }, false);
            if !scan.allow && scp_block.is_none() {
                scp_block = Some(level);
            }
        }
        caps.scp_allowed = Some(scp_block.is_none());
    }
    let resource_scan = match &set.resource_policy {
        Some(policy) => ev.scan(std::slice::from_ref(policy), PolicySource::Resource, true),
        None => Scan::default(),
    };
    let identity = ev.scan(&set.identity, PolicySource::Identity, false);
    let boundary = set
        .permissions_boundary
        .as_ref()
        .map(|b| ev.scan(std::slice::from_ref(b), PolicySource::Boundary, false).allow);
    caps.boundary_allowed = boundary;
    let session = (!set.session_policies.is_empty())
        .then(|| ev.scan(&set.session_policies, PolicySource::Session, false).allow);

    let mut matched = ev.matched;
    let mut decide = |effect, reason| {
        let keep =
            if effect == DecisionEffect::ExplicitDeny { Effect::Deny } else { Effect::Allow };
        matched.retain(|m| m.effect == keep);
        (Decision { effect, matched: std::mem::take(&mut matched), reason }, caps)
    };
    use DecisionEffect::{Allow, ExplicitDeny, ImplicitDeny};

    if let Some(source) = ev.deny {
        return decide(ExplicitDeny, Reason::ExplicitDeny { source });
    }
    if let Some(level) = scp_block {
        return decide(ImplicitDeny, Reason::ScpNotAllowed { level });
    }
    let grant = resource_scan.grant;
    if set.resource_policy_required && grant.is_none() {
        return decide(ImplicitDeny, Reason::ResourcePolicyRequired);
    }
    if no_identity {
        return match grant {
            Some(PrincipalMatch::Direct) => decide(Allow, Reason::ResourcePolicyAllowed),
            _ => decide(ImplicitDeny, Reason::NoResourcePolicyAllow),
        };
    }
    let same_account = set.resource_account.as_deref().is_none_or(|a| a == principal.account);
    if same_account && grant == Some(PrincipalMatch::Direct) {
        return decide(Allow, Reason::ResourcePolicyAllowed);
    }
    let is_root = principal.kind == PrincipalKind::Root;
    let via_role = same_account && grant == Some(PrincipalMatch::RoleOrFederator);
    if !(is_root || identity.allow || via_role) {
        return decide(ImplicitDeny, Reason::NoIdentityAllow);
    }
    if !same_account && grant.is_none() {
        return decide(ImplicitDeny, Reason::CrossAccountNotAllowed);
    }
    // The root user has no boundary or session policies; it is capped by SCPs only.
    if !is_root {
        if boundary == Some(false) {
            return decide(ImplicitDeny, Reason::BoundaryNotAllowed);
        }
        if principal.is_session() {
            match session {
                Some(false) => return decide(ImplicitDeny, Reason::SessionPolicyNotAllowed),
                None if matches!(principal.kind, PrincipalKind::FederatedUser { .. }) => {
                    return decide(ImplicitDeny, Reason::NoSessionPolicy);
                }
                _ => {}
            }
        }
    }
    let reason = if is_root && !identity.allow {
        Reason::RootUser
    } else if via_role && !identity.allow {
        Reason::ResourcePolicyAllowedWithinCaps
    } else {
        Reason::IdentityAllowed
    };
    decide(Allow, reason)
}

struct Evaluator<'r, 'p> {
    request: &'r Request,
    resource: &'r str,
    service_bit: u64,
    matched: Vec<MatchedStatement<'p>>,
    deny: Option<PolicySource>,
}

impl<'p> Evaluator<'_, 'p> {
    /// Matches every statement of `policies`, recording matches; `with_principal` checks the
    /// `Principal` element (resource-based policies).
    fn scan(
        &mut self,
        policies: &'p [AttachedPolicy],
        source: PolicySource,
        with_principal: bool,
    ) -> Scan {
        let ctx: &dyn Lookup = &self.request.context;
        let mut res = Scan::default();
        for attached in policies {
            for (statement_idx, statement) in attached.policy.statements.iter().enumerate() {
                let grant = match (&statement.principal, with_principal) {
                    (Some(element), true) => match element.matches(&self.request.principal) {
                        Some(grant) => Some(grant),
                        None => continue,
                    },
                    _ => None,
                };
                let action = &self.request.action;
                if !statement.applies(action, self.service_bit, self.resource, ctx) {
                    continue;
                }
                match statement.effect {
                    Effect::Allow => {
                        res.allow = true;
                        res.grant = res.grant.max(grant);
                    }
                    Effect::Deny => {
                        self.deny.get_or_insert(source);
                    }
                }
                self.matched.push(MatchedStatement {
                    source,
                    policy: &attached.label,
                    statement_idx,
                    sid: statement.sid.as_deref(),
                    effect: statement.effect,
                });
            }
        }
        res
    }
}
