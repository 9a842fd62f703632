//! A flow started through one app instance finishes through another sharing the database.

use gatehouse_testkit::both_backends;
use gatehouse_testkit::web::{WebClient, hidden};
use serde_json::json;

use super::{session_count, user_with_password};

both_backends! {
    async fn a_flow_moves_between_replicas(app) {
        user_with_password(&app, "lee", "correct horse battery").await;
        let id = app.post("/api/v3/stages/identification/", json!({"name": "r-id", "user_fields": ["username"]})).await;
        let pw = app.post("/api/v3/stages/password/", json!({"name": "r-pw"})).await;
        let login = app.post("/api/v3/stages/user_login/", json!({"name": "r-login"})).await;
        let flow = app.post("/api/v3/flows/instances/", json!({"slug": "replicated", "name": "Replicated", "designation": "authentication"})).await;
        for (stage, order) in [(&id, 1), (&pw, 2), (&login, 3)] {
            app.post("/api/v3/flows/bindings/", json!({"target": flow.json()["pk"], "stage": stage.json()["pk"], "order": order})).await.assert_status(201);
        }
        let other = app.replica().await;
        // Page one on replica A...
        let mut on_a = WebClient::new(&app);
        let page = on_a.get("/if/flow/replicated/").await;
        let html = page.text();
        let page = on_a
            .post_form("/if/flow/replicated/", &[("csrf_token", &hidden(&html, "csrf_token").unwrap()), ("step", "0"), ("uid_field", "lee")])
            .await;
        page.assert_status(200);
        let html = page.text();
        assert!(html.contains("Signing in as <strong>lee</strong>"));
        // ...page two on replica B, with the same browser cookies.
        let mut on_b = on_a.on(&other);
        let shown = on_b.get("/if/flow/replicated/").await;
        assert!(shown.text().contains("Signing in as <strong>lee</strong>"), "B sees where the flow stands");
        let res = on_b
            .post_form(
                "/if/flow/replicated/",
                &[("csrf_token", &hidden(&html, "csrf_token").unwrap()), ("step", "1"), ("password", "correct horse battery")],
            )
            .await;
        res.assert_status(302);
        assert_eq!(session_count(&app).await, 1);
        // The session works on both replicas.
        assert_eq!(on_b.get("/api/v3/core/users/me/").await.json()["user"]["username"], "lee");
        let mut back_on_a = on_b.on(&app);
        assert_eq!(back_on_a.get("/api/v3/core/users/me/").await.json()["user"]["username"], "lee");
    }
}
