//! `GET/POST /if/flow/<slug>/`: the browser face of the flow executor. Works without JavaScript:
//! every stage is a server-rendered page with a plain HTML form.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, get, post, web};
use serde::Deserialize;
use serde_json::{Map, Value};

use super::super::cookies::{self, FLOW_COOKIE};
use crate::db::{StoreError, time};
use crate::flows::executor::{self, Outcome, Request, Step, Submission};
use crate::flows::stages::FlowEnv;
use crate::http::client::ClientInfo;
use crate::sessions::SESSION_COOKIE;
use crate::state::AppState;

#[derive(Debug, Default, Deserialize)]
pub struct FlowQuery {
    pub next: Option<String>,
    /// Passed on by the OAuth2 provider (OIDC `login_hint`).
    pub login_hint: Option<String>,
}

/// What the browser asked for.
pub enum Action {
    Show,
    Submit {
        response: Map<String, Value>,
        step: Option<i32>,
        /// `Some(token)` for browser forms (required), `None` for JSON clients.
        csrf: Option<Option<String>>,
    },
}

/// Runs the executor for a request: resolves the session, then shows or submits.
pub async fn execute(
    state: &web::Data<AppState>,
    req: &HttpRequest,
    slug: String,
    query: FlowQuery,
    action: Action,
) -> Result<Step, StoreError> {
    let flow_token = cookies::read(req, FLOW_COOKIE);
    let session_cookie = cookies::read(req, SESSION_COOKIE);
    let client = ClientInfo::of(req);
    let return_to = match req.uri().path_and_query() {
        Some(pq) => pq.as_str().to_owned(),
        None => req.path().to_owned(),
    };
    let state = state.clone();
    state
        .db
        .clone()
        .run(move |conn| {
            let now = time::now();
            // A forced login (a re-authentication marker in `next`) plans as if nobody were
            // signed in; the current session stays valid until `user_login` replaces it.
            let forced = query
                .next
                .as_deref()
                .and_then(|next| crate::flows::reauth::in_next(&state.keys, next, now))
                .is_some();
            let session_user = match &session_cookie {
                Some(cookie) if !forced => crate::sessions::resolve(conn, cookie, now)?,
                _ => None,
            };
            let env = FlowEnv {
                keys: &state.keys,
                client: &client,
                session_cookie: session_cookie.as_deref(),
                now,
                end: &crate::provider::authorize::AuthorizationEnd,
            };
            let request = Request {
                slug: &slug,
                flow_token: flow_token.as_deref(),
                session_user: session_user.as_ref(),
                next: query.next.as_deref(),
                return_to: &return_to,
                login_hint: query.login_hint.as_deref(),
            };
            match action {
                Action::Show => executor::show(conn, env, request),
                Action::Submit { response, step, csrf } => executor::submit(
                    conn,
                    env,
                    request,
                    Submission {
                        response: &response,
                        step,
                        csrf: csrf.as_ref().map(Option::as_deref),
                    },
                ),
            }
        })
        .await
}

/// Turns a step into a page (HTML).
fn page(state: &AppState, req: &HttpRequest, result: Result<Step, StoreError>) -> HttpResponse {
    let step = match result {
        Ok(step) => step,
        Err(error) => return unavailable(state, &error),
    };
    let mut response = match step.outcome {
        Outcome::Show {
            challenge,
            csrf_token,
        } => {
            let mut context = tera::Context::new();
            let action = req
                .uri()
                .path_and_query()
                .map_or_else(|| req.path().to_owned(), |pq| pq.as_str().to_owned());
            context.insert("action", &action);
            context.insert("csrf_token", &csrf_token);
            context.insert("challenge", &challenge);
            let template = format!("stages/{}.html", challenge.component);
            let status = if challenge.response_errors.is_empty() {
                StatusCode::OK
            } else {
                StatusCode::UNPROCESSABLE_ENTITY
            };
            super::super::render(state, status, &template, &context)
        }
        Outcome::Redirect(to) => HttpResponse::Found().insert_header(("Location", to)).finish(),
        Outcome::Denied(message) => super::super::message(
            state,
            StatusCode::FORBIDDEN,
            "Access denied",
            &message,
            Some("/flows/-/default/authentication/"),
        ),
        Outcome::Problem(problem) => super::super::message(
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

/// The database failed: 503 when it is unreachable, 500 otherwise (logged in full).
pub fn unavailable(state: &AppState, error: &StoreError) -> HttpResponse {
    if error.is_unavailable() {
        tracing::warn!(%error, "flow page: database unavailable");
        super::super::message(
            state,
            StatusCode::SERVICE_UNAVAILABLE,
            "Temporarily unavailable",
            "Sign-in is temporarily unavailable. Please try again in a moment.",
            None,
        )
    } else {
        tracing::error!(%error, "flow page failed");
        super::super::message(
            state,
            StatusCode::INTERNAL_SERVER_ERROR,
            "Something went wrong",
            "Something went wrong on our side. Please try again.",
            Some("/flows/-/default/authentication/"),
        )
    }
}

#[get("/if/flow/{slug}/")]
pub async fn show(
    state: web::Data<AppState>,
    req: HttpRequest,
    slug: web::Path<String>,
    query: web::Query<FlowQuery>,
) -> HttpResponse {
    let result = execute(&state, &req, slug.into_inner(), query.into_inner(), Action::Show).await;
    page(&state, &req, result)
}

/// Largest accepted form body: a login form is a few hundred bytes.
const FORM_LIMIT: usize = 64 * 1024;

#[post("/if/flow/{slug}/")]
pub async fn submit(
    state: web::Data<AppState>,
    req: HttpRequest,
    slug: web::Path<String>,
    query: web::Query<FlowQuery>,
    body: web::Bytes,
) -> HttpResponse {
    if body.len() > FORM_LIMIT {
        return super::super::message(
            &state,
            StatusCode::PAYLOAD_TOO_LARGE,
            "Form too large",
            "The form you sent is too large.",
            Some("/flows/-/default/authentication/"),
        );
    }
    let Ok(fields) = serde_urlencoded::from_bytes::<Vec<(String, String)>>(&body) else {
        return super::super::message(
            &state,
            StatusCode::BAD_REQUEST,
            "Form not accepted",
            "The form could not be read. Reload the page and try again.",
            Some("/flows/-/default/authentication/"),
        );
    };
    let mut response = Map::new();
    let mut csrf = None;
    let mut step = None;
    for (name, value) in fields {
        match name.as_str() {
            "csrf_token" => csrf = Some(value),
            "step" => step = value.parse::<i32>().ok().or(Some(-1)),
            _ => {
                response.insert(name, Value::String(value));
            }
        }
    }
    let result = execute(
        &state,
        &req,
        slug.into_inner(),
        query.into_inner(),
        Action::Submit {
            response,
            step,
            csrf: Some(csrf),
        },
    )
    .await;
    page(&state, &req, result)
}
