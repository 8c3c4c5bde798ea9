//! The policy authorizer: the dispatcher's authorization hook, deciding every call with
//! `mamori-policy` from IAM's stored state, following
//! <https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html>
//! and the access-denied message forms of
//! <https://docs.aws.amazon.com/IAM/latest/UserGuide/troubleshoot_access-denied.html>.
//!
//! A principal's compiled [`PolicySet`] (identity policies of the user and its groups, or
//! of the role; the boundary; a session's policies) is cached by access key (sessions) or
//! ARN (users) and dropped on every IAM write. A cache fill that raced with a write is not
//! kept (the generation counter moved).

use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use mamori_aws::AwsError;
use mamori_policy::{
    AttachedPolicy, ContextValue, Decision, DecisionEffect, Policy, PolicyKind, PolicySet,
    PolicySource, Principal, PrincipalKind as PKind, Reason, Request, evaluate,
};
use mamori_service::{
    ACCESS_KEY_PARTITION, ACCESS_KEYS, AllowAll, Authorizer, AuthzRequest, Context, MFA_DEVICES,
    PrincipalKind,
};
use mamori_store::{Store, Tx};
use serde_json::Value;

use crate::ops::resolve_policy;
use crate::state::{GROUPS, KEY_LAST_USED, KeyUse, Policies, ROLES, USERS, db, rd};

/// A principal's policies, compiled.
#[derive(Debug)]
pub struct Compiled {
    /// The principal as the engine sees it.
    pub principal: Principal,
    /// Its policies.
    pub set: PolicySet,
}

/// State shared by the IAM service and its authorizer: the cache, and the access keys' last
/// uses not yet written to the store.
#[derive(Debug, Default)]
pub struct Shared {
    generation: AtomicU64,
    cache: RwLock<HashMap<String, Arc<Compiled>>>,
    last_used: Mutex<HashMap<String, KeyUse>>,
}

impl Shared {
    /// Drops every cached policy set (after any IAM write).
    pub fn invalidate(&self) {
        self.generation.fetch_add(1, Ordering::SeqCst);
        self.cache.write().unwrap_or_else(|e| e.into_inner()).clear();
    }

    /// Notes a use of the long-term access key `key` in memory (no store write per request).
    fn record_use(&self, key: &str, service: &str, ctx: &Context) {
        let mut map = self.last_used.lock().unwrap_or_else(|e| e.into_inner());
        let region = ctx.region.as_str();
        match map.get_mut(key) {
            Some(u) => {
                u.time = ctx.time;
                if u.service != service || u.region != region {
                    (u.service, u.region) = (service.to_owned(), region.to_owned());
                }
            }
            None => {
                let u = KeyUse {
                    time: ctx.time,
                    service: service.to_owned(),
                    region: region.to_owned(),
                };
                map.insert(key.to_owned(), u);
            }
        }
    }

    /// Writes the noted key uses to the store in one transaction (the `iam.key-last-use`
    /// task, and before `GetAccessKeyLastUsed` reads).
    pub fn flush_last_used(&self, store: &Store) {
        let pending =
            std::mem::take(&mut *self.last_used.lock().unwrap_or_else(|e| e.into_inner()));
        if pending.is_empty() {
            return;
        }
        let res = store.write(|tx| {
            for (key, used) in &pending {
                KEY_LAST_USED.put(tx, ACCESS_KEY_PARTITION, key, used)?;
            }
            Ok::<_, mamori_store::StoreError>(())
        });
        if let Err(e) = res {
            tracing::warn!(target: "iam", error = %e, n = pending.len(), "cannot record access key use");
        }
    }

    /// Forgets the noted uses (after `/_mamori/reset`).
    pub fn clear_last_used(&self) {
        self.last_used.lock().unwrap_or_else(|e| e.into_inner()).clear();
    }
}

/// The authorization hook backed by IAM.
#[derive(Debug, Clone)]
pub struct PolicyAuthorizer {
    shared: Arc<Shared>,
}

