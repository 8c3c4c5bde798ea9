//! Server-side Signature Version 4 verification, following
//! <https://docs.aws.amazon.com/IAM/latest/UserGuide/create-signed-request.html> and
//! <https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-streaming.html>.
//!
//! [`parse`] reads the signature parameters (header or presigned query form) without any
//! secret, so the router can use the credential scope; [`verify`] then checks the
//! signature with the caller's secret; [`decode_chunked`] unwraps `aws-chunked` bodies,
//! checking each chunk's signature when the payload is signed.

use bytes::Bytes;
use chrono::{DateTime, NaiveDateTime, TimeDelta, Utc};
use hmac::{Hmac, Mac};
use mamori_aws::AwsError;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, percent_decode_str, utf8_percent_encode};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::protocol::Protocol;

type HmacSha256 = Hmac<Sha256>;

/// RFC 3986 unreserved characters stay as they are; everything else is encoded.
const UNRESERVED: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'.').remove(b'~');
const UNRESERVED_SLASH: &AsciiSet = &UNRESERVED.remove(b'/');

/// The time type the verifier takes, re-exported for callers without chrono.
pub type Timestamp = DateTime<Utc>;

/// The hash of an empty payload.
pub const EMPTY_SHA256: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

/// Where the signature came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SigForm {
    /// `Authorization: AWS4-HMAC-SHA256 ...`.
    Header,
    /// `X-Amz-Signature` in the query string.
    Presigned,
}

/// The signature parameters of a request, read without any secret.
#[derive(Debug, Clone)]
pub struct SigParams {
    /// Header or presigned.
    pub form: SigForm,
    /// The access key id.
    pub access_key_id: String,
    /// `YYYYMMDD` of the scope.
    pub scope_date: String,
    /// The scope's region.
    pub region: String,
    /// The scope's service (signing name).
    pub service: String,
    /// Lower-case signed header names, in the order given.
    pub signed_headers: Vec<String>,
    /// The hex signature.
    pub signature: String,
    /// `X-Amz-Date` as sent.
    pub amz_date: String,
    /// `X-Amz-Expires` for presigned requests.
    pub expires: Option<i64>,
    /// `X-Amz-Security-Token`, for temporary credentials.
    pub security_token: Option<String>,
}

/// How the payload is protected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Payload {
    /// The body's hash was signed (and checked).
    Signed,
    /// `UNSIGNED-PAYLOAD`.
    Unsigned,
    /// `STREAMING-AWS4-HMAC-SHA256-PAYLOAD[-TRAILER]`: chunk signatures to check.
    StreamingSigned {
        /// The request's own signature, the seed of the chunk chain.
        seed: String,
        /// The derived signing key.
        key: Vec<u8>,
    },
    /// `STREAMING-UNSIGNED-PAYLOAD-TRAILER`: chunks without signatures.
    StreamingUnsigned,
}

/// What a successful verification established.
#[derive(Debug, Clone)]
pub struct Verified {
    /// The parameters that were verified.
    pub params: SigParams,
    /// How to treat the body.
    pub payload: Payload,
}

/// Why a request's signature was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SigError {
    /// No signature at all.
    Missing,
    /// A signature with parts missing or malformed.
    Incomplete(String),
    /// The access key id is unknown.
    UnknownKey,
    /// The signature does not match.
    Mismatch,
    /// The request time is too far from the server's clock.
    Skewed(String),
    /// A presigned URL past its expiry.
    Expired,
    /// `x-amz-content-sha256` does not match the body.
    ContentSha256Mismatch,
}

