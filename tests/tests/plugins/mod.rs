//! `gatehouse-plugins` against the Entra simulator over real HTTP.

mod common;
mod graph_faults;
mod id_token;
mod login;
mod m2m;
mod oidc;
mod private_key_jwt;
mod simulator;
mod token_errors;
mod urls;
