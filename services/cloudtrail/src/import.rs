//! Import of real CloudTrail records (from log files as AWS delivers them) into event
//! history, where trails then deliver them like any other event: a detection engineer
//! replays production activity through metric filters and alarms.

use chrono::{DateTime, TimeDelta, Utc};
use mamori_store::Store;
use serde_json::Value;

use crate::state::{EVENTS, StoredEvent};

/// The outcome of an import batch.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ImportReport {
    /// Records stored.
    pub imported: usize,
    /// Records refused, with the reason (index in the batch: reason).
    pub rejected: Vec<String>,
}

/// The username event history shows for a record from a real log file.
fn username(rec: &Value) -> String {
    let id = &rec["userIdentity"];
    if let Some(name) = id["userName"].as_str() {
        return name.to_owned();
    }
    match id["type"].as_str() {
        Some("Root") => "root".into(),
        Some("AssumedRole") => {
            id["arn"].as_str().and_then(|a| a.rsplit('/').next()).unwrap_or_default().to_owned()
        }
        Some("AWSService") => id["invokedBy"].as_str().unwrap_or_default().to_owned(),
        _ => String::new(),
    }
}

/// Stores `records`, shifting each `eventTime` by `shift` when given (so that old
/// activity happens "now" for alarms that look at recent minutes).
pub fn import_records(
    store: &Store,
    records: Vec<Value>,
    shift: Option<TimeDelta>,
) -> Result<ImportReport, mamori_store::StoreError> {
    let mut report = ImportReport::default();
    let mut rows = Vec::with_capacity(records.len());
    for (i, mut rec) in records.into_iter().enumerate() {
        let Some(time) =
            rec["eventTime"].as_str().and_then(|t| DateTime::parse_from_rfc3339(t).ok())
        else {
            report
                .rejected
                .push(format!("record {i}: eventTime is missing or not an ISO 8601 time"));
            continue;
        };
        let mut time = time.with_timezone(&Utc);
        if let Some(shift) = shift {
            time += shift;
            rec["eventTime"] = Value::from(time.format("%Y-%m-%dT%H:%M:%SZ").to_string());
        }
        let (Some(name), Some(source), Some(region)) =
            (rec["eventName"].as_str(), rec["eventSource"].as_str(), rec["awsRegion"].as_str())
        else {
            report
                .rejected
                .push(format!("record {i}: eventName, eventSource or awsRegion is missing"));
            continue;
        };
        let account = rec["recipientAccountId"]
            .as_str()
            .or(rec["userIdentity"]["accountId"].as_str())
            .unwrap_or_default();
        if account.len() != 12 || !account.bytes().all(|b| b.is_ascii_digit()) {
            report.rejected.push(format!("record {i}: no 12-digit recipientAccountId"));
            continue;
        }
        let data = rec["eventCategory"] == "Data" || rec["managementEvent"] == false;
        let event_id =
            rec["eventID"].as_str().map_or_else(|| uuid::Uuid::new_v4().to_string(), str::to_owned);
        let stored = StoredEvent {
            event_id,
            event_name: name.to_owned(),
            event_source: source.to_owned(),
            read_only: rec["readOnly"].as_bool().unwrap_or(false),
            access_key_id: rec["userIdentity"]["accessKeyId"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
            username: username(&rec),
            data,
            record: serde_json::value::to_raw_value(&rec)
                .unwrap_or_else(|_| crate::recorder::null_raw()),
        };
        rows.push((format!("{account}/{region}"), time.timestamp_millis(), stored));
    }
    store.write(|tx| {
        for (part, ts, ev) in &rows {
            EVENTS.append(tx, part, if ev.data { "data" } else { "management" }, *ts, ev)?;
        }
        Ok::<_, mamori_store::StoreError>(())
    })?;
    report.imported = rows.len();
    Ok(report)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn imports_valid_records_and_reports_the_rest() {
        let store = Store::in_memory().unwrap();
        let good = json!({"eventVersion": "1.08", "eventTime": "2023-01-01T00:00:00Z", "eventName": "StopLogging",
            "eventSource": "cloudtrail.amazonaws.com", "awsRegion": "us-east-1", "recipientAccountId": "111122223333",
            "userIdentity": {"type": "IAMUser", "userName": "alice", "accessKeyId": "AKIA1"}, "eventID": "e1"});
        let no_time = json!({"eventName": "X"});
        let no_account = json!({"eventTime": "2023-01-01T00:00:00Z", "eventName": "X", "eventSource": "s", "awsRegion": "r"});
        let report =
            import_records(&store, vec![good, no_time, no_account], Some(TimeDelta::days(1)))
                .unwrap();
        assert_eq!(report.imported, 1);
        assert_eq!(report.rejected.len(), 2);
        let got = store.read(|tx| EVENTS.since_id(tx, "111122223333/us-east-1", 0, 10)).unwrap();
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].value.username, "alice");
        let rec: Value = serde_json::from_str(got[0].value.record.get()).unwrap();
        assert_eq!(rec["eventTime"], "2023-01-02T00:00:00Z", "shifted");
    }
}