fn parse(label: &str, doc: &str, kind: PolicyKind) -> Result<AttachedPolicy, AwsError> {
    let policy = Policy::parse(doc, kind)
        .map_err(|e| AwsError::internal(format!("stored policy {label} does not parse: {e}")))?;
    Ok(AttachedPolicy { label: label.to_owned(), policy })
}

fn add_policies(
    tx: &Tx<'_>,
    acct: &str,
    p: &Policies,
    out: &mut Vec<AttachedPolicy>,
) -> Result<(), AwsError> {
    for (name, doc) in &p.inline {
        out.push(parse(name, doc, PolicyKind::Identity)?);
    }
    for arn in &p.attached {
        // A policy deleted under an attachment cannot happen (DeletePolicy refuses), but
        // a missing one simply grants nothing.
        if let Some(doc) = resolve_policy(tx, acct, arn)? {
            out.push(parse(arn, &doc, PolicyKind::Identity)?);
        }
    }
    Ok(())
}

fn boundary(
    tx: &Tx<'_>,
    acct: &str,
    arn: Option<&String>,
) -> Result<Option<AttachedPolicy>, AwsError> {
    let Some(arn) = arn else { return Ok(None) };
    match resolve_policy(tx, acct, arn)? {
        Some(doc) => Ok(Some(parse(arn, &doc, PolicyKind::Boundary)?)),
        // A boundary that no longer resolves allows nothing (fail closed).
        None => Ok(Some(parse(
            arn,
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"*","Resource":"*"}]}"#,
            PolicyKind::Boundary,
        )?)),
    }
}

/// The policies of the IAM user `name` in `acct`.
pub fn user_set(tx: &Tx<'_>, acct: &str, name: &str) -> Result<Option<Compiled>, AwsError> {
    let Some(u) = USERS.get(tx, acct, name).map_err(db)? else { return Ok(None) };
    let mut set = PolicySet::default();
    add_policies(tx, acct, &u.policies, &mut set.identity)?;
    for g in &u.groups {
        if let Some(g) = GROUPS.get(tx, acct, g).map_err(db)? {
            add_policies(tx, acct, &g.policies, &mut set.identity)?;
        }
    }
    set.permissions_boundary = boundary(tx, acct, u.boundary.as_ref())?;
    let principal = Principal::new(u.arn.clone(), acct, PKind::IamUser);
    Ok(Some(Compiled { principal, set }))
}

/// The policies of a session of role `name` in `acct` (`session_arn` is the session's ARN).
pub fn role_set(
    tx: &Tx<'_>,
    acct: &str,
    name: &str,
    session_arn: Option<&str>,
) -> Result<Option<Compiled>, AwsError> {
    let Some(r) = ROLES.get(tx, acct, name).map_err(db)? else { return Ok(None) };
    let mut set = PolicySet::default();
    add_policies(tx, acct, &r.policies, &mut set.identity)?;
    set.permissions_boundary = boundary(tx, acct, r.boundary.as_ref())?;
    let session_arn = session_arn.map_or_else(
        || format!("arn:aws:sts::{acct}:assumed-role/{}/simulation", r.name),
        str::to_owned,
    );
    let mut principal =
        Principal::new(session_arn, acct, PKind::AssumedRole { role_arn: r.arn.clone() });
    principal.service_linked_role = r.path.starts_with("/aws-service-role/");
    Ok(Some(Compiled { principal, set }))
}

/// The policies of group `name` (for the simulator).
pub fn group_set(tx: &Tx<'_>, acct: &str, name: &str) -> Result<Option<Compiled>, AwsError> {
    let Some(g) = GROUPS.get(tx, acct, name).map_err(db)? else { return Ok(None) };
    let mut set = PolicySet::default();
    add_policies(tx, acct, &g.policies, &mut set.identity)?;
    Ok(Some(Compiled { principal: Principal::new(g.arn.clone(), acct, PKind::IamUser), set }))
}

const ROLE_TRUST_ACTIONS: &[&str] = &["sts:assumerole", "sts:tagsession", "sts:setsourceidentity"];

