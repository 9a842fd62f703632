//! Stage kinds. Each kind validates its settings (for the admin API), and runs in a flow:
//! [`StageKind::enter`] when the stage becomes current (interactive kinds return a challenge,
//! the others do their work), [`StageKind::submit`] with the user's answer to the challenge.

pub mod consent;
pub mod deny;
pub mod identification;
pub mod password;
pub mod source;
pub mod source_sync;
pub mod user_login;
pub mod user_logout;
pub mod user_write;

use std::collections::BTreeMap;

use chrono::NaiveDateTime;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use super::challenge::Challenge;
use super::context::FlowContext;
use super::end::FlowEnd;
use crate::crypto::Keys;
use crate::db::flows::FlowRow;
use crate::db::{DbConn, StoreError};
use crate::error::FieldErrors;
use crate::http::client::ClientInfo;

/// A stage as planned: a snapshot of its row, so that editing a stage does not change flows
/// already under way.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct PlannedStage {
    /// `None` for stages the engine adds itself (e.g. a source's connection update).
    pub uuid: Option<String>,
    pub name: String,
    pub kind: String,
    pub settings: Value,
}

/// Cookie and session changes a step asks for; applied only if the step's transaction commits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    SetFlowCookie(String),
    ClearFlowCookie,
    SetSession { token: String, max_age_seconds: i64 },
    ClearSession,
}

/// What the environment gives a stage besides the database.
#[derive(Debug, Clone, Copy)]
pub struct FlowEnv<'a> {
    pub keys: &'a Keys,
    pub client: &'a ClientInfo,
    /// The browser's session cookie, if any (for logout).
    pub session_cookie: Option<&'a str>,
    pub now: NaiveDateTime,
    /// What runs when the flow ends (the provider issues an authorization code).
    pub end: &'a dyn FlowEnd,
}

pub struct StageCtx<'a, 'e> {
    pub conn: &'a mut DbConn,
    pub env: FlowEnv<'e>,
    pub flow: &'a FlowRow,
    /// The SHA-256 of the browser's flow cookie: names this flow (and this browser) in counters,
    /// also while the flow is not stored yet.
    pub flow_key: &'a str,
    pub stage: &'a PlannedStage,
    pub context: &'a mut FlowContext,
    pub effects: &'a mut Vec<Effect>,
}

impl StageCtx<'_, '_> {
    /// The stage's settings, parsed (defaults filled in). Settings were validated when saved, so a
    /// failure here means a corrupted row: a flow error, not a panic.
    pub fn settings<T: DeserializeOwned>(&self) -> Result<T, FlowError> {
        // Deserialised from a borrowed value: settings may be large (a source login's groups).
        T::deserialize(&self.stage.settings).map_err(|e| {
            FlowError::misconfigured(format!("stage `{}` has invalid settings: {e}", self.stage.name))
        })
    }

    pub fn challenge(&self, component: &str) -> Challenge {
        let mut challenge = Challenge::new(component);
        challenge.flow_info.title = if self.flow.title.is_empty() {
            self.flow.name.clone()
        } else {
            self.flow.title.clone()
        };
        challenge.flow_info.slug = self.flow.slug.clone();
        challenge
    }

    /// Records an event (attached to the pending user when there is one).
    pub fn event(&mut self, action: &str, context: Value) -> Result<(), StoreError> {
        let user = match self.context.pending_user {
            Some(id) => crate::db::users::get(self.conn, crate::db::UserId(id))
                .ok()
                .map(|u| crate::db::events::EventUser {
                    pk: u.id,
                    username: u.username,
                    email: u.email,
                }),
            None => None,
        };
        let mut context = context;
        if let Some(map) = context.as_object_mut() {
            map.insert("flow".into(), Value::String(self.flow.slug.clone()));
            map.insert("stage".into(), Value::String(self.stage.name.clone()));
        }
        crate::db::events::insert(
            self.conn,
            &crate::db::events::Event {
                action,
                user,
                context,
                client_ip: self.env.client.ip.as_deref(),
            },
        )?;
        Ok(())
    }
}

/// How a stage finished.
#[derive(Debug)]
pub enum StageOutcome {
    /// Done; go on to the next stage.
    Next,
    /// Show (or show again, with errors) this challenge.
    Show(Challenge),
    /// Leave the flow for another URL (a source's login); the flow waits, for at most
    /// `timeout_seconds`, to be resumed where it stopped.
    Suspend { to: String, timeout_seconds: i64 },
    /// End the flow with an access-denied page.
    Deny(String),
}

