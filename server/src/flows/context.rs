//! The context a flow carries from stage to stage, stored as JSON in `flow_states`.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct FlowContext {
    /// Where to go when the flow ends (a relative path, checked when the flow starts).
    pub next: Option<String>,
    /// The user this flow is about (identified, or written by `user_write`).
    pub pending_user: Option<i64>,
    /// What the user typed to identify themselves, when no user matched (so that the password
    /// stage fails exactly like it does for a wrong password).
    pub pending_identifier: Option<String>,
    /// The user logged in when the flow started.
    pub session_user: Option<i64>,
    /// User properties for `user_write` (from a source's mappings, or from prompts).
    pub properties: Map<String, Value>,
    /// Set when a source started this flow (a login through an external identity provider).
    pub is_sso: bool,
    /// The source that started this flow: `{"slug", "name", ...}` — written by the source callback.
    pub source: Option<Value>,
    /// The application an authorization flow is for: `{"slug", "name", "permissions"}`.
    pub application: Option<Value>,
    /// The flow cookie of a suspended flow to continue when this one ends (source stage).
    pub resume: Option<String>,
    /// `prompt=consent` from the application: the consent stage asks even when an earlier consent
    /// covers the request. Absent in contexts stored before it existed (`false`).
    pub force_consent: bool,
    /// Per-stage private data, keyed by stage.
    pub extra: Map<String, Value>,
}
