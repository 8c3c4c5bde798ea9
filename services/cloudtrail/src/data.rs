//! The request parameters, resources and additional data of data events, and the
//! `resources` of management events (what event history's ResourceType and ResourceName
//! lookups match), in the forms
//! of <https://docs.aws.amazon.com/AmazonS3/latest/userguide/cloudtrail-logging-understanding-s3-entries.html>
//! (S3 object calls: `bucketName`, `Host`, `key`, never the body) and
//! <https://docs.aws.amazon.com/sns/latest/dg/sns-logging-using-cloudtrail.html> (Publish).

use mamori_service::AuditRecord;
use serde_json::{Map, Value, json};

use crate::record::Shaped;

/// What the recorder keeps of an S3 call's input: everything but the body, whose size in
/// bytes takes its place (for `bytesTransferredIn`; `bytesTransferredOut` is read from
/// the output, which the record borrows).
pub fn capture(service: &str, value: &Value) -> Value {
    match value {
        Value::Object(obj) if service == "s3" && obj.contains_key("Body") => {
            let mut kept = Map::with_capacity(obj.len());
            for (k, v) in obj {
                if k == "Body" {
                    kept.insert(k.clone(), Value::from(base64_len(v.as_str().unwrap_or_default())));
                } else {
                    kept.insert(k.clone(), v.clone());
                }
            }
            Value::Object(kept)
        }
        other => other.clone(),
    }
}

/// Decoded length of base64 text.
fn base64_len(b64: &str) -> u64 {
    let pad = b64.bytes().rev().take_while(|b| *b == b'=').count();
    ((b64.len() / 4 * 3).saturating_sub(pad)) as u64
}

/// The shaped parts of a data event; `model` shapes the parameters from the service
/// model where no special form applies.
pub fn shape(rec: &AuditRecord, model: impl FnOnce() -> (Value, Value)) -> Shaped {
    match rec.service {
        "s3" => s3(rec),
        "sns" => {
            let (mut request, response) = model();
            // The message is the caller's data, as an object body is.
            if let Some(m) = request.get_mut("message") {
                *m = Value::from(HIDDEN);
            }
            let resources = rec.input["TopicArn"].as_str().map(|arn| {
                json!([{"accountId": rec.account.as_str(), "type": "AWS::SNS::Topic", "ARN": arn}])
            });
            Shaped { request, response, resources, additional: None }
        }
        _ => {
            let (request, response) = model();
            Shaped { request, response, resources: None, additional: None }
        }
    }
}

/// What CloudTrail writes instead of a caller's data.
const HIDDEN: &str = "HIDDEN_DUE_TO_SECURITY_REASONS";

fn s3(rec: &AuditRecord) -> Shaped {
    let input = &rec.input;
    let bucket = input["Bucket"].as_str().unwrap_or_default();
    let key = input["Key"].as_str();
    let mut request = Map::new();
    request.insert("bucketName".into(), Value::from(bucket));
    request.insert("Host".into(), Value::from(format!("{bucket}.s3.{}.amazonaws.com", rec.region)));
    for (member, name) in [
        ("Key", "key"),
        ("Prefix", "prefix"),
        ("Delimiter", "delimiter"),
        ("UploadId", "uploadId"),
        ("PartNumber", "partNumber"),
        ("VersionId", "versionId"),
        ("CopySource", "x-amz-copy-source"),
    ] {
        if let Some(v) = input.get(member) {
            request.insert(name.into(), v.clone());
        }
    }
    let bucket_arn = format!("arn:aws:s3:::{bucket}");
    let object = match key {
        Some(k) => json!({"type": "AWS::S3::Object", "ARN": format!("{bucket_arn}/{k}")}),
        None => {
            let prefix = input["Prefix"].as_str().unwrap_or_default();
            json!({"type": "AWS::S3::Object", "ARNPrefix": format!("{bucket_arn}/{prefix}")})
        }
    };
    let resources = json!([
        object,
        {"accountId": rec.account.as_str(), "type": "AWS::S3::Bucket", "ARN": bucket_arn},
    ]);
    // The output is the call's own answer, its body base64 text.
    let bytes_out = rec.output.and_then(|o| o["Body"].as_str()).map_or(0, base64_len);
    let additional = json!({
        "SignatureVersion": "SigV4",
        "AuthenticationMethod": "AuthHeader",
        "bytesTransferredIn": input["Body"].as_u64().unwrap_or(0),
        "bytesTransferredOut": bytes_out,
    });
    let response = match rec.output {
        Some(o) if o.get("VersionId").is_some() => json!({"x-amz-version-id": o["VersionId"]}),
        _ => Value::Null,
    };
    Shaped {
        request: Value::Object(request),
        response,
        resources: Some(resources),
        additional: Some(additional),
    }
}

