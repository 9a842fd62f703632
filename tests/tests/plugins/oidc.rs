//! The generic `openidconnect` plugin against the simulator's tenant discovery.

use std::sync::Arc;

use gatehouse_plugins::{
    ClientCredential, GroupSync, MachineTokenRules, PluginError, Registry, SourceConfig, SourcePlugin,
};
use gatehouse_testkit::entra_sim::{EntraSim, Tamper, fixtures as f};
use serde_json::json;

use crate::plugins::common::*;

fn oidc() -> Arc<dyn SourcePlugin> {
    Registry::builtin().get("openidconnect").unwrap()
}

fn oidc_cfg(sim: &EntraSim, client_id: &str) -> SourceConfig {
    SourceConfig {
        slug: "test".to_owned(),
        name: "Generic OIDC".to_owned(),
        consumer_key: client_id.to_owned(),
        credential: ClientCredential::Secret(f::APP_SECRET.to_owned()),
        additional_scopes: String::new(),
        authorization_url: None,
        access_token_url: None,
        profile_url: None,
        oidc_jwks_url: None,
        settings: json!({ "issuer": sim.issuer(f::CONTOSO) }),
    }
}

#[tokio::test]
async fn discovery_login_with_userinfo_and_groups_claim() {
    let sim = EntraSim::standard().unwrap();
    sim.with_directory(|d| d.app_mut(f::APP).unwrap().groups_claim = true);
    let cfg = oidc_cfg(&sim, f::APP);
    let id = login_with(&ctx(), oidc().as_ref(), &cfg, None).await.unwrap();
    assert_eq!(
        id.identifier,
        id.claims["sub"].as_str().unwrap(),
        "generic OIDC keys on sub"
    );
    assert_ne!(id.identifier, f::ADELE);
    assert_eq!(id.base.username.as_deref(), Some(f::ADELE_UPN));
    assert_eq!(id.base.email.as_deref(), Some(f::ADELE_UPN));
    assert_eq!(id.base.name.as_deref(), Some("Adele Vance"));
    assert_eq!(id.info["given_name"], "Adele", "userinfo claims are merged");
    match id.groups {
        GroupSync::Synced { groups } => assert_eq!(groups.len(), 3),
        other => panic!("{other:?}"),
    }
    assert!(sim.counters().discovery >= 1);
}

#[tokio::test]
async fn without_groups_claim_sync_is_off() {
    let sim = EntraSim::standard().unwrap();
    let mut cfg = oidc_cfg(&sim, f::APP);
    cfg.settings["use_userinfo"] = json!(false);
    let id = login_with(&ctx(), oidc().as_ref(), &cfg, None).await.unwrap();
    assert_eq!(id.groups, GroupSync::Off);
}

#[tokio::test]
async fn id_token_rigour_is_the_same() {
    for tamper in [
        Tamper::AlgNone,
        Tamper::WrongNonce,
        Tamper::WrongAudience,
        Tamper::BadSignature,
        Tamper::Expired,
    ] {
        let sim = EntraSim::standard().unwrap();
        sim.with_faults(|x| x.id_token_tamper = Some(tamper));
        let err = login_with(&ctx(), oidc().as_ref(), &oidc_cfg(&sim, f::APP), None)
            .await
            .unwrap_err();
        assert!(matches!(err, PluginError::IdToken(_)), "{tamper:?}: {err:?}");
    }
}

#[tokio::test]
async fn a_discovery_issuer_mismatch_is_refused() {
    let sim = EntraSim::standard().unwrap();
    let mut cfg = oidc_cfg(&sim, f::APP);
    cfg.settings = json!({
        "issuer": sim.issuer(f::FABRIKAM),
        "well_known_url": sim.discovery_url(f::CONTOSO),
    });
    let plugin = oidc();
    let req = gatehouse_plugins::AuthorizationRequest {
        redirect_uri: f::TEST_REDIRECT.to_owned(),
        ..Default::default()
    };
    let err = plugin
        .authorization_redirect(&ctx(), &cfg, req)
        .await
        .unwrap_err();
    assert!(matches!(err, PluginError::Metadata(_)), "{err:?}");
}

#[tokio::test]
async fn machine_tokens_check_issuer_and_audience() {
    let sim = EntraSim::standard().unwrap();
    let token = sim
        .mint_app_token(f::CONTOSO, f::DAEMON, f::V2_API, None)
        .unwrap();
    let cfg = oidc_cfg(&sim, f::V2_API);
    let id = oidc()
        .validate_machine_token(&ctx(), &cfg, &token, &MachineTokenRules::default())
        .await
        .unwrap();
    assert_eq!(id.app_id, f::DAEMON);
    let err = oidc()
        .validate_machine_token(
            &ctx(),
            &oidc_cfg(&sim, f::APP),
            &token,
            &MachineTokenRules::default(),
        )
        .await
        .unwrap_err();
    assert!(err.to_string().contains("audience"), "{err}");
    let none = sim
        .mint_app_token(f::CONTOSO, f::DAEMON, f::V2_API, Some(Tamper::AlgNone))
        .unwrap();
    let err = oidc()
        .validate_machine_token(&ctx(), &cfg, &none, &MachineTokenRules::default())
        .await
        .unwrap_err();
    assert!(err.to_string().contains("`none` is not allowed"), "{err}");
}

#[test]
fn validation_requires_an_issuer() {
    let sim = EntraSim::standard().unwrap();
    let mut cfg = oidc_cfg(&sim, f::APP);
    cfg.settings = json!({"signing_algorithms": ["HS256"]});
    let e = oidc().validate(&cfg).unwrap_err();
    assert!(e.get("settings.issuer").is_some());
    assert!(e.get("settings.signing_algorithms").is_some());
    assert!(oidc().validate(&oidc_cfg(&sim, f::APP)).is_ok());
    assert_eq!(oidc().description().icon, "sources/openidconnect.svg");
}
