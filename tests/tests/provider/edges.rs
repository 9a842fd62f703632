//! The provider's edges, in-process with local password users: codes and refresh tokens bound to
//! their client, expired and narrowed refresh tokens, a deactivated user, a verifier without a
//! challenge, concurrent redemption and rotation, explicit consent and `max_age`.

use actix_web::http::Method;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use gatehouse_testkit::web::{WebClient, hidden};
use gatehouse_testkit::{TestApp, TestResponse, both_backends};
use serde_json::{Value, json};

use super::REDIRECT;
use crate::flows::{log_in, user_with_password};

const PASSWORD: &str = "correct horse battery";

struct Rp {
    client_id: String,
    secret: String,
}

/// A confidential application `slug`; `extra` is merged into the provider.
async fn application(app: &TestApp, slug: &str, extra: Value) -> Rp {
    let mut body = json!({"name": slug, "redirect_uris": [{"matching_mode": "strict", "url": REDIRECT}]});
    if let (Some(map), Some(extra)) = (body.as_object_mut(), extra.as_object()) {
        map.extend(extra.clone());
    }
    let res = app.post("/api/v3/providers/oauth2/", body).await;
    res.assert_status(201);
    let provider = res.json();
    app.post(
        "/api/v3/core/applications/",
        json!({"name": slug, "slug": slug, "provider": provider["pk"]}),
    )
    .await
    .assert_status(201);
    Rp {
        client_id: provider["client_id"].as_str().unwrap().to_owned(),
        secret: provider["client_secret"].as_str().unwrap().to_owned(),
    }
}

fn authorize(rp: &Rp, extra: &[(&str, &str)]) -> String {
    let mut query = url::form_urlencoded::Serializer::new(String::new());
    query.append_pair("client_id", &rp.client_id);
    query.append_pair("redirect_uri", REDIRECT);
    query.append_pair("response_type", "code");
    query.append_pair("scope", "openid profile offline_access");
    query.extend_pairs(extra.iter().copied());
    format!("/application/o/authorize/?{}", query.finish())
}

fn param(url: &str, name: &str) -> Option<String> {
    let query = url.split_once('?')?.1;
    url::form_urlencoded::parse(query.as_bytes())
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

/// Follows redirects inside Gatehouse: `Ok` with the redirect to the application, or `Err` with
/// the page reached and its path.
async fn follow(web: &mut WebClient<'_>, start: &str) -> Result<String, (String, TestResponse)> {
    let mut path = start.to_owned();
    let mut res = web.get(&path).await;
    for _ in 0..10 {
        if !res.status.is_redirection() {
            break;
        }
        let to = res.header("location").unwrap();
        if to.starts_with(REDIRECT) {
            return Ok(to);
        }
        path = to;
        res = web.get(&path).await;
    }
    Err((path, res))
}

async fn signed_in<'a>(app: &'a TestApp, user: &str) -> WebClient<'a> {
    user_with_password(app, user, PASSWORD).await;
    let mut web = WebClient::new(app);
    log_in(&mut web, user, PASSWORD).await.assert_status(302);
    web
}

/// An authorization with PKCE for `rp`; returns (code, verifier).
async fn code(web: &mut WebClient<'_>, rp: &Rp) -> (String, String) {
    let (verifier, challenge) = crate::provider::pkce();
    let url = authorize(
        rp,
        &[("code_challenge", &challenge), ("code_challenge_method", "S256")],
    );
    let target = follow(web, &url)
        .await
        .unwrap_or_else(|(path, page)| panic!("no code: {path} {} {}", page.status, page.text()));
    (param(&target, "code").expect("a code"), verifier)
}

/// POSTs `form` to the token endpoint as `rp` (HTTP Basic).
async fn token(app: &TestApp, rp: &Rp, form: &[(&str, &str)]) -> (u16, Value) {
    let body = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(form.iter().copied())
        .finish();
    let basic = STANDARD.encode(format!("{}:{}", rp.client_id, rp.secret));
    let res = app
        .req(Method::POST, "/application/o/token/")
        .anonymous()
        .header("Authorization", &format!("Basic {basic}"))
        .raw("application/x-www-form-urlencoded", body)
        .send()
        .await;
    (
        res.status.as_u16(),
        serde_json::from_slice(&res.body).unwrap_or(Value::Null),
    )
}

fn redeem_form<'a>(code: &'a str, verifier: &'a str) -> [(&'static str, &'a str); 4] {
    [
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", REDIRECT),
        ("code_verifier", verifier),
    ]
}

