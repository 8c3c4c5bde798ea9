//! Which service and operation a request is for: `X-Amz-Target` (JSON), the rpc-v2-cbor
//! path, the SigV4 credential scope with `Action=` (query) or the REST path (S3 in path
//! and virtual-host style), and `Action=` alone for the few unsigned query operations.

use mamori_aws::AwsError;

use crate::model::ServiceModel;
use crate::models;
use crate::protocol as rest;
use crate::protocol::{Protocol, WireRequest, query_params};

/// The outcome of routing.
#[derive(Debug, Clone)]
pub struct Route {
    /// The model.
    pub model: &'static ServiceModel,
    /// The protocol the client speaks.
    pub protocol: Protocol,
    /// The operation name.
    pub operation: String,
    /// Query-compatible error codes were asked for (`x-amzn-query-mode: true`).
    pub query_mode: bool,
    /// For S3 virtual-host requests: the path with the bucket prepended.
    pub path: Option<String>,
}

/// A routing failure, with what is known for rendering the error.
#[derive(Debug)]
pub struct RouteError {
    /// The service, when known.
    pub model: Option<&'static ServiceModel>,
    /// The protocol to answer in.
    pub protocol: Protocol,
    /// The error.
    pub error: AwsError,
}

fn protocol_of(model: &ServiceModel, name: &str) -> Option<Protocol> {
    let declared =
        model.metadata.protocols.iter().any(|p| p == name) || model.metadata.protocol == name;
    declared
        .then(|| Protocol::from_model_name(name, model.metadata.json_version.as_deref()))
        .flatten()
}

/// Routes a request. `scope_service` is the signing name of the SigV4 credential scope.
pub fn route(req: &WireRequest<'_>, scope_service: Option<&str>) -> Result<Route, RouteError> {
    let query_mode =
        req.header("x-amzn-query-mode").is_some_and(|v| v.eq_ignore_ascii_case("true"));
    if let Some(target) = req.header("x-amz-target") {
        return route_target(target, query_mode);
    }
    if let Some(rest) = req.path.strip_prefix("/service/")
        && let Some((svc, op)) = rest.split_once("/operation/")
    {
        return route_cbor(svc, op, query_mode);
    }
    let model = match scope_service {
        Some(name) => match models::by_signing_name(name) {
            Some(info) => models::get(info.id),
            None => {
                return Err(RouteError {
                    model: None,
                    protocol: Protocol::Query,
                    error: AwsError::new(
                        "UnknownService",
                        format!("mamori does not serve the service {name:?}"),
                    )
                    .with_status(400),
                });
            }
        },
        None => None,
    };
    let params = query_params(req);
    let action = params.get("Action").cloned();
    let model = match (model, &action) {
        (Some(m), _) => m,
        (None, Some(action)) => unsigned_query_service(action).ok_or_else(|| RouteError {
            model: None,
            protocol: Protocol::Query,
            error: AwsError::new(
                "InvalidAction",
                format!("The action {action} is not valid for this web service."),
            )
            .with_status(400),
        })?,
        (None, None) => models::get("s3").ok_or_else(no_s3)?,
    };
    let model = if model.id == "s3" && is_s3_control(req) {
        models::get("s3control").unwrap_or(model)
    } else {
        model
    };
    let primary =
        Protocol::from_model_name(&model.metadata.protocol, model.metadata.json_version.as_deref());
    if let Some(p) = protocol_of(model, "query").or_else(|| protocol_of(model, "ec2")) {
        let Some(action) = action else {
            return Err(RouteError {
                model: Some(model),
                protocol: p,
                error: AwsError::new(
                    "MissingAction",
                    "The request must contain the parameter Action.",
                )
                .with_status(400),
            });
        };
        if model.operation(&action).is_none() {
            return Err(RouteError {
                model: Some(model),
                protocol: p,
                error: AwsError::new(
                    "InvalidAction",
                    format!("The action {action} is not valid for this web service."),
                )
                .with_status(400),
            });
        }
        return Ok(Route { model, protocol: p, operation: action, query_mode, path: None });
    }
    match primary {
        Some(p @ (Protocol::RestJson | Protocol::RestXml)) => route_rest(model, p, req, query_mode),
        Some(p) => Err(RouteError {
            model: Some(model),
            protocol: p,
            error: AwsError::new("UnknownOperationException", "Missing X-Amz-Target header")
                .with_status(400),
        }),
        None => Err(RouteError {
            model: Some(model),
            protocol: Protocol::Json11,
            error: AwsError::internal(format!("unsupported protocol {}", model.metadata.protocol)),
        }),
    }
}

fn no_s3() -> RouteError {
    RouteError {
        model: None,
        protocol: Protocol::RestXml,
        error: AwsError::internal("s3 model missing"),
    }
}

