//! S3's legacy query-string signature (Signature Version 2), which botocore still uses
//! by default for `generate_presigned_url` on S3, following
//! <https://docs.aws.amazon.com/AmazonS3/latest/userguide/RESTAuthentication.html#RESTAuthenticationQueryStringAuth>.
//! Only the presigned form is accepted; the `Authorization: AWS key:signature` header
//! form is not (AWS has refused it for new buckets since 2020).

use base64::Engine as _;
use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use sha1::Sha1;
use subtle::ConstantTimeEq;

use crate::sigv4::SigError;

/// The sub-resources that are part of the signed resource, in sorted order.
const SUB_RESOURCES: &[&str] = &[
    "acl",
    "cors",
    "delete",
    "lifecycle",
    "location",
    "logging",
    "notification",
    "partNumber",
    "policy",
    "requestPayment",
    "response-cache-control",
    "response-content-disposition",
    "response-content-encoding",
    "response-content-language",
    "response-content-type",
    "response-expires",
    "tagging",
    "torrent",
    "uploadId",
    "uploads",
    "versionId",
    "versioning",
    "versions",
    "website",
];

/// The parameters of a SigV2 presigned URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PresignedV2 {
    /// `AWSAccessKeyId`.
    pub access_key_id: String,
    /// `Signature` (base64).
    pub signature: String,
    /// `Expires` (epoch seconds).
    pub expires: i64,
    /// `x-amz-security-token`, for temporary credentials.
    pub security_token: Option<String>,
}

/// Reads SigV2 presigned parameters from a query string, if it has them.
pub fn parse_presigned(query: &str) -> Option<PresignedV2> {
    let mut key = None;
    let mut sig = None;
    let mut expires = None;
    let mut security_token = None;
    for (k, v) in form_urlencoded::parse(query.as_bytes()) {
        match k.as_ref() {
            "AWSAccessKeyId" => key = Some(v.into_owned()),
            "Signature" => sig = Some(v.into_owned()),
            "Expires" => expires = v.parse().ok(),
            "x-amz-security-token" => security_token = Some(v.into_owned()),
            _ => {}
        }
    }
    Some(PresignedV2 { access_key_id: key?, signature: sig?, expires: expires?, security_token })
}

/// The string to sign for `method` on `resource_path` (the raw, path-style path).
pub fn string_to_sign(
    method: &str,
    resource_path: &str,
    query: &str,
    headers: &http::HeaderMap,
    expires: i64,
) -> String {
    let header = |n: &str| headers.get(n).and_then(|v| v.to_str().ok()).unwrap_or("").trim();
    let mut amz: Vec<(String, String)> = headers
        .iter()
        .filter(|(k, _)| k.as_str().starts_with("x-amz-"))
        .map(|(k, v)| (k.as_str().to_owned(), v.to_str().unwrap_or("").trim().to_owned()))
        .collect();
    amz.sort();
    let mut sub: Vec<(String, String)> = form_urlencoded::parse(query.as_bytes())
        .filter(|(k, _)| SUB_RESOURCES.contains(&k.as_ref()))
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    sub.sort();
    let mut res =
        format!("{method}\n{}\n{}\n{expires}\n", header("content-md5"), header("content-type"));
    for (k, v) in amz {
        res.push_str(&format!("{k}:{v}\n"));
    }
    res.push_str(resource_path);
    for (i, (k, v)) in sub.iter().enumerate() {
        res.push(if i == 0 { '?' } else { '&' });
        res.push_str(k);
        if !v.is_empty() {
            res.push('=');
            res.push_str(v);
        }
    }
    res
}

/// Checks a SigV2 presigned request.
pub fn verify_presigned(
    params: &PresignedV2,
    string_to_sign: &str,
    secret: &str,
    now: DateTime<Utc>,
) -> Result<(), SigError> {
    if now.timestamp() > params.expires {
        return Err(SigError::Expired);
    }
    let mut mac =
        Hmac::<Sha1>::new_from_slice(secret.as_bytes()).map_err(|_| SigError::Mismatch)?;
    mac.update(string_to_sign.as_bytes());
    let expected = base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes());
    if bool::from(expected.as_bytes().ct_eq(params.signature.as_bytes())) {
        Ok(())
    } else {
        Err(SigError::Mismatch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The shape of the S3 developer guide's query string example; the signature was
    /// computed with Python's hmac (an independent implementation).
    #[test]
    fn presigned_example() {
        let query = "AWSAccessKeyId=AKIAIOSFODNN7EXAMPLE&Expires=1141889120&Signature=mi%2Bpm7K7iCx46UlaDc8X8pxyzFc%3D";
        let params = parse_presigned(query).unwrap();
        assert_eq!(params.expires, 1_141_889_120);
        let sts = string_to_sign(
            "GET",
            "/awsexamplebucket1/photos/puppy.jpg",
            query,
            &http::HeaderMap::new(),
            params.expires,
        );
        assert_eq!(sts, "GET\n\n\n1141889120\n/awsexamplebucket1/photos/puppy.jpg");
        let secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
        let before = DateTime::from_timestamp(1_141_889_000, 0).unwrap();
        assert_eq!(verify_presigned(&params, &sts, secret, before), Ok(()));
        assert_eq!(verify_presigned(&params, &sts, "wrong", before), Err(SigError::Mismatch));
        let after = DateTime::from_timestamp(1_141_889_121, 0).unwrap();
        assert_eq!(verify_presigned(&params, &sts, secret, after), Err(SigError::Expired));
        assert!(parse_presigned("X-Amz-Signature=x").is_none());
    }
}
