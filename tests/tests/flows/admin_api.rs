//! flows/instances/, stages/all/, stages/<kind>/, flows/bindings/: defaults, CRUD, validation.

use gatehouse_testkit::both_backends;
use serde_json::json;

both_backends! {
    async fn default_objects_exist_and_are_editable(app) {
        let res = app.get("/api/v3/flows/instances/?page_size=100").await;
        res.assert_status(200);
        let slugs: Vec<String> = res.json()["results"].as_array().unwrap().iter().map(|f| f["slug"].as_str().unwrap().to_owned()).collect();
        for slug in [
            "default-authentication-flow",
            "default-source-authentication",
            "default-source-enrollment",
            "default-invalidation-flow",
            "default-provider-authorization-implicit-consent",
            "default-provider-authorization-explicit-consent",
        ] {
            assert!(slugs.contains(&slug.to_owned()), "{slug} missing from {slugs:?}");
        }
        let flow = app.get("/api/v3/flows/instances/default-authentication-flow/").await.json();
        assert_eq!(flow["designation"], "authentication");
        assert_eq!(flow["stages"].as_array().unwrap().len(), 2);
        let identification = app.get(&format!("/api/v3/stages/all/{}/", flow["stages"][0].as_str().unwrap())).await.json();
        assert_eq!(identification["kind"], "identification");
        assert_eq!(identification["show_all_sources"], true);
        assert!(identification["password_stage"].is_string());
        assert_eq!(identification["flow_set"], json!(["default-authentication-flow"]));
        let enrollment = app.get("/api/v3/flows/instances/default-source-enrollment/").await.json();
        let kinds: Vec<String> = {
            let mut kinds = Vec::new();
            for pk in enrollment["stages"].as_array().unwrap() {
                kinds.push(app.get(&format!("/api/v3/stages/all/{}/", pk.as_str().unwrap())).await.json()["kind"].as_str().unwrap().to_owned());
            }
            kinds
        };
        assert_eq!(kinds, vec!["user_write", "user_login"]);

        // An edit survives a restart (defaults are created when missing, never overwritten)...
        app.patch("/api/v3/flows/instances/default-authentication-flow/", json!({"title": "Sign in to Contoso"}))
            .await
            .assert_status(200);
        let replica = app.replica().await;
        let flow = replica.get("/api/v3/flows/instances/default-authentication-flow/").await.json();
        assert_eq!(flow["title"], "Sign in to Contoso");
        // ...and a deleted default comes back.
        app.delete("/api/v3/flows/instances/default-invalidation-flow/").await.assert_status(204);
        let replica = app.replica().await;
        replica.get("/api/v3/flows/instances/default-invalidation-flow/").await.assert_status(200);
        let res = replica.get("/api/v3/flows/instances/?page_size=100").await;
        assert_eq!(res.json()["pagination"]["count"], 6, "no duplicates");
    }
}

