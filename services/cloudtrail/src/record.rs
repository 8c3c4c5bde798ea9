//! Turns a dispatcher audit record into a CloudTrail event record, with the fields and
//! forms of <https://docs.aws.amazon.com/awscloudtrail/latest/userguide/cloudtrail-event-reference-record-contents.html>
//! and <https://docs.aws.amazon.com/awscloudtrail/latest/userguide/cloudtrail-event-reference-user-identity.html>.

use std::borrow::Cow;

use mamori_service::{AuditRecord, PrincipalKind};
#[cfg(test)]
use serde::Serialize;
use serde_json::{Value, json};

/// The event version written in every record.
pub const EVENT_VERSION: &str = "1.11";

/// The `eventSource` of a service, by model id.
pub fn event_source(service: &str) -> Cow<'static, str> {
    // The services mamori serves, without an allocation per record.
    let known = match service {
        "sts" => "sts.amazonaws.com",
        "iam" => "iam.amazonaws.com",
        // S3 Control's account-level calls are S3 events in CloudTrail.
        "s3" | "s3control" => "s3.amazonaws.com",
        "logs" => "logs.amazonaws.com",
        "cloudwatch" => "monitoring.amazonaws.com",
        "sns" => "sns.amazonaws.com",
        "cloudtrail" => "cloudtrail.amazonaws.com",
        "cloudformation" => "cloudformation.amazonaws.com",
        "kms" => "kms.amazonaws.com",
        "organizations" => "organizations.amazonaws.com",
        "cloudhsmv2" => "cloudhsm.amazonaws.com",
        other => return Cow::Owned(format!("{other}.amazonaws.com")),
    };
    Cow::Borrowed(known)
}

/// `eventName` of a call: the operation, except where CloudTrail names it otherwise
/// (S3 Control's account-level public access block is `PutAccountPublicAccessBlock`...).
pub fn event_name<'a>(service: &str, operation: &'a str) -> &'a str {
    match (service, operation) {
        ("s3control", "GetPublicAccessBlock") => "GetAccountPublicAccessBlock",
        ("s3control", "PutPublicAccessBlock") => "PutAccountPublicAccessBlock",
        ("s3control", "DeletePublicAccessBlock") => "DeleteAccountPublicAccessBlock",
        _ => operation,
    }
}

/// Services whose events AWS records in us-east-1 whatever the caller's region.
pub fn is_global(service: &str) -> bool {
    matches!(service, "iam" | "sts" | "organizations")
}

/// Whether a call an AWS service makes on its own (no caller behind it) is one CloudTrail
/// shows the customer: a service assuming a role in the customer's account (CloudTrail
/// taking a trail's CloudWatch Logs role) is an `AwsApiCall` by an `AWSService` identity
/// in the role owner's history, failures (a trust policy that refuses) included. The rest
/// of a service's own calls (delivering log files, publishing an alarm) is plumbing AWS
/// does not show.
// GAP: AWS also gives such an event a `sharedEventID`; mamori's has none, so a reader
// cannot join it to the same call's event in another account.
pub fn is_shown_service_call(service: &str, operation: &str) -> bool {
    service == "sts" && operation.starts_with("AssumeRole")
}

/// Whether an `eventSource` belongs to a global service.
pub fn is_global_source(source: &str) -> bool {
    matches!(source, "iam.amazonaws.com" | "sts.amazonaws.com" | "organizations.amazonaws.com")
}

/// Whether the operation only reads (CloudTrail's `readOnly`).
// GAP: read-only is told from the operation's name; CloudTrail also marks some calls
// named otherwise read-only (KMS Decrypt and GenerateDataKey, STS AssumeRole), which
// mamori records as writes, with their (redacted) responseElements.
pub fn is_read_only(operation: &str) -> bool {
    const READ: &[&str] = &[
        "Get", "List", "Describe", "Lookup", "Head", "Test", "Simulate", "Filter", "Search",
        "Validate", "Check",
    ];
    READ.iter().any(|p| operation.starts_with(p))
}

