//! `source`: embeds a source inside a flow. The flow is suspended (for at most
//! `resume_timeout` seconds) while the browser signs in at the source; when the source's own
//! flow has finished, this flow resumes here and the stage passes.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::{FlowError, StageCtx, StageKind, StageOutcome, error, normalised, parse_settings};
use crate::db::{self, DbConn, StoreError};
use crate::error::FieldErrors;

pub struct Source;

/// Context key (in `extra`) marking the source a suspended flow waits for.
pub const AWAITING: &str = "awaiting_source";
/// Context key (in `extra`) set when the source has finished and the flow resumed.
pub const RETURNED: &str = "source_returned";

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SourceStageSettings {
    /// The source (pk) to sign in with.
    pub source: String,
    /// Seconds the flow waits for the source to come back.
    #[serde(default = "default_resume_timeout")]
    pub resume_timeout: i64,
}

fn default_resume_timeout() -> i64 {
    600
}

impl StageKind for Source {
    fn kind(&self) -> &'static str {
        "source"
    }

    fn description(&self) -> &'static str {
        "Sends the user to a source (e.g. Entra ID) and resumes the flow when they come back."
    }

    fn validate(&self, conn: &mut DbConn, settings: &Value) -> Result<Value, FieldErrors> {
        let parsed: SourceStageSettings = parse_settings(settings)?;
        let mut errors = FieldErrors::new();
        match db::sources::by_uuid(conn, &parsed.source) {
            Ok(_) => {}
            Err(StoreError::NotFound) => error(
                &mut errors,
                "source",
                format!("Unknown source `{}`.", parsed.source),
            ),
            Err(e) => error(&mut errors, "source", e.to_string()),
        }
        if !(30..=86_400).contains(&parsed.resume_timeout) {
            error(&mut errors, "resume_timeout", "Between 30 seconds and one day.");
        }
        if errors.is_empty() {
            normalised(&parsed)
        } else {
            Err(errors)
        }
    }

    fn enter(&self, ctx: &mut StageCtx<'_, '_>) -> Result<StageOutcome, FlowError> {
        let settings: SourceStageSettings = ctx.settings()?;
        let source = db::sources::by_uuid(ctx.conn, &settings.source).map_err(|e| match e {
            StoreError::NotFound => {
                FlowError::misconfigured(format!("source stage: source {} is gone", settings.source))
            }
            other => other.into(),
        })?;
        if ctx
            .context
            .extra
            .remove(RETURNED)
            .and_then(|v| v.as_str().map(str::to_owned))
            == Some(source.slug.clone())
        {
            ctx.context.extra.remove(AWAITING);
            return Ok(StageOutcome::Next);
        }
        if !source.enabled {
            return Err(FlowError::user(format!(
                "Sign-in with {} is currently disabled.",
                source.name
            )));
        }
        ctx.context.extra.insert(AWAITING.into(), json!(source.slug));
        Ok(StageOutcome::Suspend {
            to: source.login_url(),
            timeout_seconds: settings.resume_timeout,
        })
    }
}
