//! Shared helpers: source configs pointing at the simulator and a full browser-less login.

use std::sync::Arc;
use std::time::Duration;

use gatehouse_plugins::{
    AuthorizationRequest, CallbackData, ClientCredential, JwksCache, PluginContext, PluginError, Registry,
    SourceConfig, SourcePlugin, UpstreamIdentity,
};
use gatehouse_testkit::entra_sim::{EntraSim, fixtures};
use serde_json::{Value, json};

pub const GROUP_SCOPE: &str = "https://graph.microsoft.com/GroupMember.Read.All";

pub fn entraid() -> Arc<dyn SourcePlugin> {
    Registry::builtin().get("entraid").expect("entraid plugin")
}

/// A context whose JWKS cache refetches on every unknown kid (no rate limit).
pub fn ctx() -> PluginContext {
    PluginContext::with_cache(
        gatehouse_plugins::default_http_client(Duration::from_secs(10)),
        Arc::new(JwksCache::new(Duration::ZERO, Duration::from_secs(86400))),
    )
}

/// An Entra source with every URL pointing at the simulator for `tenant`.
pub fn entra_cfg(sim: &EntraSim, tenant: &str, client_id: &str, secret: &str, scopes: &str) -> SourceConfig {
    SourceConfig {
        slug: "test".to_owned(),
        name: "Entra ID".to_owned(),
        consumer_key: client_id.to_owned(),
        credential: ClientCredential::Secret(secret.to_owned()),
        additional_scopes: scopes.to_owned(),
        authorization_url: Some(sim.authorize_url(tenant)),
        access_token_url: Some(sim.token_url(tenant)),
        profile_url: Some(sim.profile_url()),
        oidc_jwks_url: Some(sim.jwks_url(tenant)),
        settings: json!({ "tenant": tenant }),
    }
}

/// The Gatehouse app in Contoso with group sync on.
pub fn contoso_cfg(sim: &EntraSim) -> SourceConfig {
    entra_cfg(
        sim,
        fixtures::CONTOSO,
        fixtures::APP,
        fixtures::APP_SECRET,
        GROUP_SCOPE,
    )
}

pub fn set_setting(cfg: &mut SourceConfig, key: &str, value: Value) {
    cfg.settings[key] = value;
}

/// Follows the authorization redirect to the simulator and returns `(code, redirect)`.
pub async fn authorize(
    ctx: &PluginContext,
    plugin: &dyn SourcePlugin,
    cfg: &SourceConfig,
    login_hint: Option<&str>,
) -> Result<(String, gatehouse_plugins::AuthorizationRedirect), String> {
    let req = AuthorizationRequest {
        redirect_uri: fixtures::TEST_REDIRECT.to_owned(),
        login_hint: login_hint.map(str::to_owned),
        extra_params: Vec::new(),
    };
    let redirect = plugin
        .authorization_redirect(ctx, cfg, req)
        .await
        .map_err(|e| e.to_string())?;
    let resp = ctx
        .http
        .get(&redirect.url)
        .send()
        .await
        .map_err(|e| e.to_string())?;
    let location = resp
        .headers()
        .get("location")
        .and_then(|l| l.to_str().ok())
        .map(str::to_owned)
        .ok_or_else(|| format!("no redirect (HTTP {})", resp.status()))?;
    let url = url::Url::parse(&location).map_err(|e| e.to_string())?;
    let q: std::collections::HashMap<String, String> = url.query_pairs().into_owned().collect();
    if let Some(e) = q.get("error") {
        return Err(format!(
            "{e}: {}",
            q.get("error_description").cloned().unwrap_or_default()
        ));
    }
    assert_eq!(q.get("state"), Some(&redirect.state), "state is echoed");
    Ok((q.get("code").cloned().ok_or("no code")?, redirect))
}

pub fn callback(code: &str, redirect: &gatehouse_plugins::AuthorizationRedirect) -> CallbackData {
    CallbackData {
        code: code.to_owned(),
        redirect_uri: fixtures::TEST_REDIRECT.to_owned(),
        nonce: redirect.nonce.clone(),
        pkce_verifier: redirect.pkce_verifier.clone(),
    }
}

/// Authorize + complete.
pub async fn login_with(
    ctx: &PluginContext,
    plugin: &dyn SourcePlugin,
    cfg: &SourceConfig,
    login_hint: Option<&str>,
) -> Result<UpstreamIdentity, PluginError> {
    let (code, redirect) = authorize(ctx, plugin, cfg, login_hint)
        .await
        .expect("authorization succeeds");
    plugin.complete(ctx, cfg, callback(&code, &redirect)).await
}

pub async fn login(sim_cfg: &SourceConfig, hint: Option<&str>) -> Result<UpstreamIdentity, PluginError> {
    login_with(&ctx(), entraid().as_ref(), sim_cfg, hint).await
}

pub fn group_ids(identity: &UpstreamIdentity) -> Vec<String> {
    match &identity.groups {
        gatehouse_plugins::GroupSync::Synced { groups } => {
            let mut ids: Vec<String> = groups.iter().map(|g| g.identifier.clone()).collect();
            ids.sort();
            ids
        }
        other => panic!("groups not synced: {other:?}"),
    }
}

pub fn sorted(ids: &[&str]) -> Vec<String> {
    let mut v: Vec<String> = ids.iter().map(|s| (*s).to_owned()).collect();
    v.sort();
    v
}