/// The request's global condition keys.
pub fn context_keys(ctx: &Context, principal: &Principal) -> BTreeMap<String, ContextValue> {
    let mut c = BTreeMap::new();
    let ip = ctx
        .source_ip
        .parse::<IpAddr>()
        .map_or_else(|_| ContextValue::from(ctx.source_ip.as_str()), ContextValue::from);
    c.insert("aws:SourceIp".to_owned(), ip);
    c.insert("aws:SecureTransport".to_owned(), ctx.secure_transport.into());
    c.insert("aws:CurrentTime".to_owned(), ctx.time.into());
    c.insert("aws:EpochTime".to_owned(), ctx.time.timestamp().into());
    c.insert("aws:userid".to_owned(), ctx.principal.user_id.clone().into());
    c.insert("aws:RequestedRegion".to_owned(), ctx.region.as_str().into());
    let temporary = ctx.principal.access_key_id.as_deref().is_some_and(|k| k.starts_with("ASIA"));
    if temporary || ctx.principal.mfa {
        c.insert("aws:MultiFactorAuthPresent".to_owned(), ctx.principal.mfa.into());
    }
    // Only MFA sessions pay for this read: the time the code was checked is on the key.
    if ctx.principal.mfa
        && let Some(k) = &ctx.principal.access_key_id
        && let Ok(Some(key)) =
            ctx.dispatcher.store().read(|tx| ACCESS_KEYS.get(tx, ACCESS_KEY_PARTITION, k))
        && let Some(at) = key.mfa_time
    {
        let age = (ctx.time - at).num_seconds().max(0);
        c.insert("aws:MultiFactorAuthAge".to_owned(), age.into());
    }
    if let Some(by) = &ctx.invoked_by {
        c.insert(
            "aws:CalledVia".to_owned(),
            ContextValue::Multi(vec![mamori_policy::Value::String(by.clone())]),
        );
    }
    if let Some(arn) = &ctx.source_arn {
        c.insert("aws:SourceArn".to_owned(), arn.as_str().into());
    }
    if let Some(account) = &ctx.source_account {
        c.insert("aws:SourceAccount".to_owned(), account.as_str().into());
        // SNS's legacy name for the same key, used by the default topic policy.
        c.insert("aws:SourceOwner".to_owned(), account.as_str().into());
    }
    let _ = principal;
    c
}

impl PolicyAuthorizer {
    /// An authorizer over `shared`'s cache.
    pub fn new(shared: Arc<Shared>) -> Self {
        Self { shared }
    }

    fn compiled(&self, ctx: &Context) -> Result<Arc<Compiled>, AwsError> {
        let p = &ctx.principal;
        let key = match &p.kind {
            PrincipalKind::AssumedRole { .. } => {
                p.access_key_id.clone().unwrap_or_else(|| p.arn.clone())
            }
            _ => p.arn.clone(),
        };
        if let Some(c) = self.shared.cache.read().unwrap_or_else(|e| e.into_inner()).get(&key) {
            return Ok(c.clone());
        }
        let generation = self.shared.generation.load(Ordering::SeqCst);
        let store: &Store = ctx.dispatcher.store();
        let acct = p.account.as_str();
        let compiled = rd(store, |tx| -> Result<Compiled, AwsError> {
            let none = || Compiled {
                principal: Principal::new(p.arn.clone(), acct, PKind::IamUser),
                set: PolicySet::default(),
            };
            Ok(match &p.kind {
                PrincipalKind::Root => {
                    Compiled { principal: Principal::root(acct), set: PolicySet::default() }
                }
                PrincipalKind::IamUser { name } => user_set(tx, acct, name)?.unwrap_or_else(none),
                PrincipalKind::AssumedRole { role, .. } => {
                    let mut c = role_set(tx, acct, role, Some(&p.arn))?.unwrap_or_else(none);
                    if let Some(k) = &p.access_key_id
                        && let Some(key) =
                            ACCESS_KEYS.get(tx, ACCESS_KEY_PARTITION, k).map_err(db)?
                    {
                        for (n, doc) in key.session_policies.iter().enumerate() {
                            c.set.session_policies.push(parse(
                                &format!("session-policy-{n}"),
                                doc,
                                PolicyKind::Session,
                            )?);
                        }
                    }
                    c
                }
                _ => none(),
            })
        })?;
        let compiled = Arc::new(compiled);
        if self.shared.generation.load(Ordering::SeqCst) == generation {
            self.shared
                .cache
                .write()
                .unwrap_or_else(|e| e.into_inner())
                .insert(key, compiled.clone());
        }
        Ok(compiled)
    }

