//! `POST /_mamori/iam/root-mfa`: the console's "Assign MFA device" for the root user,
//! which AWS offers only in the console
//! (<https://docs.aws.amazon.com/IAM/latest/UserGuide/id_credentials_mfa_enable_cliapi.html>)
//! and mamori through `mamori iam root-mfa`.
//!
//! The endpoint is signed by a root user and runs IAM's own operations
//! (`CreateVirtualMFADevice`, `EnableMFADevice`, `DeactivateMFADevice`,
//! `DeleteVirtualMFADevice`) through the dispatcher as that root user, with
//! [`Context::console`] set: so they are authorized, audited and recorded in CloudTrail
//! (userIdentity `Root`) like the console's calls, and IAM lets only such calls touch the
//! root user's device `arn:aws:iam::<account>:mfa/root-account-mfa-device`.

use bytes::Bytes;
use mamori_aws::Region;
use mamori_service::{Context, Principal, ROOT_DEVICE_NAME, root_serial};
use serde::Deserialize;
use serde_json::{Value, json};

use super::App;

/// What the operator asks for.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, tag = "action", rename_all = "lowercase")]
enum RootMfaRequest {
    /// A new virtual device (a fresh seed while it is not enabled).
    Create,
    /// Enable the device with two consecutive codes, as the console asks.
    Enable { code1: String, code2: String },
    /// Deactivate and delete the device (the console's "Remove").
    Deactivate,
}

/// Runs the request; the HTTP status and the JSON answer.
pub async fn handle(
    app: &App,
    parts: &http::request::Parts,
    body: &Bytes,
    request_id: &str,
    remote: std::net::SocketAddr,
    principal: Principal,
) -> (u16, Value) {
    let req: RootMfaRequest = match serde_json::from_slice(body) {
        Ok(r) => r,
        Err(e) => {
            return (
                400,
                json!({"error": "InvalidRequest", "message": format!(
                    "expected {{\"action\": \"create\"}}, {{\"action\": \"enable\", \"code1\": \"123456\", \"code2\": \"654321\"}} or {{\"action\": \"deactivate\"}}: {e}"
                )}),
            );
        }
    };
    let ctx = Context {
        request_id: request_id.to_owned(),
        account: principal.account.clone(),
        principal,
        // IAM is global; AWS records its events in us-east-1.
        region: Region::parse("us-east-1").unwrap_or_else(|| app.args.region.clone()),
        source_ip: remote.ip().to_string(),
        user_agent: parts
            .headers
            .get("user-agent")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("mamori iam root-mfa")
            .to_owned(),
        time: app.dispatcher.clock().now(),
        invoked_by: None,
        secure_transport: false,
        console: true,
        source_arn: None,
        source_account: None,
        dispatcher: app.dispatcher.clone(),
    };
    let serial = root_serial(ctx.account.as_str());
    let calls: Vec<(&str, Value)> = match req {
        RootMfaRequest::Create => {
            vec![("CreateVirtualMFADevice", json!({"VirtualMFADeviceName": ROOT_DEVICE_NAME}))]
        }
        RootMfaRequest::Enable { code1, code2 } => vec![(
            "EnableMFADevice",
            json!({"SerialNumber": serial, "AuthenticationCode1": code1, "AuthenticationCode2": code2}),
        )],
        RootMfaRequest::Deactivate => vec![
            ("DeactivateMFADevice", json!({"SerialNumber": serial})),
            ("DeleteVirtualMFADevice", json!({"SerialNumber": serial})),
        ],
    };
    let mut answer = json!({"SerialNumber": serial});
    for (op, input) in calls {
        match app.dispatcher.call(&ctx, "iam", op, input).await {
            Ok(out) => {
                if let Some(device) = out.get("VirtualMFADevice") {
                    answer = device.clone();
                }
            }
            Err(e) => {
                // The wire code and status the API would answer.
                let (code, model_status) = mamori_wire::models::get("iam")
                    .map_or((e.code.clone(), None), |m| m.error_wire(&e.code));
                let status = e.status.or(model_status).unwrap_or(if e.is_server_fault() {
                    500
                } else {
                    400
                });
                return (status, json!({"error": code, "message": e.message, "operation": op}));
            }
        }
    }
    (200, answer)
}
