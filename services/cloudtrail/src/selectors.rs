//! Event selectors: which recorded events a trail delivers, following
//! <https://docs.aws.amazon.com/awscloudtrail/latest/APIReference/API_PutEventSelectors.html>
//! and <https://docs.aws.amazon.com/awscloudtrail/latest/APIReference/API_AdvancedFieldSelector.html>.

use mamori_aws::AwsError;
use serde_json::Value;

const DATA_TYPES: &[&str] = &["AWS::S3::Object", "AWS::Lambda::Function", "AWS::DynamoDB::Table"];
const ADVANCED_FIELDS: &[&str] = &[
    "eventCategory",
    "eventSource",
    "eventName",
    "eventType",
    "readOnly",
    "errorCode",
    "resources.type",
    "resources.ARN",
    "userIdentity.arn",
    "sessionCredentialFromConsole",
    "vpcEndpointId",
];
const OPERATORS: &[&str] =
    &["Equals", "StartsWith", "EndsWith", "NotEquals", "NotStartsWith", "NotEndsWith"];

fn invalid(msg: impl Into<String>) -> AwsError {
    AwsError::new("InvalidEventSelectorsException", msg)
}

/// Checks basic selectors as PutEventSelectors does.
pub fn validate_basic(selectors: &[Value]) -> Result<(), AwsError> {
    if selectors.len() > 5 {
        return Err(invalid("A trail can have at most 5 event selectors."));
    }
    let mut values = 0;
    for sel in selectors {
        for res in sel["DataResources"].as_array().into_iter().flatten() {
            let ty = res["Type"].as_str().unwrap_or_default();
            if !DATA_TYPES.contains(&ty) {
                return Err(invalid(format!("Invalid data resource type: {ty}")));
            }
            values += res["Values"].as_array().map_or(0, Vec::len);
        }
        for src in sel["ExcludeManagementEventSources"].as_array().into_iter().flatten() {
            if !matches!(src.as_str(), Some("kms.amazonaws.com" | "rdsdata.amazonaws.com")) {
                return Err(invalid(
                    "ExcludeManagementEventSources accepts only kms.amazonaws.com and rdsdata.amazonaws.com.",
                ));
            }
        }
    }
    if values > 250 {
        return Err(invalid(
            "The total number of data resource values across event selectors cannot exceed 250.",
        ));
    }
    Ok(())
}

/// Checks advanced selectors as PutEventSelectors does.
pub fn validate_advanced(selectors: &[Value]) -> Result<(), AwsError> {
    for sel in selectors {
        let fields = sel["FieldSelectors"].as_array().cloned().unwrap_or_default();
        if !fields.iter().any(|f| f["Field"] == "eventCategory") {
            return Err(invalid(
                "Each advanced event selector must include the eventCategory field.",
            ));
        }
        for f in &fields {
            let name = f["Field"].as_str().unwrap_or_default();
            if !ADVANCED_FIELDS.contains(&name) {
                return Err(invalid(format!("Unsupported field name: {name}")));
            }
            if !OPERATORS.iter().any(|op| f.get(*op).is_some()) {
                return Err(invalid(format!("Field selector {name} needs an operator")));
            }
        }
    }
    Ok(())
}

