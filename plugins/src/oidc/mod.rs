//! The `openidconnect` plugin: any OpenID Connect provider, configured by issuer (discovery)
//! or explicit URLs. Identifier = `sub`; username = `preferred_username`, else `nickname`;
//! groups from a `groups` claim when present. Same id_token rigour as Entra (pinned
//! algorithms, exact issuer, audience, nonce, time with leeway, JWKS refresh on unknown kid).

mod settings;

use std::str::FromStr;

use async_trait::async_trait;
use openidconnect::TokenResponse;
use openidconnect::core::CoreJwsSigningAlgorithm;
use serde_json::Value;

use self::settings::OidcSettings;
use crate::idtoken::{self, IdTokenRules};
use crate::oauth::{self, CodeExchange};
use crate::plugin::{PluginContext, SourcePlugin};
use crate::types::{
    AuthorizationRedirect, AuthorizationRequest, BaseProperties, CallbackData, FieldErrors, GroupInfo,
    GroupSync, MachineIdentity, MachineTokenRules, ResolvedUrls, SourceConfig, SourceTypeDescription,
    UpstreamGroup, UpstreamIdentity,
};
use crate::util::{dedupe_scopes, excerpt, peek_jwt};
use crate::{PluginError, authorize};

pub struct OpenIdConnectPlugin {
    description: SourceTypeDescription,
}

impl Default for OpenIdConnectPlugin {
    fn default() -> Self {
        Self::new()
    }
}

impl OpenIdConnectPlugin {
    pub fn new() -> Self {
        Self {
            description: SourceTypeDescription {
                name: "openidconnect".to_owned(),
                verbose_name: "OpenID Connect".to_owned(),
                icon: "sources/openidconnect.svg".to_owned(),
                urls_customizable: true,
                authorization_url: None,
                access_token_url: None,
                profile_url: None,
                oidc_jwks_url: None,
                settings_schema: settings::schema(),
            },
        }
    }
}

fn config_error(e: FieldErrors) -> PluginError {
    PluginError::Configuration(e.to_string())
}

fn signing_algs(s: &OidcSettings) -> Result<Vec<CoreJwsSigningAlgorithm>, PluginError> {
    s.algorithms
        .iter()
        .map(|a| {
            serde_json::from_value(Value::String(a.clone()))
                .map_err(|_| PluginError::Configuration(format!("unknown signing algorithm `{a}`")))
        })
        .collect()
}

#[async_trait]
impl SourcePlugin for OpenIdConnectPlugin {
    fn description(&self) -> &SourceTypeDescription {
        &self.description
    }

    fn validate(&self, cfg: &SourceConfig) -> Result<(), FieldErrors> {
        settings::validate(cfg).map(|_| ())
    }

    fn resolve_urls(&self, cfg: &SourceConfig) -> Result<ResolvedUrls, PluginError> {
        let s = OidcSettings::from_config(cfg).map_err(config_error)?;
        Ok(settings::explicit_urls(cfg, &s))
    }

    async fn authorization_redirect(
        &self,
        ctx: &PluginContext,
        cfg: &SourceConfig,
        req: AuthorizationRequest,
    ) -> Result<AuthorizationRedirect, PluginError> {
        let s = OidcSettings::from_config(cfg).map_err(config_error)?;
        let ep = settings::endpoints(ctx, cfg, &s).await?;
        let scopes = dedupe_scopes(["openid profile email", cfg.additional_scopes.as_str()]);
        authorize::build(&ep.authorization, cfg.consumer_key.trim(), &scopes, &req, &[])
    }

    async fn complete(
        &self,
        ctx: &PluginContext,
        cfg: &SourceConfig,
        cb: CallbackData,
    ) -> Result<UpstreamIdentity, PluginError> {
        let s = OidcSettings::from_config(cfg).map_err(config_error)?;
        let ep = settings::endpoints(ctx, cfg, &s).await?;
        let client_id = cfg.consumer_key.trim();
        let response = oauth::exchange_code(
            &ctx.http,
            &CodeExchange {
                token_url: &ep.token,
                client_id,
                credential: &cfg.credential,
                code: &cb.code,
                redirect_uri: &cb.redirect_uri,
                pkce_verifier: &cb.pkce_verifier,
            },
        )
        .await?;
        let tokens = oauth::upstream_tokens(&response);
        let id_token = response
            .id_token()
            .ok_or_else(|| PluginError::IdToken("the token response carried no id_token".to_owned()))?;
        let algorithms = signing_algs(&s)?;
        let raw = id_token.to_string();
        let peeked = idtoken::peek_and_pin(&raw, &algorithms)?;
        let jwks = ctx.jwks.jwks(&ctx.http, &ep.jwks, peeked.kid.as_deref()).await?;
        let rules = IdTokenRules {
            client_id,
            issuer: &ep.issuer,
            nonce: &cb.nonce,
            algorithms: &algorithms,
        };
        let claims = idtoken::verify(id_token, &raw, &peeked, &jwks, &rules)?;
        let sub = claims
            .get("sub")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        let info = match (&ep.userinfo, s.use_userinfo) {
            (Some(url), true) => merge_userinfo(
                &claims,
                fetch_userinfo(ctx, url, &tokens.access_token, &sub).await?,
            ),
            _ => claims.clone(),
        };
        Ok(UpstreamIdentity {
            identifier: sub,
            base: base_properties(&info),
            groups: groups_from(&info, &s.groups_claim),
            info,
            claims,
            tokens,
        })
    }

