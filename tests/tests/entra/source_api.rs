//! The sources API: validation naming fields, write-only encrypted secrets, URL derivation,
//! callback URL, default flows, secret expiry warnings, source types, connections, private_key_jwt.

use gatehouse_testkit::entra::EntraEnv;
use gatehouse_testkit::entra_sim::keys::{CLIENT_A, CLIENT_B};
use gatehouse_testkit::{TestApp, both_backends};
use serde_json::json;

both_backends! {
    async fn validation_and_derived_urls(app) {
        let res = app.post("/api/v3/sources/oauth/", json!({})).await;
        res.assert_status(400);
        let body = res.json();
        for field in ["name", "slug", "provider_type", "consumer_key"] {
            assert!(body[field].is_array(), "{field}: {body}");
        }
        let res = app
            .post("/api/v3/sources/oauth/", json!({"name": "X", "slug": "x", "provider_type": "myspace", "consumer_key": "a", "consumer_secret": "b"}))
            .await;
        res.assert_status(400);
        assert!(res.json()["provider_type"][0].as_str().unwrap().contains("entraid"));
        let res = app
            .post(
                "/api/v3/sources/oauth/",
                json!({"name": "X", "slug": "x", "provider_type": "entraid", "consumer_key": "a", "consumer_secret": "b",
                       "settings": {"tenant": "not a tenant!", "cloud": "mars"}, "user_matching_mode": "guess"}),
            )
            .await;
        res.assert_status(400);
        let body = res.json();
        assert!(body["user_matching_mode"].is_array(), "{body}");
        let res = app
            .post(
                "/api/v3/sources/oauth/",
                json!({"name": "X", "slug": "x", "provider_type": "entraid", "consumer_key": "a", "consumer_secret": "b",
                       "settings": {"tenant": "not a tenant!", "cloud": "mars"}}),
            )
            .await;
        res.assert_status(400);
        let body = res.json();
        assert!(body.as_object().unwrap().keys().any(|k| k.starts_with("settings")), "the plugin names its fields: {body}");
        let res = app
            .post("/api/v3/sources/oauth/", json!({"name": "X", "slug": "x", "provider_type": "entraid", "consumer_key": "a"}))
            .await;
        res.assert_status(400);
        assert!(res.json()["consumer_secret"].is_array());

        // Tenant + cloud derive the URLs; the secret is write-only and encrypted at rest.
        let tenant = "72f988bf-86f1-41af-91ab-2d7cd011db47";
        let res = app
            .post(
                "/api/v3/sources/oauth/",
                json!({"name": "Entra ID (US Gov)", "slug": "entra-gov", "provider_type": "entraid",
                       "consumer_key": "00001111-aaaa-2222-bbbb-3333cccc4444", "consumer_secret": "super-secret-value",
                       "settings": {"tenant": tenant, "cloud": "usgov"}, "secret_expires": "2099-01-01"}),
            )
            .await;
        res.assert_status(201);
        let source = res.json();
        assert!(source.get("consumer_secret").is_none());
        assert_eq!(source["has_consumer_secret"], true);
        assert!(source["resolved_urls"]["authorization_url"].as_str().unwrap().starts_with(&format!("https://login.microsoftonline.us/{tenant}/")), "{source}");
        assert!(source["resolved_urls"]["profile_url"].as_str().unwrap().contains("graph.microsoft.us"));
        assert_eq!(source["callback_url"], "http://127.0.0.1:9000/source/oauth/callback/entra-gov/");
        assert!(source["authentication_flow"].is_string() && source["enrollment_flow"].is_string(), "default source flows");
        assert!(source["secret_expiry_warning"].is_null());
        let stored = app
            .db(|conn| Ok(gatehouse::db::sources::by_slug(conn, "entra-gov")?.consumer_secret.unwrap()))
            .await;
        assert!(!stored.contains("super-secret-value") && stored.starts_with("v1."));
        // Explicit URLs win.
        let res = app
            .patch("/api/v3/sources/oauth/entra-gov/", json!({"authorization_url": "https://login.example.test/custom/authorize"}))
            .await;
        res.assert_status(200);
        assert_eq!(res.json()["resolved_urls"]["authorization_url"], "https://login.example.test/custom/authorize");
        // Duplicate slug.
        let res = app
            .post("/api/v3/sources/oauth/", json!({"name": "Y", "slug": "entra-gov", "provider_type": "entraid", "consumer_key": "00001111-aaaa-2222-bbbb-3333cccc4444", "consumer_secret": "b", "settings": {"tenant": "common"}}))
            .await;
        res.assert_status(409);
        assert!(res.json()["slug"].is_array());
        // The types endpoint describes both plugins.
        let types = app.get("/api/v3/sources/oauth/source_types/").await.json();
        let names: Vec<&str> = types.as_array().unwrap().iter().map(|t| t["name"].as_str().unwrap()).collect();
        assert_eq!(names, vec!["entraid", "openidconnect"]);
        assert!(types[0]["settings_schema"]["properties"]["tenant"].is_object());
        assert_eq!(types[0]["authorization_url"], "https://login.microsoftonline.com/common/oauth2/v2.0/authorize");
    }
}

