//! Machine-to-machine: Entra client-credentials tokens validated by the entraid plugin.

use gatehouse_plugins::{MachineTokenRules, PluginError, SourceConfig};
use gatehouse_testkit::entra_sim::{EntraSim, Tamper, fixtures as f};
use serde_json::{Value, json};

use crate::plugins::common::*;

async fn client_credentials(sim: &EntraSim, tenant: &str, client: &str, secret: &str, scope: &str) -> Value {
    let resp = reqwest::Client::new()
        .post(sim.token_url(tenant))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", client),
            ("client_secret", secret),
            ("scope", scope),
        ])
        .send()
        .await
        .unwrap();
    resp.json().await.unwrap()
}

async fn daemon_token(sim: &EntraSim, resource: &str) -> String {
    let body = client_credentials(
        sim,
        f::CONTOSO,
        f::DAEMON,
        f::DAEMON_SECRET,
        &format!("api://{resource}/.default"),
    )
    .await;
    assert!(body.get("refresh_token").is_none() && body.get("scope").is_none());
    body["access_token"].as_str().unwrap().to_owned()
}

fn api_cfg(sim: &EntraSim, client_id: &str) -> SourceConfig {
    entra_cfg(sim, f::CONTOSO, client_id, f::APP_SECRET, "")
}

async fn validate(
    sim: &EntraSim,
    cfg: &SourceConfig,
    token: &str,
    rules: &MachineTokenRules,
) -> Result<gatehouse_plugins::MachineIdentity, PluginError> {
    let _ = sim;
    entraid().validate_machine_token(&ctx(), cfg, token, rules).await
}

fn description(err: PluginError) -> String {
    match err {
        PluginError::MachineToken { error, description } => {
            assert_eq!(error, "invalid_grant");
            description
        }
        other => panic!("expected a machine-token error, got {other:?}"),
    }
}

#[tokio::test]
async fn v1_app_token_is_accepted() {
    let sim = EntraSim::standard().unwrap();
    let token = daemon_token(&sim, f::APP).await;
    let id = validate(
        &sim,
        &api_cfg(&sim, f::APP),
        &token,
        &MachineTokenRules::default(),
    )
    .await
    .unwrap();
    assert_eq!(id.app_id, f::DAEMON);
    assert_eq!(id.tenant_id.as_deref(), Some(f::CONTOSO));
    assert_eq!(id.claims["ver"], "1.0");
    assert_eq!(
        id.claims["iss"],
        format!("https://sts.windows.net/{}/", f::CONTOSO)
    );
    assert_eq!(id.claims["aud"], format!("api://{}", f::APP));
    assert_eq!(id.claims["roles"], json!(["Gatehouse.Exchange"]));
    assert_eq!(id.claims["idtyp"], "app");
}

#[tokio::test]
async fn v2_app_token_is_accepted() {
    let sim = EntraSim::standard().unwrap();
    let token = daemon_token(&sim, f::V2_API).await;
    let id = validate(
        &sim,
        &api_cfg(&sim, f::V2_API),
        &token,
        &MachineTokenRules::default(),
    )
    .await
    .unwrap();
    assert_eq!(id.claims["ver"], "2.0");
    assert_eq!(id.claims["aud"], f::V2_API);
    assert_eq!(id.claims["azp"], f::DAEMON);
    assert_eq!(id.app_id, f::DAEMON);
}

#[tokio::test]
async fn wrong_audience_is_refused() {
    let sim = EntraSim::standard().unwrap();
    let token = daemon_token(&sim, f::OTHER_API).await;
    let d = description(
        validate(
            &sim,
            &api_cfg(&sim, f::APP),
            &token,
            &MachineTokenRules::default(),
        )
        .await
        .unwrap_err(),
    );
    assert!(d.contains("audience"), "{d}");
    // A configured audience list replaces the default.
    let rules = MachineTokenRules {
        audiences: vec![format!("api://{}", f::OTHER_API)],
        ..Default::default()
    };
    validate(&sim, &api_cfg(&sim, f::APP), &token, &rules)
        .await
        .unwrap();
}

