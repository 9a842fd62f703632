//! `deny`: ends the flow with an access-denied page (useful behind a policy or as a placeholder).

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{FlowError, StageCtx, StageKind, StageOutcome, normalised, parse_settings};
use crate::db::DbConn;
use crate::error::FieldErrors;

pub struct Deny;

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields, default)]
pub struct DenySettings {
    pub deny_message: String,
}

impl Default for DenySettings {
    fn default() -> Self {
        Self {
            deny_message: "Access denied.".into(),
        }
    }
}

impl StageKind for Deny {
    fn kind(&self) -> &'static str {
        "deny"
    }

    fn description(&self) -> &'static str {
        "Ends the flow with an access-denied message."
    }

    fn validate(&self, _conn: &mut DbConn, settings: &Value) -> Result<Value, FieldErrors> {
        let parsed: DenySettings = parse_settings(settings)?;
        normalised(&parsed)
    }

    fn enter(&self, ctx: &mut StageCtx<'_, '_>) -> Result<StageOutcome, FlowError> {
        let settings: DenySettings = ctx.settings()?;
        Ok(StageOutcome::Deny(settings.deny_message))
    }
}
