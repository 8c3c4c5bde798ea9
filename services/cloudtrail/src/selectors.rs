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
            // GAP: data events are matched on their type only (events carry no resource
            // ARNs yet), so any S3 data resource selector selects every S3 data event.
            let source = event["eventSource"].as_str().unwrap_or_default();
            sel["DataResources"].as_array().into_iter().flatten().any(|r| {
                matches!(
                    (r["Type"].as_str(), source),
                    (Some("AWS::S3::Object"), "s3.amazonaws.com")
                )
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

fn field_value(event: &Value, field: &str) -> Option<String> {
    let v = match field {
        "eventCategory" | "eventSource" | "eventName" | "eventType" | "errorCode"
        | "vpcEndpointId" => &event[field],
        "readOnly" => return event["readOnly"].as_bool().map(|b| b.to_string()),
        "userIdentity.arn" => &event["userIdentity"]["arn"],
        "sessionCredentialFromConsole" => &event["sessionCredentialFromConsole"],
        // GAP: resources are not recorded; resources.* selectors see no value.
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

    #[test]
    fn selection_table() {
        let write = json!({"eventCategory": "Management", "readOnly": false, "eventSource": "iam.amazonaws.com", "eventName": "CreateUser"});
        let read = json!({"eventCategory": "Management", "readOnly": true, "eventSource": "kms.amazonaws.com", "eventName": "ListKeys"});
        let data = json!({"eventCategory": "Data", "readOnly": false, "eventSource": "s3.amazonaws.com", "eventName": "PutObject"});
        let write_only = vec![json!({"ReadWriteType": "WriteOnly"})];
        let no_kms = vec![json!({"ExcludeManagementEventSources": ["kms.amazonaws.com"]})];
        let s3_data = vec![
            json!({"IncludeManagementEvents": false, "DataResources": [{"Type": "AWS::S3::Object", "Values": ["arn:aws:s3"]}]}),
        ];
        let adv_iam = vec![
            json!({"FieldSelectors": [{"Field": "eventCategory", "Equals": ["Management"]}, {"Field": "eventSource", "StartsWith": ["iam."]}]}),
        ];
        let adv_not_read = vec![
            json!({"FieldSelectors": [{"Field": "eventCategory", "Equals": ["Management"]}, {"Field": "readOnly", "Equals": ["false"]}]}),
        ];
        // (name, basic selectors, advanced selectors, event, selected)
        type Case<'a> = (&'a str, &'a [Value], &'a [Value], &'a Value, bool);
        let cases: Vec<Case<'_>> = vec![
            ("default takes management", &[], &[], &write, true),
            ("default skips data", &[], &[], &data, false),
            ("write only skips reads", &write_only, &[], &read, false),
            ("write only takes writes", &write_only, &[], &write, true),
            ("kms excluded", &no_kms, &[], &read, false),
            ("s3 data selector", &s3_data, &[], &data, true),
            ("s3 data selector without management", &s3_data, &[], &write, false),
            ("advanced on source", &[], &adv_iam, &write, true),
            ("advanced on source misses", &[], &adv_iam, &read, false),
            ("advanced readOnly", &[], &adv_not_read, &read, false),
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
