//! Admin endpoints under `/_mamori/`: health (open), and reset and clock (root-signed
//! requests only, since they change every account's state).

use bytes::Bytes;
use chrono::{DateTime, TimeDelta, Utc};
use http_body_util::Full;
use hyper::Response;
use mamori_aws::AwsError;
use mamori_service::{Clock, PrincipalKind};
use mamori_wire::sigv4::{self, SigError, SignedRequest};
use serde::Deserialize;
use serde_json::{Value, json};

use super::App;
use crate::admin_request::{NDJSON, SHIFT_HEADER};

fn reply(status: u16, body: &Value) -> Response<Full<Bytes>> {
    let mut resp =
        Response::new(Full::new(Bytes::from(serde_json::to_vec(body).unwrap_or_default())));
    *resp.status_mut() = http::StatusCode::from_u16(status).unwrap_or(http::StatusCode::OK);
    resp.headers_mut().insert("content-type", http::HeaderValue::from_static("application/json"));
    resp
}

fn error(status: u16, code: &str, message: &str) -> Response<Full<Bytes>> {
    reply(status, &json!({"error": code, "message": message}))
}

/// The longest jump of the manual clock one `POST /_mamori/clock` makes.
const MAX_ADVANCE: TimeDelta = TimeDelta::days(400);

pub async fn handle(
    app: &App,
    parts: &http::request::Parts,
    body: &Bytes,
    request_id: &str,
    remote: std::net::SocketAddr,
) -> Response<Full<Bytes>> {
    let path = parts.uri.path();
    let method = parts.method.as_str();
    let mut resp = match (method, path) {
        ("GET", "/_mamori/health") => health(app),
        ("GET", "/_mamori/clock") => clock_state(app),
        ("POST", "/_mamori/reset" | "/_mamori/clock" | "/_mamori/cloudtrail/import") => {
            if let Err(e) = require_root(app, parts, body) {
                return error(403, &e.code, &e.message);
            }
            match path {
                "/_mamori/reset" => reset(app),
                "/_mamori/clock" => advance_clock(app, body).await,
                _ => import_cloudtrail(app, parts, body).await,
            }
        }
        ("POST", "/_mamori/iam/root-mfa") => match require_root(app, parts, body) {
            Ok(principal) => {
                let (status, answer) =
                    super::root_mfa::handle(app, parts, body, request_id, remote, principal).await;
                reply(status, &answer)
            }
            Err(e) => error(403, &e.code, &e.message),
        },
        ("GET", "/_mamori/sns/outbox") => {
            // The outbox holds other people's mail (and confirmation links): root only.
            if let Err(e) = require_root(app, parts, body) {
                return error(403, &e.code, &e.message);
            }
            match app.wired.sns.outbox(app.dispatcher.store()) {
                Ok(v) => reply(200, &v),
                Err(e) => {
                    tracing::error!(error = ?e.cause, "cannot read the SNS outbox");
                    error(500, "InternalFailure", "the outbox could not be read")
                }
            }
        }
        ("GET", p) if p.starts_with("/_mamori/sns/SimpleNotificationService-") => {
            let file = p.trim_start_matches("/_mamori/sns/");
            match app.wired.sns.certificate(app.dispatcher.store(), file) {
                Some(pem) => {
                    let mut resp = Response::new(Full::new(Bytes::from(pem)));
                    resp.headers_mut().insert(
                        "content-type",
                        http::HeaderValue::from_static("application/x-pem-file"),
                    );
                    resp
                }
                None => error(404, "NotFound", &format!("no certificate at {p}")),
            }
        }
        (_, "/_mamori/health" | "/_mamori/clock" | "/_mamori/reset") => {
            error(405, "MethodNotAllowed", &format!("{method} is not allowed on {path}"))
        }
        _ => error(404, "NotFound", &format!("no admin endpoint at {path}")),
    };
    if let Ok(v) = http::HeaderValue::from_str(request_id) {
        resp.headers_mut().insert("x-amzn-requestid", v);
    }
    resp
}

