//! Wire-format checks of the simulator itself (discovery, JWKS, errors, Graph shapes).

use std::time::Duration;

use gatehouse_testkit::entra_sim::{EntraSim, fixtures as f};
use serde_json::Value;

fn http() -> reqwest::Client {
    gatehouse_plugins::default_http_client(Duration::from_secs(5))
}

#[tokio::test]
async fn discovery_documents_issuer_forms() {
    let sim = EntraSim::standard().unwrap();
    let common: Value = http()
        .get(sim.discovery_url("common"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(common["issuer"], format!("{}/{{tenantid}}/v2.0", sim.base_url()));
    assert_eq!(common["token_endpoint"], sim.token_url("common"));
    assert_eq!(common["tenant_region_scope"], Value::Null);
    let domain: Value = http()
        .get(sim.discovery_url(f::CONTOSO_DOMAIN))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(domain["issuer"], sim.issuer(f::CONTOSO));
    assert_eq!(
        domain["token_endpoint"],
        sim.token_url(f::CONTOSO),
        "GUID in endpoints of a domain request"
    );
}

#[tokio::test]
async fn jwks_keys_have_kid_x5t_x5c_and_issuer() {
    let sim = EntraSim::standard().unwrap();
    let resp = http().get(sim.jwks_url("common")).send().await.unwrap();
    assert_eq!(resp.headers()["cache-control"], "max-age=86400, private");
    let jwks: Value = resp.json().await.unwrap();
    let key = &jwks["keys"][0];
    assert_eq!(key["kid"], key["x5t"]);
    assert_eq!(key["kty"], "RSA");
    assert!(key.get("alg").is_none());
    assert!(key["x5c"][0].as_str().unwrap().len() > 100);
    assert_eq!(key["issuer"], format!("{}/{{tenantid}}/v2.0", sim.base_url()));
    let v1: Value = http()
        .get(format!("{}/common/discovery/keys", sim.base_url()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(v1["keys"][0].get("issuer").is_none());
}

#[tokio::test]
async fn token_endpoint_rejects_get_and_missing_credentials() {
    let sim = EntraSim::standard().unwrap();
    let get: Value = http()
        .get(sim.token_url(f::CONTOSO))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(get["error_codes"][0], 900561);
    let resp = http()
        .post(sim.token_url(f::CONTOSO))
        .form(&[("grant_type", "client_credentials"), ("client_id", f::DAEMON)])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);
    assert_eq!(resp.headers()["cache-control"], "no-store, no-cache");
    let body: Value = resp.json().await.unwrap();
    for field in [
        "error",
        "error_description",
        "error_codes",
        "timestamp",
        "trace_id",
        "correlation_id",
        "error_uri",
    ] {
        assert!(body.get(field).is_some(), "{field}");
    }
    assert_eq!(body["error_codes"][0], 7000218);
    // Basic auth works too.
    let resp = http()
        .post(sim.token_url(f::CONTOSO))
        .basic_auth(f::DAEMON, Some(f::DAEMON_SECRET))
        .form(&[
            ("grant_type", "client_credentials"),
            ("scope", &format!("api://{}/.default", f::APP)),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
}

#[tokio::test]
async fn graph_requires_a_bearer_token() {
    let sim = EntraSim::standard().unwrap();
    let resp = http().get(sim.profile_url()).send().await.unwrap();
    assert_eq!(resp.status(), 401);
    assert!(resp.headers().contains_key("www-authenticate"));
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["error"]["code"], "InvalidAuthenticationToken");
    assert!(body["error"]["innerError"]["request-id"].is_string());
}

#[tokio::test]
async fn control_endpoints() {
    let sim = EntraSim::standard().unwrap();
    let resp = http()
        .post(format!("{}/_sim/default-user", sim.base_url()))
        .json(&serde_json::json!({"tenant": f::CONTOSO, "user": f::ALEX_UPN}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let resp = http()
        .post(format!("{}/_sim/faults", sim.base_url()))
        .json(&serde_json::json!({"graph_page_size": 5, "expire_codes": true}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(
        sim.with_faults(|x| (x.graph_page_size, x.expire_codes)),
        (5, true)
    );
    let counters: Value = http()
        .get(format!("{}/_sim/counters", sim.base_url()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(counters["token"], 0);
    assert_eq!(
        sim.with_directory(|d| d.tenant(f::CONTOSO).unwrap().default_user.clone())
            .as_deref(),
        Some(f::ALEX)
    );
}

#[tokio::test]
async fn refresh_tokens_come_with_offline_access_and_rotate() {
    let sim = EntraSim::standard().unwrap();
    let cfg = crate::plugins::common::entra_cfg(&sim, f::CONTOSO, f::APP, f::APP_SECRET, "offline_access");
    let id = crate::plugins::common::login(&cfg, None).await.unwrap();
    let rt = id
        .tokens
        .refresh_token
        .clone()
        .expect("offline_access yields a refresh token");
    let body: Value = http()
        .post(sim.token_url(f::CONTOSO))
        .form(&[
            ("grant_type", "refresh_token"),
            ("client_id", f::APP),
            ("client_secret", f::APP_SECRET),
            ("refresh_token", &rt),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(body["access_token"].is_string());
    assert_ne!(body["refresh_token"], Value::String(rt));
    assert!(body["expires_in"].is_i64(), "integer expires_in on v2");
}

#[test]
fn directory_json_round_trips_for_the_binary_config() {
    let dir = f::standard_directory();
    let text = serde_json::to_string(&dir).unwrap();
    let back: gatehouse_testkit::entra_sim::Directory = serde_json::from_str(&text).unwrap();
    assert_eq!(back.tenants.len(), 2);
    assert_eq!(
        back.tenant(f::CONTOSO_DOMAIN)
            .unwrap()
            .transitive_of(f::ADELE)
            .len(),
        5
    );
}