async fn redeem(app: &TestApp, rp: &Rp, code: &str, verifier: &str) -> (u16, Value) {
    token(app, rp, &redeem_form(code, verifier)).await
}

async fn refresh(app: &TestApp, rp: &Rp, refresh_token: &str, scope: Option<&str>) -> (u16, Value) {
    let mut form = vec![("grant_type", "refresh_token"), ("refresh_token", refresh_token)];
    if let Some(scope) = scope {
        form.push(("scope", scope));
    }
    token(app, rp, &form).await
}

/// Tokens for a fresh authorization of `rp` in `web`.
async fn tokens(app: &TestApp, web: &mut WebClient<'_>, rp: &Rp) -> Value {
    let (code, verifier) = code(web, rp).await;
    let (status, body) = redeem(app, rp, &code, &verifier).await;
    assert_eq!(status, 200, "{body}");
    body
}

async fn userinfo(app: &TestApp, access: &str) -> u16 {
    let res = app
        .req(Method::GET, "/application/o/userinfo/")
        .token(access)
        .send()
        .await;
    res.status.as_u16()
}

/// The refusal is the RFC 6749 `error` for the reason named, not another one.
fn assert_refused(got: &(u16, Value), error: &str, reason: &str) {
    let (status, body) = got;
    assert_eq!((*status, body["error"].as_str()), (400, Some(error)), "{body}");
    let description = body["error_description"].as_str().unwrap_or_default();
    assert!(description.contains(reason), "expected {reason:?}: {body}");
}

fn s(v: &Value, key: &str) -> String {
    v[key]
        .as_str()
        .unwrap_or_else(|| panic!("no {key} in {v}"))
        .to_owned()
}

both_backends! {
    async fn codes_and_refresh_tokens_belong_to_their_client(app) {
        let a = application(&app, "app-a", json!({})).await;
        let b = application(&app, "app-b", json!({})).await;
        let mut web = signed_in(&app, "alice").await;
        let (code, verifier) = code(&mut web, &a).await;
        assert_refused(&redeem(&app, &b, &code, &verifier).await, "invalid_grant", "issued to another client");
        // The code was good: its own client still redeems it.
        let (status, issued) = redeem(&app, &a, &code, &verifier).await;
        assert_eq!(status, 200, "{issued}");
        let refresh_token = s(&issued, "refresh_token");
        assert_refused(&refresh(&app, &b, &refresh_token, None).await, "invalid_grant", "issued to another client");
        let (status, body) = refresh(&app, &a, &refresh_token, None).await;
        assert_eq!(status, 200, "{body}");
    }
}

both_backends! {
    async fn an_expired_refresh_token_is_refused(app) {
        let rp = application(&app, "crm", json!({})).await;
        let mut web = signed_in(&app, "alice").await;
        let issued = tokens(&app, &mut web, &rp).await;
        // Its expiry moved into the past, as the validity period passing would.
        app.db(|conn| {
            use diesel::prelude::*;
            use gatehouse::db::schema::refresh_tokens;
            diesel::update(refresh_tokens::table)
                .set(refresh_tokens::expires.eq(gatehouse::db::time::now() - chrono::Duration::seconds(1)))
                .execute(conn)?;
            Ok(())
        })
        .await;
        assert_refused(&refresh(&app, &rp, &s(&issued, "refresh_token"), None).await, "invalid_grant", "has expired");
    }
}

both_backends! {
    async fn refresh_can_narrow_the_scope_but_not_widen_it(app) {
        let rp = application(&app, "crm", json!({})).await;
        let mut web = signed_in(&app, "alice").await;
        let issued = tokens(&app, &mut web, &rp).await;
        assert_eq!(issued["scope"], "openid profile offline_access");
        // Asking for more than was granted: refused, and the refresh token is not spent.
        let first = s(&issued, "refresh_token");
        assert_refused(&refresh(&app, &rp, &first, Some("openid email")).await, "invalid_scope", "`email` was not granted");
        // Narrowing works; offline_access stays so that the new refresh token can be used.
        let (status, narrowed) = refresh(&app, &rp, &first, Some("openid")).await;
        assert_eq!(status, 200, "{narrowed}");
        assert_eq!(narrowed["scope"], "openid offline_access");
        let claims = decode(&s(&narrowed, "id_token"));
        assert!(claims.get("preferred_username").is_none(), "profile claims after narrowing: {claims}");
        let (status, again) = refresh(&app, &rp, &s(&narrowed, "refresh_token"), Some("openid admin")).await;
        assert_eq!(status, 400, "{again}");
        assert_eq!(again["error"], "invalid_scope");
    }
}

