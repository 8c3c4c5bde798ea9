//! Fuzzes the request headers S3 parses from clients: `x-amz-mfa`
//! (<https://docs.aws.amazon.com/AmazonS3/latest/userguide/MultiFactorAuthenticationDelete.html>)
//! and `Range` / `x-amz-copy-source-range`
//! (<https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetObject.html>). The first byte
//! picks the header (and the object size for a range), the rest is its value. Nothing
//! may panic; an accepted MFA header is two words of the input that print back to the
//! same header, and an accepted range lies within the object.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mamori_s3::headers::{parse_mfa, parse_range};

const SIZES: [u64; 6] = [0, 1, 2, 10, 1 << 40, u64::MAX];

fuzz_target!(|data: &[u8]| {
    let Some((&pick, rest)) = data.split_first() else { return };
    let Ok(header) = std::str::from_utf8(rest) else { return };
    if pick % 2 == 0 {
        let Ok(got) = parse_mfa(header) else { return };
        assert!(!got.serial.is_empty() && !got.code.is_empty());
        assert!(!got.serial.contains(' ') && !got.code.contains(' '));
        assert!(header.contains(got.serial) && header.contains(got.code));
        let printed = format!("{} {}", got.serial, got.code);
        assert_eq!(parse_mfa(&printed).expect("printed form"), got);
    } else {
        let size = SIZES[usize::from(pick / 2) % SIZES.len()];
        match parse_range(Some(header), size) {
            Ok(Some((first, last))) => assert!(first <= last && last < size),
            Ok(None) => {}
            Err(e) => assert_eq!((e.code.as_str(), e.status), ("InvalidRange", Some(416))),
        }
    }
});