impl SigError {
    /// The error each protocol family answers for this failure.
    pub fn to_aws(&self, protocol: Protocol) -> AwsError {
        let json = matches!(
            protocol,
            Protocol::Json10 | Protocol::Json11 | Protocol::Cbor | Protocol::RestJson
        );
        let s3 = protocol == Protocol::RestXml;
        let invalid_token = "The security token included in the request is invalid.";
        let mismatch = "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.";
        match self {
            Self::Missing if s3 => AwsError::new("AccessDenied", "Access Denied").with_status(403),
            Self::Missing if json => {
                AwsError::new("MissingAuthenticationTokenException", "Missing Authentication Token").with_status(400)
            }
            Self::Missing => {
                AwsError::new("MissingAuthenticationToken", "Request is missing Authentication Token").with_status(403)
            }
            Self::Incomplete(msg) if s3 => AwsError::new("AuthorizationHeaderMalformed", msg.clone()).with_status(400),
            Self::Incomplete(msg) if json => AwsError::new("IncompleteSignatureException", msg.clone()).with_status(400),
            Self::Incomplete(msg) => AwsError::new("IncompleteSignature", msg.clone()).with_status(400),
            Self::UnknownKey if s3 => {
                AwsError::new("InvalidAccessKeyId", "The AWS Access Key Id you provided does not exist in our records.")
                    .with_status(403)
            }
            Self::UnknownKey if json => AwsError::new("UnrecognizedClientException", invalid_token).with_status(400),
            Self::UnknownKey => AwsError::new("InvalidClientTokenId", invalid_token).with_status(403),
            Self::Mismatch if s3 => AwsError::new(
                "SignatureDoesNotMatch",
                "The request signature we calculated does not match the signature you provided. Check your key and signing method.",
            )
            .with_status(403),
            Self::Mismatch if json => AwsError::new("InvalidSignatureException", mismatch).with_status(400),
            Self::Mismatch => AwsError::new("SignatureDoesNotMatch", mismatch).with_status(403),
            Self::Skewed(_) if s3 => AwsError::new(
                "RequestTimeTooSkewed",
                "The difference between the request time and the current time is too large.",
            )
            .with_status(403),
            Self::Skewed(msg) if json => AwsError::new("InvalidSignatureException", msg.clone()).with_status(400),
            Self::Skewed(msg) => AwsError::new("RequestExpired", msg.clone()).with_status(400),
            Self::Expired if s3 => AwsError::new("AccessDenied", "Request has expired").with_status(403),
            Self::Expired if json => {
                AwsError::new("InvalidSignatureException", "Signature expired: the presigned request has expired")
                    .with_status(400)
            }
            Self::Expired => AwsError::new("RequestExpired", "Request has expired.").with_status(400),
            Self::ContentSha256Mismatch => AwsError::new(
                "XAmzContentSHA256Mismatch",
                "The provided 'x-amz-content-sha256' header does not match what was computed.",
            )
            .with_status(400),
        }
    }
}

/// A request as the verifier sees it.
#[derive(Debug, Clone, Copy)]
pub struct SignedRequest<'a> {
    /// HTTP method.
    pub method: &'a str,
    /// Raw path as sent.
    pub path: &'a str,
    /// Raw query string.
    pub query: &'a str,
    /// Headers.
    pub headers: &'a http::HeaderMap,
    /// Body (still chunk-encoded for streaming payloads).
    pub body: &'a Bytes,
}

fn header<'a>(headers: &'a http::HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// Reads the signature parameters; `Ok(None)` for an anonymous request.
pub fn parse(req: &SignedRequest<'_>) -> Result<Option<SigParams>, SigError> {
    if let Some(auth) = header(req.headers, "authorization") {
        return parse_header(auth, req.headers).map(Some);
    }
    let query: Vec<(String, String)> =
        form_urlencoded::parse(req.query.as_bytes()).into_owned().collect();
    let get = |k: &str| query.iter().find(|(qk, _)| qk == k).map(|(_, v)| v.clone());
    let Some(alg) = get("X-Amz-Algorithm") else { return Ok(None) };
    if alg != "AWS4-HMAC-SHA256" {
        return Err(SigError::Incomplete(format!("Unsupported X-Amz-Algorithm {alg}")));
    }
    let missing = |k: &str| {
        SigError::Incomplete(format!("Query-string authentication requires the {k} parameter"))
    };
    let credential = get("X-Amz-Credential").ok_or_else(|| missing("X-Amz-Credential"))?;
    let (access_key_id, scope_date, region, service) = parse_credential(&credential)?;
    let expires = get("X-Amz-Expires")
        .ok_or_else(|| missing("X-Amz-Expires"))?
        .parse::<i64>()
        .map_err(|_| SigError::Incomplete("X-Amz-Expires must be a number of seconds".into()))?;
    Ok(Some(SigParams {
        form: SigForm::Presigned,
        access_key_id,
        scope_date,
        region,
        service,
        signed_headers: get("X-Amz-SignedHeaders")
            .ok_or_else(|| missing("X-Amz-SignedHeaders"))?
            .split(';')
            .map(str::to_owned)
            .collect(),
        signature: get("X-Amz-Signature").ok_or_else(|| missing("X-Amz-Signature"))?,
        amz_date: get("X-Amz-Date").ok_or_else(|| missing("X-Amz-Date"))?,
        expires: Some(expires),
        security_token: get("X-Amz-Security-Token"),
    }))
}

