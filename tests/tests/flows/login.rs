use gatehouse_testkit::both_backends;
use gatehouse_testkit::web::{WebClient, hidden};
use serde_json::json;

use super::{LOGIN, log_in, session_count, user_with_password};

both_backends! {
    async fn password_login_logout_and_landing(app) {
        user_with_password(&app, "alice", "correct horse battery").await;
        let mut web = WebClient::new(&app);
        // `/` sends an anonymous visitor to the login page (via the default-flow shortcut).
        let (page, trail) = { let first = web.get("/").await; web.follow(first).await };
        assert_eq!(trail, vec!["/flows/-/default/authentication/?next=%2F", "/if/flow/default-authentication-flow/?next=%2F"]);
        page.assert_status(200);
        let html = page.text();
        assert!(html.contains("<label for=\"uid_field\">Username or email</label>"));
        assert!(html.contains("<label for=\"password\">Password</label>"));
        assert!(web.cookies.contains_key("gatehouse_flow"));
        assert_eq!(session_count(&app).await, 0, "showing the login page creates no session");

        let res = log_in(&mut web, "ALICE", "correct horse battery").await;
        res.assert_status(302);
        assert_eq!(res.header("location").as_deref(), Some("/"));
        let cookie = res
            .headers
            .get_all("set-cookie")
            .filter_map(|v| v.to_str().ok())
            .find(|v| v.starts_with("gatehouse_session="))
            .expect("session cookie")
            .to_owned();
        assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax") && cookie.contains("Path=/"), "{cookie}");
        assert!(!cookie.contains("Secure"), "plain http test server: no Secure flag");
        assert_eq!(session_count(&app).await, 1);

        let page = web.get("/").await;
        page.assert_status(200);
        let html = page.text();
        assert!(html.contains("data-field=\"username\">alice</dd>"), "{html}");
        assert!(html.contains("alice@example.com"));

        // The same session authenticates read-only API calls.
        let me = web.get("/api/v3/core/users/me/").await;
        me.assert_status(200);
        assert_eq!(me.json()["user"]["username"], "alice");
        assert!(me.json()["user"]["last_login"].is_string());

        // Events: a login.
        let events = app.get("/api/v3/events/events/?action=login").await;
        let login = &events.json()["results"][0];
        assert_eq!(login["user"]["username"], "alice");
        assert_eq!(login["context"]["auth_method"], "password");

        // Logout ends the session server-side: the old cookie stops working everywhere.
        let old_session = web.cookies["gatehouse_session"].clone();
        let (page, trail) = { let first = web.get("/flows/-/default/invalidation/").await; web.follow(first).await };
        page.assert_status(200);
        // The GET only asks; the confirmation form (a POST with its CSRF token) signs out.
        let html = page.text();
        let confirm = [("csrf_token", hidden(&html, "csrf_token").unwrap()), ("step", hidden(&html, "step").unwrap())];
        let confirm: Vec<(&str, &str)> = confirm.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let (page, _) = { let first = web.post_form(trail.last().unwrap(), &confirm).await; web.follow(first).await };
        page.assert_status(200);
        assert!(!web.cookies.contains_key("gatehouse_session"));
        assert_eq!(session_count(&app).await, 0);
        let mut stale = WebClient::new(&app);
        stale.cookies.insert("gatehouse_session".into(), old_session);
        let res = stale.get("/api/v3/core/users/me/").await;
        res.assert_status(401);
        let res = stale.get("/").await;
        res.assert_status(302);
    }
}

both_backends! {
    async fn next_is_honoured_and_email_identifies(app) {
        user_with_password(&app, "bob", "correct horse battery").await;
        let mut web = WebClient::new(&app);
        let path = format!("{LOGIN}?next=%2Fapi%2Fv3%2Fcore%2Fusers%2Fme%2F");
        let (csrf, step) = crate::flows::open_login(&mut web, &path).await;
        let res = web
            .post_form(&path, &[("csrf_token", &csrf), ("step", &step), ("uid_field", "BOB@example.com"), ("password", "correct horse battery")])
            .await;
        res.assert_status(302);
        assert_eq!(res.header("location").as_deref(), Some("/api/v3/core/users/me/"));
    }
}

