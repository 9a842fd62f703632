//! The [`SourcePlugin`] trait and the context the server hands to every call.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;

use crate::PluginError;
use crate::cache::JwksCache;
use crate::types::{
    AuthorizationRedirect, AuthorizationRequest, CallbackData, FieldErrors, MachineIdentity,
    MachineTokenRules, ResolvedUrls, SourceConfig, SourceTypeDescription, UpstreamIdentity,
};

/// Shared per-process resources: one HTTP client (pooling, timeouts, no redirects) and the
/// JWKS/discovery cache. Cheap to clone.
#[derive(Clone, Debug)]
pub struct PluginContext {
    pub http: reqwest::Client,
    pub jwks: Arc<JwksCache>,
}

impl PluginContext {
    pub fn new(http: reqwest::Client) -> Self {
        Self {
            http,
            jwks: Arc::new(JwksCache::default()),
        }
    }

    pub fn with_cache(http: reqwest::Client, jwks: Arc<JwksCache>) -> Self {
        Self { http, jwks }
    }
}

/// The HTTP client plugins expect: `timeout` per request (connect timeout capped at 10 s),
/// redirects never followed (token and Graph calls must not be bounced to other hosts), rustls.
pub fn default_http_client(timeout: Duration) -> reqwest::Client {
    let builder = reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(timeout.min(Duration::from_secs(10)))
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("gatehouse/", env!("CARGO_PKG_VERSION")));
    // Building only fails when the TLS backend cannot initialise; fall back to reqwest's
    // defaults rather than panicking on a request path.
    builder.build().unwrap_or_else(|e| {
        tracing::error!(error = %e, "HTTP client configuration failed, using defaults");
        reqwest::Client::new()
    })
}

/// A source type. Implementations are stateless; everything per-source comes in `cfg`.
#[async_trait]
pub trait SourcePlugin: Send + Sync {
    fn description(&self) -> &SourceTypeDescription;

    /// Checks a source's configuration when it is created or changed.
    fn validate(&self, cfg: &SourceConfig) -> Result<(), FieldErrors>;

    /// The effective URLs (explicit settings win); no network.
    fn resolve_urls(&self, cfg: &SourceConfig) -> Result<ResolvedUrls, PluginError>;

    /// Builds the redirect to the upstream authorization endpoint with fresh random `state`,
    /// `nonce` and PKCE (S256) verifier. Async because a generic OIDC source may first need
    /// its discovery document.
    async fn authorization_redirect(
        &self,
        ctx: &PluginContext,
        cfg: &SourceConfig,
        req: AuthorizationRequest,
    ) -> Result<AuthorizationRedirect, PluginError>;

    /// Completes a callback: code exchange, id_token validation, profile and groups.
    async fn complete(
        &self,
        ctx: &PluginContext,
        cfg: &SourceConfig,
        cb: CallbackData,
    ) -> Result<UpstreamIdentity, PluginError>;

    /// Validates a token an upstream issued to a machine client (DESIGN §8).
    async fn validate_machine_token(
        &self,
        ctx: &PluginContext,
        cfg: &SourceConfig,
        token: &str,
        rules: &MachineTokenRules,
    ) -> Result<MachineIdentity, PluginError>;

    /// Whether a failed group fetch must fail the login (Entra `settings.on_group_error =
    /// "deny"`); by default memberships are kept as they were and the failure is reported.
    fn deny_on_group_error(&self, _cfg: &SourceConfig) -> bool {
        false
    }

    /// Whether the source accepts identities of any tenant (Entra `common`/`organizations`
    /// without `allowed_tenants`): anyone outside the operator's organisation can sign in.
    /// Such a source may not federate machine tokens, and the server refuses the matching
    /// modes that trust upstream emails, usernames or group names on it.
    fn accepts_any_tenant(&self, _cfg: &SourceConfig) -> bool {
        false
    }

    /// The email address of a completed login that the upstream vouches for, the only one that
    /// linking by email may use. `None` (the default) when the upstream does not vouch for any.
    fn verified_email(&self, _cfg: &SourceConfig, _identity: &UpstreamIdentity) -> Option<String> {
        None
    }

    /// The client secret's expiry date recorded by the admin, for expiry warnings.
    fn secret_expires(&self, _cfg: &SourceConfig) -> Option<chrono::NaiveDate> {
        None
    }
}
