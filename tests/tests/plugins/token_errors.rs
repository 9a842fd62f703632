//! Token endpoint and authorize errors, surfaced with their AADSTS codes.

use std::time::Duration;

use gatehouse_plugins::{PluginContext, PluginError};
use gatehouse_testkit::entra_sim::{AuthorizeErrorSpec, EntraSim, TokenErrorSpec, fixtures as f};

use crate::plugins::common::*;

fn codes(err: &PluginError) -> Vec<i64> {
    match err {
        PluginError::Upstream { codes, .. } => codes.clone(),
        other => panic!("expected an upstream error, got {other:?}"),
    }
}

#[tokio::test]
async fn invalid_secret_is_aadsts7000215_with_a_readable_message() {
    let sim = EntraSim::standard().unwrap();
    let cfg = entra_cfg(&sim, f::CONTOSO, f::APP, "wrong-secret", "");
    let err = login(&cfg, None).await.unwrap_err();
    assert_eq!(codes(&err), vec![7000215]);
    let text = err.to_string();
    assert!(
        text.starts_with("AADSTS7000215: Invalid client secret provided."),
        "{text}"
    );
    assert!(!text.contains("Trace ID"), "only the human line is shown: {text}");
    assert!(!text.contains("wrong-secret"));
    assert_eq!(err.detail()["error"], "invalid_client");
}

#[tokio::test]
async fn expired_secret_is_aadsts7000222() {
    let sim = EntraSim::standard().unwrap();
    let cfg = entra_cfg(&sim, f::CONTOSO, f::APP, f::APP_EXPIRED_SECRET, "");
    assert_eq!(codes(&login(&cfg, None).await.unwrap_err()), vec![7000222]);
}

#[tokio::test]
async fn expired_code_is_aadsts70008() {
    let sim = EntraSim::standard().unwrap();
    sim.with_faults(|x| x.expire_codes = true);
    let err = login(&contoso_cfg(&sim), None).await.unwrap_err();
    assert_eq!(codes(&err), vec![70008]);
    assert!(matches!(&err, PluginError::Upstream { error, .. } if error == "invalid_grant"));
}

#[tokio::test]
async fn a_code_is_single_use() {
    let sim = EntraSim::standard().unwrap();
    let (ctx, plugin, cfg) = (ctx(), entraid(), contoso_cfg(&sim));
    let (code, redirect) = authorize(&ctx, plugin.as_ref(), &cfg, None).await.unwrap();
    plugin
        .complete(&ctx, &cfg, callback(&code, &redirect))
        .await
        .unwrap();
    let err = plugin
        .complete(&ctx, &cfg, callback(&code, &redirect))
        .await
        .unwrap_err();
    assert_eq!(codes(&err), vec![54005]);
}

#[tokio::test]
async fn a_wrong_pkce_verifier_is_refused() {
    let sim = EntraSim::standard().unwrap();
    let (ctx, plugin, cfg) = (ctx(), entraid(), contoso_cfg(&sim));
    let (code, redirect) = authorize(&ctx, plugin.as_ref(), &cfg, None).await.unwrap();
    let mut cb = callback(&code, &redirect);
    cb.pkce_verifier = "x".repeat(43);
    assert_eq!(
        codes(&plugin.complete(&ctx, &cfg, cb).await.unwrap_err()),
        vec![501481]
    );
}

#[tokio::test]
async fn injected_token_error_is_surfaced() {
    let sim = EntraSim::standard().unwrap();
    sim.with_faults(|x| {
        x.next_token_error = Some(TokenErrorSpec {
            error: "interaction_required".to_owned(),
            code: 50076,
            message: "Due to a configuration change made by your administrator, you must use multi-factor authentication.".to_owned(),
            status: 400,
        })
    });
    let err = login(&contoso_cfg(&sim), None).await.unwrap_err();
    assert_eq!(codes(&err), vec![50076]);
    assert!(
        err.to_string()
            .starts_with("AADSTS50076: Due to a configuration change")
    );
}

#[tokio::test]
async fn slow_token_endpoint_is_a_network_error() {
    let sim = EntraSim::standard().unwrap();
    sim.with_faults(|x| x.token_delay = Duration::from_secs(5));
    let ctx = PluginContext::new(gatehouse_plugins::default_http_client(Duration::from_millis(500)));
    let err = login_with(&ctx, entraid().as_ref(), &contoso_cfg(&sim), None)
        .await
        .unwrap_err();
    assert!(matches!(err, PluginError::Network(_)), "{err:?}");
}

#[tokio::test]
async fn access_denied_is_an_entra_error_redirect() {
    let sim = EntraSim::standard().unwrap();
    sim.with_faults(|x| {
        x.next_authorize_error = Some(AuthorizeErrorSpec {
            error: "access_denied".to_owned(),
            code: Some(65004),
            message: Some("User declined to consent to access the app.".to_owned()),
        })
    });
    let (ctx, plugin, cfg) = (ctx(), entraid(), contoso_cfg(&sim));
    let req = gatehouse_plugins::AuthorizationRequest {
        redirect_uri: f::TEST_REDIRECT.to_owned(),
        ..Default::default()
    };
    let redirect = plugin.authorization_redirect(&ctx, &cfg, req).await.unwrap();
    let resp = ctx.http.get(&redirect.url).send().await.unwrap();
    assert_eq!(resp.status(), 302);
    let location = resp.headers()["location"].to_str().unwrap().to_owned();
    let query = location.split_once('?').unwrap().1;
    assert!(
        query.starts_with("error=access_denied&error_description=AADSTS65004%3a+User+declined"),
        "{query}"
    );
    assert!(query.contains("%0d%0aTrace+ID%3a+"));
    assert!(query.contains("&error_uri=https%3a%2f%2flogin.microsoftonline.com%2ferror%3fcode%3d65004"));
    assert!(query.ends_with(&format!("&state={}", redirect.state)));
}

#[tokio::test]
async fn untrusted_redirects_get_an_html_error_page() {
    let sim = EntraSim::standard().unwrap();
    let http = gatehouse_plugins::default_http_client(Duration::from_secs(5));
    let base = |tenant: &str, client: &str, redirect: &str| {
        format!(
            "{}?client_id={client}&response_type=code&scope=openid&redirect_uri={}",
            sim.authorize_url(tenant),
            url::form_urlencoded::byte_serialize(redirect.as_bytes()).collect::<String>()
        )
    };
    for (url, code) in [
        (
            base(f::CONTOSO, f::APP, "https://evil.example.com/cb"),
            "AADSTS50011",
        ),
        (
            base(
                f::CONTOSO,
                "99999999-9999-9999-9999-999999999999",
                f::TEST_REDIRECT,
            ),
            "AADSTS700016",
        ),
        (base("common", f::APP, f::TEST_REDIRECT), "AADSTS50194"),
        (
            base("nosuchtenant.onmicrosoft.com", f::APP, f::TEST_REDIRECT),
            "AADSTS90002",
        ),
    ] {
        let resp = http.get(&url).send().await.unwrap();
        assert_eq!(resp.status(), 400, "{url}");
        assert!(
            resp.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/html")
        );
        assert!(resp.text().await.unwrap().contains(code), "{code}");
    }
}
