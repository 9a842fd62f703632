//! The authorization code flow with PKCE, refresh rotation, userinfo, introspection and
//! revocation, with tokens checked against the published JWKS by jsonwebtoken.

use serde_json::json;

use super::*;

crate::entra_test!(code_flow_with_pkce_refresh_and_userinfo, |_source| {}, |env| {
    let rp = create_rp(&env, "wiki", json!({})).await;
    let mut browser = signed_in(&env).await;
    let (code, verifier, target) = code_for(&env, &mut browser, &rp).await;
    assert!(target.starts_with(REDIRECT), "{target}");
    assert_eq!(param(&target, "state").as_deref(), Some("st-1"));
    let issuer = env.server.url("/application/o/wiki/");
    assert_eq!(param(&target, "iss").as_deref(), Some(issuer.as_str()));

    let (status, tokens) = redeem(&env, &rp, &code, &verifier).await;
    assert_eq!(status, 200, "{tokens}");
    assert_eq!(tokens["token_type"], "Bearer");
    assert_eq!(tokens["scope"], "openid profile email offline_access");
    assert!(tokens["expires_in"].as_i64().unwrap() > 0);
    let id_token = tokens["id_token"].as_str().unwrap();
    let claims = verify_with_jwks(&env, "wiki", id_token, &rp.client_id).await;
    let me = browser.me().await["user"].clone();
    assert_eq!(claims["nonce"], "n-1");
    assert_eq!(claims["iss"], issuer);
    assert_eq!(claims["preferred_username"], me["username"]);
    assert_eq!(claims["email"], "AdeleV@contoso.onmicrosoft.com");
    assert_eq!(claims["email_verified"], false);
    assert!(
        claims["groups"].as_array().is_some_and(|g| !g.is_empty()),
        "{claims}"
    );
    assert!(claims["auth_time"].as_i64().is_some() && claims["at_hash"].is_string());
    assert_eq!(claims["sub"], me["uuid"]);

    let access = tokens["access_token"].as_str().unwrap();
    let access_claims = verify_with_jwks(&env, "wiki", access, &rp.client_id).await;
    assert_eq!(access_claims["scope"], "openid profile email offline_access");
    let (status, info) = userinfo(&env, access).await;
    assert_eq!(status, 200, "{info}");
    assert_eq!(info["sub"], claims["sub"]);
    assert_eq!(info["preferred_username"], me["username"]);

    // Introspection (RFC 7662) by the client itself.
    let secret = rp.client_secret.as_deref();
    let (status, intro) = post_form(
        &env,
        "/application/o/introspect/",
        &rp,
        secret,
        &[("token", access)],
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(intro["active"], true, "{intro}");
    assert_eq!(intro["client_id"], rp.client_id);
    assert_eq!(intro["username"], me["username"]);

    // Refresh with rotation.
    let refresh = tokens["refresh_token"].as_str().unwrap().to_owned();
    let (status, renewed) = post_form(
        &env,
        "/application/o/token/",
        &rp,
        secret,
        &[("grant_type", "refresh_token"), ("refresh_token", &refresh)],
    )
    .await;
    assert_eq!(status, 200, "{renewed}");
    let new_refresh = renewed["refresh_token"].as_str().unwrap().to_owned();
    assert_ne!(new_refresh, refresh);
    verify_with_jwks(&env, "wiki", renewed["id_token"].as_str().unwrap(), &rp.client_id).await;

    // Reusing the rotated token revokes the grant: the new refresh token and the access
    // tokens of the grant stop working.
    let (status, reuse) = post_form(
        &env,
        "/application/o/token/",
        &rp,
        secret,
        &[("grant_type", "refresh_token"), ("refresh_token", &refresh)],
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(reuse["error"], "invalid_grant");
    let (status, after) = post_form(
        &env,
        "/application/o/token/",
        &rp,
        secret,
        &[("grant_type", "refresh_token"), ("refresh_token", &new_refresh)],
    )
    .await;
    assert_eq!((status, after["error"].as_str()), (400, Some("invalid_grant")));
    assert_eq!(
        userinfo(&env, renewed["access_token"].as_str().unwrap()).await.0,
        401
    );
    let (_, intro) = post_form(
        &env,
        "/application/o/introspect/",
        &rp,
        secret,
        &[("token", access)],
    )
    .await;
    assert_eq!(intro, json!({"active": false}));
});

crate::entra_test!(revocation_and_discovery, |_source| {}, |env| {
    let rp = create_rp(&env, "crm", json!({})).await;
    let discovery: serde_json::Value = env
        .http
        .get(
            env.server
                .url("/application/o/crm/.well-known/openid-configuration"),
        )
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(discovery["issuer"], env.server.url("/application/o/crm/"));
    assert_eq!(
        discovery["authorization_endpoint"],
        env.server.url("/application/o/authorize/")
    );
    assert_eq!(discovery["jwks_uri"], env.server.url("/application/o/crm/jwks/"));
    assert_eq!(discovery["code_challenge_methods_supported"], json!(["S256"]));
    assert_eq!(
        env.http
            .get(
                env.server
                    .url("/application/o/nope/.well-known/openid-configuration")
            )
            .send()
            .await
            .unwrap()
            .status(),
        404
    );

    let mut browser = signed_in(&env).await;
    let (code, verifier, _) = code_for(&env, &mut browser, &rp).await;
    let (_, tokens) = redeem(&env, &rp, &code, &verifier).await;
    let secret = rp.client_secret.as_deref();
    let access = tokens["access_token"].as_str().unwrap();
    // Revoking the access token alone (RFC 7009) leaves the refresh token working.
    let (status, _) = post_form(&env, "/application/o/revoke/", &rp, secret, &[("token", access)]).await;
    assert_eq!(status, 200);
    assert_eq!(userinfo(&env, access).await.0, 401);
    let refresh = tokens["refresh_token"].as_str().unwrap();
    let (status, renewed) = post_form(
        &env,
        "/application/o/token/",
        &rp,
        secret,
        &[("grant_type", "refresh_token"), ("refresh_token", refresh)],
    )
    .await;
    assert_eq!(status, 200, "{renewed}");
    // Revoking the refresh token revokes its grant.
    let new_refresh = renewed["refresh_token"].as_str().unwrap();
    let (status, _) = post_form(
        &env,
        "/application/o/revoke/",
        &rp,
        secret,
        &[("token", new_refresh)],
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        userinfo(&env, renewed["access_token"].as_str().unwrap()).await.0,
        401
    );
    // Unknown tokens answer 200 too; bad client credentials do not.
    let (status, _) = post_form(
        &env,
        "/application/o/revoke/",
        &rp,
        secret,
        &[("token", "garbage")],
    )
    .await;
    assert_eq!(status, 200);
    let (status, body) = post_form(
        &env,
        "/application/o/revoke/",
        &rp,
        Some("wrong-secret"),
        &[("token", "x")],
    )
    .await;
    assert_eq!((status, body["error"].as_str()), (401, Some("invalid_client")));

    // End-session with the id_token as hint ends the Gatehouse session.
    let hint = tokens["id_token"].as_str().unwrap();
    let url = format!(
        "{}/application/o/crm/end-session/?id_token_hint={hint}&post_logout_redirect_uri={}&state=bye",
        browser.base,
        url::form_urlencoded::byte_serialize(REDIRECT.as_bytes()).collect::<String>()
    );
    let res = browser.get(&url).await;
    assert_eq!(res.status().as_u16(), 302);
    let location = res.headers()["location"].to_str().unwrap().to_owned();
    assert!(
        location.starts_with(REDIRECT) && location.contains("state=bye"),
        "{location}"
    );
    assert!(browser.me().await["user"].is_null(), "still logged in");
});

// Formerly with `plain` PKCE, which is no longer accepted (issue 11 item 9; see pkce.rs).
crate::entra_test!(public_client_with_s256_pkce, |_source| {}, |env| {
    let rp = create_rp(&env, "spa", json!({"client_type": "public"})).await;
    assert!(rp.client_secret.is_none());
    let mut browser = signed_in(&env).await;
    let (verifier, challenge) = pkce();
    let verifier = verifier.as_str();
    let url = authorize_url(
        &rp,
        &[
            ("code_challenge", &challenge),
            ("code_challenge_method", "S256"),
            ("scope", "openid"),
        ],
    );
    let target = follow_to_app(&mut browser, env.sim.base_url(), &url)
        .await
        .unwrap();
    let code = param(&target, "code").unwrap();
    let (status, tokens) = post_form(
        &env,
        "/application/o/token/",
        &rp,
        None,
        &[
            ("grant_type", "authorization_code"),
            ("client_id", &rp.client_id),
            ("code", &code),
            ("redirect_uri", REDIRECT),
            ("code_verifier", verifier),
        ],
    )
    .await;
    assert_eq!(status, 200, "{tokens}");
    assert_eq!(tokens["scope"], "openid");
    assert!(tokens.get("refresh_token").is_none());
    let claims = verify_with_jwks(&env, "spa", tokens["id_token"].as_str().unwrap(), &rp.client_id).await;
    assert!(
        claims.get("email").is_none(),
        "email scope was not asked for: {claims}"
    );
});
