//! `GET /application/o/authorize/`: the authorization code flow with PKCE (RFC 6749 §4.1,
//! RFC 7636, OIDC Core §3.1.2).
//!
//! 1. The client and redirect URI are checked first; while either is wrong the browser gets an
//!    error page and is never redirected (an open redirector otherwise).
//! 2. Other request errors go back to the client as `error=…` on its redirect URI.
//! 3. Without a (fresh enough) session the browser logs in through the default authentication
//!    flow and comes back here. A forced login (`prompt=login`, `max_age`) ends nothing on this
//!    GET: the current session lasts until the new login replaces it, and the way back carries a
//!    single-use re-authentication marker bound to that login ([`crate::flows::reauth`]).
//! 4. With one, the provider's authorization flow runs with the application in its context
//!    (consent stage etc.); when that flow finishes, [`AuthorizationEnd`] issues the code and sends
//!    the browser to the client. A denial goes back as `error=access_denied`.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, get, web};
use chrono::NaiveDateTime;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::client_auth::Params;
use super::redirect::{self, RedirectUri};
use super::{Client, SCOPES, granted_scopes};
use crate::crypto;
use crate::db::oauth::{self, NewCode};
use crate::db::{self, DbConn, StoreError, time};
use crate::flows::FlowEnd;
use crate::flows::context::FlowContext;
use crate::flows::executor::{self, DEFAULT_AUTHENTICATION_URL, Outcome, Step};
use crate::flows::stages::FlowEnv;
use crate::http::client::ClientInfo;
use crate::sessions::SESSION_COOKIE;
use crate::state::AppState;
use crate::web::cookies;

/// Where the authorization request waits in the flow context while the flow runs.
pub const AUTHORIZATION_KEY: &str = "oauth_authorization";
/// Query parameter carrying the re-authentication marker back here (see [`crate::flows::reauth`]).
const AUTH_AFTER: &str = crate::flows::reauth::PARAM;

/// An authorization request, validated, waiting for its flow to finish.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Pending {
    pub provider_id: i64,
    pub issuer: String,
    pub redirect_uri: String,
    pub scope: String,
    pub state: Option<String>,
    pub nonce: Option<String>,
    pub code_challenge: Option<String>,
    pub code_challenge_method: Option<String>,
    pub auth_time: NaiveDateTime,
    pub code_validity: i32,
}

/// `redirect_uri` with `params` added to its query.
fn with_params(redirect_uri: &str, params: &[(&str, &str)]) -> String {
    match url::Url::parse(redirect_uri) {
        Ok(mut url) => {
            url.query_pairs_mut().extend_pairs(params.iter().copied());
            url.to_string()
        }
        Err(_) => redirect_uri.to_owned(),
    }
}

fn found(location: &str) -> HttpResponse {
    HttpResponse::Found()
        .insert_header(("Location", location))
        .insert_header(("Cache-Control", "no-store"))
        .finish()
}

fn error_page(state: &AppState, status: StatusCode, message: &str) -> HttpResponse {
    crate::web::message(
        state,
        status,
        "This application cannot sign you in",
        message,
        None,
    )
}

/// An error sent back to the client (RFC 6749 §4.1.2.1), with `state` and `iss` (RFC 9207).
struct ClientError<'a> {
    redirect_uri: &'a str,
    state: Option<&'a str>,
    issuer: &'a str,
}

impl ClientError<'_> {
    fn send(&self, error: &str, description: &str) -> HttpResponse {
        let mut params = vec![("error", error), ("error_description", description)];
        if let Some(s) = self.state {
            params.push(("state", s));
        }
        params.push(("iss", self.issuer));
        found(&with_params(self.redirect_uri, &params))
    }
}

/// What the first database round trip learns.
struct Lookup {
    client: Option<Client>,
    session: Option<(crate::db::users::UserRow, NaiveDateTime)>,
}

