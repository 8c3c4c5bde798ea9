//! Turns a dispatcher audit record into a CloudTrail event record, with the fields and
//! forms of <https://docs.aws.amazon.com/awscloudtrail/latest/userguide/cloudtrail-event-reference-record-contents.html>
//! and <https://docs.aws.amazon.com/awscloudtrail/latest/userguide/cloudtrail-event-reference-user-identity.html>.

use mamori_service::{AuditRecord, PrincipalKind};
use serde_json::{Map, Value, json};

/// The event version written in every record.
pub const EVENT_VERSION: &str = "1.11";

/// The `eventSource` of a service, by model id.
pub fn event_source(service: &str) -> String {
    let prefix = match service {
        "cloudwatch" => "monitoring",
        "cloudhsmv2" => "cloudhsm",
        other => other,
    };
    format!("{prefix}.amazonaws.com")
}

/// Services whose events AWS records in us-east-1 whatever the caller's region.
pub fn is_global(service: &str) -> bool {
    matches!(service, "iam" | "sts" | "organizations")
}

/// Whether an `eventSource` belongs to a global service.
pub fn is_global_source(source: &str) -> bool {
    matches!(source, "iam.amazonaws.com" | "sts.amazonaws.com" | "organizations.amazonaws.com")
}

/// Whether the operation only reads (CloudTrail's `readOnly`).
pub fn is_read_only(operation: &str) -> bool {
    const READ: &[&str] = &[
        "Get", "List", "Describe", "Lookup", "Head", "Test", "Simulate", "Filter", "Search",
        "Validate", "Check",
    ];
    READ.iter().any(|p| operation.starts_with(p))
}

/// Data events: data-plane operations that trails record only when an event selector
/// asks for them, and that event history never shows.
pub fn is_data_event(service: &str, operation: &str) -> bool {
    match service {
        "s3" => {
            operation.contains("Object")
                || matches!(
                    operation,
                    "CreateMultipartUpload"
                        | "UploadPart"
                        | "UploadPartCopy"
                        | "CompleteMultipartUpload"
                        | "AbortMultipartUpload"
                        | "ListParts"
                        | "ListMultipartUploads"
                )
        }
        "logs" => matches!(operation, "PutLogEvents" | "GetLogEvents" | "FilterLogEvents"),
        "sns" => matches!(operation, "Publish" | "PublishBatch"),
        "cloudwatch" => {
            matches!(operation, "PutMetricData" | "GetMetricData" | "GetMetricStatistics")
        }
        _ => false,
    }
}

/// Everything about a call the record needs besides the audit record itself.
#[derive(Debug, Clone)]
pub struct Shaped {
    /// `requestParameters` (camel-cased, secrets hidden).
    pub request: Value,
    /// `responseElements`.
    pub response: Value,
}

