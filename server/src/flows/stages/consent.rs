//! `consent`: in an authorization flow, asks the user to allow the application access, and
//! remembers the answer (`permanent`, `expiring`) or asks every time (`always_require`).

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use super::{FlowError, StageCtx, StageKind, StageOutcome, error, normalised, parse_settings};
use crate::db::{self, DbConn};
use crate::error::FieldErrors;

pub struct Consent;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ConsentMode {
    AlwaysRequire,
    Permanent,
    Expiring,
}

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields, default)]
pub struct ConsentSettings {
    pub mode: ConsentMode,
    /// For `expiring`: how long a consent lasts, in seconds.
    pub consent_expire_in: i64,
}

impl Default for ConsentSettings {
    fn default() -> Self {
        Self {
            mode: ConsentMode::AlwaysRequire,
            consent_expire_in: 4 * 7 * 86_400,
        }
    }
}

/// The application and the permissions asked for, as the provider put them in the context.
fn application(ctx: &StageCtx<'_, '_>) -> Option<(String, String, Vec<String>)> {
    let app = ctx.context.application.as_ref()?;
    let slug = app.get("slug")?.as_str()?.to_owned();
    let name = app
        .get("name")
        .and_then(Value::as_str)
        .unwrap_or(&slug)
        .to_owned();
    let permissions = app
        .get("permissions")
        .and_then(Value::as_array)
        .map(|items| {
            items
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default();
    Some((slug, name, permissions))
}

impl StageKind for Consent {
    fn kind(&self) -> &'static str {
        "consent"
    }

    fn description(&self) -> &'static str {
        "Asks the user to allow an application access."
    }

    fn interactive(&self) -> bool {
        true
    }

    fn validate(&self, _conn: &mut DbConn, settings: &Value) -> Result<Value, FieldErrors> {
        let parsed: ConsentSettings = parse_settings(settings)?;
        let mut errors = FieldErrors::new();
        if parsed.consent_expire_in < 60 {
            error(&mut errors, "consent_expire_in", "At least 60 seconds.");
        }
        if errors.is_empty() {
            normalised(&parsed)
        } else {
            Err(errors)
        }
    }

    fn enter(&self, ctx: &mut StageCtx<'_, '_>) -> Result<StageOutcome, FlowError> {
        let settings: ConsentSettings = ctx.settings()?;
        let Some((slug, name, permissions)) = application(ctx) else {
            // Not in an authorization: nothing to consent to.
            return Ok(StageOutcome::Next);
        };
        let user = ctx
            .context
            .pending_user
            .or(ctx.context.session_user)
            .ok_or_else(|| FlowError::misconfigured("consent stage reached without a user"))?;
        // `prompt=consent` from the application: ask even when an earlier consent covers it.
        let forced = ctx.context.force_consent;
        if settings.mode != ConsentMode::AlwaysRequire
            && !forced
            && db::consents::has_consent(ctx.conn, user, &slug, &permissions.join(" "), ctx.env.now)?
        {
            return Ok(StageOutcome::Next);
        }
        Ok(StageOutcome::Show(
            ctx.challenge("consent")
                .field("application", json!({"slug": slug, "name": name}))
                .field("permissions", json!(permissions)),
        ))
    }

    fn submit(
        &self,
        ctx: &mut StageCtx<'_, '_>,
        response: &Map<String, Value>,
    ) -> Result<StageOutcome, FlowError> {
        let settings: ConsentSettings = ctx.settings()?;
        let Some((slug, _, permissions)) = application(ctx) else {
            return Ok(StageOutcome::Next);
        };
        if response.get("action").and_then(Value::as_str) == Some("deny") {
            ctx.event("consent_denied", json!({"application": slug}))?;
            return Ok(StageOutcome::Deny(
                "You did not allow the application access.".into(),
            ));
        }
        let user = ctx
            .context
            .pending_user
            .or(ctx.context.session_user)
            .ok_or_else(|| FlowError::misconfigured("consent stage reached without a user"))?;
        let expires = match settings.mode {
            ConsentMode::AlwaysRequire => None,
            ConsentMode::Permanent => Some(None),
            ConsentMode::Expiring => Some(Some(
                ctx.env.now + chrono::Duration::seconds(settings.consent_expire_in),
            )),
        };
        if let Some(expires) = expires {
            db::consents::grant(
                ctx.conn,
                user,
                &slug,
                &permissions.join(" "),
                expires,
                ctx.env.now,
            )?;
        }
        ctx.event(
            "consent_given",
            json!({"application": slug, "permissions": permissions}),
        )?;
        Ok(StageOutcome::Next)
    }
}