/// This request's path and query without some parameters, plus extra ones.
fn return_url(req: &HttpRequest, drop: &[&str], add: &[(&str, &str)]) -> String {
    let kept: Vec<(String, String)> = url::form_urlencoded::parse(req.query_string().as_bytes())
        .filter(|(k, _)| !drop.contains(&k.as_ref()))
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let mut query = url::form_urlencoded::Serializer::new(String::new());
    query.extend_pairs(kept.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    query.extend_pairs(add.iter().copied());
    format!("{}?{}", req.path(), query.finish())
}

fn login_redirect(next: &str, login_hint: Option<&str>) -> String {
    let mut query = url::form_urlencoded::Serializer::new(String::new());
    query.append_pair("next", next);
    if let Some(hint) = login_hint {
        query.append_pair("login_hint", hint);
    }
    format!("{DEFAULT_AUTHENTICATION_URL}?{}", query.finish())
}

/// Whether this request comes back from the forced login its marker asked for: the marker is
/// genuine and fresh, and its nonce is still on the browser's session (taken now: single use).
async fn reauthenticated(
    state: &AppState,
    req: &HttpRequest,
    marker: Option<&str>,
) -> Result<bool, StoreError> {
    let now = time::now();
    let (Some(marker), Some(cookie)) = (
        marker.and_then(|m| crate::flows::reauth::verify(&state.keys, m, now)),
        cookies::read(req, SESSION_COOKIE),
    ) else {
        return Ok(false);
    };
    state
        .db
        .run(move |conn| crate::sessions::take_reauthentication(conn, &cookie, &marker.nonce))
        .await
}

#[get("/application/o/authorize/")]
pub async fn authorize(state: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    let params = match Params::from_query(req.query_string()) {
        Ok(p) => p,
        Err(e) => return error_page(&state, StatusCode::BAD_REQUEST, &e.description),
    };
    let Some(client_id) = params.get("client_id").map(str::to_owned) else {
        return error_page(
            &state,
            StatusCode::BAD_REQUEST,
            "The request names no application (client_id is missing).",
        );
    };
    let session_cookie = cookies::read(&req, SESSION_COOKIE);
    let lookup = state
        .db
        .run(move |conn| {
            let client = match db::providers::client(conn, &client_id)? {
                Some((provider, Some(application))) => Some(Client {
                    provider,
                    application,
                }),
                _ => None,
            };
            let session = match &session_cookie {
                Some(cookie) => crate::sessions::resolve_with_login_time(conn, cookie, time::now())?,
                None => None,
            };
            Ok::<_, StoreError>(Lookup { client, session })
        })
        .await;
    let lookup = match lookup {
        Ok(l) => l,
        Err(e) => return crate::web::pages::flow::unavailable(&state, &e),
    };
    let Some(client) = lookup.client else {
        return error_page(
            &state,
            StatusCode::BAD_REQUEST,
            "The application is not known here (unknown client_id, or no application uses it).",
        );
    };
    let rules: Vec<RedirectUri> = serde_json::from_str(&client.provider.redirect_uris).unwrap_or_default();
    let Some(redirect_uri) = params.get("redirect_uri").map(str::to_owned) else {
        return error_page(
            &state,
            StatusCode::BAD_REQUEST,
            "The request has no redirect_uri.",
        );
    };
    if !redirect::allowed(&rules, &redirect_uri) || url::Url::parse(&redirect_uri).is_err() {
        tracing::warn!(provider = %client.provider.name, %redirect_uri, "authorization with an unregistered redirect URI");
        return error_page(
            &state,
            StatusCode::BAD_REQUEST,
            "The redirect URI in the request is not registered for this application. Nothing was sent to it.",
        );
    }
    let issuer = client.issuer(&state.settings);
    let reply = ClientError {
        redirect_uri: &redirect_uri,
        state: params.get("state"),
        issuer: &issuer,
    };
    match params.get("response_type") {
        Some("code") => {}
        Some(other) => {
            return reply.send(
                "unsupported_response_type",
                &format!("response_type `{other}` is not supported; use `code`"),
            );
        }
        None => return reply.send("invalid_request", "response_type is required"),
    }
    if params.get("request").is_some() {
        return reply.send("request_not_supported", "request objects are not supported");
    }
    if params.get("request_uri").is_some() {
        return reply.send("request_uri_not_supported", "request_uri is not supported");
    }
    let challenge = params.get("code_challenge").map(str::to_owned);
    let method = params.get("code_challenge_method").map(str::to_owned);
    if let Some(c) = &challenge {
        // S256 only: `plain` (also what a missing method means, RFC 7636 §4.3) sends the
        // verifier itself through the browser, where anyone who sees the code sees it too.
        if method.as_deref() != Some("S256") {
            return reply.send(
                "invalid_request",
                "code_challenge_method must be S256 (plain, or no method, is not accepted)",
            );
        }
        let shape_ok = (43..=128).contains(&c.len())
            && c.bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'));
        if !shape_ok {
            return reply.send(
                "invalid_request",
                "code_challenge must be 43 to 128 URL-safe characters",
            );
        }
    } else if method.is_some() {
        return reply.send("invalid_request", "code_challenge_method without code_challenge");
    } else if client.provider.is_public() {
        return reply.send(
            "invalid_request",
            "public clients must use PKCE (code_challenge with S256)",
        );
    }
    let prompts: Vec<&str> = params
        .get("prompt")
        .unwrap_or_default()
        .split_whitespace()
        .collect();
    if prompts.contains(&"none") && prompts.len() > 1 {
        return reply.send(
            "invalid_request",
            "prompt=none cannot be combined with other values",
        );
    }
    let max_age = match params.get("max_age").map(str::parse::<i64>) {
        None => None,
        Some(Ok(v)) if v >= 0 => Some(v),
        Some(_) => {
            return reply.send(
                "invalid_request",
                "max_age must be a non-negative number of seconds",
            );
        }
    };
    let scopes = granted_scopes(&client.provider, params.get("scope").unwrap_or_default());
    if scopes.is_empty() {
        return reply.send(
            "invalid_scope",
            "none of the requested scopes is available to this application",
        );
    }

    // Is there a session, fresh enough?
    let now = time::now();
    // `max_age=0` always asks (a session cannot be less than 0 s old; seconds are too coarse to
    // tell a login from this very second apart).
    let forced = |login: NaiveDateTime| {
        prompts.contains(&"login") || max_age.is_some_and(|age| age == 0 || (now - login).num_seconds() > age)
    };
    let needs_login = match &lookup.session {
        None => true,
        Some((_, login)) if forced(*login) => {
            match reauthenticated(&state, &req, params.get(AUTH_AFTER)).await {
                Ok(answered) => !answered,
                Err(e) => return crate::web::pages::flow::unavailable(&state, &e),
            }
        }
        Some(_) => false,
    };
    if needs_login {
        if prompts.contains(&"none") {
            return reply.send(
                "login_required",
                "the user is not signed in (or not recently enough)",
            );
        }
        // Nothing ends here (a GET anyone can trigger): the login flow asks for the password
        // although a session exists, and its new session replaces the old one.
        let marker = match crate::flows::reauth::mint(&state.keys, now) {
            Ok(m) => m,
            Err(e) => {
                return crate::web::pages::flow::unavailable(&state, &StoreError::Internal(e.to_string()));
            }
        };
        let next = return_url(&req, &[AUTH_AFTER], &[(AUTH_AFTER, &marker)]);
        return found(&login_redirect(&next, params.get("login_hint")));
    }
    let Some((user, login_time)) = lookup.session else {
        return error_page(&state, StatusCode::BAD_REQUEST, "Sign in first.");
    };

    let pending = Pending {
        provider_id: client.provider.id,
        issuer: issuer.clone(),
        redirect_uri: redirect_uri.clone(),
        scope: scopes.join(" "),
        state: params.get("state").map(str::to_owned),
        nonce: params.get("nonce").map(str::to_owned),
        code_challenge: challenge,
        code_challenge_method: method.or_else(|| params.get("code_challenge").map(|_| "plain".to_owned())),
        auth_time: login_time,
        code_validity: client.provider.access_code_validity,
    };
    let permissions: Vec<&str> = scopes
        .iter()
        .filter_map(|s| SCOPES.iter().find(|(name, _)| name == s).map(|(_, d)| *d))
        .collect();
    let mut context = FlowContext {
        session_user: Some(user.id),
        application: Some(json!({
            "slug": client.application.slug,
            "name": client.application.name,
            "permissions": permissions,
        })),
        // `prompt=consent`: ask even when consent was given before.
        force_consent: prompts.contains(&"consent"),
        ..FlowContext::default()
    };
    context.extra.insert(
        AUTHORIZATION_KEY.into(),
        serde_json::to_value(&pending).unwrap_or(Value::Null),
    );
    let client_info = ClientInfo::of(&req);
    let flow_state = state.clone();
    let flow_id = client.provider.authorization_flow_id;
    let session_cookie = cookies::read(&req, SESSION_COOKIE);
    let step = state
        .db
        .run(move |conn| {
            let flow = match flow_id {
                Some(id) => db::flows::flow_by_id(conn, id)?,
                None => db::flows::flow_by_slug(conn, crate::flows::defaults::IMPLICIT_CONSENT_FLOW)?,
            };
            let env = FlowEnv {
                keys: &flow_state.keys,
                client: &client_info,
                session_cookie: session_cookie.as_deref(),
                now: time::now(),
                end: &AuthorizationEnd,
            };
            executor::start_with_context(conn, env, &flow, Some(&user), context, Vec::new())
        })
        .await;
    let step = match step {
        Ok(step) => step,
        Err(e) => return crate::web::pages::flow::unavailable(&state, &e),
    };
    respond(&state, step, &reply, prompts.contains(&"none"))
}

fn respond(state: &AppState, step: Step, reply: &ClientError<'_>, prompt_none: bool) -> HttpResponse {
    let mut response = match step.outcome {
        Outcome::Show { .. } if prompt_none => {
            return reply.send("consent_required", "the user must approve this application first");
        }
        Outcome::Show { challenge, .. } => found(&format!("/if/flow/{}/", challenge.flow_info.slug)),
        Outcome::Redirect(to) => found(&to),
        Outcome::Denied(message) => reply.send("access_denied", &message),
        Outcome::Problem(problem) => crate::web::message(
            state,
            StatusCode::from_u16(problem.status).unwrap_or(StatusCode::BAD_REQUEST),
            &problem.title,
            &problem.message,
            problem.restart.as_deref(),
        ),
    };
    for cookie in cookies::for_effects(&state.settings, &step.effects) {
        let _ = response.add_cookie(&cookie);
    }
    response
}

/// The end of every flow the server runs: a flow that carries an authorization request ends at
/// the application. Every caller of the executor hands this to it in [`FlowEnv::end`], because an
/// authorization flow may be continued by any of them (pages, the JSON API, a source callback).
#[derive(Debug)]
pub struct AuthorizationEnd;

impl FlowEnd for AuthorizationEnd {
    fn on_flow_end(
        &self,
        conn: &mut DbConn,
        env: FlowEnv<'_>,
        context: &FlowContext,
        denial: Option<&str>,
    ) -> Result<Option<String>, StoreError> {
        on_flow_end(conn, env, context, denial)
    }
}

/// Called by the executor (through [`AuthorizationEnd`]) when a flow ends: for an authorization
/// flow, issues the code (or reports the denial) and answers with the client's redirect URI;
/// `None` for other flows.
fn on_flow_end(
    conn: &mut DbConn,
    env: FlowEnv<'_>,
    context: &FlowContext,
    denial: Option<&str>,
) -> Result<Option<String>, StoreError> {
    let Some(raw) = context.extra.get(AUTHORIZATION_KEY) else {
        return Ok(None);
    };
    let pending: Pending = serde_json::from_value(raw.clone())
        .map_err(|e| StoreError::Corrupt(format!("authorization request: {e}")))?;
    let mut params: Vec<(&str, String)> = Vec::new();
    let user = context.pending_user.or(context.session_user);
    match (denial, user) {
        (Some(message), _) => {
            params.push(("error", "access_denied".into()));
            params.push(("error_description", message.to_owned()));
        }
        (None, None) => {
            params.push(("error", "access_denied".into()));
            params.push(("error_description", "no user signed in".into()));
        }
        (None, Some(user_id)) => {
            let code = crypto::random_token(32).map_err(|e| StoreError::Internal(e.to_string()))?;
            oauth::insert_code(
                conn,
                &NewCode {
                    code_hash: crypto::hash_key(&code),
                    provider_id: pending.provider_id,
                    user_id,
                    redirect_uri: pending.redirect_uri.clone(),
                    scope: pending.scope.clone(),
                    nonce: pending.nonce.clone(),
                    code_challenge: pending.code_challenge.clone(),
                    code_challenge_method: pending.code_challenge_method.clone(),
                    auth_time: pending.auth_time,
                    created: env.now,
                    expires: env.now + chrono::Duration::seconds(i64::from(pending.code_validity)),
                },
            )?;
            params.push(("code", code));
        }
    }
    if let Some(s) = &pending.state {
        params.push(("state", s.clone()));
    }
    params.push(("iss", pending.issuer.clone()));
    let borrowed: Vec<(&str, &str)> = params.iter().map(|(k, v)| (*k, v.as_str())).collect();
    Ok(Some(with_params(&pending.redirect_uri, &borrowed)))
}