/// Whether a successful call's answer goes into `responseElements`. CloudTrail keeps
/// the response of calls that change state; a read-only call (Get, List, Describe...)
/// has `null` there, except STS's Get calls that issue credentials, whose events show
/// the credentials issued (without the secret).
pub fn response_recorded(service: &str, operation: &str) -> bool {
    !is_read_only(operation)
        || (service == "sts" && matches!(operation, "GetSessionToken" | "GetFederationToken"))
}

/// Data events: data-plane operations that trails record only when an event selector
/// asks for them, and that event history never shows.
pub fn is_data_event(service: &str, operation: &str) -> bool {
    match service {
        "s3" => {
            (operation.contains("Object") && !operation.contains("ObjectLock"))
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

/// `eventTime`: `2026-12-03T14:05:09Z`.
pub fn event_time(t: chrono::DateTime<chrono::Utc>) -> String {
    EventTime::new(t).as_str().to_owned()
}

/// `eventTime` written by hand into a buffer: chrono's format strings are parsed again
/// at every call, and `format!` was a visible share of the recorder's time.
pub struct EventTime([u8; 20]);

impl EventTime {
    /// The text of `t`, whole seconds, UTC (years 0 to 9999).
    pub fn new(t: chrono::DateTime<chrono::Utc>) -> Self {
        use chrono::{Datelike as _, Timelike as _};
        let mut b = *b"0000-00-00T00:00:00Z";
        let mut put = |at: usize, width: usize, mut v: u32| {
            for i in (at..at + width).rev() {
                b[i] = b'0' + (v % 10) as u8;
                v /= 10;
            }
        };
        put(0, 4, t.year().clamp(0, 9999) as u32);
        put(5, 2, t.month());
        put(8, 2, t.day());
        put(11, 2, t.hour());
        put(14, 2, t.minute());
        put(17, 2, t.second());
        Self(b)
    }

    /// As text.
    pub fn as_str(&self) -> &str {
        // Only ASCII digits and separators are ever written.
        std::str::from_utf8(&self.0).unwrap_or_default()
    }
}

/// Everything about a call the record needs besides the audit record itself.
#[derive(Debug, Clone)]
pub struct Shaped {
    /// `requestParameters` (camel-cased, secrets hidden).
    pub request: Value,
    /// `responseElements`.
    pub response: Value,
    /// `resources`, when known.
    pub resources: Option<Value>,
    /// `additionalEventData`, when any.
    pub additional: Option<Value>,
}

/// `userIdentity`, fields in AWS's order; absent ones are skipped.
#[derive(Default)]
#[cfg_attr(test, derive(Serialize))]
#[cfg_attr(test, serde(rename_all = "camelCase"))]
struct Identity<'a> {
    #[cfg_attr(test, serde(rename = "type"))]
    kind: &'a str,
    #[cfg_attr(test, serde(skip_serializing_if = "Option::is_none"))]
    principal_id: Option<&'a str>,
    #[cfg_attr(test, serde(skip_serializing_if = "Option::is_none"))]
    arn: Option<&'a str>,
    #[cfg_attr(test, serde(skip_serializing_if = "Option::is_none"))]
    account_id: Option<&'a str>,
    #[cfg_attr(test, serde(skip_serializing_if = "Option::is_none"))]
    access_key_id: Option<&'a str>,
    #[cfg_attr(test, serde(skip_serializing_if = "Option::is_none"))]
    user_name: Option<&'a str>,
    #[cfg_attr(test, serde(skip_serializing_if = "Option::is_none"))]
    session_context: Option<Value>,
    #[cfg_attr(test, serde(skip_serializing_if = "Option::is_none"))]
    invoked_by: Option<&'a str>,
}

/// A record, written straight from borrowed fields by [`Event::write_json`] (building a
/// `serde_json::Map` first cost the recorder a key allocation and a hash per field, and
/// serde's escaping of every key and value a sixth of its time). Under test the derived
/// serializer is the reference the writer must match byte for byte.
#[cfg_attr(test, derive(Serialize))]
#[cfg_attr(test, serde(rename_all = "camelCase"))]
pub struct Event<'a> {
    event_version: &'a str,
    user_identity: Identity<'a>,
    event_time: &'a str,
    event_source: &'a str,
    event_name: &'a str,
    aws_region: &'a str,
    #[cfg_attr(test, serde(rename = "sourceIPAddress"))]
    source_ip_address: &'a str,
    user_agent: &'a str,
    #[cfg_attr(test, serde(skip_serializing_if = "Option::is_none"))]
    error_code: Option<&'a str>,
    #[cfg_attr(test, serde(skip_serializing_if = "Option::is_none"))]
    error_message: Option<&'a str>,
    request_parameters: &'a Value,
    response_elements: &'a Value,
    #[cfg_attr(test, serde(skip_serializing_if = "Option::is_none"))]
    additional_event_data: Option<&'a Value>,
    #[cfg_attr(test, serde(rename = "requestID"))]
    request_id: &'a str,
    #[cfg_attr(test, serde(rename = "eventID"))]
    event_id: &'a str,
    read_only: bool,
    #[cfg_attr(test, serde(skip_serializing_if = "Option::is_none"))]
    resources: Option<&'a Value>,
    event_type: &'a str,
    management_event: bool,
    recipient_account_id: &'a str,
    event_category: &'a str,
}

impl Event<'_> {
    /// Appends the record's JSON to `out`, compact, members in AWS's order: the text
    /// serde_json would write, with keys written as they are and strings that need no
    /// escaping (nearly all) copied after one pass over their bytes.
    pub fn write_json(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(b"{\"eventVersion\":");
        string(out, self.event_version);
        out.extend_from_slice(b",\"userIdentity\":");
        self.user_identity.write_json(out);
        member(out, "eventTime", self.event_time);
        member(out, "eventSource", self.event_source);
        member(out, "eventName", self.event_name);
        member(out, "awsRegion", self.aws_region);
        member(out, "sourceIPAddress", self.source_ip_address);
        member(out, "userAgent", self.user_agent);
        if let Some(code) = self.error_code {
            member(out, "errorCode", code);
        }
        if let Some(message) = self.error_message {
            member(out, "errorMessage", message);
        }
        value_member(out, "requestParameters", self.request_parameters);
        value_member(out, "responseElements", self.response_elements);
        if let Some(data) = self.additional_event_data {
            value_member(out, "additionalEventData", data);
        }
        member(out, "requestID", self.request_id);
        member(out, "eventID", self.event_id);
        out.extend_from_slice(if self.read_only {
            b",\"readOnly\":true"
        } else {
            b",\"readOnly\":false"
        });
        if let Some(resources) = self.resources {
            value_member(out, "resources", resources);
        }
        member(out, "eventType", self.event_type);
        out.extend_from_slice(if self.management_event {
            b",\"managementEvent\":true"
        } else {
            b",\"managementEvent\":false"
        });
        member(out, "recipientAccountId", self.recipient_account_id);
        member(out, "eventCategory", self.event_category);
        out.push(b'}');
    }
}

