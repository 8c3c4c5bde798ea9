//! Fuzzes the `aws-chunked` body decoder
//! (<https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-streaming.html>), which the
//! sigv4 target reaches only past a valid Authorization line. The first byte picks a
//! mode: decode the rest as an unsigned or a signed streaming body (nothing may panic),
//! or sign the rest as chunks (split at NUL bytes), decode that back whole, then change
//! one byte of it: the signed body must then be refused or still yield the signed data.
#![no_main]

use hmac::{Hmac, Mac};
use libfuzzer_sys::fuzz_target;
use mamori_wire::sigv4::{self, EMPTY_SHA256, Payload, SigForm, SigParams, decode_chunked};
use sha2::{Digest, Sha256};

const SEED: &str = "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9";

fn params() -> SigParams {
    SigParams {
        form: SigForm::Header,
        access_key_id: "AKIAIOSFODNN7EXAMPLE".into(),
        scope_date: "20130524".into(),
        region: "us-east-1".into(),
        service: "s3".into(),
        signed_headers: vec![],
        signature: String::new(),
        amz_date: "20130524T000000Z".into(),
        expires: None,
        security_token: None,
    }
}

/// `chunks` framed as aws-chunked and signed in a chain from [`SEED`].
fn encode(chunks: &[&[u8]], key: &[u8]) -> Vec<u8> {
    let scope = "20130524/us-east-1/s3/aws4_request";
    let mut prev = SEED.to_owned();
    let mut out = Vec::new();
    for data in chunks.iter().copied().filter(|c| !c.is_empty()).chain([&b""[..]]) {
        let sts = format!(
            "AWS4-HMAC-SHA256-PAYLOAD\n20130524T000000Z\n{scope}\n{prev}\n{EMPTY_SHA256}\n{}",
            hex::encode(Sha256::digest(data))
        );
        let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("any key length");
        mac.update(sts.as_bytes());
        prev = hex::encode(mac.finalize().into_bytes());
        out.extend_from_slice(format!("{:x};chunk-signature={prev}\r\n", data.len()).as_bytes());
        out.extend_from_slice(data);
        out.extend_from_slice(b"\r\n");
    }
    out
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else { return };
    let params = params();
    let key = sigv4::signing_key(
        "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        "20130524",
        "us-east-1",
        "s3",
    );
    let signed = Payload::StreamingSigned { seed: SEED.into(), key: key.clone() };
    match mode % 3 {
        0 => drop(decode_chunked(rest, &Payload::StreamingUnsigned, &params)),
        1 => drop(decode_chunked(rest, &signed, &params)),
        _ => {
            // The first two bytes of the rest say which byte of the body to change, and to what.
            let [at_hi, with, chunks @ ..] = rest else { return };
            let chunks: Vec<&[u8]> = chunks.split(|&b| b == 0).collect();
            let want: Vec<u8> = chunks.concat();
            let mut body = encode(&chunks, &key);
            let got = decode_chunked(&body, &signed, &params).expect("a signed body decodes");
            assert_eq!(&got[..], &want[..]);
            let at = usize::from(*at_hi) * body.len() / 256;
            body[at] = *with;
            if let Ok(got) = decode_chunked(&body, &signed, &params) {
                assert_eq!(&got[..], &want[..], "forged");
            }
        }
    }
});
