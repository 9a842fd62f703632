//! Integration tests of `gatehouse-plugins` against the Entra simulator over real HTTP.
// Test code: helpers outside #[test] functions may unwrap and panic like the tests do.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "plugins/common.rs"]
mod common;
#[path = "plugins/graph_faults.rs"]
mod graph_faults;
#[path = "plugins/id_token.rs"]
mod id_token;
#[path = "plugins/login.rs"]
mod login;
#[path = "plugins/m2m.rs"]
mod m2m;
#[path = "plugins/oidc.rs"]
mod oidc;
#[path = "plugins/private_key_jwt.rs"]
mod private_key_jwt;
#[path = "plugins/simulator.rs"]
mod simulator;
#[path = "plugins/token_errors.rs"]
mod token_errors;
#[path = "plugins/urls.rs"]
mod urls;