impl Identity<'_> {
    fn write_json(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(b"{\"type\":");
        string(out, self.kind);
        let optional = [
            ("principalId", self.principal_id),
            ("arn", self.arn),
            ("accountId", self.account_id),
            ("accessKeyId", self.access_key_id),
            ("userName", self.user_name),
        ];
        for (key, value) in optional {
            if let Some(value) = value {
                member(out, key, value);
            }
        }
        if let Some(context) = &self.session_context {
            value_member(out, "sessionContext", context);
        }
        if let Some(by) = self.invoked_by {
            member(out, "invokedBy", by);
        }
        out.push(b'}');
    }
}

/// `,"key":"value"`; keys are ASCII names that need no escaping.
fn member(out: &mut Vec<u8>, key: &str, value: &str) {
    out.extend_from_slice(b",\"");
    out.extend_from_slice(key.as_bytes());
    out.extend_from_slice(b"\":");
    string(out, value);
}

/// `,"key":value` for a JSON value.
fn value_member(out: &mut Vec<u8>, key: &str, value: &Value) {
    out.extend_from_slice(b",\"");
    out.extend_from_slice(key.as_bytes());
    out.extend_from_slice(b"\":");
    // Writing into a Vec cannot fail, and a Value always serializes.
    let _ = serde_json::to_writer(&mut *out, value);
}

