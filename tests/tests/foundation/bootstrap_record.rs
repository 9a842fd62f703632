//! The bootstrap settings create `admin` once and record it: a later start never re-enables or
//! re-promotes it, and never promotes another account that took the name `admin`.

use actix_web::http::Method;
use gatehouse_testkit::{TestApp, both_backends};
use serde_json::{Value, json};

use super::token_for;

/// The user called `username`, through the admin API (as `token`).
async fn user_named(app: &TestApp, token: &str, username: &str) -> Value {
    let res = app
        .req(Method::GET, &format!("/api/v3/core/users/?username={username}"))
        .token(token)
        .send()
        .await;
    res.assert_status(200);
    res.json()["results"][0].clone()
}

async fn patch_user(app: &TestApp, token: &str, pk: &Value, body: Value) {
    app.req(Method::PATCH, &format!("/api/v3/core/users/{pk}/"))
        .token(token)
        .json(&body)
        .send()
        .await
        .assert_status(200);
}

both_backends! {
    async fn a_deactivated_bootstrap_admin_stays_deactivated(app) {
        // A second superuser, so that `admin` can be switched off.
        let ops = app
            .post("/api/v3/core/users/", json!({"username": "ops", "is_superuser": true}))
            .await;
        ops.assert_status(201);
        let ops_token = token_for(&app, ops.json()["pk"].as_i64().unwrap(), "ops-token").await;
        let admin = user_named(&app, &ops_token, "admin").await;
        patch_user(&app, &ops_token, &admin["pk"], json!({"is_active": false})).await;

        // A restart with the bootstrap settings leaves it switched off, and its token unusable.
        let restarted = app.replica().await;
        let admin = user_named(&restarted, &ops_token, "admin").await;
        assert_eq!(admin["is_active"], false, "{admin}");
        let res = restarted.req(Method::GET, "/api/v3/core/users/me/").token(TestApp::ADMIN_TOKEN).send().await;
        assert!(matches!(res.status.as_u16(), 401 | 403), "{}", res.status);
    }
}

both_backends! {
    async fn a_new_user_called_admin_is_not_promoted(app) {
        let ops = app
            .post("/api/v3/core/users/", json!({"username": "ops", "is_superuser": true}))
            .await;
        ops.assert_status(201);
        let ops_token = token_for(&app, ops.json()["pk"].as_i64().unwrap(), "ops-token").await;
        // The bootstrap admin is renamed; an ordinary, deactivated account takes the name.
        let original = user_named(&app, &ops_token, "admin").await;
        patch_user(&app, &ops_token, &original["pk"], json!({"username": "former-admin"})).await;
        let res = app
            .req(Method::POST, "/api/v3/core/users/")
            .token(&ops_token)
            .json(&json!({"username": "admin", "is_active": false}))
            .send()
            .await;
        res.assert_status(201);

        let restarted = app.replica().await;
        let impostor = user_named(&restarted, &ops_token, "admin").await;
        assert_eq!(impostor["pk"], res.json()["pk"]);
        assert_eq!(impostor["is_superuser"], false, "{impostor}");
        assert_eq!(impostor["is_active"], false, "{impostor}");
        // The recorded (renamed) account keeps its name, its rights and the bootstrap token.
        let me = restarted.req(Method::GET, "/api/v3/core/users/me/").token(TestApp::ADMIN_TOKEN).send().await;
        me.assert_status(200);
        assert_eq!(me.json()["user"]["username"], "former-admin", "{}", me.text());
        assert_eq!(me.json()["user"]["is_superuser"], true);
    }
}
