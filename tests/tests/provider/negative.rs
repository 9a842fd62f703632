//! Refusals of the authorization and token endpoints: nothing is issued, the answer is an
//! RFC 6749 error (or an error page where redirecting would be unsafe).

use serde_json::json;

use super::*;

crate::entra_test!(authorization_requests_that_are_refused, |_source| {}, |env| {
    let rp = create_rp(&env, "portal", json!({})).await;
    let public = create_rp(&env, "public-app", json!({"client_type": "public"})).await;
    let mut browser = signed_in(&env).await;
    let sim = env.sim.base_url().to_owned();

    // Unregistered redirect URIs: an error page, never a redirect.
    for redirect in [
        "https://evil.example/cb",
        "https://app.example/callback/",
        "https://app.example/callback?x=1",
    ] {
        let mut query = url::form_urlencoded::Serializer::new(String::new());
        query.extend_pairs([
            ("client_id", rp.client_id.as_str()),
            ("redirect_uri", redirect),
            ("response_type", "code"),
            ("scope", "openid"),
        ]);
        let url = format!("{}/application/o/authorize/?{}", browser.base, query.finish());
        let res = browser.get(&url).await;
        assert_eq!(res.status().as_u16(), 400, "{redirect}");
        assert!(res.headers().get("location").is_none());
        let page = res.text().await.unwrap();
        assert!(page.contains("not registered"), "{page}");
    }
    // Unknown client: error page.
    let res = browser
        .get(&format!(
            "{}/application/o/authorize/?client_id=nope&redirect_uri={REDIRECT}&response_type=code",
            browser.base
        ))
        .await;
    assert_eq!(res.status().as_u16(), 400);

    // Errors sent back to a registered redirect URI, with state.
    type Case<'a> = (Rp, Vec<(&'a str, &'a str)>, &'a str);
    let cases: Vec<Case> = vec![
        (public, vec![("state", "s")], "invalid_request"),
        (
            create_rp(&env, "p2", json!({})).await,
            vec![("response_type", "token"), ("state", "s")],
            "unsupported_response_type",
        ),
        (
            create_rp(&env, "p3", json!({})).await,
            vec![("scope", "admin"), ("state", "s")],
            "invalid_scope",
        ),
        (
            create_rp(&env, "p4", json!({})).await,
            vec![
                ("code_challenge", "short"),
                ("code_challenge_method", "S256"),
                ("state", "s"),
            ],
            "invalid_request",
        ),
        (
            create_rp(&env, "p5", json!({})).await,
            vec![
                ("code_challenge", "a-long-enough-challenge-value-0123456789abcdef"),
                ("code_challenge_method", "S512"),
                ("state", "s"),
            ],
            "invalid_request",
        ),
    ];
    for (client, extra, error) in cases {
        let mut url = authorize_url(&client, &extra);
        if extra.iter().any(|(k, _)| *k == "response_type" || *k == "scope") {
            // The later duplicate would be refused as such; replace instead.
            let mut query = url::form_urlencoded::Serializer::new(String::new());
            query.append_pair("client_id", &client.client_id);
            query.append_pair("redirect_uri", REDIRECT);
            let has = |k: &str| extra.iter().any(|(n, _)| *n == k);
            if !has("response_type") {
                query.append_pair("response_type", "code");
            }
            if !has("scope") {
                query.append_pair("scope", "openid");
            }
            query.extend_pairs(extra.iter().copied());
            url = format!("/application/o/authorize/?{}", query.finish());
        }
        let target = follow_to_app(&mut browser, &sim, &url).await.unwrap();
        assert_eq!(param(&target, "error").as_deref(), Some(error), "{target}");
        assert_eq!(param(&target, "state").as_deref(), Some("s"));
        assert!(param(&target, "code").is_none());
    }
    // A parameter sent twice is refused outright.
    let doubled = format!("{}&client_id={}", authorize_url(&rp, &[]), rp.client_id);
    assert!(follow_to_app(&mut browser, &sim, &doubled).await.is_err());

    // No session: off to the login flow, which comes back here; prompt=none says so instead.
    let mut anonymous = env.browser();
    let res = anonymous
        .get(&format!(
            "{}{}",
            anonymous.base,
            authorize_url(&rp, &[("login_hint", "AdeleV@contoso.onmicrosoft.com")])
        ))
        .await;
    assert_eq!(res.status().as_u16(), 302);
    let location = res.headers()["location"].to_str().unwrap().to_owned();
    assert!(
        location.starts_with("/flows/-/default/authentication/?next=%2Fapplication%2Fo%2Fauthorize%2F"),
        "{location}"
    );
    assert!(location.contains("login_hint=AdeleV"), "{location}");
    let target = follow_to_app(
        &mut anonymous,
        &sim,
        &authorize_url(&rp, &[("prompt", "none"), ("state", "q")]),
    )
    .await
    .unwrap();
    assert_eq!(param(&target, "error").as_deref(), Some("login_required"));

    // prompt=login (or a max_age the session is older than) asks again, but the old session
    // stays until the new login succeeds (a GET changes nothing).
    let res = browser
        .get(&format!(
            "{}{}",
            browser.base,
            authorize_url(&rp, &[("prompt", "login")])
        ))
        .await;
    let location = res.headers()["location"].to_str().unwrap().to_owned();
    assert!(
        location.starts_with("/flows/-/default/authentication/"),
        "{location}"
    );
    assert!(
        !browser.me().await["user"].is_null(),
        "the old session stays until the new login"
    );

    // An explicit-consent flow cannot answer prompt=none without asking.
    let (_, flows) = env
        .api(
            "GET",
            "/api/v3/flows/instances/?slug=default-provider-authorization-explicit-consent",
            None,
        )
        .await;
    let flow = flows["results"][0]["pk"].clone();
    let explicit = create_rp(&env, "explicit", json!({"authorization_flow": flow})).await;
    let mut again = signed_in(&env).await;
    let target = follow_to_app(
        &mut again,
        &sim,
        &authorize_url(
            &explicit,
            &[
                ("prompt", "none"),
                ("code_challenge", "a-long-enough-challenge-value-0123456789abcdef"),
                ("code_challenge_method", "S256"),
            ],
        ),
    )
    .await
    .unwrap();
    assert_eq!(param(&target, "error").as_deref(), Some("consent_required"));
    // Without prompt=none the consent page is shown.
    let page = follow_to_app(
        &mut again,
        &sim,
        &authorize_url(
            &explicit,
            &[
                ("code_challenge", "a-long-enough-challenge-value-0123456789abcdef"),
                ("code_challenge_method", "S256"),
            ],
        ),
    )
    .await;
    let (status, html) = page.unwrap_err();
    assert_eq!(status, 200);
    assert!(
        html.contains("explicit"),
        "the consent page names the application"
    );
});

