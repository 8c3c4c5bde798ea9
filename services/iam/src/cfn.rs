//! CloudFormation resource providers for `AWS::IAM::Role`, `AWS::IAM::User`,
//! `AWS::IAM::Policy` and `AWS::IAM::ManagedPolicy`, following
//! <https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-iam-role.html>,
//! <https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-iam-user.html>,
//! <https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-iam-policy.html>
//! and <https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-iam-managedpolicy.html>.
//!
//! Policy documents written as template objects are serialized to the JSON strings the
//! API takes. Each step is one of IAM's own operations through the dispatcher with the
//! stack caller's context; a create that fails half-way undoes its earlier steps.

use std::collections::BTreeMap;

use mamori_aws::AwsError;
use mamori_service::{
    Context, ResourceProvider, ResourceRequest, ResourceState, async_trait, generated_name,
    missing_property, prop_bool, prop_document, prop_f64, prop_str,
};
use serde_json::{Map, Value, json};

/// The IAM resource provider.
#[derive(Debug, Default)]
pub struct IamProvider;

const ROLE: &str = "AWS::IAM::Role";
const USER: &str = "AWS::IAM::User";
const POLICY: &str = "AWS::IAM::Policy";
const MANAGED_POLICY: &str = "AWS::IAM::ManagedPolicy";

/// Roles, users and groups share the inline and attached policy operations.
#[derive(Debug, Clone, Copy)]
enum Kind {
    Role,
    User,
    Group,
}

impl Kind {
    fn word(self) -> &'static str {
        match self {
            Kind::Role => "Role",
            Kind::User => "User",
            Kind::Group => "Group",
        }
    }
    fn name_member(self) -> &'static str {
        match self {
            Kind::Role => "RoleName",
            Kind::User => "UserName",
            Kind::Group => "GroupName",
        }
    }
}

