//! Gatehouse's own OAuth2/OIDC provider end to end: applications sign users in (who log in with
//! Entra ID through the simulator), and services exchange Entra tokens for Gatehouse tokens.

mod admin;
mod code_flow;
mod edges;
mod interop;
mod introspection;
mod keys;
mod m2m;
mod negative;
mod pkce;
mod reauth;
mod trust;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use gatehouse_testkit::entra::{Browserless, EntraEnv};
use reqwest::header::LOCATION;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

pub const REDIRECT: &str = "https://app.example/callback";

/// A relying party registered through the admin API.
pub struct Rp {
    pub pk: String,
    pub client_id: String,
    pub client_secret: Option<String>,
}

/// Creates a provider (merged with `extra`) and an application `slug` using it.
pub async fn create_rp(env: &EntraEnv, slug: &str, extra: Value) -> Rp {
    let mut body = json!({
        "name": format!("{slug} provider"),
        "redirect_uris": [{"matching_mode": "strict", "url": REDIRECT}],
    });
    if let (Some(map), Some(extra)) = (body.as_object_mut(), extra.as_object()) {
        for (k, v) in extra {
            map.insert(k.clone(), v.clone());
        }
    }
    let (status, provider) = env.api("POST", "/api/v3/providers/oauth2/", Some(body)).await;
    assert_eq!(status, 201, "{provider}");
    let (status, app) = env
        .api(
            "POST",
            "/api/v3/core/applications/",
            Some(json!({"name": slug, "slug": slug, "provider": provider["pk"]})),
        )
        .await;
    assert_eq!(status, 201, "{app}");
    Rp {
        pk: provider["pk"].as_str().unwrap().to_owned(),
        client_id: provider["client_id"].as_str().unwrap().to_owned(),
        client_secret: provider["client_secret"].as_str().map(str::to_owned),
    }
}

/// A PKCE verifier and its S256 challenge.
pub fn pkce() -> (String, String) {
    let verifier = format!(
        "verifier-{}-0123456789abcdefghijklmnopqrstuvwxyz",
        uuid::Uuid::new_v4()
    );
    let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
    (verifier, challenge)
}

pub fn authorize_url(rp: &Rp, extra: &[(&str, &str)]) -> String {
    let mut query = url::form_urlencoded::Serializer::new(String::new());
    query.append_pair("client_id", &rp.client_id);
    query.append_pair("redirect_uri", REDIRECT);
    query.append_pair("response_type", "code");
    if !extra.iter().any(|(k, _)| *k == "scope") {
        query.append_pair("scope", "openid profile email offline_access");
    }
    for (k, v) in extra {
        query.append_pair(k, v);
    }
    format!("/application/o/authorize/?{}", query.finish())
}

/// Where the browser ends up: follows redirects inside Gatehouse and the simulator and returns
/// the first redirect elsewhere (the application), or `Err((status, body))` for a page.
pub async fn follow_to_app(
    browser: &mut Browserless,
    sim_base: &str,
    start: &str,
) -> Result<String, (u16, String)> {
    let mut url = format!("{}{start}", browser.base);
    for _ in 0..20 {
        let res = browser.get(&url).await;
        let status = res.status().as_u16();
        if !(300..400).contains(&status) {
            return Err((status, res.text().await.unwrap_or_default()));
        }
        let location = res
            .headers()
            .get(LOCATION)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        url = if location.starts_with('/') {
            format!("{}{location}", browser.base)
        } else if location.starts_with(&browser.base) || location.starts_with(sim_base) {
            location
        } else {
            return Ok(location);
        };
    }
    panic!("too many redirects");
}

pub fn param(url: &str, name: &str) -> Option<String> {
    let parsed = url::Url::parse(url).ok()?;
    parsed
        .query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

/// A logged-in browser (Adele, through Entra ID).
pub async fn signed_in(env: &EntraEnv) -> Browserless {
    let login = env.login(None).await;
    login.assert_logged_in();
    login.browser
}

/// Runs the code flow for `rp` in a logged-in browser; returns (code, verifier, redirect).
pub async fn code_for(env: &EntraEnv, browser: &mut Browserless, rp: &Rp) -> (String, String, String) {
    let (verifier, challenge) = pkce();
    let url = authorize_url(
        rp,
        &[
            ("state", "st-1"),
            ("nonce", "n-1"),
            ("code_challenge", &challenge),
            ("code_challenge_method", "S256"),
        ],
    );
    let target = follow_to_app(browser, env.sim.base_url(), &url)
        .await
        .expect("redirected to the application");
    let code = param(&target, "code").unwrap_or_else(|| panic!("no code in {target}"));
    (code, verifier, target)
}

/// POSTs a form to a provider endpoint with HTTP Basic client authentication (when `secret`).
pub async fn post_form(
    env: &EntraEnv,
    path: &str,
    rp: &Rp,
    secret: Option<&str>,
    form: &[(&str, &str)],
) -> (u16, Value) {
    let mut req = env.http.post(env.server.url(path)).form(form);
    if let Some(secret) = secret {
        req = req.basic_auth(&rp.client_id, Some(secret));
    }
    let res = req.send().await.unwrap();
    let status = res.status().as_u16();
    if status == 200 || status >= 400 {
        assert_eq!(
            res.headers().get("cache-control").and_then(|v| v.to_str().ok()),
            Some("no-store"),
            "{path} must not be cached"
        );
    }
    let text = res.text().await.unwrap_or_default();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

pub async fn redeem(env: &EntraEnv, rp: &Rp, code: &str, verifier: &str) -> (u16, Value) {
    post_form(
        env,
        "/application/o/token/",
        rp,
        rp.client_secret.as_deref(),
        &[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", REDIRECT),
            ("code_verifier", verifier),
        ],
    )
    .await
}

/// Verifies a JWT with jsonwebtoken against the JWKS the discovery document points to.
pub async fn verify_with_jwks(env: &EntraEnv, slug: &str, token: &str, audience: &str) -> Value {
    let discovery: Value = env
        .http
        .get(
            env.server
                .url(&format!("/application/o/{slug}/.well-known/openid-configuration")),
        )
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let jwks: jsonwebtoken::jwk::JwkSet = env
        .http
        .get(discovery["jwks_uri"].as_str().unwrap())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let header = jsonwebtoken::decode_header(token).unwrap();
    let kid = header.kid.clone().expect("kid in header");
    let jwk = jwks
        .find(&kid)
        .unwrap_or_else(|| panic!("kid {kid} not published"));
    let key = jsonwebtoken::DecodingKey::from_jwk(jwk).unwrap();
    let mut validation = jsonwebtoken::Validation::new(header.alg);
    validation.set_issuer(&[discovery["issuer"].as_str().unwrap()]);
    validation.set_audience(&[audience]);
    jsonwebtoken::decode::<Value>(token, &key, &validation)
        .unwrap_or_else(|e| panic!("token does not verify: {e}"))
        .claims
}

pub async fn userinfo(env: &EntraEnv, access_token: &str) -> (u16, Value) {
    let res = env
        .http
        .get(env.server.url("/application/o/userinfo/"))
        .bearer_auth(access_token)
        .send()
        .await
        .unwrap();
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}
