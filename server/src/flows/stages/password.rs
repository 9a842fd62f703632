//! `password`: checks the pending user's local password (argon2id). Failures take the same time
//! whether or not the user exists, are rate-limited per user and per client IP across replicas,
//! and are recorded as `login_failed` events.

use chrono::Duration;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use super::{FlowError, StageCtx, StageKind, StageOutcome, normalised, parse_settings};
use crate::db::users::UserRow;
use crate::db::{self, DbConn, UserId, rate_limits};
use crate::error::FieldErrors;

pub struct Password;

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields, default)]
pub struct PasswordSettings {
    /// After this many wrong passwords in one flow, the flow is cancelled.
    pub failed_attempts_before_cancel: u32,
}

impl Default for PasswordSettings {
    fn default() -> Self {
        Self {
            failed_attempts_before_cancel: 5,
        }
    }
}

/// Failures allowed per username and per client IP within [`WINDOW_MINUTES`].
pub const MAX_FAILURES_PER_USER: i32 = 10;
pub const MAX_FAILURES_PER_IP: i32 = 100;
pub const WINDOW_MINUTES: i64 = 5;

pub const INVALID_CREDENTIALS: &str = "Invalid username or password.";
pub const RATE_LIMITED: &str = "Too many failed sign-in attempts. Wait a few minutes and try again.";

/// Why a password check failed.
#[derive(Debug, PartialEq, Eq)]
pub enum PasswordFailure {
    Invalid,
    RateLimited,
}

fn user_key(identifier: &str) -> String {
    format!("password:user:{}", identifier.to_lowercase())
}

fn ip_key(ip: &str) -> String {
    format!("password:ip:{ip}")
}

/// Checks `password` for `user` (or for nobody, when the identifier matched no active user),
/// counting failures. Only a correct password for an existing, active user succeeds.
pub fn check_password(
    ctx: &mut StageCtx<'_, '_>,
    user: Option<&UserRow>,
    identifier: &str,
    password: &str,
) -> Result<Result<(), PasswordFailure>, FlowError> {
    let now = ctx.env.now;
    let window = Duration::minutes(WINDOW_MINUTES);
    let ip = ctx.env.client.ip.clone().unwrap_or_default();
    if rate_limits::current(ctx.conn, &user_key(identifier), window, now)? >= MAX_FAILURES_PER_USER
        || rate_limits::current(ctx.conn, &ip_key(&ip), window, now)? >= MAX_FAILURES_PER_IP
    {
        ctx.event(
            "login_failed",
            json!({"username": identifier, "reason": "rate_limited"}),
        )?;
        return Ok(Err(PasswordFailure::RateLimited));
    }
    let stored = user.filter(|u| u.is_active).and_then(|u| u.password_hash.clone());
    // Always run one argon2 verification, against a dummy hash when there is nothing to check,
    // so that response time does not reveal whether the account exists.
    let hash = stored
        .as_deref()
        .unwrap_or_else(|| crate::crypto::dummy_password_hash());
    let verified = crate::crypto::verify_password(password, hash) && stored.is_some();
    if verified {
        rate_limits::clear(ctx.conn, &user_key(identifier))?;
        return Ok(Ok(()));
    }
    rate_limits::hit(ctx.conn, &user_key(identifier), window, now)?;
    rate_limits::hit(ctx.conn, &ip_key(&ip), window, now)?;
    ctx.event(
        "login_failed",
        json!({"username": identifier, "reason": "invalid_credentials"}),
    )?;
    Ok(Err(PasswordFailure::Invalid))
}

/// The pending user (or the identifier typed when none matched) of a flow.
fn pending(ctx: &mut StageCtx<'_, '_>) -> Result<(Option<UserRow>, String), FlowError> {
    match (ctx.context.pending_user, ctx.context.pending_identifier.clone()) {
        (Some(id), _) => {
            let user = db::users::get(ctx.conn, UserId(id))?;
            let name = user.username.clone();
            Ok((Some(user), name))
        }
        (None, Some(identifier)) => Ok((None, identifier)),
        (None, None) => Err(FlowError::misconfigured(
            "password stage reached without an identified user (put an identification stage first)",
        )),
    }
}

impl StageKind for Password {
    fn kind(&self) -> &'static str {
        "password"
    }

    fn description(&self) -> &'static str {
        "Checks the user's local password."
    }

    fn interactive(&self) -> bool {
        true
    }

    fn validate(&self, _conn: &mut DbConn, settings: &Value) -> Result<Value, FieldErrors> {
        let parsed: PasswordSettings = parse_settings(settings)?;
        if parsed.failed_attempts_before_cancel == 0 {
            let mut errors = FieldErrors::new();
            super::error(
                &mut errors,
                "failed_attempts_before_cancel",
                "Must be at least 1.",
            );
            return Err(errors);
        }
        normalised(&parsed)
    }

    fn enter(&self, ctx: &mut StageCtx<'_, '_>) -> Result<StageOutcome, FlowError> {
        let (_, name) = pending(ctx)?;
        Ok(StageOutcome::Show(
            ctx.challenge("password").field("pending_user", name),
        ))
    }

    fn submit(
        &self,
        ctx: &mut StageCtx<'_, '_>,
        response: &Map<String, Value>,
    ) -> Result<StageOutcome, FlowError> {
        let settings: PasswordSettings = ctx.settings()?;
        let (user, name) = pending(ctx)?;
        let password = response
            .get("password")
            .and_then(Value::as_str)
            .unwrap_or_default();
        if password.is_empty() {
            let mut errors = FieldErrors::new();
            super::error(&mut errors, "password", "Enter your password.");
            return Ok(StageOutcome::Show(
                ctx.challenge("password")
                    .field("pending_user", name)
                    .errors(errors),
            ));
        }
        match check_password(ctx, user.as_ref(), &name, password)? {
            Ok(()) => Ok(StageOutcome::Next),
            Err(failure) => {
                ctx.context.password_failures += 1;
                if ctx.context.password_failures >= settings.failed_attempts_before_cancel {
                    return Ok(StageOutcome::Deny(
                        "Too many failed attempts; sign-in was cancelled. Start again.".into(),
                    ));
                }
                let message = match failure {
                    PasswordFailure::Invalid => INVALID_CREDENTIALS,
                    PasswordFailure::RateLimited => RATE_LIMITED,
                };
                let mut errors = FieldErrors::new();
                super::error(&mut errors, "password", message);
                Ok(StageOutcome::Show(
                    ctx.challenge("password")
                        .field("pending_user", name)
                        .errors(errors),
                ))
            }
        }
    }
}
