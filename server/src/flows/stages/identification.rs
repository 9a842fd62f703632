//! `identification`: who is signing in — a username/email field and/or buttons for sources,
//! optionally with the password on the same page.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use super::password::{CANCELLED, PasswordFailure, check_password};
use super::{FlowError, StageCtx, StageKind, StageOutcome, error, normalised, parse_settings};
use crate::db::users::UserRow;
use crate::db::{self, DbConn, StoreError};
use crate::error::FieldErrors;

pub struct Identification;

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields, default)]
pub struct IdentificationSettings {
    /// Which identifiers the field accepts: `username`, `email`.
    pub user_fields: Vec<String>,
    /// A password stage (pk) whose check happens on this same page.
    pub password_stage: Option<String>,
    /// Sources (pks) shown as buttons.
    pub sources: Vec<String>,
    /// Also show every enabled source.
    pub show_all_sources: bool,
    /// Show the source names next to their icons.
    pub show_source_labels: bool,
    /// When no user matches, carry on as if one did, so that the page does not reveal which
    /// accounts exist.
    pub pretend_user_exists: bool,
    /// A flow (slug) offered as "Create an account".
    pub enrollment_flow: Option<String>,
    /// A flow (slug) offered as "Forgot password?".
    pub recovery_flow: Option<String>,
}

impl Default for IdentificationSettings {
    fn default() -> Self {
        Self {
            user_fields: vec!["username".into(), "email".into()],
            password_stage: None,
            sources: Vec::new(),
            show_all_sources: false,
            show_source_labels: true,
            pretend_user_exists: true,
            enrollment_flow: None,
            recovery_flow: None,
        }
    }
}

const USER_FIELDS: &[&str] = &["username", "email"];

/// The user an identifier names, by the fields the stage accepts. An email shared by several
/// accounts identifies none of them.
fn find_user(conn: &mut DbConn, fields: &[String], identifier: &str) -> Result<Option<UserRow>, StoreError> {
    if fields.iter().any(|f| f == "username")
        && let Some(user) = db::users::find_by_username(conn, identifier)?
    {
        return Ok(Some(user));
    }
    if fields.iter().any(|f| f == "email") && identifier.contains('@') {
        let mut matches = db::users::find_by_email(conn, identifier, 2)?;
        if matches.len() == 1 {
            return Ok(matches.pop());
        }
    }
    Ok(None)
}

impl Identification {
    fn challenge(
        &self,
        ctx: &mut StageCtx<'_, '_>,
        settings: &IdentificationSettings,
        prefill: &str,
        errors: FieldErrors,
    ) -> Result<StageOutcome, FlowError> {
        let sources = db::sources::login_sources(ctx.conn, &settings.sources, settings.show_all_sources)?;
        // A login through a source ends where this flow would have: carry `next` along.
        let next = ctx.context.next.as_deref().map(|next| {
            format!(
                "?next={}",
                url::form_urlencoded::byte_serialize(next.as_bytes()).collect::<String>()
            )
        });
        let buttons: Vec<Value> = sources
            .iter()
            .map(|s| {
                json!({
                    "name": s.name,
                    "slug": s.slug,
                    "icon_url": s.icon_url(),
                    "promoted": s.promoted,
                    "login_url": format!("{}{}", s.login_url(), next.as_deref().unwrap_or("")),
                })
            })
            .collect();
        let link = |flow: &Option<String>| flow.as_ref().map(|slug| format!("/if/flow/{slug}/"));
        Ok(StageOutcome::Show(
            ctx.challenge("identification")
                .field("user_fields", json!(settings.user_fields))
                .field("password_fields", settings.password_stage.is_some())
                .field("sources", Value::Array(buttons))
                .field("show_source_labels", settings.show_source_labels)
                .field("uid_field", prefill)
                .field("enroll_url", json!(link(&settings.enrollment_flow)))
                .field("recovery_url", json!(link(&settings.recovery_flow)))
                .errors(errors),
        ))
    }
}

