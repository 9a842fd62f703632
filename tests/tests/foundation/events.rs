use gatehouse_testkit::both_backends;
use serde_json::json;

use super::create_user;

both_backends! {
    async fn admin_changes_are_recorded(app) {
        let user = create_user(&app, "eve").await;
        let pk = user["pk"].as_i64().unwrap();
        app.patch(&format!("/api/v3/core/users/{pk}/"), json!({"email": "eve@example.com", "name": "Eve"}))
            .await
            .assert_status(200);
        app.delete(&format!("/api/v3/core/users/{pk}/")).await.assert_status(204);

        let res = app.get("/api/v3/events/events/?ordering=-created&page_size=3").await;
        res.assert_status(200);
        let events = res.json()["results"].as_array().unwrap().clone();
        let actions: Vec<&str> = events.iter().map(|e| e["action"].as_str().unwrap()).collect();
        assert_eq!(actions, vec!["model_deleted", "model_updated", "model_created"]);
        let updated = &events[1];
        assert_eq!(updated["user"]["username"], "admin");
        assert_eq!(updated["context"]["model"]["model_name"], "user");
        assert_eq!(updated["context"]["model"]["pk"], pk);
        assert_eq!(updated["context"]["model"]["name"], "eve");
        let mut changed: Vec<&str> = updated["context"]["changed_fields"].as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect();
        changed.sort_unstable();
        assert_eq!(changed, vec!["email", "name"]);
        assert_eq!(updated["client_ip"], "127.0.0.1");
        assert_eq!(updated["context"]["http_request"]["method"], "PATCH");

        let res = app.get("/api/v3/events/events/?action=model_deleted").await;
        assert_eq!(res.json()["pagination"]["count"], 1);
        let res = app.get("/api/v3/events/events/?username=admin&action=model_created").await;
        assert!(res.json()["pagination"]["count"].as_i64().unwrap() >= 1);
        let res = app.get("/api/v3/events/events/?search=eve").await;
        assert_eq!(res.json()["pagination"]["count"], 3);
        let res = app.get("/api/v3/events/events/?created_after=not-a-date").await;
        res.assert_status(400);
        assert!(res.json()["created_after"].is_array());
    }
}

both_backends! {
    async fn custom_events_immutability_and_retention(app) {
        let res = app
            .post("/api/v3/events/events/", json!({"action": "custom_deploy", "context": {"version": "1.2"}}))
            .await;
        res.assert_status(201);
        let event = res.json();
        let pk = event["pk"].as_str().unwrap().to_owned();
        assert_eq!(event["context"]["version"], "1.2");
        let res = app.get(&format!("/api/v3/events/events/{pk}/")).await;
        res.assert_status(200);
        assert_eq!(res.json(), event);

        // Built-in actions cannot be forged through the API.
        let res = app.post("/api/v3/events/events/", json!({"action": "login"})).await;
        res.assert_status(400);
        assert!(res.json()["action"].is_array());
        let res = app.post("/api/v3/events/events/", json!({"action": "custom_x", "context": [1]})).await;
        res.assert_status(400);
        assert!(res.json()["context"].is_array());

        // The audit log is not editable.
        let res = app.patch(&format!("/api/v3/events/events/{pk}/"), json!({"action": "custom_y"})).await;
        res.assert_status(405);
        assert_eq!(res.json()["code"], "method_not_allowed");
        app.put(&format!("/api/v3/events/events/{pk}/"), json!({"action": "custom_y"})).await.assert_status(405);

        // Deleting is allowed, and is itself recorded.
        app.delete(&format!("/api/v3/events/events/{pk}/")).await.assert_status(204);
        app.get(&format!("/api/v3/events/events/{pk}/")).await.assert_status(404);
        let res = app.get("/api/v3/events/events/?action=model_deleted").await;
        let deleted = &res.json()["results"][0];
        assert_eq!(deleted["context"]["model"]["model_name"], "event");
        assert_eq!(deleted["context"]["model"]["pk"], json!(pk));
    }
}
