//! Fuzzes every decoder: the first byte picks a protocol and an operation, the rest is
//! the body. Decoding must never panic, whatever the bytes.
#![no_main]

use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use mamori_wire::protocol::decode_input;
use mamori_wire::{Protocol, WireRequest, models};

const CASES: &[(&str, &str, Protocol)] = &[
    ("logs", "PutLogEvents", Protocol::Json11),
    ("logs", "PutMetricFilter", Protocol::Json11),
    ("cloudwatch", "PutMetricAlarm", Protocol::Json10),
    ("cloudwatch", "PutMetricData", Protocol::Cbor),
    ("cloudwatch", "GetMetricData", Protocol::Query),
    ("sns", "Subscribe", Protocol::Query),
    ("sns", "Publish", Protocol::Query),
    ("iam", "CreatePolicy", Protocol::Query),
    ("ec2", "RunInstances", Protocol::Ec2),
    ("s3", "PutBucketLifecycleConfiguration", Protocol::RestXml),
    ("s3", "PutObject", Protocol::RestXml),
    ("inspector2", "ListFindings", Protocol::RestJson),
];

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else { return };
    let (svc, op, protocol) = CASES[usize::from(selector) % CASES.len()];
    let model = models::get(svc).expect("model");
    let op = model.operation(op).expect("operation");
    let mut headers = http::HeaderMap::new();
    if protocol == Protocol::Query || protocol == Protocol::Ec2 {
        headers.insert("content-type", http::HeaderValue::from_static("application/x-www-form-urlencoded"));
    }
    let body = Bytes::copy_from_slice(rest);
    let query = std::str::from_utf8(rest).unwrap_or("");
    let req = WireRequest { method: &op.http.method, path: "/bucket/key", query, headers: &headers, body: &body };
    let _ = decode_input(model, op, protocol, &req);
});
