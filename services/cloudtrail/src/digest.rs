//! Log file integrity validation: digest files and their signing keys, following
//! <https://docs.aws.amazon.com/awscloudtrail/latest/userguide/cloudtrail-log-file-validation-digest-file-structure.html>
//! and
//! <https://docs.aws.amazon.com/awscloudtrail/latest/userguide/cloudtrail-log-file-custom-validation.html>.
//!
//! Each region has an RSA 2048 key pair, kept in the store and replaced when its
//! validity ends ([`KEY_VALIDITY`]). A digest is signed SHA256withRSA (PKCS#1 v1.5) over
//! `digestEndTime \n bucket/key \n hex(sha256(uncompressed digest)) \n previous signature`
//! (`null` for the first of a chain); the hex signature travels in the object's
//! `signature` metadata, which is what `aws cloudtrail validate-logs` reads.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use chrono::{DateTime, TimeDelta, Utc};
use mamori_store::Store;
use rsa::pkcs1::EncodeRsaPublicKey;
use rsa::pkcs1v15::SigningKey as RsaSigner;
use rsa::pkcs8::{DecodePrivateKey, EncodePrivateKey};
use rsa::signature::{SignatureEncoding, Signer as _};
use rsa::{RsaPrivateKey, RsaPublicKey};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::state::{DigestChain, SIGNING_KEYS, SigningKey};

/// How long a signing key is used before a new one replaces it.
pub const KEY_VALIDITY: TimeDelta = TimeDelta::days(30);

/// The algorithm named in digests and their metadata.
pub const SIGNATURE_ALGORITHM: &str = "SHA256withRSA";

/// Times in digests and log records: `2015-08-17T14:01:31Z`.
pub fn iso(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// Hex SHA-256.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// A loaded signing key.
pub struct Signer {
    key: RsaSigner<Sha256>,
    /// The stored form and validity.
    pub stored: SigningKey,
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Signer").field("fingerprint", &self.stored.fingerprint).finish()
    }
}

impl Signer {
    /// A new random key valid from `now` for [`KEY_VALIDITY`]. Slow (RSA key generation):
    /// call it off the async threads.
    pub fn generate(now: DateTime<Utc>) -> Result<Self, String> {
        let key = RsaPrivateKey::new(&mut rand::thread_rng(), 2048).map_err(|e| e.to_string())?;
        let private_pkcs8 = B64.encode(key.to_pkcs8_der().map_err(|e| e.to_string())?.as_bytes());
        let public = RsaPublicKey::from(&key).to_pkcs1_der().map_err(|e| e.to_string())?.into_vec();
        let stored = SigningKey {
            private_pkcs8,
            public_pkcs1: B64.encode(&public),
            fingerprint: fingerprint(&public),
            valid_from: now,
            valid_to: now + KEY_VALIDITY,
        };
        Ok(Self { key: RsaSigner::new(key), stored })
    }

    /// A stored key.
    pub fn load(stored: SigningKey) -> Result<Self, String> {
        let der = B64.decode(&stored.private_pkcs8).map_err(|e| e.to_string())?;
        let key = RsaPrivateKey::from_pkcs8_der(&der).map_err(|e| e.to_string())?;
        Ok(Self { key: RsaSigner::new(key), stored })
    }

    /// Hex signature of `text`.
    pub fn sign_hex(&self, text: &str) -> String {
        hex::encode(self.key.sign(text.as_bytes()).to_vec())
    }
}

/// The fingerprint ListPublicKeys and digests show: hex of the first 16 bytes of the
/// SHA-256 of the PKCS#1 DER public key (AWS's are 32 hex digits too).
fn fingerprint(public_der: &[u8]) -> String {
    hex::encode(&Sha256::digest(public_der)[..16])
}

/// The key of `region` valid at `now`, made (and stored) when there is none.
pub async fn current_signer(
    store: &Store,
    region: &str,
    now: DateTime<Utc>,
) -> Result<Signer, String> {
    let keys = store.read(|tx| SIGNING_KEYS.all(tx, region)).map_err(|e| e.to_string())?;
    let current = keys
        .into_iter()
        .map(|(_, k)| k)
        .filter(|k| k.valid_from <= now && now < k.valid_to)
        .max_by_key(|k| k.valid_from);
    if let Some(k) = current {
        return Signer::load(k);
    }
    let signer = tokio::task::spawn_blocking(move || Signer::generate(now))
        .await
        .map_err(|e| e.to_string())??;
    store
        .write(|tx| SIGNING_KEYS.put(tx, region, &signer.stored.fingerprint, &signer.stored))
        .map_err(|e| e.to_string())?;
    tracing::info!(region, fingerprint = %signer.stored.fingerprint, "made a CloudTrail digest signing key");
    Ok(signer)
}

