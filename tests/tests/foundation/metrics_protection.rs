//! `/metrics` cannot be blown up by clients (methods and paths map to a closed label set), can
//! require a bearer token, and can be moved to its own listener.

use actix_web::http::Method;
use gatehouse::config::Secret;
use gatehouse_testkit::{TestApp, both_backends};

const METRICS_TOKEN: &str = "metrics-token-0123456789";

/// The metrics text and its number of series (sample lines).
async fn scrape(app: &TestApp) -> (String, usize) {
    let res = app.req(Method::GET, "/metrics").anonymous().send().await;
    res.assert_status(200);
    let text = res.text();
    let series = text.lines().filter(|l| l.starts_with("gatehouse_http_")).count();
    (text, series)
}

async fn call(app: &TestApp, method: &str, path: &str) {
    let method = Method::from_bytes(method.as_bytes()).unwrap();
    let res = app.req(method, path).anonymous().send().await;
    assert!(res.status.is_client_error(), "{} {}", res.status, res.text());
}

both_backends! {
    async fn invented_methods_and_paths_add_no_series(app) {
        // One invented method and one unknown path first: their fixed labels appear once.
        call(&app, "WARMUP", "/api/v3/core/users/").await;
        call(&app, "WARMUP", "/no-such-page-0/").await;
        call(&app, "GET", "/no-such-page-0/").await;
        // A scrape counts itself once it is answered, so the series of `GET /metrics` appears
        // after the first one.
        scrape(&app).await;
        let (before_text, before) = scrape(&app).await;
        let long = "X".repeat(4000);
        for method in ["PROPFINDX", "BREW", "ZZ1", "ZZ2", "ZZ3", long.as_str()] {
            call(&app, method, "/api/v3/core/users/").await;
            call(&app, method, "/no-such-page-0/").await;
        }
        for n in 1..=5 {
            call(&app, "GET", &format!("/no-such-page-{n}/")).await;
        }
        let (text, after) = scrape(&app).await;
        assert_eq!(after, before, "before:\n{before_text}\nafter:\n{text}");
        for invented in ["PROPFINDX", "BREW", "ZZ1", "XXXXXXXX", "no-such-page-3", "WARMUP"] {
            assert!(!text.contains(invented), "{invented} is a label in:\n{text}");
        }
        assert!(text.contains(r#"method="OTHER""#), "{text}");
        assert!(text.contains(r#"route="unmatched""#), "{text}");
    }
}

both_backends! {
    async fn the_metrics_token_is_required_when_set(app) {
        let app = TestApp::start_with(app.backend, |s| s.metrics_token = Some(Secret::from(METRICS_TOKEN)))
            .await
            .unwrap();
        let res = app.req(Method::GET, "/metrics").anonymous().send().await;
        res.assert_status(401);
        assert!(res.header("www-authenticate").unwrap().starts_with("Bearer"));
        let res = app.req(Method::GET, "/metrics").token("metrics-token-wrong-01234").send().await;
        res.assert_status(401);
        // The admin API token is not the metrics token either.
        let res = app.req(Method::GET, "/metrics").send().await;
        res.assert_status(401);
        let res = app.req(Method::GET, "/metrics").token(METRICS_TOKEN).send().await;
        res.assert_status(200);
        assert!(res.text().contains("gatehouse_db_pool_connections"));
    }
}

both_backends! {
    async fn metrics_listen_moves_metrics_to_their_own_listener(app) {
        let app = TestApp::start_with(app.backend, |s| {
            s.metrics_listen = Some("127.0.0.1:0".parse().unwrap());
            s.metrics_token = Some(Secret::from(METRICS_TOKEN));
        })
        .await
        .unwrap();
        // The main listener no longer serves metrics, with or without the token.
        app.req(Method::GET, "/metrics").anonymous().send().await.assert_status(404);
        app.req(Method::GET, "/metrics").token(METRICS_TOKEN).send().await.assert_status(404);
        app.get("/api/v3/core/users/").await.assert_status(200);

        // The metrics listener, on a real port, serves them (with the token) and nothing else.
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let server = gatehouse::app::metrics_server(app.state.clone(), listener).unwrap();
        let handle = server.handle();
        actix_web::rt::spawn(server);
        let http = reqwest::Client::new();
        let res = http.get(format!("{base}/metrics")).send().await.unwrap();
        assert_eq!(res.status(), 401);
        let res = http.get(format!("{base}/metrics")).bearer_auth(METRICS_TOKEN).send().await.unwrap();
        assert_eq!(res.status(), 200);
        let text = res.text().await.unwrap();
        assert!(text.contains(r#"route="/api/v3/core/users/""#), "{text}");
        let res = http
            .get(format!("{base}/api/v3/core/users/"))
            .bearer_auth(TestApp::ADMIN_TOKEN)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 404);
        handle.stop(true).await;
    }
}
