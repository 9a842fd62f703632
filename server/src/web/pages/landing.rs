//! `/`: a small landing page for a logged-in user (name, email, groups, linked sources, logout).

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, get, web};
use serde_json::json;

use crate::app::AppState;
use crate::db::{self, UserId, time};
use crate::sessions::SESSION_COOKIE;
use crate::web::cookies;

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
            let groups = db::users::groups_of(conn, &[user.id()])?
                .remove(&UserId(user.id))
                .unwrap_or_default()
                .into_iter()
                .map(|g| g.name)
                .collect::<Vec<_>>();
            let sources = db::connections::source_names_of(conn, user.id)?;
            Ok::<_, db::StoreError>(Some((user, groups, sources)))
        })
        .await;
    match result {
        Ok(Some((user, groups, sources))) => {
            let mut context = tera::Context::new();
            context.insert(
                "user",
                &json!({"username": user.username, "name": user.name, "email": user.email}),
            );
            context.insert("groups", &groups);
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
