//! Virtual MFA devices, following the IAM API pages `CreateVirtualMFADevice`,
//! `EnableMFADevice`, `ResyncMFADevice`, `DeactivateMFADevice`, `DeleteVirtualMFADevice`,
//! `ListMFADevices`, `ListVirtualMFADevices`, `GetMFADevice` and the `*MFADeviceTags`
//! operations (<https://docs.aws.amazon.com/IAM/latest/APIReference/API_Operations.html>),
//! and <https://docs.aws.amazon.com/IAM/latest/UserGuide/id_credentials_mfa_enable_virtual.html>.
//!
//! Devices live in the framework's `MFA_DEVICES` collection so that STS can check the codes
//! sessions are created with. Codes are RFC 6238 TOTP (see `mamori_service::totp`), checked
//! at the request's time; a code is accepted once.

use std::io::Write as _;

use base64::Engine as _;
use mamori_aws::AwsError;
use mamori_service::{
    Context, MFA_DEVICES, PrincipalKind, ROOT_DEVICE_NAME, StoredMfaDevice, base32_encode,
    find_step, root_arn, root_serial, time_step,
};
use mamori_store::Tx;
use serde::Deserialize;
use serde_json::{Value, json};

use super::entities::{get_user, user_json};
use crate::state::*;

/// How many devices a user may have enabled (IAM quota `MFADevicesPerUser`).
const PER_USER: usize = 8;
/// How many steps back EnableMFADevice looks for the first of two consecutive codes (five
/// minutes: people type the codes in).
const ENABLE_WINDOW: i64 = 10;
/// ResyncMFADevice exists for clocks that drifted: it looks ten minutes either way.
const RESYNC_WINDOW: i64 = 20;

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct In {
    #[serde(rename = "VirtualMFADeviceName")]
    name: Option<String>,
    path: Option<String>,
    user_name: Option<String>,
    serial_number: Option<String>,
    authentication_code1: Option<String>,
    authentication_code2: Option<String>,
    assignment_status: Option<String>,
    #[serde(default)]
    tags: Vec<Tag>,
    #[serde(default)]
    tag_keys: Vec<String>,
    marker: Option<String>,
    max_items: Option<i64>,
}

fn no_device(serial: &str) -> AwsError {
    AwsError::new(
        "NoSuchEntityException",
        format!("VirtualMFADevice with serial number {serial} doesn't exist."),
    )
}

fn bad_code() -> AwsError {
    AwsError::new(
        "InvalidAuthenticationCodeException",
        "Authentication code for device is not valid.",
    )
}

fn get(tx: &Tx<'_>, acct: &str, serial: &str) -> Result<StoredMfaDevice, AwsError> {
    MFA_DEVICES.get(tx, acct, serial).map_err(db)?.ok_or_else(|| no_device(serial))
}

/// The user an operation is about: `UserName`, or the calling IAM user, or (where
/// `root` allows it) the calling root user, as [`root_arn`].
fn target(ctx: &Context, i: &In, root: bool) -> Result<String, AwsError> {
    match (&i.user_name, &ctx.principal.kind) {
        (Some(n), _) => Ok(n.clone()),
        (None, PrincipalKind::IamUser { name }) => Ok(name.clone()),
        (None, PrincipalKind::Root) if root => Ok(root_arn(ctx.account.as_str())),
        _ => Err(AwsError::validation(
            "Must specify userName when calling with non-User credentials",
        )),
    }
}

/// The root user managing its own device, which AWS allows only in the console
/// (<https://docs.aws.amazon.com/IAM/latest/UserGuide/id_credentials_mfa_enable_cliapi.html>):
/// mamori's console stand-in is `mamori iam root-mfa`, which sets [`Context::console`].
fn root_console(ctx: &Context) -> bool {
    ctx.console && ctx.principal.kind == PrincipalKind::Root
}

/// The step of the first of two consecutive codes, within `window` steps of `now`.
fn two_codes(d: &StoredMfaDevice, i: &In, now: i64, window: i64) -> Result<i64, AwsError> {
    let (Some(c1), Some(c2)) = (&i.authentication_code1, &i.authentication_code2) else {
        return Err(bad_code());
    };
    let seed = d.seed_bytes();
    let mut after = d.last_step;
    while let Some(step) = find_step(&seed, c1, now, window, after) {
        if step < now + 1 && mamori_service::totp(&seed, step + 1) == *c2 {
            return Ok(step + 1);
        }
        after = step;
    }
    Err(bad_code())
}