/// The CloudTrail record of a call, with a fresh `eventID`.
pub fn build(rec: &AuditRecord, shaped: &Shaped, event_id: &str) -> Value {
    let p = &rec.principal;
    let account = p.account.as_str();
    let mut identity = Map::new();
    let access_key = p.access_key_id.clone().unwrap_or_default();
    match &p.kind {
        PrincipalKind::Root => {
            identity.insert("type".into(), json!("Root"));
            identity.insert("principalId".into(), json!(p.user_id));
            identity.insert("arn".into(), json!(p.arn));
            identity.insert("accountId".into(), json!(account));
            identity.insert("accessKeyId".into(), json!(access_key));
        }
        PrincipalKind::IamUser { name } => {
            identity.insert("type".into(), json!("IAMUser"));
            identity.insert("principalId".into(), json!(p.user_id));
            identity.insert("arn".into(), json!(p.arn));
            identity.insert("accountId".into(), json!(account));
            identity.insert("accessKeyId".into(), json!(access_key));
            identity.insert("userName".into(), json!(name));
            // Temporary credentials of the user itself (GetSessionToken) carry MFA state.
            if access_key.starts_with("ASIA") {
                let mfa = if p.mfa { "true" } else { "false" };
                identity.insert(
                    "sessionContext".into(),
                    json!({"attributes": {"mfaAuthenticated": mfa}}),
                );
            }
        }
        PrincipalKind::AssumedRole { role, .. } => {
            identity.insert("type".into(), json!("AssumedRole"));
            identity.insert("principalId".into(), json!(p.user_id));
            identity.insert("arn".into(), json!(p.arn));
            identity.insert("accountId".into(), json!(account));
            identity.insert("accessKeyId".into(), json!(access_key));
            let role_id = p.user_id.split(':').next().unwrap_or_default();
            identity.insert(
                "sessionContext".into(),
                json!({
                    "sessionIssuer": {
                        "type": "Role",
                        "principalId": role_id,
                        "arn": format!("arn:aws:iam::{account}:role/{role}"),
                        "accountId": account,
                        "userName": role,
                    },
                    "attributes": {"mfaAuthenticated": if p.mfa { "true" } else { "false" }},
                }),
            );
        }
        PrincipalKind::Service(name) => {
            identity.insert("type".into(), json!("AWSService"));
            identity.insert("invokedBy".into(), json!(name));
        }
        PrincipalKind::Anonymous => {
            identity.insert("type".into(), json!("AWSAccount"));
            identity.insert("principalId".into(), json!(""));
            identity.insert("accountId".into(), json!("anonymous"));
        }
    }
    if let Some(by) = &rec.invoked_by {
        identity.insert("invokedBy".into(), json!(by));
    }
    let data = is_data_event(rec.service, &rec.operation);
    let service_event = matches!(p.kind, PrincipalKind::Service(_)) && rec.invoked_by.is_none();
    let (source_ip, user_agent) = match &p.kind {
        PrincipalKind::Service(name) => (name.clone(), name.clone()),
        _ => (rec.source_ip.clone(), truncate(&rec.user_agent, 1024)),
    };
    let region =
        if is_global(rec.service) { "us-east-1".to_owned() } else { rec.region.to_string() };
    let mut ev = Map::new();
    ev.insert("eventVersion".into(), json!(EVENT_VERSION));
    ev.insert("userIdentity".into(), Value::Object(identity));
    ev.insert("eventTime".into(), json!(rec.time.format("%Y-%m-%dT%H:%M:%SZ").to_string()));
    ev.insert("eventSource".into(), json!(event_source(rec.service)));
    ev.insert("eventName".into(), json!(rec.operation));
    ev.insert("awsRegion".into(), json!(region));
    ev.insert("sourceIPAddress".into(), json!(source_ip));
    ev.insert("userAgent".into(), json!(user_agent));
    if let Some((code, message)) = &rec.error {
        ev.insert("errorCode".into(), json!(truncate(code, 1024)));
        ev.insert("errorMessage".into(), json!(truncate(message, 1024)));
    }
    ev.insert("requestParameters".into(), shaped.request.clone());
    ev.insert(
        "responseElements".into(),
        if rec.error.is_some() { Value::Null } else { shaped.response.clone() },
    );
    ev.insert("requestID".into(), json!(rec.request_id));
    ev.insert("eventID".into(), json!(event_id));
    ev.insert("readOnly".into(), json!(is_read_only(&rec.operation)));
    ev.insert(
        "eventType".into(),
        json!(if service_event { "AwsServiceEvent" } else { "AwsApiCall" }),
    );
    ev.insert("managementEvent".into(), json!(!data));
    ev.insert("recipientAccountId".into(), json!(rec.account.as_str()));
    ev.insert("eventCategory".into(), json!(if data { "Data" } else { "Management" }));
    Value::Object(ev)
}

fn truncate(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_owned();
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s[..end].to_owned()
}