    /// The issuer is one trust domain the operator chose: an address counts when it marks it
    /// verified (`email_verified`, OIDC Core §5.1, as a boolean or the string `"true"`).
    fn verified_email(&self, _cfg: &SourceConfig, identity: &UpstreamIdentity) -> Option<String> {
        let info = &identity.info;
        let verified = match info.get("email_verified") {
            Some(Value::Bool(v)) => *v,
            Some(Value::String(v)) => v.eq_ignore_ascii_case("true"),
            _ => false,
        };
        info.get("email")
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|e| verified && !e.is_empty())
            .map(str::to_owned)
    }

    async fn validate_machine_token(
        &self,
        ctx: &PluginContext,
        cfg: &SourceConfig,
        token: &str,
        rules: &MachineTokenRules,
    ) -> Result<MachineIdentity, PluginError> {
        let reject = |d: String| PluginError::machine("invalid_grant", d);
        let s = OidcSettings::from_config(cfg).map_err(config_error)?;
        let ep = settings::endpoints(ctx, cfg, &s).await?;
        let (header, _) = peek_jwt(token).map_err(|e| reject(format!("the assertion is not a JWT: {e}")))?;
        let alg_name = header.get("alg").and_then(Value::as_str).unwrap_or_default();
        if !s.algorithms.iter().any(|a| a == alg_name) {
            return Err(reject(format!(
                "signing algorithm `{alg_name}` is not allowed (expected {})",
                s.algorithms.join(", ")
            )));
        }
        let alg = jsonwebtoken::Algorithm::from_str(alg_name)
            .map_err(|_| reject(format!("signing algorithm `{alg_name}` is not supported")))?;
        let kid = header
            .get("kid")
            .and_then(Value::as_str)
            .ok_or_else(|| reject("the assertion names no key (kid)".to_owned()))?;
        let jwks = ctx.jwks.jwks(&ctx.http, &ep.jwks, Some(kid)).await?;
        let jwk = crate::jwt::find_jwk(&jwks, kid).ok_or_else(|| {
            reject(format!(
                "the assertion is signed with an unknown key (kid `{kid}`)"
            ))
        })?;
        let audiences = if rules.audiences.is_empty() {
            vec![cfg.consumer_key.trim().to_owned()]
        } else {
            rules.audiences.clone()
        };
        let claims = crate::jwt::verify(token, jwk, alg, &audiences, std::slice::from_ref(&ep.issuer))?;
        let app_id = ["azp", "client_id", "appid", "sub"]
            .iter()
            .find_map(|c| claims.get(*c).and_then(Value::as_str))
            .ok_or_else(|| reject("the assertion names no client (azp/client_id/sub)".to_owned()))?
            .to_owned();
        rules.check_caller(&app_id, &claims).map_err(reject)?;
        Ok(MachineIdentity {
            app_id,
            tenant_id: None,
            claims,
        })
    }
}

async fn fetch_userinfo(
    ctx: &PluginContext,
    url: &str,
    token: &str,
    sub: &str,
) -> Result<Value, PluginError> {
    let resp = ctx
        .http
        .get(url)
        .bearer_auth(token)
        .header(reqwest::header::ACCEPT, "application/json")
        .send()
        .await
        .map_err(|e| PluginError::Network(format!("userinfo: {}", oauth::describe_reqwest(&e))))?;
    let status = resp.status().as_u16();
    let body = resp
        .text()
        .await
        .map_err(|e| PluginError::Network(format!("userinfo: {}", oauth::describe_reqwest(&e))))?;
    if !(200..300).contains(&status) {
        return Err(PluginError::Profile {
            status: Some(status),
            body_excerpt: excerpt(&body, 200),
        });
    }
    let info: Value = serde_json::from_str(&body).map_err(|_| PluginError::Profile {
        status: Some(status),
        body_excerpt: "the userinfo answer is not JSON".to_owned(),
    })?;
    // OIDC Core §5.3.2: the userinfo `sub` must be the id_token's.
    if info.get("sub").and_then(Value::as_str) != Some(sub) {
        return Err(PluginError::Profile {
            status: Some(status),
            body_excerpt: "the userinfo `sub` differs from the id_token's".to_owned(),
        });
    }
    Ok(info)
}

/// id_token claims overlaid with userinfo claims (userinfo is the fresher source).
fn merge_userinfo(claims: &Value, userinfo: Value) -> Value {
    let mut out = claims.clone();
    if let (Some(o), Value::Object(u)) = (out.as_object_mut(), userinfo) {
        o.extend(u);
    }
    out
}

fn base_properties(info: &Value) -> BaseProperties {
    let text = |k: &str| {
        info.get(k)
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
    };
    BaseProperties {
        username: text("preferred_username").or_else(|| text("nickname")),
        email: text("email"),
        name: text("name"),
    }
}

/// Groups from a claim: strings (ids/names) or objects with `id`/`name`.
fn groups_from(info: &Value, claim: &str) -> GroupSync {
    let Some(items) = info.get(claim).and_then(Value::as_array) else {
        return GroupSync::Off;
    };
    let groups = items
        .iter()
        .filter_map(|g| match g {
            Value::String(s) => Some(UpstreamGroup {
                identifier: s.clone(),
                name: s.clone(),
                info: GroupInfo::from_value(g)?,
            }),
            Value::Object(o) => {
                let id = o.get("id").and_then(Value::as_str)?;
                let name = o
                    .get("name")
                    .or_else(|| o.get("displayName"))
                    .and_then(Value::as_str)
                    .unwrap_or(id);
                Some(UpstreamGroup {
                    identifier: id.to_owned(),
                    name: name.to_owned(),
                    info: GroupInfo::from_value(g)?,
                })
            }
            _ => None,
        })
        .collect();
    GroupSync::Synced { groups }
}