fn health(app: &App) -> Response<Full<Bytes>> {
    let clock = app.dispatcher.clock();
    reply(
        200,
        &json!({
            "status": "ok",
            "version": env!("CARGO_PKG_VERSION"),
            "services": app.dispatcher.service_ids(),
            "uptime_seconds": app.started.elapsed().as_secs_f64(),
            "clock": if clock.as_manual().is_some() { "manual" } else { "real" },
            "now": mamori_aws::timestamp_iso8601(clock.now()),
        }),
    )
}

fn clock_state(app: &App) -> Response<Full<Bytes>> {
    let clock = app.dispatcher.clock();
    reply(
        200,
        &json!({
            "mode": if clock.as_manual().is_some() { "manual" } else { "real" },
            "now": mamori_aws::timestamp_iso8601(clock.now()),
            "tasks": app.dispatcher.scheduler().task_names(),
        }),
    )
}

/// Only a request signed by the root user may reset or move the clock.
fn require_root(
    app: &App,
    parts: &http::request::Parts,
    body: &Bytes,
) -> Result<mamori_service::Principal, AwsError> {
    let signed = SignedRequest {
        method: parts.method.as_str(),
        path: parts.uri.path(),
        query: parts.uri.query().unwrap_or(""),
        headers: &parts.headers,
        body,
    };
    let proto = mamori_wire::Protocol::Json11;
    let params = sigv4::parse(&signed)
        .map_err(|e| e.to_aws(proto))?
        .ok_or_else(|| SigError::Missing.to_aws(proto))?;
    let cred = app
        .dispatcher
        .credentials()
        .lookup(&params.access_key_id)
        .ok_or_else(|| SigError::UnknownKey.to_aws(proto))?;
    sigv4::verify(&signed, params, &cred.secret, Utc::now(), false).map_err(|e| e.to_aws(proto))?;
    if cred.principal.kind != PrincipalKind::Root {
        return Err(AwsError::new("AccessDenied", "Only the root user may use the admin API")
            .with_status(403));
    }
    Ok(cred.principal)
}

