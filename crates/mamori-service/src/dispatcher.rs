//! The dispatcher: the one path every call takes, from the HTTP server or from inside
//! mamori. It finds the handler, asks the authorization hook, runs the handler and hands
//! one audit record per call to the audit sinks. There is no other way to reach a
//! handler, so policy and audit apply to internal calls exactly as to external ones.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use mamori_aws::{AccountId, AwsError, Region};
use mamori_store::Store;
use serde_json::Value;

use crate::{
    AuditRecord, AuditSink, Context, Credentials, Principal, ResourceProvider, Scheduler, Service,
    SharedClock,
};

/// What the authorization hook is asked about a call.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuthzRequest {
    /// The IAM action (`logs:PutMetricFilter`).
    pub action: String,
    /// The resource ARNs (`*` when the action takes none).
    pub resources: Vec<String>,
    /// Condition keys the request itself supplies (`s3:x-amz-acl`, `s3:prefix`), each
    /// with its values; the authorizer adds the global `aws:` keys it knows from the
    /// context.
    pub conditions: Vec<(String, Vec<String>)>,
    /// The account owning the resources, for ARNs that do not name one (S3 buckets); by
    /// default the authorizer takes the account field of each ARN, else the caller's.
    pub resource_account: Option<String>,
}

impl AuthzRequest {
    /// `action` on `resources`, with no request condition keys.
    pub fn new(action: impl Into<String>, resources: Vec<String>) -> Self {
        Self { action: action.into(), resources, conditions: Vec::new(), resource_account: None }
    }

    /// Names the account owning the resources (for cross-account decisions).
    #[must_use]
    pub fn owned_by(mut self, account: impl Into<String>) -> Self {
        self.resource_account = Some(account.into());
        self
    }

    /// Adds a request condition key with its values.
    #[must_use]
    pub fn with_condition(mut self, key: impl Into<String>, values: Vec<String>) -> Self {
        self.conditions.push((key.into(), values));
        self
    }
}

/// The authorization hook: decides every call before its handler runs.
pub trait Authorizer: Send + Sync {
    /// `Ok` to let the call through, or the access-denied error to answer.
    fn authorize(
        &self,
        ctx: &Context,
        request: &AuthzRequest,
        input: &Value,
    ) -> Result<(), AwsError>;

    /// Decides a call of `service` (its model id), with the resource-based policy the
    /// service supplied ([`Service::resource_policy`]). The default ignores both and asks
    /// [`Authorizer::authorize`].
    fn authorize_call(
        &self,
        ctx: &Context,
        service: &'static str,
        request: &AuthzRequest,
        resource_policy: Option<&str>,
        input: &Value,
    ) -> Result<(), AwsError> {
        let _ = (service, resource_policy);
        self.authorize(ctx, request, input)
    }
}

/// The hook until the IAM policy engine decides: every signed call is allowed, and an
/// anonymous call only for the operations AWS serves unsigned.
// GAP: no IAM policy is evaluated yet; every authenticated call is allowed.
#[derive(Debug, Default)]
pub struct AllowAll;

/// Actions an anonymous caller may take without any policy granting them.
const ANONYMOUS_ACTIONS: &[&str] = &[
    "sns:ConfirmSubscription",
    "sns:Unsubscribe",
    "sts:AssumeRoleWithWebIdentity",
    "sts:AssumeRoleWithSAML",
];

impl Authorizer for AllowAll {
    fn authorize(&self, ctx: &Context, request: &AuthzRequest, _: &Value) -> Result<(), AwsError> {
        if ctx.principal.kind == crate::PrincipalKind::Anonymous
            && !ANONYMOUS_ACTIONS.contains(&request.action.as_str())
        {
            return Err(AwsError::new("AccessDenied", "Access Denied").with_status(403));
        }
        Ok(())
    }
}

/// Checks the input of a call made on a caller's behalf against the service model
/// (`service`, `operation`, input); the binary installs the wire layer's checker.
pub type InputValidator =
    Arc<dyn Fn(&'static str, &str, &Value) -> Result<(), AwsError> + Send + Sync>;

/// Routes calls to services. Shared as `Arc<Dispatcher>`.
pub struct Dispatcher {
    services: HashMap<&'static str, Arc<dyn Service>>,
    providers: HashMap<&'static str, Arc<dyn ResourceProvider>>,
    validator: RwLock<Option<InputValidator>>,
    authorizer: RwLock<Arc<dyn Authorizer>>,
    sinks: RwLock<Vec<Arc<dyn AuditSink>>>,
    credentials: RwLock<Arc<dyn Credentials>>,
    clock: SharedClock,
    store: Store,
    scheduler: Scheduler,
}

impl std::fmt::Debug for Dispatcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Dispatcher")
            .field("services", &self.services.keys())
            .finish_non_exhaustive()
    }
}

