//! The operation handlers, one file per family.

pub mod alarms;
pub mod data;
pub mod history;
pub mod metrics;
pub mod tags;
