//! Wrong password, unknown user, expired flow state, replayed form, missing CSRF token, tampered
//! session cookie, `next` to another site: a clear page or 4xx, never a 500, no session created.

use gatehouse_testkit::web::{WebClient, hidden};
use gatehouse_testkit::{TestApp, both_backends};

use super::{LOGIN, log_in, open_login, session_count, user_with_password};

async fn expire_all_flow_states(app: &TestApp) {
    app.db(|conn| {
        use diesel::prelude::*;
        use gatehouse::db::schema::flow_states;
        diesel::update(flow_states::table)
            .set(flow_states::expires.eq(gatehouse::db::time::now() - chrono::Duration::seconds(1)))
            .execute(conn)?;
        Ok(())
    })
    .await;
}

both_backends! {
    async fn wrong_password_and_unknown_user_look_the_same(app) {
        user_with_password(&app, "dave", "correct horse battery").await;
        let mut web = WebClient::new(&app);
        let wrong = log_in(&mut web, "dave", "not the password").await;
        wrong.assert_status(422);
        let mut web = WebClient::new(&app);
        let unknown = log_in(&mut web, "nobody-here", "not the password").await;
        unknown.assert_status(422);
        for res in [&wrong, &unknown] {
            let html = res.text();
            assert!(html.contains("Invalid username or password."), "{html}");
            assert!(html.contains("aria-invalid=\"true\""));
        }
        assert_eq!(session_count(&app).await, 0);
        let events = app.get("/api/v3/events/events/?action=login_failed").await;
        assert_eq!(events.json()["pagination"]["count"], 2);
        assert_eq!(events.json()["results"][0]["context"]["reason"], "invalid_credentials");
        // The username is kept in the form, the password is not.
        assert!(wrong.text().contains("value=\"dave\""));
        // Empty fields are named.
        let mut web = WebClient::new(&app);
        let (csrf, step) = open_login(&mut web, LOGIN).await;
        let res = web.post_form(LOGIN, &[("csrf_token", &csrf), ("step", &step), ("uid_field", ""), ("password", "")]).await;
        res.assert_status(422);
        assert!(res.text().contains("Enter your username or email address."));
    }
}

both_backends! {
    async fn missing_or_forged_csrf_token_is_refused(app) {
        user_with_password(&app, "erin", "correct horse battery").await;
        let mut web = WebClient::new(&app);
        let (_, step) = open_login(&mut web, LOGIN).await;
        let res = web.post_form(LOGIN, &[("step", &step), ("uid_field", "erin"), ("password", "correct horse battery")]).await;
        res.assert_status(403);
        assert!(res.text().contains("The form could not be verified"));
        let res = web
            .post_form(LOGIN, &[("csrf_token", "forged"), ("step", &step), ("uid_field", "erin"), ("password", "correct horse battery")])
            .await;
        res.assert_status(403);
        // A token from another browser's flow does not fit this one.
        let mut other = WebClient::new(&app);
        let (other_csrf, _) = open_login(&mut other, LOGIN).await;
        let res = web
            .post_form(LOGIN, &[("csrf_token", &other_csrf), ("step", &step), ("uid_field", "erin"), ("password", "correct horse battery")])
            .await;
        res.assert_status(403);
        // No flow cookie at all (cookies blocked): a readable page.
        let mut cookieless = WebClient::new(&app);
        let res = cookieless
            .post_form(LOGIN, &[("csrf_token", &other_csrf), ("step", "0"), ("uid_field", "erin"), ("password", "correct horse battery")])
            .await;
        res.assert_status(400);
        assert!(res.text().contains("did not send the sign-in cookie"));
        assert_eq!(session_count(&app).await, 0);
    }
}