#[tokio::test]
async fn other_tenant_is_refused_unless_allowed() {
    let sim = EntraSim::standard().unwrap();
    let body = client_credentials(
        &sim,
        f::FABRIKAM,
        f::FABRIKAM_DAEMON,
        f::FABRIKAM_DAEMON_SECRET,
        &format!("api://{}/.default", f::APP),
    )
    .await;
    let token = body["access_token"].as_str().unwrap();
    let mut cfg = api_cfg(&sim, f::APP);
    let d = description(
        validate(&sim, &cfg, token, &MachineTokenRules::default())
            .await
            .unwrap_err(),
    );
    assert!(d.contains(&format!("tenant {}", f::FABRIKAM)), "{d}");
    set_setting(&mut cfg, "allowed_tenants", json!([f::FABRIKAM]));
    let id = validate(&sim, &cfg, token, &MachineTokenRules::default())
        .await
        .unwrap();
    assert_eq!(id.tenant_id.as_deref(), Some(f::FABRIKAM));
}

async fn tampered(tamper: Tamper) -> String {
    let sim = EntraSim::standard().unwrap();
    sim.with_faults(|x| x.access_token_tamper = Some(tamper));
    let token = daemon_token(&sim, f::APP).await;
    description(
        validate(
            &sim,
            &api_cfg(&sim, f::APP),
            &token,
            &MachineTokenRules::default(),
        )
        .await
        .unwrap_err(),
    )
}

#[tokio::test]
async fn expired_is_refused() {
    assert!(tampered(Tamper::Expired).await.contains("expired"));
}

#[tokio::test]
async fn alg_none_is_refused() {
    assert!(tampered(Tamper::AlgNone).await.contains("`none` is not allowed"));
}

#[tokio::test]
async fn hs256_confusion_is_refused() {
    assert!(
        tampered(Tamper::Hs256WithPublicKey)
            .await
            .contains("`HS256` is not allowed")
    );
}

#[tokio::test]
async fn bad_signature_is_refused() {
    assert!(tampered(Tamper::BadSignature).await.contains("signature"));
}

#[tokio::test]
async fn wrong_issuer_is_refused() {
    assert!(tampered(Tamper::WrongIssuer).await.contains("issuer"));
}

#[tokio::test]
async fn unknown_kid_then_published() {
    let sim = EntraSim::standard().unwrap();
    sim.sign_with_unpublished_key();
    let token = daemon_token(&sim, f::APP).await;
    let ctx = ctx();
    let cfg = api_cfg(&sim, f::APP);
    let err = entraid()
        .validate_machine_token(&ctx, &cfg, &token, &MachineTokenRules::default())
        .await
        .unwrap_err();
    assert!(description(err).contains("unknown key"));
    sim.publish_all_keys();
    entraid()
        .validate_machine_token(&ctx, &cfg, &token, &MachineTokenRules::default())
        .await
        .unwrap();
}

#[tokio::test]
async fn graph_token_is_refused_with_the_api_scope_hint() {
    let sim = EntraSim::standard().unwrap();
    let body = client_credentials(
        &sim,
        f::CONTOSO,
        f::DAEMON,
        f::DAEMON_SECRET,
        "https://graph.microsoft.com/.default",
    )
    .await;
    let token = body["access_token"].as_str().unwrap();
    let d = description(
        validate(&sim, &api_cfg(&sim, f::APP), token, &MachineTokenRules::default())
            .await
            .unwrap_err(),
    );
    assert!(d.contains(&format!("scope=api://{}/.default", f::APP)), "{d}");
}

#[tokio::test]
async fn allowed_app_ids_restrict_the_caller() {
    let sim = EntraSim::standard().unwrap();
    let token = daemon_token(&sim, f::APP).await;
    let rules = MachineTokenRules {
        allowed_app_ids: vec![f::MULTI_APP.to_owned()],
        ..Default::default()
    };
    let d = description(
        validate(&sim, &api_cfg(&sim, f::APP), &token, &rules)
            .await
            .unwrap_err(),
    );
    assert!(d.contains(&format!("application {}", f::DAEMON)), "{d}");
}

#[tokio::test]
async fn simulator_refuses_unknown_resources_and_common() {
    let sim = EntraSim::standard().unwrap();
    let body = client_credentials(
        &sim,
        f::CONTOSO,
        f::DAEMON,
        f::DAEMON_SECRET,
        "api://nope/.default",
    )
    .await;
    assert_eq!(body["error_codes"], json!([500011]));
    let body = client_credentials(
        &sim,
        "common",
        f::DAEMON,
        f::DAEMON_SECRET,
        &format!("api://{}/.default", f::APP),
    )
    .await;
    assert_eq!(body["error"], "invalid_request");
}
