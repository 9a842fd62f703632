use actix_web::http::Method;
use gatehouse_testkit::both_backends;
use serde_json::json;

use super::create_user;

both_backends! {
    async fn key_is_shown_once_and_authenticates(app) {
        let res = app
            .post("/api/v3/core/tokens/", json!({"identifier": "ci-bot", "description": "CI"}))
            .await;
        res.assert_status(201);
        let token = res.json();
        let key = token["key"].as_str().unwrap().to_owned();
        assert!(key.len() >= 40);
        assert_eq!(token["expiring"], true, "tokens expire by default");
        assert!(token["expires"].is_string());

        let res = app.get("/api/v3/core/tokens/ci-bot/").await;
        res.assert_status(200);
        assert!(res.json().get("key").is_none(), "the key is never shown again");
        // Only the hash is stored.
        let stored = app
            .db(|conn| Ok(gatehouse::db::tokens::find_by_identifier(conn, "ci-bot")?.unwrap().key_hash))
            .await;
        assert_ne!(stored, key);
        // SHA-256 computed here, not by the function under test.
        assert_eq!(stored, hex::encode(<sha2::Sha256 as sha2::Digest>::digest(key.as_bytes())));

        let res = app.req(Method::GET, "/api/v3/core/users/me/").token(&key).send().await;
        res.assert_status(200);
        assert_eq!(res.json()["user"]["username"], "admin");

        // Rotation: the old key stops working, the new one works.
        let res = app.post("/api/v3/core/tokens/ci-bot/rotate_key/", json!({})).await;
        res.assert_status(200);
        let new_key = res.json()["key"].as_str().unwrap().to_owned();
        app.req(Method::GET, "/api/v3/core/users/me/").token(&key).send().await.assert_status(401);
        app.req(Method::GET, "/api/v3/core/users/me/").token(&new_key).send().await.assert_status(200);

        // Expiry in the past is refused; expiring=false makes it permanent.
        let res = app
            .patch("/api/v3/core/tokens/ci-bot/", json!({"expires": "2000-01-01T00:00:00Z"}))
            .await;
        res.assert_status(400);
        assert!(res.json()["expires"].is_array());
        let res = app.patch("/api/v3/core/tokens/ci-bot/", json!({"expiring": false})).await;
        res.assert_status(200);
        assert!(res.json()["expires"].is_null());
        let res = app.patch("/api/v3/core/tokens/ci-bot/", json!({"identifier": "renamed"})).await;
        res.assert_status(400);
        assert!(res.json()["identifier"].is_array());

        app.delete("/api/v3/core/tokens/ci-bot/").await.assert_status(204);
        app.req(Method::GET, "/api/v3/core/users/me/").token(&new_key).send().await.assert_status(401);
    }
}

both_backends! {
    async fn expired_tokens_and_inactive_users_are_refused(app) {
        let user = create_user(&app, "temp").await;
        let res = app
            .post("/api/v3/core/tokens/", json!({"identifier": "temp-token", "user": user["pk"], "expiring": false}))
            .await;
        res.assert_status(201);
        let key = res.json()["key"].as_str().unwrap().to_owned();
        app.req(Method::GET, "/api/v3/core/users/me/").token(&key).send().await.assert_status(200);
        // Expire it in the database (time is not ours to move through the API).
        app.db(|conn| {
            use diesel::prelude::*;
            use gatehouse::db::schema::api_tokens;
            diesel::update(api_tokens::table.filter(api_tokens::identifier.eq("temp-token")))
                .set(api_tokens::expires.eq(Some(gatehouse::db::time::now() - chrono::Duration::seconds(1))))
                .execute(conn)?;
            Ok(())
        })
        .await;
        let res = app.req(Method::GET, "/api/v3/core/users/me/").token(&key).send().await;
        res.assert_status(401);
        assert!(res.json()["detail"].as_str().unwrap().contains("expired"));
        assert_eq!(res.header("www-authenticate").as_deref(), Some("Bearer realm=\"gatehouse\""));

        let res = app
            .post("/api/v3/core/tokens/", json!({"identifier": "temp-token-2", "user": user["pk"], "expiring": false}))
            .await;
        let key = res.json()["key"].as_str().unwrap().to_owned();
        app.patch(&format!("/api/v3/core/users/{}/", user["pk"]), json!({"is_active": false}))
            .await
            .assert_status(200);
        app.req(Method::GET, "/api/v3/core/users/me/").token(&key).send().await.assert_status(401);
    }
}

both_backends! {
    async fn regular_users_manage_only_their_own_tokens(app) {
        let user = create_user(&app, "dev").await;
        let res = app
            .post("/api/v3/core/tokens/", json!({"identifier": "dev-main", "user": user["pk"], "expiring": false}))
            .await;
        let key = res.json()["key"].as_str().unwrap().to_owned();
        app.post("/api/v3/core/tokens/", json!({"identifier": "admins-own"})).await.assert_status(201);

        // Own tokens: create, list, delete.
        let res = app
            .req(Method::POST, "/api/v3/core/tokens/")
            .token(&key)
            .json(&json!({"identifier": "dev-second"}))
            .send()
            .await;
        res.assert_status(201);
        assert_eq!(res.json()["user"], user["pk"]);
        let res = app.req(Method::GET, "/api/v3/core/tokens/").token(&key).send().await;
        res.assert_status(200);
        let ids: Vec<&str> = vec!["dev-main", "dev-second"];
        let listed: Vec<String> = res.json()["results"].as_array().unwrap().iter().map(|t| t["identifier"].as_str().unwrap().to_owned()).collect();
        assert_eq!(listed, ids);
        // Someone else's token does not exist for them; creating one for another user is forbidden.
        app.req(Method::GET, "/api/v3/core/tokens/admins-own/").token(&key).send().await.assert_status(404);
        app.req(Method::DELETE, "/api/v3/core/tokens/admins-own/").token(&key).send().await.assert_status(404);
        app.req(Method::POST, "/api/v3/core/tokens/")
            .token(&key)
            .json(&json!({"identifier": "sneaky", "user": 1}))
            .send()
            .await
            .assert_status(403);
        app.req(Method::DELETE, "/api/v3/core/tokens/dev-second/").token(&key).send().await.assert_status(204);
    }
}

both_backends! {
    async fn token_validation_names_fields(app) {
        let res = app.post("/api/v3/core/tokens/", json!({"identifier": "has space"})).await;
        res.assert_status(400);
        assert!(res.json()["identifier"].is_array());
        let res = app.post("/api/v3/core/tokens/", json!({"identifier": "x", "intent": "recovery"})).await;
        res.assert_status(400);
        assert!(res.json()["intent"].is_array());
        let res = app.post("/api/v3/core/tokens/", json!({"identifier": "x", "user": 123456})).await;
        res.assert_status(400);
        assert!(res.json()["user"].is_array());
        app.post("/api/v3/core/tokens/", json!({"identifier": "dup"})).await.assert_status(201);
        let res = app.post("/api/v3/core/tokens/", json!({"identifier": "dup"})).await;
        res.assert_status(409);
        assert!(res.json()["identifier"].is_array());
        app.get("/api/v3/core/tokens/nope/").await.assert_status(404);
    }
}

/// The stored form of a key is plain SHA-256 in lower-case hex: the FIPS 180-2 vector for "abc".
#[test]
fn key_hash_is_sha256_hex() {
    assert_eq!(
        gatehouse::crypto::hash_key("abc"),
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    );
}
