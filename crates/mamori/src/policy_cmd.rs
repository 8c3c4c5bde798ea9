//! `mamori policy eval`: decides one request against policy files offline, with the same
//! engine the server's authorizer uses
//! (<https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html>),
//! printing the decision, the stage that decided and the statements that matched.

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use mamori_policy::{
    AttachedPolicy, ContextValue, DecisionEffect, Policy, PolicyKind, PolicySet, Principal,
    PrincipalKind, Request, evaluate,
};

/// Options of `mamori policy eval`.
#[derive(Debug, Clone, clap::Args)]
pub struct PolicyEvalArgs {
    /// An identity-based policy file (repeatable).
    #[arg(long = "policy")]
    pub policies: Vec<PathBuf>,
    /// The resource-based policy file.
    #[arg(long)]
    pub resource_policy: Option<PathBuf>,
    /// The permissions boundary file.
    #[arg(long)]
    pub boundary: Option<PathBuf>,
    /// A session policy file (repeatable).
    #[arg(long = "session-policy")]
    pub session_policies: Vec<PathBuf>,
    /// The action, e.g. `s3:GetObject`.
    #[arg(long)]
    pub action: String,
    /// The resource ARN (repeatable; `*` when none).
    #[arg(long = "resource")]
    pub resources: Vec<String>,
    /// The caller's ARN: a user, `...:root`, an `assumed-role` session or a service name.
    #[arg(long)]
    pub principal: String,
    /// A condition key, `key=value` (repeatable; a key given twice is multivalued).
    #[arg(long = "context")]
    pub context: Vec<String>,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

fn load(path: &Path, kind: PolicyKind) -> anyhow::Result<AttachedPolicy> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let policy = Policy::parse(&text, kind)
        .map_err(|e| anyhow::anyhow!("{}: {} ({e})", path.display(), e.iam_message()))?;
    Ok(AttachedPolicy { label: path.display().to_string(), policy })
}

/// The principal an ARN names.
fn principal(arn: &str) -> Principal {
    let account = arn.split(':').nth(4).unwrap_or_default().to_owned();
    if !arn.starts_with("arn:") {
        return Principal::service(arn);
    }
    if arn.ends_with(":root") {
        return Principal::root(&account);
    }
    if let Some(rest) = arn.split_once(":assumed-role/").map(|(_, r)| r) {
        let role = rest.split('/').next().unwrap_or_default();
        let role_arn = format!("arn:aws:iam::{account}:role/{role}");
        return Principal::new(arn.to_owned(), &account, PrincipalKind::AssumedRole { role_arn });
    }
    Principal::new(arn.to_owned(), &account, PrincipalKind::IamUser)
}

/// Runs the command; returns whether the request is allowed.
pub fn run(args: &PolicyEvalArgs) -> anyhow::Result<bool> {
    let mut set = PolicySet::default();
    for p in &args.policies {
        set.identity.push(load(p, PolicyKind::Identity)?);
    }
    set.resource_policy =
        args.resource_policy.as_deref().map(|p| load(p, PolicyKind::Resource)).transpose()?;
    set.permissions_boundary =
        args.boundary.as_deref().map(|p| load(p, PolicyKind::Boundary)).transpose()?;
    for p in &args.session_policies {
        set.session_policies.push(load(p, PolicyKind::Session)?);
    }
    if let Some(r) = args.resources.first()
        && let Some(acct) = r.split(':').nth(4).filter(|a| !a.is_empty())
    {
        set.resource_account = Some(acct.to_owned());
    }
    let mut request = Request::new(principal(&args.principal), &args.action, "*");
    request.resources = args.resources.clone();
    for kv in &args.context {
        let (k, v) =
            kv.split_once('=').with_context(|| format!("--context {kv}: expected key=value"))?;
        let value = mamori_policy::Value::String(v.to_owned());
        let merged = match request.context.remove(k) {
            None => ContextValue::Single(value),
            Some(ContextValue::Single(old)) => ContextValue::Multi(vec![old, value]),
            Some(ContextValue::Multi(mut vs)) => {
                vs.push(value);
                ContextValue::Multi(vs)
            }
        };
        request.context.insert(k.to_owned(), merged);
    }
    let request = request.with_principal_keys();
    let decision = evaluate(&request, &set);
    let allowed = decision.effect == DecisionEffect::Allow;
    if args.json {
        let out = serde_json::json!({
            "decision": decision.effect,
            "reason": decision.reason.to_string(),
            "stage": decision.reason,
            "matched": decision.matched,
        });
        println!("{}", serde_json::to_string_pretty(&out)?);
    } else {
        println!("{:?}: {}", decision.effect, decision.reason);
        for m in &decision.matched {
            let sid = m.sid.map(|s| format!(" ({s})")).unwrap_or_default();
            println!(
                "  {:?} statement {} of {}{sid} [{:?}]",
                m.effect, m.statement_idx, m.policy, m.source
            );
        }
    }
    Ok(allowed)
}
