//! Placeholder, replaced by the evaluation benchmark.

fn main() {}