/// The claims of a JWT, unverified (the signature is tested elsewhere).
fn decode(jwt: &str) -> Value {
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let payload = jwt.split('.').nth(1).expect("a JWT");
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).expect("base64url")).expect("JSON claims")
}

both_backends! {
    async fn a_deactivated_user_gets_no_tokens(app) {
        let rp = application(&app, "crm", json!({})).await;
        let mut web = signed_in(&app, "alice").await;
        let issued = tokens(&app, &mut web, &rp).await;
        let (pending, verifier) = code(&mut web, &rp).await;
        let users = app.get("/api/v3/core/users/?username=alice").await.json();
        let pk = users["results"][0]["pk"].as_i64().unwrap();
        app.patch(&format!("/api/v3/core/users/{pk}/"), json!({"is_active": false}))
            .await
            .assert_status(200);
        assert_refused(&redeem(&app, &rp, &pending, &verifier).await, "invalid_grant", "no longer active");
        assert_refused(&refresh(&app, &rp, &s(&issued, "refresh_token"), None).await, "invalid_grant", "no longer active");
    }
}

both_backends! {
    async fn a_verifier_without_a_challenge_burns_the_code(app) {
        let rp = application(&app, "crm", json!({})).await;
        let mut web = signed_in(&app, "alice").await;
        // A confidential client may omit PKCE (public clients may not; see negative.rs).
        let target = follow(&mut web, &authorize(&rp, &[])).await.unwrap_or_else(|(p, r)| panic!("{p} {}", r.text()));
        let code = param(&target, "code").expect("a code");
        let verifier = crate::provider::pkce().0;
        assert_refused(&redeem(&app, &rp, &code, &verifier).await, "invalid_grant", "no code_challenge");
        let form = [("grant_type", "authorization_code"), ("code", &code), ("redirect_uri", REDIRECT)];
        assert_refused(&token(&app, &rp, &form).await, "invalid_grant", "already used");
    }
}

both_backends! {
    async fn concurrent_redemptions_of_one_code(app) {
        let rp = application(&app, "crm", json!({})).await;
        let mut web = signed_in(&app, "alice").await;
        let (code, verifier) = code(&mut web, &rp).await;
        let attempts = (0..6).map(|_| redeem(&app, &rp, &code, &verifier));
        let results = futures_util::future::join_all(attempts).await;
        let winners: Vec<&Value> = results.iter().filter(|(s, _)| *s == 200).map(|(_, b)| b).collect();
        assert_eq!(winners.len(), 1, "exactly one redemption succeeds: {results:?}");
        for result in results.iter().filter(|(s, _)| *s != 200) {
            assert_refused(result, "invalid_grant", "already used");
        }
        // The code was presented more than once: what it issued is revoked (RFC 6749 §4.1.2),
        // whichever way the race went.
        assert_eq!(userinfo(&app, &s(winners[0], "access_token")).await, 401);
        assert_refused(&refresh(&app, &rp, &s(winners[0], "refresh_token"), None).await, "invalid_grant", "revoked");
    }
}

both_backends! {
    async fn concurrent_rotations_of_one_refresh_token(app) {
        let rp = application(&app, "crm", json!({})).await;
        let mut web = signed_in(&app, "alice").await;
        let issued = tokens(&app, &mut web, &rp).await;
        let presented = s(&issued, "refresh_token");
        let attempts = (0..6).map(|_| refresh(&app, &rp, &presented, None));
        let results = futures_util::future::join_all(attempts).await;
        let winners: Vec<&Value> = results.iter().filter(|(s, _)| *s == 200).map(|(_, b)| b).collect();
        assert_eq!(winners.len(), 1, "exactly one rotation succeeds: {results:?}");
        for (status, body) in results.iter().filter(|(s, _)| *s != 200) {
            // The first loser revokes the grant; later ones may find it revoked already.
            let description = body["error_description"].as_str().unwrap_or_default();
            assert_eq!((*status, body["error"].as_str()), (400, Some("invalid_grant")), "{body}");
            assert!(description.contains("already used") || description.contains("has been revoked"), "{body}");
        }
        // A refresh token used twice means a copy exists: the grant is revoked, so even the
        // winner's new refresh token is refused (RFC 9700 §4.14).
        assert_refused(&refresh(&app, &rp, &s(winners[0], "refresh_token"), None).await, "invalid_grant", "revoked");
    }
}