/// Whether a trail with these selectors delivers `event` (a CloudTrail record).
pub fn selects(basic: &[Value], advanced: &[Value], event: &Value) -> bool {
    let data = event["eventCategory"] == "Data";
    let read_only = event["readOnly"].as_bool().unwrap_or(false);
    if !advanced.is_empty() {
        return advanced.iter().any(|sel| {
            sel["FieldSelectors"]
                .as_array()
                .is_some_and(|fields| fields.iter().all(|f| field_matches(f, event)))
        });
    }
    if basic.is_empty() {
        return !data;
    }
    basic.iter().any(|sel| {
        let rw = sel["ReadWriteType"].as_str().unwrap_or("All");
        let rw_ok = match rw {
            "ReadOnly" => read_only,
            "WriteOnly" => !read_only,
            _ => true,
        };
        if !rw_ok {
            return false;
        }
        if data {
            sel["DataResources"].as_array().into_iter().flatten().any(|r| {
                let ty = r["Type"].as_str().unwrap_or_default();
                let arn = primary_arn(event, ty);
                arn.is_some_and(|arn| {
                    r["Values"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .filter_map(Value::as_str)
                        .any(|prefix| arn.starts_with(prefix))
                })
            })
        } else {
            let include = sel["IncludeManagementEvents"].as_bool().unwrap_or(true);
            let source = event["eventSource"].as_str().unwrap_or_default();
            let excluded = sel["ExcludeManagementEventSources"]
                .as_array()
                .is_some_and(|l| l.iter().any(|s| s.as_str() == Some(source)));
            include && !excluded
        }
    })
}

/// The ARN (or `ARNPrefix`, for calls on a bucket's objects such as ListObjects) of the
/// event's first resource of type `ty`.
fn primary_arn<'a>(event: &'a Value, ty: &str) -> Option<&'a str> {
    let res = event["resources"].as_array()?.iter().find(|r| r["type"] == ty)?;
    res["ARN"].as_str().or_else(|| res["ARNPrefix"].as_str())
}

/// The event's first resource: the one `resources.type` and `resources.ARN` match on
/// (the object of an S3 object call, listed before its bucket).
fn first_resource(event: &Value) -> Option<&Value> {
    event["resources"].as_array()?.first()
}

fn field_value(event: &Value, field: &str) -> Option<String> {
    let v = match field {
        "eventCategory" | "eventSource" | "eventName" | "eventType" | "errorCode"
        | "vpcEndpointId" => &event[field],
        "readOnly" => return event["readOnly"].as_bool().map(|b| b.to_string()),
        "userIdentity.arn" => &event["userIdentity"]["arn"],
        "sessionCredentialFromConsole" => &event["sessionCredentialFromConsole"],
        "resources.type" => &first_resource(event)?["type"],
        "resources.ARN" => {
            let r = first_resource(event)?;
            return r["ARN"].as_str().or_else(|| r["ARNPrefix"].as_str()).map(str::to_owned);
        }
        _ => return None,
    };
    v.as_str().map(str::to_owned)
}