fn parse_credential(credential: &str) -> Result<(String, String, String, String), SigError> {
    let parts: Vec<&str> = credential.split('/').collect();
    if parts.len() != 5 || parts[4] != "aws4_request" || parts.iter().any(|p| p.is_empty()) {
        return Err(SigError::Incomplete(format!(
            "Credential should be scoped to a valid region and service: {credential:?} is not <key>/<date>/<region>/<service>/aws4_request"
        )));
    }
    Ok((parts[0].to_owned(), parts[1].to_owned(), parts[2].to_owned(), parts[3].to_owned()))
}

fn parse_header(auth: &str, headers: &http::HeaderMap) -> Result<SigParams, SigError> {
    let Some(rest) = auth.strip_prefix("AWS4-HMAC-SHA256") else {
        let alg = auth.split_whitespace().next().unwrap_or_default();
        return Err(SigError::Incomplete(format!(
            "Unsupported authorization type {alg}: only AWS4-HMAC-SHA256 is accepted"
        )));
    };
    let (mut credential, mut signed, mut signature) = (None, None, None);
    for part in rest.split(',') {
        let Some((k, v)) = part.trim().split_once('=') else { continue };
        match k.trim() {
            "Credential" => credential = Some(v.trim()),
            "SignedHeaders" => signed = Some(v.trim()),
            "Signature" => signature = Some(v.trim()),
            _ => {}
        }
    }
    let missing = |k: &str| {
        SigError::Incomplete(format!(
            "Authorization header requires '{k}' parameter. Authorization={auth}"
        ))
    };
    let credential = credential.ok_or_else(|| missing("Credential"))?;
    let signed = signed.ok_or_else(|| missing("SignedHeaders"))?;
    let signature = signature.ok_or_else(|| missing("Signature"))?;
    let (access_key_id, scope_date, region, service) = parse_credential(credential)?;
    let amz_date = header(headers, "x-amz-date")
        .map(str::to_owned)
        .or_else(|| {
            header(headers, "date")
                .and_then(|d| DateTime::parse_from_rfc2822(d).ok())
                .map(|d| d.with_timezone(&Utc).format("%Y%m%dT%H%M%SZ").to_string())
        })
        .ok_or_else(|| {
            SigError::Incomplete("Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.".into())
        })?;
    Ok(SigParams {
        form: SigForm::Header,
        access_key_id,
        scope_date,
        region,
        service,
        signed_headers: signed.split(';').map(str::to_ascii_lowercase).collect(),
        signature: signature.to_owned(),
        amz_date,
        expires: None,
        security_token: header(headers, "x-amz-security-token").map(str::to_owned),
    })
}