fn reset(app: &App) -> Response<Full<Bytes>> {
    if let Err(err) = app.dispatcher.store().reset() {
        tracing::error!(error = %err, "reset failed");
        return error(500, "InternalFailure", "the store could not be reset");
    }
    for id in app.dispatcher.service_ids() {
        if let Some(svc) = app.dispatcher.service(id) {
            svc.reset();
        }
    }
    tracing::info!("state reset");
    reply(200, &json!({"reset": true}))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ClockRequest {
    advance_seconds: Option<f64>,
    set: Option<DateTime<Utc>>,
}

async fn advance_clock(app: &App, body: &Bytes) -> Response<Full<Bytes>> {
    let clock = app.dispatcher.clock().clone();
    let Some(manual) = clock.as_manual() else {
        return error(
            409,
            "ClockNotManual",
            "the server runs on the real clock; start it with --clock manual",
        );
    };
    let req: ClockRequest = match serde_json::from_slice(body) {
        Ok(r) => r,
        Err(e) => {
            return error(
                400,
                "InvalidRequest",
                &format!("expected {{\"advance_seconds\": N}} or {{\"set\": \"RFC 3339\"}}: {e}"),
            );
        }
    };
    let now = manual.now();
    let target = match (req.advance_seconds, req.set) {
        // One call runs every due instant of the jump (hourly digests are not coalesced),
        // so a jump is bounded; a longer one is several calls.
        (Some(s), None) if s.is_finite() && s >= 0.0 => {
            match TimeDelta::try_milliseconds((s * 1000.0) as i64)
                .filter(|d| *d <= MAX_ADVANCE)
                .and_then(|d| now.checked_add_signed(d))
            {
                Some(t) => t,
                None => {
                    return error(
                        400,
                        "InvalidRequest",
                        &format!(
                            "advance_seconds must be at most {} (400 days) in one call",
                            MAX_ADVANCE.num_seconds()
                        ),
                    );
                }
            }
        }
        (None, Some(t)) if t >= now && t - now <= MAX_ADVANCE => t,
        (None, Some(t)) if t >= now => {
            return error(
                400,
                "InvalidRequest",
                "set may move the manual clock at most 400 days in one call",
            );
        }
        (None, Some(_)) => {
            return error(400, "InvalidRequest", "the manual clock cannot go backwards");
        }
        _ => {
            return error(
                400,
                "InvalidRequest",
                "give exactly one of advance_seconds (>= 0) or set",
            );
        }
    };
    // Calls answered before the advance must be visible to the work it runs.
    app.dispatcher.flush_audit().await;
    app.dispatcher.scheduler().advance_to(&clock, target).await;
    tracing::info!(now = %clock.now(), "manual clock advanced");
    reply(200, &json!({"mode": "manual", "now": mamori_aws::timestamp_iso8601(clock.now())}))
}

/// `POST /_mamori/cloudtrail/import`: stores CloudTrail records read from log files by
/// `mamori cloudtrail import`. The body is one record per line (`application/x-ndjson`,
/// what the CLI sends, with the shift in `x-mamori-shift-seconds`), or
/// `{"records": [...], "shift_seconds": N}` (the header, if any, must agree).
async fn import_cloudtrail(
    app: &App,
    parts: &http::request::Parts,
    body: &Bytes,
) -> Response<Full<Bytes>> {
    let store = app.dispatcher.store().clone();
    let body = body.clone();
    let ndjson = parts.headers.get("content-type").is_some_and(|v| {
        v.to_str().is_ok_and(|v| v.split(';').next().is_some_and(|t| t.trim() == NDJSON))
    });
    let header_shift = parts.headers.get(SHIFT_HEADER).map(|v| {
        v.to_str().ok().and_then(|v| v.trim().parse::<i64>().ok()).ok_or_else(|| {
            let v = String::from_utf8_lossy(v.as_bytes());
            format!("{SHIFT_HEADER} is not a whole number of seconds: {v:?}")
        })
    });
    // Parsing (borrowed from the body) and storing both run off the async threads.
    let res = tokio::task::spawn_blocking(move || {
        let header_shift = header_shift.transpose()?;
        let (records, shift) = if ndjson {
            let text = std::str::from_utf8(&body)
                .map_err(|e| format!("the body is not UTF-8 text: {e}"))?;
            (mamori_cloudtrail::import::ndjson_records(text), header_shift)
        } else {
            let req: mamori_cloudtrail::import::ImportRequest<'_> =
                serde_json::from_slice(&body)
                    .map_err(|e| format!("expected {{\"records\": [...]}}: {e}"))?;
            let shift = match (req.shift_seconds, header_shift) {
                (Some(body), Some(header)) if body != header => {
                    return Err(format!(
                        "shift_seconds ({body}) and {SHIFT_HEADER} ({header}) disagree"
                    ));
                }
                (body, header) => body.or(header),
            };
            (req.records.iter().map(|r| r.get()).collect(), shift)
        };
        // TimeDelta::seconds panics past about 292 million years; refuse those instead.
        let shift = match shift.map(TimeDelta::try_seconds) {
            Some(None) => return Err("the shift in seconds is out of range".to_owned()),
            shift => shift.flatten(),
        };
        mamori_cloudtrail::import::import_records(&store, &records, shift).map_err(|e| {
            tracing::error!(error = %e, "cannot store imported CloudTrail records");
            String::new()
        })
    })
    .await;
    match res {
        Ok(Ok(report)) => {
            tracing::info!(
                imported = report.imported,
                rejected = report.rejected.len(),
                "CloudTrail records imported"
            );
            mamori_cloudtrail::import::deliver_soon(&app.dispatcher);
            reply(200, &json!({"imported": report.imported, "rejected": report.rejected}))
        }
        Ok(Err(msg)) if !msg.is_empty() => error(400, "InvalidRequest", &msg),
        _ => error(500, "InternalFailure", "the records could not be stored"),
    }
}
