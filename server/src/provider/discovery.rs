//! Per-application metadata: OIDC discovery, the JWKS, and RP-initiated logout.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, get, web};
use serde_json::{Value, json};

use super::client_auth::Params;
use super::redirect::{self, RedirectUri};
use super::{SCOPES, keys};
use crate::db::{self, StoreError, time};
use crate::sessions::SESSION_COOKIE;
use crate::state::AppState;
use crate::web::cookies;

fn cached_json(body: &Value, max_age: u32) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header(("Cache-Control", format!("public, max-age={max_age}")))
        .insert_header(("Access-Control-Allow-Origin", "*"))
        .json(body)
}

fn not_found(state: &AppState) -> HttpResponse {
    crate::web::message(
        state,
        StatusCode::NOT_FOUND,
        "Not found",
        "There is no application with an OAuth2 provider at this address.",
        None,
    )
}

/// The discovery document of an application's issuer (OIDC Discovery 1.0 §3).
#[get("/application/o/{slug}/.well-known/openid-configuration")]
pub async fn configuration(state: web::Data<AppState>, slug: web::Path<String>) -> HttpResponse {
    let slug = slug.into_inner();
    let lookup_slug = slug.clone();
    let found = state
        .db
        .run(move |conn| {
            Ok::<_, StoreError>(
                db::providers::application_by_slug(conn, &lookup_slug)?
                    .filter(|app| app.provider_id.is_some())
                    .is_some(),
            )
        })
        .await;
    match found {
        Ok(true) => {}
        Ok(false) => return not_found(&state),
        Err(e) => return crate::web::pages::flow::unavailable(&state, &e),
    }
    let url = |path: &str| state.settings.absolute_url(path);
    let issuer = super::issuer(&state.settings, &slug);
    let body = json!({
        "issuer": issuer,
        "authorization_endpoint": url("/application/o/authorize/"),
        "token_endpoint": url("/application/o/token/"),
        "userinfo_endpoint": url("/application/o/userinfo/"),
        "introspection_endpoint": url("/application/o/introspect/"),
        "revocation_endpoint": url("/application/o/revoke/"),
        "end_session_endpoint": url(&format!("/application/o/{slug}/end-session/")),
        "jwks_uri": url(&format!("/application/o/{slug}/jwks/")),
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": ["authorization_code", "refresh_token", "client_credentials"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256", "ES256"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
        "introspection_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "revocation_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "code_challenge_methods_supported": ["S256"],
        "scopes_supported": SCOPES.iter().map(|(s, _)| *s).collect::<Vec<_>>(),
        "claims_supported": ["sub", "iss", "aud", "exp", "iat", "auth_time", "nonce", "at_hash",
            "name", "preferred_username", "groups", "email", "email_verified"],
        "prompt_values_supported": ["none", "login", "consent"],
        "authorization_response_iss_parameter_supported": true,
        "request_parameter_supported": false,
        "request_uri_parameter_supported": false,
        "claims_parameter_supported": false,
    });
    cached_json(&body, 300)
}

/// Every published signing key (current keys and rotated ones whose tokens may still be alive).
#[get("/application/o/{slug}/jwks/")]
pub async fn jwks(state: web::Data<AppState>, slug: web::Path<String>) -> HttpResponse {
    let slug = slug.into_inner();
    let result = state
        .db
        .run(move |conn| {
            if db::providers::application_by_slug(conn, &slug)?.is_none() {
                return Ok(None);
            }
            Ok::<_, StoreError>(Some(keys::jwks(conn, time::now())?))
        })
        .await;
    match result {
        // Short caching: a rotated-in key must reach verifiers well before tokens signed with it.
        Ok(Some(body)) => cached_json(&body, 60),
        Ok(None) => not_found(&state),
        Err(e) => crate::web::pages::flow::unavailable(&state, &e),
    }
}

