//! A bounded, deterministic stand-in for `fuzz/fuzz_targets/chunked.rs`, so that
//! `cargo test` on stable checks the same properties of the `aws-chunked` body decoder
//! (<https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-streaming.html>,
//! <https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-streaming-trailers.html>):
//! bodies are encoded here (signed and unsigned, with trailers), decoded back whole, then
//! mutated byte by byte; random bytes are thrown in too. Nothing may panic, an encoded
//! body decodes to its chunks and trailers, and a mutated signed body either is refused
//! or still decodes to the signed data.

use hmac::{Hmac, Mac};
use mamori_mutate::Rng;
use mamori_wire::sigv4::{
    self, EMPTY_SHA256, Payload, SigForm, SigParams, decode_chunked_with_trailers,
};
use sha2::{Digest, Sha256};

/// The scope of the streaming example in the AWS documentation.
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

const SECRET: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
const SEED: &str = "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9";

fn signed() -> Payload {
    Payload::StreamingSigned {
        seed: SEED.into(),
        key: sigv4::signing_key(SECRET, "20130524", "us-east-1", "s3"),
    }
}

/// `chunks` framed as aws-chunked, each chunk signed in a chain from the seed when
/// `payload` is signed, then `trailers`.
fn encode(chunks: &[&[u8]], trailers: &[(&str, &str)], payload: &Payload) -> Vec<u8> {
    let p = params();
    let scope = format!("{}/{}/{}/aws4_request", p.scope_date, p.region, p.service);
    let mut prev = SEED.to_owned();
    let mut out = Vec::new();
    for data in chunks.iter().copied().chain([&b""[..]]) {
        out.extend_from_slice(format!("{:x}", data.len()).as_bytes());
        if let Payload::StreamingSigned { key, .. } = payload {
            let sts = format!(
                "AWS4-HMAC-SHA256-PAYLOAD\n{}\n{scope}\n{prev}\n{EMPTY_SHA256}\n{}",
                p.amz_date,
                hex::encode(Sha256::digest(data))
            );
            let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("any key length");
            mac.update(sts.as_bytes());
            prev = hex::encode(mac.finalize().into_bytes());
            out.extend_from_slice(format!(";chunk-signature={prev}").as_bytes());
        }
        out.extend_from_slice(b"\r\n");
        out.extend_from_slice(data);
        if !data.is_empty() {
            out.extend_from_slice(b"\r\n");
        }
    }
    for (k, v) in trailers {
        out.extend_from_slice(format!("{k}:{v}\r\n").as_bytes());
    }
    out.extend_from_slice(b"\r\n");
    out
}

const BYTES: &[u8] = b"\r\n;:=0123456789abcdefABCDEF-xz \0\xff";

fn mutate(rng: &mut Rng, body: &[u8]) -> Vec<u8> {
    let mut out = body.to_vec();
    for _ in 0..=rng.below(2) {
        let at = rng.below(out.len() + 1);
        let b = if rng.below(2) == 0 { BYTES[rng.below(BYTES.len())] } else { rng.next() as u8 };
        match rng.below(4) {
            0 => out.insert(at, b),
            1 if at < out.len() => {
                out.remove(at);
            }
            2 => out.truncate(at),
            _ if at < out.len() => out[at] = b,
            _ => out.push(b),
        }
    }
    out
}

#[test]
fn the_aws_signed_streaming_example_decodes() {
    // The PUT of 66,560 bytes of `a` in the documentation's example, its chunk
    // signatures as printed there.
    let (big, small) = (vec![b'a'; 65_536], vec![b'a'; 1_024]);
    let mut body = Vec::new();
    for (data, sig) in [
        (&big[..], "ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648"),
        (&small[..], "0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497"),
        (&[][..], "b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9"),
    ] {
        body.extend_from_slice(format!("{:x};chunk-signature={sig}\r\n", data.len()).as_bytes());
        body.extend_from_slice(data);
        body.extend_from_slice(b"\r\n");
    }
    let (got, trailers) = decode_chunked_with_trailers(&body, &signed(), &params()).unwrap();
    assert_eq!((got.len(), trailers.len()), (66_560, 0));
    assert_eq!(body, encode(&[&big, &small], &[], &signed()), "the encoder here agrees");
}

#[test]
fn encoded_bodies_decode_and_mutants_never_panic_or_forge() {
    let mut rng = Rng(0xA076_1D64_78BD_642F);
    let params = params();
    let (signed, unsigned) = (signed(), Payload::StreamingUnsigned);
    let (mut refused, mut kept) = (0, 0);
    for i in 0..3_000 {
        let payload = if i % 2 == 0 { &signed } else { &unsigned };
        let data: Vec<u8> = (0..rng.below(40)).map(|_| BYTES[rng.below(BYTES.len())]).collect();
        let mut chunks = Vec::new();
        let mut rest = &data[..];
        while !rest.is_empty() {
            let (head, tail) = rest.split_at(1 + rng.below(rest.len()));
            chunks.push(head);
            rest = tail;
        }
        let trailers: &[(&str, &str)] = match rng.below(3) {
            0 => &[],
            1 => &[("x-amz-checksum-crc32", "sOO8/Q==")],
            _ => &[("X-Amz-Checksum-Sha256", " a:b "), ("x-amz-trailer-signature", "00")],
        };
        let body = encode(&chunks, trailers, payload);
        let (got, got_trailers) = decode_chunked_with_trailers(&body, payload, &params)
            .unwrap_or_else(|e| panic!("{:?}: {e:?}", String::from_utf8_lossy(&body)));
        assert_eq!(&got[..], &data[..]);
        let want: Vec<(String, String)> = trailers
            .iter()
            .filter(|(k, _)| *k != "x-amz-trailer-signature")
            .map(|(k, v)| (k.to_ascii_lowercase(), v.trim().to_owned()))
            .collect();
        assert_eq!(got_trailers, want);
        for _ in 0..8 {
            let mutant = mutate(&mut rng, &body);
            match decode_chunked_with_trailers(&mutant, payload, &params) {
                Ok((got, _)) if payload == &signed => {
                    assert_eq!(
                        &got[..],
                        &data[..],
                        "forged: {:?}",
                        String::from_utf8_lossy(&mutant)
                    );
                    kept += 1;
                }
                Ok(_) => kept += 1,
                Err(_) => refused += 1,
            }
        }
    }
    for _ in 0..3_000 {
        let noise: Vec<u8> = (0..rng.below(64)).map(|_| BYTES[rng.below(BYTES.len())]).collect();
        let _ = decode_chunked_with_trailers(&noise, &signed, &params);
        let _ = decode_chunked_with_trailers(&noise, &unsigned, &params);
    }
    assert!(refused > 2_000 && kept > 2_000, "refused {refused}, kept {kept}");
}

#[test]
fn the_fuzz_seeds_decode() {
    // Mode byte first, as the fuzz target reads them.
    let signed_seed = include_bytes!("../fuzz/seeds/chunked/signed_hello_world");
    let got = sigv4::decode_chunked(&signed_seed[1..], &signed(), &params()).unwrap();
    assert_eq!(&got[..], b"hello world");
    let unsigned_seed = include_bytes!("../fuzz/seeds/chunked/unsigned_with_trailer");
    let got =
        sigv4::decode_chunked(&unsigned_seed[1..], &Payload::StreamingUnsigned, &params()).unwrap();
    assert_eq!(&got[..], b"hello world");
}
