//! Integration tests of `gatehouse-mappings`, one binary with modules.

mod common;

mod concurrency;
mod context;
mod defaults;
mod docs;
mod dry_run;
mod errors;
mod helpers;
mod limits;
mod merge;
mod robustness;
mod sandbox;
mod types;