impl Dispatcher {
    /// A dispatcher over `services`.
    pub fn new(
        services: Vec<Arc<dyn Service>>,
        credentials: Arc<dyn Credentials>,
        clock: SharedClock,
        store: Store,
    ) -> Arc<Self> {
        let mut providers = HashMap::new();
        for svc in &services {
            for provider in svc.resource_providers() {
                for t in provider.types() {
                    providers.insert(*t, provider.clone());
                }
            }
        }
        Arc::new(Self {
            services: services.into_iter().map(|s| (s.model_id(), s)).collect(),
            providers,
            validator: RwLock::new(None),
            authorizer: RwLock::new(Arc::new(AllowAll)),
            sinks: RwLock::new(Vec::new()),
            credentials: RwLock::new(credentials),
            clock,
            store,
            scheduler: Scheduler::default(),
        })
    }

    /// The clock.
    pub fn clock(&self) -> &SharedClock {
        &self.clock
    }

    /// The store.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The scheduler.
    pub fn scheduler(&self) -> &Scheduler {
        &self.scheduler
    }

    /// The registered services' model ids, sorted.
    pub fn service_ids(&self) -> Vec<&'static str> {
        let mut ids: Vec<_> = self.services.keys().copied().collect();
        ids.sort_unstable();
        ids
    }

    /// A registered service.
    pub fn service(&self, id: &str) -> Option<&Arc<dyn Service>> {
        self.services.get(id)
    }

    /// The CloudFormation resource provider of `resource_type` (`AWS::SNS::Topic`).
    pub fn resource_provider(&self, resource_type: &str) -> Option<Arc<dyn ResourceProvider>> {
        self.providers.get(resource_type).cloned()
    }

    /// The resource types some service provides, sorted.
    pub fn resource_types(&self) -> Vec<&'static str> {
        let mut types: Vec<_> = self.providers.keys().copied().collect();
        types.sort_unstable();
        types
    }

    /// Installs the model check for calls made on a caller's behalf (`invoked_by` set):
    /// their input comes from what the caller wrote (a template) but never passed the
    /// wire layer, so without it a provider could hand a service values its model
    /// forbids.
    pub fn set_input_validator(&self, validator: InputValidator) {
        *self.validator.write().unwrap_or_else(|e| e.into_inner()) = Some(validator);
    }

    /// Replaces the authorization hook.
    pub fn set_authorizer(&self, authorizer: Arc<dyn Authorizer>) {
        *self.authorizer.write().unwrap_or_else(|e| e.into_inner()) = authorizer;
    }

    /// Replaces the credential lookup.
    pub fn set_credentials(&self, credentials: Arc<dyn Credentials>) {
        *self.credentials.write().unwrap_or_else(|e| e.into_inner()) = credentials;
    }

    /// The credential lookup.
    pub fn credentials(&self) -> Arc<dyn Credentials> {
        self.credentials.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Adds an audit sink.
    pub fn add_audit_sink(&self, sink: Arc<dyn AuditSink>) {
        self.sinks.write().unwrap_or_else(|e| e.into_inner()).push(sink);
    }

    /// Calls `operation` of `service` as `ctx.principal`: authorization, handler, audit.
    pub async fn call(
        &self,
        ctx: &Context,
        service: &'static str,
        operation: &str,
        input: Value,
    ) -> Result<Value, AwsError> {
        let sinks: Vec<Arc<dyn AuditSink>> = {
            let all = self.sinks.read().unwrap_or_else(|e| e.into_inner());
            all.iter().filter(|s| s.wants(ctx, service, operation)).cloned().collect()
        };
        // One record for every sink; the first decides what of the call it keeps.
        let audit_input = sinks.first().map(|s| s.capture(service, operation, &input));
        let result = self.call_handler(ctx, service, operation, input).await;
        tracing::debug!(
            svc = service, op = operation, rid = %ctx.request_id, principal = %ctx.principal.arn,
            ok = result.is_ok(), "call"
        );
        if let Some(input) = &audit_input {
            let record = audit_record(ctx, service, operation, input, result.as_ref());
            // Answered only once every sink keeps the record, so a crash loses no
            // answered call's record.
            for sink in &sinks {
                sink.record(&record).await;
            }
        }
        result
    }

    /// Waits until every audit sink has stored what it was handed so far.
    pub async fn flush_audit(&self) {
        let sinks = self.sinks.read().unwrap_or_else(|e| e.into_inner()).clone();
        for sink in &sinks {
            sink.flush().await;
        }
    }

    /// Records a call that failed before its handler could run (the input did not
    /// decode), so that audit sees every answered call; resolves once the sinks keep it.
    pub async fn audit_rejected(
        &self,
        ctx: &Context,
        service: &'static str,
        operation: &str,
        error: &AwsError,
    ) {
        let sinks = self.sinks.read().unwrap_or_else(|e| e.into_inner()).clone();
        if sinks.is_empty() {
            return;
        }
        let record = audit_record(ctx, service, operation, &Value::Null, Err(error));
        for sink in &sinks {
            sink.record(&record).await;
        }
    }

    /// An internal call as a service principal acting on its own in `account`/`region`.
    pub async fn call_as_service(
        self: &Arc<Self>,
        principal: &str,
        account: AccountId,
        region: Region,
        service: &'static str,
        operation: &str,
        input: Value,
    ) -> Result<Value, AwsError> {
        let ctx = Context::internal(
            self.clone(),
            Principal::service(principal, account.clone()),
            account,
            region,
        );
        self.call(&ctx, service, operation, input).await
    }

    /// [`Dispatcher::call_as_service`] on behalf of the service's resource `source_arn`
    /// (an alarm publishing to SNS), which resource policies see as `aws:SourceArn` and,
    /// with the account in that ARN (or `account`), `aws:SourceAccount`.
    #[allow(clippy::too_many_arguments)]
    pub async fn call_as_service_from(
        self: &Arc<Self>,
        principal: &str,
        source_arn: &str,
        account: AccountId,
        region: Region,
        service: &'static str,
        operation: &str,
        input: Value,
    ) -> Result<Value, AwsError> {
        let mut ctx = Context::internal(
            self.clone(),
            Principal::service(principal, account.clone()),
            account.clone(),
            region,
        );
        let arn_account = source_arn.split(':').nth(4).filter(|a| !a.is_empty());
        ctx.source_account = Some(arn_account.unwrap_or(account.as_str()).to_owned());
        ctx.source_arn = Some(source_arn.to_owned());
        self.call(&ctx, service, operation, input).await
    }

    /// Asks the authorizer about a further action of the call `ctx` is serving, with that
    /// resource's own resource-based policy: S3's CopyObject must also be allowed
    /// `s3:GetObject` on its source, under the source bucket's policy.
    pub fn authorize_also(
        &self,
        ctx: &Context,
        service: &'static str,
        request: &AuthzRequest,
        resource_policy: Option<&str>,
        input: &Value,
    ) -> Result<(), AwsError> {
        let authorizer = self.authorizer.read().unwrap_or_else(|e| e.into_inner()).clone();
        authorizer.authorize_call(ctx, service, request, resource_policy, input)
    }

    async fn call_handler(
        &self,
        ctx: &Context,
        service: &'static str,
        operation: &str,
        input: Value,
    ) -> Result<Value, AwsError> {
        let Some(svc) = self.services.get(service) else {
            return Err(AwsError::not_implemented(service, operation));
        };
        if !svc.operations().iter().any(|op| op.name == operation) {
            return Err(AwsError::not_implemented(service, operation));
        }
        if ctx.invoked_by.is_some() {
            let validator = self.validator.read().unwrap_or_else(|e| e.into_inner()).clone();
            if let Some(check) = validator {
                check(service, operation, &input)?;
            }
        }
        let request = svc.authz(ctx, operation, &input);
        let resource_policy = svc.resource_policy(ctx, operation, &input);
        let authorizer = self.authorizer.read().unwrap_or_else(|e| e.into_inner()).clone();
        authorizer.authorize_call(ctx, service, &request, resource_policy.as_deref(), &input)?;
        svc.call(ctx, operation, input).await
    }
}

