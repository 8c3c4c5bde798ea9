//! Fuzzes the request headers S3 parses from clients: `x-amz-mfa`
//! (<https://docs.aws.amazon.com/AmazonS3/latest/userguide/MultiFactorAuthenticationDelete.html>),
//! `Range` / `x-amz-copy-source-range`
//! (<https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetObject.html>), `x-amz-tagging`
//! (<https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutObject.html>) and
//! `x-amz-copy-source` (<https://docs.aws.amazon.com/AmazonS3/latest/API/API_CopyObject.html>).
//! The first byte picks the header (and the object size for a range), the rest is its
//! value. Nothing may panic; an accepted MFA header is two words of the input that print
//! back to the same header, an accepted range lies within the object, accepted tags
//! keep S3's limits and an accepted copy source names a bucket and a key.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mamori_s3::headers::{parse_copy_source, parse_mfa, parse_range, parse_tag_header};

const SIZES: [u64; 6] = [0, 1, 2, 10, 1 << 40, u64::MAX];

fuzz_target!(|data: &[u8]| {
    let Some((&pick, rest)) = data.split_first() else { return };
    let Ok(header) = std::str::from_utf8(rest) else { return };
    match pick % 4 {
        0 => {
            let Ok(got) = parse_mfa(header) else { return };
            assert!(!got.serial.is_empty() && !got.code.is_empty());
            assert!(!got.serial.contains(' ') && !got.code.contains(' '));
            assert!(header.contains(got.serial) && header.contains(got.code));
            let printed = format!("{} {}", got.serial, got.code);
            assert_eq!(parse_mfa(&printed).expect("printed form"), got);
        }
        1 => {
            let size = SIZES[usize::from(pick / 4) % SIZES.len()];
            match parse_range(Some(header), size) {
                Ok(Some((first, last))) => assert!(first <= last && last < size),
                Ok(None) => {}
                Err(e) => assert_eq!((e.code.as_str(), e.status), ("InvalidRange", Some(416))),
            }
        }
        2 => {
            let Ok(tags) = parse_tag_header(header) else { return };
            assert!(tags.len() <= 10);
            let keys: std::collections::HashSet<&str> =
                tags.iter().map(|t| t["Key"].as_str().expect("a key")).collect();
            assert_eq!(keys.len(), tags.len());
            assert!(keys.iter().all(|k| !k.is_empty() && k.chars().count() <= 128));
        }
        _ => {
            let Ok((bucket, key, _)) = parse_copy_source(header) else { return };
            assert!(!bucket.is_empty() && !key.is_empty() && !bucket.contains('/'));
        }
    }
});
