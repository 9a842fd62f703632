//! The plugin error type: kinds the server maps to a readable message and an event detail.

use serde_json::{Value, json};

/// A failed plugin call. `Display` is user-presentable text (the server prefixes it with
/// "Sign-in with <source> failed: "); it never contains secrets or tokens.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum PluginError {
    /// The source's configuration cannot work (bad URL, unreadable key, missing setting).
    #[error("the source is misconfigured: {0}")]
    Configuration(String),
    /// The token endpoint answered with an OAuth error (Entra: AADSTS codes).
    #[error("{}", upstream_message(.error, .description.as_deref()))]
    Upstream {
        error: String,
        description: Option<String>,
        /// Entra `error_codes` (AADSTS numbers), empty elsewhere.
        codes: Vec<i64>,
        status: Option<u16>,
    },
    /// The id_token failed validation.
    #[error("the identity token was rejected: {0}")]
    IdToken(String),
    /// The profile (Graph `/me`, userinfo) could not be fetched.
    #[error("the user profile could not be fetched ({})", profile_message(*.status, .body_excerpt))]
    Profile {
        status: Option<u16>,
        body_excerpt: String,
    },
    /// The upstream could not be reached, timed out or sent something unreadable.
    #[error("the identity provider could not be reached: {0}")]
    Network(String),
    /// Discovery metadata or JWKS could not be loaded.
    #[error("the identity provider's metadata could not be loaded: {0}")]
    Metadata(String),
    /// A machine-to-machine token was rejected; `error` is an RFC 6749 code for the server's
    /// token endpoint answer.
    #[error("{description}")]
    MachineToken { error: String, description: String },
}

fn upstream_message(error: &str, description: Option<&str>) -> String {
    // Entra descriptions carry "Trace ID"/"Correlation ID" lines after the first; the first line
    // is the human part ("AADSTS7000215: Invalid client secret provided…").
    match description
        .and_then(|d| d.lines().next())
        .map(str::trim)
        .filter(|l| !l.is_empty())
    {
        Some(first) => first.to_owned(),
        None => format!("the identity provider answered `{error}`"),
    }
}

fn profile_message(status: Option<u16>, body: &str) -> String {
    match (status, body.is_empty()) {
        (Some(s), true) => format!("HTTP {s}"),
        (Some(s), false) => format!("HTTP {s}: {body}"),
        (None, _) => body.to_owned(),
    }
}

impl PluginError {
    /// A stable machine-readable kind for events and API error codes.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Configuration(_) => "configuration",
            Self::Upstream { .. } => "upstream",
            Self::IdToken(_) => "id_token",
            Self::Profile { .. } => "profile",
            Self::Network(_) => "network",
            Self::Metadata(_) => "metadata",
            Self::MachineToken { .. } => "machine_token",
        }
    }

    /// Full detail for the event log (includes Entra trace/correlation ids, never secrets).
    pub fn detail(&self) -> Value {
        match self {
            Self::Upstream {
                error,
                description,
                codes,
                status,
            } => json!({
                "kind": self.kind(), "error": error, "error_description": description,
                "error_codes": codes, "status": status,
            }),
            Self::Profile { status, body_excerpt } => json!({
                "kind": self.kind(), "status": status, "body": body_excerpt,
            }),
            Self::MachineToken { error, description } => json!({
                "kind": self.kind(), "error": error, "error_description": description,
            }),
            other => json!({ "kind": other.kind(), "message": other.to_string() }),
        }
    }

    pub(crate) fn machine(error: &str, description: impl Into<String>) -> Self {
        Self::MachineToken {
            error: error.to_owned(),
            description: description.into(),
        }
    }
}
