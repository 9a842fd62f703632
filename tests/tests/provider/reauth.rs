//! Forced re-authentication and RP-initiated logout, in-process with local password users:
//! `prompt=login` keeps the current session until the new login succeeds; the re-authentication
//! marker is bound to the login that answered it, expires and works once; end-session signs out
//! only with a hint issued to the signed-in user.

use actix_web::http::Method;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use gatehouse_testkit::web::{WebClient, hidden};
use gatehouse_testkit::{TestApp, TestResponse, both_backends};
use serde_json::{Value, json};

use super::REDIRECT;
use crate::flows::{log_in, session_count, user_with_password};

const MARKER: &str = "gh_auth_after";

struct App {
    slug: &'static str,
    client_id: String,
    secret: String,
}

async fn application(app: &TestApp) -> App {
    let res = app
        .post(
            "/api/v3/providers/oauth2/",
            json!({"name": "crm", "redirect_uris": [{"matching_mode": "strict", "url": REDIRECT}]}),
        )
        .await;
    res.assert_status(201);
    let provider = res.json();
    app.post(
        "/api/v3/core/applications/",
        json!({"name": "crm", "slug": "crm", "provider": provider["pk"]}),
    )
    .await
    .assert_status(201);
    App {
        slug: "crm",
        client_id: provider["client_id"].as_str().unwrap().to_owned(),
        secret: provider["client_secret"].as_str().unwrap().to_owned(),
    }
}

fn authorize(rp: &App, challenge: &str, extra: &[(&str, &str)]) -> String {
    let mut query = url::form_urlencoded::Serializer::new(String::new());
    query.append_pair("client_id", &rp.client_id);
    query.append_pair("redirect_uri", REDIRECT);
    query.append_pair("response_type", "code");
    query.append_pair("scope", "openid profile");
    query.append_pair("code_challenge", challenge);
    query.append_pair("code_challenge_method", "S256");
    query.extend_pairs(extra.iter().copied());
    format!("/application/o/authorize/?{}", query.finish())
}

fn param(url: &str, name: &str) -> Option<String> {
    let query = url.split_once('?')?.1;
    url::form_urlencoded::parse(query.as_bytes())
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

fn location(res: &TestResponse) -> String {
    assert!(res.status.is_redirection(), "{}: {}", res.status, res.text());
    res.header("location").unwrap()
}

/// Follows redirects inside Gatehouse; returns the first one to the application, or the page.
async fn follow(web: &mut WebClient<'_>, mut res: TestResponse) -> Result<String, TestResponse> {
    for _ in 0..10 {
        if !res.status.is_redirection() {
            return Err(res);
        }
        let to = location(&res);
        if to.starts_with(REDIRECT) {
            return Ok(to);
        }
        res = web.get(&to).await;
    }
    Err(res)
}

/// Answers the login page `res` (reached by redirect from `path`) with a password.
async fn answer_login(web: &mut WebClient<'_>, path: &str, page: &TestResponse, user: &str) -> TestResponse {
    page.assert_status(200);
    let html = page.text();
    let csrf = hidden(&html, "csrf_token").expect("a login form");
    let step = hidden(&html, "step").unwrap();
    web.post_form(
        path,
        &[
            ("csrf_token", &csrf),
            ("step", &step),
            ("uid_field", user),
            ("password", "correct horse battery"),
        ],
    )
    .await
}

/// Runs an authorization that asks for a login; returns the login redirect (with the marker).
async fn forced_login_redirect(web: &mut WebClient<'_>, rp: &App, extra: &[(&str, &str)]) -> String {
    let (_, challenge) = crate::provider::pkce();
    let res = web.get(&authorize(rp, &challenge, extra)).await;
    let to = location(&res);
    assert!(to.starts_with("/flows/-/default/authentication/"), "{to}");
    to
}

/// Completes the login behind `login_redirect` as `user`; returns the redirect to the app.
async fn complete_login(web: &mut WebClient<'_>, login_redirect: &str, user: &str) -> String {
    let first = web.get(login_redirect).await;
    let page_path = location(&first);
    let page = web.get(&page_path).await;
    let res = answer_login(web, &page_path, &page, user).await;
    follow(web, res)
        .await
        .unwrap_or_else(|page| panic!("no redirect to the app: {} {}", page.status, page.text()))
}

async fn me(web: &mut WebClient<'_>) -> Option<String> {
    let res = web.get("/api/v3/core/users/me/").await;
    (res.status == 200).then(|| res.json()["user"]["username"].as_str().unwrap().to_owned())
}

async fn signed_in<'a>(app: &'a TestApp, user: &str) -> WebClient<'a> {
    let mut web = WebClient::new(app);
    log_in(&mut web, user, "correct horse battery")
        .await
        .assert_status(302);
    web
}

