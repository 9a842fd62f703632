//! testkit

pub mod pg;