both_backends! {
    async fn two_page_flow_with_separate_password_stage(app) {
        user_with_password(&app, "carol", "correct horse battery").await;
        // A flow built through the API: identification (no password), password, login.
        let id = app
            .post("/api/v3/stages/identification/", json!({"name": "two-page-id", "user_fields": ["username"]}))
            .await;
        id.assert_status(201);
        let pw = app.post("/api/v3/stages/password/", json!({"name": "two-page-password"})).await;
        pw.assert_status(201);
        let login = app.post("/api/v3/stages/user_login/", json!({"name": "two-page-login", "session_duration": 3600})).await;
        login.assert_status(201);
        let flow = app
            .post("/api/v3/flows/instances/", json!({"slug": "two-page", "name": "Two pages", "title": "Sign in", "designation": "authentication"}))
            .await;
        flow.assert_status(201);
        for (stage, order) in [(&id, 10), (&pw, 20), (&login, 30)] {
            app.post("/api/v3/flows/bindings/", json!({"target": flow.json()["pk"], "stage": stage.json()["pk"], "order": order}))
                .await
                .assert_status(201);
        }
        let mut web = WebClient::new(&app);
        let (csrf, step) = crate::flows::open_login(&mut web, "/if/flow/two-page/").await;
        let res = web.post_form("/if/flow/two-page/", &[("csrf_token", &csrf), ("step", &step), ("uid_field", "carol")]).await;
        res.assert_status(200);
        let html = res.text();
        assert!(html.contains("Signing in as <strong>carol</strong>"), "{html}");
        let step2 = gatehouse_testkit::web::hidden(&html, "step").unwrap();
        assert_eq!(step2, "1");
        let csrf2 = gatehouse_testkit::web::hidden(&html, "csrf_token").unwrap();
        let res = web.post_form("/if/flow/two-page/", &[("csrf_token", &csrf2), ("step", &step2), ("password", "correct horse battery")]).await;
        res.assert_status(302);
        let cookie = res.headers.get_all("set-cookie").filter_map(|v| v.to_str().ok()).find(|v| v.starts_with("gatehouse_session=")).unwrap().to_owned();
        assert!(cookie.contains("Max-Age=3600"), "the stage's session duration applies: {cookie}");

        // Unknown users get the password page too (no account enumeration), and the same error.
        let mut web = WebClient::new(&app);
        let (csrf, step) = crate::flows::open_login(&mut web, "/if/flow/two-page/").await;
        let res = web.post_form("/if/flow/two-page/", &[("csrf_token", &csrf), ("step", &step), ("uid_field", "nobody")]).await;
        res.assert_status(200);
        assert!(res.text().contains("Signing in as <strong>nobody</strong>"));
        let html = res.text();
        let res = web
            .post_form(
                "/if/flow/two-page/",
                &[("csrf_token", &gatehouse_testkit::web::hidden(&html, "csrf_token").unwrap()), ("step", "1"), ("password", "whatever-password")],
            )
            .await;
        res.assert_status(422);
        assert!(res.text().contains("Invalid username or password."));
    }
}

both_backends! {
    async fn source_buttons_are_listed(app) {
        // Sources get their own API later; a row is enough for the login page to show it.
        app.db(|conn| {
            use diesel::prelude::*;
            use gatehouse::db::schema::sources;
            let now = gatehouse::db::time::now();
            for (slug, name, enabled, promoted) in [("entra-id", "Entra ID", true, true), ("old-idp", "Old IdP", false, false)] {
                diesel::insert_into(sources::table)
                    .values((
                        sources::uuid.eq(uuid::Uuid::new_v4().to_string()),
                        sources::slug.eq(slug),
                        sources::name.eq(name),
                        sources::provider_type.eq("entraid"),
                        sources::enabled.eq(enabled),
                        sources::promoted.eq(promoted),
                        sources::created.eq(now),
                        sources::updated.eq(now),
                    ))
                    .execute(conn)?;
            }
            Ok(())
        })
        .await;
        let mut web = WebClient::new(&app);
        let page = web.get(LOGIN).await;
        let html = page.text();
        assert!(html.contains("href=\"&#x2F;source&#x2F;oauth&#x2F;login&#x2F;entra-id&#x2F;\""), "{html}");
        assert!(html.contains("src=\"&#x2F;static&#x2F;sources&#x2F;entraid.svg\""));
        assert!(html.contains("<span>Sign in with Entra ID</span>"));
        assert!(html.contains("button-promoted"));
        assert!(!html.contains("Old IdP"), "disabled sources are not shown");
        let icon = web.get("/static/sources/entraid.svg").await;
        icon.assert_status(200);
        assert_eq!(icon.header("content-type").as_deref(), Some("image/svg+xml"));
    }
}

both_backends! {
    async fn the_bootstrap_superuser_logs_in_with_its_password(app) {
        let _ = &app;
        let admin = gatehouse_testkit::TestApp::start_with(app.backend, |s| {
            s.bootstrap_password = Some("bootstrap-password-9".into());
        })
        .await
        .unwrap();
        let mut web = WebClient::new(&admin);
        let res = log_in(&mut web, "admin", "bootstrap-password-9").await;
        res.assert_status(302);
        let me = web.get("/api/v3/core/users/me/").await.json();
        assert_eq!(me["user"]["username"], "admin");
        assert_eq!(me["user"]["is_superuser"], true);
    }
}

both_backends! {
    async fn cookies_are_secure_behind_https(app) {
        let _ = &app;
        let https = gatehouse_testkit::TestApp::start_with(app.backend, |s| {
            s.external_url = "https://login.example.com/".parse().unwrap();
        })
        .await
        .unwrap();
        user_with_password(&https, "mallory", "correct horse battery").await;
        let mut web = WebClient::new(&https);
        let page = web.get(LOGIN).await;
        let flow_cookie = page.header("set-cookie").unwrap();
        assert!(flow_cookie.contains("Secure") && flow_cookie.contains("HttpOnly"), "{flow_cookie}");
        let res = log_in(&mut web, "mallory", "correct horse battery").await;
        let session = res
            .headers
            .get_all("set-cookie")
            .filter_map(|v| v.to_str().ok())
            .find(|v| v.starts_with("gatehouse_session="))
            .unwrap()
            .to_owned();
        assert!(session.contains("Secure"), "{session}");
    }
}