/// The audit record of a call, borrowed from its context, input and result.
fn audit_record<'a>(
    ctx: &'a Context,
    service: &'static str,
    operation: &'a str,
    input: &'a Value,
    result: Result<&'a Value, &'a AwsError>,
) -> AuditRecord<'a> {
    AuditRecord {
        service,
        operation,
        principal: &ctx.principal,
        account: &ctx.account,
        region: &ctx.region,
        source_ip: &ctx.source_ip,
        user_agent: &ctx.user_agent,
        request_id: &ctx.request_id,
        time: ctx.time,
        input,
        output: result.ok(),
        error: result.err().map(|e| (e.code.as_str(), e.message.as_str())),
        invoked_by: ctx.invoked_by.as_deref(),
        internal: ctx.source_ip == "AWS Internal",
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use async_trait::async_trait;
    use serde_json::json;

    use super::*;
    use crate::{Kept, OpSpec, RealClock, RootCredentials};

    struct Echo;

    #[async_trait]
    impl Service for Echo {
        fn model_id(&self) -> &'static str {
            "echo"
        }
        fn operations(&self) -> &'static [OpSpec] {
            &[OpSpec { name: "Echo", gaps: &[] }]
        }
        async fn call(&self, _: &Context, _: &str, input: Value) -> Result<Value, AwsError> {
            Ok(input)
        }
        fn resource_providers(&self) -> Vec<Arc<dyn ResourceProvider>> {
            vec![Arc::new(EchoProvider)]
        }
    }

    struct EchoProvider;

    #[async_trait]
    impl ResourceProvider for EchoProvider {
        fn types(&self) -> &'static [&'static str] {
            &["Mamori::Echo::Thing", "Mamori::Echo::Other"]
        }
        async fn create(
            &self,
            ctx: &Context,
            req: &crate::ResourceRequest,
        ) -> Result<crate::ResourceState, AwsError> {
            let out =
                ctx.dispatcher.call(ctx, "echo", "Echo", json!({"id": req.logical_id})).await?;
            Ok(crate::ResourceState {
                physical_id: out["id"].as_str().unwrap_or("").into(),
                ..Default::default()
            })
        }
        async fn update(
            &self,
            _: &Context,
            _: &crate::ResourceRequest,
            _: &serde_json::Map<String, Value>,
            previous: &crate::ResourceState,
        ) -> Result<crate::ResourceState, AwsError> {
            Ok(previous.clone())
        }
        async fn delete(
            &self,
            _: &Context,
            _: &crate::ResourceRequest,
            _: &crate::ResourceState,
        ) -> Result<(), AwsError> {
            Ok(())
        }
    }

    struct DenyAll;
    impl Authorizer for DenyAll {
        fn authorize(&self, _: &Context, r: &AuthzRequest, _: &Value) -> Result<(), AwsError> {
            Err(AwsError::new("AccessDenied", format!("not allowed: {}", r.action))
                .with_status(403))
        }
    }

    #[derive(Default)]
    struct Collect(Mutex<Vec<(String, Option<String>)>>);
    impl AuditSink for Collect {
        fn record(&self, r: &AuditRecord<'_>) -> Kept<'_> {
            self.0.lock().unwrap().push((r.operation.into(), r.error.map(|e| e.0.into())));
            Kept::now()
        }
    }

    fn dispatcher() -> Arc<Dispatcher> {
        let account = AccountId::parse("000000000000").unwrap();
        let creds =
            RootCredentials { access_key_id: "test".into(), secret: "test".into(), account };
        Dispatcher::new(
            vec![Arc::new(Echo)],
            Arc::new(creds),
            Arc::new(RealClock),
            Store::in_memory().unwrap(),
        )
    }

    #[tokio::test]
    async fn providers_are_found_by_type_and_act_through_the_dispatcher() {
        let d = dispatcher();
        assert_eq!(d.resource_types(), ["Mamori::Echo::Other", "Mamori::Echo::Thing"]);
        assert!(d.resource_provider("AWS::SNS::Topic").is_none());
        let provider = d.resource_provider("Mamori::Echo::Thing").unwrap();
        let account = AccountId::parse("000000000000").unwrap();
        let region = Region::parse("us-east-1").unwrap();
        let caller =
            Context::internal(d.clone(), Principal::root(account.clone()), account, region);
        let ctx = caller.on_behalf("cloudformation.amazonaws.com");
        assert_eq!(ctx.invoked_by.as_deref(), Some("cloudformation.amazonaws.com"));
        assert_eq!(ctx.principal, caller.principal);
        let req = crate::ResourceRequest {
            type_name: "Mamori::Echo::Thing".into(),
            logical_id: "Thing".into(),
            stack_name: "s".into(),
            properties: Default::default(),
        };
        assert_eq!(provider.create(&ctx, &req).await.unwrap().physical_id, "Thing");
    }

    #[tokio::test]
    async fn every_call_is_authorized_and_audited() {
        let d = dispatcher();
        let sink = Arc::new(Collect::default());
        d.add_audit_sink(sink.clone());
        let account = AccountId::parse("000000000000").unwrap();
        let region = Region::parse("us-east-1").unwrap();
        let got = d
            .call_as_service(
                "logs.amazonaws.com",
                account.clone(),
                region.clone(),
                "echo",
                "Echo",
                json!({"a": 1}),
            )
            .await;
        assert_eq!(got.unwrap(), json!({"a": 1}));
        let missing = d
            .call_as_service("x", account.clone(), region.clone(), "echo", "Nope", json!({}))
            .await;
        assert_eq!(missing.unwrap_err().status, Some(501));
        d.set_authorizer(Arc::new(DenyAll));
        let denied = d.call_as_service("x", account, region, "echo", "Echo", json!({})).await;
        assert_eq!(denied.unwrap_err().code, "AccessDenied");
        let seen = sink.0.lock().unwrap().clone();
        assert_eq!(
            seen,
            vec![
                ("Echo".into(), None),
                ("Nope".into(), Some("NotImplemented".into())),
                ("Echo".into(), Some("AccessDenied".into()))
            ]
        );
    }
}