/// `s` as a JSON string. The check folds over every byte without stopping early, which
/// the compiler turns into wide compares; a string with a quote, a backslash or a
/// control character goes through serde_json's escaping.
fn string(out: &mut Vec<u8>, s: &str) {
    let needs_escape =
        s.bytes().fold(false, |any, b| any | (b < 0x20) | (b == b'"') | (b == b'\\'));
    if needs_escape {
        let _ = serde_json::to_writer(&mut *out, s);
    } else {
        out.push(b'"');
        out.extend_from_slice(s.as_bytes());
        out.push(b'"');
    }
}

/// The region a record is filed under: us-east-1 for global services.
pub fn record_region<'a>(rec: &AuditRecord<'a>) -> &'a str {
    if is_global(rec.service) { "us-east-1" } else { rec.region.as_str() }
}

/// The CloudTrail record of a call, to serialize; `time` and `source` are its
/// [`EventTime`] and [`event_source`].
pub fn event<'a>(
    rec: &'a AuditRecord,
    shaped: &'a Shaped,
    event_id: &'a str,
    time: &'a str,
    source: &'a str,
) -> Event<'a> {
    let p = &rec.principal;
    let account = p.account.as_str();
    let access_key = p.access_key_id.as_deref().unwrap_or_default();
    let user = |kind| Identity {
        kind,
        principal_id: Some(&p.user_id),
        arn: Some(&p.arn),
        account_id: Some(account),
        access_key_id: Some(access_key),
        ..Identity::default()
    };
    let mut identity = match &p.kind {
        PrincipalKind::Root => user("Root"),
        PrincipalKind::IamUser { name } => {
            // Temporary credentials of the user itself (GetSessionToken) carry MFA state.
            let session_context = access_key.starts_with("ASIA").then(|| {
                json!({"attributes": {"mfaAuthenticated": if p.mfa { "true" } else { "false" }}})
            });
            Identity { user_name: Some(name), session_context, ..user("IAMUser") }
        }
        PrincipalKind::AssumedRole { role, .. } => {
            let role_id = p.user_id.split(':').next().unwrap_or_default();
            let context = json!({
                "sessionIssuer": {
                    "type": "Role",
                    "principalId": role_id,
                    "arn": format!("arn:aws:iam::{account}:role/{role}"),
                    "accountId": account,
                    "userName": role,
                },
                "attributes": {"mfaAuthenticated": if p.mfa { "true" } else { "false" }},
            });
            Identity { session_context: Some(context), ..user("AssumedRole") }
        }
        PrincipalKind::Service(name) => {
            Identity { kind: "AWSService", invoked_by: Some(name), ..Identity::default() }
        }
        PrincipalKind::Anonymous => Identity {
            kind: "AWSAccount",
            principal_id: Some(""),
            account_id: Some("anonymous"),
            ..Identity::default()
        },
    };
    if let Some(by) = rec.invoked_by {
        identity.invoked_by = Some(by);
    }
    let data = is_data_event(rec.service, rec.operation);
    let service_event = matches!(p.kind, PrincipalKind::Service(_))
        && rec.invoked_by.is_none()
        && !is_shown_service_call(rec.service, rec.operation);
    let (source_ip, user_agent) = match &p.kind {
        PrincipalKind::Service(name) => (name.as_str(), name.as_str()),
        _ => (rec.source_ip, truncate(rec.user_agent, 1024)),
    };
    const NULL: &Value = &Value::Null;
    Event {
        event_version: EVENT_VERSION,
        user_identity: identity,
        event_time: time,
        event_source: source,
        event_name: event_name(rec.service, rec.operation),
        aws_region: record_region(rec),
        source_ip_address: source_ip,
        user_agent,
        error_code: rec.error.map(|(code, _)| truncate(code, 1024)),
        error_message: rec.error.map(|(_, message)| truncate(message, 1024)),
        request_parameters: &shaped.request,
        response_elements: if rec.error.is_none() && response_recorded(rec.service, rec.operation) {
            &shaped.response
        } else {
            NULL
        },
        additional_event_data: shaped.additional.as_ref(),
        request_id: rec.request_id,
        event_id,
        read_only: is_read_only(rec.operation),
        resources: shaped.resources.as_ref(),
        event_type: if service_event { "AwsServiceEvent" } else { "AwsApiCall" },
        management_event: !data,
        recipient_account_id: rec.account.as_str(),
        event_category: if data { "Data" } else { "Management" },
    }
}

