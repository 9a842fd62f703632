//! Plain data exchanged between the server and the plugins.

use std::collections::BTreeMap;
use std::fmt;

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;

/// What a plugin says about itself (served by the source-types endpoint).
#[derive(Clone, Debug, Serialize)]
pub struct SourceTypeDescription {
    /// Registry name, stored in the source row (`entraid`, `openidconnect`).
    pub name: String,
    pub verbose_name: String,
    /// Path under the static folder, e.g. `sources/entraid.svg`.
    pub icon: String,
    /// Whether the admin may override the four URLs.
    pub urls_customizable: bool,
    pub authorization_url: Option<String>,
    pub access_token_url: Option<String>,
    pub profile_url: Option<String>,
    pub oidc_jwks_url: Option<String>,
    /// JSON Schema of the source's `settings` object.
    pub settings_schema: Value,
}

/// How the source authenticates itself to the upstream token endpoint.
#[derive(Clone)]
pub enum ClientCredential {
    /// `client_secret_post` with the shared secret.
    Secret(String),
    /// `private_key_jwt`: a client assertion signed RS256 with the key of the certificate
    /// registered upstream (header `x5t#S256`).
    PrivateKeyJwt {
        private_key_pem: String,
        certificate_pem: String,
    },
}

impl fmt::Debug for ClientCredential {
    // Secrets and keys never reach logs.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Secret(_) => f.write_str("Secret(***)"),
            Self::PrivateKeyJwt { .. } => f.write_str("PrivateKeyJwt(***)"),
        }
    }
}

/// A source as the plugin sees it: the decrypted credential and the admin's settings.
#[derive(Clone, Debug)]
pub struct SourceConfig {
    pub slug: String,
    pub name: String,
    /// OAuth client id (Entra "Application (client) ID").
    pub consumer_key: String,
    pub credential: ClientCredential,
    /// Space-separated extra scopes, as in authentik.
    pub additional_scopes: String,
    pub authorization_url: Option<String>,
    pub access_token_url: Option<String>,
    pub profile_url: Option<String>,
    pub oidc_jwks_url: Option<String>,
    /// Plugin-specific settings; their schema is [`SourceTypeDescription::settings_schema`].
    pub settings: Value,
}

/// Validation errors by field name (`consumer_key`, `settings.tenant`, …).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct FieldErrors(pub BTreeMap<String, Vec<String>>);

impl FieldErrors {
    pub fn add(&mut self, field: impl Into<String>, message: impl Into<String>) {
        self.0.entry(field.into()).or_default().push(message.into());
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn get(&self, field: &str) -> Option<&[String]> {
        self.0.get(field).map(Vec::as_slice)
    }

    pub fn into_result(self) -> Result<(), FieldErrors> {
        if self.is_empty() { Ok(()) } else { Err(self) }
    }
}

impl fmt::Display for FieldErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        for (field, messages) in &self.0 {
            for message in messages {
                if !first {
                    f.write_str("; ")?;
                }
                first = false;
                write!(f, "{field}: {message}")?;
            }
        }
        Ok(())
    }
}

impl std::error::Error for FieldErrors {}

/// The effective upstream URLs of a source (explicit settings win over derived defaults).
/// `None` means "not known without network" (generic OIDC before discovery).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct ResolvedUrls {
    pub authorization_url: Option<String>,
    pub access_token_url: Option<String>,
    pub profile_url: Option<String>,
    pub oidc_jwks_url: Option<String>,
    /// Microsoft Graph base (origin of the profile URL), Entra only.
    pub graph_base: Option<String>,
    /// Expected id_token issuer; may hold the literal `{tenantid}` placeholder (multi-tenant) or
    /// be `None` when it must be discovered (domain-form tenant, generic OIDC without settings).
    pub issuer: Option<String>,
}

/// Input of [`crate::SourcePlugin::authorization_redirect`].
#[derive(Clone, Debug, Default)]
pub struct AuthorizationRequest {
    /// Absolute callback URL registered upstream.
    pub redirect_uri: String,
    pub login_hint: Option<String>,
    /// Extra query parameters (`prompt`, `domain_hint`, …). They cannot override `state`,
    /// `nonce`, PKCE, `client_id`, `redirect_uri`, `response_type` or `scope`.
    pub extra_params: Vec<(String, String)>,
}

/// Output of [`crate::SourcePlugin::authorization_redirect`]: the server redirects to `url` and
/// stores `state`, `nonce` and `pkce_verifier` (single use, bound to the browser session).
#[derive(Clone)]
pub struct AuthorizationRedirect {
    pub url: String,
    pub state: String,
    pub nonce: String,
    pub pkce_verifier: String,
}

impl fmt::Debug for AuthorizationRedirect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthorizationRedirect")
            .field("url", &self.url)
            .finish_non_exhaustive()
    }
}

/// Input of [`crate::SourcePlugin::complete`]; the server has already checked `state`.
#[derive(Clone)]
pub struct CallbackData {
    pub code: String,
    pub redirect_uri: String,
    pub nonce: String,
    pub pkce_verifier: String,
}

impl fmt::Debug for CallbackData {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CallbackData")
            .field("redirect_uri", &self.redirect_uri)
            .finish_non_exhaustive()
    }
}

