//! Every id_token negative, and JWKS refresh on unknown `kid`.

use std::sync::Arc;
use std::time::Duration;

use gatehouse_plugins::{JwksCache, PluginContext, PluginError};
use gatehouse_testkit::entra_sim::{EntraSim, Tamper, fixtures as f};

use crate::plugins::common::*;

async fn login_tampered(tamper: Tamper) -> PluginError {
    let sim = EntraSim::standard().unwrap();
    sim.with_faults(|x| x.id_token_tamper = Some(tamper));
    let err = login(&contoso_cfg(&sim), None).await.unwrap_err();
    assert!(matches!(err, PluginError::IdToken(_)), "{tamper:?}: {err:?}");
    err
}

#[tokio::test]
async fn bad_signature() {
    let e = login_tampered(Tamper::BadSignature).await.to_string();
    assert!(e.to_lowercase().contains("signature"), "{e}");
}

#[tokio::test]
async fn wrong_audience() {
    let e = login_tampered(Tamper::WrongAudience).await.to_string();
    assert!(e.to_lowercase().contains("audience"), "{e}");
}

#[tokio::test]
async fn wrong_issuer() {
    let e = login_tampered(Tamper::WrongIssuer).await.to_string();
    assert!(e.to_lowercase().contains("issuer"), "{e}");
}

#[tokio::test]
async fn other_tenant_on_a_single_tenant_source() {
    let e = login_tampered(Tamper::OtherTenant).await.to_string();
    assert!(e.to_lowercase().contains("issuer"), "{e}");
}

#[tokio::test]
async fn expired() {
    let e = login_tampered(Tamper::Expired).await.to_string();
    assert!(e.to_lowercase().contains("expired"), "{e}");
}

#[tokio::test]
async fn not_yet_valid() {
    let e = login_tampered(Tamper::NotYetValid).await.to_string();
    assert!(e.contains("not valid before"), "{e}");
}

#[tokio::test]
async fn alg_none() {
    let e = login_tampered(Tamper::AlgNone).await.to_string();
    assert!(e.contains("`none` is not allowed"), "{e}");
}

#[tokio::test]
async fn hs256_signed_with_the_public_key() {
    let e = login_tampered(Tamper::Hs256WithPublicKey).await.to_string();
    assert!(e.contains("`HS256` is not allowed"), "{e}");
}

#[tokio::test]
async fn wrong_nonce() {
    let e = login_tampered(Tamper::WrongNonce).await.to_string();
    assert!(e.to_lowercase().contains("nonce"), "{e}");
}

#[tokio::test]
async fn other_tenant_rejected_by_allowed_tenants_on_common() {
    let sim = EntraSim::standard().unwrap();
    let mut cfg = entra_cfg(&sim, "common", f::MULTI_APP, f::MULTI_SECRET, "");
    set_setting(&mut cfg, "allowed_tenants", serde_json::json!([f::CONTOSO]));
    sim.with_faults(|x| x.id_token_tamper = Some(Tamper::OtherTenant));
    let err = login(&cfg, None).await.unwrap_err();
    assert!(
        err.to_string()
            .contains(&format!("tenant {} is not allowed", f::FABRIKAM)),
        "{err}"
    );
}

#[tokio::test]
async fn unknown_kid_refreshes_the_jwks_once_published() {
    let sim = EntraSim::standard().unwrap();
    let (ctx, cfg) = (ctx(), contoso_cfg(&sim));
    let plugin = entraid();
    login_with(&ctx, plugin.as_ref(), &cfg, None).await.unwrap();
    assert_eq!(sim.counters().jwks, 1);
    sim.sign_with_unpublished_key();
    let err = login_with(&ctx, plugin.as_ref(), &cfg, None).await.unwrap_err();
    assert!(err.to_string().contains("unknown key"), "{err}");
    assert_eq!(sim.counters().jwks, 2, "refetched on the unknown kid");
    sim.publish_all_keys();
    login_with(&ctx, plugin.as_ref(), &cfg, None).await.unwrap();
    assert_eq!(sim.counters().jwks, 3);
    // Known kid now: served from cache.
    login_with(&ctx, plugin.as_ref(), &cfg, None).await.unwrap();
    assert_eq!(sim.counters().jwks, 3);
}

#[tokio::test]
async fn rotation_keeps_working() {
    let sim = EntraSim::standard().unwrap();
    let (ctx, cfg) = (ctx(), contoso_cfg(&sim));
    login_with(&ctx, entraid().as_ref(), &cfg, None).await.unwrap();
    let old = sim.active_kid();
    sim.rotate_keys();
    assert_ne!(sim.active_kid(), old);
    login_with(&ctx, entraid().as_ref(), &cfg, None).await.unwrap();
}

#[tokio::test]
async fn unknown_kid_refetches_are_rate_limited() {
    let sim = EntraSim::standard().unwrap();
    let ctx = PluginContext::with_cache(
        gatehouse_plugins::default_http_client(Duration::from_secs(10)),
        Arc::new(JwksCache::new(
            Duration::from_secs(3600),
            Duration::from_secs(86400),
        )),
    );
    let cfg = contoso_cfg(&sim);
    login_with(&ctx, entraid().as_ref(), &cfg, None).await.unwrap();
    sim.sign_with_unpublished_key();
    for _ in 0..3 {
        let err = login_with(&ctx, entraid().as_ref(), &cfg, None)
            .await
            .unwrap_err();
        assert!(err.to_string().contains("unknown key"), "{err}");
    }
    assert_eq!(sim.counters().jwks, 1, "no refetch inside the rate-limit window");
}