    /// The role's trust policy and account, when `resource` is a role ARN.
    fn trust_policy(
        &self,
        ctx: &Context,
        resource: &str,
    ) -> Result<Option<(String, AttachedPolicy)>, AwsError> {
        let Some(rest) = resource.strip_prefix("arn:aws:iam::") else { return Ok(None) };
        let Some((acct, role_path)) = rest.split_once(":role/") else { return Ok(None) };
        let name = role_path.rsplit('/').next().unwrap_or(role_path);
        rd(ctx.dispatcher.store(), |tx| {
            let Some(r) = ROLES.get(tx, acct, name).map_err(db)? else { return Ok(None) };
            if r.arn != resource {
                return Ok(None);
            }
            Ok(Some((acct.to_owned(), parse(&r.arn, &r.trust, PolicyKind::Trust)?)))
        })
    }
}

impl Authorizer for PolicyAuthorizer {
    fn authorize(
        &self,
        ctx: &Context,
        request: &AuthzRequest,
        input: &Value,
    ) -> Result<(), AwsError> {
        self.authorize_call(ctx, "", request, None, input)
    }

    /// Decides a call, in AWS's order (see the module doc). The rules that are mamori's own:
    ///
    /// - A service principal (`call_as_service`) has no identity policies. On a resource with
    ///   a resource-based policy it is allowed only when that policy allows it (a statement
    ///   naming the service, `"*"` or `{"AWS": "*"}`, with `aws:SourceArn`/`aws:SourceAccount`
    ///   from [`Context::source_arn`]). Without a resource policy, a service acting in its
    ///   own account is allowed (it is mamori itself); on another account's resource it is
    ///   refused.
    /// - An anonymous caller may take the few actions AWS serves unsigned, and otherwise only
    ///   what a resource policy grants to `"*"`.
    /// - The owner of a resource is `AuthzRequest::resource_account` when the service names
    ///   it, else the account in its ARN (IAM's `aws` for managed policies counts as
    ///   nobody's), else the caller's. A caller of another account needs its own policies
    ///   and the resource policy to allow.
    fn authorize_call(
        &self,
        ctx: &Context,
        service: &'static str,
        request: &AuthzRequest,
        resource_policy: Option<&str>,
        input: &Value,
    ) -> Result<(), AwsError> {
        if let Some(key) = &ctx.principal.access_key_id
            && key.starts_with("AKIA")
            && !service.is_empty()
        {
            self.shared.record_use(key, service, ctx);
        }
        let action_lower = request.action.to_ascii_lowercase();
        let trust = ROLE_TRUST_ACTIONS.contains(&action_lower.as_str());
        let own = ctx.principal.account.as_str();
        let owner = |arn| owner(request, arn);
        let foreign = request.resources.iter().any(|r| owner(r).is_some_and(|a| a != own));
        let deny = |resource: &str, reason| {
            Err(access_denied(service, &ctx.principal.arn, &request.action, resource, reason))
        };
        let compiled = match &ctx.principal.kind {
            PrincipalKind::Anonymous => {
                let unsigned = AllowAll.authorize(ctx, request, input);
                if unsigned.is_ok() || resource_policy.is_none() {
                    return unsigned;
                }
                let principal = Principal::new(String::new(), "", PKind::Anonymous);
                Arc::new(Compiled { principal, set: PolicySet::default() })
            }
            PrincipalKind::Service(name) => {
                // A service assuming a role (CloudTrail and its CloudWatch Logs role) is
                // decided by the role's trust policy, like any principal.
                if resource_policy.is_none() && !trust {
                    return match request
                        .resources
                        .iter()
                        .find(|r| owner(r).is_some_and(|a| a != own))
                    {
                        Some(r) => deny(r, Reason::NoResourcePolicyAllow),
                        None => Ok(()),
                    };
                }
                Arc::new(Compiled {
                    principal: Principal::service(name),
                    set: PolicySet::default(),
                })
            }
            // AWS: GetCallerIdentity needs no permission and cannot be denied.
            _ if action_lower == "sts:getcalleridentity" => return Ok(()),
            // GAP: no SCPs until Organizations exists; the root user of an account may do
            // everything in it that no resource policy denies.
            PrincipalKind::Root if !trust && resource_policy.is_none() && !foreign => {
                return Ok(());
            }
            _ => self.compiled(ctx)?,
        };
        let mut set_override = None;
        let resources = &request.resources;
        if trust {
            let role = resources.first().map(String::as_str).unwrap_or("*");
            let mut set = compiled.set.clone();
            set.resource_policy_required = true;
            match self.trust_policy(ctx, role)? {
                Some((acct, policy)) => {
                    set.resource_account = Some(acct);
                    set.resource_policy = Some(policy);
                }
                // No such role: nothing can allow, as AWS answers AccessDenied.
                None => set.resource_policy = None,
            }
            set_override = Some(set);
        } else if let Some(doc) = resource_policy {
            let mut set = compiled.set.clone();
            // A stored policy the engine cannot read allows nothing (fail closed).
            match Policy::parse(doc, PolicyKind::Resource) {
                Ok(policy) => {
                    set.resource_policy =
                        Some(AttachedPolicy { label: "resource-policy".into(), policy });
                }
                Err(e) => {
                    tracing::warn!(target: "iam", rid = %ctx.request_id, error = %e,
                        "a resource policy does not parse; denying");
                    let resource = resources.first().map_or("*", String::as_str);
                    return deny(resource, Reason::NoResourcePolicyAllow);
                }
            }
            set_override = Some(set);
        } else if foreign {
            set_override = Some(compiled.set.clone());
        }
        let mut req = Request {
            principal: compiled.principal.clone(),
            action: request.action.clone(),
            resources: Vec::new(),
            context: context_keys(ctx, &compiled.principal),
        }
        .with_principal_keys();
        // AssumeRole with SerialNumber and TokenCode: the trust policy sees the MFA the new
        // session will have (STS consumes the code once the call is allowed).
        if trust && mfa_code_checks(ctx, input) {
            req.context.insert("aws:MultiFactorAuthPresent".to_owned(), true.into());
            req.context.insert("aws:MultiFactorAuthAge".to_owned(), 0i64.into());
        }
        for (key, values) in &request.conditions {
            let value = match values.as_slice() {
                [one] => ContextValue::from(one.as_str()),
                many => ContextValue::Multi(
                    many.iter().map(|v| mamori_policy::Value::String(v.clone())).collect(),
                ),
            };
            req.context.insert(key.clone(), value);
        }
        // Each resource is decided on its own so that the message names the one refused.
        let star;
        let each = if resources.is_empty() {
            star = ["*".to_owned()];
            &star[..]
        } else {
            &resources[..]
        };
        for resource in each {
            if !trust && let Some(set) = set_override.as_mut() {
                set.resource_account = owner(resource).map(str::to_owned);
            }
            let set = set_override.as_ref().unwrap_or(&compiled.set);
            req.resources = vec![resource.clone()];
            let decision = evaluate(&req, set);
            log_decision(ctx, &request.action, resource, &decision);
            if decision.effect != DecisionEffect::Allow {
                return deny(resource, decision.reason);
            }
        }
        Ok(())
    }
}