/// Where a digest goes and what it covers.
#[derive(Debug)]
pub struct DigestTarget<'a> {
    /// Owner account.
    pub account: &'a str,
    /// Region of the logs it covers.
    pub region: &'a str,
    /// The trail's home region.
    pub home_region: &'a str,
    /// Trail name.
    pub trail: &'a str,
    /// Bucket.
    pub bucket: &'a str,
    /// Key prefix, if any.
    pub prefix: Option<&'a str>,
    /// End of the covered period.
    pub end: DateTime<Utc>,
}

/// `[prefix/]AWSLogs/<account>/CloudTrail-Digest/<region>/YYYY/MM/DD/<account>_CloudTrail-Digest_<region>_<trail>_<home region>_<YYYYMMDDTHHmmssZ>.json.gz`.
pub fn digest_key(t: &DigestTarget<'_>) -> String {
    let key = format!(
        "AWSLogs/{a}/CloudTrail-Digest/{r}/{ymd}/{a}_CloudTrail-Digest_{r}_{n}_{h}_{ts}.json.gz",
        a = t.account,
        r = t.region,
        h = t.home_region,
        n = t.trail,
        ymd = t.end.format("%Y/%m/%d"),
        ts = t.end.format("%Y%m%dT%H%M%SZ"),
    );
    with_prefix(t.prefix, key)
}

/// `key` under the trail's key prefix.
pub fn with_prefix(prefix: Option<&str>, key: String) -> String {
    match prefix.filter(|p| !p.is_empty()) {
        Some(p) => format!("{p}/{key}"),
        None => key,
    }
}

/// A digest file ready to store: its uncompressed bytes, signature and the link the
/// next digest keeps.
#[derive(Debug)]
pub struct SignedDigest {
    /// Key.
    pub key: String,
    /// The JSON document, uncompressed.
    pub body: Vec<u8>,
    /// Hex signature.
    pub signature: String,
    /// Hex SHA-256 of `body`.
    pub hash: String,
}

/// Builds and signs the digest of `chain` ending at `t.end`.
pub fn build(t: &DigestTarget<'_>, chain: &DigestChain, signer: &Signer) -> SignedDigest {
    let key = digest_key(t);
    let start = chain.start.unwrap_or(t.end);
    let ms = |v: i64| DateTime::from_timestamp_millis(v).map(iso);
    let newest = chain.log_files.iter().map(|f| f.newest_ms).max().and_then(ms);
    let oldest = chain.log_files.iter().map(|f| f.oldest_ms).min().and_then(ms);
    let log_files: Vec<Value> = chain
        .log_files
        .iter()
        .map(|f| {
            json!({
                "s3Bucket": f.bucket,
                "s3Object": f.key,
                "hashValue": f.hash,
                "hashAlgorithm": "SHA-256",
                "newestEventTime": ms(f.newest_ms),
                "oldestEventTime": ms(f.oldest_ms),
            })
        })
        .collect();
    let prev = chain.previous.as_ref();
    let doc = json!({
        "awsAccountId": t.account,
        "digestStartTime": iso(start),
        "digestEndTime": iso(t.end),
        "digestS3Bucket": t.bucket,
        "digestS3Object": key,
        "digestPublicKeyFingerprint": signer.stored.fingerprint,
        "digestSignatureAlgorithm": SIGNATURE_ALGORITHM,
        "newestEventTime": newest,
        "oldestEventTime": oldest,
        "previousDigestS3Bucket": prev.map(|p| &p.bucket),
        "previousDigestS3Object": prev.map(|p| &p.key),
        "previousDigestHashValue": prev.map(|p| &p.hash),
        "previousDigestHashAlgorithm": prev.map(|_| "SHA-256"),
        "previousDigestSignature": prev.map(|p| &p.signature),
        "logFiles": log_files,
    });
    let body = serde_json::to_vec(&doc).unwrap_or_default();
    let hash = sha256_hex(&body);
    let to_sign =
        string_to_sign(&iso(t.end), t.bucket, &key, &hash, prev.map(|p| p.signature.as_str()));
    let signature = signer.sign_hex(&to_sign);
    SignedDigest { key, body, signature, hash }
}

/// The string a digest's signature covers.
pub fn string_to_sign(
    end: &str,
    bucket: &str,
    key: &str,
    hash: &str,
    previous_signature: Option<&str>,
) -> String {
    format!("{end}\n{bucket}/{key}\n{hash}\n{}", previous_signature.unwrap_or("null"))
}

