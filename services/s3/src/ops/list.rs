//! Listing: ListObjects, ListObjectsV2 and ListObjectVersions with prefix, delimiter,
//! pagination and `encoding-type=url`, following
//! <https://docs.aws.amazon.com/AmazonS3/latest/API/API_ListObjectsV2.html>.
//! Keys are walked in the store's key order (UTF-8 byte order, as S3 lists).

use base64::Engine as _;
use mamori_aws::AwsError;
use mamori_service::Context;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use serde_json::{Value, json};

use super::{bucket_of, owner, s, secs};
use crate::state::{OBJECTS, ObjectEntry, db, invalid_argument};

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::URL_SAFE_NO_PAD;
/// What `encoding-type=url` leaves unescaped.
const URL_SAFE: &AsciiSet =
    &NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~').remove(b'/');
/// Sorts after every key that starts with a given common prefix.
const PAST: char = '\u{10FFFF}';

/// One listed item.
pub enum Item {
    Key(String, ObjectEntry),
    Prefix(String),
}

/// Walks keys after `after` under `prefix`, rolling keys up to common prefixes at
/// `delimiter`, until `max` items. Keys whose `keep` is false are skipped (keys whose
/// current version is a delete marker, for object listings). Returns the items and
/// whether more remain.
pub fn walk(
    tx: &mamori_store::Tx<'_>,
    bucket: &str,
    prefix: &str,
    delimiter: Option<&str>,
    mut after: Option<String>,
    max: usize,
    keep: impl Fn(&ObjectEntry) -> bool,
) -> Result<(Vec<Item>, bool), AwsError> {
    const PAGE: usize = 1000;
    let mut items = Vec::new();
    // A marker that is a common prefix resumes past every key under it.
    if let (Some(a), Some(d)) = (after.as_mut(), delimiter.filter(|d| !d.is_empty()))
        && a.starts_with(prefix)
        && a.ends_with(d)
    {
        a.push(PAST);
    }
    loop {
        let page = OBJECTS.scan(tx, bucket, prefix, after.as_deref(), PAGE).map_err(db)?;
        let n = page.len();
        let mut skip_to: Option<String> = None;
        for (key, entry) in page {
            if skip_to.as_deref().is_some_and(|cp| key.starts_with(cp)) {
                continue;
            }
            if !keep(&entry) {
                after = Some(key);
                continue;
            }
            if items.len() == max {
                return Ok((items, true));
            }
            let rolled = delimiter.filter(|d| !d.is_empty()).and_then(|d| {
                key[prefix.len()..].find(d).map(|i| key[..prefix.len() + i + d.len()].to_owned())
            });
            match rolled {
                Some(cp) => {
                    after = Some(format!("{cp}{PAST}"));
                    skip_to = Some(cp.clone());
                    items.push(Item::Prefix(cp));
                }
                None => {
                    after = Some(key.clone());
                    items.push(Item::Key(key, entry));
                }
            }
        }
        if n < PAGE {
            return Ok((items, false));
        }
    }
}

fn encode(text: &str, url: bool) -> Value {
    if url { json!(utf8_percent_encode(text, URL_SAFE).to_string()) } else { json!(text) }
}

fn max_keys(input: &Value) -> Result<usize, AwsError> {
    match input.get("MaxKeys").and_then(Value::as_i64) {
        None => Ok(1000),
        Some(n) if n < 0 => {
            Err(invalid_argument("Provided max-keys not an integer or within integer range")
                .with_extra("ArgumentName", "max-keys"))
        }
        Some(n) => Ok(usize::try_from(n.min(1000)).unwrap_or(1000)),
    }
}

fn check_encoding(input: &Value) -> Result<bool, AwsError> {
    match s(input, "EncodingType") {
        None => Ok(false),
        Some("url") => Ok(true),
        Some(_) => Err(invalid_argument("Invalid Encoding Method specified in Request")
            .with_extra("ArgumentName", "encoding-type")),
    }
}

