//! Housekeeping every process does in the background: expired sessions, flow states, upstream
//! login states, rate-limit windows, the provider's expired codes and tokens and retired
//! signing keys are deleted, and sources whose client secret expires
//! within 30 days are flagged in the event log (once a day per source).

use std::time::Duration;

use chrono::NaiveDateTime;
use serde_json::json;

use crate::db::{self, DbConn, StoreError, time};
use crate::state::AppState;

/// How often the housekeeping runs.
pub const INTERVAL: Duration = Duration::from_secs(600);

/// What one run removed or recorded.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Report {
    pub sessions: usize,
    pub flow_states: usize,
    pub oauth_states: usize,
    pub rate_limits: usize,
    /// Expired authorization codes, grants, refresh tokens and access-token revocations, and
    /// rotated signing keys past their publication window.
    pub provider_state: usize,
    pub secret_warnings: usize,
}

/// One housekeeping pass at `now`.
pub fn run_once(conn: &mut DbConn, now: NaiveDateTime) -> Result<Report, StoreError> {
    let mut report = Report {
        sessions: db::sessions::delete_expired(conn, now)?,
        flow_states: db::flow_states::delete_expired(conn, now)?,
        oauth_states: db::oauth_states::delete_expired(conn, now)?,
        rate_limits: db::rate_limits::delete_stale(conn, now - chrono::Duration::hours(1))?,
        provider_state: db::oauth::delete_expired(conn, now)? + db::signing_keys::delete_retired(conn, now)?,
        secret_warnings: 0,
    };
    let horizon = now + chrono::Duration::days(crate::api::sources::SECRET_WARNING_DAYS);
    for source in db::sources::secrets_expiring(conn, horizon)? {
        let since = now - chrono::Duration::hours(24);
        if db::events::recent_for_source(conn, "source_secret_expiring", &source.slug, since)? {
            continue;
        }
        let message = crate::api::sources::expiry_warning(source.secret_expires, now).unwrap_or_default();
        db::events::insert_at(
            conn,
            &db::events::Event {
                action: "source_secret_expiring",
                user: None,
                context: json!({"source": source.slug, "expires": source.secret_expires.map(time::to_utc), "message": message}),
                client_ip: None,
            },
            now,
        )?;
        report.secret_warnings += 1;
    }
    Ok(report)
}

/// Runs the housekeeping forever on the current (actix) runtime.
pub async fn run(state: actix_web::web::Data<AppState>) {
    loop {
        let outcome = state.db.run(|conn| run_once(conn, time::now())).await;
        match outcome {
            Ok(report) if report != Report::default() => tracing::info!(?report, "housekeeping"),
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "housekeeping failed"),
        }
        tokio::time::sleep(INTERVAL).await;
    }
}
