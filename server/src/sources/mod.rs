//! Sources: federated sign-in through an upstream identity provider (Entra ID and generic OIDC,
//! through the plugins of `gatehouse-plugins`). This module owns the HTTP side — the login
//! redirect and the callback — and what the server decides: mapping the upstream profile to local
//! properties, matching a local user, and planning the source's flow. The plugins only talk to the
//! provider; the flow engine only runs the flow.

pub mod callback;
pub mod config;
pub mod login;
pub mod mapping;
pub mod matching;

use actix_web::HttpResponse;
use actix_web::http::StatusCode;
use serde_json::{Value, json};

use crate::db::{self, DbConn, StoreError};
use crate::http::client::ClientInfo;
use crate::state::AppState;

/// Binds an upstream login to the browser that started it: a random value in a cookie; the
/// state row keeps its hash.
pub const BROWSER_COOKIE: &str = "gatehouse_browser";

/// The absolute redirect URI registered upstream for a source.
pub fn callback_url(state: &AppState, slug: &str) -> String {
    state
        .settings
        .absolute_url(&format!("/source/oauth/callback/{slug}/"))
}

/// The path new users of a source get, from its `user_path_template` (`%(slug)s` is replaced).
pub fn user_path(template: &str, slug: &str) -> String {
    let path = template.replace("%(slug)s", slug);
    if crate::validate::path(&path).is_ok() {
        path
    } else {
        "users".into()
    }
}

/// A readable failure page ("Sign-in with Entra ID failed: …") with a way back to the login page.
pub fn failure_page(state: &AppState, status: StatusCode, source_name: &str, message: &str) -> HttpResponse {
    crate::web::message(
        state,
        status,
        &format!("Sign-in with {source_name} failed"),
        message,
        Some("/flows/-/default/authentication/"),
    )
}

/// Records a failed source login in the event log.
pub fn record_failure(
    conn: &mut DbConn,
    client: &ClientInfo,
    source: &str,
    reason: &str,
    detail: Value,
) -> Result<(), StoreError> {
    db::events::insert(
        conn,
        &db::events::Event {
            action: "login_failed",
            user: None,
            context: json!({"source": source, "reason": reason, "detail": detail, "http_request": client.event_context()}),
            client_ip: client.ip.as_deref(),
        },
    )?;
    Ok(())
}
