//! `user_logout`: ends the browser's session server-side and clears the cookie.

use serde_json::{Value, json};

use super::{Effect, FlowError, StageCtx, StageKind, StageOutcome, normalised, parse_settings};
use crate::db::DbConn;
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
        "Logs the user out (ends the session everywhere)."
    }

    fn validate(&self, _conn: &mut DbConn, settings: &Value) -> Result<Value, FieldErrors> {
        let parsed: UserLogoutSettings = parse_settings(settings)?;
        normalised(&parsed)
    }

    fn enter(&self, ctx: &mut StageCtx<'_, '_>) -> Result<StageOutcome, FlowError> {
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
