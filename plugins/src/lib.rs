//! Gatehouse source plugins.
//!
//! A source plugin talks to an upstream identity provider and returns plain data: it builds the
//! authorization redirect, completes the callback (token exchange, id_token validation, profile and
//! group fetch) and validates machine-to-machine tokens. It knows nothing of HTTP handlers or the
//! database: the server loads the source row, builds a [`SourceConfig`], calls the plugin through
//! the [`Registry`], stores the returned state and applies the results.
//!
//! Built-in plugins: `entraid` (Microsoft Entra ID + Microsoft Graph) and `openidconnect` (generic
//! OpenID Connect via discovery), each behind a default-on Cargo feature of the same name.

// Shared helpers are only partly used when a plugin feature is switched off.
#![cfg_attr(not(all(feature = "entraid", feature = "openidconnect")), allow(dead_code))]

mod authorize;
mod cache;
mod error;
mod idtoken;
mod jwt;
mod oauth;
mod plugin;
mod registry;
mod types;
mod util;

#[cfg(feature = "entraid")]
pub mod entraid;
#[cfg(feature = "openidconnect")]
pub mod oidc;

pub use cache::JwksCache;
pub use error::PluginError;
pub use plugin::{PluginContext, SourcePlugin, default_http_client};
pub use registry::Registry;
pub use types::{
    AuthorizationRedirect, AuthorizationRequest, BaseProperties, CallbackData, ClientCredential, FieldErrors,
    GroupInfo, GroupSync, MachineIdentity, MachineTokenRules, ResolvedUrls, SourceConfig,
    SourceTypeDescription, UpstreamGroup, UpstreamIdentity, UpstreamTokens,
};