both_backends! {
    async fn stage_validation_names_fields(app) {
        let res = app.post("/api/v3/stages/identification/", json!({"name": "empty", "user_fields": []})).await;
        res.assert_status(400);
        assert!(res.json()["user_fields"][0].as_str().unwrap().contains("at least one source"));
        let res = app.post("/api/v3/stages/identification/", json!({"name": "bad", "user_fields": ["phone"]})).await;
        res.assert_status(400);
        assert!(res.json()["user_fields"].is_array());
        let deny = app.post("/api/v3/stages/deny/", json!({"name": "no", "deny_message": "Nope"})).await;
        deny.assert_status(201);
        let res = app
            .post("/api/v3/stages/identification/", json!({"name": "wrong-kind", "password_stage": deny.json()["pk"]}))
            .await;
        res.assert_status(400);
        assert!(res.json()["password_stage"][0].as_str().unwrap().contains("not a password stage"));
        let res = app.post("/api/v3/stages/identification/", json!({"name": "typo", "user_feilds": ["username"]})).await;
        res.assert_status(400);
        assert!(res.json()["user_feilds"].is_array(), "{}", res.text());
        let res = app.post("/api/v3/stages/user_login/", json!({"name": "short", "session_duration": 5})).await;
        res.assert_status(400);
        assert!(res.json()["session_duration"].is_array());
        let res = app.post("/api/v3/stages/user_write/", json!({"name": "w", "user_creation_mode": "sometimes"})).await;
        res.assert_status(400);
        assert!(res.json()["user_creation_mode"].is_array(), "{}", res.text());
        let res = app.post("/api/v3/stages/source/", json!({"name": "s", "source": uuid::Uuid::new_v4().to_string()})).await;
        res.assert_status(400);
        assert!(res.json()["source"].is_array());
        let res = app.post("/api/v3/stages/password/", json!({})).await;
        res.assert_status(400);
        assert!(res.json()["name"].is_array());
        let res = app.post("/api/v3/stages/deny/", json!({"name": "no"})).await;
        res.assert_status(409);
        assert!(res.json()["name"].is_array(), "{}", res.text());
        app.get("/api/v3/stages/no_such_kind/").await.assert_status(404);
        // A stage is found only under its own kind.
        let pk = deny.json()["pk"].as_str().unwrap().to_owned();
        app.get(&format!("/api/v3/stages/password/{pk}/")).await.assert_status(404);
        app.get(&format!("/api/v3/stages/deny/{pk}/")).await.assert_status(200);
        // PATCH merges into the settings; PUT replaces them.
        let res = app.patch(&format!("/api/v3/stages/deny/{pk}/"), json!({"deny_message": "Go away"})).await;
        res.assert_status(200);
        assert_eq!(res.json()["deny_message"], "Go away");
        let res = app.put(&format!("/api/v3/stages/deny/{pk}/"), json!({"name": "no"})).await;
        res.assert_status(200);
        assert_eq!(res.json()["deny_message"], "Access denied.");
        let types = app.get("/api/v3/stages/all/types/").await.json();
        assert!(types.as_array().unwrap().iter().any(|t| t["kind"] == "source"));
    }
}

both_backends! {
    async fn bindings_are_unique_per_position(app) {
        let flow = app
            .post("/api/v3/flows/instances/", json!({"slug": "custom", "name": "Custom", "designation": "authentication"}))
            .await;
        flow.assert_status(201);
        let stage = app.post("/api/v3/stages/deny/", json!({"name": "custom-deny"})).await;
        let binding = app
            .post("/api/v3/flows/bindings/", json!({"target": flow.json()["pk"], "stage": stage.json()["pk"], "order": 10}))
            .await;
        binding.assert_status(201);
        let res = app
            .post("/api/v3/flows/bindings/", json!({"target": flow.json()["pk"], "stage": stage.json()["pk"], "order": 10}))
            .await;
        res.assert_status(409);
        assert!(res.json()["order"].is_array(), "{}", res.text());
        let res = app
            .post("/api/v3/flows/bindings/", json!({"target": uuid::Uuid::new_v4().to_string(), "stage": "nope", "order": 1}))
            .await;
        res.assert_status(400);
        assert!(res.json()["target"].is_array() && res.json()["stage"].is_array());
        let res = app.get(&format!("/api/v3/flows/bindings/?target={}", flow.json()["pk"].as_str().unwrap())).await;
        assert_eq!(res.json()["pagination"]["count"], 1);
        // The flow now denies everyone, with the stage's message.
        let mut web = gatehouse_testkit::web::WebClient::new(&app);
        let res = web.get("/if/flow/custom/").await;
        res.assert_status(403);
        assert!(res.text().contains("Access denied."));
        // Bad flow fields.
        let res = app.post("/api/v3/flows/instances/", json!({"slug": "Bad Slug", "name": "x", "designation": "party"})).await;
        res.assert_status(400);
        assert!(res.json()["slug"].is_array() && res.json()["designation"].is_array());
        let res = app.post("/api/v3/flows/instances/", json!({"slug": "custom", "name": "x", "designation": "authentication"})).await;
        res.assert_status(409);
        // Deleting the stage removes its binding.
        let pk = stage.json()["pk"].as_str().unwrap().to_owned();
        app.delete(&format!("/api/v3/stages/deny/{pk}/")).await.assert_status(204);
        app.get(&format!("/api/v3/flows/bindings/{}/", binding.json()["pk"].as_str().unwrap())).await.assert_status(404);
    }
}
