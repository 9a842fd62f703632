//! Completing an Entra ID login: code exchange, id_token validation with Entra's tenant and
//! issuer rules, Graph profile, groups.

use openidconnect::TokenResponse;
use openidconnect::core::CoreJwsSigningAlgorithm;
use serde_json::Value;
use tokio::time::Instant;

use super::graph::{self, GraphError};
use super::settings::{self, EntraSettings, MSA_TENANT, Tenant};
use super::settings_or_config_error;
use crate::PluginError;
use crate::idtoken::{self, IdTokenRules};
use crate::oauth::{self, CodeExchange};
use crate::plugin::PluginContext;
use crate::types::{BaseProperties, CallbackData, SourceConfig, UpstreamIdentity};
use crate::util::{is_guid, origin, parse_url};

pub(crate) async fn complete(
    ctx: &PluginContext,
    cfg: &SourceConfig,
    cb: &CallbackData,
) -> Result<UpstreamIdentity, PluginError> {
    let s = settings_or_config_error(cfg)?;
    let urls = settings::resolve(cfg, &s)?;
    let token_url = urls.access_token_url.clone().unwrap_or_default();
    let client_id = cfg.consumer_key.trim();
    let response = oauth::exchange_code(
        &ctx.http,
        &CodeExchange {
            token_url: &token_url,
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

    let algorithms = [CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256];
    let raw = id_token.to_string();
    let peeked = idtoken::peek_and_pin(&raw, &algorithms)?;
    let sts = origin(&parse_url("access token URL", &token_url)?);
    let tid = peeked
        .payload
        .get("tid")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_ascii_lowercase();
    let issuer = expected_issuer(ctx, &s, &sts, &tid).await?;
    let jwks_url = urls.oidc_jwks_url.clone().unwrap_or_default();
    let jwks = ctx.jwks.jwks(&ctx.http, &jwks_url, peeked.kid.as_deref()).await?;
    let rules = IdTokenRules {
        client_id,
        issuer: &issuer,
        nonce: &cb.nonce,
        algorithms: &algorithms,
    };
    let claims = idtoken::verify(id_token, &raw, &peeked, &jwks, &rules)?;
    check_tenant(&s, &claims, &issuer)?;
    check_key_issuer(&jwks, peeked.kid.as_deref(), &claims)?;

    let graph_base = urls.graph_base.clone().unwrap_or_default();
    let profile_url =
        graph::profile_url_with_select(&urls.profile_url.unwrap_or_default(), &s.profile_select);
    let deadline = Instant::now() + s.group_fetch_budget;
    let info: Value = graph::get_json(&ctx.http, &profile_url, &tokens.access_token, deadline)
        .await
        .map_err(|e| match e {
            GraphError::Status { status, detail } => PluginError::Profile {
                status: Some(status),
                body_excerpt: detail,
            },
            GraphError::Network(why) => PluginError::Network(format!("Microsoft Graph: {why}")),
            other => PluginError::Profile {
                status: None,
                body_excerpt: other.to_string(),
            },
        })?;
    let identifier = info
        .get("id")
        .and_then(Value::as_str)
        .filter(|id| !id.is_empty())
        .ok_or_else(|| PluginError::Profile {
            status: None,
            body_excerpt: "the profile has no `id`".to_owned(),
        })?
        .to_owned();
    // The Graph token and the id_token must describe the same person.
    if let Some(oid) = claims.get("oid").and_then(Value::as_str)
        && !oid.eq_ignore_ascii_case(&identifier)
    {
        return Err(PluginError::IdToken(
            "the id_token `oid` does not match the Graph profile id".to_owned(),
        ));
    }
    let base = base_properties(&info);
    let groups = graph::fetch_groups(
        &ctx.http,
        &graph_base,
        &tokens.access_token,
        s.group_sync,
        s.group_fetch_budget,
    )
    .await;
    Ok(UpstreamIdentity {
        identifier,
        info,
        base,
        groups,
        claims,
        tokens,
    })
}

/// username = UPN, email = `mail`, else `otherMails[0]`, name = `displayName`.
pub(crate) fn base_properties(info: &Value) -> BaseProperties {
    let text = |v: Option<&Value>| {
        v.and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
    };
    BaseProperties {
        username: text(info.get("userPrincipalName")),
        email: text(info.get("mail")).or_else(|| text(info.get("otherMails").and_then(|m| m.get(0)))),
        name: text(info.get("displayName")),
    }
}

/// The address Gatehouse may link accounts by: the Graph `mail` of a *member* of a tenant this
/// source is restricted to. A tenant's admins set their members' `mail` without proof of
/// ownership, so only tenants the operator chose (a single-tenant source, or `allowed_tenants`)
/// are trusted for it. A guest's `mail` and `otherMails` were typed in by whoever invited them
/// and are never verified by the resource tenant (the nOAuth pattern); personal Microsoft
/// accounts are not tenant members. `userType` must be in `profile_select` (it is by default),
/// otherwise nothing counts as verified.
pub(crate) fn verified_email(s: &EntraSettings, identity: &UpstreamIdentity) -> Option<String> {
    if s.tenant.is_multi() && s.allowed_tenants.is_empty() {
        return None;
    }
    let tid = identity.claims.get("tid").and_then(Value::as_str)?;
    if tid.eq_ignore_ascii_case(MSA_TENANT) {
        return None;
    }
    if identity.info.get("userType").and_then(Value::as_str) != Some("Member") {
        return None;
    }
    identity
        .info
        .get("mail")
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|m| !m.is_empty())
        .map(str::to_owned)
}

/// The exact issuer the id_token must carry.
///
/// Domain-form tenants: the issuer is taken from that tenant's discovery document (it names
/// the tenant GUID); a token's own `tid` is never trusted to say which tenant a domain is.
pub(crate) async fn expected_issuer(
    ctx: &PluginContext,
    s: &EntraSettings,
    sts: &str,
    tid: &str,
) -> Result<String, PluginError> {
    match &s.tenant {
        Tenant::Guid(t) => Ok(format!("{sts}/{t}/v2.0")),
        Tenant::Common | Tenant::Organizations => {
            if !is_guid(tid) {
                return Err(PluginError::IdToken(
                    "the token's `tid` is not a tenant GUID".to_owned(),
                ));
            }
            if s.tenant == Tenant::Organizations && tid == MSA_TENANT {
                return Err(PluginError::IdToken(
                    "personal Microsoft accounts are not accepted (organizations)".to_owned(),
                ));
            }
            Ok(format!("{sts}/{tid}/v2.0"))
        }
        Tenant::Domain(d) => domain_issuer(ctx, sts, d).await,
    }
}

pub(crate) async fn domain_issuer(
    ctx: &PluginContext,
    sts: &str,
    domain: &str,
) -> Result<String, PluginError> {
    let url = format!("{sts}/{domain}/v2.0/.well-known/openid-configuration");
    let doc = ctx.jwks.document(&ctx.http, &url).await?;
    let issuer = doc.get("issuer").and_then(Value::as_str).unwrap_or_default();
    let guid = tenant_of_issuer(issuer).unwrap_or_default();
    if !is_guid(&guid) {
        return Err(PluginError::Metadata(format!(
            "{url} names no tenant GUID in its issuer"
        )));
    }
    Ok(issuer.to_owned())
}

/// The `{tid}` segment of `https://host/{tid}/v2.0` or `https://sts.windows.net/{tid}/`.
pub(crate) fn tenant_of_issuer(issuer: &str) -> Option<String> {
    let url = url::Url::parse(issuer).ok()?;
    url.path_segments()?.next().map(str::to_ascii_lowercase)
}

/// `tid` must be a GUID equal to the issuer's tenant and pass `allowed_tenants`.
fn check_tenant(s: &EntraSettings, claims: &Value, issuer: &str) -> Result<(), PluginError> {
    let tid = claims
        .get("tid")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_ascii_lowercase();
    if !is_guid(&tid) || tenant_of_issuer(issuer).as_deref() != Some(tid.as_str()) {
        return Err(PluginError::IdToken(
            "the token's `tid` does not match its issuer".to_owned(),
        ));
    }
    if !s.allowed_tenants.is_empty() && !s.allowed_tenants.contains(&tid) {
        return Err(PluginError::IdToken(format!(
            "tenant {tid} is not allowed to sign in to this source"
        )));
    }
    Ok(())
}

/// Entra v2 keys carry an `issuer`: a templated one fits any tenant, a concrete one only itself.
pub(crate) fn check_key_issuer(jwks: &Value, kid: Option<&str>, claims: &Value) -> Result<(), PluginError> {
    let (Some(kid), Some(iss)) = (kid, claims.get("iss").and_then(Value::as_str)) else {
        return Ok(());
    };
    let Some(key_issuer) = crate::jwt::find_jwk(jwks, kid)
        .and_then(|k| k.get("issuer"))
        .and_then(Value::as_str)
    else {
        return Ok(());
    };
    let tid = claims.get("tid").and_then(Value::as_str).unwrap_or_default();
    if key_issuer.replace("{tenantid}", tid) != iss {
        return Err(PluginError::IdToken(format!(
            "key `{kid}` may not sign tokens of issuer {iss}"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::types::{ClientCredential, GroupSync, UpstreamTokens};

    const CONTOSO: &str = "aaaabbbb-0000-cccc-1111-dddd2222eeee";

    fn settings(value: Value) -> EntraSettings {
        let cfg = SourceConfig {
            slug: "entra".into(),
            name: "Entra".into(),
            consumer_key: "00001111-aaaa-2222-bbbb-3333cccc4444".into(),
            credential: ClientCredential::Secret("s".into()),
            additional_scopes: String::new(),
            authorization_url: None,
            access_token_url: None,
            profile_url: None,
            oidc_jwks_url: None,
            settings: value,
        };
        EntraSettings::from_config(&cfg).unwrap()
    }

    fn identity(tid: &str, info: Value) -> UpstreamIdentity {
        UpstreamIdentity {
            identifier: "id".into(),
            info,
            base: BaseProperties::default(),
            groups: GroupSync::Off,
            claims: json!({"tid": tid}),
            tokens: UpstreamTokens {
                access_token: String::new(),
                refresh_token: None,
                expires_at: None,
                id_token: None,
            },
        }
    }

    #[test]
    fn only_a_members_mail_in_a_chosen_tenant_is_verified() {
        let single = settings(json!({"tenant": CONTOSO}));
        let member = json!({"userType": "Member", "mail": "a@contoso.com", "otherMails": ["x@y.z"]});
        assert_eq!(
            verified_email(&single, &identity(CONTOSO, member.clone())).as_deref(),
            Some("a@contoso.com")
        );
        // Guests, members without `mail` (otherMails never count), unknown userType.
        let guest = json!({"userType": "Guest", "mail": "g@home.example", "otherMails": ["g@home.example"]});
        assert_eq!(verified_email(&single, &identity(CONTOSO, guest)), None);
        let no_mail = json!({"userType": "Member", "mail": null, "otherMails": ["x@y.z"]});
        assert_eq!(verified_email(&single, &identity(CONTOSO, no_mail)), None);
        let untyped = json!({"mail": "a@contoso.com"});
        assert_eq!(verified_email(&single, &identity(CONTOSO, untyped)), None);
        // An open multi-tenant source trusts nobody's mail; a restricted one trusts its tenants.
        let open = settings(json!({"tenant": "common"}));
        assert_eq!(verified_email(&open, &identity(CONTOSO, member.clone())), None);
        let restricted = settings(json!({"tenant": "common", "allowed_tenants": [CONTOSO]}));
        assert!(verified_email(&restricted, &identity(CONTOSO, member.clone())).is_some());
        // Personal Microsoft accounts are no tenant's members.
        assert_eq!(verified_email(&restricted, &identity(MSA_TENANT, member)), None);
    }
}
