//! A bounded, deterministic stand-in for `fuzz/fuzz_targets/headers.rs`, so that
//! `cargo test` on stable checks the same properties of the request headers S3 parses
//! from clients: `x-amz-mfa`
//! (<https://docs.aws.amazon.com/AmazonS3/latest/userguide/MultiFactorAuthenticationDelete.html>),
//! `Range` / `x-amz-copy-source-range`
//! (<https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetObject.html>), `x-amz-tagging`
//! (<https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutObject.html>) and
//! `x-amz-copy-source` (<https://docs.aws.amazon.com/AmazonS3/latest/API/API_CopyObject.html>).
//! Examples are mutated character by character and random strings thrown in; nothing may
//! panic, an accepted MFA header is two words of the input that print back to the same
//! header, an accepted range lies within the object, accepted tags keep S3's limits and
//! an accepted copy source names a bucket and a key.

use mamori_mutate::Rng;
use mamori_s3::headers::{parse_copy_source, parse_mfa, parse_range, parse_tag_header};

const MFA_SEEDS: [&str; 5] = [
    "arn:aws:iam::123456789012:mfa/root-account-mfa-device 123456",
    "20899872 301749",
    "  serial   000000  ",
    "no-space",
    "a b c",
];

const RANGE_SEEDS: [&str; 8] = [
    "bytes=0-9",
    "bytes=5-",
    "bytes=-3",
    "bytes=-0",
    "bytes=8-100",
    "bytes=0-1,3-4",
    " bytes= 1 - 2 ",
    "bytes=18446744073709551615-",
];

const TAG_SEEDS: [&str; 4] =
    ["Key1=Value1&Key2=Value2", "project=blue%20sky&cost+center=4%2F2", "a=1&a=2", "=x&&k"];

const COPY_SEEDS: [&str; 4] = [
    "/awsexamplebucket/reports/january.pdf",
    "awsexamplebucket/reports/january.pdf?versionId=QUpfdndhfd8438MNFDN93jdnJFkdmqnh893",
    "bucket/a%20b%2Fc.txt",
    "bucket",
];

const SIZES: [u64; 6] = [0, 1, 2, 10, 1 << 40, u64::MAX];

const CHARS: &[char] =
    &[' ', '\t', '-', ',', '=', '+', '0', '1', '9', 'a', 'b', '\u{a0}', '\u{3000}'];

fn mutate(rng: &mut Rng, src: &str) -> String {
    mamori_mutate::mutate_chars(rng, src, CHARS)
}

fn random(rng: &mut Rng) -> String {
    (0..rng.below(16)).map(|_| CHARS[rng.below(CHARS.len())]).collect()
}

/// The properties of the fuzz target for `x-amz-mfa`; true when accepted.
fn check_mfa(header: &str) -> bool {
    let Ok(got) = parse_mfa(header) else { return false };
    assert!(!got.serial.is_empty() && !got.code.is_empty(), "{header:?}");
    assert!(!got.serial.contains(' ') && !got.code.contains(' '), "{header:?}");
    assert!(header.contains(got.serial) && header.contains(got.code), "{header:?}");
    let printed = format!("{} {}", got.serial, got.code);
    let again = parse_mfa(&printed).expect("printed form");
    assert_eq!(again, got, "{header:?}");
    true
}

/// The properties of the fuzz target for a range; true when some size accepted it.
fn check_range(header: &str) -> bool {
    let mut accepted = false;
    for size in SIZES {
        match parse_range(Some(header), size) {
            Ok(Some((first, last))) => {
                assert!(first <= last && last < size, "{header:?} on {size}: {first}-{last}");
                accepted = true;
            }
            Ok(None) => {}
            Err(e) => {
                assert_eq!((e.code.as_str(), e.status), ("InvalidRange", Some(416)), "{header:?}")
            }
        }
    }
    accepted
}

#[test]
fn mutated_mfa_headers_never_panic_and_print_back() {
    let mut rng = Rng(0xD1B5_4A32_D192_ED03);
    let mut accepted = 0;
    for i in 0..20_000 {
        let header = if i % 5 == 4 { random(&mut rng) } else { mutate(&mut rng, MFA_SEEDS[i % 5]) };
        accepted += usize::from(check_mfa(&header));
    }
    assert!((2_000..18_000).contains(&accepted), "accepted {accepted}");
}

#[test]
fn mutated_ranges_never_panic_and_stay_within_the_object() {
    let mut rng = Rng(0x8CB9_2BA7_2F3D_8DD7);
    let mut accepted = 0;
    for i in 0..20_000 {
        let header = if i % 5 == 4 {
            format!("bytes={}", random(&mut rng))
        } else {
            mutate(&mut rng, RANGE_SEEDS[i % RANGE_SEEDS.len()])
        };
        accepted += usize::from(check_range(&header));
    }
    assert!((1_000..18_000).contains(&accepted), "accepted {accepted}");
    assert!(check_range("bytes=0-0") && !check_range("bytes=-5,"));
    assert!(!check_range("items=0-1"));
}

/// The properties of the fuzz target for `x-amz-tagging`; true when accepted.
fn check_tags(header: &str) -> bool {
    let Ok(tags) = parse_tag_header(header) else { return false };
    assert!(tags.len() <= 10, "{header:?}");
    let keys: std::collections::HashSet<&str> =
        tags.iter().map(|t| t["Key"].as_str().expect("a key")).collect();
    assert_eq!(keys.len(), tags.len(), "{header:?}: keys are unique");
    assert!(keys.iter().all(|k| !k.is_empty() && k.chars().count() <= 128), "{header:?}");
    true
}

/// The properties of the fuzz target for `x-amz-copy-source`; true when accepted.
fn check_copy_source(header: &str) -> bool {
    let Ok((bucket, key, _)) = parse_copy_source(header) else { return false };
    assert!(!bucket.is_empty() && !key.is_empty() && !bucket.contains('/'), "{header:?}");
    true
}

#[test]
fn mutated_tagging_and_copy_sources_never_panic() {
    let mut rng = Rng(0x94D0_49BB_1331_11EB);
    let (mut tags, mut sources) = (0, 0);
    for i in 0..20_000 {
        let tag = if i % 5 == 4 { random(&mut rng) } else { mutate(&mut rng, TAG_SEEDS[i % 4]) };
        tags += usize::from(check_tags(&tag));
        let src = if i % 5 == 4 { random(&mut rng) } else { mutate(&mut rng, COPY_SEEDS[i % 4]) };
        sources += usize::from(check_copy_source(&src));
    }
    assert!((1_000..19_000).contains(&tags), "tags accepted {tags}");
    assert!((1_000..19_000).contains(&sources), "copy sources accepted {sources}");
    let eleven: Vec<String> = (0..11).map(|i| format!("k{i}=v")).collect();
    assert!(!check_tags(&eleven.join("&")));
}
