//! `GET /source/oauth/login/<slug>/`: sends the browser to the source's authorization endpoint,
//! with `state`, nonce and PKCE (S256) kept server-side, single use, bound to this browser, for
//! ten minutes.

use actix_web::cookie::{Cookie, SameSite};
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, get, web};
use chrono::Duration;
use gatehouse_plugins::AuthorizationRequest;
use serde::Deserialize;

use super::{BROWSER_COOKIE, callback_url, failure_page};
use crate::crypto;
use crate::db::oauth_states::NewOAuthState;
use crate::db::{self, StoreError, time};
use crate::flows::model::safe_next;
use crate::flows::stages::source::AWAITING;
use crate::state::AppState;
use crate::web::cookies::{self, FLOW_COOKIE};

/// How long an upstream login may take.
pub const STATE_TTL_MINUTES: i64 = 10;

#[derive(Debug, Default, Deserialize)]
pub struct LoginQuery {
    pub next: Option<String>,
    pub login_hint: Option<String>,
}

fn not_found(state: &AppState) -> HttpResponse {
    crate::web::message(
        state,
        StatusCode::NOT_FOUND,
        "Not found",
        "There is no such sign-in option here.",
        Some("/flows/-/default/authentication/"),
    )
}

#[get("/source/oauth/login/{slug}/")]
pub async fn login(
    state: web::Data<AppState>,
    req: HttpRequest,
    slug: web::Path<String>,
    query: web::Query<LoginQuery>,
) -> HttpResponse {
    let slug = slug.into_inner();
    let query = query.into_inner();
    let lookup = {
        let slug = slug.clone();
        state.db.run(move |conn| db::sources::by_slug(conn, &slug)).await
    };
    let source = match lookup {
        Ok(source) if source.enabled => source,
        Ok(_) | Err(StoreError::NotFound) => return not_found(&state),
        Err(e) => return crate::web::pages::flow::unavailable(&state, &e),
    };
    let next = match query.next.as_deref().filter(|n| !n.is_empty()) {
        None => None,
        Some(raw) => match safe_next(raw) {
            Some(next) => Some(next.to_owned()),
            None => {
                return failure_page(
                    &state,
                    StatusCode::BAD_REQUEST,
                    &source.name,
                    "The `next` parameter must be a path on this server.",
                );
            }
        },
    };
    let (plugin, config) = match super::config::plugin_config(&state, &source) {
        Ok(pair) => pair,
        Err(detail) => {
            tracing::error!(source = %source.slug, %detail, "source misconfigured");
            return failure_page(
                &state,
                StatusCode::INTERNAL_SERVER_ERROR,
                &source.name,
                "This sign-in option is misconfigured; please contact your administrator.",
            );
        }
    };
    let redirect_uri = callback_url(&state, &source.slug);
    let request = AuthorizationRequest {
        redirect_uri: redirect_uri.clone(),
        login_hint: query.login_hint.filter(|h| !h.is_empty() && h.len() <= 256),
        extra_params: Vec::new(),
    };
    let redirect = match plugin
        .authorization_redirect(&state.plugin_context, &config, request)
        .await
    {
        Ok(redirect) => redirect,
        Err(error) => {
            tracing::warn!(source = %source.slug, %error, "authorization redirect failed");
            return failure_page(&state, StatusCode::BAD_GATEWAY, &source.name, &error.to_string());
        }
    };

    // The browser binding: an existing cookie, or a new one set with this response.
    let existing = cookies::read(&req, BROWSER_COOKIE).filter(|v| v.len() <= 128);
    let browser = match existing.clone() {
        Some(value) => value,
        None => match crypto::random_token(32) {
            Ok(value) => value,
            Err(e) => {
                tracing::error!(error = %e, "no randomness");
                return failure_page(
                    &state,
                    StatusCode::INTERNAL_SERVER_ERROR,
                    &source.name,
                    "Please try again.",
                );
            }
        },
    };
    let flow_token = cookies::read(&req, FLOW_COOKIE);
    let client_ip = crate::http::client::ClientInfo::of(&req).ip.unwrap_or_default();
    // Each start stores a state row, so an unthrottled loop of clicks would be a cheap way to
    // fill the table: starts are limited per client IP (`login_starts_per_minute`).
    let limit = i32::try_from(state.settings.login_starts_per_minute).unwrap_or(i32::MAX);
    let verifier = match state.keys.encrypt(
        redirect.pkce_verifier.as_bytes(),
        &format!("oauth_state:{}", redirect.state),
    ) {
        Ok(sealed) => sealed,
        Err(e) => {
            tracing::error!(error = %e, "cannot seal the PKCE verifier");
            return failure_page(
                &state,
                StatusCode::INTERNAL_SERVER_ERROR,
                &source.name,
                "Please try again.",
            );
        }
    };
    let row = NewOAuthState {
        state_hash: crypto::hash_key(&redirect.state),
        source_id: source.id,
        browser_hash: crypto::hash_key(&browser),
        nonce: redirect.nonce.clone(),
        pkce_verifier: verifier,
        redirect_uri,
        next,
        resume_flow_hash: None,
        created: time::now(),
        expires: time::now() + Duration::minutes(STATE_TTL_MINUTES),
    };
    let source_slug = source.slug.clone();
    let stored = state
        .db
        .run(move |conn| {
            if limit > 0
                && db::rate_limits::hit(
                    conn,
                    &format!("source_login:ip:{client_ip}"),
                    Duration::minutes(1),
                    time::now(),
                )? > limit
            {
                return Ok(false);
            }
            let mut row = row;
            // A flow waiting at a source stage for this source resumes after the source's flow.
            if let Some(token) = flow_token {
                let hash = crypto::hash_key(&token);
                if let Some(waiting) = db::flow_states::find(conn, &hash)?
                    && !waiting.finished
                    && waiting.expires > time::now()
                    && serde_json::from_str::<crate::flows::FlowContext>(&waiting.context)
                        .ok()
                        .and_then(|c| c.extra.get(AWAITING).and_then(|v| v.as_str().map(str::to_owned)))
                        .as_deref()
                        == Some(source_slug.as_str())
                {
                    row.resume_flow_hash = Some(hash);
                }
            }
            db::oauth_states::insert(conn, &row)?;
            Ok::<_, StoreError>(true)
        })
        .await;
    match stored {
        Ok(true) => {}
        Ok(false) => {
            return failure_page(
                &state,
                StatusCode::TOO_MANY_REQUESTS,
                &source.name,
                "Too many sign-in attempts from your network. Wait a minute and try again.",
            );
        }
        Err(error) => return crate::web::pages::flow::unavailable(&state, &error),
    }
    let mut response = HttpResponse::Found()
        .insert_header(("Location", redirect.url))
        .insert_header(("Cache-Control", "no-store"))
        .finish();
    if existing.is_none() {
        let cookie = Cookie::build(BROWSER_COOKIE, browser)
            .path("/")
            .http_only(true)
            .same_site(SameSite::Lax)
            .secure(state.settings.secure_cookies())
            .finish();
        let _ = response.add_cookie(&cookie);
    }
    response
}
