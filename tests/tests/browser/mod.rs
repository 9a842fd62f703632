//! A real headless browser (Debian's Chromium) through the login pages: a local password login,
//! and the Entra ID button through the simulator. Screenshots go to `target/screenshots/`.

use gatehouse_testkit::app::{DatabaseGuard, test_settings};
use gatehouse_testkit::browser::{self, Browser};
use gatehouse_testkit::entra::{SLUG, source_json};
use gatehouse_testkit::entra_sim::{EntraSim, fixtures};
use gatehouse_testkit::{Backend, TestApp, TestServer};
use serde_json::json;

async fn server(backend: Backend) -> (TestServer, DatabaseGuard) {
    let (url, guard) = DatabaseGuard::fresh(backend);
    let mut settings = test_settings(&url, guard.data_dir());
    settings.workers = 2;
    (TestServer::start(settings).await.expect("server"), guard)
}

async fn api(
    server: &TestServer,
    method: reqwest::Method,
    path: &str,
    body: serde_json::Value,
) -> serde_json::Value {
    let res = reqwest::Client::new()
        .request(method, server.url(path))
        .bearer_auth(TestApp::ADMIN_TOKEN)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert!(res.status().is_success(), "{path}: {}", res.status());
    res.json().await.unwrap_or(serde_json::Value::Null)
}

async fn password_login(backend: Backend, name: &str) {
    let Some(b) = Browser::launch().await else {
        return browser::skipped(name);
    };
    let (server, _guard) = server(backend).await;
    let user = api(
        &server,
        reqwest::Method::POST,
        "/api/v3/core/users/",
        json!({"username": "alice", "name": "Alice Liddell", "email": "alice@example.com"}),
    )
    .await;
    let pk = user["pk"].as_i64().unwrap();
    api(
        &server,
        reqwest::Method::POST,
        &format!("/api/v3/core/users/{pk}/set_password/"),
        json!({"password": "correct horse battery"}),
    )
    .await;
    // An enabled source, so the page shows its button.
    let sim = EntraSim::start(fixtures::standard_directory()).unwrap();
    api(
        &server,
        reqwest::Method::POST,
        "/api/v3/sources/oauth/",
        source_json(&sim, fixtures::CONTOSO),
    )
    .await;

    b.goto(&server.url("/")).await;
    b.wait_for_url(|u| u.path() == "/if/flow/default-authentication-flow/")
        .await;
    b.wait_for("form").await;
    assert_eq!(b.title().await, "Welcome to Gatehouse · Gatehouse");
    b.assert_fields_labelled().await;
    assert_eq!(
        b.accessible_name("a.button-source").await,
        "Sign in with Entra ID"
    );
    assert!(
        b.attr("a.button-source img", "src")
            .await
            .unwrap()
            .ends_with("/static/sources/entraid.svg")
    );
    b.screenshot(browser::screenshot_path(&format!(
        "login-page-{}",
        name.rsplit(':').next().unwrap_or(name)
    )))
    .await;

    // A wrong password first: the page says so, no session.
    b.fill("#uid_field", "alice").await;
    b.fill("#password", "wrong password").await;
    b.submit_form("form").await;
    b.wait_for_text(".field-error", "Invalid username or password.")
        .await;
    assert!(b.cookie("gatehouse_session").await.is_none());

    b.fill("#password", "correct horse battery").await;
    b.submit_form("form").await;
    b.wait_for_url(|u| u.path() == "/").await;
    b.wait_for_text("h1", "Hello, Alice Liddell").await;
    let session = b.cookie("gatehouse_session").await.expect("session cookie");
    assert!(session.http_only);
    assert_eq!(session.same_site.as_deref(), Some("Lax"));
    b.screenshot(browser::screenshot_path("landing-page")).await;
    b.close().await;
    server.stop().await;
}

async fn entra_button(backend: Backend, name: &str) {
    let Some(b) = Browser::launch().await else {
        return browser::skipped(name);
    };
    let (server, _guard) = server(backend).await;
    let callback = server.url(&format!("/source/oauth/callback/{SLUG}/"));
    let sim = EntraSim::start(fixtures::standard_directory_with_redirect(&callback)).unwrap();
    let mut source = source_json(&sim, fixtures::CONTOSO);
    // The browser reaches the simulator as `localhost`, a different site from Gatehouse at
    // 127.0.0.1 (cookies ignore ports); server-to-server calls keep 127.0.0.1.
    let authorize = sim
        .authorize_url(fixtures::CONTOSO)
        .replace("127.0.0.1", "localhost");
    source["authorization_url"] = json!(authorize);
    api(&server, reqwest::Method::POST, "/api/v3/sources/oauth/", source).await;

    b.goto(&server.url("/if/flow/default-authentication-flow/")).await;
    b.click("a.button-source[data-source=\"entra-id\"]").await;
    b.wait_for_url(|u| u.path() == "/").await;
    b.wait_for_text("h1", "Hello, Adele Vance").await;
    let text = b.text_of("dl.facts").await;
    assert!(text.contains(fixtures::ADELE_UPN), "{text}");
    assert!(
        text.contains("Platform Team") && text.contains("Engineering"),
        "groups synced: {text}"
    );
    assert!(text.contains("Entra ID"), "linked source shown: {text}");
    b.screenshot(browser::screenshot_path("entra-login-landing"))
        .await;
    b.close().await;
    server.stop().await;
}

#[actix_web::test]
async fn password_login_sqlite() {
    password_login(Backend::Sqlite, "browser::password_login_sqlite").await;
}

gatehouse_testkit::needs_postgres! {
    #[actix_web::test]
    async fn password_login_postgres() {
        password_login(Backend::Postgres, "browser::password_login_postgres").await;
    }
}

#[actix_web::test]
async fn entra_button_sqlite() {
    entra_button(Backend::Sqlite, "browser::entra_button_sqlite").await;
}

gatehouse_testkit::needs_postgres! {
    #[actix_web::test]
    async fn entra_button_postgres() {
        entra_button(Backend::Postgres, "browser::entra_button_postgres").await;
    }
}
