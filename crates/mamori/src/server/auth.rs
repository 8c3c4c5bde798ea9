//! Authentication of API requests: SigV4 (header, presigned, streaming chunks) against
//! the dispatcher's credential lookup, and the few operations AWS serves unsigned.

use bytes::Bytes;
use chrono::Utc;
use mamori_aws::{AwsError, Region};
use mamori_service::{Principal, PrincipalKind};
use mamori_wire::WireRequest;
use mamori_wire::route::Route;
use mamori_wire::sigv2;
use mamori_wire::sigv4::{self, Payload, SigError, SigParams, SignedRequest};

use super::App;

/// Who made a request, and its body with any chunk framing removed.
pub struct Authenticated {
    /// The caller.
    pub principal: Principal,
    /// The region of the request.
    pub region: Region,
    /// The de-chunked body, when the request used `aws-chunked`.
    pub body: Option<Bytes>,
    /// Trailing headers of an `aws-chunked` body (S3 checksums).
    pub trailers: Vec<(String, String)>,
}

/// Operations AWS accepts without a signature.
const UNSIGNED_OPS: &[(&str, &str)] = &[
    ("sns", "ConfirmSubscription"),
    // The UnsubscribeURL of every notification; SNS refuses it unsigned when the
    // subscription was confirmed with AuthenticateOnUnsubscribe.
    ("sns", "Unsubscribe"),
    ("sts", "AssumeRoleWithWebIdentity"),
    ("sts", "AssumeRoleWithSAML"),
];

fn signed<'a>(req: &WireRequest<'a>) -> SignedRequest<'a> {
    SignedRequest {
        method: req.method,
        path: req.path,
        query: req.query,
        headers: req.headers,
        body: req.body,
    }
}

/// Reads the signature parameters, if any.
pub fn parse(req: &WireRequest<'_>) -> Result<Option<SigParams>, SigError> {
    sigv4::parse(&signed(req))
}

/// Checks the signature and resolves the principal.
pub fn authenticate(
    app: &App,
    req: &WireRequest<'_>,
    sig: Result<Option<SigParams>, SigError>,
    route: &Route,
) -> Result<Authenticated, AwsError> {
    let as_error = |e: SigError| e.to_aws(route.protocol);
    let params = match sig.map_err(as_error)? {
        Some(p) => p,
        None => match sigv2::parse_presigned(req.query).filter(|_| route.model.id == "s3") {
            Some(v2) => return presigned_v2(app, req, route, &v2),
            None => return anonymous(app, route),
        },
    };
    let credential = app
        .dispatcher
        .credentials()
        .lookup(&params.access_key_id)
        .ok_or_else(|| as_error(SigError::UnknownKey))?;
    if credential.session_token.is_some() && credential.session_token != params.security_token {
        return Err(as_error(SigError::UnknownKey));
    }
    let region = Region::parse(&params.region).ok_or_else(|| {
        as_error(SigError::Incomplete(format!(
            "Credential should be scoped to a valid region, not '{}'.",
            params.region
        )))
    })?;
    // Signatures are made on the client's wall clock, so they are checked against the
    // real time even when the server runs a manual clock.
    let verified =
        sigv4::verify(&signed(req), params, &credential.secret, Utc::now(), s3_signing(route))
            .map_err(as_error)?;
    let chunked = req
        .header("content-encoding")
        .is_some_and(|ce| ce.split(',').any(|c| c.trim().eq_ignore_ascii_case("aws-chunked")))
        || matches!(verified.payload, Payload::StreamingSigned { .. } | Payload::StreamingUnsigned);
    let (body, trailers) = if chunked && !req.body.is_empty() {
        let (body, trailers) =
            sigv4::decode_chunked_with_trailers(req.body, &verified.payload, &verified.params)
                .map_err(as_error)?;
        (Some(body), trailers)
    } else {
        (None, Vec::new())
    };
    Ok(Authenticated { principal: credential.principal, region, body, trailers })
}

/// S3 and S3 Control sign the S3 way (unsigned payloads, the path as sent).
fn s3_signing(route: &Route) -> bool {
    matches!(route.model.id, "s3" | "s3control")
}

/// An S3 URL presigned with Signature Version 2 (botocore's default for S3).
fn presigned_v2(
    app: &App,
    req: &WireRequest<'_>,
    route: &Route,
    v2: &sigv2::PresignedV2,
) -> Result<Authenticated, AwsError> {
    let as_error = |e: SigError| e.to_aws(route.protocol);
    let credential = app
        .dispatcher
        .credentials()
        .lookup(&v2.access_key_id)
        .ok_or_else(|| as_error(SigError::UnknownKey))?;
    if credential.session_token.is_some() && credential.session_token != v2.security_token {
        return Err(as_error(SigError::UnknownKey));
    }
    // The signed resource is path-style: virtual-host requests get the bucket prepended.
    let path = route.path.as_deref().unwrap_or(req.path);
    let sts = sigv2::string_to_sign(req.method, path, req.query, req.headers, v2.expires);
    sigv2::verify_presigned(v2, &sts, &credential.secret, Utc::now()).map_err(as_error)?;
    Ok(Authenticated {
        principal: credential.principal,
        region: app.args.region.clone(),
        body: None,
        trailers: Vec::new(),
    })
}

fn anonymous(app: &App, route: &Route) -> Result<Authenticated, AwsError> {
    let unsigned_ok = route.model.id == "s3"
        || UNSIGNED_OPS.contains(&(route.model.id, route.operation.as_str()));
    if !unsigned_ok {
        return Err(SigError::Missing.to_aws(route.protocol));
    }
    let principal = Principal {
        arn: "*".into(),
        account: app.args.account.clone(),
        user_id: "anonymous".into(),
        kind: PrincipalKind::Anonymous,
        access_key_id: None,
        mfa: false,
    };
    Ok(Authenticated {
        principal,
        region: app.args.region.clone(),
        body: None,
        trailers: Vec::new(),
    })
}