/// The id of the explicit-consent authorization flow.
async fn explicit_consent_flow(app: &TestApp) -> Value {
    let flows = app
        .get("/api/v3/flows/instances/?slug=default-provider-authorization-explicit-consent")
        .await
        .json();
    flows["results"][0]["pk"].clone()
}

/// Answers the consent page reached at `path` with `action` (allow/deny); returns the redirect.
async fn answer_consent(web: &mut WebClient<'_>, path: &str, page: &TestResponse, action: &str) -> String {
    page.assert_status(200);
    let html = page.text();
    assert!(html.contains("would like to access your account"), "{html}");
    let csrf = hidden(&html, "csrf_token").expect("csrf token");
    let step = hidden(&html, "step").expect("step");
    let res = web
        .post_form(
            path,
            &[("csrf_token", &csrf), ("step", &step), ("action", action)],
        )
        .await;
    let target = res
        .header("location")
        .unwrap_or_else(|| panic!("{} {}", res.status, res.text()));
    if target.starts_with(REDIRECT) {
        return target;
    }
    follow(web, &target)
        .await
        .unwrap_or_else(|(p, r)| panic!("{p} {}", r.text()))
}

both_backends! {
    async fn explicit_consent_allowed_and_denied(app) {
        let flow = explicit_consent_flow(&app).await;
        let rp = application(&app, "crm", json!({"authorization_flow": flow})).await;
        let mut web = signed_in(&app, "alice").await;
        let (verifier, challenge) = crate::provider::pkce();
        let url = authorize(&rp, &[("code_challenge", &challenge), ("code_challenge_method", "S256"), ("state", "s1")]);

        // Denied: back to the application with access_denied and no code.
        let (path, page) = follow(&mut web, &url).await.expect_err("the consent page");
        let target = answer_consent(&mut web, &path, &page, "deny").await;
        assert_eq!(param(&target, "error").as_deref(), Some("access_denied"), "{target}");
        assert_eq!(param(&target, "state").as_deref(), Some("s1"));
        assert!(param(&target, "code").is_none());
        let denied = app.get("/api/v3/events/events/?action=consent_denied").await.json();
        assert_eq!(denied["pagination"]["count"], 1, "{denied}");

        // A denial is not remembered: the next authorization asks again, and allowing gives a code.
        let (path, page) = follow(&mut web, &url).await.expect_err("the consent page again");
        let target = answer_consent(&mut web, &path, &page, "allow").await;
        let code = param(&target, "code").unwrap_or_else(|| panic!("no code: {target}"));
        assert_eq!(param(&target, "state").as_deref(), Some("s1"));
        let (status, body) = redeem(&app, &rp, &code, &verifier).await;
        assert_eq!(status, 200, "{body}");
        let given = app.get("/api/v3/events/events/?action=consent_given").await.json();
        assert_eq!(given["pagination"]["count"], 1, "{given}");
    }
}

both_backends! {
    async fn max_age_asks_again_only_for_an_older_login(app) {
        let rp = application(&app, "crm", json!({})).await;
        let mut web = signed_in(&app, "alice").await;
        let (_, challenge) = crate::provider::pkce();
        let url = authorize(&rp, &[("code_challenge", &challenge), ("code_challenge_method", "S256"), ("max_age", "600")]);
        // A login younger than max_age: the code comes straight away.
        let target = follow(&mut web, &url).await.unwrap_or_else(|(p, r)| panic!("{p} {}", r.text()));
        assert!(param(&target, "code").is_some(), "{target}");
        // The login made older than max_age (as twenty minutes passing would): asked again.
        app.db(|conn| {
            use diesel::prelude::*;
            use gatehouse::db::schema::sessions;
            diesel::update(sessions::table)
                .set(sessions::created.eq(gatehouse::db::time::now() - chrono::Duration::seconds(1200)))
                .execute(conn)?;
            Ok(())
        })
        .await;
        let res = web.get(&url).await;
        let to = res.header("location").unwrap_or_default();
        assert!(to.starts_with("/flows/-/default/authentication/"), "an old login was accepted: {to}");
        // A max_age the old login still satisfies does not ask.
        let url = authorize(&rp, &[("code_challenge", &challenge), ("code_challenge_method", "S256"), ("max_age", "3600")]);
        let target = follow(&mut web, &url).await.unwrap_or_else(|(p, r)| panic!("{p} {}", r.text()));
        assert!(param(&target, "code").is_some(), "{target}");
    }
}