/// Verifies the signature of `req` with `secret`, at time `now`.
pub fn verify(
    req: &SignedRequest<'_>,
    params: SigParams,
    secret: &str,
    now: DateTime<Utc>,
    s3: bool,
) -> Result<Verified, SigError> {
    let date = NaiveDateTime::parse_from_str(&params.amz_date, "%Y%m%dT%H%M%SZ")
        .map_err(|_| {
            SigError::Incomplete(format!(
                "X-Amz-Date {:?} is not in the form YYYYMMDDTHHMMSSZ",
                params.amz_date
            ))
        })?
        .and_utc();
    if !params.amz_date.starts_with(&params.scope_date) {
        return Err(SigError::Incomplete(format!(
            "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '{}' != '{}'",
            params.scope_date,
            &params.amz_date[..8.min(params.amz_date.len())]
        )));
    }
    let skew = TimeDelta::minutes(15);
    match params.expires {
        Some(expires) => {
            if !(1..=604_800).contains(&expires) {
                return Err(SigError::Incomplete(
                    "X-Amz-Expires must be between 1 and 604800 seconds".into(),
                ));
            }
            if now > date + TimeDelta::seconds(expires) {
                return Err(SigError::Expired);
            }
            if date - now > skew {
                return Err(SigError::Skewed(format!(
                    "Signature not yet current: {} is still later than {}",
                    params.amz_date,
                    fmt_date(now + skew)
                )));
            }
        }
        None => {
            if now - date > skew {
                return Err(SigError::Skewed(format!(
                    "Signature expired: {} is now earlier than {} ({} - 15 min.)",
                    params.amz_date,
                    fmt_date(now - skew),
                    fmt_date(now)
                )));
            }
            if date - now > skew {
                return Err(SigError::Skewed(format!(
                    "Signature not yet current: {} is still later than {} ({} + 15 min.)",
                    params.amz_date,
                    fmt_date(now + skew),
                    fmt_date(now)
                )));
            }
        }
    }
    if !params.signed_headers.iter().any(|h| h == "host") {
        return Err(SigError::Incomplete(
            "'Host' must be a 'SignedHeader' in the AWS Authorization.".into(),
        ));
    }
    let content_sha = header(req.headers, "x-amz-content-sha256");
    let payload_hash = match (content_sha, params.form) {
        (Some(h), _) => h.to_owned(),
        (None, SigForm::Presigned) if s3 => "UNSIGNED-PAYLOAD".to_owned(),
        (None, _) => hex::encode(Sha256::digest(req.body)),
    };
    let canonical = canonical_request(req, &params, &payload_hash, s3);
    let scope = format!("{}/{}/{}/aws4_request", params.scope_date, params.region, params.service);
    let string_to_sign = format!(
        "AWS4-HMAC-SHA256\n{}\n{scope}\n{}",
        params.amz_date,
        hex::encode(Sha256::digest(canonical.as_bytes()))
    );
    let key = signing_key(secret, &params.scope_date, &params.region, &params.service);
    let expected = hex::encode(hmac(&key, string_to_sign.as_bytes()));
    if !bool::from(expected.as_bytes().ct_eq(params.signature.as_bytes())) {
        return Err(SigError::Mismatch);
    }
    let payload = match payload_hash.as_str() {
        "UNSIGNED-PAYLOAD" => Payload::Unsigned,
        "STREAMING-AWS4-HMAC-SHA256-PAYLOAD" | "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER" => {
            Payload::StreamingSigned { seed: params.signature.clone(), key }
        }
        "STREAMING-UNSIGNED-PAYLOAD-TRAILER" => Payload::StreamingUnsigned,
        hash => {
            if content_sha.is_some() && hash != hex::encode(Sha256::digest(req.body)) {
                return Err(SigError::ContentSha256Mismatch);
            }
            Payload::Signed
        }
    };
    Ok(Verified { params, payload })
}

fn fmt_date(t: DateTime<Utc>) -> String {
    t.format("%Y%m%dT%H%M%SZ").to_string()
}

fn hmac(key: &[u8], data: &[u8]) -> Vec<u8> {
    // HMAC accepts keys of any length.
    let mut mac = <HmacSha256 as Mac>::new_from_slice(key).unwrap_or_else(|_| unreachable!());
    mac.update(data);
    mac.finalize().into_bytes().to_vec()
}

/// The SigV4 signing key for a scope.
pub fn signing_key(secret: &str, date: &str, region: &str, service: &str) -> Vec<u8> {
    let k_date = hmac(format!("AWS4{secret}").as_bytes(), date.as_bytes());
    let k_region = hmac(&k_date, region.as_bytes());
    let k_service = hmac(&k_region, service.as_bytes());
    hmac(&k_service, b"aws4_request")
}

