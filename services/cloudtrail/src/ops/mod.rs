//! CloudTrail's operations, one file per family.

pub mod checks;
pub mod keys;
pub mod lookup;
pub mod trails;