fn field_matches(selector: &Value, event: &Value) -> bool {
    let field = selector["Field"].as_str().unwrap_or_default();
    let value = field_value(event, field);
    let list = |op: &str| {
        selector[op].as_array().map(|l| l.iter().filter_map(Value::as_str).collect::<Vec<_>>())
    };
    let v = value.as_deref();
    let mut ok = true;
    if let Some(l) = list("Equals") {
        ok &= v.is_some_and(|v| l.contains(&v));
    }
    if let Some(l) = list("StartsWith") {
        ok &= v.is_some_and(|v| l.iter().any(|p| v.starts_with(p)));
    }
    if let Some(l) = list("EndsWith") {
        ok &= v.is_some_and(|v| l.iter().any(|p| v.ends_with(p)));
    }
    if let Some(l) = list("NotEquals") {
        ok &= v.is_none_or(|v| !l.contains(&v));
    }
    if let Some(l) = list("NotStartsWith") {
        ok &= v.is_none_or(|v| !l.iter().any(|p| v.starts_with(p)));
    }
    if let Some(l) = list("NotEndsWith") {
        ok &= v.is_none_or(|v| !l.iter().any(|p| v.ends_with(p)));
    }
    ok
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn s3_event(name: &str, read_only: bool, bucket: &str, key: Option<&str>) -> Value {
        let object = match key {
            Some(k) => {
                json!({"type": "AWS::S3::Object", "ARN": format!("arn:aws:s3:::{bucket}/{k}")})
            }
            None => {
                json!({"type": "AWS::S3::Object", "ARNPrefix": format!("arn:aws:s3:::{bucket}/")})
            }
        };
        json!({"eventCategory": "Data", "readOnly": read_only, "eventSource": "s3.amazonaws.com",
            "eventName": name, "resources": [object,
                {"accountId": "111122223333", "type": "AWS::S3::Bucket", "ARN": format!("arn:aws:s3:::{bucket}")}]})
    }

    #[test]
    fn selection_table() {
        let write = json!({"eventCategory": "Management", "readOnly": false, "eventSource": "iam.amazonaws.com", "eventName": "CreateUser"});
        let read = json!({"eventCategory": "Management", "readOnly": true, "eventSource": "kms.amazonaws.com", "eventName": "ListKeys"});
        let put_a = s3_event("PutObject", false, "bucket_1", Some("example/images/a.png"));
        let get_a = s3_event("GetObject", true, "bucket_1", Some("notes.txt"));
        let put_b = s3_event("PutObject", false, "bucket_2", Some("x"));
        let list_a = s3_event("ListObjects", true, "bucket_1", None);
        let publish = json!({"eventCategory": "Data", "readOnly": false, "eventSource": "sns.amazonaws.com", "eventName": "Publish",
            "resources": [{"accountId": "111122223333", "type": "AWS::SNS::Topic", "ARN": "arn:aws:sns:us-east-1:111122223333:t"}]});
        let write_only = vec![json!({"ReadWriteType": "WriteOnly"})];
        let no_kms = vec![json!({"ExcludeManagementEventSources": ["kms.amazonaws.com"]})];
        // PutEventSelectors reference, "Log all S3 data events for bucket_1": the bucket
        // ARN with a trailing slash.
        let bucket_1 = vec![
            json!({"ReadWriteType": "All", "IncludeManagementEvents": false, "DataResources": [{"Type": "AWS::S3::Object", "Values": ["arn:aws:s3:::bucket_1/"]}]}),
        ];
        // An object prefix within the bucket.
        let images = vec![
            json!({"DataResources": [{"Type": "AWS::S3::Object", "Values": ["arn:aws:s3:::bucket_1/example/images"]}]}),
        ];
        // All buckets: `arn:aws:s3`, here only for writes.
        let all_writes = vec![
            json!({"ReadWriteType": "WriteOnly", "IncludeManagementEvents": true, "DataResources": [{"Type": "AWS::S3::Object", "Values": ["arn:aws:s3"]}]}),
        ];
        let lambda_only = vec![
            json!({"DataResources": [{"Type": "AWS::Lambda::Function", "Values": ["arn:aws:lambda"]}]}),
        ];
        let adv_iam = vec![
            json!({"FieldSelectors": [{"Field": "eventCategory", "Equals": ["Management"]}, {"Field": "eventSource", "StartsWith": ["iam."]}]}),
        ];
        let adv_not_read = vec![
            json!({"FieldSelectors": [{"Field": "eventCategory", "Equals": ["Management"]}, {"Field": "readOnly", "Equals": ["false"]}]}),
        ];
        // AdvancedFieldSelector reference: S3 data events of one bucket by ARN prefix.
        let adv_bucket_1 = vec![json!({"Name": "bucket_1 objects", "FieldSelectors": [
            {"Field": "eventCategory", "Equals": ["Data"]},
            {"Field": "resources.type", "Equals": ["AWS::S3::Object"]},
            {"Field": "resources.ARN", "StartsWith": ["arn:aws:s3:::bucket_1/"]}]})];
        // All S3 data events except deletes... here: except PutObject, writes only.
        let adv_not_put = vec![json!({"FieldSelectors": [
            {"Field": "eventCategory", "Equals": ["Data"]},
            {"Field": "resources.type", "Equals": ["AWS::S3::Object"]},
            {"Field": "eventName", "NotEquals": ["PutObject"]}]})];
        let adv_reads_not_b1 = vec![json!({"FieldSelectors": [
            {"Field": "eventCategory", "Equals": ["Data"]},
            {"Field": "resources.type", "Equals": ["AWS::S3::Object"]},
            {"Field": "readOnly", "Equals": ["true"]},
            {"Field": "resources.ARN", "NotStartsWith": ["arn:aws:s3:::bucket_1/"]}]})];
        let adv_sns = vec![json!({"FieldSelectors": [
            {"Field": "eventCategory", "Equals": ["Data"]},
            {"Field": "resources.type", "Equals": ["AWS::SNS::Topic"]}]})];
        // (name, basic selectors, advanced selectors, event, selected)
        type Case<'a> = (&'a str, &'a [Value], &'a [Value], &'a Value, bool);
        let cases: Vec<Case<'_>> = vec![
            ("default takes management", &[], &[], &write, true),
            ("default skips data", &[], &[], &put_a, false),
            ("write only skips reads", &write_only, &[], &read, false),
            ("write only takes writes", &write_only, &[], &write, true),
            ("write only skips data", &write_only, &[], &put_a, false),
            ("kms excluded", &no_kms, &[], &read, false),
            ("bucket_1 takes its PutObject", &bucket_1, &[], &put_a, true),
            ("bucket_1 takes its GetObject", &bucket_1, &[], &get_a, true),
            ("bucket_1 takes its ListObjects", &bucket_1, &[], &list_a, true),
            ("bucket_1 skips bucket_2", &bucket_1, &[], &put_b, false),
            ("bucket_1 without management", &bucket_1, &[], &write, false),
            ("object prefix takes a key under it", &images, &[], &put_a, true),
            ("object prefix skips other keys", &images, &[], &get_a, false),
            ("all buckets, writes: PutObject", &all_writes, &[], &put_b, true),
            ("all buckets, writes: not GetObject", &all_writes, &[], &get_a, false),
            ("all buckets, writes: management writes", &all_writes, &[], &write, true),
            ("Lambda selector skips S3", &lambda_only, &[], &put_a, false),
            ("advanced on source", &[], &adv_iam, &write, true),
            ("advanced on source misses", &[], &adv_iam, &read, false),
            ("advanced readOnly", &[], &adv_not_read, &read, false),
            ("advanced management skips data", &[], &adv_iam, &put_a, false),
            ("advanced bucket_1 by ARN", &[], &adv_bucket_1, &get_a, true),
            ("advanced bucket_1 skips bucket_2", &[], &adv_bucket_1, &put_b, false),
            ("advanced bucket_1 skips management", &[], &adv_bucket_1, &write, false),
            ("advanced NotEquals eventName", &[], &adv_not_put, &put_a, false),
            ("advanced NotEquals eventName takes others", &[], &adv_not_put, &get_a, true),
            (
                "advanced reads outside bucket_1: skip bucket_1",
                &[],
                &adv_reads_not_b1,
                &get_a,
                false,
            ),
            ("advanced reads outside bucket_1: skip writes", &[], &adv_reads_not_b1, &put_b, false),
            ("advanced SNS topic", &[], &adv_sns, &publish, true),
            ("advanced SNS topic skips S3", &[], &adv_sns, &put_a, false),
        ];
        for (name, basic, advanced, ev, want) in cases {
            assert_eq!(selects(basic, advanced, ev), want, "{name}");
        }
    }

    #[test]
    fn validation() {
        assert!(
            validate_basic(&[
                json!({"DataResources": [{"Type": "AWS::EC2::Instance", "Values": []}]})
            ])
            .is_err()
        );
        assert!(validate_basic(&vec![json!({}); 6]).is_err());
        assert!(
            validate_advanced(&[
                json!({"FieldSelectors": [{"Field": "eventSource", "Equals": ["x"]}]})
            ])
            .is_err()
        );
        assert!(
            validate_advanced(&[
                json!({"FieldSelectors": [{"Field": "eventCategory", "Equals": ["Management"]}]})
            ])
            .is_ok()
        );
        assert!(validate_advanced(&[json!({"FieldSelectors": [{"Field": "eventCategory", "Equals": ["Data"]}, {"Field": "bogus", "Equals": ["x"]}]})]).is_err());
    }
}