/// Whether the call's `SerialNumber` and `TokenCode` are a good code of the calling IAM
/// user's enabled virtual MFA device (without consuming it).
fn mfa_code_checks(ctx: &Context, input: &Value) -> bool {
    let (Some(serial), Some(code), PrincipalKind::IamUser { name }) = (
        input.get("SerialNumber").and_then(Value::as_str),
        input.get("TokenCode").and_then(Value::as_str),
        &ctx.principal.kind,
    ) else {
        return false;
    };
    let acct = ctx.principal.account.as_str();
    let device = ctx.dispatcher.store().read(|tx| MFA_DEVICES.get(tx, acct, serial));
    matches!(device, Ok(Some(d)) if d.user.as_ref().is_some_and(|u| u.0 == *name)
        && d.check(code, ctx.time).is_some())
}

/// The account owning `arn` in `request`: the one the service named, else [`owner_of`].
fn owner<'a>(request: &'a AuthzRequest, arn: &'a str) -> Option<&'a str> {
    request.resource_account.as_deref().or_else(|| owner_of(arn))
}

/// The account owning the resource `arn`: its account field when that is an account id
/// (not IAM's `aws`, not empty as in S3 bucket ARNs).
fn owner_of(arn: &str) -> Option<&str> {
    let account = arn.split(':').nth(4)?;
    (account.len() == 12 && account.bytes().all(|b| b.is_ascii_digit())).then_some(account)
}