/// Makes every authorization code of the run expired, as time passing would.
async fn expire_all_codes(env: &EntraEnv) {
    env.server
        .state
        .db
        .run(|conn| -> Result<(), gatehouse::db::StoreError> {
            use diesel::prelude::*;
            use gatehouse::db::schema::authorization_codes;
            diesel::update(authorization_codes::table)
                .set(
                    authorization_codes::expires
                        .eq(gatehouse::db::time::now() - chrono::Duration::seconds(1)),
                )
                .execute(conn)?;
            Ok(())
        })
        .await
        .expect("expire the codes");
}

/// The refusal is `invalid_grant` for the reason named, not for another one (an expired code, say).
fn assert_invalid_grant(status: u16, body: &serde_json::Value, reason: &str) {
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant")),
        "{body}"
    );
    let description = body["error_description"].as_str().unwrap_or_default();
    assert!(description.contains(reason), "expected {reason:?}: {body}");
}

crate::entra_test!(token_requests_that_are_refused, |_source| {}, |env| {
    // The default code validity: no check below can race a clock.
    let rp = create_rp(&env, "ledger", json!({})).await;
    let secret = rp.client_secret.clone();
    let mut browser = signed_in(&env).await;
    let token = |form: Vec<(&'static str, String)>, secret: Option<String>| {
        let env = &env;
        let rp = &rp;
        async move {
            let pairs: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
            post_form(env, "/application/o/token/", rp, secret.as_deref(), &pairs).await
        }
    };
    let code_form = |code: &str, verifier: &str| {
        vec![
            ("grant_type", "authorization_code".to_owned()),
            ("code", code.to_owned()),
            ("redirect_uri", REDIRECT.to_owned()),
            ("code_verifier", verifier.to_owned()),
        ]
    };

    // Wrong client secret.
    let (code, verifier, _) = code_for(&env, &mut browser, &rp).await;
    let (status, body) = token(code_form(&code, &verifier), Some("not-the-secret".into())).await;
    assert_eq!((status, body["error"].as_str()), (401, Some("invalid_client")));
    // No client authentication for a confidential client.
    let mut form = code_form(&code, &verifier);
    form.push(("client_id", rp.client_id.clone()));
    let (status, body) = token(form, None).await;
    assert_eq!((status, body["error"].as_str()), (401, Some("invalid_client")));
    // Missing verifier, then a wrong one: the code is burned by the failed attempt.
    let mut form = code_form(&code, &verifier);
    form.retain(|(k, _)| *k != "code_verifier");
    let (status, body) = token(form, secret.clone()).await;
    assert_invalid_grant(status, &body, "code_verifier is required");
    let (status, body) = token(code_form(&code, &verifier), secret.clone()).await;
    // A code whose PKCE check failed is gone.
    assert_invalid_grant(status, &body, "already used");

    let (code, _, _) = code_for(&env, &mut browser, &rp).await;
    let (status, body) = token(
        code_form(&code, "wrong-verifier-0123456789-0123456789-0123456789"),
        secret.clone(),
    )
    .await;
    assert_invalid_grant(status, &body, "code_verifier does not match the code_challenge");

    // Redirect URI must match the authorization request's.
    let (code, verifier, _) = code_for(&env, &mut browser, &rp).await;
    let mut form = code_form(&code, &verifier);
    form[2].1 = "https://app.example/other".into();
    let (status, body) = token(form, secret.clone()).await;
    assert_invalid_grant(status, &body, "redirect_uri does not match");

    // Replay: the second redemption fails and revokes what the first one issued.
    let (code, verifier, _) = code_for(&env, &mut browser, &rp).await;
    let (status, first) = token(code_form(&code, &verifier), secret.clone()).await;
    assert_eq!(status, 200, "{first}");
    let access = first["access_token"].as_str().unwrap().to_owned();
    assert_eq!(userinfo(&env, &access).await.0, 200);
    let (status, body) = token(code_form(&code, &verifier), secret.clone()).await;
    assert_invalid_grant(status, &body, "already used");
    assert!(body.get("access_token").is_none());
    assert_eq!(
        userinfo(&env, &access).await.0,
        401,
        "tokens of a replayed code are revoked"
    );
    let (status, body) = token(
        vec![
            ("grant_type", "refresh_token".into()),
            ("refresh_token", first["refresh_token"].as_str().unwrap().into()),
        ],
        secret.clone(),
    )
    .await;
    assert_invalid_grant(status, &body, "has been revoked");

    // Expired code: its expiry moved into the past, as an hour's wait would.
    let (code, verifier, _) = code_for(&env, &mut browser, &rp).await;
    expire_all_codes(&env).await;
    let (status, body) = token(code_form(&code, &verifier), secret.clone()).await;
    assert_invalid_grant(status, &body, "has expired");

    // Malformed requests.
    let (status, body) = token(vec![("grant_type", "password".into())], secret.clone()).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("unsupported_grant_type"))
    );
    let (status, body) = token(vec![], secret.clone()).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_request")));
    let res = env
        .http
        .post(env.server.url("/application/o/token/"))
        .json(&json!({"grant_type": "client_credentials"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 400);
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["error"], "invalid_request");
    // Unknown refresh token.
    let (status, body) = token(
        vec![
            ("grant_type", "refresh_token".into()),
            ("refresh_token", "nope".into()),
        ],
        secret.clone(),
    )
    .await;
    assert_invalid_grant(status, &body, "the refresh token is not valid");
    // Bearer tokens that are not ours (or garbage) at userinfo.
    assert_eq!(userinfo(&env, "garbage").await.0, 401);
    let (_, own) = token(
        vec![
            ("grant_type", "client_credentials".into()),
            ("scope", "openid".into()),
        ],
        secret.clone(),
    )
    .await;
    // An ID token is not an access token.
    assert_eq!(userinfo(&env, own["id_token"].as_str().unwrap()).await.0, 401);
    assert_eq!(userinfo(&env, own["access_token"].as_str().unwrap()).await.0, 200);
});