both_backends! {
    async fn replayed_and_expired_forms_are_refused(app) {
        user_with_password(&app, "frank", "correct horse battery").await;
        // Replay: submit the same login form twice with the same cookie.
        let mut web = WebClient::new(&app);
        let (csrf, step) = open_login(&mut web, LOGIN).await;
        let flow_cookie = web.cookies["gatehouse_flow"].clone();
        let form = [("csrf_token", csrf.as_str()), ("step", step.as_str()), ("uid_field", "frank"), ("password", "correct horse battery")];
        web.post_form(LOGIN, &form).await.assert_status(302);
        assert_eq!(session_count(&app).await, 1);
        let mut replay = WebClient::new(&app);
        replay.cookies.insert("gatehouse_flow".into(), flow_cookie);
        let res = replay.post_form(LOGIN, &form).await;
        res.assert_status(409);
        assert!(res.text().contains("already submitted"));
        assert!(!replay.cookies.contains_key("gatehouse_session"));
        assert_eq!(session_count(&app).await, 1, "the replay created no session");

        // A later step of a flow that was never stored: nothing to continue.
        let mut web = WebClient::new(&app);
        let (csrf, _) = open_login(&mut web, LOGIN).await;
        let res = web.post_form(LOGIN, &[("csrf_token", &csrf), ("step", "7"), ("uid_field", "frank"), ("password", "correct horse battery")]).await;
        res.assert_status(410);

        // Expired: a stored flow (two-page flow, after its first page) that timed out.
        let id = app.post("/api/v3/stages/identification/", serde_json::json!({"name": "exp-id", "user_fields": ["username"]})).await;
        let pw = app.post("/api/v3/stages/password/", serde_json::json!({"name": "exp-pw"})).await;
        let flow = app.post("/api/v3/flows/instances/", serde_json::json!({"slug": "exp", "name": "Exp", "designation": "authentication"})).await;
        for (stage, order) in [(&id, 1), (&pw, 2)] {
            app.post("/api/v3/flows/bindings/", serde_json::json!({"target": flow.json()["pk"], "stage": stage.json()["pk"], "order": order})).await.assert_status(201);
        }
        let mut web = WebClient::new(&app);
        let (csrf, step) = open_login(&mut web, "/if/flow/exp/").await;
        let page = web.post_form("/if/flow/exp/", &[("csrf_token", &csrf), ("step", &step), ("uid_field", "frank")]).await;
        page.assert_status(200);
        // A stale step in a stored flow (double submit of the first page) is refused.
        let res = web.post_form("/if/flow/exp/", &[("csrf_token", &csrf), ("step", &step), ("uid_field", "frank")]).await;
        res.assert_status(409);
        assert!(res.text().contains("already submitted"));
        expire_all_flow_states(&app).await;
        let html = page.text();
        let res = web
            .post_form("/if/flow/exp/", &[("csrf_token", &hidden(&html, "csrf_token").unwrap()), ("step", "1"), ("password", "correct horse battery")])
            .await;
        res.assert_status(410);
        assert!(res.text().contains("expired"));
        assert!(!web.cookies.contains_key("gatehouse_flow"), "the dead flow cookie is cleared");
        // Showing the page again starts over.
        let res = web.get("/if/flow/exp/").await;
        res.assert_status(200);
        assert!(res.text().contains("name=\"uid_field\""));
        assert_eq!(session_count(&app).await, 1);
    }
}

both_backends! {
    async fn next_must_stay_on_this_server(app) {
        user_with_password(&app, "grace", "correct horse battery").await;
        for next in ["https://evil.example/", "//evil.example/", "/\\evil.example", "javascript:alert(1)"] {
            let mut web = WebClient::new(&app);
            let path = format!("{LOGIN}?next={}", url::form_urlencoded::byte_serialize(next.as_bytes()).collect::<String>());
            let page = web.get(&path).await;
            page.assert_status(400);
            assert!(page.text().contains("must be a path on this server"), "{next}");
            assert!(!page.text().contains("name=\"password\""));
            // Posting straight to it, with a genuine CSRF token of this browser's flow, is refused
            // for the `next` alone.
            let (csrf, step) = open_login(&mut web, LOGIN).await;
            let form = [("csrf_token", csrf.as_str()), ("step", step.as_str()), ("uid_field", "grace"), ("password", "correct horse battery")];
            let res = web.post_form(&path, &form).await;
            res.assert_status(400);
            assert!(res.text().contains("must be a path on this server"), "{next}: {}", res.text());
            assert_eq!(session_count(&app).await, 0);
            // The same form without the bad `next` signs in: the token was good.
            web.post_form(LOGIN, &form).await.assert_status(302);
            assert_eq!(session_count(&app).await, 1);
            app.db(|conn| {
                use diesel::prelude::*;
                diesel::delete(gatehouse::db::schema::sessions::table).execute(conn)?;
                Ok(())
            })
            .await;
        }
    }
}

