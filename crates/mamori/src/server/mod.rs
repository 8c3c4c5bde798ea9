//! The HTTP server and the request pipeline:
//! route -> authenticate (SigV4) -> decode (model) -> dispatcher (authorize, handle,
//! audit) -> encode (model). Admin endpoints live under `/_mamori/`.

mod admin;
mod auth;
mod root_mfa;

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::{Request, Response};
use hyper_util::rt::{TokioExecutor, TokioIo};
use mamori_aws::{AwsError, new_request_id};
use mamori_service::{Context, Dispatcher};
use mamori_wire::protocol::{self, EncodeCtx};
use mamori_wire::route::{self, RouteError};
use mamori_wire::{Protocol, WireRequest, WireResponse};

use crate::cli::ServeArgs;

/// Shared state of the server.
pub struct App {
    /// The dispatcher.
    pub dispatcher: Arc<Dispatcher>,
    /// The configuration.
    pub args: ServeArgs,
    /// When the process started serving.
    pub started: Instant,
    /// Services with admin routes.
    pub wired: crate::Wired,
}

/// Serves on `listener` until SIGINT/SIGTERM.
pub async fn run(
    dispatcher: Arc<Dispatcher>,
    args: ServeArgs,
    listener: tokio::net::TcpListener,
    wired: crate::Wired,
) -> anyhow::Result<()> {
    let addr = listener.local_addr()?;
    let clock = dispatcher.clock().clone();
    if clock.as_manual().is_none() {
        let scheduler = Arc::new(SchedulerHandle(dispatcher.clone()));
        tokio::spawn(async move { scheduler.run().await });
    }
    let app = Arc::new(App { dispatcher, args, started: Instant::now(), wired });
    tracing::info!(%addr, version = env!("CARGO_PKG_VERSION"), "mamori listening");
    let mut shutdown = std::pin::pin!(shutdown_signal());
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let (stream, remote) = match accepted {
                    Ok(conn) => conn,
                    Err(err) => {
                        tracing::warn!(error = %err, "accept failed");
                        continue;
                    }
                };
                let _ = stream.set_nodelay(true);
                let app = app.clone();
                tokio::spawn(async move {
                    let svc = hyper::service::service_fn(move |req| {
                        let app = app.clone();
                        async move { Ok::<_, Infallible>(handle(&app, req, remote).await) }
                    });
                    let builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
                    if let Err(err) = builder.serve_connection(TokioIo::new(stream), svc).await {
                        tracing::debug!(error = %err, %remote, "connection ended with an error");
                    }
                });
            }
            () = &mut shutdown => {
                tracing::info!("shutting down");
                // CloudTrail's events of the calls answered so far are stored before the
                // process ends (the recorder keeps a batch in memory for up to 20 ms).
                app.dispatcher.flush_audit().await;
                return Ok(());
            }
        }
    }
}

/// Drives the scheduler on the real clock.
struct SchedulerHandle(Arc<Dispatcher>);

impl SchedulerHandle {
    /// Sleeps until the next due instant (at most 250 ms, so tasks registered later are
    /// picked up), so a task starts within a few milliseconds of its due time: an alarm
    /// is evaluated right after its period closes.
    async fn run(&self) {
        let max_sleep = chrono::TimeDelta::milliseconds(250);
        loop {
            let clock = self.0.clock().clone();
            let now = clock.now();
            let wait =
                self.0.scheduler().next_due().map_or(max_sleep, |due| {
                    (due - now).clamp(chrono::TimeDelta::zero(), max_sleep)
                });
            tokio::time::sleep(wait.to_std().unwrap_or_default()).await;
            self.0.scheduler().advance_to(&clock, clock.now()).await;
        }
    }
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(_) => return std::future::pending().await,
            };
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}

fn to_http(resp: WireResponse) -> Response<Full<Bytes>> {
    let mut out = Response::new(Full::new(resp.body));
    *out.status_mut() =
        http::StatusCode::from_u16(resp.status).unwrap_or(http::StatusCode::INTERNAL_SERVER_ERROR);
    for (k, v) in resp.headers {
        if let (Ok(k), Ok(v)) =
            (http::HeaderName::from_bytes(k.as_bytes()), http::HeaderValue::from_str(&v))
        {
            out.headers_mut().append(k, v);
        }
    }
    out
}

/// Guesses the protocol from headers alone, for errors raised before routing.
fn guess_protocol(headers: &http::HeaderMap) -> Protocol {
    if headers.contains_key("x-amz-target") {
        Protocol::Json11
    } else if headers.contains_key("smithy-protocol") {
        Protocol::Cbor
    } else {
        Protocol::Query
    }
}

async fn handle(app: &App, req: Request<Incoming>, remote: SocketAddr) -> Response<Full<Bytes>> {
    let request_id = new_request_id();
    let (parts, body) = req.into_parts();
    let body = match Limited::new(body, app.args.max_body_bytes).collect().await {
        Ok(b) => b.to_bytes(),
        Err(err) => {
            let too_large = err.downcast_ref::<http_body_util::LengthLimitError>().is_some();
            let error = if too_large {
                AwsError::new(
                    "RequestEntityTooLarge",
                    format!(
                        "The request body exceeds the maximum of {} bytes",
                        app.args.max_body_bytes
                    ),
                )
                .with_status(413)
            } else {
                AwsError::new("IncompleteBody", "The request body could not be read")
                    .with_status(400)
            };
            let ctx = EncodeCtx { request_id: &request_id, query_mode: false };
            return to_http(protocol::encode_error(
                None,
                guess_protocol(&parts.headers),
                &error,
                ctx,
            ));
        }
    };
    let path = parts.uri.path();
    if path.starts_with("/_mamori/") || path == "/_mamori" {
        return admin::handle(app, &parts, &body, &request_id, remote).await;
    }
    let wire = WireRequest {
        method: parts.method.as_str(),
        path,
        query: parts.uri.query().unwrap_or(""),
        headers: &parts.headers,
        body: &body,
    };
    let mut resp = pipeline(app, &wire, remote, &request_id).await;
    if parts.method == http::Method::HEAD {
        resp.body = Bytes::new();
    }
    to_http(resp)
}

