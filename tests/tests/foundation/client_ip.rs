//! With `trust_forwarded_headers`, the client IP is the entry `trusted_proxy_hops` places from the
//! right of `X-Forwarded-For`/`Forwarded` (what the trusted proxies appended), never an entry the
//! client put in front of them.

use actix_web::http::Method;
use gatehouse_testkit::{TestApp, both_backends};
use serde_json::json;

/// The client IP recorded in an event created with the given request headers.
async fn recorded_ip(app: &TestApp, headers: &[(&str, &str)]) -> String {
    let mut req = app
        .req(Method::POST, "/api/v3/events/events/")
        .json(&json!({"action": "custom_ip_probe"}));
    for (name, value) in headers {
        req = req.header(name, value);
    }
    let res = req.send().await;
    res.assert_status(201);
    res.json()["client_ip"].as_str().unwrap_or_default().to_owned()
}

both_backends! {
    async fn the_right_most_entry_after_the_trusted_hops_is_the_client(app) {
        // Not trusted: the headers are ignored (the test peer is 127.0.0.1).
        assert_eq!(recorded_ip(&app, &[("X-Forwarded-For", "6.6.6.6")]).await, "127.0.0.1");

        let app = TestApp::start_with(app.backend, |s| s.trust_forwarded_headers = true).await.unwrap();
        // One proxy (the default): the entry it appended, not the client-supplied leftmost one.
        let xff = [("X-Forwarded-For", "6.6.6.6, 203.0.113.7")];
        assert_eq!(recorded_ip(&app, &xff).await, "203.0.113.7");
        let forwarded = [("Forwarded", r#"for=6.6.6.6, for="203.0.113.8:4711";proto=https"#)];
        assert_eq!(recorded_ip(&app, &forwarded).await, "203.0.113.8");
        let v6 = [("Forwarded", r#"for=6.6.6.6, for="[2001:db8::7]:4711""#)];
        assert_eq!(recorded_ip(&app, &v6).await, "2001:db8::7");
        // The two headers naming different clients: neither is believed.
        let both = [("X-Forwarded-For", "203.0.113.7"), ("Forwarded", "for=6.6.6.6")];
        assert_eq!(recorded_ip(&app, &both).await, "127.0.0.1");
        // Garbage where the proxy's entry should be: the peer address.
        assert_eq!(recorded_ip(&app, &[("X-Forwarded-For", "6.6.6.6, not-an-ip")]).await, "127.0.0.1");

        // Two proxies: the second entry from the right.
        let app = TestApp::start_with(app.backend, |s| {
            s.trust_forwarded_headers = true;
            s.trusted_proxy_hops = 2;
        })
        .await
        .unwrap();
        let xff = [("X-Forwarded-For", "6.6.6.6, 198.51.100.2, 10.0.0.1")];
        assert_eq!(recorded_ip(&app, &xff).await, "198.51.100.2");
        // Fewer entries than proxies: the header is not what the proxies wrote; the peer it is.
        assert_eq!(recorded_ip(&app, &[("X-Forwarded-For", "198.51.100.9")]).await, "127.0.0.1");
    }
}
