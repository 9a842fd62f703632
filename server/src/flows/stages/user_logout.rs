//! `user_logout`: ends the browser's session server-side and clears the cookie — only when the
//! user confirms. Entering the stage (a GET of the logout URL, which any site can trigger with a
//! link or an image) shows a confirmation page; its form is a POST carrying the flow's CSRF token.

use serde_json::{Map, Value, json};

use super::{Effect, FlowError, StageCtx, StageKind, StageOutcome, normalised, parse_settings};
use crate::db::{self, DbConn, UserId};
use crate::error::FieldErrors;

pub struct UserLogout;

#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UserLogoutSettings {}

impl StageKind for UserLogout {
    fn kind(&self) -> &'static str {
        "user_logout"
    }

    fn description(&self) -> &'static str {
        "Logs the user out (ends the session everywhere) once they confirm."
    }

    fn interactive(&self) -> bool {
        true
    }

    fn validate(&self, _conn: &mut DbConn, settings: &Value) -> Result<Value, FieldErrors> {
        let parsed: UserLogoutSettings = parse_settings(settings)?;
        normalised(&parsed)
    }

    fn enter(&self, ctx: &mut StageCtx<'_, '_>) -> Result<StageOutcome, FlowError> {
        let Some(id) = ctx.context.session_user else {
            // Nobody is signed in: there is nothing to confirm (and nothing changes).
            return Ok(StageOutcome::Next);
        };
        let user = db::users::get(ctx.conn, UserId(id))?;
        Ok(StageOutcome::Show(
            ctx.challenge("user_logout").field("pending_user", user.username),
        ))
    }

    /// The confirmation (the executor has checked the form's CSRF token and step).
    fn submit(
        &self,
        ctx: &mut StageCtx<'_, '_>,
        _response: &Map<String, Value>,
    ) -> Result<StageOutcome, FlowError> {
        if let Some(cookie) = ctx.env.session_cookie
            && crate::sessions::end(ctx.conn, cookie)?
        {
            ctx.context.pending_user = ctx.context.session_user;
            ctx.event("logout", json!({}))?;
        }
        ctx.context.session_user = None;
        ctx.effects.push(Effect::ClearSession);
        Ok(StageOutcome::Next)
    }
}
