//! End-to-end tests of Gatehouse through its real HTTP interface, on SQLite and PostgreSQL.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod browser;
mod browser_harness;
mod entra;
mod flows;
mod foundation;
mod load;
mod mappings;
mod plugins;
mod provider;
