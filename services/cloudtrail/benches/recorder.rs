//! CPU time the recorder spends per recorded call, without HTTP or wrk: N audit records
//! of one call (root, the model's shaper) handed to a `Recorder` on an in-memory store,
//! timed from the first `record` to the `flush` that sees them stored, as process CPU
//! time (the caller's encoding and the writer thread's inserts). Two calls:
//! GetCallerIdentity (read-only, so no responseElements) and SNS CreateTopic.
//! Run: `cargo bench -p mamori-cloudtrail --bench recorder [N]`.

use std::sync::Arc;

use mamori_aws::{AccountId, Region};
use mamori_cloudtrail::recorder::{Recorder, Shaper};
use mamori_service::{AuditRecord, AuditSink, Principal};
use serde_json::json;

fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let fields: Vec<&str> =
        stat.rsplit_once(')').map(|(_, r)| r.split_whitespace().collect()).unwrap_or_default();
    let ticks = |i: usize| fields.get(i).and_then(|f| f.parse::<f64>().ok()).unwrap_or(0.0);
    (ticks(11) + ticks(12)) / 100.0
}

fn main() {
    let n: usize = std::env::args().filter_map(|a| a.parse().ok()).next().unwrap_or(200_000);
    let shaper: Shaper =
        Arc::new(|service, operation, input, output| match mamori_wire::models::get(service) {
            Some(model) => mamori_wire::audit::cloudtrail_view(model, operation, input, output),
            None => (input.clone(), output.cloned().unwrap_or_default()),
        });
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let account = AccountId::parse("000000000000").unwrap();
    let mut principal = Principal::root(account.clone());
    principal.access_key_id = Some("test".into());
    let region = Region::parse("us-east-1").unwrap();
    let no_input = json!({});
    let identity = json!({
        "UserId": "000000000000",
        "Account": "000000000000",
        "Arn": "arn:aws:iam::000000000000:root"
    });
    let topic_input = json!({"Name": "alarms", "Attributes": {"DisplayName": "CIS alarms"}});
    let topic = json!({"TopicArn": "arn:aws:sns:us-east-1:000000000000:alarms"});
    let template = AuditRecord {
        service: "sts",
        operation: "GetCallerIdentity",
        account: &account,
        principal: &principal,
        region: &region,
        source_ip: "127.0.0.1",
        user_agent: "aws-cli/2.15.0 Python/3.11.6 Linux/6.1 exe/x86_64.amzn.2023",
        request_id: "4f8e2b3c-0000-0000-0000-000000000000",
        time: chrono::Utc::now(),
        input: &no_input,
        output: Some(&identity),
        error: None,
        invoked_by: None,
        internal: false,
    };
    // A read-only call (no responseElements) and one that changes state.
    let create_topic = AuditRecord {
        service: "sns",
        operation: "CreateTopic",
        input: &topic_input,
        output: Some(&topic),
        ..template
    };
    for (name, rec) in [("GetCallerIdentity", template), ("CreateTopic", create_topic)] {
        for round in 0..3 {
            let store = mamori_store::Store::in_memory().unwrap();
            let recorder = Recorder::start(store, shaper.clone());
            let (c0, t0) = (cpu_seconds(), std::time::Instant::now());
            for _ in 0..n {
                // In memory the record is kept at once: nothing to await.
                let _kept = recorder.record(&rec);
            }
            runtime.block_on(recorder.flush());
            let (cpu, wall) = (cpu_seconds() - c0, t0.elapsed().as_secs_f64());
            println!(
                "{name} round {round}: {n} records, {:.2} us CPU per record, {:.2} us wall per record",
                cpu * 1e6 / n as f64,
                wall * 1e6 / n as f64
            );
        }
    }
}
