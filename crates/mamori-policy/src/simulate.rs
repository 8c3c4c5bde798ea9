//! Answers in the shape of IAM's policy simulator, following
//! <https://docs.aws.amazon.com/IAM/latest/APIReference/API_SimulatePrincipalPolicy.html>,
//! <https://docs.aws.amazon.com/IAM/latest/APIReference/API_SimulateCustomPolicy.html> and
//! <https://docs.aws.amazon.com/IAM/latest/APIReference/API_EvaluationResult.html>.
//!
//! Both operations evaluate every action against every resource; they differ only in where the
//! policies come from, which is the IAM service's business, so one function serves both.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use crate::eval::{DecisionEffect, MatchedStatement, PolicySet, Reason, evaluate_resource};
use crate::request::{ContextValue, Lookup, Principal, Request};

/// `EvalDecision` as the simulator spells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum EvalDecision {
    /// `allowed`.
    #[serde(rename = "allowed")]
    Allowed,
    /// `explicitDeny`.
    #[serde(rename = "explicitDeny")]
    ExplicitDeny,
    /// `implicitDeny`.
    #[serde(rename = "implicitDeny")]
    ImplicitDeny,
}

/// One `EvaluationResult`: an action on a resource.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SimulationResult<'p> {
    /// `EvalActionName`.
    pub action: String,
    /// `EvalResourceName` (`*` when no resource was given).
    pub resource: String,
    /// `EvalDecision`.
    pub decision: EvalDecision,
    /// The stage that decided.
    pub reason: Reason,
    /// `MatchedStatements`.
    pub matched: Vec<MatchedStatement<'p>>,
    /// `MissingContextValues`: condition keys of otherwise matching statements that the
    /// context does not supply, sorted and lower-cased.
    pub missing_context_values: Vec<String>,
    /// `OrganizationsDecisionDetail.AllowedByOrganizations`, when SCPs apply.
    pub allowed_by_organizations: Option<bool>,
    /// `PermissionsBoundaryDecisionDetail.AllowedByPermissionsBoundary`, when one is set.
    pub allowed_by_permissions_boundary: Option<bool>,
}

impl EvalDecision {
    /// The wire spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            EvalDecision::Allowed => "allowed",
            EvalDecision::ExplicitDeny => "explicitDeny",
            EvalDecision::ImplicitDeny => "implicitDeny",
        }
    }
}

impl From<DecisionEffect> for EvalDecision {
    fn from(effect: DecisionEffect) -> Self {
        match effect {
            DecisionEffect::Allow => EvalDecision::Allowed,
            DecisionEffect::ExplicitDeny => EvalDecision::ExplicitDeny,
            DecisionEffect::ImplicitDeny => EvalDecision::ImplicitDeny,
        }
    }
}

/// Simulates every action in `actions` on every resource in `resources` (or on `*` when there
/// are none), as `SimulatePrincipalPolicy` and `SimulateCustomPolicy` do.
///
/// ```
/// use mamori_policy::*;
/// let doc = r#"{"Version":"2012-10-17","Statement":{"Sid":"Read","Effect":"Allow",
///     "Action":"s3:GetObject","Resource":"*",
///     "Condition":{"Bool":{"aws:MultiFactorAuthPresent":"true"}}}}"#;
/// let set = PolicySet {
///     identity: vec![AttachedPolicy {
///         label: "custom".into(),
///         policy: Policy::parse(doc, PolicyKind::Identity).unwrap(),
///     }],
///     ..PolicySet::default()
/// };
/// let user = Principal::user("111122223333", "alice");
/// let results = simulate(&user, &["s3:GetObject"], &[], &Default::default(), &set);
/// assert_eq!(results[0].decision.as_str(), "implicitDeny");
/// assert_eq!(results[0].missing_context_values, ["aws:multifactorauthpresent"]);
/// ```
pub fn simulate<'p>(
    principal: &Principal,
    actions: &[&str],
    resources: &[&str],
    context: &BTreeMap<String, ContextValue>,
    policies: &'p PolicySet,
) -> Vec<SimulationResult<'p>> {
    let resources: &[&str] = if resources.is_empty() { &["*"] } else { resources };
    let mut request = Request {
        principal: principal.clone(),
        action: String::new(),
        resources: Vec::new(),
        context: context.clone(),
    };
    let mut res = Vec::with_capacity(actions.len() * resources.len());
    for action in actions {
        request.action = (*action).to_owned();
        for resource in resources {
            let (decision, caps) = evaluate_resource(&request, resource, policies);
            res.push(SimulationResult {
                action: (*action).to_owned(),
                resource: (*resource).to_owned(),
                decision: decision.effect.into(),
                reason: decision.reason,
                matched: decision.matched,
                missing_context_values: missing_keys(&request, resource, policies),
                allowed_by_organizations: caps.scp_allowed,
                allowed_by_permissions_boundary: caps.boundary_allowed,
            });
        }
    }
    res
}

/// Condition keys that statements matching the action and resource use but the context lacks.
fn missing_keys(request: &Request, resource: &str, policies: &PolicySet) -> Vec<String> {
    let ctx: &dyn Lookup = &request.context;
    let all = policies
        .identity
        .iter()
        .chain(&policies.resource_policy)
        .chain(&policies.permissions_boundary)
        .chain(&policies.session_policies)
        .chain(policies.scps.iter().flatten());
    let mut keys = BTreeSet::new();
    for attached in all {
        for statement in &attached.policy.statements {
            let resource_ok = statement.resource.as_ref().is_none_or(|r| r.matches(resource, ctx));
            if !statement.action.matches(&request.action) || !resource_ok {
                continue;
            }
            for condition in &statement.conditions {
                if ctx.lookup(condition.key_lower()).is_none() {
                    keys.insert(condition.key_lower().to_owned());
                }
            }
        }
    }
    keys.into_iter().collect()
}
