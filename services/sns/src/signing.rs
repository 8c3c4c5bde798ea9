//! Message signatures, following
//! <https://docs.aws.amazon.com/sns/latest/dg/sns-verify-signature-of-message.html>:
//! RSA PKCS#1 v1.5 with SHA1 (SignatureVersion 1) or SHA256 (SignatureVersion 2) over
//! `key\nvalue\n` for the signed keys in byte order.
//!
//! One 2048-bit key pair is generated on first start and kept in the store, so messages
//! signed before a restart still verify after it. Its certificate is a self-signed
//! X.509 v3 certificate written here in DER by hand (a few dozen lines, instead of a
//! certificate crate and its crypto backend), served at the SigningCertURL.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use rsa::pkcs1v15::SigningKey;
use rsa::pkcs8::{DecodePrivateKey, EncodePrivateKey, EncodePublicKey};
use rsa::signature::{SignatureEncoding, Signer as _};
use rsa::{RsaPrivateKey, RsaPublicKey};
use sha2::{Digest, Sha256};

/// The signing key and its certificate.
pub struct Signer {
    v1: SigningKey<sha1::Sha1>,
    v2: SigningKey<Sha256>,
    /// Hex id of the key, part of the certificate's file name.
    pub key_id: String,
    /// The certificate, PEM.
    pub cert_pem: String,
    /// The private key, PKCS#8 DER base64 (for the store).
    pub stored: String,
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Signer").field("key_id", &self.key_id).finish_non_exhaustive()
    }
}

/// Why a stored key could not be used.
#[derive(Debug, thiserror::Error)]
#[error("signing key: {0}")]
pub struct KeyError(String);

impl Signer {
    /// A new random key.
    pub fn generate() -> Result<Self, KeyError> {
        let key = RsaPrivateKey::new(&mut rand::thread_rng(), 2048)
            .map_err(|e| KeyError(e.to_string()))?;
        Self::from_key(key)
    }

    /// The key stored by [`Signer::stored`].
    pub fn from_stored(stored: &str) -> Result<Self, KeyError> {
        let der = B64.decode(stored).map_err(|e| KeyError(e.to_string()))?;
        let key = RsaPrivateKey::from_pkcs8_der(&der).map_err(|e| KeyError(e.to_string()))?;
        Self::from_key(key)
    }

    fn from_key(key: RsaPrivateKey) -> Result<Self, KeyError> {
        let err = |e: &dyn std::fmt::Display| KeyError(e.to_string());
        let stored = B64.encode(key.to_pkcs8_der().map_err(|e| err(&e))?.as_bytes());
        let spki = RsaPublicKey::from(&key).to_public_key_der().map_err(|e| err(&e))?;
        let digest = Sha256::digest(spki.as_bytes());
        let key_id = hex(&digest[..16]);
        let v2 = SigningKey::<Sha256>::new(key.clone());
        let cert = self_signed_cert(spki.as_bytes(), &digest[..8], &v2);
        let cert_pem = pem("CERTIFICATE", &cert);
        Ok(Self { v1: SigningKey::<sha1::Sha1>::new(key), v2, key_id, cert_pem, stored })
    }

    /// Base64 signature of `text` for SignatureVersion `version` ("1" or "2").
    pub fn sign(&self, version: &str, text: &str) -> String {
        let sig = if version == "2" {
            self.v2.sign(text.as_bytes()).to_vec()
        } else {
            self.v1.sign(text.as_bytes()).to_vec()
        };
        B64.encode(sig)
    }
}

/// The string to sign: `key\nvalue\n` for each present key, keys in byte order.
pub fn string_to_sign(fields: &[(&str, Option<&str>)]) -> String {
    let mut sorted: Vec<_> = fields.iter().filter_map(|(k, v)| v.map(|v| (*k, v))).collect();
    sorted.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
    let mut res = String::new();
    for (k, v) in sorted {
        res.push_str(k);
        res.push('\n');
        res.push_str(v);
        res.push('\n');
    }
    res
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn pem(label: &str, der: &[u8]) -> String {
    let b64 = B64.encode(der);
    let mut res = format!("-----BEGIN {label}-----\n");
    for chunk in b64.as_bytes().chunks(64) {
        res.push_str(std::str::from_utf8(chunk).unwrap_or_default());
        res.push('\n');
    }
    res.push_str(&format!("-----END {label}-----\n"));
    res
}

/// A DER tag-length-value.
fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut res = vec![tag];
    let len = content.len();
    if len < 0x80 {
        res.push(len as u8);
    } else {
        let bytes: Vec<u8> = len.to_be_bytes().into_iter().skip_while(|b| *b == 0).collect();
        res.push(0x80 | bytes.len() as u8);
        res.extend(bytes);
    }
    res.extend_from_slice(content);
    res
}