/// A stage could not do its job. `message` is shown to the user; `detail` goes to the log.
#[derive(Debug)]
pub struct FlowError {
    pub message: String,
    pub detail: Option<String>,
    pub store: Option<StoreError>,
}

impl FlowError {
    pub fn user(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            detail: None,
            store: None,
        }
    }

    pub fn misconfigured(detail: impl Into<String>) -> Self {
        Self {
            message: "This sign-in flow is misconfigured; please contact your administrator.".into(),
            detail: Some(detail.into()),
            store: None,
        }
    }
}

impl From<StoreError> for FlowError {
    fn from(error: StoreError) -> Self {
        Self {
            message: "Something went wrong on our side; please try again.".into(),
            detail: Some(error.to_string()),
            store: Some(error),
        }
    }
}

pub trait StageKind: Send + Sync {
    /// The kind's name in the API (`stages/<kind>/`) and in stored rows.
    fn kind(&self) -> &'static str;
    fn description(&self) -> &'static str;
    /// Whether administrators may create stages of this kind (internal kinds are added by the
    /// engine itself).
    fn creatable(&self) -> bool {
        true
    }
    /// Whether the stage waits for the user (its `enter` only reads and shows a challenge).
    /// Non-interactive stages act when entered, so the executor runs them in a transaction.
    fn interactive(&self) -> bool {
        false
    }
    /// Validates settings from the API and returns them normalised (defaults filled in).
    fn validate(&self, conn: &mut DbConn, settings: &Value) -> Result<Value, FieldErrors>;
    fn enter(&self, ctx: &mut StageCtx<'_, '_>) -> Result<StageOutcome, FlowError>;
    fn submit(
        &self,
        ctx: &mut StageCtx<'_, '_>,
        response: &Map<String, Value>,
    ) -> Result<StageOutcome, FlowError> {
        let _ = response;
        self.enter(ctx)
    }
}

/// Parses settings into their typed form, reporting serde errors by field.
pub fn parse_settings<T: DeserializeOwned + Serialize>(settings: &Value) -> Result<T, FieldErrors> {
    let text = settings.to_string();
    let mut deserializer = serde_json::Deserializer::from_str(&text);
    serde_path_to_error::deserialize(&mut deserializer).map_err(|e| {
        let path = e.path().to_string();
        let message = e.inner().to_string();
        let field = message
            .split('`')
            .nth(1)
            .filter(|_| message.starts_with("unknown field") || message.starts_with("missing field"))
            .map(str::to_owned)
            .unwrap_or_else(|| {
                if path == "." {
                    "non_field_errors".into()
                } else {
                    path
                }
            });
        let message = if message.starts_with("unknown field") {
            "Unknown field.".to_owned()
        } else if message.starts_with("missing field") {
            "This field is required.".to_owned()
        } else {
            message
                .rsplit_once(" at line ")
                .map_or(message.clone(), |(m, _)| m.to_owned())
        };
        let mut errors = BTreeMap::new();
        errors.insert(field, vec![message]);
        errors
    })
}

/// Serialises normalised settings back to JSON.
pub fn normalised<T: Serialize>(settings: &T) -> Result<Value, FieldErrors> {
    serde_json::to_value(settings).map_err(|e| {
        let mut errors = BTreeMap::new();
        errors.insert("non_field_errors".to_owned(), vec![e.to_string()]);
        errors
    })
}

/// Every stage kind, in the order the API lists them.
pub fn registry() -> &'static [&'static dyn StageKind] {
    &[
        &identification::Identification,
        &password::Password,
        &user_write::UserWrite,
        &user_login::UserLogin,
        &user_logout::UserLogout,
        &consent::Consent,
        &deny::Deny,
        &source::Source,
        &source_sync::SourceSync,
    ]
}

pub fn find(kind: &str) -> Option<&'static dyn StageKind> {
    registry().iter().copied().find(|k| k.kind() == kind)
}

/// Adds one error to a map.
pub fn error(errors: &mut FieldErrors, field: &str, message: impl Into<String>) {
    errors.entry(field.to_owned()).or_default().push(message.into());
}