pub fn list_objects(ctx: &Context, input: Value, v2: bool) -> Result<Value, AwsError> {
    let url = check_encoding(&input)?;
    let max = max_keys(&input)?;
    let prefix = s(&input, "Prefix").unwrap_or_default().to_owned();
    let delimiter = s(&input, "Delimiter").map(str::to_owned);
    let token = s(&input, "ContinuationToken");
    let start_after = if v2 { s(&input, "StartAfter") } else { s(&input, "Marker") };
    let from_token = match token {
        Some(t) => {
            Some(B64.decode(t).ok().and_then(|b| String::from_utf8(b).ok()).ok_or_else(|| {
                invalid_argument("The continuation token provided is incorrect")
                    .with_extra("ArgumentName", "continuation-token")
            })?)
        }
        None => None,
    };
    let after = from_token.or_else(|| start_after.map(str::to_owned));
    let (bucket, items, truncated) = crate::state::read(ctx.dispatcher.store(), |tx| {
        let bucket = bucket_of(ctx, tx, &input)?;
        let (items, truncated) =
            walk(tx, &bucket.name, &prefix, delimiter.as_deref(), after, max, |e| {
                e.current().is_some()
            })?;
        Ok::<_, AwsError>((bucket, items, truncated))
    })?;
    let mut contents = Vec::new();
    let mut prefixes = Vec::new();
    let mut last = None;
    for item in &items {
        match item {
            Item::Key(key, entry) => {
                let Some(v) = entry.current() else { continue };
                let mut o = json!({
                    "Key": encode(key, url),
                    "LastModified": secs(v.last_modified),
                    "ETag": v.etag,
                    "Size": v.size,
                    "StorageClass": v.storage_class.as_deref().unwrap_or("STANDARD"),
                });
                if !v2 || input.get("FetchOwner").and_then(Value::as_bool) == Some(true) {
                    o["Owner"] = owner(&bucket.account);
                }
                if let Some((member, _)) = &v.checksum {
                    o["ChecksumAlgorithm"] = json!([member.trim_start_matches("Checksum")]);
                    o["ChecksumType"] = json!("FULL_OBJECT");
                }
                contents.push(o);
                last = Some(key.clone());
            }
            Item::Prefix(p) => {
                prefixes.push(json!({"Prefix": encode(p, url)}));
                last = Some(p.clone());
            }
        }
    }
    let mut res = json!({
        "Name": bucket.name,
        "Prefix": encode(&prefix, url),
        "MaxKeys": max,
        "IsTruncated": truncated,
    });
    if !contents.is_empty() {
        res["Contents"] = json!(contents);
    }
    if !prefixes.is_empty() {
        res["CommonPrefixes"] = json!(prefixes);
    }
    if let Some(d) = &delimiter {
        res["Delimiter"] = encode(d, url);
    }
    if url {
        res["EncodingType"] = json!("url");
    }
    if v2 {
        res["KeyCount"] = json!(items.len());
        if let Some(t) = token {
            res["ContinuationToken"] = json!(t);
        }
        if let Some(sa) = s(&input, "StartAfter") {
            res["StartAfter"] = encode(sa, url);
        }
        if truncated && let Some(l) = &last {
            res["NextContinuationToken"] = json!(B64.encode(l));
        }
    } else {
        res["Marker"] = encode(s(&input, "Marker").unwrap_or_default(), url);
        if truncated && let Some(l) = &last {
            res["NextMarker"] = encode(l, url);
        }
    }
    Ok(res)
}

pub fn list_object_versions(ctx: &Context, input: Value) -> Result<Value, AwsError> {
    let url = check_encoding(&input)?;
    let max = max_keys(&input)?;
    let prefix = s(&input, "Prefix").unwrap_or_default().to_owned();
    let delimiter = s(&input, "Delimiter").map(str::to_owned);
    let after = s(&input, "KeyMarker").map(str::to_owned);
    let (bucket, items, truncated) = crate::state::read(ctx.dispatcher.store(), |tx| {
        let bucket = bucket_of(ctx, tx, &input)?;
        let (items, truncated) =
            walk(tx, &bucket.name, &prefix, delimiter.as_deref(), after, max, |_| true)?;
        Ok::<_, AwsError>((bucket, items, truncated))
    })?;
    let (mut versions, mut markers, mut prefixes) = (Vec::new(), Vec::new(), Vec::new());
    let mut last = None;
    for item in &items {
        match item {
            Item::Key(key, entry) => {
                for (i, v) in entry.versions.iter().enumerate() {
                    let mut o = json!({
                        "Key": encode(key, url),
                        "VersionId": v.version_id,
                        "IsLatest": i == 0,
                        "LastModified": secs(v.last_modified),
                        "Owner": owner(&bucket.account),
                    });
                    if v.delete_marker {
                        markers.push(o);
                    } else {
                        o["ETag"] = json!(v.etag);
                        o["Size"] = json!(v.size);
                        o["StorageClass"] = json!(v.storage_class.as_deref().unwrap_or("STANDARD"));
                        versions.push(o);
                    }
                }
                last = Some(key.clone());
            }
            Item::Prefix(p) => {
                prefixes.push(json!({"Prefix": encode(p, url)}));
                last = Some(p.clone());
            }
        }
    }
    let mut res = json!({
        "Name": bucket.name,
        "Prefix": encode(&prefix, url),
        "MaxKeys": max,
        "IsTruncated": truncated,
        "KeyMarker": s(&input, "KeyMarker").unwrap_or_default(),
    });
    if !versions.is_empty() {
        res["Versions"] = json!(versions);
    }
    if !markers.is_empty() {
        res["DeleteMarkers"] = json!(markers);
    }
    if !prefixes.is_empty() {
        res["CommonPrefixes"] = json!(prefixes);
    }
    if let Some(d) = &delimiter {
        res["Delimiter"] = encode(d, url);
    }
    if url {
        res["EncodingType"] = json!("url");
    }
    if truncated && let Some(l) = &last {
        res["NextKeyMarker"] = encode(l, url);
    }
    Ok(res)
}
