//! `/`: a small landing page for a logged-in user (name, email, groups, linked sources, logout).

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, get, web};
use serde_json::json;

use crate::db::{self, time};
use crate::sessions::SESSION_COOKIE;
use crate::state::AppState;
use crate::web::cookies;

/// Group names shown on the page. People synced from Entra ID are often in thousands of groups;
/// the page names the first ones alphabetically and says how many more there are (the admin API
/// lists them all).
const LANDING_GROUPS: i64 = 50;

#[get("/")]
pub async fn index(state: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    let Some(cookie) = cookies::read(&req, SESSION_COOKIE) else {
        return to_login();
    };
    let result = state
        .db
        .run(move |conn| {
            let Some(user) = crate::sessions::resolve(conn, &cookie, time::now())? else {
                return Ok(None);
            };
            let groups = db::users::group_names_of(conn, user.id(), Some(LANDING_GROUPS))?;
            // Only count when the list was cut short.
            let total = if groups.len() as i64 == LANDING_GROUPS {
                db::users::group_count_of(conn, user.id())?
            } else {
                groups.len() as i64
            };
            let sources = db::connections::source_names_of(conn, user.id)?;
            Ok::<_, db::StoreError>(Some((user, (groups, total), sources)))
        })
        .await;
    match result {
        Ok(Some((user, (groups, total), sources))) => {
            let mut context = tera::Context::new();
            context.insert(
                "user",
                &json!({"username": user.username, "name": user.name, "email": user.email}),
            );
            context.insert("groups", &groups);
            context.insert("more_groups", &(total - groups.len() as i64).max(0));
            context.insert("sources", &sources);
            crate::web::render(&state, StatusCode::OK, "pages/landing.html", &context)
        }
        Ok(None) => to_login(),
        Err(error) => super::flow::unavailable(&state, &error),
    }
}

fn to_login() -> HttpResponse {
    HttpResponse::Found()
        .insert_header(("Location", "/flows/-/default/authentication/?next=%2F"))
        .finish()
}
