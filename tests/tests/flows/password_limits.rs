//! Password guessing limits through the login page: the per-user limit is counted before argon2
//! runs (parallel guesses cannot all pass an old count), and the per-flow cap also applies on the
//! one-page login, whose flow is otherwise not stored.

use futures_util::future::join_all;
use gatehouse_testkit::TestApp;
use gatehouse_testkit::web::{WebClient, hidden};

use super::{LOGIN, log_in, open_login, session_count, user_with_password};

/// `login_failed` events with this reason.
async fn failures(app: &TestApp, reason: &'static str) -> usize {
    app.db(move |conn| {
        use diesel::prelude::*;
        use gatehouse::db::schema::events;
        let contexts: Vec<String> = events::table
            .filter(events::action.eq("login_failed"))
            .select(events::context)
            .load(conn)?;
        Ok(contexts
            .iter()
            .filter(|c| c.contains(&format!("\"reason\":\"{reason}\"")))
            .count())
    })
    .await
}

gatehouse_testkit::both_backends! {
    async fn parallel_wrong_passwords_stop_at_the_user_limit(app) {
        user_with_password(&app, "alice", "correct horse battery").await;
        // Twenty browsers, each with its own flow (the per-flow cap does not come into play).
        let mut browsers = Vec::new();
        for _ in 0..20 {
            let mut web = WebClient::new(&app);
            let (csrf, step) = open_login(&mut web, LOGIN).await;
            browsers.push((web, csrf, step));
        }
        let answers = join_all(browsers.iter_mut().map(|(web, csrf, step)| async move {
            web.post_form(LOGIN, &[("csrf_token", csrf.as_str()), ("step", step.as_str()), ("uid_field", "alice"), ("password", "wrong guess")])
                .await
        }))
        .await;
        let limited = answers.iter().filter(|r| r.text().contains("Too many failed sign-in attempts")).count();
        let checked = failures(&app, "invalid_credentials").await;
        assert!(checked <= 10, "{checked} passwords were checked with a limit of 10");
        assert_eq!(checked + limited, 20, "every other guess was refused as over the limit");
        assert_eq!(failures(&app, "rate_limited").await, limited);

        // While locked, even the right password is refused (and not checked).
        let mut web = WebClient::new(&app);
        let res = log_in(&mut web, "alice", "correct horse battery").await;
        res.assert_status(422);
        assert!(res.text().contains("Too many failed sign-in attempts"));
        assert_eq!(session_count(&app).await, 0);
        assert_eq!(failures(&app, "invalid_credentials").await, checked);
    }
}

gatehouse_testkit::both_backends! {
    async fn the_one_page_login_cancels_after_the_flow_cap(app) {
        user_with_password(&app, "bob", "correct horse battery").await;
        let mut web = WebClient::new(&app);
        let (mut csrf, mut step) = open_login(&mut web, LOGIN).await;
        // The default password stage cancels after 5 wrong passwords in one flow.
        for attempt in 1..=4 {
            let res = web
                .post_form(LOGIN, &[("csrf_token", &csrf), ("step", &step), ("uid_field", "bob"), ("password", "wrong guess")])
                .await;
            res.assert_status(422);
            let html = res.text();
            assert!(html.contains("Invalid username or password."), "attempt {attempt}: {html}");
            csrf = hidden(&html, "csrf_token").unwrap();
            step = hidden(&html, "step").unwrap();
        }
        let res = web
            .post_form(LOGIN, &[("csrf_token", &csrf), ("step", &step), ("uid_field", "bob"), ("password", "wrong guess")])
            .await;
        res.assert_status(403);
        assert!(res.text().contains("sign-in was cancelled"), "{}", res.text());
        // The cancelled flow cannot be continued, not even with the right password.
        let res = web
            .post_form(LOGIN, &[("csrf_token", &csrf), ("step", &step), ("uid_field", "bob"), ("password", "correct horse battery")])
            .await;
        assert!(res.status.is_client_error(), "{}", res.status);
        assert_eq!(session_count(&app).await, 0);
        // A new flow (five failures are below the per-user limit) signs in.
        let mut fresh = WebClient::new(&app);
        log_in(&mut fresh, "bob", "correct horse battery").await.assert_status(302);
    }
}
