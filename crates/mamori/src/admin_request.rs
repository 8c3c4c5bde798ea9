//! The requests `mamori` subcommands (`cloudtrail import`, `iam root-mfa`) send to a
//! running server's admin endpoints: JSON (or, for an import, NDJSON) bodies, SigV4-signed with the root user's keys
//! so the server authenticates them like any other call.

use bytes::Bytes;
use chrono::Utc;
use http_body_util::Full;

/// The media type of a `cloudtrail/import` body of one record per line.
pub const NDJSON: &str = "application/x-ndjson";
/// The header of an NDJSON import that carries the `--rebase-time` shift, in seconds.
pub const SHIFT_HEADER: &str = "x-mamori-shift-seconds";

/// A signed `POST` of `body` to `uri`, under the credential scope `(region, service)`,
/// with `extra` headers signed too.
pub fn signed_post(
    uri: &http::Uri,
    body: Vec<u8>,
    keys: (&str, &str),
    scope: (&str, &str),
    extra: &[(&'static str, &str)],
) -> anyhow::Result<http::Request<Full<Bytes>>> {
    let host = uri.authority().ok_or_else(|| anyhow::anyhow!("the endpoint needs a host"))?;
    let mut headers = http::HeaderMap::new();
    headers.insert("host", host.as_str().parse()?);
    headers.insert("content-type", "application/json".parse()?);
    for (name, value) in extra {
        headers.insert(*name, value.parse()?);
    }
    let signed =
        mamori_wire::sigv4::sign("POST", uri.path(), "", &headers, &body, keys, scope, Utc::now());
    let mut req = http::Request::post(uri.clone()).body(Full::new(Bytes::from(body)))?;
    *req.headers_mut() = headers;
    for (k, v) in signed {
        req.headers_mut().insert(http::HeaderName::from_bytes(k.as_bytes())?, v.parse()?);
    }
    Ok(req)
}
