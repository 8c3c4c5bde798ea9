//! CPU time the server spends per imported record, without HTTP: request bodies of 5,000
//! realistic records (the shape of `scripts/bench_cloudtrail.py`'s) split into records
//! and stored in event history on an in-memory store, in the two forms the import
//! endpoint takes: NDJSON (what the CLI sends) and `{"records": [...]}`; then the same
//! records read back in the delivery's batches of 5,000, as trails' deliveries read them
//! (`DELIVERY_VIEW`) and as event history does (`EVENTS`). The forms run
//! alternately, round after round, so a change of the machine's speed hits both. All of
//! it runs on one thread, so the wall time it reports is its CPU time (and finer than
//! the process's CPU clock, which counts in 10 ms ticks); the median of the rounds is
//! the figure.
//! Run: `cargo bench -p mamori-cloudtrail --bench import [N]`.

use mamori_cloudtrail::import::{ImportRequest, import_records, ndjson_records};
use mamori_cloudtrail::{DELIVERY_VIEW, EVENTS};
use serde_json::json;

fn record(i: usize) -> String {
    let names = [
        ("ec2.amazonaws.com", "DescribeInstances", true),
        ("s3.amazonaws.com", "PutBucketPolicy", false),
        ("iam.amazonaws.com", "CreatePolicy", false),
        ("kms.amazonaws.com", "Decrypt", true),
        ("ec2.amazonaws.com", "AuthorizeSecurityGroupIngress", false),
        ("sts.amazonaws.com", "AssumeRole", true),
    ];
    let (source, name, read_only) = names[i % names.len()];
    let session = format!("session-{}", i % 7);
    let time = chrono::DateTime::from_timestamp(1_700_000_000 + (i / 50) as i64, 0).unwrap();
    let mut rec = json!({
        "eventVersion": "1.08", "eventTime": time.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
        "eventSource": source, "eventName": name, "awsRegion": "us-east-1",
        "sourceIPAddress": format!("198.51.100.{}", i % 250),
        "userAgent": "aws-cli/2.15.0 Python/3.11.6 Linux/6.1 exe/x86_64.amzn.2023",
        "userIdentity": {"type": "AssumedRole", "principalId": format!("AROAEXAMPLE:{session}"),
            "arn": format!("arn:aws:sts::000000000000:assumed-role/Admin/{session}"),
            "accountId": "000000000000", "accessKeyId": format!("ASIAEXAMPLE{:05}", i % 100),
            "sessionContext": {"sessionIssuer": {"type": "Role", "principalId": "AROAEXAMPLE",
                "arn": "arn:aws:iam::000000000000:role/Admin", "accountId": "000000000000",
                "userName": "Admin"},
                "attributes": {"creationDate": "2023-05-01T00:00:00Z", "mfaAuthenticated": "false"}}},
        "requestParameters": {"filterSet": {"items": [{"name": "tag:env",
            "valueSet": {"items": [{"value": "prod"}]}}]}, "maxResults": 5 + i % 995},
        "responseElements": null, "requestID": uuid::Uuid::new_v4().to_string(),
        "eventID": uuid::Uuid::new_v4().to_string(), "readOnly": read_only,
        "eventType": "AwsApiCall", "managementEvent": true,
        "recipientAccountId": "000000000000", "eventCategory": "Management"
    });
    if i.is_multiple_of(25) {
        rec["errorCode"] = json!("Client.UnauthorizedOperation");
        rec["errorMessage"] = json!("You are not authorized to perform this operation.");
    }
    rec.to_string()
}

fn main() {
    let n: usize = std::env::args().filter_map(|a| a.parse().ok()).next().unwrap_or(100_000);
    const BATCH: usize = 5_000;
    let records: Vec<String> = (0..n).map(record).collect();
    let ndjson: Vec<String> =
        records.chunks(BATCH).map(|c| c.iter().map(|r| format!("{r}\n")).collect()).collect();
    let json: Vec<String> =
        records.chunks(BATCH).map(|c| format!("{{\"records\":[{}]}}", c.join(","))).collect();
    let total: usize = records.iter().map(String::len).sum();
    println!("{n} records of {} bytes on average, {BATCH} per body", total / n);
    let forms = ["ndjson", "json", "read as delivery", "read as history"];
    let mut times: Vec<Vec<f64>> = vec![Vec::new(); forms.len()];
    let part = "000000000000/us-east-1";
    for round in 0..9 {
        let store = mamori_store::Store::in_memory().unwrap();
        for (f, form) in forms.into_iter().enumerate() {
            if form.starts_with("read") {
                let t0 = std::time::Instant::now();
                let (mut cursor, mut read, mut bytes) = (0, 0, 0);
                loop {
                    // (id, record length) of each, as the delivery keeps the record.
                    let got: Vec<(i64, usize)> = if form == "read as delivery" {
                        let got = store.read(|tx| DELIVERY_VIEW.since_id(tx, part, cursor, BATCH));
                        got.unwrap().into_iter().map(|r| (r.id, r.value.record.len())).collect()
                    } else {
                        let got = store.read(|tx| EVENTS.since_id(tx, part, cursor, BATCH));
                        got.unwrap().into_iter().map(|r| (r.id, r.value.record.len())).collect()
                    };
                    let Some(&(last, _)) = got.last() else { break };
                    bytes += got.iter().map(|(_, len)| len).sum::<usize>();
                    (cursor, read) = (last, read + got.len());
                }
                assert_eq!((read, bytes), (2 * n, 2 * total), "both imports read back");
                let us = t0.elapsed().as_secs_f64() * 1e6 / read as f64;
                println!("round {round} {form:>16}: {us:.2} us per record");
                times[f].push(us);
                continue;
            }
            let t0 = std::time::Instant::now();
            let mut stored = 0;
            for i in 0..ndjson.len() {
                let report = if form == "ndjson" {
                    let body = std::str::from_utf8(ndjson[i].as_bytes()).unwrap();
                    import_records(&store, &ndjson_records(body), None)
                } else {
                    let req: ImportRequest<'_> =
                        serde_json::from_slice(json[i].as_bytes()).unwrap();
                    let recs: Vec<&str> = req.records.iter().map(|r| r.get()).collect();
                    import_records(&store, &recs, None)
                };
                stored += report.unwrap().imported;
            }
            assert_eq!(stored, n);
            let us = t0.elapsed().as_secs_f64() * 1e6 / n as f64;
            println!("round {round} {form:>16}: {us:.2} us per record");
            times[f].push(us);
        }
    }
    for (f, form) in forms.into_iter().enumerate() {
        times[f].sort_by(f64::total_cmp);
        println!("{form:>16}: median {:.2} us per record", times[f][times[f].len() / 2]);
    }
}