/// The base user properties, before the source's property mappings run.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct BaseProperties {
    pub username: Option<String>,
    pub email: Option<String>,
    pub name: Option<String>,
}

/// One upstream group.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct UpstreamGroup {
    /// Stable upstream id (Entra group object id).
    pub identifier: String,
    /// Display name, falling back to the identifier.
    pub name: String,
    /// The raw upstream object, for mappings.
    pub info: GroupInfo,
}

/// An upstream group object kept as its JSON text and parsed only when a mapping asks for it.
/// A user in thousands of groups otherwise costs a map per group to build and to free on every
/// login (measured: a quarter of a repeat login with 5000 groups), although most sources have no
/// mapping that reads them.
#[derive(Clone, Debug, Serialize)]
#[serde(transparent)]
pub struct GroupInfo(Box<serde_json::value::RawValue>);

impl GroupInfo {
    /// Keeps an object received as JSON text.
    pub fn from_raw(raw: Box<serde_json::value::RawValue>) -> Self {
        Self(raw)
    }

    /// `None` only if the value cannot be written as JSON (never for a parsed `Value`).
    pub fn from_value(value: &Value) -> Option<Self> {
        serde_json::value::to_raw_value(value).ok().map(Self)
    }

    /// The JSON text as received.
    pub fn text(&self) -> &str {
        self.0.get()
    }

    /// The object's fields; empty when the upstream value is not an object.
    pub fn to_map(&self) -> serde_json::Map<String, Value> {
        serde_json::from_str(self.0.get()).unwrap_or_default()
    }
}

impl PartialEq for GroupInfo {
    fn eq(&self, other: &Self) -> bool {
        self.text() == other.text()
    }
}

/// Outcome of the group fetch. A failure does not fail the login; the server decides
/// (`settings.on_group_error`).
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum GroupSync {
    /// Group sync is not enabled for this source: leave memberships alone.
    Off,
    /// The complete, authoritative list of the user's groups.
    Synced { groups: Vec<UpstreamGroup> },
    /// The list could not be fetched completely; `reason` is safe to show and log.
    Failed { reason: String },
}

/// Tokens obtained from the upstream token endpoint.
#[derive(Clone, Serialize)]
pub struct UpstreamTokens {
    pub access_token: String,
    pub refresh_token: Option<String>,
    /// Absolute expiry computed from `expires_in` at receipt.
    pub expires_at: Option<DateTime<Utc>>,
    pub id_token: Option<String>,
}

impl fmt::Debug for UpstreamTokens {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UpstreamTokens")
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

/// Everything a completed login yields.
#[derive(Clone, Debug)]
pub struct UpstreamIdentity {
    /// Stable user id at the source (Entra: Graph `id` = `oid`, never the pairwise `sub`).
    pub identifier: String,
    /// The profile JSON (Entra: Graph `/me`), the `info` of property mappings.
    pub info: Value,
    pub base: BaseProperties,
    pub groups: GroupSync,
    /// The validated id_token claims.
    pub claims: Value,
    pub tokens: UpstreamTokens,
}

/// What a machine token must satisfy besides signature, issuer and time.
#[derive(Clone, Debug, Default)]
pub struct MachineTokenRules {
    /// Accepted audiences; empty means the plugin default (Entra: `api://<client id>` and the
    /// client id itself).
    pub audiences: Vec<String>,
    /// Accepted calling applications (`appid` v1 / `azp` v2); empty: no allow-list (then
    /// `required_roles` must name who may exchange; the server refuses a rule set naming
    /// nobody before it asks a plugin).
    pub allowed_app_ids: Vec<String>,
    /// App roles that must all appear in the token's `roles` claim.
    pub required_roles: Vec<String>,
}

impl MachineTokenRules {
    /// Whether the rules name who may exchange (an allow-list or required roles).
    pub fn names_callers(&self) -> bool {
        !self.allowed_app_ids.is_empty() || !self.required_roles.is_empty()
    }

    /// Checks the calling application against the allow-list and the required roles; the
    /// error is a readable reason.
    pub fn check_caller(&self, app_id: &str, claims: &Value) -> Result<(), String> {
        if !self.allowed_app_ids.is_empty()
            && !self
                .allowed_app_ids
                .iter()
                .any(|a| a.eq_ignore_ascii_case(app_id))
        {
            return Err(format!(
                "application {app_id} is not allowed: it is not in this provider's jwt_federation_app_ids"
            ));
        }
        let roles: Vec<&str> = match claims.get("roles") {
            Some(Value::Array(items)) => items.iter().filter_map(Value::as_str).collect(),
            Some(Value::String(one)) => vec![one.as_str()],
            _ => Vec::new(),
        };
        // All listed roles, compared exactly: Entra role values are case-sensitive.
        if let Some(missing) = self.required_roles.iter().find(|r| !roles.contains(&r.as_str())) {
            return Err(format!(
                "the token has no role `{missing}` required by this provider (assign the app role \
                 to application {app_id})"
            ));
        }
        Ok(())
    }
}

/// A validated machine token.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct MachineIdentity {
    /// The calling application's client id.
    pub app_id: String,
    pub tenant_id: Option<String>,
    pub claims: Value,
}
