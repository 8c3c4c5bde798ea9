//! Fuzzes the SigV4 parameter parser and verifier with arbitrary Authorization headers,
//! query strings and chunked bodies. Nothing may panic.
#![no_main]

use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use mamori_wire::sigv4::{self, Payload, SignedRequest};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let (auth, query) = text.split_once('\n').unwrap_or((&text, ""));
    let mut headers = http::HeaderMap::new();
    if let Ok(v) = http::HeaderValue::from_str(auth) {
        headers.insert("authorization", v);
    }
    headers.insert("x-amz-date", http::HeaderValue::from_static("20240101T000000Z"));
    headers.insert("host", http::HeaderValue::from_static("localhost"));
    let body = Bytes::copy_from_slice(data);
    let req = SignedRequest { method: "POST", path: "/", query, headers: &headers, body: &body };
    if let Ok(Some(params)) = sigv4::parse(&req) {
        let now = chrono_now();
        let _ = sigv4::verify(&req, params.clone(), "secret", now, false);
        let _ = sigv4::decode_chunked(data, &Payload::StreamingUnsigned, &params);
        let _ = sigv4::decode_chunked(data, &Payload::StreamingSigned { seed: String::new(), key: vec![0; 32] }, &params);
    }
});

fn chrono_now() -> sigv4::Timestamp {
    sigv4::Timestamp::from_timestamp(1_704_067_200, 0).unwrap_or_default()
}