fn route_target(target: &str, query_mode: bool) -> Result<Route, RouteError> {
    let unknown = |protocol| RouteError {
        model: None,
        protocol,
        error: AwsError::new("UnknownOperationException", format!("Unknown operation {target}"))
            .with_status(400),
    };
    let (prefix, op) = target.rsplit_once('.').ok_or_else(|| unknown(Protocol::Json11))?;
    let info = models::by_target_prefix(prefix).ok_or_else(|| unknown(Protocol::Json11))?;
    let model = models::get(info.id).ok_or_else(|| unknown(Protocol::Json11))?;
    let protocol = protocol_of(model, "json").ok_or_else(|| unknown(Protocol::Json11))?;
    if model.operation(op).is_none() {
        let mut e = unknown(protocol);
        e.model = Some(model);
        return Err(e);
    }
    Ok(Route { model, protocol, operation: op.to_owned(), query_mode, path: None })
}

fn route_cbor(svc: &str, op: &str, query_mode: bool) -> Result<Route, RouteError> {
    let unknown = |model| RouteError {
        model,
        protocol: Protocol::Cbor,
        error: AwsError::new("UnknownOperationException", format!("Unknown operation {svc}.{op}"))
            .with_status(404),
    };
    let info = models::by_target_prefix(svc).ok_or_else(|| unknown(None))?;
    let model = models::get(info.id).ok_or_else(|| unknown(None))?;
    if protocol_of(model, "smithy-rpc-v2-cbor").is_none() || model.operation(op).is_none() {
        return Err(unknown(Some(model)));
    }
    Ok(Route { model, protocol: Protocol::Cbor, operation: op.to_owned(), query_mode, path: None })
}

/// The query service that has `action` among its operations, for unsigned requests
/// (SNS `ConfirmSubscription` links, STS web-identity calls).
fn unsigned_query_service(action: &str) -> Option<&'static ServiceModel> {
    ["sns", "sts"].into_iter().filter_map(models::get).find(|m| m.operation(action).is_some())
}

/// Whether an `s3`-signed request is S3 Control's: its operations all live under
/// `/v20180820/` and name the account in `x-amz-account-id` (or, on Outposts, the outpost
/// in `x-amz-outpost-id`); a path-style S3 request to a bucket called `v20180820` carries
/// neither. The host (`<account>.<endpoint>`) does not decide, so that clients that cannot
/// resolve that name can use the endpoint's.
fn is_s3_control(req: &WireRequest<'_>) -> bool {
    (req.path == "/v20180820" || req.path.starts_with("/v20180820/"))
        && (req.header("x-amz-account-id").is_some() || req.header("x-amz-outpost-id").is_some())
}

/// The bucket of an S3 virtual-host-style request, from its `Host`.
pub fn s3_virtual_host_bucket(host: &str) -> Option<&str> {
    let host = host
        .rsplit_once(':')
        .filter(|(_, port)| port.bytes().all(|b| b.is_ascii_digit()))
        .map_or(host, |(h, _)| h);
    if let Some(bucket) = host.strip_suffix(".localhost") {
        // `<bucket>.s3.localhost` when the endpoint is `http://s3.localhost:<port>`.
        let bucket = bucket.strip_suffix(".s3").unwrap_or(bucket);
        return (!bucket.is_empty() && bucket != "s3").then_some(bucket);
    }
    let idx = host.find(".s3.").or_else(|| host.find(".s3-"))?;
    host.ends_with(".amazonaws.com").then(|| &host[..idx]).filter(|b| !b.is_empty())
}

/// S3 operations that share a method and URI template are told apart by query keys
/// and headers (botocore's model drops `?partNumber&uploadId` from `UploadPart`), and
/// the current `*Configuration` operations win over their deprecated twins.
fn s3_refine<'a>(name: &'a str, req: &WireRequest<'_>) -> &'a str {
    let has_query = |key: &str| form_urlencoded::parse(req.query.as_bytes()).any(|(k, _)| k == key);
    let copy = req.header("x-amz-copy-source").is_some();
    match name {
        "CopyObject" | "PutObject" | "UploadPart" | "UploadPartCopy" => {
            match (has_query("uploadId") && has_query("partNumber"), copy) {
                (true, true) => "UploadPartCopy",
                (true, false) => "UploadPart",
                (false, true) => "CopyObject",
                (false, false) => "PutObject",
            }
        }
        "GetObject" | "ListParts" if has_query("uploadId") => "ListParts",
        "GetObject" | "ListParts" => "GetObject",
        "DeleteObject" | "AbortMultipartUpload" if has_query("uploadId") => "AbortMultipartUpload",
        "DeleteObject" | "AbortMultipartUpload" => "DeleteObject",
        "GetBucketLifecycle" => "GetBucketLifecycleConfiguration",
        "PutBucketLifecycle" => "PutBucketLifecycleConfiguration",
        "GetBucketNotification" => "GetBucketNotificationConfiguration",
        "PutBucketNotification" => "PutBucketNotificationConfiguration",
        "ListDirectoryBuckets" => "ListBuckets",
        other => other,
    }
}

