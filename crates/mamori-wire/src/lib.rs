//! AWS wire protocols for mamori, driven by the vendored botocore service models.
//!
//! - [`models`]: the embedded models, parsed lazily.
//! - [`route`]: which service and operation a request is for.
//! - [`sigv4`]: Signature Version 4 verification (header, presigned, streaming chunks).
//! - [`sigv2`]: S3's legacy presigned URLs (botocore's default for S3 presigning).
//! - [`protocol`]: one codec per protocol turning wire input into the neutral value form
//!   and the neutral output (or an [`mamori_aws::AwsError`]) back into wire bytes.
//!
//! The neutral form is JSON: structures are objects keyed by member name, lists are
//! arrays, maps are objects, timestamps are epoch seconds (numbers) and blobs are base64
//! strings. It is what the AWS JSON protocol sends, so handlers deserialize it with serde.
#![warn(missing_docs)]

pub mod audit;
pub mod model;
pub mod models;
pub mod protocol;
pub mod route;
pub mod sigv2;
pub mod sigv4;
mod validate;
mod xml;

pub use protocol::{Protocol, WireRequest, WireResponse};
