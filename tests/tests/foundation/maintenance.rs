//! Housekeeping: expired rows go away; expiring source secrets are flagged once a day.

use gatehouse_testkit::both_backends;
use serde_json::json;

both_backends! {
    async fn expired_rows_are_removed_and_secrets_flagged(app) {
        // A session and a stored flow state, both expired.
        let res = app.post("/api/v3/core/users/", json!({"username": "old"})).await;
        let pk = res.json()["pk"].as_i64().unwrap();
        app.post(&format!("/api/v3/core/users/{pk}/set_password/"), json!({"password": "correct horse battery"})).await;
        let mut web = gatehouse_testkit::web::WebClient::new(&app);
        let page = web.get("/if/flow/default-authentication-flow/").await;
        let csrf = gatehouse_testkit::web::hidden(&page.text(), "csrf_token").unwrap();
        web.post_form("/if/flow/default-authentication-flow/", &[("csrf_token", &csrf), ("step", "0"), ("uid_field", "old"), ("password", "correct horse battery")])
            .await
            .assert_status(302);
        let soon = (chrono::Utc::now() + chrono::Duration::days(3)).format("%Y-%m-%d").to_string();
        app.post(
            "/api/v3/sources/oauth/",
            json!({"name": "Entra", "slug": "entra", "provider_type": "entraid", "consumer_key": "00001111-aaaa-2222-bbbb-3333cccc4444",
                   "consumer_secret": "s", "settings": {"tenant": "common"}, "secret_expires": soon}),
        )
        .await
        .assert_status(201);

        let later = gatehouse::db::time::now() + chrono::Duration::days(2);
        let report = app.db(move |conn| gatehouse::maintenance::run_once(conn, later)).await;
        assert_eq!(report.sessions, 1, "{report:?}");
        assert_eq!(report.secret_warnings, 1, "a day after the last warning, another one");
        let again = app.db(move |conn| gatehouse::maintenance::run_once(conn, later)).await;
        assert_eq!(again, gatehouse::maintenance::Report::default(), "nothing left, and no second warning the same day");
        let events = app.get("/api/v3/events/events/?action=source_secret_expiring").await.json();
        assert_eq!(events["pagination"]["count"], 2);
        // The removed session no longer logs anyone in.
        web.get("/api/v3/core/users/me/").await.assert_status(401);
    }
}