#[async_trait]
impl ResourceProvider for IamProvider {
    fn types(&self) -> &'static [&'static str] {
        &[ROLE, USER, POLICY, MANAGED_POLICY]
    }

    fn replacement_properties(&self, type_name: &str) -> &'static [&'static str] {
        match type_name {
            ROLE => &["RoleName", "Path"],
            USER => &["UserName", "Path"],
            MANAGED_POLICY => &["ManagedPolicyName", "Path", "Description"],
            _ => &[],
        }
    }

    fn gaps(&self, type_name: &str) -> &'static [&'static str] {
        match type_name {
            ROLE => &["Tags changes of an existing role are not applied"],
            USER => &["Tags and LoginProfile changes of an existing user are not applied"],
            MANAGED_POLICY => {
                &["an update past five policy versions is refused (AWS deletes the oldest)"]
            }
            _ => &[],
        }
    }

    async fn create(
        &self,
        ctx: &Context,
        req: &ResourceRequest,
    ) -> Result<ResourceState, AwsError> {
        match req.type_name.as_str() {
            ROLE | USER => {
                let kind = if req.type_name == ROLE { Kind::Role } else { Kind::User };
                let state = create_principal(ctx, req, kind).await?;
                if let Err(e) = attach_all(ctx, kind, &state.physical_id, &req.properties).await {
                    let _ = delete_principal(ctx, kind, &state.physical_id, &req.properties).await;
                    return Err(e);
                }
                Ok(state)
            }
            POLICY => {
                let name = prop_str(&req.properties, "PolicyName")
                    .ok_or_else(|| missing_property(req, "PolicyName"))?;
                let doc = prop_document(&req.properties, "PolicyDocument")
                    .ok_or_else(|| missing_property(req, "PolicyDocument"))?;
                let targets = targets(&req.properties);
                for (i, (kind, target)) in targets.iter().enumerate() {
                    if let Err(e) = put_inline(ctx, *kind, target, &name, &doc).await {
                        for (kind, target) in &targets[..i] {
                            let _ = delete_inline(ctx, *kind, target, &name).await;
                        }
                        return Err(e);
                    }
                }
                let id = generated_name(&req.stack_name, &req.logical_id, 128);
                Ok(ResourceState {
                    attributes: BTreeMap::from([("Id".into(), json!(id))]),
                    physical_id: id,
                })
            }
            _ => create_managed_policy(ctx, req).await,
        }
    }

    async fn update(
        &self,
        ctx: &Context,
        req: &ResourceRequest,
        old: &Map<String, Value>,
        previous: &ResourceState,
    ) -> Result<ResourceState, AwsError> {
        let p = &req.properties;
        let changed = |k: &str| p.get(k) != old.get(k);
        match req.type_name.as_str() {
            ROLE | USER => {
                let kind = if req.type_name == ROLE { Kind::Role } else { Kind::User };
                let name = &previous.physical_id;
                if kind_is_role(kind) && changed("AssumeRolePolicyDocument") {
                    let doc = prop_document(p, "AssumeRolePolicyDocument").unwrap_or_default();
                    let input = json!({"RoleName": name, "PolicyDocument": doc});
                    call(ctx, "UpdateAssumeRolePolicy", input).await?;
                }
                if kind_is_role(kind) && (changed("Description") || changed("MaxSessionDuration")) {
                    let mut input = json!({"RoleName": name});
                    input["Description"] = json!(prop_str(p, "Description").unwrap_or_default());
                    if let Some(d) = prop_f64(p, "MaxSessionDuration") {
                        input["MaxSessionDuration"] = json!(d as i64);
                    }
                    call(ctx, "UpdateRole", input).await?;
                }
                if changed("PermissionsBoundary") {
                    let w = kind.word();
                    let input = match prop_str(p, "PermissionsBoundary") {
                        Some(b) => json!({kind.name_member(): name, "PermissionsBoundary": b}),
                        None => json!({kind.name_member(): name}),
                    };
                    let op = if p.contains_key("PermissionsBoundary") {
                        format!("Put{w}PermissionsBoundary")
                    } else {
                        format!("Delete{w}PermissionsBoundary")
                    };
                    call(ctx, &op, input).await?;
                }
                let new_inline = inline_policies(p);
                for (policy, _) in inline_policies(old) {
                    if !new_inline.iter().any(|(n, _)| *n == policy) {
                        delete_inline(ctx, kind, name, &policy).await?;
                    }
                }
                let new_managed = strings(p, "ManagedPolicyArns");
                for arn in strings(old, "ManagedPolicyArns") {
                    if !new_managed.contains(&arn) {
                        detach(ctx, kind, name, &arn).await?;
                    }
                }
                if let Kind::User = kind {
                    let new_groups = strings(p, "Groups");
                    for g in strings(old, "Groups") {
                        if !new_groups.contains(&g) {
                            let input = json!({"GroupName": g, "UserName": name});
                            call(ctx, "RemoveUserFromGroup", input).await?;
                        }
                    }
                }
                // GAP: Tags and LoginProfile changes of an existing user or role are not applied.
                attach_all(ctx, kind, name, p).await?;
                Ok(previous.clone())
            }
            POLICY => {
                let name = prop_str(p, "PolicyName").unwrap_or_default();
                let old_name = prop_str(old, "PolicyName").unwrap_or_default();
                let new_targets = targets(p);
                for (kind, target) in targets(old) {
                    let kept =
                        new_targets.iter().any(|(k, t)| k.word() == kind.word() && *t == target);
                    if !kept || old_name != name {
                        delete_inline(ctx, kind, &target, &old_name).await?;
                    }
                }
                let doc = prop_document(p, "PolicyDocument").unwrap_or_default();
                for (kind, target) in &new_targets {
                    put_inline(ctx, *kind, target, &name, &doc).await?;
                }
                Ok(previous.clone())
            }
            _ => {
                let arn = &previous.physical_id;
                if changed("PolicyDocument") {
                    let doc = prop_document(p, "PolicyDocument").unwrap_or_default();
                    // GAP: when the policy already has five versions the new one is
                    // refused (AWS CloudFormation deletes the oldest non-default one).
                    let input =
                        json!({"PolicyArn": arn, "PolicyDocument": doc, "SetAsDefault": true});
                    call(ctx, "CreatePolicyVersion", input).await?;
                }
                for (kind, target) in managed_targets(old) {
                    let kept = managed_targets(p)
                        .iter()
                        .any(|(k, t)| k.word() == kind.word() && *t == target);
                    if !kept {
                        detach(ctx, kind, &target, arn).await?;
                    }
                }
                for (kind, target) in managed_targets(p) {
                    attach(ctx, kind, &target, arn).await?;
                }
                managed_state(ctx, arn).await
            }
        }
    }

    async fn delete(
        &self,
        ctx: &Context,
        req: &ResourceRequest,
        state: &ResourceState,
    ) -> Result<(), AwsError> {
        let p = &req.properties;
        let res = match req.type_name.as_str() {
            ROLE => delete_principal(ctx, Kind::Role, &state.physical_id, p).await,
            USER => delete_principal(ctx, Kind::User, &state.physical_id, p).await,
            POLICY => {
                let name = prop_str(p, "PolicyName").unwrap_or_default();
                for (kind, target) in targets(p) {
                    ignore_missing(delete_inline(ctx, kind, &target, &name).await)?;
                }
                Ok(())
            }
            _ => delete_managed_policy(ctx, &state.physical_id, p).await,
        };
        ignore_missing(res)
    }
}

fn kind_is_role(kind: Kind) -> bool {
    matches!(kind, Kind::Role)
}

fn ignore_missing(res: Result<(), AwsError>) -> Result<(), AwsError> {
    match res {
        Err(e) if e.code == "NoSuchEntityException" || e.code == "NoSuchEntity" => Ok(()),
        other => other,
    }
}