fn route_rest(
    model: &'static ServiceModel,
    protocol: Protocol,
    req: &WireRequest<'_>,
    query_mode: bool,
) -> Result<Route, RouteError> {
    let mut path = None;
    if model.id == "s3"
        && let Some(bucket) = req.header("host").and_then(s3_virtual_host_bucket)
    {
        path = Some(format!("/{bucket}{}", if req.path == "/" { "" } else { req.path }));
    }
    let effective = path.as_deref().unwrap_or(req.path);
    let mut best: Option<(&str, (usize, usize, usize))> = None;
    for op in model.operations.values() {
        if !op.http.method.eq_ignore_ascii_case(req.method) {
            continue;
        }
        if rest::match_uri(&op.http.request_uri, effective, req.query).is_some() {
            let spec = rest::specificity(&op.http.request_uri);
            if best.is_none_or(|(_, s)| spec > s) {
                best = Some((&op.name, spec));
            }
        }
    }
    match best {
        Some((name, _)) => {
            let name = if model.id == "s3" { s3_refine(name, req) } else { name };
            Ok(Route { model, protocol, operation: name.to_owned(), query_mode, path })
        }
        None => Err(RouteError {
            model: Some(model),
            protocol,
            error: AwsError::new(
                if protocol == Protocol::RestXml {
                    "MethodNotAllowed"
                } else {
                    "UnknownOperationException"
                },
                format!("No operation of {} matches {} {}", model.id, req.method, effective),
            )
            .with_status(if protocol == Protocol::RestXml { 405 } else { 404 }),
        }),
    }
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;

    use super::*;

    fn req<'a>(
        method: &'a str,
        path: &'a str,
        query: &'a str,
        headers: &'a http::HeaderMap,
        body: &'a Bytes,
    ) -> WireRequest<'a> {
        WireRequest { method, path, query, headers, body }
    }

    type Want = Option<(&'static str, Protocol, &'static str)>;
    type Case<'a> =
        (&'a str, &'a str, &'a str, &'a [(&'a str, &'a str)], &'a str, Option<&'a str>, Want);

    /// (method, path, query, headers, body, scope) -> (service, protocol, operation)
    #[test]
    fn routing_table() {
        let cases: &[Case<'_>] = &[
            (
                "POST",
                "/",
                "",
                &[],
                "Action=GetCallerIdentity&Version=2011-06-15",
                Some("sts"),
                Some(("sts", Protocol::Query, "GetCallerIdentity")),
            ),
            (
                "POST",
                "/",
                "",
                &[("x-amz-target", "Logs_20140328.CreateLogGroup")],
                "{}",
                Some("logs"),
                Some(("logs", Protocol::Json11, "CreateLogGroup")),
            ),
            (
                "POST",
                "/",
                "",
                &[
                    ("x-amz-target", "GraniteServiceVersion20100801.PutMetricData"),
                    ("x-amzn-query-mode", "true"),
                ],
                "{}",
                Some("monitoring"),
                Some(("cloudwatch", Protocol::Json10, "PutMetricData")),
            ),
            (
                "POST",
                "/service/GraniteServiceVersion20100801/operation/ListMetrics",
                "",
                &[("smithy-protocol", "rpc-v2-cbor")],
                "",
                Some("monitoring"),
                Some(("cloudwatch", Protocol::Cbor, "ListMetrics")),
            ),
            (
                "POST",
                "/",
                "",
                &[],
                "Action=ListMetrics&Version=2010-08-01",
                Some("monitoring"),
                Some(("cloudwatch", Protocol::Query, "ListMetrics")),
            ),
            (
                "GET",
                "/",
                "Action=ConfirmSubscription&TopicArn=t&Token=x",
                &[],
                "",
                None,
                Some(("sns", Protocol::Query, "ConfirmSubscription")),
            ),
            (
                "GET",
                "/bucket/key.txt",
                "",
                &[],
                "",
                Some("s3"),
                Some(("s3", Protocol::RestXml, "GetObject")),
            ),
            (
                "PUT",
                "/bucket",
                "policy",
                &[],
                "",
                Some("s3"),
                Some(("s3", Protocol::RestXml, "PutBucketPolicy")),
            ),
            ("GET", "/", "", &[], "", Some("s3"), Some(("s3", Protocol::RestXml, "ListBuckets"))),
            (
                "GET",
                "/v20180820/configuration/publicAccessBlock",
                "",
                &[("x-amz-account-id", "000000000000"), ("host", "000000000000.localhost:4566")],
                "",
                Some("s3"),
                Some(("s3control", Protocol::RestXml, "GetPublicAccessBlock")),
            ),
            (
                "DELETE",
                "/v20180820/configuration/publicAccessBlock",
                "",
                &[("x-amz-account-id", "000000000000")],
                "",
                Some("s3"),
                Some(("s3control", Protocol::RestXml, "DeletePublicAccessBlock")),
            ),
            (
                "GET",
                "/v20180820/configuration/publicAccessBlock",
                "",
                &[],
                "",
                Some("s3"),
                Some(("s3", Protocol::RestXml, "GetObject")),
            ),
            ("PUT", "/b/k", "", &[], "", Some("s3"), Some(("s3", Protocol::RestXml, "PutObject"))),
            (
                "PUT",
                "/b/k",
                "partNumber=1&uploadId=u",
                &[],
                "",
                Some("s3"),
                Some(("s3", Protocol::RestXml, "UploadPart")),
            ),
            (
                "PUT",
                "/b/k",
                "",
                &[("x-amz-copy-source", "/a/b")],
                "",
                Some("s3"),
                Some(("s3", Protocol::RestXml, "CopyObject")),
            ),
            (
                "GET",
                "/b/k",
                "uploadId=u",
                &[],
                "",
                Some("s3"),
                Some(("s3", Protocol::RestXml, "ListParts")),
            ),
            (
                "DELETE",
                "/b/k",
                "uploadId=u",
                &[],
                "",
                Some("s3"),
                Some(("s3", Protocol::RestXml, "AbortMultipartUpload")),
            ),
            (
                "DELETE",
                "/b/k",
                "",
                &[],
                "",
                Some("s3"),
                Some(("s3", Protocol::RestXml, "DeleteObject")),
            ),
            (
                "GET",
                "/b",
                "lifecycle",
                &[],
                "",
                Some("s3"),
                Some(("s3", Protocol::RestXml, "GetBucketLifecycleConfiguration")),
            ),
            (
                "GET",
                "/key.txt",
                "",
                &[("host", "bucket.s3.us-east-1.amazonaws.com")],
                "",
                Some("s3"),
                Some(("s3", Protocol::RestXml, "GetObject")),
            ),
            (
                "POST",
                "/findings/list",
                "",
                &[],
                "{}",
                Some("inspector2"),
                Some(("inspector2", Protocol::RestJson, "ListFindings")),
            ),
            (
                "POST",
                "/",
                "",
                &[],
                "Action=DescribeVpcs&Version=2016-11-15",
                Some("ec2"),
                Some(("ec2", Protocol::Ec2, "DescribeVpcs")),
            ),
            (
                "POST",
                "/",
                "",
                &[("x-amz-target", "Logs_20140328.NoSuchThing")],
                "{}",
                Some("logs"),
                None,
            ),
            ("POST", "/", "", &[("x-amz-target", "Nope.CreateLogGroup")], "{}", Some("logs"), None),
            ("POST", "/", "", &[], "Action=NoSuchThing", Some("sts"), None),
            ("POST", "/", "", &[], "", Some("sts"), None),
            ("POST", "/", "", &[], "", Some("nosuchservice"), None),
        ];
        for (method, path, query, hdrs, body, scope, want) in cases {
            let mut headers = http::HeaderMap::new();
            for (k, v) in *hdrs {
                headers.insert(*k, v.parse().unwrap());
            }
            let body = Bytes::from(*body);
            let got = route(&req(method, path, query, &headers, &body), *scope);
            match (got, want) {
                (Ok(r), Some((svc, p, op))) => {
                    assert_eq!(
                        (r.model.id, r.protocol, r.operation.as_str()),
                        (*svc, *p, *op),
                        "{method} {path}"
                    );
                }
                (Err(e), None) => {
                    assert!(e.error.status.unwrap_or(400) < 500, "{method} {path}: {}", e.error)
                }
                (got, want) => panic!("{method} {path}?{query}: got {got:?}, want {want:?}"),
            }
        }
    }

    #[test]
    fn virtual_hosts() {
        assert_eq!(s3_virtual_host_bucket("b.s3.amazonaws.com"), Some("b"));
        assert_eq!(
            s3_virtual_host_bucket("my.bucket.s3.eu-west-1.amazonaws.com"),
            Some("my.bucket")
        );
        assert_eq!(s3_virtual_host_bucket("b.localhost:4566"), Some("b"));
        assert_eq!(s3_virtual_host_bucket("b.s3.localhost:4566"), Some("b"));
        assert_eq!(s3_virtual_host_bucket("s3.localhost:4566"), None);
        assert_eq!(s3_virtual_host_bucket("127.0.0.1:4566"), None);
        assert_eq!(s3_virtual_host_bucket("s3.amazonaws.com"), None);
    }
}
