//! Gatehouse's own OAuth2/OIDC provider (DESIGN §8): applications sign their users in through
//! Gatehouse, and services exchange Entra client-credentials tokens for Gatehouse tokens.
//!
//! Endpoints: `/application/o/authorize/`, `token/`, `userinfo/`, `introspect/`, `revoke/`, and
//! per application `/application/o/<slug>/` (issuer), `.well-known/openid-configuration`,
//! `jwks/`, `end-session/`.

pub mod authorize;
pub mod client_auth;
pub mod discovery;
pub mod error;
pub mod keys;
pub mod m2m;
pub mod redirect;
pub mod resource;
pub mod token;
pub mod tokens;
pub mod trust;

use actix_web::web;

use crate::config::Settings;
use crate::db::providers::{ApplicationRow, ProviderRow};

pub use error::OAuthError;

/// The scopes Gatehouse knows, with what the consent page says about each.
pub const SCOPES: &[(&str, &str)] = &[
    ("openid", "Sign you in"),
    ("profile", "See your name, username and groups"),
    ("email", "See your email address"),
    ("offline_access", "Stay signed in (refresh tokens)"),
];

pub const DEFAULT_SCOPES: &str = "openid profile email offline_access";

/// A provider with the application it serves (whose slug names the issuer).
#[derive(Debug, Clone)]
pub struct Client {
    pub provider: ProviderRow,
    pub application: ApplicationRow,
}

impl Client {
    pub fn issuer(&self, settings: &Settings) -> String {
        issuer(settings, &self.application.slug)
    }
}

pub fn issuer(settings: &Settings, slug: &str) -> String {
    settings.absolute_url(&format!("/application/o/{slug}/"))
}

/// The requested scopes this provider grants, de-duplicated, in request order.
pub fn granted_scopes(provider: &ProviderRow, requested: &str) -> Vec<String> {
    let allowed: Vec<&str> = provider.scopes.split_whitespace().collect();
    let mut out: Vec<String> = Vec::new();
    for scope in requested.split_whitespace() {
        if allowed.contains(&scope) && !out.iter().any(|s| s == scope) {
            out.push(scope.to_owned());
        }
    }
    out
}

/// Registers the provider's endpoints (outside `/api/v3`).
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(authorize::authorize)
        .service(token::token)
        .service(resource::userinfo_get)
        .service(resource::userinfo_post)
        .service(resource::introspect)
        .service(resource::revoke)
        .service(discovery::configuration)
        .service(discovery::jwks)
        .service(discovery::end_session);
}