async fn call(ctx: &Context, op: &str, input: Value) -> Result<Value, AwsError> {
    ctx.dispatcher.call(ctx, "iam", op, input).await
}

fn strings(p: &Map<String, Value>, name: &str) -> Vec<String> {
    p.get(name)
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|v| v.as_str().map(str::to_owned))
        .collect()
}

/// The inline `Policies` of a role or user: (name, document).
fn inline_policies(p: &Map<String, Value>) -> Vec<(String, String)> {
    let mut res = Vec::new();
    for item in p.get("Policies").and_then(Value::as_array).into_iter().flatten() {
        let Some(item) = item.as_object() else { continue };
        if let (Some(n), Some(d)) =
            (prop_str(item, "PolicyName"), prop_document(item, "PolicyDocument"))
        {
            res.push((n, d));
        }
    }
    res
}

/// The roles, users and groups an `AWS::IAM::Policy` applies to.
fn targets(p: &Map<String, Value>) -> Vec<(Kind, String)> {
    let mut res = Vec::new();
    for (kind, member) in [(Kind::Role, "Roles"), (Kind::User, "Users"), (Kind::Group, "Groups")] {
        res.extend(strings(p, member).into_iter().map(|n| (kind, n)));
    }
    res
}

fn managed_targets(p: &Map<String, Value>) -> Vec<(Kind, String)> {
    targets(p)
}

fn tags(p: &Map<String, Value>) -> Option<Value> {
    p.get("Tags").cloned()
}

async fn create_principal(
    ctx: &Context,
    req: &ResourceRequest,
    kind: Kind,
) -> Result<ResourceState, AwsError> {
    let p = &req.properties;
    let name = prop_str(p, kind.name_member())
        .unwrap_or_else(|| generated_name(&req.stack_name, &req.logical_id, 64));
    let mut input = json!({kind.name_member(): name});
    for k in ["Path", "PermissionsBoundary", "Description"] {
        if let Some(v) = prop_str(p, k)
            && (kind_is_role(kind) || k != "Description")
        {
            input[k] = json!(v);
        }
    }
    if let Some(t) = tags(p) {
        input["Tags"] = t;
    }
    let out = if kind_is_role(kind) {
        let doc = prop_document(p, "AssumeRolePolicyDocument")
            .ok_or_else(|| missing_property(req, "AssumeRolePolicyDocument"))?;
        input["AssumeRolePolicyDocument"] = json!(doc);
        if let Some(d) = prop_f64(p, "MaxSessionDuration") {
            input["MaxSessionDuration"] = json!(d as i64);
        }
        call(ctx, "CreateRole", input).await?
    } else {
        call(ctx, "CreateUser", input).await?
    };
    let entity = out.get(kind.word()).cloned().unwrap_or_default();
    let mut attributes = BTreeMap::new();
    attributes.insert("Arn".into(), entity.get("Arn").cloned().unwrap_or_default());
    if kind_is_role(kind) {
        attributes.insert("RoleId".into(), entity.get("RoleId").cloned().unwrap_or_default());
    }
    Ok(ResourceState { physical_id: name, attributes })
}

/// Puts the inline policies, managed policies, groups and login profile of a role or user.
async fn attach_all(
    ctx: &Context,
    kind: Kind,
    name: &str,
    p: &Map<String, Value>,
) -> Result<(), AwsError> {
    for (policy, doc) in inline_policies(p) {
        put_inline(ctx, kind, name, &policy, &doc).await?;
    }
    for arn in strings(p, "ManagedPolicyArns") {
        attach(ctx, kind, name, &arn).await?;
    }
    if let Kind::User = kind {
        for g in strings(p, "Groups") {
            call(ctx, "AddUserToGroup", json!({"GroupName": g, "UserName": name})).await?;
        }
        if let Some(lp) = p.get("LoginProfile").and_then(Value::as_object) {
            let exists = call(ctx, "GetLoginProfile", json!({"UserName": name})).await.is_ok();
            if !exists {
                let mut input = json!({"UserName": name, "Password": prop_str(lp, "Password").unwrap_or_default()});
                if let Some(r) = prop_bool(lp, "PasswordResetRequired") {
                    input["PasswordResetRequired"] = json!(r);
                }
                call(ctx, "CreateLoginProfile", input).await?;
            }
        }
    }
    Ok(())
}