fn tags(d: &StoredMfaDevice) -> Value {
    let t: Vec<Tag> =
        d.tags.iter().map(|(k, v)| Tag { key: k.clone(), value: v.clone() }).collect();
    tags_json(&t)
}

pub fn call(ctx: &Context, op: &str, input: Value) -> Result<Value, AwsError> {
    let i: In = mamori_service::parse_input(input)?;
    let acct = ctx.account.as_str();
    let now = ctx.time;
    let step = time_step(now);
    let store = ctx.dispatcher.store();
    let serial = || {
        i.serial_number.as_deref().ok_or_else(|| AwsError::validation("SerialNumber is required"))
    };
    match op {
        "CreateVirtualMFADevice" => {
            let name = i.name.as_deref().ok_or_else(|| AwsError::validation("name is required"))?;
            check_name(name, "virtualMFADeviceName", 226)?;
            let path = i.path.clone().unwrap_or_else(|| "/".into());
            check_path(&path, "path")?;
            let serial = arn(acct, "mfa", &path, name);
            let for_root = root_console(ctx);
            // Root's serial is reserved for the device the console creates, so that no IAM
            // user can hold a device whose serial S3's MFA Delete trusts as root's.
            if (serial == root_serial(acct)) != for_root {
                return Err(AwsError::new(
                    "InvalidInputException",
                    if for_root {
                        format!(
                            "The root user's virtual MFA device is named {ROOT_DEVICE_NAME} at path /."
                        )
                    } else {
                        format!(
                            "The name {ROOT_DEVICE_NAME} is reserved for the root user's MFA device."
                        )
                    },
                ));
            }
            let mut raw = [0u8; 40];
            for chunk in raw.chunks_mut(16) {
                let id = uuid::Uuid::new_v4();
                let n = chunk.len();
                chunk.copy_from_slice(&id.as_bytes()[..n]);
            }
            let seed = base32_encode(&raw);
            let mut tag_list = Vec::new();
            merge_tags(&mut tag_list, i.tags.clone())?;
            let device = StoredMfaDevice {
                serial: serial.clone(),
                name: name.to_owned(),
                path,
                seed,
                created: now,
                user: None,
                last_step: 0,
                tags: tag_list.into_iter().map(|t| (t.key, t.value)).collect(),
            };
            wr(store, |tx| {
                let existing = MFA_DEVICES.get(tx, acct, &serial).map_err(db)?;
                // The console starts root's device afresh (a new seed) until it is enabled.
                let replaceable = for_root && existing.as_ref().is_some_and(|d| d.user.is_none());
                if existing.is_some() && !replaceable {
                    return Err(AwsError::new(
                        "EntityAlreadyExistsException",
                        "MFADevice entity at the same path and name already exists.",
                    ));
                }
                MFA_DEVICES.put(tx, acct, &serial, &device).map_err(db)
            })?;
            tracing::info!(target: "iam", serial = %serial, "virtual MFA device created");
            let uri = format!("otpauth://totp/{name}@{acct}?secret={}", device.seed);
            let b64 = base64::engine::general_purpose::STANDARD;
            let mut out = json!({"SerialNumber": serial,
                "Base32StringSeed": b64.encode(device.seed.as_bytes()),
                "QRCodePNG": b64.encode(qr_png(&uri).map_err(AwsError::internal)?)});
            if !device.tags.is_empty() {
                out["Tags"] = tags(&device);
            }
            Ok(json!({"VirtualMFADevice": out}))
        }
        "EnableMFADevice" => {
            let (serial, user) = (serial()?, target(ctx, &i, root_console(ctx))?);
            let for_root = user == root_arn(acct);
            // Root's device is enabled for root, and only through the console.
            if for_root != (serial == root_serial(acct)) {
                return Err(no_device(serial));
            }
            wr(store, |tx| {
                if !for_root {
                    get_user(tx, acct, &user)?;
                }
                let mut d = get(tx, acct, serial)?;
                if d.user.is_some() {
                    return Err(AwsError::new(
                        "EntityAlreadyExistsException",
                        "MFA Device is already in use.",
                    ));
                }
                let all = MFA_DEVICES.all(tx, acct).map_err(db)?;
                let n = all.iter().filter(|(_, x)| x.user.as_ref().is_some_and(|u| u.0 == user));
                if n.count() >= PER_USER {
                    return Err(AwsError::new(
                        "LimitExceededException",
                        format!("Cannot exceed quota for MFADevicesPerUser: {PER_USER}"),
                    ));
                }
                d.last_step = two_codes(&d, &i, step, ENABLE_WINDOW)?;
                d.user = Some((user.clone(), now));
                MFA_DEVICES.put(tx, acct, serial, &d).map_err(db)?;
                tracing::info!(target: "iam", serial, user = %user, "MFA device enabled");
                Ok(json!({}))
            })
        }
        "ResyncMFADevice" => {
            let (serial, user) = (serial()?, target(ctx, &i, root_console(ctx))?);
            wr(store, |tx| {
                let mut d = get(tx, acct, serial)?;
                if d.user.as_ref().is_none_or(|u| u.0 != user) {
                    return Err(no_device(serial));
                }
                // Resync forgets the last code used: the clock may have been ahead.
                d.last_step = 0;
                d.last_step = two_codes(&d, &i, step + RESYNC_WINDOW - 1, 2 * RESYNC_WINDOW)?;
                MFA_DEVICES.put(tx, acct, serial, &d).map_err(db)?;
                Ok(json!({}))
            })
        }
        "DeactivateMFADevice" => {
            let serial = serial()?;
            wr(store, |tx| {
                let mut d = get(tx, acct, serial)?;
                let wanted = match &i.user_name {
                    Some(n) => d.user.as_ref().is_some_and(|u| u.0 == *n),
                    // Root's device is turned off in the console only.
                    None => d.user.is_some() && (!d.is_root_of(acct) || root_console(ctx)),
                };
                if !wanted {
                    return Err(AwsError::new(
                        "NoSuchEntityException",
                        format!("MFA Device with serial number {serial} does not exist."),
                    ));
                }
                d.user = None;
                MFA_DEVICES.put(tx, acct, serial, &d).map_err(db)?;
                tracing::info!(target: "iam", serial, "MFA device deactivated");
                Ok(json!({}))
            })
        }
        "DeleteVirtualMFADevice" => {
            let serial = serial()?;
            wr(store, |tx| {
                let d = get(tx, acct, serial)?;
                if d.user.is_some() {
                    return Err(AwsError::new(
                        "DeleteConflictException",
                        "MFA VirtualDevice in use. Must deactivate first.",
                    ));
                }
                MFA_DEVICES.delete(tx, acct, serial).map_err(db)?;
                Ok(json!({}))
            })
        }
        "ListMFADevices" => {
            // The root user lists its own devices, as in AWS.
            let user = target(ctx, &i, true)?;
            rd(store, |tx| {
                if user != root_arn(acct) {
                    get_user(tx, acct, &user)?;
                }
                let mine: Vec<(String, Value)> = MFA_DEVICES
                    .all(tx, acct)
                    .map_err(db)?
                    .into_iter()
                    .filter_map(|(k, d)| {
                        let (u, at) = d.user.filter(|u| u.0 == user)?;
                        let mut v = json!({"SerialNumber": d.serial, "EnableDate": ts(at)});
                        if u != root_arn(acct) {
                            v["UserName"] = json!(u);
                        }
                        Some((k, v))
                    })
                    .collect();
                let (page, marker) = paginate(mine, i.marker.as_deref(), i.max_items);
                Ok(with_page(json!({"MFADevices": page}), marker))
            })
        }
        "ListVirtualMFADevices" => rd(store, |tx| {
            let status = i.assignment_status.as_deref().unwrap_or("Any");
            let mut items = Vec::new();
            for (k, d) in MFA_DEVICES.all(tx, acct).map_err(db)? {
                let keep = match status {
                    "Assigned" => d.user.is_some(),
                    "Unassigned" => d.user.is_none(),
                    _ => true,
                };
                if !keep {
                    continue;
                }
                let mut v = json!({"SerialNumber": d.serial});
                if let Some((name, at)) = &d.user {
                    if d.is_root_of(acct) {
                        // AWS shows root's device assigned to the root user, without the
                        // user name and path an IAM user has.
                        v["User"] =
                            json!({"UserId": acct, "Arn": name, "CreateDate": ts(d.created)});
                    } else if let Some(u) = USERS.get(tx, acct, name).map_err(db)? {
                        v["User"] = user_json(&u, false);
                    }
                    v["EnableDate"] = ts(*at);
                }
                if !d.tags.is_empty() {
                    v["Tags"] = tags(&d);
                }
                items.push((k, v));
            }
            let (page, marker) = paginate(items, i.marker.as_deref(), i.max_items);
            Ok(with_page(json!({"VirtualMFADevices": page}), marker))
        }),
        "GetMFADevice" => {
            let serial = serial()?;
            rd(store, |tx| {
                let d = get(tx, acct, serial)?;
                match d.user {
                    Some((u, at)) if u == root_arn(acct) && i.user_name.is_none() => {
                        Ok(json!({"SerialNumber": d.serial, "EnableDate": ts(at)}))
                    }
                    Some((u, at)) if i.user_name.as_ref().is_none_or(|n| *n == u) => {
                        Ok(json!({"UserName": u, "SerialNumber": d.serial, "EnableDate": ts(at)}))
                    }
                    _ => Err(no_device(serial)),
                }
            })
        }
        "TagMFADevice" | "UntagMFADevice" | "ListMFADeviceTags" => {
            let serial = serial()?;
            wr(store, |tx| {
                let mut d = get(tx, acct, serial)?;
                let mut t: Vec<Tag> =
                    d.tags.iter().map(|(k, v)| Tag { key: k.clone(), value: v.clone() }).collect();
                match op {
                    "TagMFADevice" => merge_tags(&mut t, i.tags.clone())?,
                    "UntagMFADevice" => t.retain(|x| !i.tag_keys.contains(&x.key)),
                    _ => {
                        let items: Vec<_> = t.iter().map(|x| (x.key.clone(), x.clone())).collect();
                        let (page, marker) = paginate(items, i.marker.as_deref(), i.max_items);
                        return Ok(with_page(json!({"Tags": page}), marker));
                    }
                }
                d.tags = t.into_iter().map(|x| (x.key, x.value)).collect();
                MFA_DEVICES.put(tx, acct, serial, &d).map_err(db)?;
                Ok(json!({}))
            })
        }
        other => Err(AwsError::not_implemented("iam", other)),
    }
}

