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

/// A delegated token of the Contoso portal for `api://<resource>/access_as_user` (Adele signs
/// in at the simulator).
async fn delegated_token(sim: &EntraSim, resource: &str) -> String {
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let mut url = url::Url::parse(&sim.authorize_url(f::CONTOSO)).unwrap();
    url.query_pairs_mut()
        .append_pair("client_id", f::WEB_CLIENT)
        .append_pair("redirect_uri", f::WEB_CLIENT_REDIRECT)
        .append_pair("response_type", "code")
        .append_pair("scope", &format!("api://{resource}/access_as_user"));
    let res = http.get(url.as_str()).send().await.unwrap();
    let location = res.headers()["location"].to_str().unwrap().to_owned();
    let code = url::Url::parse(&location)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == "code")
        .map(|(_, v)| v.into_owned())
        .unwrap();
    let body: Value = http
        .post(sim.token_url(f::CONTOSO))
        .form(&[
            ("grant_type", "authorization_code"),
            ("client_id", f::WEB_CLIENT),
            ("client_secret", f::WEB_CLIENT_SECRET),
            ("code", code.as_str()),
            ("redirect_uri", f::WEB_CLIENT_REDIRECT),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    body["access_token"].as_str().unwrap().to_owned()
}

/// The claims of a JWT, unverified (to look at what the simulator minted).
fn payload(token: &str) -> Value {
    use base64::Engine;
    let part = token.split('.').nth(1).unwrap();
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(part)
        .unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

#[tokio::test]
async fn delegated_tokens_are_refused_v1_and_v2() {
    let sim = EntraSim::standard().unwrap();
    for resource in [f::APP, f::V2_API] {
        let token = delegated_token(&sim, resource).await;
        let claims = payload(&token);
        assert_eq!(claims["scp"], "access_as_user", "{claims}");
        if resource == f::V2_API {
            assert_eq!(claims["idtyp"], "user", "{claims}");
        }
        let d = description(
            validate(
                &sim,
                &api_cfg(&sim, resource),
                &token,
                &MachineTokenRules::default(),
            )
            .await
            .unwrap_err(),
        );
        assert!(d.contains("delegated (user) token"), "{d}");
    }
}

#[tokio::test]
async fn required_roles_must_all_be_present() {
    let sim = EntraSim::standard().unwrap();
    let token = daemon_token(&sim, f::APP).await;
    let cfg = api_cfg(&sim, f::APP);
    let rules = |roles: &[&str]| MachineTokenRules {
        required_roles: roles.iter().map(|r| (*r).to_owned()).collect(),
        ..Default::default()
    };
    validate(&sim, &cfg, &token, &rules(&[f::EXCHANGE_ROLE]))
        .await
        .unwrap();
    let d = description(
        validate(&sim, &cfg, &token, &rules(&[f::EXCHANGE_ROLE, "Gatehouse.Admin"]))
            .await
            .unwrap_err(),
    );
    assert!(d.contains("no role `Gatehouse.Admin`"), "{d}");
    // Role values are compared exactly, as Entra emits them.
    let d = description(
        validate(&sim, &cfg, &token, &rules(&["gatehouse.exchange"]))
            .await
            .unwrap_err(),
    );
    assert!(d.contains("no role `gatehouse.exchange`"), "{d}");
}

#[tokio::test]
async fn multi_tenant_source_needs_allowed_tenants_for_machine_tokens() {
    let sim = EntraSim::standard().unwrap();
    let token = daemon_token(&sim, f::APP).await;
    let mut cfg = entra_cfg(&sim, "organizations", f::APP, f::APP_SECRET, "");
    assert!(entraid().accepts_any_tenant(&cfg));
    let d = description(
        validate(&sim, &cfg, &token, &MachineTokenRules::default())
            .await
            .unwrap_err(),
    );
    assert!(d.contains("has no settings.allowed_tenants"), "{d}");
    set_setting(&mut cfg, "allowed_tenants", json!([f::CONTOSO]));
    assert!(!entraid().accepts_any_tenant(&cfg));
    validate(&sim, &cfg, &token, &MachineTokenRules::default())
        .await
        .unwrap();
}
