//! Logout is a confirmed POST: a GET of the invalidation URL (a link or an image on another
//! site) only shows the confirmation page; the form's CSRF token is required to sign out.

use gatehouse_testkit::web::{WebClient, hidden};

use super::{log_in, session_count, user_with_password};

const LOGOUT: &str = "/if/flow/default-invalidation-flow/";

/// A logged-in browser.
async fn signed_in(app: &gatehouse_testkit::TestApp) -> WebClient<'_> {
    user_with_password(app, "alice", "correct horse battery").await;
    let mut web = WebClient::new(app);
    log_in(&mut web, "alice", "correct horse battery")
        .await
        .assert_status(302);
    web
}

async fn still_signed_in(web: &mut WebClient<'_>) {
    let me = web.get("/api/v3/core/users/me/").await;
    me.assert_status(200);
    assert_eq!(me.json()["user"]["username"], "alice");
}

gatehouse_testkit::both_backends! {
    async fn a_get_of_the_logout_url_only_asks(app) {
        let mut web = signed_in(&app).await;
        // What an <img src> on another site would do: GET and follow.
        let (page, trail) = { let first = web.get("/flows/-/default/invalidation/").await; web.follow(first).await };
        assert_eq!(trail, vec![LOGOUT.to_owned()]);
        page.assert_status(200);
        let html = page.text();
        assert!(html.contains("<form method=\"post\""), "{html}");
        assert!(html.contains("Sign out"), "{html}");
        assert!(hidden(&html, "csrf_token").is_some());
        assert_eq!(session_count(&app).await, 1, "a GET logs nobody out");
        still_signed_in(&mut web).await;
        // Showing it again changes nothing either.
        web.get(LOGOUT).await.assert_status(200);
        still_signed_in(&mut web).await;
    }
}

gatehouse_testkit::both_backends! {
    async fn the_confirmed_post_logs_out(app) {
        let mut web = signed_in(&app).await;
        let old_session = web.cookies["gatehouse_session"].clone();
        let html = web.get(LOGOUT).await.text();
        let csrf = hidden(&html, "csrf_token").unwrap();
        let step = hidden(&html, "step").unwrap();
        let res = web.post_form(LOGOUT, &[("csrf_token", &csrf), ("step", &step)]).await;
        res.assert_status(302);
        assert!(!web.cookies.contains_key("gatehouse_session"));
        assert_eq!(session_count(&app).await, 0);
        let mut stale = WebClient::new(&app);
        stale.cookies.insert("gatehouse_session".into(), old_session);
        stale.get("/api/v3/core/users/me/").await.assert_status(401);
        let events = app.get("/api/v3/events/events/?action=logout").await;
        assert_eq!(events.json()["results"][0]["user"]["username"], "alice");
    }
}

gatehouse_testkit::both_backends! {
    async fn a_post_without_the_right_token_is_refused(app) {
        let mut web = signed_in(&app).await;
        let html = web.get(LOGOUT).await.text();
        let step = hidden(&html, "step").unwrap();
        // No token (a form on another site), then a wrong one.
        let res = web.post_form(LOGOUT, &[("step", &step)]).await;
        res.assert_status(403);
        assert!(res.text().contains("Form not accepted"), "{}", res.text());
        let res = web.post_form(LOGOUT, &[("csrf_token", "forged"), ("step", &step)]).await;
        res.assert_status(403);
        // Another browser's valid token does not fit this browser's flow.
        let mut other = WebClient::new(&app);
        log_in(&mut other, "alice", "correct horse battery").await.assert_status(302);
        let foreign = hidden(&other.get(LOGOUT).await.text(), "csrf_token").unwrap();
        let res = web.post_form(LOGOUT, &[("csrf_token", &foreign), ("step", &step)]).await;
        res.assert_status(403);
        assert_eq!(session_count(&app).await, 2);
        still_signed_in(&mut web).await;
    }
}
