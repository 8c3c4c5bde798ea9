//! MFA Delete's `x-amz-mfa` header, following
//! <https://docs.aws.amazon.com/AmazonS3/latest/userguide/MultiFactorAuthenticationDelete.html>
//! and <https://docs.aws.amazon.com/AmazonS3/latest/userguide/UsingMFADelete.html>.
//!
//! Only the bucket owner's root user, with its long-term keys, may use MFA Delete, with a
//! current code of root's virtual device (`arn:aws:iam::<account>:mfa/root-account-mfa-device`,
//! created with `mamori iam root-mfa`). Devices live in the framework's `MFA_DEVICES`,
//! which IAM writes; a code is good once, as for STS.

use mamori_aws::AwsError;
use mamori_service::{Context, MFA_DEVICES, PrincipalKind, root_serial};
use mamori_store::Tx;

use crate::state::{Bucket, db};

/// What `x-amz-mfa` said.
#[derive(Debug, PartialEq, Eq)]
pub struct MfaHeader<'a> {
    pub serial: &'a str,
    pub code: &'a str,
}

/// Parses `<serial> <code>`.
pub fn parse(header: &str) -> Result<MfaHeader<'_>, AwsError> {
    let invalid = || {
        AwsError::new(
            "InvalidArgument",
            "Mfa header is invalid -- the header should be formatted as {serialNumber}(space){tokenCode}",
        )
        .with_status(400)
        .with_extra("ArgumentName", "x-amz-mfa")
        .with_extra("ArgumentValue", header)
    };
    let (serial, code) = header.trim().split_once(' ').ok_or_else(invalid)?;
    let code = code.trim();
    if serial.is_empty() || code.is_empty() || code.contains(' ') {
        return Err(invalid());
    }
    Ok(MfaHeader { serial, code })
}

/// The error S3 answers when a request needs `x-amz-mfa` and has none.
pub fn required() -> AwsError {
    AwsError::new("AccessDenied", "Mfa Authentication must be used for this request")
}

/// Checks `header` for a request on `bucket` that MFA Delete protects, and consumes the
/// code in `tx` (so the code is spent only if the request's changes commit).
pub fn verify(
    ctx: &Context,
    tx: &Tx<'_>,
    bucket: &Bucket,
    header: Option<&str>,
) -> Result<(), AwsError> {
    // GAP: AWS accepts x-amz-mfa only over HTTPS; mamori serves plain HTTP, so the code
    // travels in the clear on the loopback or network path between client and server.
    let Some(header) = header else { return Err(required()) };
    let given = parse(header)?;
    // The root user's long-term keys only: AWS refuses IAM users and temporary credentials
    // (root's GetSessionToken sessions included) with this error.
    let session = ctx.principal.access_key_id.as_deref().is_some_and(|k| k.starts_with("ASIA"));
    if ctx.principal.kind != PrincipalKind::Root
        || ctx.principal.account.as_str() != bucket.account
        || session
    {
        return Err(AwsError::new(
            "InvalidRequest",
            "DevPay and Mfa are mutually exclusive authorization methods.",
        )
        .with_status(400));
    }
    // GAP: AWS's message for a wrong serial or code is not recorded; S3's generic
    // AccessDenied is answered.
    let denied = || AwsError::new("AccessDenied", "Access Denied");
    if given.serial != root_serial(&bucket.account) {
        return Err(denied());
    }
    let Some(mut device) = MFA_DEVICES.get(tx, &bucket.account, given.serial).map_err(db)? else {
        return Err(denied());
    };
    if !device.is_root_of(&bucket.account) {
        return Err(denied());
    }
    let step = device.check(given.code, ctx.time).ok_or_else(denied)?;
    device.last_step = step;
    MFA_DEVICES.put(tx, &bucket.account, given.serial, &device).map_err(db)?;
    tracing::info!(target: "s3", bucket = %bucket.name, "MFA code accepted");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_forms() {
        let cases = [
            (
                "arn:aws:iam::1:mfa/root-account-mfa-device 123456",
                Some(("arn:aws:iam::1:mfa/root-account-mfa-device", "123456")),
            ),
            ("20899872 301749", Some(("20899872", "301749"))),
            ("no-space", None),
            (" 123456", None),
            ("serial ", None),
            ("a b c", None),
        ];
        for (text, want) in cases {
            let got = parse(text).ok().map(|h| (h.serial, h.code));
            assert_eq!(got, want, "{text:?}");
        }
        assert_eq!(parse("x").unwrap_err().code, "InvalidArgument");
    }
}
