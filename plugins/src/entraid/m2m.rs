//! Validation of Entra-issued app tokens (client credentials, `scope=api://<client id>/.default`)
//! for Gatehouse's machine-to-machine exchange (DESIGN §8).

use serde_json::Value;

use super::login::{check_key_issuer, domain_issuer, tenant_of_issuer};
use super::settings::{self, Tenant};
use super::settings_or_config_error;
use crate::PluginError;
use crate::jwt::{find_jwk, verify_rs256};
use crate::plugin::PluginContext;
use crate::types::{MachineIdentity, MachineTokenRules, SourceConfig};
use crate::util::{is_guid, origin, parse_url, peek_jwt};

/// Audiences of Microsoft Graph tokens (never verifiable by anyone but Graph).
const GRAPH_AUDIENCES: &[&str] = &["00000003-0000-0000-c000-000000000000"];

fn reject(description: impl Into<String>) -> PluginError {
    PluginError::machine("invalid_grant", description)
}

pub(crate) async fn validate(
    ctx: &PluginContext,
    cfg: &SourceConfig,
    token: &str,
    rules: &MachineTokenRules,
) -> Result<MachineIdentity, PluginError> {
    let s = settings_or_config_error(cfg)?;
    let urls = settings::resolve(cfg, &s)?;
    let client_id = cfg.consumer_key.trim();
    let (header, payload) =
        peek_jwt(token).map_err(|e| reject(format!("the assertion is not a JWT: {e}")))?;

    let aud = payload.get("aud").and_then(Value::as_str).unwrap_or_default();
    let graph_aud = GRAPH_AUDIENCES.contains(&aud)
        || aud
            .trim_end_matches('/')
            .eq_ignore_ascii_case(s.cloud.graph_origin())
        || urls
            .graph_base
            .as_deref()
            .is_some_and(|g| aud.trim_end_matches('/') == g);
    if header.get("nonce").is_some() || graph_aud {
        return Err(reject(format!(
            "this is a Microsoft Graph access token, which only Graph can validate; request the \
             token with scope=api://{client_id}/.default"
        )));
    }
    let alg = header.get("alg").and_then(Value::as_str).unwrap_or_default();
    if alg != "RS256" {
        return Err(reject(format!(
            "signing algorithm `{alg}` is not allowed (expected RS256)"
        )));
    }
    let kid = header
        .get("kid")
        .and_then(Value::as_str)
        .ok_or_else(|| reject("the assertion names no signing key (kid)"))?;

    let tid = payload
        .get("tid")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_ascii_lowercase();
    if !is_guid(&tid) {
        return Err(reject("the assertion has no tenant (tid)"));
    }
    let token_url = urls.access_token_url.clone().unwrap_or_default();
    let sts = origin(&parse_url("access token URL", &token_url)?);
    let home = match &s.tenant {
        Tenant::Guid(t) => Some(t.clone()),
        Tenant::Domain(d) => tenant_of_issuer(&domain_issuer(ctx, &sts, d).await?),
        Tenant::Common | Tenant::Organizations => None,
    };
    let tenant_ok = match &home {
        Some(h) => *h == tid || s.allowed_tenants.contains(&tid),
        // A multi-tenant source names the tenants it federates; without that list, any
        // tenant in the world could mint a token (the server refuses such a configuration on
        // save; this re-check covers rows written before that rule).
        None if s.allowed_tenants.is_empty() => {
            return Err(reject(format!(
                "the source `{}` is multi-tenant and has no settings.allowed_tenants, so it \
                 cannot federate machine tokens; set allowed_tenants",
                cfg.slug
            )));
        }
        None => s.allowed_tenants.contains(&tid),
    };
    if !tenant_ok {
        return Err(reject(format!(
            "tokens of tenant {tid} are not accepted by this source"
        )));
    }
    let mut issuers = vec![format!("{sts}/{tid}/v2.0")];
    issuers.extend(s.cloud.v1_issuer_origins().iter().map(|o| format!("{o}/{tid}/")));
    let audiences = if rules.audiences.is_empty() {
        vec![format!("api://{client_id}"), client_id.to_owned()]
    } else {
        rules.audiences.clone()
    };

    let jwks_url = urls.oidc_jwks_url.clone().unwrap_or_default();
    let jwks = ctx.jwks.jwks(&ctx.http, &jwks_url, Some(kid)).await?;
    let jwk = find_jwk(&jwks, kid).ok_or_else(|| {
        reject(format!(
            "the assertion is signed with an unknown key (kid `{kid}`)"
        ))
    })?;
    let claims = verify_rs256(token, jwk, &audiences, &issuers)?;
    if claims.get("ver").and_then(Value::as_str) == Some("2.0") {
        check_key_issuer(&jwks, Some(kid), &claims)
            .map_err(|e| reject(e.to_string().replace("the identity token was rejected: ", "")))?;
    }

    let app_id = claims
        .get("azp")
        .or_else(|| claims.get("appid"))
        .and_then(Value::as_str)
        .ok_or_else(|| reject("the assertion names no calling application (azp/appid)"))?
        .to_owned();
    check_app_only(&claims)?;
    rules.check_caller(&app_id, &claims).map_err(reject)?;
    Ok(MachineIdentity {
        app_id,
        tenant_id: Some(tid),
        claims,
    })
}

/// Only app-only tokens may be exchanged: a token with `scp` was issued to an application on
/// behalf of a signed-in user (delegated), and `idtyp`, when Entra sends it, must say `app`.
fn check_app_only(claims: &Value) -> Result<(), PluginError> {
    if claims.get("scp").is_some() {
        return Err(reject(
            "this is a delegated (user) token: it carries `scp`; only app-only client-credentials \
             tokens can be exchanged",
        ));
    }
    match claims.get("idtyp").and_then(Value::as_str) {
        None | Some("app") => Ok(()),
        Some(other) => Err(reject(format!(
            "the token's idtyp is `{other}`; only app-only tokens (idtyp `app`) can be exchanged"
        ))),
    }
}