async fn delete_principal(
    ctx: &Context,
    kind: Kind,
    name: &str,
    p: &Map<String, Value>,
) -> Result<(), AwsError> {
    for (policy, _) in inline_policies(p) {
        ignore_missing(delete_inline(ctx, kind, name, &policy).await)?;
    }
    for arn in strings(p, "ManagedPolicyArns") {
        ignore_missing(detach(ctx, kind, name, &arn).await)?;
    }
    if let Kind::User = kind {
        for g in strings(p, "Groups") {
            let input = json!({"GroupName": g, "UserName": name});
            ignore_missing(call(ctx, "RemoveUserFromGroup", input).await.map(|_| ()))?;
        }
        if p.contains_key("LoginProfile") {
            let input = json!({"UserName": name});
            ignore_missing(call(ctx, "DeleteLoginProfile", input).await.map(|_| ()))?;
        }
    }
    let op = format!("Delete{}", kind.word());
    call(ctx, &op, json!({kind.name_member(): name})).await.map(|_| ())
}

async fn put_inline(
    ctx: &Context,
    kind: Kind,
    target: &str,
    policy: &str,
    doc: &str,
) -> Result<(), AwsError> {
    let input = json!({kind.name_member(): target, "PolicyName": policy, "PolicyDocument": doc});
    call(ctx, &format!("Put{}Policy", kind.word()), input).await.map(|_| ())
}

async fn delete_inline(
    ctx: &Context,
    kind: Kind,
    target: &str,
    policy: &str,
) -> Result<(), AwsError> {
    let input = json!({kind.name_member(): target, "PolicyName": policy});
    call(ctx, &format!("Delete{}Policy", kind.word()), input).await.map(|_| ())
}

async fn attach(ctx: &Context, kind: Kind, target: &str, arn: &str) -> Result<(), AwsError> {
    let input = json!({kind.name_member(): target, "PolicyArn": arn});
    call(ctx, &format!("Attach{}Policy", kind.word()), input).await.map(|_| ())
}

async fn detach(ctx: &Context, kind: Kind, target: &str, arn: &str) -> Result<(), AwsError> {
    let input = json!({kind.name_member(): target, "PolicyArn": arn});
    call(ctx, &format!("Detach{}Policy", kind.word()), input).await.map(|_| ())
}

async fn create_managed_policy(
    ctx: &Context,
    req: &ResourceRequest,
) -> Result<ResourceState, AwsError> {
    let p = &req.properties;
    let name = prop_str(p, "ManagedPolicyName")
        .unwrap_or_else(|| generated_name(&req.stack_name, &req.logical_id, 128));
    let doc = prop_document(p, "PolicyDocument")
        .ok_or_else(|| missing_property(req, "PolicyDocument"))?;
    let mut input = json!({"PolicyName": name, "PolicyDocument": doc});
    for k in ["Path", "Description"] {
        if let Some(v) = prop_str(p, k) {
            input[k] = json!(v);
        }
    }
    let out = call(ctx, "CreatePolicy", input).await?;
    let arn = out["Policy"]["Arn"].as_str().unwrap_or_default().to_owned();
    for (kind, target) in managed_targets(p) {
        if let Err(e) = attach(ctx, kind, &target, &arn).await {
            let _ = delete_managed_policy(ctx, &arn, p).await;
            return Err(e);
        }
    }
    managed_state(ctx, &arn).await
}

/// The `Ref` (the ARN) and attributes of a managed policy, read back from IAM.
async fn managed_state(ctx: &Context, arn: &str) -> Result<ResourceState, AwsError> {
    let out = call(ctx, "GetPolicy", json!({"PolicyArn": arn})).await?;
    let policy = &out["Policy"];
    let mut attributes = BTreeMap::new();
    attributes.insert("PolicyArn".into(), json!(arn));
    for (attr, member) in [
        ("PolicyId", "PolicyId"),
        ("DefaultVersionId", "DefaultVersionId"),
        ("AttachmentCount", "AttachmentCount"),
        ("PermissionsBoundaryUsageCount", "PermissionsBoundaryUsageCount"),
        ("IsAttachable", "IsAttachable"),
        ("CreateDate", "CreateDate"),
        ("UpdateDate", "UpdateDate"),
    ] {
        if let Some(v) = policy.get(member) {
            attributes.insert(attr.into(), v.clone());
        }
    }
    Ok(ResourceState { physical_id: arn.to_owned(), attributes })
}

async fn delete_managed_policy(
    ctx: &Context,
    arn: &str,
    p: &Map<String, Value>,
) -> Result<(), AwsError> {
    for (kind, target) in managed_targets(p) {
        ignore_missing(detach(ctx, kind, &target, arn).await)?;
    }
    let versions = call(ctx, "ListPolicyVersions", json!({"PolicyArn": arn})).await?;
    for v in versions["Versions"].as_array().into_iter().flatten() {
        if v["IsDefaultVersion"] != json!(true)
            && let Some(id) = v["VersionId"].as_str()
        {
            call(ctx, "DeletePolicyVersion", json!({"PolicyArn": arn, "VersionId": id})).await?;
        }
    }
    call(ctx, "DeletePolicy", json!({"PolicyArn": arn})).await.map(|_| ())
}
