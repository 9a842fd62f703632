//! `/flows/-/default/authentication/`, `/flows/-/default/invalidation/` and `/flows/-/cancel/`.

use actix_web::{HttpRequest, HttpResponse, get, web};

use crate::flows::defaults::{AUTHENTICATION_FLOW, INVALIDATION_FLOW};
use crate::state::AppState;
use crate::web::cookies::{self, FLOW_COOKIE};

fn to_flow(req: &HttpRequest, slug: &str) -> HttpResponse {
    let query = req.query_string();
    let location = if query.is_empty() {
        format!("/if/flow/{slug}/")
    } else {
        format!("/if/flow/{slug}/?{query}")
    };
    HttpResponse::Found()
        .insert_header(("Location", location))
        .finish()
}

/// The default authentication flow (the login page), keeping the query (`next`).
#[get("/flows/-/default/authentication/")]
pub async fn authentication(req: HttpRequest) -> HttpResponse {
    to_flow(&req, AUTHENTICATION_FLOW)
}

/// The default invalidation flow (log out).
#[get("/flows/-/default/invalidation/")]
pub async fn invalidation(req: HttpRequest) -> HttpResponse {
    to_flow(&req, INVALIDATION_FLOW)
}

/// Forgets the browser's flow in progress and goes back to the login page.
#[get("/flows/-/cancel/")]
pub async fn cancel(state: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    let token = cookies::read(&req, FLOW_COOKIE);
    let result = state
        .db
        .run(move |conn| crate::flows::executor::cancel(conn, token.as_deref()))
        .await;
    if let Err(error) = result {
        return super::flow::unavailable(&state, &error);
    }
    let mut response = HttpResponse::Found()
        .insert_header(("Location", "/flows/-/default/authentication/"))
        .finish();
    for cookie in cookies::for_effects(&state.settings, &[crate::flows::stages::Effect::ClearFlowCookie]) {
        let _ = response.add_cookie(&cookie);
    }
    response
}