/// Input members that name a resource of a management call: (service, member, type).
const RESOURCE_MEMBERS: &[(&str, &str, &str)] = &[
    ("s3", "Bucket", "AWS::S3::Bucket"),
    ("iam", "UserName", "AWS::IAM::User"),
    ("iam", "RoleName", "AWS::IAM::Role"),
    ("iam", "GroupName", "AWS::IAM::Group"),
    ("iam", "PolicyArn", "AWS::IAM::Policy"),
    ("sts", "RoleArn", "AWS::IAM::Role"),
    ("logs", "logGroupName", "AWS::Logs::LogGroup"),
    ("sns", "TopicArn", "AWS::SNS::Topic"),
    ("cloudtrail", "Name", "AWS::CloudTrail::Trail"),
    ("cloudtrail", "TrailName", "AWS::CloudTrail::Trail"),
    ("cloudwatch", "AlarmName", "AWS::CloudWatch::Alarm"),
    ("cloudwatch", "AlarmNames", "AWS::CloudWatch::Alarm"),
    ("kms", "KeyId", "AWS::KMS::Key"),
];

/// The ARN of a resource named `name` (or already an ARN) of type `ty`.
fn resource_arn(rec: &AuditRecord, ty: &str, name: &str) -> String {
    if name.starts_with("arn:") {
        return name.to_owned();
    }
    let (account, region) = (rec.account.as_str(), rec.region.as_str());
    match ty {
        "AWS::S3::Bucket" => format!("arn:aws:s3:::{name}"),
        "AWS::IAM::User" => format!("arn:aws:iam::{account}:user/{name}"),
        "AWS::IAM::Role" => format!("arn:aws:iam::{account}:role/{name}"),
        "AWS::IAM::Group" => format!("arn:aws:iam::{account}:group/{name}"),
        "AWS::Logs::LogGroup" => format!("arn:aws:logs:{region}:{account}:log-group:{name}"),
        "AWS::CloudTrail::Trail" => format!("arn:aws:cloudtrail:{region}:{account}:trail/{name}"),
        "AWS::CloudWatch::Alarm" => format!("arn:aws:cloudwatch:{region}:{account}:alarm:{name}"),
        "AWS::KMS::Key" => format!("arn:aws:kms:{region}:{account}:key/{name}"),
        _ => name.to_owned(),
    }
}

/// `resources` of a management call, from the input members that name them; `None`
/// when it names none (GetCallerIdentity, the List calls...).
// GAP: resources are taken from a fixed table of input members (S3 buckets, IAM users,
// roles, groups and policies, the role AssumeRole takes, log groups, SNS topics, trails,
// alarms, KMS keys); calls on other resources list none, so event history's
// ResourceType/ResourceName lookups miss them.
pub fn management_resources(rec: &AuditRecord) -> Option<Value> {
    // Most reads name nothing (GetCallerIdentity on every client's start).
    if rec.input.as_object().is_none_or(|o| o.is_empty()) {
        return None;
    }
    let mut out = Vec::new();
    for (service, member, ty) in RESOURCE_MEMBERS {
        if *service != rec.service {
            continue;
        }
        let names: Vec<&str> = match &rec.input[*member] {
            Value::String(s) => vec![s.as_str()],
            Value::Array(items) => items.iter().filter_map(Value::as_str).collect(),
            _ => continue,
        };
        for name in names {
            // A role of another account (a cross-account AssumeRole) is that account's.
            let owner =
                name.split(':').nth(4).filter(|a| !a.is_empty() && name.starts_with("arn:"));
            out.push(json!({
                "accountId": owner.unwrap_or(rec.account.as_str()),
                "type": ty,
                "ARN": resource_arn(rec, ty, name),
            }));
        }
    }
    (!out.is_empty()).then(|| Value::Array(out))
}

