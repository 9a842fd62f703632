//! Integration tests of `gatehouse-mappings`, one binary with modules.

// clippy.toml allows these inside #[test] functions only; the shared fixtures are test code too.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

mod concurrency;
mod context;
mod defaults;
mod docs;
mod dry_run;
mod errors;
mod helpers;
mod limits;
mod memory;
mod merge;
mod robustness;
mod sandbox;
mod types;
