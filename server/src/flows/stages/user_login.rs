//! `user_login`: logs the pending user in — a new server-side session (a fresh id every time, so a
//! session id cannot be planted before login), the cookie, `last_login`, a `login` event.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::{Effect, FlowError, StageCtx, StageKind, StageOutcome, error, normalised, parse_settings};
use crate::db::users::UserChanges;
use crate::db::{self, DbConn, UserId};
use crate::error::FieldErrors;

pub struct UserLogin;

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields, default)]
pub struct UserLoginSettings {
    /// How long the session lasts, in seconds.
    pub session_duration: i64,
    /// End the user's other sessions.
    pub terminate_other_sessions: bool,
}

impl Default for UserLoginSettings {
    fn default() -> Self {
        Self {
            session_duration: 86_400,
            terminate_other_sessions: false,
        }
    }
}

impl StageKind for UserLogin {
    fn kind(&self) -> &'static str {
        "user_login"
    }

    fn description(&self) -> &'static str {
        "Logs the user in (creates the session)."
    }

    fn validate(&self, _conn: &mut DbConn, settings: &Value) -> Result<Value, FieldErrors> {
        let parsed: UserLoginSettings = parse_settings(settings)?;
        let mut errors = FieldErrors::new();
        if !(60..=31_536_000).contains(&parsed.session_duration) {
            error(
                &mut errors,
                "session_duration",
                "Between 60 seconds and one year.",
            );
        }
        if errors.is_empty() {
            normalised(&parsed)
        } else {
            Err(errors)
        }
    }

    fn enter(&self, ctx: &mut StageCtx<'_, '_>) -> Result<StageOutcome, FlowError> {
        let settings: UserLoginSettings = ctx.settings()?;
        let id = ctx
            .context
            .pending_user
            .ok_or_else(|| FlowError::user("Invalid username or password."))?;
        let user = db::users::get(ctx.conn, UserId(id))?;
        if !user.is_active {
            ctx.event(
                "login_failed",
                json!({"username": user.username, "reason": "inactive"}),
            )?;
            return Ok(StageOutcome::Deny("This account is disabled.".into()));
        }
        if settings.terminate_other_sessions {
            db::sessions::delete_for_user(ctx.conn, user.id)?;
        }
        // The browser's previous session (perhaps another user's) ends here.
        if let Some(old) = ctx.env.session_cookie {
            crate::sessions::end(ctx.conn, old)?;
        }
        let token = crate::sessions::create(
            ctx.conn,
            &user,
            chrono::Duration::seconds(settings.session_duration),
            ctx.env.client,
            ctx.env.now,
        )?;
        // The answer to a forced re-authentication (its marker rides in `next`, also through a
        // source's login): the marker's nonce goes on this new session, and only on it, where the
        // authorization endpoint will take it once.
        if let Some(marker) = ctx
            .context
            .next
            .as_deref()
            .and_then(|next| crate::flows::reauth::in_next(ctx.env.keys, next, ctx.env.now))
        {
            crate::sessions::mark_reauthenticated(ctx.conn, &token, &marker.nonce)?;
        }
        db::users::update(
            ctx.conn,
            user.id(),
            &UserChanges {
                last_login: Some(Some(ctx.env.now)),
                ..UserChanges::default()
            },
        )?;
        ctx.effects.push(Effect::SetSession {
            token,
            max_age_seconds: settings.session_duration,
        });
        let method = if ctx.context.is_sso { "source" } else { "password" };
        let source = ctx.context.source.clone();
        ctx.event("login", json!({"auth_method": method, "source": source}))?;
        ctx.context.session_user = Some(user.id);
        Ok(StageOutcome::Next)
    }
}
