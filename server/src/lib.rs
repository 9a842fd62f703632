//! Gatehouse: an identity server. This crate is the binary and its core: configuration, storage,
//! the admin API and HTTP plumbing. Source plugins live in `gatehouse-plugins`, the Rhai mapping
//! engine in `gatehouse-mappings`.

pub mod api;
pub mod app;
pub mod bootstrap;
pub mod cli;
pub mod config;
pub mod crypto;
pub mod db;
pub mod error;
pub mod flows;
pub mod health;
pub mod http;
pub mod json;
pub mod maintenance;
pub mod provider;
pub mod sessions;
pub mod sources;
pub mod state;
pub mod telemetry;
pub mod text;
pub mod validate;
pub mod web;
