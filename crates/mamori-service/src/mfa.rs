//! Virtual MFA devices as the framework keeps them, and their one-time codes: TOTP of
//! <https://www.rfc-editor.org/rfc/rfc6238> (HMAC-SHA1, 30-second steps, 6 digits) over the
//! HOTP of <https://www.rfc-editor.org/rfc/rfc4226>, with the seed in the base32 of
//! <https://www.rfc-editor.org/rfc/rfc4648>.
//!
//! IAM writes devices to [`MFA_DEVICES`] (CreateVirtualMFADevice, EnableMFADevice, ...) and
//! STS checks the codes that GetSessionToken and AssumeRole carry, as access keys are shared
//! through `ACCESS_KEYS`: neither service reads the other's state. Codes are checked at the
//! request's time (`ctx.time`), so the manual clock drives them in tests.

use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use mamori_store::Collection;
use serde::{Deserialize, Serialize};
use sha1::Sha1;

/// A virtual MFA device, in the partition of its account, under its serial number.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredMfaDevice {
    /// `arn:aws:iam::<account>:mfa/<path><name>`.
    pub serial: String,
    /// The device name.
    pub name: String,
    /// The path.
    pub path: String,
    /// The seed, base32 (what `Base32StringSeed` returns).
    pub seed: String,
    /// Created.
    pub created: DateTime<Utc>,
    /// The IAM user it is enabled for, and when; for the root user's device the root
    /// user's ARN ([`root_arn`]), which no IAM user name can be (names hold no `:`).
    pub user: Option<(String, DateTime<Utc>)>,
    /// The last time step whose code was accepted: a code is good once.
    pub last_step: i64,
    /// Tags, in order.
    pub tags: Vec<(String, String)>,
}

/// The virtual MFA devices, by account, under their serial numbers.
pub const MFA_DEVICES: Collection<StoredMfaDevice> = Collection::new("iam.mfa-devices");

/// The name AWS gives the root user's virtual MFA device.
pub const ROOT_DEVICE_NAME: &str = "root-account-mfa-device";

/// The serial number of the root user's virtual MFA device in `account`.
pub fn root_serial(account: &str) -> String {
    format!("arn:aws:iam::{account}:mfa/{ROOT_DEVICE_NAME}")
}

/// The root user's ARN, which [`StoredMfaDevice::user`] holds for root's device.
pub fn root_arn(account: &str) -> String {
    format!("arn:aws:iam::{account}:root")
}

/// The TOTP time step of `t`.
pub fn time_step(t: DateTime<Utc>) -> i64 {
    t.timestamp().div_euclid(30)
}

/// The six-digit code of `seed` (raw bytes) at time step `step`.
///
/// ```
/// // RFC 6238 appendix B, SHA1, T = 59 s: 94287082 (8 digits), so 287082 with 6.
/// let seed = b"12345678901234567890";
/// assert_eq!(mamori_service::totp(seed, 59 / 30), "287082");
/// ```
pub fn totp(seed: &[u8], step: i64) -> String {
    // HMAC accepts keys of any length.
    let Ok(mut mac) = Hmac::<Sha1>::new_from_slice(seed) else { return String::new() };
    mac.update(&step.to_be_bytes());
    let digest = mac.finalize().into_bytes();
    let offset = usize::from(digest[19] & 0x0f);
    let word = u32::from_be_bytes([
        digest[offset] & 0x7f,
        digest[offset + 1],
        digest[offset + 2],
        digest[offset + 3],
    ]);
    format!("{:06}", word % 1_000_000)
}

/// The time step within `window` steps of `now` (and after `after`) whose code is `code`.
pub fn find_step(seed: &[u8], code: &str, now: i64, window: i64, after: i64) -> Option<i64> {
    ((now - window)..=(now + 1)).filter(|s| *s > after).find(|s| totp(seed, *s) == code)
}

impl StoredMfaDevice {
    /// The raw seed.
    pub fn seed_bytes(&self) -> Vec<u8> {
        base32_decode(&self.seed).unwrap_or_default()
    }

    /// Whether the device is enabled for the root user of `account`.
    pub fn is_root_of(&self, account: &str) -> bool {
        self.user.as_ref().is_some_and(|(u, _)| *u == root_arn(account))
    }

    /// Checks a code from the device at `now` (one step of clock drift either way, as
    /// authenticator apps need) that was not used before; the step it matched.
    pub fn check(&self, code: &str, now: DateTime<Utc>) -> Option<i64> {
        find_step(&self.seed_bytes(), code, time_step(now), 1, self.last_step)
    }
}

const BASE32: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/// RFC 4648 base32 without padding (seeds are multiples of 5 bytes).
pub fn base32_encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(5) * 8);
    let (mut buffer, mut bits) = (0u32, 0u32);
    for b in bytes {
        buffer = (buffer << 8) | u32::from(*b);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(char::from(BASE32[((buffer >> bits) & 31) as usize]));
        }
    }
    if bits > 0 {
        out.push(char::from(BASE32[((buffer << (5 - bits)) & 31) as usize]));
    }
    out
}

/// Decodes RFC 4648 base32 (padding and case ignored); `None` on another character.
pub fn base32_decode(text: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(text.len() * 5 / 8);
    let (mut buffer, mut bits) = (0u32, 0u32);
    for c in text.trim_end_matches('=').bytes() {
        let v = BASE32.iter().position(|x| *x == c.to_ascii_uppercase())? as u32;
        buffer = (buffer << 5) | v;
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push((buffer >> bits) as u8);
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6238 appendix B, SHA1 column, truncated to the 6 digits AWS uses.
    #[test]
    fn rfc6238_vectors() {
        let seed = b"12345678901234567890";
        let cases = [
            (59, "287082"),
            (1_111_111_109, "081804"),
            (1_111_111_111, "050471"),
            (1_234_567_890, "005924"),
            (2_000_000_000, "279037"),
            (20_000_000_000, "353130"),
        ];
        for (t, want) in cases {
            assert_eq!(totp(seed, t / 30), want, "t={t}");
        }
    }

    #[test]
    fn base32_round_trips() {
        let cases: [(&[u8], &str); 4] =
            [(b"", ""), (b"f", "MY"), (b"fooba", "MZXW6YTB"), (b"foobar", "MZXW6YTBOI")];
        for (raw, text) in cases {
            assert_eq!(base32_encode(raw), text);
            assert_eq!(base32_decode(text).unwrap(), raw);
        }
        assert_eq!(base32_decode("mzxw6ytboi======").unwrap(), b"foobar");
        assert_eq!(base32_decode("M1"), None);
    }

    #[test]
    fn codes_are_good_once_and_near_now() {
        let seed = b"12345678901234567890";
        let now = 1_000;
        let code = totp(seed, now);
        assert_eq!(find_step(seed, &code, now, 1, 0), Some(now));
        assert_eq!(find_step(seed, &code, now + 1, 1, 0), Some(now), "one step late is fine");
        assert_eq!(find_step(seed, &code, now + 3, 1, 0), None, "too old");
        assert_eq!(find_step(seed, &code, now, 1, now), None, "already used");
    }
}