/// Whether IAM user `user` has an MFA device enabled (DeleteUser refuses then).
pub fn has_device(tx: &Tx<'_>, acct: &str, user: &str) -> Result<bool, AwsError> {
    let all = MFA_DEVICES.all(tx, acct).map_err(db)?;
    Ok(all.iter().any(|(_, d)| d.user.as_ref().is_some_and(|u| u.0 == user)))
}

/// A PNG of the QR code of `text`: 8-bit grayscale, 4 pixels a module, a 4-module quiet zone.
fn qr_png(text: &str) -> Result<Vec<u8>, String> {
    let code = qrcode::QrCode::new(text.as_bytes()).map_err(|e| e.to_string())?;
    let (width, colors) = (code.width(), code.to_colors());
    const SCALE: usize = 4;
    const QUIET: usize = 4;
    let side = (width + 2 * QUIET) * SCALE;
    let mut raw = Vec::with_capacity(side * (side + 1));
    for y in 0..side {
        raw.push(0); // filter type None
        for x in 0..side {
            let (mx, my) = ((x / SCALE).wrapping_sub(QUIET), (y / SCALE).wrapping_sub(QUIET));
            let dark = mx < width && my < width && colors[my * width + mx] == qrcode::Color::Dark;
            raw.push(if dark { 0 } else { 255 });
        }
    }
    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
    z.write_all(&raw).map_err(|e| e.to_string())?;
    let idat = z.finish().map_err(|e| e.to_string())?;
    let side = u32::try_from(side).map_err(|e| e.to_string())?;
    let mut ihdr = Vec::with_capacity(13);
    ihdr.extend_from_slice(&side.to_be_bytes());
    ihdr.extend_from_slice(&side.to_be_bytes());
    ihdr.extend_from_slice(&[8, 0, 0, 0, 0]);
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    for (kind, data) in [(b"IHDR", &ihdr[..]), (b"IDAT", &idat[..]), (b"IEND", &[][..])] {
        png.extend_from_slice(&(data.len() as u32).to_be_bytes());
        let mut crc = flate2::Crc::new();
        crc.update(kind);
        crc.update(data);
        png.extend_from_slice(kind);
        png.extend_from_slice(data);
        png.extend_from_slice(&crc.sum().to_be_bytes());
    }
    Ok(png)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn qr_png_is_a_png() {
        let png = qr_png("otpauth://totp/dev@111122223333?secret=ABC").unwrap();
        assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"));
        assert!(png.ends_with(&[0xae, 0x42, 0x60, 0x82]), "IEND's CRC");
    }
}
