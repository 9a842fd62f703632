//! Bad input to every endpoint gets a 4xx with a JSON body naming the problem, and writes nothing.

use actix_web::http::Method;
use gatehouse_testkit::{TestApp, both_backends};
use serde_json::{Value, json};

use super::{create_group, event_count};

/// Everything a test might have written by mistake: users, groups, tokens, events.
async fn snapshot(app: &TestApp) -> Vec<i64> {
    let mut counts = Vec::new();
    for path in [
        "/api/v3/core/users/",
        "/api/v3/core/groups/",
        "/api/v3/core/tokens/",
    ] {
        let res = app.get(&format!("{path}?page_size=1")).await;
        counts.push(res.json()["pagination"]["count"].as_i64().unwrap());
    }
    counts.push(event_count(app).await);
    counts
}

fn assert_names(body: &Value, field: &str) {
    assert!(
        body.get(field).is_some_and(Value::is_array),
        "expected `{field}` in {body}"
    );
}

both_backends! {
    async fn malformed_bodies_are_rejected_and_write_nothing(app) {
        let group = create_group(&app, "g").await;
        let group_pk = group["pk"].as_str().unwrap().to_owned();
        let before = snapshot(&app).await;
        let targets: Vec<(Method, String)> = vec![
            (Method::POST, "/api/v3/core/users/".into()),
            (Method::PATCH, "/api/v3/core/users/1/".into()),
            (Method::PUT, "/api/v3/core/users/1/".into()),
            (Method::POST, "/api/v3/core/users/1/set_password/".into()),
            (Method::POST, "/api/v3/core/groups/".into()),
            (Method::PATCH, format!("/api/v3/core/groups/{group_pk}/")),
            (Method::POST, format!("/api/v3/core/groups/{group_pk}/add_user/")),
            (Method::POST, "/api/v3/core/tokens/".into()),
            (Method::POST, "/api/v3/events/events/".into()),
        ];
        for (method, path) in &targets {
            // Malformed JSON.
            let res = app.req(method.clone(), path).raw("application/json", "{,}").send().await;
            res.assert_status(400);
            assert!(res.json()["non_field_errors"][0].as_str().unwrap_or_default().starts_with("Malformed JSON"), "{path}: {}", res.text());
            // Not an object.
            let res = app.req(method.clone(), path).raw("application/json", "[1, 2]").send().await;
            res.assert_status(400);
            assert_names(&res.json(), "non_field_errors");
            // Empty body.
            let res = app.req(method.clone(), path).raw("application/json", "").send().await;
            res.assert_status(400);
            // Unknown field.
            let res = app.req(method.clone(), path).json(&json!({"definitely_not_a_field": 1})).send().await;
            res.assert_status(400);
            assert_eq!(res.json()["definitely_not_a_field"][0], "Unknown field.", "{method} {path}");
            // Not JSON at all.
            let res = app.req(method.clone(), path).raw("text/plain", "username=x").send().await;
            res.assert_status(415);
            assert_eq!(res.json()["code"], "unsupported_media_type");
            // Huge body.
            let huge = format!("{{\"username\": \"{}\"}}", "x".repeat(2 * 1024 * 1024));
            let res = app.req(method.clone(), path).raw("application/json", huge).send().await;
            res.assert_status(413);
            assert_eq!(res.json()["code"], "payload_too_large");
        }
        // Wrong types name the field.
        let res = app.post("/api/v3/core/users/", json!({"username": 5})).await;
        res.assert_status(400);
        assert_names(&res.json(), "username");
        let res = app.post("/api/v3/core/users/", json!({"username": "x", "attributes": "nope"})).await;
        res.assert_status(400);
        assert_names(&res.json(), "attributes");
        let res = app.post("/api/v3/core/users/", json!({"username": "x", "groups": "nope"})).await;
        res.assert_status(400);
        assert_names(&res.json(), "groups");
        let res = app.post("/api/v3/core/users/", json!({"username": "x", "type": "robot"})).await;
        res.assert_status(400);
        assert_names(&res.json(), "type");
        let res = app.post("/api/v3/core/users/", json!({"username": "x", "email": "not-an-email"})).await;
        res.assert_status(400);
        assert_names(&res.json(), "email");
        let res = app.post("/api/v3/core/users/", json!({"username": "x", "path": "/abs"})).await;
        res.assert_status(400);
        assert_names(&res.json(), "path");
        let res = app.post("/api/v3/core/users/", json!({"username": ""})).await;
        res.assert_status(400);
        assert_names(&res.json(), "username");
        // Missing required fields.
        let res = app.post("/api/v3/core/users/", json!({"name": "No Username"})).await;
        res.assert_status(400);
        assert_eq!(res.json()["username"][0], "This field is required.");
        let res = app.post("/api/v3/core/groups/", json!({})).await;
        res.assert_status(400);
        assert_eq!(res.json()["name"][0], "This field is required.");
        let res = app.post("/api/v3/core/tokens/", json!({})).await;
        res.assert_status(400);
        assert_names(&res.json(), "identifier");
        let res = app.post("/api/v3/events/events/", json!({})).await;
        res.assert_status(400);
        assert_names(&res.json(), "action");
        // Several problems at once are all reported.
        let res = app.post("/api/v3/core/users/", json!({"username": "", "email": "bad", "type": "x"})).await;
        let body = res.json();
        for field in ["username", "email", "type"] {
            assert_names(&body, field);
        }

        assert_eq!(snapshot(&app).await, before, "a refused request wrote something");
    }
}