/// The keys of `region` whose validity overlaps `[start, end]`, newest first, as
/// ListPublicKeys returns them (neutral form: the blob `Value` in base64).
pub fn public_keys(
    store: &Store,
    region: &str,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
) -> Result<Vec<Value>, mamori_store::StoreError> {
    let mut keys: Vec<SigningKey> = store
        .read(|tx| SIGNING_KEYS.all(tx, region))?
        .into_iter()
        .map(|(_, k)| k)
        .filter(|k| k.valid_from <= end && start <= k.valid_to)
        .collect();
    keys.sort_by_key(|k| std::cmp::Reverse(k.valid_from));
    let epoch = |t: DateTime<Utc>| t.timestamp_millis() as f64 / 1000.0;
    Ok(keys
        .into_iter()
        .map(|k| {
            json!({
                // The blob is the DER key (the aws CLI keeps blobs base64 and decodes
                // this one itself).
                "Value": k.public_pkcs1,
                "ValidityStartTime": epoch(k.valid_from),
                "ValidityEndTime": epoch(k.valid_to),
                "Fingerprint": k.fingerprint,
            })
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::{LogFileEntry, PreviousDigest};
    use rsa::pkcs1::DecodeRsaPublicKey;
    use rsa::pkcs1v15::{Signature, VerifyingKey};
    use rsa::signature::Verifier;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn digest_keys_follow_the_documented_layout() {
        let mut t = DigestTarget {
            account: "111122223333",
            region: "us-east-1",
            home_region: "us-east-1",
            trail: "main",
            bucket: "b",
            prefix: None,
            end: at("2026-12-03T14:05:09Z"),
        };
        let key = digest_key(&t);
        assert_eq!(
            key,
            "AWSLogs/111122223333/CloudTrail-Digest/us-east-1/2026/12/03/111122223333_CloudTrail-Digest_us-east-1_main_us-east-1_20261203T140509Z.json.gz"
        );
        // What validate-logs reads back as the digest's time.
        assert_eq!(&key[key.len() - 24..key.len() - 8], "20261203T140509Z");
        t.prefix = Some("org");
        assert!(digest_key(&t).starts_with("org/AWSLogs/"));
        t.prefix = Some("");
        assert!(digest_key(&t).starts_with("AWSLogs/"));
        // A multi-region trail's digest of another region names both.
        t.region = "eu-west-1";
        assert!(digest_key(&t).contains(
            "/CloudTrail-Digest/eu-west-1/2026/12/03/111122223333_CloudTrail-Digest_eu-west-1_main_us-east-1_"
        ));
    }

    #[test]
    fn a_digest_verifies_with_its_public_key_and_links_its_predecessor() {
        let signer = Signer::generate(at("2026-12-03T13:00:00Z")).unwrap();
        let t = DigestTarget {
            account: "111122223333",
            region: "us-east-1",
            home_region: "us-east-1",
            trail: "main",
            bucket: "b",
            prefix: None,
            end: at("2026-12-03T14:00:00Z"),
        };
        let chain = DigestChain {
            start: Some(at("2026-12-03T13:00:00Z")),
            log_files: vec![LogFileEntry {
                bucket: "b".into(),
                key: "k1".into(),
                hash: "ab".into(),
                newest_ms: 1_000_000,
                oldest_ms: 500_000,
            }],
            previous: Some(PreviousDigest {
                bucket: "b".into(),
                key: "prev".into(),
                hash: "cd".into(),
                signature: "ef".into(),
            }),
        };
        let d = build(&t, &chain, &signer);
        let doc: Value = serde_json::from_slice(&d.body).unwrap();
        assert_eq!(doc["digestStartTime"], "2026-12-03T13:00:00Z");
        assert_eq!(doc["digestEndTime"], "2026-12-03T14:00:00Z");
        assert_eq!(doc["digestS3Object"], d.key);
        assert_eq!(doc["previousDigestSignature"], "ef");
        assert_eq!(doc["logFiles"][0]["oldestEventTime"], "1970-01-01T00:08:20Z");
        assert_eq!(doc["digestPublicKeyFingerprint"], signer.stored.fingerprint);
        // Verify as validate-logs does: PKCS#1 DER public key, the documented string.
        let der = B64.decode(&signer.stored.public_pkcs1).unwrap();
        let public = RsaPublicKey::from_pkcs1_der(&der).unwrap();
        let text =
            string_to_sign("2026-12-03T14:00:00Z", "b", &d.key, &sha256_hex(&d.body), Some("ef"));
        let sig = Signature::try_from(hex::decode(&d.signature).unwrap().as_slice()).unwrap();
        VerifyingKey::<Sha256>::new(public).verify(text.as_bytes(), &sig).unwrap();
        // A first digest has no predecessor: nulls, and "null" in the signed string.
        let first = build(&t, &DigestChain::default(), &signer);
        let doc: Value = serde_json::from_slice(&first.body).unwrap();
        assert!(doc["previousDigestSignature"].is_null());
        assert!(doc["newestEventTime"].is_null());
        assert_eq!(doc["logFiles"], json!([]));
    }

    #[test]
    fn string_to_sign_matches_the_documented_form() {
        assert_eq!(string_to_sign("T", "b", "k", "h", None), "T\nb/k\nh\nnull");
        assert_eq!(string_to_sign("T", "b", "k", "h", Some("s")), "T\nb/k\nh\ns");
    }
}
