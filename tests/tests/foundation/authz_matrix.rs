//! The authorization matrix of the admin API: every operation in the OpenAPI document refuses a
//! non-superuser, except the few that are meant for every user. The list comes from the document,
//! so a new endpoint is covered without touching this file. Also: a browser session cannot write
//! through the API, and the JSON flow executor refuses bodies a cross-site form can send.

use actix_web::http::Method;
use gatehouse_testkit::web::WebClient;
use gatehouse_testkit::{TestApp, both_backends};
use serde_json::{Value, json};

use super::{create_user, token_for};
use crate::flows::{log_in, user_with_password};

/// Operations any authenticated user may call: their own tokens, their own profile, the flow
/// executor (anonymous by design). Everything else under `/api/v3/` is for superusers only.
fn open_to_users(path: &str) -> bool {
    path.starts_with("/api/v3/core/tokens/")
        || path == "/api/v3/core/users/me/"
        || path.starts_with("/api/v3/flows/executor/")
        || path == "/api/v3/schema/"
}

/// A value for path parameter `name` of `operation`: an integer, a uuid or a slug, by schema.
fn dummy(operation: &Value, name: &str) -> String {
    let param = operation["parameters"]
        .as_array()
        .and_then(|ps| ps.iter().find(|p| p["name"] == name && p["in"] == "path"));
    let schema = param.map(|p| &p["schema"]);
    match schema.map(|s| (s["type"].as_str(), s["format"].as_str())) {
        Some((Some("integer"), _)) => "1".into(),
        Some((_, Some("uuid"))) => "00000000-0000-4000-8000-000000000001".into(),
        _ => "dummy-slug".into(),
    }
}

/// `path` with every `{param}` replaced by a dummy value.
fn fill(path: &str, operation: &Value) -> String {
    let mut out = String::new();
    let mut rest = path;
    while let Some(start) = rest.find('{') {
        let Some(end) = rest[start..].find('}') else { break };
        out.push_str(&rest[..start]);
        out.push_str(&dummy(operation, &rest[start + 1..start + end]));
        rest = &rest[start + end + 1..];
    }
    out.push_str(rest);
    out
}

/// Every (method, concrete path) of the admin API that is for superusers only.
async fn superuser_operations(app: &TestApp) -> Vec<(Method, String)> {
    let res = app.req(Method::GET, "/api/v3/schema/").anonymous().send().await;
    res.assert_status(200);
    let doc = res.json();
    let mut ops = Vec::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        if !path.starts_with("/api/v3/") || open_to_users(path) {
            continue;
        }
        for (method, operation) in item.as_object().expect("path item") {
            let Ok(method) = Method::from_bytes(method.to_ascii_uppercase().as_bytes()) else {
                continue;
            };
            ops.push((method, fill(path, operation)));
        }
    }
    ops
}

both_backends! {
    async fn every_admin_operation_refuses_a_non_superuser(app) {
        let user = create_user(&app, "plain").await;
        let key = token_for(&app, user["pk"].as_i64().unwrap(), "plain-token").await;
        // The token works: the caller is authenticated, so a 403 below is the permission check.
        app.req(Method::GET, "/api/v3/core/users/me/").token(&key).send().await.assert_status(200);

        let ops = superuser_operations(&app).await;
        assert!(ops.len() >= 50, "only {} superuser operations found in the document", ops.len());
        let mut wrong = Vec::new();
        for (method, path) in &ops {
            let mut req = app.req(method.clone(), path).token(&key);
            if !method.is_safe() {
                req = req.json(&json!({}));
            }
            let res = req.send().await;
            if res.status.as_u16() != 403 {
                wrong.push(format!("{method} {path} -> {} {}", res.status, res.text()));
            }
        }
        assert!(wrong.is_empty(), "not refused with 403:\n{}", wrong.join("\n"));
        // Nothing was created on the way.
        let users = app.get("/api/v3/core/users/?page_size=100").await.json();
        assert_eq!(users["pagination"]["count"], 2, "admin and plain only: {users}");
    }
}

both_backends! {
    async fn a_session_cookie_cannot_write_through_the_api(app) {
        let pk = user_with_password(&app, "boss", "correct horse battery").await;
        app.patch(&format!("/api/v3/core/users/{pk}/"), json!({"is_superuser": true}))
            .await
            .assert_status(200);
        let mut web = WebClient::new(&app);
        log_in(&mut web, "boss", "correct horse battery").await;
        assert!(web.cookies.contains_key("gatehouse_session"));
        let cookie = web
            .cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ");
        let path = format!("/api/v3/core/users/{pk}/");
        // The session is a superuser's and reads work: the refusals below are about the method.
        app.req(Method::GET, &path).anonymous().header("Cookie", &cookie).send().await.assert_status(200);

        let created = app
            .req(Method::POST, "/api/v3/core/users/")
            .anonymous()
            .header("Cookie", &cookie)
            .json(&json!({"username": "sneaky"}))
            .send()
            .await;
        created.assert_status(401);
        let patched = app
            .req(Method::PATCH, &path)
            .anonymous()
            .header("Cookie", &cookie)
            .json(&json!({"name": "Changed"}))
            .send()
            .await;
        patched.assert_status(401);
        let deleted = app.req(Method::DELETE, &path).anonymous().header("Cookie", &cookie).send().await;
        deleted.assert_status(401);

        let users = app.get("/api/v3/core/users/?page_size=100").await.json();
        assert_eq!(users["pagination"]["count"], 2, "no user was created: {users}");
        let boss = app.get(&path).await;
        boss.assert_status(200);
        assert_ne!(boss.json()["name"], "Changed");
    }
}

const EXECUTOR: &str = "/api/v3/flows/executor/default-authentication-flow/";

both_backends! {
    async fn the_json_executor_refuses_bodies_a_foreign_form_can_send(app) {
        user_with_password(&app, "kim", "correct horse battery").await;
        let mut web = WebClient::new(&app);
        web.get(EXECUTOR).await.assert_status(200);
        let cookie = web
            .cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ");
        let answer = json!({"uid_field": "kim", "password": "correct horse battery", "step": 0});
        let forged = [
            ("text/plain", answer.to_string()),
            ("application/x-www-form-urlencoded", "uid_field=kim&password=correct+horse+battery&step=0".to_owned()),
            ("multipart/form-data; boundary=x", "--x\r\nContent-Disposition: form-data; name=\"uid_field\"\r\n\r\nkim\r\n--x--\r\n".to_owned()),
        ];
        for (content_type, body) in forged {
            let res = app
                .req(Method::POST, EXECUTOR)
                .anonymous()
                .header("Cookie", &cookie)
                .raw(content_type, body)
                .send()
                .await;
            res.assert_status(415);
            assert!(
                res.headers.get_all("set-cookie").all(|v| !v.to_str().unwrap_or("").starts_with("gatehouse_session=")),
                "{content_type} logged in"
            );
        }
        // The same answer as JSON logs in: the refusals above were about the content type.
        let res = web.post_json(EXECUTOR, &answer).await;
        res.assert_status(200);
        assert_eq!(res.json()["component"], "redirect");
        assert!(web.cookies.contains_key("gatehouse_session"));
    }
}
