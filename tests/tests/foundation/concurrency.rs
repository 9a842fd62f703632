//! Concurrent creates of the same username over real HTTP: the UNIQUE constraint decides, exactly
//! one request succeeds and every other one gets a 409.

use gatehouse_testkit::app::{DatabaseGuard, test_settings};
use gatehouse_testkit::{Backend, TestApp, TestServer};
use serde_json::json;

async fn same_username_at_once(backend: Backend) {
    let (url, guard) = DatabaseGuard::fresh(backend);
    let mut settings = test_settings(&url, guard.data_dir());
    settings.workers = 2;
    let server = TestServer::start(settings).await.expect("server starts");
    let client = reqwest::Client::new();
    let attempts = 24;
    let requests = (0..attempts).map(|i| {
        let client = client.clone();
        let url = server.url("/api/v3/core/users/");
        async move {
            client
                .post(url)
                .bearer_auth(TestApp::ADMIN_TOKEN)
                // Different case, same account: the uniqueness rule is case-insensitive.
                .json(&json!({"username": if i % 2 == 0 { "Race" } else { "race" }, "name": format!("attempt {i}")}))
                .send()
                .await
                .expect("request")
        }
    });
    let responses = futures_util::future::join_all(requests).await;
    let mut created = 0;
    let mut conflicts = 0;
    for response in responses {
        match response.status().as_u16() {
            201 => created += 1,
            409 => {
                let body: serde_json::Value = response.json().await.expect("json");
                assert!(body["username"].is_array(), "{body}");
                conflicts += 1;
            }
            other => panic!(
                "unexpected status {other}: {}",
                response.text().await.unwrap_or_default()
            ),
        }
    }
    assert_eq!(created, 1);
    assert_eq!(conflicts, attempts - 1);
    let list: serde_json::Value = client
        .get(server.url("/api/v3/core/users/?username=race"))
        .bearer_auth(TestApp::ADMIN_TOKEN)
        .send()
        .await
        .expect("list")
        .json()
        .await
        .expect("json");
    assert_eq!(list["pagination"]["count"], 1);
    let events: serde_json::Value = client
        .get(server.url("/api/v3/events/events/?action=model_created&search=race"))
        .bearer_auth(TestApp::ADMIN_TOKEN)
        .send()
        .await
        .expect("events")
        .json()
        .await
        .expect("json");
    assert_eq!(
        events["pagination"]["count"], 1,
        "refused creates left no event behind"
    );
    server.stop().await;
    drop(guard);
}

#[actix_web::test]
async fn sqlite() {
    same_username_at_once(Backend::Sqlite).await;
}

gatehouse_testkit::needs_postgres! {
    #[actix_web::test]
    async fn postgres() {
        same_username_at_once(Backend::Postgres).await;
    }
}
