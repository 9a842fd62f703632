//! Signing keys: generated on first start (RS256 and ES256), stored encrypted, `kid` in every
//! token, rotation by API and CLI with the old key published until its tokens expire.

use actix_web::http::Method;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use gatehouse_testkit::{TestApp, both_backends};
use serde_json::{Value, json};

async fn provider(app: &TestApp, slug: &str, extra: Value) -> (String, String, String) {
    let mut body = json!({"name": slug});
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
    (
        provider["pk"].as_str().unwrap().to_owned(),
        provider["client_id"].as_str().unwrap().to_owned(),
        provider["client_secret"].as_str().unwrap().to_owned(),
    )
}

/// A `client_credentials` token with the client's own secret.
async fn own_token(app: &TestApp, client_id: &str, secret: &str) -> Value {
    let basic = STANDARD.encode(format!("{client_id}:{secret}"));
    let res = app
        .req(Method::POST, "/application/o/token/")
        .anonymous()
        .header("Authorization", &format!("Basic {basic}"))
        .raw(
            "application/x-www-form-urlencoded",
            "grant_type=client_credentials&scope=openid%20profile",
        )
        .send()
        .await;
    res.assert_status(200);
    res.json()
}

fn header(token: &str) -> jsonwebtoken::Header {
    jsonwebtoken::decode_header(token).unwrap()
}

async fn jwks(app: &TestApp, slug: &str) -> jsonwebtoken::jwk::JwkSet {
    let res = app
        .req(Method::GET, &format!("/application/o/{slug}/jwks/"))
        .anonymous()
        .send()
        .await;
    res.assert_status(200);
    serde_json::from_value(res.json()).unwrap()
}

fn verify(set: &jsonwebtoken::jwk::JwkSet, token: &str, audience: &str) -> Value {
    let h = header(token);
    let jwk = set.find(h.kid.as_deref().unwrap()).expect("kid published");
    let mut validation = jsonwebtoken::Validation::new(h.alg);
    validation.set_audience(&[audience]);
    jsonwebtoken::decode::<Value>(
        token,
        &jsonwebtoken::DecodingKey::from_jwk(jwk).unwrap(),
        &validation,
    )
    .unwrap()
    .claims
}

async fn userinfo_status(app: &TestApp, token: &str) -> u16 {
    app.req(Method::GET, "/application/o/userinfo/")
        .anonymous()
        .header("Authorization", &format!("Bearer {token}"))
        .send()
        .await
        .status
        .as_u16()
}

async fn keys(app: &TestApp) -> Vec<Value> {
    let res = app.get("/api/v3/crypto/signing_keys/").await;
    res.assert_status(200);
    res.json()["results"].as_array().unwrap().clone()
}

both_backends! {
    async fn default_keys_sign_and_rotate(app) {
        let listed = keys(&app).await;
        let current = |alg: &str| {
            listed
                .iter()
                .find(|k| k["algorithm"] == alg && k["rotated"].is_null())
                .unwrap_or_else(|| panic!("no current {alg} key in {listed:?}"))
                .clone()
        };
        let rs = current("RS256");
        let es = current("ES256");
        assert!(listed.iter().all(|k| k.get("private_key").is_none()));
        // Private keys are stored encrypted.
        let stored = app
            .db(|conn| Ok(gatehouse::db::signing_keys::all(conn)?.into_iter().map(|k| k.private_key).collect::<Vec<_>>()))
            .await;
        assert!(stored.iter().all(|k| k.starts_with("v1.")));

        let (rs_pk, rs_client, rs_secret) = provider(&app, "rs-app", json!({})).await;
        let old = own_token(&app, &rs_client, &rs_secret).await;
        let old_access = old["access_token"].as_str().unwrap().to_owned();
        assert_eq!(header(&old_access).alg, jsonwebtoken::Algorithm::RS256);
        assert_eq!(header(&old_access).kid.as_deref(), rs["kid"].as_str());
        verify(&jwks(&app, "rs-app").await, old["id_token"].as_str().unwrap(), &rs_client);

        let (_, es_client, es_secret) = provider(&app, "es-app", json!({"signing_key": es["pk"]})).await;
        let es_token = own_token(&app, &es_client, &es_secret).await;
        let es_access = es_token["access_token"].as_str().unwrap();
        assert_eq!(header(es_access).alg, jsonwebtoken::Algorithm::ES256);
        assert_eq!(header(es_access).kid.as_deref(), es["kid"].as_str());
        verify(&jwks(&app, "es-app").await, es_token["id_token"].as_str().unwrap(), &es_client);
        assert_eq!(userinfo_status(&app, es_access).await, 200);

        // Rotation by API: the provider moves to the successor, the old key stays published.
        let res = app.post(&format!("/api/v3/crypto/signing_keys/{}/rotate/", rs["pk"].as_str().unwrap()), json!({})).await;
        res.assert_status(201);
        let successor = res.json();
        assert_eq!(successor["algorithm"], "RS256");
        assert_ne!(successor["kid"], rs["kid"]);
        let provider_now = app.get(&format!("/api/v3/providers/oauth2/{rs_pk}/")).await.json();
        assert_eq!(provider_now["signing_key"], successor["pk"]);
        let set = jwks(&app, "rs-app").await;
        assert!(set.find(rs["kid"].as_str().unwrap()).is_some(), "the old key is still published");
        assert!(set.find(successor["kid"].as_str().unwrap()).is_some());
        let new = own_token(&app, &rs_client, &rs_secret).await;
        assert_eq!(header(new["access_token"].as_str().unwrap()).kid.as_deref(), successor["kid"].as_str());
        assert_eq!(userinfo_status(&app, &old_access).await, 200, "tokens of the old key stay valid");
        // Rotating it again is refused; the successor can be rotated.
        app.post(&format!("/api/v3/crypto/signing_keys/{}/rotate/", rs["pk"].as_str().unwrap()), json!({}))
            .await
            .assert_status(400);
        // A current default key cannot be deleted.
        app.delete(&format!("/api/v3/crypto/signing_keys/{}/", successor["pk"].as_str().unwrap()))
            .await
            .assert_status(400);

        // Rotation by CLI.
        let settings = app.state.settings.clone();
        tokio::task::spawn_blocking(move || gatehouse::cli::rotate_key(&settings, "gatehouse-default-es256"))
            .await
            .unwrap()
            .unwrap();
        let after = keys(&app).await;
        let es_now = after
            .iter()
            .find(|k| k["algorithm"] == "ES256" && k["rotated"].is_null())
            .unwrap();
        assert_ne!(es_now["kid"], es["kid"]);
        let es_token = own_token(&app, &es_client, &es_secret).await;
        assert_eq!(header(es_token["access_token"].as_str().unwrap()).kid.as_deref(), es_now["kid"].as_str());
        let events = app.get("/api/v3/events/events/?action=signing_key_rotated").await.json();
        assert_eq!(events["pagination"]["count"], 2, "{events}");

        // New keys by API; bad algorithms refused.
        let res = app.post("/api/v3/crypto/signing_keys/", json!({"name": "extra", "algorithm": "HS256"})).await;
        res.assert_status(400);
        assert!(res.json()["algorithm"].is_array() || res.text().contains("algorithm"));
        app.post("/api/v3/crypto/signing_keys/", json!({"name": "extra", "algorithm": "ES256"})).await.assert_status(201);
    }
}
