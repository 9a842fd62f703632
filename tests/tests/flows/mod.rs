//! The flow engine, the login pages, sessions and the flows/stages/bindings API.

mod admin_api;
mod executor_api;
mod login;
mod logout;
mod negative;
mod password_limits;
mod replicas;
mod templates;

use gatehouse_testkit::TestApp;
use gatehouse_testkit::web::{WebClient, hidden};
use serde_json::json;

pub const LOGIN: &str = "/if/flow/default-authentication-flow/";

/// Creates a user with a password through the admin API; returns its pk.
pub async fn user_with_password(app: &TestApp, username: &str, password: &str) -> i64 {
    let res = app
        .post(
            "/api/v3/core/users/",
            json!({"username": username, "email": format!("{username}@example.com")}),
        )
        .await;
    res.assert_status(201);
    let pk = res.json()["pk"].as_i64().unwrap();
    app.post(
        &format!("/api/v3/core/users/{pk}/set_password/"),
        json!({"password": password}),
    )
    .await
    .assert_status(204);
    pk
}

/// Opens the login page and returns the form's CSRF token and step.
pub async fn open_login(web: &mut WebClient<'_>, path: &str) -> (String, String) {
    let page = web.get(path).await;
    page.assert_status(200);
    let html = page.text();
    (
        hidden(&html, "csrf_token").expect("csrf token"),
        hidden(&html, "step").expect("step"),
    )
}

/// Logs in through the default authentication flow's page; returns the final response.
pub async fn log_in(
    web: &mut WebClient<'_>,
    username: &str,
    password: &str,
) -> gatehouse_testkit::TestResponse {
    let (csrf, step) = open_login(web, LOGIN).await;
    web.post_form(
        LOGIN,
        &[
            ("csrf_token", &csrf),
            ("step", &step),
            ("uid_field", username),
            ("password", password),
        ],
    )
    .await
}

/// Number of live sessions in the database.
pub async fn session_count(app: &TestApp) -> i64 {
    app.db(|conn| {
        use diesel::prelude::*;
        Ok(gatehouse::db::schema::sessions::table
            .count()
            .get_result::<i64>(conn)?)
    })
    .await
}