impl StageKind for Identification {
    fn kind(&self) -> &'static str {
        "identification"
    }

    fn description(&self) -> &'static str {
        "Asks who is signing in: a username or email field and/or source buttons."
    }

    fn interactive(&self) -> bool {
        true
    }

    fn validate(&self, conn: &mut DbConn, settings: &Value) -> Result<Value, FieldErrors> {
        let parsed: IdentificationSettings = parse_settings(settings)?;
        let mut errors = FieldErrors::new();
        for field in &parsed.user_fields {
            if !USER_FIELDS.contains(&field.as_str()) {
                error(
                    &mut errors,
                    "user_fields",
                    format!("`{field}` is not one of: username, email."),
                );
            }
        }
        if parsed.user_fields.is_empty() && parsed.sources.is_empty() && !parsed.show_all_sources {
            error(
                &mut errors,
                "user_fields",
                "An identification stage needs user fields or at least one source.",
            );
        }
        if let Some(stage) = &parsed.password_stage {
            match db::flows::stage_by_uuid(conn, stage) {
                Ok(row) if row.kind == "password" => {}
                Ok(_) => error(
                    &mut errors,
                    "password_stage",
                    "This stage is not a password stage.",
                ),
                Err(StoreError::NotFound) => {
                    error(&mut errors, "password_stage", format!("Unknown stage `{stage}`."))
                }
                Err(e) => error(&mut errors, "password_stage", e.to_string()),
            }
            if parsed.user_fields.is_empty() {
                error(
                    &mut errors,
                    "password_stage",
                    "A password needs a user field to go with it.",
                );
            }
        }
        match db::sources::existing_uuids(conn, &parsed.sources) {
            Ok(found) => {
                for uuid in &parsed.sources {
                    if !found.contains(uuid) {
                        error(&mut errors, "sources", format!("Unknown source `{uuid}`."));
                    }
                }
            }
            Err(e) => error(&mut errors, "sources", e.to_string()),
        }
        for (field, flow) in [
            ("enrollment_flow", &parsed.enrollment_flow),
            ("recovery_flow", &parsed.recovery_flow),
        ] {
            if let Some(slug) = flow
                && matches!(db::flows::flow_by_slug(conn, slug), Err(StoreError::NotFound))
            {
                error(&mut errors, field, format!("Unknown flow `{slug}`."));
            }
        }
        if errors.is_empty() {
            normalised(&parsed)
        } else {
            Err(errors)
        }
    }

    fn enter(&self, ctx: &mut StageCtx<'_, '_>) -> Result<StageOutcome, FlowError> {
        let settings: IdentificationSettings = ctx.settings()?;
        let prefill = ctx.context.pending_identifier.clone().unwrap_or_default();
        self.challenge(ctx, &settings, &prefill, FieldErrors::new())
    }

    fn submit(
        &self,
        ctx: &mut StageCtx<'_, '_>,
        response: &Map<String, Value>,
    ) -> Result<StageOutcome, FlowError> {
        let settings: IdentificationSettings = ctx.settings()?;
        let identifier = response
            .get("uid_field")
            .and_then(Value::as_str)
            .map(str::trim)
            .unwrap_or_default()
            .to_owned();
        if settings.user_fields.is_empty() {
            let mut errors = FieldErrors::new();
            error(
                &mut errors,
                "non_field_errors",
                "Choose one of the sign-in options.",
            );
            return self.challenge(ctx, &settings, "", errors);
        }
        if identifier.is_empty() || identifier.chars().count() > 254 {
            let mut errors = FieldErrors::new();
            error(&mut errors, "uid_field", "Enter your username or email address.");
            return self.challenge(ctx, &settings, &identifier, errors);
        }
        let user = find_user(ctx.conn, &settings.user_fields, &identifier)?;
        if let Some(stage_uuid) = &settings.password_stage {
            let password = response
                .get("password")
                .and_then(Value::as_str)
                .unwrap_or_default();
            if password.is_empty() {
                let mut errors = FieldErrors::new();
                error(&mut errors, "password", "Enter your password.");
                return self.challenge(ctx, &settings, &identifier, errors);
            }
            // The password stage's own settings (attempt limit) apply on this page too.
            let limit = db::flows::stage_by_uuid(ctx.conn, stage_uuid)
                .ok()
                .and_then(|row| serde_json::from_str::<super::password::PasswordSettings>(&row.settings).ok())
                .unwrap_or_default()
                .failed_attempts_before_cancel;
            return match check_password(ctx, user.as_ref(), &identifier, password, limit)? {
                Ok(()) => {
                    ctx.context.pending_user = user.map(|u| u.id);
                    ctx.context.pending_identifier = None;
                    Ok(StageOutcome::Next)
                }
                Err(PasswordFailure::Cancelled) => Ok(StageOutcome::Deny(CANCELLED.into())),
                Err(failure) => {
                    let mut errors = FieldErrors::new();
                    error(&mut errors, "password", failure.message());
                    self.challenge(ctx, &settings, &identifier, errors)
                }
            };
        }
        match user {
            Some(user) if user.is_active => {
                ctx.context.pending_user = Some(user.id);
                ctx.context.pending_identifier = None;
                Ok(StageOutcome::Next)
            }
            _ if settings.pretend_user_exists => {
                ctx.context.pending_user = None;
                ctx.context.pending_identifier = Some(identifier);
                Ok(StageOutcome::Next)
            }
            _ => {
                let mut errors = FieldErrors::new();
                error(
                    &mut errors,
                    "uid_field",
                    "No account matches this username or email address.",
                );
                self.challenge(ctx, &settings, &identifier, errors)
            }
        }
    }
}