both_backends! {
    async fn secrets_about_to_expire_are_flagged(app) {
        let soon = (chrono::Utc::now() + chrono::Duration::days(10)).format("%Y-%m-%d").to_string();
        let res = app
            .post(
                "/api/v3/sources/oauth/",
                json!({"name": "Entra", "slug": "entra", "provider_type": "entraid", "consumer_key": "00001111-aaaa-2222-bbbb-3333cccc4444", "consumer_secret": "b",
                       "settings": {"tenant": "common"}, "secret_expires": soon}),
            )
            .await;
        res.assert_status(201);
        assert!(res.json()["secret_expiry_warning"].as_str().unwrap().contains("expires on"), "{}", res.text());
        let events = app.get("/api/v3/events/events/?action=source_secret_expiring").await.json();
        assert_eq!(events["pagination"]["count"], 1);
        let res = app.patch("/api/v3/sources/oauth/entra/", json!({"secret_expires": "2000-01-01"})).await;
        assert!(res.json()["secret_expiry_warning"].as_str().unwrap().contains("expired"));
        let res = app.patch("/api/v3/sources/oauth/entra/", json!({"secret_expires": "soon"})).await;
        res.assert_status(400);
        assert!(res.json()["secret_expires"].is_array());
        let res = app.patch("/api/v3/sources/oauth/entra/", json!({"secret_expires": null})).await;
        assert!(res.json()["secret_expiry_warning"].is_null());
    }
}

crate::entra_test!(
    private_key_jwt_client_authentication,
    |source| {
        source["client_auth"] = json!("private_key_jwt");
        source["private_key"] = json!(CLIENT_A.0);
        source["certificate"] = json!(CLIENT_A.1);
        source.as_object_mut().unwrap().remove("consumer_secret");
    },
    |env| {
        env.login(None).await.assert_logged_in();
        let (_, source) = env.api("GET", "/api/v3/sources/oauth/entra-id/", None).await;
        assert!(source.get("private_key").is_none(), "the key is write-only");
        assert_eq!(source["certificate"], CLIENT_A.1);
        // A certificate Entra does not know is refused there, readably here.
        let (status, body) = env
            .api(
                "PATCH",
                "/api/v3/sources/oauth/entra-id/",
                Some(json!({"private_key": CLIENT_B.0, "certificate": CLIENT_B.1})),
            )
            .await;
        assert_eq!(status, 200, "{body}");
        let login = env.login(None).await;
        assert_eq!(login.status, 400, "{}", login.body);
        assert!(login.body.contains("AADSTS700027"), "{}", login.body);
    }
);

crate::entra_test!(connections_can_be_listed_and_removed, |_source| {}, |env| {
    env.login(None).await.assert_logged_in();
    let (_, list) = env
        .api(
            "GET",
            "/api/v3/sources/user_connections/oauth/?source__slug=entra-id",
            None,
        )
        .await;
    assert_eq!(list["pagination"]["count"], 1);
    let pk = list["results"][0]["pk"].as_i64().unwrap();
    let (_, groups) = env
        .api(
            "GET",
            "/api/v3/sources/group_connections/oauth/?source__slug=entra-id",
            None,
        )
        .await;
    assert!(groups["pagination"]["count"].as_i64().unwrap() >= 2);
    assert!(groups["results"][0]["identifier"].is_string());
    let (status, _) = env
        .api(
            "DELETE",
            &format!("/api/v3/sources/user_connections/oauth/{pk}/"),
            None,
        )
        .await;
    assert_eq!(status, 204);
    let (status, _) = env
        .api(
            "GET",
            &format!("/api/v3/sources/user_connections/oauth/{pk}/"),
            None,
        )
        .await;
    assert_eq!(status, 404);
    // Unlinked: with identifier matching, the next login enrolls again and meets the old
    // account's username — refused readably, nothing created.
    let login = env.login(None).await;
    assert_eq!(login.status, 400);
    let _ = TestApp::ADMIN_TOKEN;
});

both_backends! {
    async fn login_starts_are_rate_limited_per_ip(app) {
        let _ = &app;
        let app = gatehouse_testkit::TestApp::start_with(app.backend, |s| s.login_starts_per_minute = 2).await.unwrap();
        app.post(
            "/api/v3/sources/oauth/",
            json!({"name": "Entra", "slug": "entra", "provider_type": "entraid", "consumer_key": "00001111-aaaa-2222-bbbb-3333cccc4444",
                   "consumer_secret": "s", "settings": {"tenant": "contoso.onmicrosoft.com"}}),
        )
        .await
        .assert_status(201);
        let mut web = gatehouse_testkit::web::WebClient::new(&app);
        for _ in 0..2 {
            let res = web.get("/source/oauth/login/entra/").await;
            res.assert_status(302);
            assert!(res.header("location").unwrap().starts_with("https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/v2.0/authorize?"));
        }
        let res = web.get("/source/oauth/login/entra/").await;
        res.assert_status(429);
        assert!(res.text().contains("Too many sign-in attempts"));
    }
}
