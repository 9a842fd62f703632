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
pub const CANCELLED: &str = "Too many failed attempts; sign-in was cancelled. Start again.";

/// Why a password check failed.
#[derive(Debug, PartialEq, Eq)]
pub enum PasswordFailure {
    Invalid,
    RateLimited,
    /// The flow's own cap (`failed_attempts_before_cancel`) is reached: the flow ends.
    Cancelled,
}

impl PasswordFailure {
    /// The message shown under the password field.
    pub fn message(&self) -> &'static str {
        match self {
            Self::Invalid => INVALID_CREDENTIALS,
            Self::RateLimited => RATE_LIMITED,
            Self::Cancelled => CANCELLED,
        }
    }
}

fn user_key(identifier: &str) -> String {
    format!("password:user:{}", identifier.to_lowercase())
}

fn ip_key(ip: &str) -> String {
    format!("password:ip:{ip}")
}

fn flow_key(flow: &str) -> String {
    format!("password:flow:{flow}")
}

/// Checks `password` for `user` (or for nobody, when the identifier matched no active user).
/// Every attempt is counted *before* argon2 runs, each counter in one statement that returns the
/// new count, so parallel guesses cannot all pass a count read before any of them was recorded:
/// per username and client IP (across replicas), and per flow (this browser's flow cookie, so the
/// cap holds on a one-page login whose flow is not stored). An attempt over a limit is refused
/// without hashing. Only a correct password for an existing, active user succeeds.
pub fn check_password(
    ctx: &mut StageCtx<'_, '_>,
    user: Option<&UserRow>,
    identifier: &str,
    password: &str,
    flow_cap: u32,
) -> Result<Result<(), PasswordFailure>, FlowError> {
    let now = ctx.env.now;
    let window = Duration::minutes(WINDOW_MINUTES);
    let ip = ctx.env.client.ip.clone().unwrap_or_default();
    let flow_window = Duration::minutes(crate::flows::executor::FLOW_TTL_MINUTES);
    let in_flow = rate_limits::hit(ctx.conn, &flow_key(ctx.flow_key), flow_window, now)?;
    let cap = i32::try_from(flow_cap).unwrap_or(i32::MAX);
    // The attempt that reaches the cap is still checked; later ones (parallel) are not.
    let cap_reached = in_flow >= cap;
    if in_flow > cap {
        return Ok(Err(PasswordFailure::Cancelled));
    }
    let by_user = rate_limits::hit(ctx.conn, &user_key(identifier), window, now)?;
    let by_ip = rate_limits::hit(ctx.conn, &ip_key(&ip), window, now)?;
    if by_user > MAX_FAILURES_PER_USER || by_ip > MAX_FAILURES_PER_IP {
        ctx.event(
            "login_failed",
            json!({"username": identifier, "reason": "rate_limited"}),
        )?;
        return Ok(Err(if cap_reached {
            PasswordFailure::Cancelled
        } else {
            PasswordFailure::RateLimited
        }));
    }
    let stored = user.filter(|u| u.is_active).and_then(|u| u.password_hash.clone());
    // Always run one argon2 verification, against a dummy hash when there is nothing to check,
    // so that response time does not reveal whether the account exists.
    let hash = stored
        .as_deref()
        .unwrap_or_else(|| crate::crypto::dummy_password_hash());
    let verified = crate::crypto::verify_password(password, hash) && stored.is_some();
    if verified {
        // A success resets the user's count and gives its attempt back to the address.
        rate_limits::clear(ctx.conn, &user_key(identifier))?;
        rate_limits::release(ctx.conn, &ip_key(&ip))?;
        return Ok(Ok(()));
    }
    ctx.event(
        "login_failed",
        json!({"username": identifier, "reason": "invalid_credentials"}),
    )?;
    Ok(Err(if cap_reached {
        PasswordFailure::Cancelled
    } else {
        PasswordFailure::Invalid
    }))
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
        match check_password(
            ctx,
            user.as_ref(),
            &name,
            password,
            settings.failed_attempts_before_cancel,
        )? {
            Ok(()) => Ok(StageOutcome::Next),
            Err(PasswordFailure::Cancelled) => Ok(StageOutcome::Deny(CANCELLED.into())),
            Err(failure) => {
                let mut errors = FieldErrors::new();
                super::error(&mut errors, "password", failure.message());
                Ok(StageOutcome::Show(
                    ctx.challenge("password")
                        .field("pending_user", name)
                        .errors(errors),
                ))
            }
        }
    }
}