/// Inflates a gzip body, refusing one that grows past `limit` bytes.
fn gunzip(body: &[u8], limit: usize) -> Result<Vec<u8>, AwsError> {
    use std::io::Read as _;
    let mut out = Vec::new();
    let read = flate2::read::GzDecoder::new(body)
        .take(u64::try_from(limit).unwrap_or(u64::MAX) + 1)
        .read_to_end(&mut out);
    match read {
        Ok(n) if n > limit => Err(AwsError::new(
            "RequestEntityTooLarge",
            format!("The decompressed request body exceeds the maximum of {limit} bytes"),
        )
        .with_status(413)),
        Ok(_) => Ok(out),
        Err(_) => {
            Err(AwsError::new("SerializationException", "The request body is not valid gzip")
                .with_status(400))
        }
    }
}

async fn pipeline(
    app: &App,
    req: &WireRequest<'_>,
    remote: SocketAddr,
    request_id: &str,
) -> WireResponse {
    let sig = auth::parse(req);
    let scope = sig.as_ref().ok().and_then(|p| p.as_ref()).map(|p| p.service.as_str());
    let route = match route::route(req, scope) {
        Ok(r) => r,
        Err(RouteError { model, protocol, error }) => {
            tracing::debug!(code = %error.code, rid = request_id, "unroutable request");
            let ctx = EncodeCtx { request_id, query_mode: false };
            return protocol::encode_error(model, protocol, &error, ctx);
        }
    };
    let ectx = EncodeCtx { request_id, query_mode: route.query_mode };
    let fail = |error: &AwsError| {
        if error.code == "NotImplemented" {
            tracing::warn!(svc = route.model.id, op = %route.operation, rid = request_id, "operation not implemented");
        } else if error.is_server_fault() {
            tracing::error!(
                svc = route.model.id, op = %route.operation, rid = request_id, code = %error.code,
                cause = error.cause.as_deref().unwrap_or(""), "request failed"
            );
        } else {
            tracing::debug!(svc = route.model.id, op = %route.operation, rid = request_id, code = %error.code, "request rejected");
        }
        protocol::encode_error(Some(route.model), route.protocol, error, ectx)
    };
    let authn = match auth::authenticate(app, req, sig, &route) {
        Ok(a) => a,
        Err(error) => return fail(&error),
    };
    let routed_path;
    let req = match &route.path {
        Some(p) => {
            routed_path = p.clone();
            WireRequest { path: &routed_path, ..*req }
        }
        None => WireRequest { ..*req },
    };
    // Trailing checksums of an aws-chunked body count as headers, so the codec binds
    // them to the `x-amz-checksum-*` members like checksums sent up front.
    let with_trailers;
    let req = if authn.trailers.is_empty() {
        req
    } else {
        let mut headers = req.headers.clone();
        for (k, v) in &authn.trailers {
            if let (Ok(k), Ok(v)) =
                (http::HeaderName::from_bytes(k.as_bytes()), http::HeaderValue::from_str(v))
            {
                headers.insert(k, v);
            }
        }
        with_trailers = headers;
        WireRequest { headers: &with_trailers, ..req }
    };
    let decoded_body;
    let req = match &authn.body {
        Some(b) => {
            decoded_body = b.clone();
            WireRequest { body: &decoded_body, ..req }
        }
        None => req,
    };
    // botocore gzips bodies of operations with the `requestcompression` trait
    // (CloudWatch PutMetricData) above 10 KiB. The signature covers the compressed
    // bytes, so the body is inflated only after authentication. An S3 object's
    // Content-Encoding describes the stored object and is kept as sent.
    let inflated;
    let req = if route.model.id != "s3"
        && req
            .header("content-encoding")
            .is_some_and(|ce| ce.split(',').any(|c| c.trim().eq_ignore_ascii_case("gzip")))
    {
        match gunzip(req.body, app.args.max_body_bytes) {
            Ok(b) => {
                inflated = Bytes::from(b);
                WireRequest { body: &inflated, ..req }
            }
            Err(error) => return fail(&error),
        }
    } else {
        req
    };
    let ctx = Context {
        request_id: request_id.to_owned(),
        account: authn.principal.account.clone(),
        principal: authn.principal,
        region: authn.region,
        source_ip: remote.ip().to_string(),
        user_agent: req.header("user-agent").unwrap_or_default().to_owned(),
        time: app.dispatcher.clock().now(),
        invoked_by: None,
        secure_transport: false,
        console: false,
        source_arn: None,
        source_account: None,
        dispatcher: app.dispatcher.clone(),
    };
    let Some(op) = route.model.operation(&route.operation) else {
        return fail(&AwsError::internal("routed to an operation the model lacks"));
    };
    let input = match protocol::decode_input(route.model, op, route.protocol, &req) {
        Ok(v) => v,
        Err(error) => {
            app.dispatcher.audit_rejected(&ctx, route.model.id, &route.operation, &error).await;
            return fail(&error);
        }
    };
    match app.dispatcher.call(&ctx, route.model.id, &route.operation, input).await {
        Ok(output) => match protocol::encode_output(route.model, op, route.protocol, &output, ectx)
        {
            Ok(resp) => resp,
            Err(error) => fail(&error),
        },
        Err(error) => fail(&error),
    }
}