both_backends! {
    async fn prompt_login_keeps_the_session_until_the_new_login(app) {
        let rp = application(&app).await;
        user_with_password(&app, "alice", "correct horse battery").await;
        let mut web = signed_in(&app, "alice").await;
        let old = web.cookies["gatehouse_session"].clone();
        let login = forced_login_redirect(&mut web, &rp, &[("prompt", "login")]).await;
        // A GET (a link from anywhere) ends nothing: the session still works.
        assert_eq!(me(&mut web).await.as_deref(), Some("alice"), "the old session must stay valid");
        assert_eq!(session_count(&app).await, 1);
        // The login page is shown although a session exists, and completing it replaces the session.
        let target = complete_login(&mut web, &login, "alice").await;
        assert!(param(&target, "code").is_some(), "{target}");
        assert_ne!(web.cookies["gatehouse_session"], old);
        assert_eq!(session_count(&app).await, 1);
        let mut stale = WebClient::new(&app);
        stale.cookies.insert("gatehouse_session".into(), old);
        assert_eq!(me(&mut stale).await, None, "the old session ends with the new login");
        assert_eq!(me(&mut web).await.as_deref(), Some("alice"));
    }
}

both_backends! {
    async fn a_used_reauth_marker_does_not_skip_prompt_login(app) {
        let rp = application(&app).await;
        user_with_password(&app, "alice", "correct horse battery").await;
        let mut web = signed_in(&app, "alice").await;
        let login = forced_login_redirect(&mut web, &rp, &[("prompt", "login")]).await;
        let marker = param(&param(&login, "next").unwrap(), MARKER).expect("a marker");
        complete_login(&mut web, &login, "alice").await;
        // Replaying the marker (from history, a log, a proxy) asks for the login again.
        let (_, challenge) = crate::provider::pkce();
        let replay = authorize(&rp, &challenge, &[("prompt", "login"), (MARKER, &marker)]);
        let res = web.get(&replay).await;
        let to = location(&res);
        assert!(to.starts_with("/flows/-/default/authentication/"), "replayed marker accepted: {to}");
        let res = web.get(&authorize(&rp, &challenge, &[("max_age", "0"), (MARKER, &marker)])).await;
        assert!(location(&res).starts_with("/flows/-/default/authentication/"));
    }
}

both_backends! {
    async fn a_marker_from_another_login_is_refused(app) {
        let rp = application(&app).await;
        user_with_password(&app, "alice", "correct horse battery").await;
        let mut web = signed_in(&app, "alice").await;
        // A marker minted for one forced login, never completed...
        let login = forced_login_redirect(&mut web, &rp, &[("prompt", "login")]).await;
        let marker = param(&param(&login, "next").unwrap(), MARKER).unwrap();
        // ... is worth nothing to a session made by another login, even a newer one.
        let mut again = signed_in(&app, "alice").await;
        let (_, challenge) = crate::provider::pkce();
        let res = again.get(&authorize(&rp, &challenge, &[("prompt", "login"), (MARKER, &marker)])).await;
        assert!(location(&res).starts_with("/flows/-/default/authentication/"));
        // A forged marker is no marker either.
        let forged = format!("{}.AAAA.AAAA", chrono::Utc::now().timestamp() + 60);
        let res = again.get(&authorize(&rp, &challenge, &[("prompt", "login"), (MARKER, &forged)])).await;
        assert!(location(&res).starts_with("/flows/-/default/authentication/"));
    }
}

