//! CloudTrail's operations, one file per family.

pub mod lookup;
pub mod trails;
