//! `mamori iam root-mfa create|enable|deactivate`: what the console's "Assign MFA device"
//! does for the root user, which AWS offers only in the console
//! (<https://docs.aws.amazon.com/IAM/latest/UserGuide/id_credentials_mfa_enable_virtual.html#enable-virt-mfa-for-root>).
//!
//! It signs a request as the root user to the running server's `/_mamori/iam/root-mfa`,
//! which runs IAM's operations through the dispatcher as that root user.

use std::path::PathBuf;

use anyhow::Context as _;
use base64::Engine as _;
use http_body_util::BodyExt;
use serde_json::{Value, json};

/// `mamori iam root-mfa ...`.
#[derive(Debug, Clone, clap::Args)]
pub struct RootMfaArgs {
    /// What to do.
    #[command(subcommand)]
    pub action: RootMfaAction,
    /// The server.
    #[arg(long, global = true, env = "MAMORI_ENDPOINT", default_value = "http://127.0.0.1:4566")]
    pub endpoint: String,
    /// Access key id of the root user.
    #[arg(long, global = true, env = "MAMORI_ACCESS_KEY_ID", default_value = "test")]
    pub access_key_id: String,
    /// Secret access key of the root user.
    #[arg(
        long,
        global = true,
        env = "MAMORI_SECRET_ACCESS_KEY",
        default_value = "test",
        hide_env_values = true
    )]
    pub secret_access_key: String,
}

/// The console's steps.
#[derive(Debug, Clone, clap::Subcommand)]
pub enum RootMfaAction {
    /// Create the root user's virtual MFA device (a fresh seed while it is not enabled):
    /// prints its serial number, Base32 seed and otpauth:// URI for an authenticator app.
    Create {
        /// Also write the Base32 seed to this file.
        #[arg(long)]
        seed_file: Option<PathBuf>,
        /// Also write the QR code (PNG) to this file.
        #[arg(long)]
        qr_png: Option<PathBuf>,
    },
    /// Enable the device with two consecutive codes from the authenticator.
    Enable {
        /// The first code.
        code1: String,
        /// The next code.
        code2: String,
    },
    /// Deactivate and delete the root user's device.
    Deactivate,
}

/// Runs the command, printing what the console would show.
pub fn run(args: &RootMfaArgs) -> anyhow::Result<()> {
    let body = match &args.action {
        RootMfaAction::Create { .. } => json!({"action": "create"}),
        RootMfaAction::Enable { code1, code2 } => {
            for c in [code1, code2] {
                if c.len() != 6 || !c.bytes().all(|b| b.is_ascii_digit()) {
                    anyhow::bail!("{c:?} is not a six-digit code");
                }
            }
            json!({"action": "enable", "code1": code1, "code2": code2})
        }
        RootMfaAction::Deactivate => json!({"action": "deactivate"}),
    };
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let answer = runtime.block_on(send(args, body))?;
    let serial = answer["SerialNumber"].as_str().unwrap_or_default().to_owned();
    match &args.action {
        RootMfaAction::Create { seed_file, qr_png } => {
            let b64 = base64::engine::general_purpose::STANDARD;
            let seed = answer["Base32StringSeed"]
                .as_str()
                .and_then(|s| b64.decode(s).ok())
                .and_then(|s| String::from_utf8(s).ok())
                .context("the server returned no seed")?;
            let account = serial
                .strip_prefix("arn:aws:iam::")
                .and_then(|r| r.split(':').next())
                .unwrap_or_default();
            let name = mamori_service::ROOT_DEVICE_NAME;
            println!("SerialNumber: {serial}");
            println!("Base32StringSeed: {seed}");
            println!("URI: otpauth://totp/{name}@{account}?secret={seed}");
            if let Some(path) = seed_file {
                std::fs::write(path, format!("{seed}\n"))
                    .with_context(|| format!("cannot write {}", path.display()))?;
            }
            if let Some(path) = qr_png {
                let png = answer["QRCodePNG"]
                    .as_str()
                    .and_then(|s| b64.decode(s).ok())
                    .context("the server returned no QR code")?;
                std::fs::write(path, png)
                    .with_context(|| format!("cannot write {}", path.display()))?;
            }
            println!(
                "Add the seed to an authenticator app, then: mamori iam root-mfa enable CODE1 CODE2"
            );
        }
        RootMfaAction::Enable { .. } => println!("MFA device {serial} enabled for the root user"),
        RootMfaAction::Deactivate => println!("MFA device {serial} deactivated and deleted"),
    }
    Ok(())
}

async fn send(args: &RootMfaArgs, body: Value) -> anyhow::Result<Value> {
    let uri: http::Uri =
        format!("{}/_mamori/iam/root-mfa", args.endpoint.trim_end_matches('/')).parse()?;
    let req = crate::admin_request::signed_post(
        &uri,
        serde_json::to_vec(&body)?,
        (&args.access_key_id, &args.secret_access_key),
        ("us-east-1", "iam"),
        &[("user-agent", concat!("mamori/", env!("CARGO_PKG_VERSION")))],
    )?;
    let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .build_http();
    let resp =
        client.request(req).await.with_context(|| format!("cannot reach {}", args.endpoint))?;
    let status = resp.status();
    let bytes = resp.into_body().collect().await?.to_bytes();
    let answer: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    if !status.is_success() {
        anyhow::bail!(
            "{} ({status}): {}",
            answer["error"].as_str().unwrap_or("refused"),
            answer["message"].as_str().unwrap_or(&String::from_utf8_lossy(&bytes))
        );
    }
    Ok(answer)
}