/// Signs a request (header form) for clients mamori itself runs, such as the
/// `mamori cloudtrail import` command: returns the `x-amz-date`,
/// `x-amz-content-sha256` and `authorization` headers to add. `headers` must hold
/// `host` and every other header to sign.
#[allow(clippy::too_many_arguments)]
pub fn sign(
    method: &str,
    path: &str,
    query: &str,
    headers: &http::HeaderMap,
    body: &[u8],
    (access_key_id, secret): (&str, &str),
    (region, service): (&str, &str),
    now: DateTime<Utc>,
) -> Vec<(String, String)> {
    let amz_date = fmt_date(now);
    let payload_hash = hex::encode(Sha256::digest(body));
    let mut all = headers.clone();
    for (k, v) in [("x-amz-date", &amz_date), ("x-amz-content-sha256", &payload_hash)] {
        if let Ok(v) = http::HeaderValue::from_str(v) {
            all.insert(k, v);
        }
    }
    let mut signed_headers: Vec<String> = all.keys().map(|k| k.as_str().to_owned()).collect();
    signed_headers.sort();
    signed_headers.dedup();
    let params = SigParams {
        form: SigForm::Header,
        access_key_id: access_key_id.to_owned(),
        scope_date: amz_date[..8].to_owned(),
        region: region.to_owned(),
        service: service.to_owned(),
        signed_headers,
        signature: String::new(),
        amz_date: amz_date.clone(),
        expires: None,
        security_token: None,
    };
    let bytes = Bytes::copy_from_slice(body);
    let req = SignedRequest { method, path, query, headers: &all, body: &bytes };
    let canonical = canonical_request(&req, &params, &payload_hash, false);
    let scope = format!("{}/{region}/{service}/aws4_request", params.scope_date);
    let string_to_sign = format!(
        "AWS4-HMAC-SHA256\n{amz_date}\n{scope}\n{}",
        hex::encode(Sha256::digest(canonical.as_bytes()))
    );
    let key = signing_key(secret, &params.scope_date, region, service);
    let signature = hex::encode(hmac(&key, string_to_sign.as_bytes()));
    let authorization = format!(
        "AWS4-HMAC-SHA256 Credential={access_key_id}/{scope}, SignedHeaders={}, Signature={signature}",
        params.signed_headers.join(";")
    );
    vec![
        ("x-amz-date".into(), amz_date),
        ("x-amz-content-sha256".into(), payload_hash),
        ("authorization".into(), authorization),
    ]
}