fn log_decision(ctx: &Context, action: &str, resource: &str, d: &Decision<'_>) {
    let matched: Vec<String> = d
        .matched
        .iter()
        .map(|m| {
            format!(
                "{}#{}{}",
                m.policy,
                m.statement_idx,
                m.sid.map(|s| format!("({s})")).unwrap_or_default()
            )
        })
        .collect();
    tracing::debug!(
        target: "iam", rid = %ctx.request_id, principal = %ctx.principal.arn, action, resource,
        effect = ?d.effect, reason = %d.reason, matched = ?matched, "authorization decision"
    );
}

fn source_phrase(source: PolicySource) -> &'static str {
    match source {
        PolicySource::Identity => "an identity-based policy",
        PolicySource::Resource => "a resource-based policy",
        PolicySource::Boundary => "a permissions boundary",
        PolicySource::Session => "a session policy",
        PolicySource::Scp { .. } => "a service control policy",
    }
}

/// The access-denied error of `service`'s protocol with AWS's message form.
pub fn access_denied(
    service: &str,
    principal: &str,
    action: &str,
    resource: &str,
    reason: Reason,
) -> AwsError {
    let because = |what: &str| format!(" because no {what} allows the {action} action");
    let tail = match reason {
        Reason::ExplicitDeny { source } => {
            format!(" with an explicit deny in {}", source_phrase(source))
        }
        Reason::ScpNotAllowed { .. } => because("service control policy"),
        Reason::ResourcePolicyRequired => String::new(),
        Reason::NoResourcePolicyAllow | Reason::CrossAccountNotAllowed => {
            because("resource-based policy")
        }
        Reason::BoundaryNotAllowed => because("permissions boundary"),
        Reason::SessionPolicyNotAllowed | Reason::NoSessionPolicy => because("session policy"),
        _ => because("identity-based policy"),
    };
    let kind = if principal.contains(":assumed-role/") || principal.starts_with("arn:") {
        "User"
    } else {
        "Principal"
    };
    let message = format!(
        "{kind}: {principal} is not authorized to perform: {action} on resource: {resource}{tail}"
    );
    let model = mamori_wire::models::get(service);
    if let Some(m) = model
        && m.shape("AccessDeniedException").is_some_and(|s| s.exception)
    {
        return AwsError::new("AccessDeniedException", message);
    }
    // SNS answers its own AuthorizationError (403) for every refusal.
    if let Some(m) = model
        && m.shape("AuthorizationErrorException").is_some_and(|s| s.exception)
    {
        return AwsError::new("AuthorizationErrorException", message);
    }
    match model.map(|m| m.metadata.protocol.as_str()) {
        Some("json") => AwsError::new("AccessDeniedException", message).with_status(400),
        Some("rest-json") => AwsError::new("AccessDeniedException", message).with_status(403),
        Some("ec2") => AwsError::new(
            "UnauthorizedOperation",
            format!("You are not authorized to perform this operation. {message}"),
        )
        .with_status(403),
        _ => AwsError::new("AccessDenied", message).with_status(403),
    }
}
