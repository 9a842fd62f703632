//! The providers and applications admin API: validation names the field, nothing is written on
//! a refusal, the client secret is shown once and stored hashed.

use gatehouse_testkit::{TestApp, both_backends};
use serde_json::json;

async fn count(app: &TestApp, path: &str) -> i64 {
    app.get(path).await.json()["pagination"]["count"]
        .as_i64()
        .unwrap()
}

both_backends! {
    async fn providers_and_applications_are_validated(app) {
        let bad = [
            (json!({}), "name"),
            (json!({"name": "x", "client_type": "secret"}), "client_type"),
            (json!({"name": "x", "redirect_uris": [{"matching_mode": "strict", "url": "http://app.example/cb"}]}), "redirect_uris"),
            (json!({"name": "x", "redirect_uris": [{"matching_mode": "strict", "url": "https://a/#frag"}]}), "redirect_uris"),
            (json!({"name": "x", "redirect_uris": [{"matching_mode": "regex", "url": "https://(unclosed"}]}), "redirect_uris"),
            (json!({"name": "x", "scopes": "openid admin"}), "scopes"),
            (json!({"name": "x", "access_token_validity": 5}), "access_token_validity"),
            (json!({"name": "x", "client_secret": "short"}), "client_secret"),
            (json!({"name": "x", "client_type": "public", "client_secret": "a-very-long-secret-value-of-40-characters"}), "client_secret"),
            (json!({"name": "x", "jwt_federation_sources": ["3fa85f64-5717-4562-b3fc-2c963f66afa6"]}), "jwt_federation_sources"),
            (json!({"name": "x", "signing_key": "3fa85f64-5717-4562-b3fc-2c963f66afa6"}), "signing_key"),
            (json!({"name": "x", "authorization_flow": "3fa85f64-5717-4562-b3fc-2c963f66afa6"}), "authorization_flow"),
        ];
        for (body, field) in bad {
            let res = app.post("/api/v3/providers/oauth2/", body.clone()).await;
            res.assert_status(400);
            assert!(res.json().get(field).is_some(), "{body} → {}", res.text());
        }
        let res = app.post("/api/v3/providers/oauth2/", json!({"name": "x", "bogus": 1})).await;
        res.assert_status(400);
        assert_eq!(count(&app, "/api/v3/providers/oauth2/").await, 0, "nothing written");

        let res = app
            .post(
                "/api/v3/providers/oauth2/",
                json!({"name": "Wiki", "redirect_uris": [{"matching_mode": "regex", "url": "https://[a-z]+\\.wiki\\.example/cb"}]}),
            )
            .await;
        res.assert_status(201);
        let provider = res.json();
        let secret = provider["client_secret"].as_str().unwrap();
        assert!(secret.len() >= 32);
        assert_eq!(provider["client_type"], "confidential");
        assert_eq!(provider["scopes"], "openid profile email offline_access");
        let pk = provider["pk"].as_str().unwrap();
        let fetched = app.get(&format!("/api/v3/providers/oauth2/{pk}/")).await.json();
        assert!(fetched.get("client_secret").is_none(), "shown once");
        assert_eq!(fetched["has_client_secret"], true);
        let stored = app
            .db({
                let pk = pk.to_owned();
                move |conn| Ok(gatehouse::db::providers::by_uuid(conn, &pk)?.client_secret_hash)
            })
            .await;
        assert_eq!(stored.as_deref(), Some(gatehouse::crypto::hash_key(secret).as_str()));
        // Duplicate names conflict.
        app.post("/api/v3/providers/oauth2/", json!({"name": "Wiki"})).await.assert_status(409);
        // A new secret, shown once.
        let rotated = app.post(&format!("/api/v3/providers/oauth2/{pk}/rotate_secret/"), json!({})).await;
        rotated.assert_status(200);
        assert_ne!(rotated.json()["client_secret"].as_str().unwrap(), secret);

        // Applications: slug rules, reserved slugs, one application per provider.
        for (body, field) in [
            (json!({"name": "W", "slug": "Has Spaces", "provider": pk}), "slug"),
            (json!({"name": "W", "slug": "token", "provider": pk}), "slug"),
            (json!({"name": "W", "slug": "ok", "provider": "3fa85f64-5717-4562-b3fc-2c963f66afa6"}), "provider"),
            (json!({"slug": "ok"}), "name"),
        ] {
            let res = app.post("/api/v3/core/applications/", body.clone()).await;
            res.assert_status(400);
            assert!(res.json().get(field).is_some(), "{body} → {}", res.text());
        }
        let res = app.post("/api/v3/core/applications/", json!({"name": "Wiki", "slug": "wiki", "provider": pk})).await;
        res.assert_status(201);
        assert!(res.json()["issuer"].as_str().unwrap().ends_with("/application/o/wiki/"));
        app.post("/api/v3/core/applications/", json!({"name": "Wiki 2", "slug": "wiki", "provider": null}))
            .await
            .assert_status(409);
        app.post("/api/v3/core/applications/", json!({"name": "Wiki 3", "slug": "wiki3", "provider": pk}))
            .await
            .assert_status(409);
        let fetched = app.get("/api/v3/core/applications/wiki/").await.json();
        assert_eq!(fetched["provider"], pk);
        let fetched = app.get(&format!("/api/v3/providers/oauth2/{pk}/")).await.json();
        assert_eq!(fetched["assigned_application_slug"], "wiki");
        // Changes and deletions are audited.
        app.patch("/api/v3/core/applications/wiki/", json!({"name": "The Wiki"})).await.assert_status(200);
        app.delete("/api/v3/core/applications/wiki/").await.assert_status(204);
        app.delete(&format!("/api/v3/providers/oauth2/{pk}/")).await.assert_status(204);
        app.get(&format!("/api/v3/providers/oauth2/{pk}/")).await.assert_status(404);
        let events = app.get("/api/v3/events/events/?action=model_deleted").await.json();
        assert!(events["pagination"]["count"].as_i64().unwrap() >= 2);
        // Only superusers.
        let res = app.req(actix_web::http::Method::GET, "/api/v3/providers/oauth2/").anonymous().send().await;
        res.assert_status(401);
    }
}