/// An id_token for `user`, through a full authorization on a fresh browser.
async fn id_token(app: &TestApp, rp: &App, user: &str) -> String {
    let mut web = signed_in(app, user).await;
    let (verifier, challenge) = crate::provider::pkce();
    let res = web.get(&authorize(rp, &challenge, &[])).await;
    let target = follow(&mut web, res)
        .await
        .unwrap_or_else(|p| panic!("{}", p.text()));
    let code = param(&target, "code").unwrap();
    let body = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs([
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", REDIRECT),
            ("code_verifier", &verifier),
        ])
        .finish();
    let basic = STANDARD.encode(format!("{}:{}", rp.client_id, rp.secret));
    let res = app
        .req(Method::POST, "/application/o/token/")
        .anonymous()
        .header("Authorization", &format!("Basic {basic}"))
        .raw("application/x-www-form-urlencoded", body)
        .send()
        .await;
    res.assert_status(200);
    let tokens: Value = res.json();
    tokens["id_token"].as_str().unwrap().to_owned()
}

fn end_session(rp: &App, hint: &str) -> String {
    let mut query = url::form_urlencoded::Serializer::new(String::new());
    query.append_pair("id_token_hint", hint);
    query.append_pair("post_logout_redirect_uri", REDIRECT);
    format!("/application/o/{}/end-session/?{}", rp.slug, query.finish())
}

both_backends! {
    async fn end_session_needs_the_signed_in_users_hint(app) {
        let rp = application(&app).await;
        user_with_password(&app, "alice", "correct horse battery").await;
        user_with_password(&app, "bob", "correct horse battery").await;
        let bobs = id_token(&app, &rp, "bob").await;
        let alices = id_token(&app, &rp, "alice").await;
        let mut web = signed_in(&app, "alice").await;
        // Someone else's (valid) id_token: only the confirmation page, no logout.
        let res = web.get(&end_session(&rp, &bobs)).await;
        assert_eq!(location(&res), "/flows/-/default/invalidation/");
        assert_eq!(me(&mut web).await.as_deref(), Some("alice"), "another user's hint signed alice out");
        // Alice's own hint signs her out and returns to the application.
        let res = web.get(&end_session(&rp, &alices)).await;
        assert!(location(&res).starts_with(REDIRECT));
        assert_eq!(me(&mut web).await, None);
    }
}

// The forced login answered through a source (Entra ID): the marker rides in `next` through the
// source's login, and the session the source flow creates takes it.
crate::entra_test!(prompt_login_answered_through_entra, |_source| {}, |env| {
    use crate::provider::{authorize_url, create_rp, follow_to_app, signed_in};
    let rp = create_rp(&env, "crm", json!({})).await;
    let mut browser = signed_in(&env).await;
    let (_, challenge) = crate::provider::pkce();
    let pkce = [
        ("code_challenge", challenge.as_str()),
        ("code_challenge_method", "S256"),
    ];
    let url = authorize_url(&rp, &[&pkce[..], &[("prompt", "login")]].concat());
    let res = browser.get(&format!("{}{url}", browser.base)).await;
    let location = res.headers()["location"].to_str().unwrap().to_owned();
    assert!(
        location.starts_with("/flows/-/default/authentication/"),
        "{location}"
    );
    assert!(
        !browser.me().await["user"].is_null(),
        "the old session lasts until the new login"
    );
    let next = param(&location, "next").unwrap();
    let path = Browserless::login_path(SLUG, None, Some(&next));
    let target = follow_to_app(&mut browser, env.sim.base_url(), &path)
        .await
        .unwrap();
    assert!(crate::provider::param(&target, "code").is_some(), "{target}");
    // Used once: the same marker again asks for the login.
    let marker = param(&next, MARKER).unwrap();
    let replay = authorize_url(
        &rp,
        &[&pkce[..], &[("prompt", "login"), (MARKER, marker.as_str())]].concat(),
    );
    let res = browser.get(&format!("{}{replay}", browser.base)).await;
    let location = res.headers()["location"].to_str().unwrap().to_owned();
    assert!(
        location.starts_with("/flows/-/default/authentication/"),
        "{location}"
    );
});
