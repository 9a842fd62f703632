//! Stopping PostgreSQL under a running server: readiness and API calls answer 503 (quickly, no
//! hang, no crash); starting it again recovers without restarting Gatehouse.

use std::time::Duration;

use gatehouse::db::DatabaseUrl;
use gatehouse_testkit::app::test_settings;
use gatehouse_testkit::pg::PrivateCluster;
use gatehouse_testkit::{TestApp, TestServer};
use serde_json::json;

gatehouse_testkit::needs_postgres! {
#[actix_web::test]
async fn postgres_outage_is_503_and_recovers() {
    let cluster = PrivateCluster::start();
    let data = tempfile::tempdir().unwrap();
    let mut settings = test_settings(&DatabaseUrl::Postgres(cluster.url()), data.path());
    settings.db.acquire_timeout = Duration::from_secs(2);
    settings.workers = 2;
    let server = TestServer::start(settings).await.expect("server starts");
    // A client timeout well above the server's: a hang would fail the test, not block it.
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap();
    let get = |path: &str| {
        client
            .get(server.url(path))
            .bearer_auth(TestApp::ADMIN_TOKEN)
            .send()
    };

    assert_eq!(get("/-/health/ready/").await.unwrap().status(), 200);
    assert_eq!(get("/api/v3/core/users/").await.unwrap().status(), 200);

    cluster.stop().expect("PostgreSQL stops");
    let ready = get("/-/health/ready/")
        .await
        .expect("readiness answers while the database is down");
    assert_eq!(ready.status(), 503);
    assert_eq!(
        ready.json::<serde_json::Value>().await.unwrap()["database"],
        "unreachable"
    );
    for _ in 0..3 {
        let res = get("/api/v3/core/users/")
            .await
            .expect("API answers while the database is down");
        assert_eq!(res.status(), 503);
        assert!(res.headers().contains_key("retry-after"));
        assert_eq!(
            res.json::<serde_json::Value>().await.unwrap()["code"],
            "service_unavailable"
        );
    }
    let res = client
        .post(server.url("/api/v3/core/users/"))
        .bearer_auth(TestApp::ADMIN_TOKEN)
        .json(&json!({"username": "during-outage"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 503);
    let page = client
        .get(server.url("/if/flow/default-authentication-flow/"))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 503);
    assert!(page.text().await.unwrap().contains("temporarily unavailable"));
    // The process is still alive and serving what needs no database.
    assert_eq!(
        client
            .get(server.url("/-/health/live/"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );

    cluster.start_again().expect("PostgreSQL starts again");
    // Pooled connections died with the server; they are replaced on use. Wait (bounded) for the
    // first success, then everything works.
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let status = get("/-/health/ready/").await.unwrap().status();
        if status == 200 {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "did not recover");
        // Polls a condition (readiness), not a wait for time to pass.
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    for _ in 0..5 {
        assert_eq!(get("/api/v3/core/users/").await.unwrap().status(), 200);
    }
    let res = client
        .post(server.url("/api/v3/core/users/"))
        .bearer_auth(TestApp::ADMIN_TOKEN)
        .json(&json!({"username": "after-outage"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let list: serde_json::Value = get("/api/v3/core/users/?search=outage")
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        list["pagination"]["count"], 1,
        "nothing was written during the outage"
    );
    server.stop().await;
}
}
