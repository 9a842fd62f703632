//! Tests of the `gatehouse` binary through its command line, as an operator runs it.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod cli;