/// RP-initiated logout (OIDC RP-Initiated Logout 1.0). With a valid `id_token_hint` from this
/// application whose `sub` is the signed-in user, the session ends at once and the browser goes
/// to `post_logout_redirect_uri` when that is one of the application's registered redirect URIs.
/// Without such a hint the user confirms through the default invalidation flow (a POST with a
/// CSRF token), so that other sites cannot sign people out.
#[get("/application/o/{slug}/end-session/")]
pub async fn end_session(
    state: web::Data<AppState>,
    req: HttpRequest,
    slug: web::Path<String>,
) -> HttpResponse {
    let slug = slug.into_inner();
    let params = match Params::from_query(req.query_string()) {
        Ok(p) => p,
        Err(e) => {
            return crate::web::message(
                &state,
                StatusCode::BAD_REQUEST,
                "Sign-out failed",
                &e.description,
                None,
            );
        }
    };
    let hint = params.get("id_token_hint").map(str::to_owned);
    let post_logout = params.get("post_logout_redirect_uri").map(str::to_owned);
    let logout_state = params.get("state").map(str::to_owned);
    let session_cookie = cookies::read(&req, SESSION_COOKIE);
    let issuer = super::issuer(&state.settings, &slug);
    let db_state = state.clone();
    let outcome = state
        .db
        .run(move |conn| {
            let Some(app) = db::providers::application_by_slug(conn, &slug)? else {
                return Ok::<_, StoreError>(None);
            };
            let Some(provider_id) = app.provider_id else {
                return Ok(None);
            };
            let provider = db::providers::get(conn, provider_id)?;
            let hinted_sub = match &hint {
                Some(token) => hint_subject(&db_state, conn, token, &issuer, &provider.client_id)?,
                None => None,
            };
            let session_user = match &session_cookie {
                Some(cookie) => crate::sessions::resolve(conn, cookie, time::now())?,
                None => None,
            };
            // Only a hint issued to the signed-in user ends the session without asking: any
            // valid id_token of the application (a service account's, another user's) would
            // otherwise let whoever holds one sign people out with a link.
            let hinted = match (&hinted_sub, &session_user) {
                (Some(sub), Some(user)) => *sub == user.uuid,
                (Some(_), None) => true,
                (None, _) => false,
            };
            if hinted && let Some(cookie) = &session_cookie {
                crate::sessions::end(conn, cookie)?;
            }
            let rules: Vec<RedirectUri> = serde_json::from_str(&provider.redirect_uris).unwrap_or_default();
            let target = post_logout.filter(|uri| hinted && redirect::allowed(&rules, uri));
            Ok(Some((hinted, target)))
        })
        .await;
    match outcome {
        Ok(None) => not_found(&state),
        Ok(Some((false, _))) => HttpResponse::Found()
            .insert_header(("Location", "/flows/-/default/invalidation/"))
            .finish(),
        Ok(Some((true, target))) => {
            let mut response = match target {
                Some(uri) => {
                    let mut url = uri.clone();
                    if let (Some(s), Ok(mut parsed)) = (&logout_state, url::Url::parse(&uri)) {
                        parsed.query_pairs_mut().append_pair("state", s);
                        url = parsed.to_string();
                    }
                    HttpResponse::Found().insert_header(("Location", url)).finish()
                }
                None => crate::web::message(
                    &state,
                    StatusCode::OK,
                    "Signed out",
                    "You have been signed out.",
                    Some("/flows/-/default/authentication/"),
                ),
            };
            for cookie in cookies::for_effects(&state.settings, &[crate::flows::stages::Effect::ClearSession])
            {
                let _ = response.add_cookie(&cookie);
            }
            response
        }
        Err(e) => crate::web::pages::flow::unavailable(&state, &e),
    }
}

/// The `sub` of an ID token this application received from us (expired ones count: logout often
/// comes late); `None` when the hint is not such a token.
fn hint_subject(
    state: &AppState,
    conn: &mut db::DbConn,
    token: &str,
    issuer: &str,
    client_id: &str,
) -> Result<Option<String>, StoreError> {
    let Ok(header) = jsonwebtoken::decode_header(token) else {
        return Ok(None);
    };
    let Some(kid) = header.kid else {
        return Ok(None);
    };
    let Some(key) = state.provider_keys.by_kid(conn, &state.keys, &kid, time::now())? else {
        return Ok(None);
    };
    Ok(key
        .verify_hint(token, issuer)
        .filter(|claims| claims.get("aud").and_then(Value::as_str) == Some(client_id))
        .and_then(|claims| claims.get("sub").and_then(Value::as_str).map(str::to_owned)))
}