/// The `ResourceName` event history shows for a resource ARN: the name for S3 buckets,
/// IAM entities, log groups and alarms, the ARN otherwise (as AWS shows topics and keys).
pub fn resource_name<'a>(ty: &str, arn: &'a str) -> &'a str {
    let after = |sep: &str| arn.split_once(sep).map_or(arn, |(_, name)| name);
    match ty {
        "AWS::S3::Bucket" => after(":::"),
        "AWS::IAM::User" | "AWS::IAM::Role" | "AWS::IAM::Group" => {
            arn.rsplit_once('/').map_or(arn, |(_, name)| name)
        }
        "AWS::Logs::LogGroup" => after(":log-group:"),
        "AWS::CloudWatch::Alarm" => after(":alarm:"),
        "AWS::CloudTrail::Trail" => after(":trail/"),
        _ => arn,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_are_replaced_by_their_size() {
        let v = json!({"Bucket": "b", "Key": "k", "Body": "aGVsbG8="});
        assert_eq!(capture("s3", &v), json!({"Bucket": "b", "Key": "k", "Body": 5}));
        assert_eq!(capture("logs", &v), v, "only S3 bodies are left out");
        assert_eq!(base64_len(""), 0);
        assert_eq!(base64_len("aGk="), 2);
        assert_eq!(base64_len("aGVsbG8hIQ=="), 7);
    }

    #[test]
    fn management_resources_name_what_the_input_names() {
        let principal =
            mamori_service::Principal::root(mamori_aws::AccountId::parse("111122223333").unwrap());
        let (account, region) =
            (principal.account.clone(), mamori_aws::Region::parse("eu-west-1").unwrap());
        let rec = |service, input: &Value| -> Option<Value> {
            management_resources(&AuditRecord {
                service,
                operation: "Op",
                principal: &principal,
                account: &account,
                region: &region,
                source_ip: "192.0.2.1",
                user_agent: "test",
                request_id: "r",
                time: chrono::DateTime::UNIX_EPOCH,
                input,
                output: None,
                error: None,
                invoked_by: None,
                internal: false,
            })
        };
        let role = |arn: &str, owner: &str| json!([{"accountId": owner, "type": "AWS::IAM::Role", "ARN": arn}]);
        let cases = [
            (
                "sts",
                json!({"RoleArn": "arn:aws:iam::444455556666:role/x"}),
                Some(role("arn:aws:iam::444455556666:role/x", "444455556666")),
            ),
            (
                "iam",
                json!({"RoleName": "x"}),
                Some(role("arn:aws:iam::111122223333:role/x", "111122223333")),
            ),
            (
                "s3",
                json!({"Bucket": "b"}),
                Some(
                    json!([{"accountId": "111122223333", "type": "AWS::S3::Bucket", "ARN": "arn:aws:s3:::b"}]),
                ),
            ),
            ("sts", json!({}), None),
            (
                "logs",
                json!({"logGroupName": "g"}),
                Some(json!([{"accountId": "111122223333", "type": "AWS::Logs::LogGroup",
                          "ARN": "arn:aws:logs:eu-west-1:111122223333:log-group:g"}])),
            ),
        ];
        for (service, input, want) in cases {
            assert_eq!(rec(service, &input), want, "{service} {input}");
        }
    }

    #[test]
    fn resource_names_from_arns() {
        let cases = [
            ("AWS::S3::Bucket", "arn:aws:s3:::my-bucket", "my-bucket"),
            ("AWS::IAM::User", "arn:aws:iam::111122223333:user/path/bob", "bob"),
            ("AWS::Logs::LogGroup", "arn:aws:logs:us-east-1:1:log-group:a/b", "a/b"),
            ("AWS::SNS::Topic", "arn:aws:sns:us-east-1:1:t", "arn:aws:sns:us-east-1:1:t"),
        ];
        for (ty, arn, name) in cases {
            assert_eq!(resource_name(ty, arn), name, "{arn}");
        }
    }
}
