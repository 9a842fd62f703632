//! Who may ask about tokens (issue 11, item 9): introspection (RFC 7662) needs a confidential
//! client's authentication or an admin API token; a public client's bare `client_id` proves
//! nothing. Revocation (RFC 7009) by a public client only revokes its own tokens.

use gatehouse_testkit::TestApp;
use serde_json::{Value, json};

use super::*;

/// Tokens of a public client (S256 PKCE, no secret).
async fn public_tokens(env: &EntraEnv, browser: &mut Browserless, rp: &Rp) -> Value {
    let (code, verifier, _) = code_for(env, browser, rp).await;
    let (status, tokens) = post_form(
        env,
        "/application/o/token/",
        rp,
        None,
        &[
            ("grant_type", "authorization_code"),
            ("client_id", &rp.client_id),
            ("code", &code),
            ("redirect_uri", REDIRECT),
            ("code_verifier", &verifier),
        ],
    )
    .await;
    assert_eq!(status, 200, "{tokens}");
    tokens
}

async fn introspect_with_bearer(env: &EntraEnv, bearer: &str, token: &str) -> (u16, Value) {
    let res = env
        .http
        .post(env.server.url("/application/o/introspect/"))
        .bearer_auth(bearer)
        .form(&[("token", token)])
        .send()
        .await
        .unwrap();
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

crate::entra_test!(
    introspection_needs_client_or_api_authentication,
    |_source| {},
    |env| {
        let public = create_rp(&env, "spa", json!({"client_type": "public"})).await;
        let confidential = create_rp(&env, "wiki", json!({})).await;
        let mut browser = signed_in(&env).await;
        let spa_tokens = public_tokens(&env, &mut browser, &public).await;
        let spa_access = spa_tokens["access_token"].as_str().unwrap();
        let (code, verifier, _) = code_for(&env, &mut browser, &confidential).await;
        let (_, wiki_tokens) = redeem(&env, &confidential, &code, &verifier).await;
        let wiki_access = wiki_tokens["access_token"].as_str().unwrap();

        // A public client's client_id alone: 401 invalid_client, even for its own token.
        for token in [spa_access, wiki_access] {
            let (status, body) = post_form(
                &env,
                "/application/o/introspect/",
                &public,
                None,
                &[("client_id", &public.client_id), ("token", token)],
            )
            .await;
            assert_eq!(
                (status, body["error"].as_str()),
                (401, Some("invalid_client")),
                "{body}"
            );
            assert!(body.get("active").is_none(), "{body}");
        }
        // The confidential client authenticates and learns about its own token.
        let (status, body) = post_form(
            &env,
            "/application/o/introspect/",
            &confidential,
            confidential.client_secret.as_deref(),
            &[("token", wiki_access)],
        )
        .await;
        assert_eq!((status, body["active"].as_bool()), (200, Some(true)), "{body}");
        // An admin API token (a resource server's operator) may introspect any token.
        let (status, body) = introspect_with_bearer(&env, TestApp::ADMIN_TOKEN, spa_access).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["active"], true, "{body}");
        assert_eq!(body["client_id"], public.client_id);
        // Anything else in the bearer is not an authentication.
        let (status, body) = introspect_with_bearer(&env, "not-a-token", spa_access).await;
        assert_eq!(
            (status, body["error"].as_str()),
            (401, Some("invalid_client")),
            "{body}"
        );
        let (status, body) = introspect_with_bearer(&env, spa_access, spa_access).await;
        assert_eq!(
            (status, body["error"].as_str()),
            (401, Some("invalid_client")),
            "{body}"
        );
    }
);

crate::entra_test!(public_client_revokes_only_its_own_tokens, |_source| {}, |env| {
    let public = create_rp(&env, "spa", json!({"client_type": "public"})).await;
    let confidential = create_rp(&env, "wiki", json!({})).await;
    let mut browser = signed_in(&env).await;
    let (code, verifier, _) = code_for(&env, &mut browser, &confidential).await;
    let (_, wiki_tokens) = redeem(&env, &confidential, &code, &verifier).await;
    let spa_tokens = public_tokens(&env, &mut browser, &public).await;

    // Another client's tokens: 200 (RFC 7009), nothing revoked.
    for name in ["access_token", "refresh_token"] {
        let token = wiki_tokens[name].as_str().unwrap();
        let (status, _) = post_form(
            &env,
            "/application/o/revoke/",
            &public,
            None,
            &[("client_id", &public.client_id), ("token", token)],
        )
        .await;
        assert_eq!(status, 200);
    }
    let wiki_access = wiki_tokens["access_token"].as_str().unwrap();
    assert_eq!(userinfo(&env, wiki_access).await.0, 200, "still active");
    let (status, body) = post_form(
        &env,
        "/application/o/introspect/",
        &confidential,
        confidential.client_secret.as_deref(),
        &[("token", wiki_tokens["refresh_token"].as_str().unwrap())],
    )
    .await;
    assert_eq!((status, body["active"].as_bool()), (200, Some(true)), "{body}");

    // Its own token is revoked.
    let spa_access = spa_tokens["access_token"].as_str().unwrap();
    assert_eq!(userinfo(&env, spa_access).await.0, 200);
    let (status, _) = post_form(
        &env,
        "/application/o/revoke/",
        &public,
        None,
        &[("client_id", &public.client_id), ("token", spa_access)],
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(userinfo(&env, spa_access).await.0, 401);
});