/// The `Username` event history shows for a record's principal.
pub fn username(rec: &AuditRecord) -> String {
    match &rec.principal.kind {
        PrincipalKind::Root => "root".into(),
        PrincipalKind::IamUser { name } => name.clone(),
        PrincipalKind::AssumedRole { session, .. } => session.clone(),
        PrincipalKind::Service(name) => name.clone(),
        PrincipalKind::Anonymous => "anonymous".into(),
    }
}

#[cfg(test)]
mod tests {
    use chrono::DateTime;
    use mamori_aws::{AccountId, Region};
    use mamori_service::Principal;

    use super::*;

    fn record(
        principal: Principal,
        service: &'static str,
        op: &str,
        error: Option<(&str, &str)>,
    ) -> AuditRecord {
        AuditRecord {
            service,
            operation: op.into(),
            account: principal.account.clone(),
            principal,
            region: Region::parse("eu-west-1").unwrap(),
            source_ip: "127.0.0.1".into(),
            user_agent: "aws-cli/1.46".into(),
            request_id: "rid".into(),
            time: DateTime::from_timestamp(1_700_000_000, 123_000_000).unwrap(),
            input: json!({}),
            output: None,
            error: error.map(|(c, m)| (c.into(), m.into())),
            invoked_by: None,
            internal: false,
        }
    }

    #[test]
    fn records_carry_aws_fields() {
        let account = AccountId::parse("111122223333").unwrap();
        let mut root = Principal::root(account.clone());
        root.access_key_id = Some("AKIAEXAMPLE".into());
        let shaped = Shaped { request: json!({"name": "t"}), response: json!({"x": 1}) };
        let ev = build(
            &record(
                root,
                "cloudtrail",
                "UpdateTrail",
                Some(("TrailNotFoundException", "Unknown trail")),
            ),
            &shaped,
            "eid",
        );
        assert_eq!(ev["eventVersion"], "1.11");
        assert_eq!(ev["userIdentity"]["type"], "Root");
        assert_eq!(ev["userIdentity"]["arn"], "arn:aws:iam::111122223333:root");
        assert_eq!(ev["eventTime"], "2023-11-14T22:13:20Z");
        assert_eq!(ev["eventSource"], "cloudtrail.amazonaws.com");
        assert_eq!(ev["awsRegion"], "eu-west-1");
        assert_eq!(ev["errorCode"], "TrailNotFoundException");
        assert_eq!(ev["responseElements"], Value::Null, "failed calls have no response");
        assert_eq!(ev["readOnly"], false);
        assert_eq!(ev["eventType"], "AwsApiCall");
        assert_eq!(ev["eventCategory"], "Management");
        assert!(ev["userIdentity"].get("invokedBy").is_none());

        let svc = Principal::service("cloudtrail.amazonaws.com", account.clone());
        let ev = build(&record(svc, "logs", "PutLogEvents", None), &shaped, "e2");
        assert_eq!(ev["userIdentity"]["type"], "AWSService");
        assert_eq!(ev["eventType"], "AwsServiceEvent");
        assert_eq!(ev["eventCategory"], "Data");
        assert_eq!(ev["managementEvent"], false);
        assert_eq!(ev["sourceIPAddress"], "cloudtrail.amazonaws.com");

        let ev = build(&record(Principal::root(account), "iam", "ListUsers", None), &shaped, "e3");
        assert_eq!(ev["awsRegion"], "us-east-1", "global services are recorded in us-east-1");
        assert_eq!(ev["readOnly"], true);
        assert_eq!(ev["eventSource"], "iam.amazonaws.com");
    }

    #[test]
    fn classification() {
        let cases = [
            ("s3", "PutObject", true),
            ("s3", "PutBucketPolicy", false),
            ("logs", "PutLogEvents", true),
            ("logs", "PutMetricFilter", false),
            ("sns", "Publish", true),
            ("kms", "Decrypt", false),
        ];
        for (svc, op, data) in cases {
            assert_eq!(is_data_event(svc, op), data, "{svc}:{op}");
        }
        assert_eq!(event_source("cloudwatch"), "monitoring.amazonaws.com");
    }
}
