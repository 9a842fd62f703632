//! GATEHOUSE_BOOTSTRAP_TOKEN / GATEHOUSE_BOOTSTRAP_PASSWORD create the `admin` superuser
//! idempotently.

use actix_web::http::Method;
use gatehouse_testkit::{TestApp, both_backends};

use super::event_count;

both_backends! {
    async fn bootstrap_is_idempotent(app) {
        let events_before = event_count(&app).await;
        // A second start on the same database with the same values changes nothing...
        let again = app.replica().await;
        assert_eq!(event_count(&again).await, events_before);
        let res = again.get("/api/v3/core/users/?username=admin").await;
        assert_eq!(res.json()["pagination"]["count"], 1);

        // ...and with a password added, sets it once.
        let mut settings = app.state.settings.clone();
        settings.bootstrap_password = Some("bootstrap-password-1".into());
        let state = tokio::task::spawn_blocking(move || gatehouse::app::AppState::initialise(settings))
            .await
            .unwrap()
            .unwrap();
        let hash = state
            .db
            .run(|conn| Ok::<_, gatehouse::db::StoreError>(gatehouse::db::users::find_by_username(conn, "admin")?.unwrap()))
            .await
            .unwrap()
            .password_hash
            .unwrap();
        assert!(gatehouse::crypto::verify_password("bootstrap-password-1", &hash));
        let settings = state.settings.clone();
        let state = tokio::task::spawn_blocking(move || gatehouse::app::AppState::initialise(settings))
            .await
            .unwrap()
            .unwrap();
        let again_hash = state
            .db
            .run(|conn| Ok::<_, gatehouse::db::StoreError>(gatehouse::db::users::find_by_username(conn, "admin")?.unwrap()))
            .await
            .unwrap()
            .password_hash
            .unwrap();
        assert_eq!(hash, again_hash, "an unchanged password is not re-hashed");
        let res = app.req(Method::GET, "/api/v3/core/users/me/").token(TestApp::ADMIN_TOKEN).send().await;
        res.assert_status(200);
    }
}