fn truncate(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// The `Username` event history shows for a record's principal.
pub fn username<'a>(rec: &AuditRecord<'a>) -> &'a str {
    match &rec.principal.kind {
        PrincipalKind::Root => "root",
        PrincipalKind::IamUser { name } => name,
        PrincipalKind::AssumedRole { session, .. } => session,
        PrincipalKind::Service(name) => name,
        PrincipalKind::Anonymous => "anonymous",
    }
}

#[cfg(test)]
mod tests {
    use chrono::DateTime;
    use mamori_aws::{AccountId, Region};
    use mamori_service::Principal;

    use super::*;

    /// What a call's audit record borrows from.
    struct Call {
        principal: Principal,
        service: &'static str,
        op: String,
        region: Region,
        input: Value,
        error: Option<(String, String)>,
    }

    impl Call {
        fn rec(&self) -> AuditRecord<'_> {
            AuditRecord {
                service: self.service,
                operation: &self.op,
                account: &self.principal.account,
                principal: &self.principal,
                region: &self.region,
                source_ip: "127.0.0.1",
                user_agent: "aws-cli/1.46",
                request_id: "rid",
                time: DateTime::from_timestamp(1_700_000_000, 123_000_000).unwrap(),
                input: &self.input,
                output: None,
                error: self.error.as_ref().map(|(c, m)| (c.as_str(), m.as_str())),
                invoked_by: None,
                internal: false,
            }
        }
    }

    fn record(
        principal: Principal,
        service: &'static str,
        op: &str,
        error: Option<(&str, &str)>,
    ) -> Call {
        Call {
            principal,
            service,
            op: op.into(),
            region: Region::parse("eu-west-1").unwrap(),
            input: json!({}),
            error: error.map(|(c, m)| (c.into(), m.into())),
        }
    }

    /// The record's JSON text, with `event_id`.
    fn build_raw(rec: &AuditRecord, shaped: &Shaped, event_id: &str) -> String {
        let (time, source) = (EventTime::new(rec.time), event_source(rec.service));
        let mut out = Vec::new();
        event(rec, shaped, event_id, time.as_str(), &source).write_json(&mut out);
        String::from_utf8(out).unwrap()
    }

    /// The record, parsed.
    fn build(rec: &AuditRecord, shaped: &Shaped, event_id: &str) -> Value {
        serde_json::from_str(&build_raw(rec, shaped, event_id)).unwrap()
    }

    fn root_again(account: &AccountId) -> Principal {
        Principal::root(account.clone())
    }

    #[test]
    fn the_written_json_is_what_serde_writes() {
        let account = AccountId::parse("111122223333").unwrap();
        let with_key = |kind, arn: &str, user_id: &str, key: &str, mfa| Principal {
            arn: arn.into(),
            account: account.clone(),
            user_id: user_id.into(),
            kind,
            access_key_id: Some(key.into()),
            mfa,
        };
        let principals = [
            Principal::root(account.clone()),
            with_key(
                PrincipalKind::IamUser { name: "alice".into() },
                "arn:aws:iam::111122223333:user/alice",
                "AIDAEXAMPLE",
                "ASIATEMPORARY",
                true,
            ),
            with_key(
                PrincipalKind::IamUser { name: "bob".into() },
                "arn:aws:iam::111122223333:user/bob",
                "AIDAEXAMPLE2",
                "AKIALONGTERM",
                false,
            ),
            with_key(
                PrincipalKind::AssumedRole { role: "Admin".into(), session: "s\"1".into() },
                "arn:aws:sts::111122223333:assumed-role/Admin/s\"1",
                "AROAEXAMPLE:s\"1",
                "ASIAROLE",
                false,
            ),
            Principal::service("cloudtrail.amazonaws.com", account.clone()),
            Principal { kind: PrincipalKind::Anonymous, ..Principal::root(account.clone()) },
        ];
        // Strings that need escaping, and some that look as if they might.
        let texts = [
            "plain",
            "",
            "quote \" and backslash \\",
            "line\nbreak\ttab\r\u{1}\u{1f}\u{7f}",
            "unicode é 日本 \u{2028} 🙂 </script>",
        ];
        let shaped = [
            Shaped {
                request: Value::Null,
                response: Value::Null,
                resources: None,
                additional: None,
            },
            Shaped {
                request: json!({"bucketName": "b", "key": texts[3], "n": 1.5, "list": [1, null, true]}),
                response: json!({"x": {"y": texts[4]}}),
                resources: Some(json!([{"type": "AWS::S3::Object", "ARN": "arn:aws:s3:::b/k"}])),
                additional: Some(json!({"bytesTransferredIn": 5})),
            },
        ];
        let mut n = 0;
        for (i, principal) in principals.iter().enumerate() {
            for (j, text) in texts.iter().enumerate() {
                for (service, op) in
                    [("s3", "PutObject"), ("iam", "ListUsers"), ("sns", "CreateTopic")]
                {
                    let error = (j % 2 == 1).then_some(("AccessDenied", *text));
                    let call = record(principal.clone(), service, op, error);
                    let mut rec = call.rec();
                    rec.user_agent = text;
                    rec.invoked_by = (i == 1).then_some("cloudformation.amazonaws.com");
                    let shaped = &shaped[(i + j) % 2];
                    let ev = event(&rec, shaped, "id", "2023-11-14T22:13:20Z", "s3.amazonaws.com");
                    let mut written = Vec::new();
                    ev.write_json(&mut written);
                    let written = String::from_utf8(written).unwrap();
                    assert_eq!(written, serde_json::to_string(&ev).unwrap(), "{i} {j} {op}");
                    n += 1;
                }
            }
        }
        assert_eq!(n, 90);
    }

    #[test]
    fn event_sources_and_names_follow_cloudtrail() {
        let cases = [
            (
                "s3control",
                "PutPublicAccessBlock",
                "s3.amazonaws.com",
                "PutAccountPublicAccessBlock",
            ),
            (
                "s3control",
                "GetPublicAccessBlock",
                "s3.amazonaws.com",
                "GetAccountPublicAccessBlock",
            ),
            (
                "s3control",
                "DeletePublicAccessBlock",
                "s3.amazonaws.com",
                "DeleteAccountPublicAccessBlock",
            ),
            ("s3", "PutPublicAccessBlock", "s3.amazonaws.com", "PutPublicAccessBlock"),
            ("cloudwatch", "PutMetricAlarm", "monitoring.amazonaws.com", "PutMetricAlarm"),
            ("kinesis", "PutRecord", "kinesis.amazonaws.com", "PutRecord"),
        ];
        for (service, op, source, name) in cases {
            assert_eq!(event_source(service), source, "{service}");
            assert_eq!(event_name(service, op), name, "{service} {op}");
        }
    }

    #[test]
    fn records_carry_aws_fields() {
        let account = AccountId::parse("111122223333").unwrap();
        let mut root = Principal::root(account.clone());
        root.access_key_id = Some("AKIAEXAMPLE".into());
        let shaped = Shaped {
            request: json!({"name": "t"}),
            response: json!({"x": 1}),
            resources: None,
            additional: None,
        };
        let ev = build(
            &record(
                root,
                "cloudtrail",
                "UpdateTrail",
                Some(("TrailNotFoundException", "Unknown trail")),
            )
            .rec(),
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
        let ev = build(&record(svc, "logs", "PutLogEvents", None).rec(), &shaped, "e2");
        assert_eq!(ev["userIdentity"]["type"], "AWSService");
        assert_eq!(ev["eventType"], "AwsServiceEvent");
        assert_eq!(ev["eventCategory"], "Data");
        assert_eq!(ev["managementEvent"], false);
        assert_eq!(ev["sourceIPAddress"], "cloudtrail.amazonaws.com");

        // A service assuming a customer's role makes an API call, not a service event.
        let svc = Principal::service("cloudtrail.amazonaws.com", account.clone());
        let ev = build(&record(svc, "sts", "AssumeRole", None).rec(), &shaped, "e3");
        assert_eq!(
            ev["userIdentity"],
            json!({"type": "AWSService", "invokedBy": "cloudtrail.amazonaws.com"})
        );
        assert_eq!(ev["eventType"], "AwsApiCall");
        assert_eq!(ev["eventCategory"], "Management");
        assert_eq!(ev["userAgent"], "cloudtrail.amazonaws.com");
        assert!(is_shown_service_call("sts", "AssumeRole"));
        assert!(!is_shown_service_call("sts", "GetCallerIdentity"));
        assert!(!is_shown_service_call("s3", "PutObject"));

        // Field order follows AWS's records.
        let raw = build_raw(
            &record(root_again(&account), "sts", "GetCallerIdentity", None).rec(),
            &shaped,
            "e4",
        );
        let ev: Value = serde_json::from_str(&raw).unwrap();
        assert_eq!(ev["responseElements"], Value::Null, "read-only calls have no response");
        let ok = record(root_again(&account), "cloudtrail", "UpdateTrail", None);
        assert_eq!(build(&ok.rec(), &shaped, "e7")["responseElements"], json!({"x": 1}));
        let keys: Vec<String> = serde_json::from_str::<serde_json::Map<String, Value>>(&raw)
            .unwrap()
            .keys()
            .cloned()
            .collect();
        assert_eq!(keys[..4], ["eventVersion", "userIdentity", "eventTime", "eventSource"]);
        assert_eq!(keys.last().map(String::as_str), Some("eventCategory"));

        let mut user = root_again(&account);
        user.kind = PrincipalKind::IamUser { name: "bob".into() };
        user.access_key_id = Some("ASIAEXAMPLE".into());
        user.mfa = true;
        let ev = build(&record(user.clone(), "s3", "ListBuckets", None).rec(), &shaped, "e5");
        assert_eq!(ev["userIdentity"]["userName"], "bob");
        assert_eq!(ev["userIdentity"]["sessionContext"]["attributes"]["mfaAuthenticated"], "true");
        user.access_key_id = Some("AKIAEXAMPLE".into());
        let ev = build(&record(user, "s3", "ListBuckets", None).rec(), &shaped, "e6");
        assert!(ev["userIdentity"].get("sessionContext").is_none(), "long-term keys have none");

        let ev =
            build(&record(Principal::root(account), "iam", "ListUsers", None).rec(), &shaped, "e3");
        assert_eq!(ev["awsRegion"], "us-east-1", "global services are recorded in us-east-1");
        assert_eq!(ev["readOnly"], true);
        assert_eq!(ev["eventSource"], "iam.amazonaws.com");
    }

    #[test]
    fn event_times_are_whole_seconds_utc() {
        let t = chrono::DateTime::from_timestamp_millis(1_780_308_009_999).unwrap();
        assert_eq!(event_time(t), t.format("%Y-%m-%dT%H:%M:%SZ").to_string());
        assert_eq!(event_time(chrono::DateTime::UNIX_EPOCH), "1970-01-01T00:00:00Z");
        let t = chrono::DateTime::parse_from_rfc3339("2026-02-28T23:59:07Z").unwrap().to_utc();
        assert_eq!(event_time(t), "2026-02-28T23:59:07Z");
    }

    #[test]
    fn responses_are_kept_for_calls_that_change_state() {
        let cases = [
            ("sts", "GetCallerIdentity", false),
            ("s3", "ListBuckets", false),
            ("cloudtrail", "DescribeTrails", false),
            ("logs", "FilterLogEvents", false),
            ("sts", "GetSessionToken", true),
            ("sts", "GetFederationToken", true),
            ("sts", "AssumeRole", true),
            ("iam", "CreateAccessKey", true),
            ("s3", "PutObject", true),
        ];
        for (service, op, kept) in cases {
            assert_eq!(response_recorded(service, op), kept, "{service} {op}");
        }
    }

    #[test]
    fn classification() {
        let cases = [
            ("s3", "PutObject", true),
            ("s3", "PutBucketPolicy", false),
            ("s3", "ListObjectsV2", true),
            ("s3", "PutObjectLockConfiguration", false),
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
