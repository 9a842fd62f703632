//! The foundation: storage, the admin API core, health, metrics and the OpenAPI document.

mod authz_matrix;
mod availability;
mod bad_input;
mod bootstrap;
mod bootstrap_record;
mod client_ip;
mod concurrency;
mod events;
mod groups;
mod maintenance;
mod metrics_protection;
mod openapi;
mod secrets;
mod storage;
mod tokens;
mod upstream_text;
mod users;

use gatehouse_testkit::TestApp;
use serde_json::{Value, json};

/// Creates a user through the API and returns its JSON.
pub async fn create_user(app: &TestApp, username: &str) -> Value {
    let res = app
        .post("/api/v3/core/users/", json!({"username": username}))
        .await;
    res.assert_status(201);
    res.json()
}

/// Creates a group through the API and returns its JSON.
pub async fn create_group(app: &TestApp, name: &str) -> Value {
    let res = app.post("/api/v3/core/groups/", json!({"name": name})).await;
    res.assert_status(201);
    res.json()
}

/// Creates an API token for `user` (pk) and returns its key.
pub async fn token_for(app: &TestApp, user: i64, identifier: &str) -> String {
    let res = app
        .post(
            "/api/v3/core/tokens/",
            json!({"identifier": identifier, "user": user}),
        )
        .await;
    res.assert_status(201);
    res.json()["key"].as_str().expect("key").to_owned()
}

/// Number of events recorded so far.
pub async fn event_count(app: &TestApp) -> i64 {
    let res = app.get("/api/v3/events/events/?page_size=1").await;
    res.assert_status(200);
    res.json()["pagination"]["count"].as_i64().expect("count")
}
