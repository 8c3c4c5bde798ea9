//! Shared AWS vocabulary for every mamori crate: account ids, regions, ARNs, ids and
//! the protocol-neutral [`AwsError`].
//!
//! This crate does no I/O and knows nothing of wire formats; `mamori-wire` renders an
//! [`AwsError`] in each protocol's own error shape.
#![warn(missing_docs)]

mod arn;
mod error;
mod ids;

pub use arn::{Arn, ArnError};
pub use error::{AwsError, Fault};
pub use ids::{AccountId, Region, new_request_id, timestamp_iso8601};