both_backends! {
    async fn tampered_session_cookie_is_no_session(app) {
        user_with_password(&app, "heidi", "correct horse battery").await;
        let mut web = WebClient::new(&app);
        log_in(&mut web, "heidi", "correct horse battery").await.assert_status(302);
        let genuine = web.cookies["gatehouse_session"].clone();
        for forged in [format!("{genuine}x"), "x".repeat(300), String::from("%00%ff"), genuine[..10].to_owned()] {
            let mut other = WebClient::new(&app);
            other.cookies.insert("gatehouse_session".into(), forged);
            other.get("/").await.assert_status(302);
            other.get("/api/v3/core/users/me/").await.assert_status(401);
            other.get(LOGIN).await.assert_status(200);
        }
        assert_eq!(session_count(&app).await, 1);
    }
}

both_backends! {
    async fn repeated_failures_are_rate_limited(app) {
        user_with_password(&app, "ivan", "correct horse battery").await;
        for _ in 0..gatehouse::flows::stages::password::MAX_FAILURES_PER_USER {
            let mut web = WebClient::new(&app);
            log_in(&mut web, "ivan", "wrong password").await.assert_status(422);
        }
        // Even the right password is refused now, for a while.
        let mut web = WebClient::new(&app);
        let res = log_in(&mut web, "ivan", "correct horse battery").await;
        res.assert_status(422);
        assert!(res.text().contains("Too many failed sign-in attempts"));
        assert_eq!(session_count(&app).await, 0);
        let events = app.get("/api/v3/events/events/?action=login_failed&search=rate_limited").await;
        assert_eq!(events.json()["pagination"]["count"], 1);
    }
}

both_backends! {
    async fn the_stages_attempt_limit_cancels_the_flow(app) {
        // A per-flow limit below the per-user rate limit, so that only the stage's limit can act.
        let flow = app.get("/api/v3/flows/instances/default-authentication-flow/").await.json();
        let identification = app.get(&format!("/api/v3/stages/all/{}/", flow["stages"][0].as_str().unwrap())).await.json();
        let password_stage = identification["password_stage"].as_str().unwrap().to_owned();
        app.patch(&format!("/api/v3/stages/password/{password_stage}/"), serde_json::json!({"failed_attempts_before_cancel": 3}))
            .await
            .assert_status(200);
        user_with_password(&app, "judy", "correct horse battery").await;
        let mut web = WebClient::new(&app);
        let (csrf, step) = open_login(&mut web, LOGIN).await;
        let (csrf, step) = (csrf.as_str(), step.as_str());
        let attempt = |password: &'static str| [("csrf_token", csrf), ("step", step), ("uid_field", "judy"), ("password", password)];
        for _ in 0..2 {
            let res = web.post_form(LOGIN, &attempt("wrong password")).await;
            res.assert_status(422);
            assert!(res.text().contains("Invalid username or password."), "{}", res.text());
        }
        // The third failure in this flow cancels it...
        let res = web.post_form(LOGIN, &attempt("wrong password")).await;
        assert!(res.status.is_client_error(), "{}", res.status);
        assert!(res.text().contains("Too many failed attempts; sign-in was cancelled"), "{}", res.text());
        // ...and the right password cannot continue it.
        let res = web.post_form(LOGIN, &attempt("correct horse battery")).await;
        assert!(res.status.is_client_error(), "{}", res.status);
        assert_eq!(session_count(&app).await, 0);
        // A new flow starts afresh (the per-user rate limit is far from reached).
        let mut web = WebClient::new(&app);
        log_in(&mut web, "judy", "correct horse battery").await.assert_status(302);
    }
}

both_backends! {
    async fn unknown_flows_and_shortcuts(app) {
        let mut web = WebClient::new(&app);
        let res = web.get("/if/flow/no-such-flow/").await;
        res.assert_status(404);
        assert!(res.text().contains("does not exist"));
        let res = web.post_form("/if/flow/no-such-flow/", &[("step", "0")]).await;
        res.assert_status(404);
        let res = web.get("/flows/-/default/authentication/?next=%2Ffoo").await;
        res.assert_status(302);
        assert_eq!(res.header("location").as_deref(), Some("/if/flow/default-authentication-flow/?next=%2Ffoo"));
        let res = web.get("/flows/-/cancel/").await;
        res.assert_status(302);
        // A huge or garbled form is a readable 4xx.
        let res = web.post_form(LOGIN, &[("uid_field", &"x".repeat(70_000))]).await;
        res.assert_status(413);
        // A flow that requires a login sends anonymous visitors to log in, then back.
        let res = web.get("/if/flow/default-provider-authorization-explicit-consent/").await;
        res.assert_status(302);
        assert_eq!(
            res.header("location").as_deref(),
            Some("/flows/-/default/authentication/?next=%2Fif%2Fflow%2Fdefault-provider-authorization-explicit-consent%2F")
        );
    }
}
