//! PKCE is S256 only (issue 11, item 9): `plain`, and a challenge without a method (which RFC
//! 7636 reads as `plain`), are refused at the authorization endpoint with an `invalid_request`
//! error redirect; discovery advertises S256 alone.

use serde_json::{Value, json};

use super::*;

crate::entra_test!(only_s256_is_accepted, |_source| {}, |env| {
    let rp = create_rp(&env, "spa", json!({"client_type": "public"})).await;
    let mut browser = signed_in(&env).await;
    let challenge = "plain-verifier-0123456789-0123456789-0123456789";
    for extra in [
        vec![("code_challenge", challenge), ("code_challenge_method", "plain")],
        vec![("code_challenge", challenge)],
    ] {
        let mut params = extra.clone();
        params.push(("state", "st-plain"));
        let url = authorize_url(&rp, &params);
        let target = follow_to_app(&mut browser, env.sim.base_url(), &url)
            .await
            .unwrap_or_else(|page| panic!("{extra:?}: a page instead of a redirect: {page:?}"));
        assert!(target.starts_with(REDIRECT), "{target}");
        assert_eq!(
            param(&target, "error").as_deref(),
            Some("invalid_request"),
            "{target}"
        );
        assert_eq!(param(&target, "state").as_deref(), Some("st-plain"), "{target}");
        assert!(param(&target, "code").is_none(), "{target}");
        let description = param(&target, "error_description").unwrap_or_default();
        assert!(description.contains("S256"), "{description}");
    }
    // S256 goes through.
    let (code, verifier, _) = code_for(&env, &mut browser, &rp).await;
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
            ("code_verifier", &verifier),
        ],
    )
    .await;
    assert_eq!(status, 200, "{tokens}");

    let discovery: Value = env
        .http
        .get(
            env.server
                .url("/application/o/spa/.well-known/openid-configuration"),
        )
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(discovery["code_challenge_methods_supported"], json!(["S256"]));
});