fn seq(parts: &[Vec<u8>]) -> Vec<u8> {
    tlv(0x30, &parts.concat())
}

/// A positive DER INTEGER from big-endian bytes.
fn integer(bytes: &[u8]) -> Vec<u8> {
    let mut content: Vec<u8> = bytes.iter().copied().skip_while(|b| *b == 0).collect();
    if content.first().is_none_or(|b| b & 0x80 != 0) {
        content.insert(0, 0);
    }
    tlv(0x02, &content)
}

/// sha256WithRSAEncryption (1.2.840.113549.1.1.11) with NULL parameters.
fn sha256_with_rsa() -> Vec<u8> {
    seq(&[tlv(0x06, &[0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x01, 0x0B]), tlv(0x05, &[])])
}

fn name() -> Vec<u8> {
    let rdn =
        |oid: &[u8], value: &str| tlv(0x31, &seq(&[tlv(0x06, oid), tlv(0x0C, value.as_bytes())]));
    seq(&[rdn(&[0x55, 0x04, 0x0A], "mamori"), rdn(&[0x55, 0x04, 0x03], "sns.amazonaws.com")])
}

fn self_signed_cert(spki: &[u8], serial: &[u8], key: &SigningKey<Sha256>) -> Vec<u8> {
    let validity = seq(&[tlv(0x17, b"200101000000Z"), tlv(0x17, b"491231235959Z")]);
    let tbs = seq(&[
        tlv(0xA0, &integer(&[2])),
        integer(serial),
        sha256_with_rsa(),
        name(),
        validity,
        name(),
        spki.to_vec(),
    ]);
    let sig = key.sign(&tbs).to_vec();
    let mut bits = vec![0u8];
    bits.extend(sig);
    seq(&[tbs, sha256_with_rsa(), tlv(0x03, &bits)])
}

#[cfg(test)]
mod tests {
    use rsa::pkcs1v15::{Signature, VerifyingKey};
    use rsa::signature::Verifier;

    use super::*;

    #[test]
    fn string_to_sign_orders_keys_and_skips_absent_ones() {
        let got = string_to_sign(&[
            ("Type", Some("Notification")),
            ("Subject", None),
            ("Message", Some("hi")),
            ("MessageId", Some("m-1")),
        ]);
        assert_eq!(got, "Message\nhi\nMessageId\nm-1\nType\nNotification\n");
    }

    #[test]
    fn signatures_verify_and_keys_round_trip_through_the_store() {
        let signer = Signer::generate().unwrap();
        let again = Signer::from_stored(&signer.stored).unwrap();
        assert_eq!(again.key_id, signer.key_id);
        assert!(signer.cert_pem.starts_with("-----BEGIN CERTIFICATE-----\n"));
        let key = RsaPrivateKey::from_pkcs8_der(&B64.decode(&signer.stored).unwrap()).unwrap();
        let public = RsaPublicKey::from(&key);
        for version in ["1", "2"] {
            let sig = B64.decode(again.sign(version, "Message\nhi\n")).unwrap();
            let sig = Signature::try_from(sig.as_slice()).unwrap();
            let ok = if version == "1" {
                VerifyingKey::<sha1::Sha1>::new(public.clone()).verify(b"Message\nhi\n", &sig)
            } else {
                VerifyingKey::<Sha256>::new(public.clone()).verify(b"Message\nhi\n", &sig)
            };
            assert!(ok.is_ok(), "version {version}");
        }
    }

    #[test]
    fn der_lengths() {
        assert_eq!(tlv(0x04, &[1, 2]), vec![0x04, 2, 1, 2]);
        assert_eq!(&tlv(0x04, &[0; 200])[..3], &[0x04, 0x81, 200]);
        assert_eq!(&tlv(0x04, &[0; 300])[..4], &[0x04, 0x82, 1, 44]);
        assert_eq!(integer(&[0x80]), vec![0x02, 2, 0, 0x80]);
        assert_eq!(integer(&[0, 0, 5]), vec![0x02, 1, 5]);
    }
}