/// The canonical request of step 1 of the signing process.
pub fn canonical_request(
    req: &SignedRequest<'_>,
    params: &SigParams,
    payload_hash: &str,
    s3: bool,
) -> String {
    let path = if req.path.is_empty() { "/" } else { req.path };
    let uri = if s3 {
        path.to_owned()
    } else {
        utf8_percent_encode(&normalize_path(path), UNRESERVED_SLASH).to_string()
    };
    let mut pairs: Vec<(String, String)> = req
        .query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (encode(&decode(k)), encode(&decode(v)))
        })
        .filter(|(k, _)| params.form != SigForm::Presigned || k != "X-Amz-Signature")
        .collect();
    pairs.sort();
    let query = pairs.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("&");
    let mut headers = String::new();
    for name in &params.signed_headers {
        let values: Vec<String> = req
            .headers
            .get_all(name.as_str())
            .iter()
            .map(|v| {
                String::from_utf8_lossy(v.as_bytes())
                    .split_whitespace()
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .collect();
        headers.push_str(name);
        headers.push(':');
        headers.push_str(&values.join(","));
        headers.push('\n');
    }
    format!(
        "{}\n{uri}\n{query}\n{headers}\n{}\n{payload_hash}",
        req.method,
        params.signed_headers.join(";")
    )
}

fn decode(s: &str) -> String {
    percent_decode_str(s).decode_utf8_lossy().into_owned()
}

fn encode(s: &str) -> String {
    utf8_percent_encode(s, UNRESERVED).to_string()
}

/// Removes `.` and `..` segments as RFC 3986 describes, keeping a trailing slash.
fn normalize_path(path: &str) -> String {
    let mut out: Vec<&str> = Vec::new();
    for seg in path.split('/') {
        match seg {
            "." => {}
            ".." => {
                out.pop();
            }
            s => out.push(s),
        }
    }
    let mut res = out.join("/");
    if !res.starts_with('/') {
        res.insert(0, '/');
    }
    res
}

/// Unwraps an `aws-chunked` body, checking chunk signatures for signed streaming payloads.
pub fn decode_chunked(
    body: &[u8],
    payload: &Payload,
    params: &SigParams,
) -> Result<Bytes, SigError> {
    decode_chunked_with_trailers(body, payload, params).map(|(b, _)| b)
}

/// [`decode_chunked`], also returning the trailing headers after the last chunk
/// (`x-amz-checksum-crc32:...`, lower-cased names), which S3 verifies like headers.
// GAP: the trailer signature of STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER is not
// checked (the chunks are); botocore sends unsigned trailers over plain HTTP.
pub fn decode_chunked_with_trailers(
    body: &[u8],
    payload: &Payload,
    params: &SigParams,
) -> Result<(Bytes, Vec<(String, String)>), SigError> {
    let mut out = Vec::with_capacity(body.len());
    let mut rest = body;
    let mut prev = match payload {
        Payload::StreamingSigned { seed, .. } => seed.clone(),
        _ => String::new(),
    };
    let scope = format!("{}/{}/{}/aws4_request", params.scope_date, params.region, params.service);
    let malformed = || SigError::Incomplete("malformed aws-chunked payload".into());
    loop {
        let line_end = rest.windows(2).position(|w| w == b"\r\n").ok_or_else(malformed)?;
        let line = std::str::from_utf8(&rest[..line_end]).map_err(|_| malformed())?;
        rest = &rest[line_end + 2..];
        let (size_hex, ext) = line.split_once(';').unwrap_or((line, ""));
        let size = usize::from_str_radix(size_hex.trim(), 16).map_err(|_| malformed())?;
        if rest.len() < size {
            return Err(malformed());
        }
        let data = &rest[..size];
        rest = &rest[size..];
        if let Payload::StreamingSigned { key, .. } = payload {
            let sig = ext.strip_prefix("chunk-signature=").ok_or_else(malformed)?;
            let sts = format!(
                "AWS4-HMAC-SHA256-PAYLOAD\n{}\n{scope}\n{prev}\n{EMPTY_SHA256}\n{}",
                params.amz_date,
                hex::encode(Sha256::digest(data))
            );
            let expected = hex::encode(hmac(key, sts.as_bytes()));
            if !bool::from(expected.as_bytes().ct_eq(sig.as_bytes())) {
                return Err(SigError::Mismatch);
            }
            prev = expected;
        }
        out.extend_from_slice(data);
        if size == 0 {
            // Trailers (checksums) may follow the last chunk; they are not part of the body.
            let trailers = std::str::from_utf8(rest)
                .unwrap_or_default()
                .split("\r\n")
                .filter_map(|line| line.split_once(':'))
                .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
                .filter(|(k, _)| k != "x-amz-trailer-signature")
                .collect();
            return Ok((Bytes::from(out), trailers));
        }
        rest = rest.strip_prefix(b"\r\n").ok_or_else(malformed)?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The GET Object example of
    /// <https://docs.aws.amazon.com/AmazonS3/latest/API/sig-v4-header-based-auth.html>.
    #[test]
    fn aws_documented_s3_get_object_example() {
        let mut headers = http::HeaderMap::new();
        headers.insert("host", "examplebucket.s3.amazonaws.com".parse().unwrap());
        headers.insert("range", "bytes=0-9".parse().unwrap());
        headers.insert("x-amz-content-sha256", EMPTY_SHA256.parse().unwrap());
        headers.insert("x-amz-date", "20130524T000000Z".parse().unwrap());
        headers.insert(
            "authorization",
            "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,SignedHeaders=host;range;x-amz-content-sha256;x-amz-date,Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41"
                .parse()
                .unwrap(),
        );
        let body = Bytes::new();
        let req = SignedRequest {
            method: "GET",
            path: "/test.txt",
            query: "",
            headers: &headers,
            body: &body,
        };
        let params = parse(&req).unwrap().unwrap();
        assert_eq!(params.service, "s3");
        let now = DateTime::parse_from_rfc3339("2013-05-24T00:05:00Z").unwrap().with_timezone(&Utc);
        let secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
        assert!(verify(&req, params.clone(), secret, now, true).is_ok());
        assert_eq!(
            verify(&req, params.clone(), "wrong", now, true).unwrap_err(),
            SigError::Mismatch
        );
        let late = now + TimeDelta::minutes(30);
        assert!(matches!(verify(&req, params, secret, late, true), Err(SigError::Skewed(_))));
    }

    /// The presigned URL example of
    /// <https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-query-string-auth.html>.
    #[test]
    fn aws_documented_presigned_example() {
        let mut headers = http::HeaderMap::new();
        headers.insert("host", "examplebucket.s3.amazonaws.com".parse().unwrap());
        let query = "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host&X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404";
        let body = Bytes::new();
        let req = SignedRequest {
            method: "GET",
            path: "/test.txt",
            query,
            headers: &headers,
            body: &body,
        };
        let params = parse(&req).unwrap().unwrap();
        assert_eq!(params.form, SigForm::Presigned);
        let now = DateTime::parse_from_rfc3339("2013-05-24T10:00:00Z").unwrap().with_timezone(&Utc);
        let secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
        assert!(verify(&req, params.clone(), secret, now, true).is_ok());
        let later = now + TimeDelta::days(2);
        assert_eq!(verify(&req, params, secret, later, true).unwrap_err(), SigError::Expired);
    }

    #[test]
    fn own_signatures_verify() {
        let mut headers = http::HeaderMap::new();
        headers.insert("host", "127.0.0.1:4566".parse().unwrap());
        headers.insert("content-type", "application/json".parse().unwrap());
        let body = Bytes::from_static(b"{\"records\":[]}");
        let now = DateTime::parse_from_rfc3339("2024-01-01T00:00:00Z").unwrap().with_timezone(&Utc);
        for (k, v) in sign(
            "POST",
            "/_mamori/x",
            "",
            &headers,
            &body,
            ("test", "test"),
            ("us-east-1", "mamori"),
            now,
        ) {
            headers.insert(http::HeaderName::from_bytes(k.as_bytes()).unwrap(), v.parse().unwrap());
        }
        let req = SignedRequest {
            method: "POST",
            path: "/_mamori/x",
            query: "",
            headers: &headers,
            body: &body,
        };
        let params = parse(&req).unwrap().unwrap();
        assert!(verify(&req, params.clone(), "test", now, false).is_ok());
        assert_eq!(verify(&req, params, "other", now, false).unwrap_err(), SigError::Mismatch);
    }

    #[test]
    fn malformed_headers_are_incomplete() {
        let cases = [
            "AWS4-HMAC-SHA256 Credential=a/b/c/d/aws4_request, SignedHeaders=host",
            "AWS4-HMAC-SHA256 Credential=a/b/c, SignedHeaders=host, Signature=00",
            "AWS4-HMAC-SHA256",
            "AWS abc:def",
        ];
        for auth in cases {
            let mut headers = http::HeaderMap::new();
            headers.insert("authorization", auth.parse().unwrap());
            headers.insert("x-amz-date", "20130524T000000Z".parse().unwrap());
            let body = Bytes::new();
            let req = SignedRequest {
                method: "GET",
                path: "/",
                query: "",
                headers: &headers,
                body: &body,
            };
            assert!(matches!(parse(&req), Err(SigError::Incomplete(_))), "{auth}");
        }
    }

    #[test]
    fn unsigned_chunked_bodies_decode() {
        let params = SigParams {
            form: SigForm::Header,
            access_key_id: "k".into(),
            scope_date: "20130524".into(),
            region: "us-east-1".into(),
            service: "s3".into(),
            signed_headers: vec![],
            signature: String::new(),
            amz_date: "20130524T000000Z".into(),
            expires: None,
            security_token: None,
        };
        let body = b"5\r\nhello\r\n6\r\n world\r\n0\r\nx-amz-checksum-crc32:abc=\r\n\r\n";
        let got = decode_chunked(body, &Payload::StreamingUnsigned, &params).unwrap();
        assert_eq!(&got[..], b"hello world");
        assert!(decode_chunked(b"zz\r\n", &Payload::StreamingUnsigned, &params).is_err());
        let (_, trailers) =
            decode_chunked_with_trailers(body, &Payload::StreamingUnsigned, &params).unwrap();
        assert_eq!(trailers, vec![("x-amz-checksum-crc32".to_owned(), "abc=".to_owned())]);
    }
}
