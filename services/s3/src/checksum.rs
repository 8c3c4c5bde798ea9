//! Integrity checks on uploads: `Content-MD5` and the `x-amz-checksum-*` members
//! (sent as headers or as aws-chunked trailers), as described in
//! <https://docs.aws.amazon.com/AmazonS3/latest/userguide/checking-object-integrity.html>.
//! A mismatch is `BadDigest`; a value that is not base64 of the right length is
//! `InvalidRequest`, as S3 answers.

use base64::Engine as _;
use mamori_aws::AwsError;
use md5::{Digest as _, Md5};
use serde_json::Value;

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

/// The checksum members S3 verifies, with the algorithm names AWS uses in messages.
pub const MEMBERS: &[(&str, &str)] = &[
    ("ChecksumCRC32", "CRC32"),
    ("ChecksumCRC32C", "CRC32C"),
    ("ChecksumCRC64NVME", "CRC64NVME"),
    ("ChecksumSHA1", "SHA1"),
    ("ChecksumSHA256", "SHA256"),
];

/// The base64 checksum of `body` for a member of [`MEMBERS`].
pub fn compute(member: &str, body: &[u8]) -> Option<String> {
    let raw: Vec<u8> = match member {
        "ChecksumCRC32" => crc32fast::hash(body).to_be_bytes().to_vec(),
        "ChecksumCRC32C" => crc32c::crc32c(body).to_be_bytes().to_vec(),
        "ChecksumCRC64NVME" => {
            let mut d = crc64fast_nvme::Digest::new();
            d.write(body);
            d.sum64().to_be_bytes().to_vec()
        }
        "ChecksumSHA1" => sha1::Sha1::digest(body).to_vec(),
        "ChecksumSHA256" => sha2::Sha256::digest(body).to_vec(),
        _ => return None,
    };
    Some(B64.encode(raw))
}

/// The MD5 of `body` in hex, as S3's ETag has it.
pub fn md5_hex(body: &[u8]) -> String {
    hex::encode(Md5::digest(body))
}

/// Verifies `ContentMD5` and every checksum member of `input` against `body`, returning
/// the checksum to store with the object (the first member present).
pub fn verify(input: &Value, body: &[u8]) -> Result<Option<(String, String)>, AwsError> {
    if let Some(md5) = input.get("ContentMD5").and_then(Value::as_str) {
        let given = B64.decode(md5.trim()).ok().filter(|d| d.len() == 16).ok_or_else(|| {
            AwsError::new("InvalidDigest", "The Content-MD5 you specified was invalid.")
                .with_status(400)
                .with_extra("Content-MD5", md5)
        })?;
        if given.as_slice() != Md5::digest(body).as_slice() {
            return Err(AwsError::new(
                "BadDigest",
                "The Content-MD5 you specified did not match what we received.",
            )
            .with_status(400)
            .with_extra("ExpectedDigest", hex::encode(&given)));
        }
    }
    let mut stored = None;
    for (member, alg) in MEMBERS {
        let Some(given) = input.get(*member).and_then(Value::as_str) else { continue };
        let want = compute(member, body).unwrap_or_default();
        let well_formed = B64
            .decode(given)
            .is_ok_and(|d| Some(d.len()) == B64.decode(&want).ok().map(|w| w.len()));
        if !well_formed {
            return Err(AwsError::new(
                "InvalidRequest",
                format!("Value for x-amz-checksum-{} header is invalid.", alg.to_ascii_lowercase()),
            ));
        }
        if given != want {
            return Err(AwsError::new(
                "BadDigest",
                format!("The {alg} you specified did not match the calculated checksum."),
            )
            .with_status(400));
        }
        stored.get_or_insert(((*member).to_owned(), want));
    }
    Ok(stored)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn known_values() {
        // Values from the AWS SDKs' checksum tests for "Hello world".
        let cases = [
            ("ChecksumCRC32", "i9aeUg=="),
            ("ChecksumCRC32C", "crUfeA=="),
            ("ChecksumSHA1", "e1AsOh9IyGCa4hLN+2Od7jlnP14="),
            ("ChecksumSHA256", "ZOyIygCyaOW6GjVnihtTFtIS9PNmskdyMlNKiuyjfzw="),
        ];
        for (member, want) in cases {
            assert_eq!(compute(member, b"Hello world").as_deref(), Some(want), "{member}");
        }
        assert_eq!(md5_hex(b""), "d41d8cd98f00b204e9800998ecf8427e");
    }

    #[test]
    fn verification() {
        let body = b"Hello world";
        let cases: &[(Value, Result<bool, &str>)] = &[
            (json!({}), Ok(false)),
            (json!({"ChecksumCRC32": "i9aeUg=="}), Ok(true)),
            (json!({"ChecksumCRC32": "AAAAAA=="}), Err("BadDigest")),
            (json!({"ChecksumCRC32": "nope"}), Err("InvalidRequest")),
            (json!({"ContentMD5": "PiWWCnnbxptnTNTsZ6csYg=="}), Ok(false)),
            (json!({"ContentMD5": "AAAAAAAAAAAAAAAAAAAAAA=="}), Err("BadDigest")),
            (json!({"ContentMD5": "xx"}), Err("InvalidDigest")),
        ];
        for (input, want) in cases {
            let got = verify(input, body).map(|c| c.is_some()).map_err(|e| e.code);
            assert_eq!(got, want.map_err(str::to_owned), "{input}");
        }
    }
}