both_backends! {
    async fn authentication_is_required_and_checked_first(app) {
        let before = snapshot(&app).await;
        let endpoints = [
            (Method::GET, "/api/v3/core/users/"),
            (Method::POST, "/api/v3/core/users/"),
            (Method::GET, "/api/v3/core/users/me/"),
            (Method::GET, "/api/v3/core/users/1/"),
            (Method::DELETE, "/api/v3/core/users/1/"),
            (Method::GET, "/api/v3/core/groups/"),
            (Method::POST, "/api/v3/core/groups/"),
            (Method::GET, "/api/v3/core/tokens/"),
            (Method::POST, "/api/v3/core/tokens/"),
            (Method::GET, "/api/v3/events/events/"),
            (Method::POST, "/api/v3/events/events/"),
        ];
        for (method, path) in endpoints {
            // No credentials: 401 even when the body is also wrong.
            let res = app.req(method.clone(), path).anonymous().raw("application/json", "{bad").send().await;
            res.assert_status(401);
            assert_eq!(res.json()["code"], "not_authenticated");
            // A wrong token.
            let res = app.req(method.clone(), path).token("not-a-real-token").json(&json!({})).send().await;
            res.assert_status(401);
            // A malformed header.
            let res = app.req(method.clone(), path).anonymous().header("Authorization", "Basic YTpi").send().await;
            res.assert_status(401);
        }
        assert_eq!(snapshot(&app).await, before);
    }
}

both_backends! {
    async fn unknown_ids_and_routes_are_json_404s(app) {
        for path in [
            "/api/v3/core/users/999999/",
            "/api/v3/core/users/not-a-number/",
            "/api/v3/core/groups/not-a-uuid/",
            "/api/v3/core/tokens/nothing-here/",
            "/api/v3/events/events/00000000-0000-0000-0000-000000000000/",
            "/api/v3/no/such/endpoint/",
        ] {
            let res = app.get(path).await;
            res.assert_status(404);
            assert_eq!(res.json()["code"], "not_found", "{path}");
        }
        let res = app.patch("/api/v3/core/users/999999/", json!({"name": "x"})).await;
        res.assert_status(404);
        let res = app.req(Method::GET, "/nothing-here/").anonymous().send().await;
        res.assert_status(404);
        assert_eq!(res.json()["code"], "not_found");
    }
}
