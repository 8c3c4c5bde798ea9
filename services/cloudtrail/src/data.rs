//! The request parameters, resources and additional data of data events, in the forms
//! of <https://docs.aws.amazon.com/AmazonS3/latest/userguide/cloudtrail-logging-understanding-s3-entries.html>
//! (S3 object calls: `bucketName`, `Host`, `key`, never the body) and
//! <https://docs.aws.amazon.com/sns/latest/dg/sns-logging-using-cloudtrail.html> (Publish).

use mamori_service::AuditRecord;
use serde_json::{Map, Value, json};

use crate::record::Shaped;

/// What the recorder keeps of an S3 call's input or output: everything but the body,
/// whose size in bytes takes its place (for `bytesTransferredIn` / `bytesTransferredOut`).
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
    let bytes_out = rec.output.as_ref().and_then(|o| o["Body"].as_u64()).unwrap_or(0);
    let additional = json!({
        "SignatureVersion": "SigV4",
        "AuthenticationMethod": "AuthHeader",
        "bytesTransferredIn": input["Body"].as_u64().unwrap_or(0),
        "bytesTransferredOut": bytes_out,
    });
    let response = match rec.output.as_ref() {
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
}
