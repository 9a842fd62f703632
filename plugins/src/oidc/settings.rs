//! Settings of a generic OpenID Connect source and endpoint discovery.

use serde::Deserialize;
use serde_json::Value;

use crate::PluginError;
use crate::plugin::PluginContext;
use crate::types::{ClientCredential, FieldErrors, ResolvedUrls, SourceConfig};
use crate::util::{check_url_field, non_empty, parse_url};

const SUPPORTED_ALGS: &[&str] = &[
    "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384",
];

#[derive(Clone, Debug)]
pub(crate) struct OidcSettings {
    pub issuer: Option<String>,
    pub well_known_url: Option<String>,
    /// Accepted id_token / machine-token signing algorithms (default RS256 only).
    pub algorithms: Vec<String>,
    pub groups_claim: String,
    pub use_userinfo: bool,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct Raw {
    issuer: Option<String>,
    well_known_url: Option<String>,
    signing_algorithms: Option<Vec<String>>,
    groups_claim: Option<String>,
    use_userinfo: Option<bool>,
}

impl OidcSettings {
    pub fn from_config(cfg: &SourceConfig) -> Result<Self, FieldErrors> {
        let mut errors = FieldErrors::default();
        let raw: Raw = match &cfg.settings {
            Value::Null => Raw::default(),
            v => serde_json::from_value(v.clone()).unwrap_or_else(|e| {
                errors.add("settings", e.to_string());
                Raw::default()
            }),
        };
        let issuer = non_empty(raw.issuer.as_ref()).map(str::to_owned);
        let well_known_url = non_empty(raw.well_known_url.as_ref()).map(str::to_owned);
        check_url_field(&mut errors, "settings.issuer", issuer.as_deref());
        check_url_field(&mut errors, "settings.well_known_url", well_known_url.as_deref());
        if issuer.is_none() && well_known_url.is_none() {
            errors.add(
                "settings.issuer",
                "an issuer (or a well-known discovery URL) is required",
            );
        }
        let algorithms = raw.signing_algorithms.unwrap_or_else(|| vec!["RS256".to_owned()]);
        if algorithms.is_empty() {
            errors.add(
                "settings.signing_algorithms",
                "at least one algorithm is required",
            );
        }
        for a in &algorithms {
            if !SUPPORTED_ALGS.contains(&a.as_str()) {
                errors.add(
                    "settings.signing_algorithms",
                    format!("`{a}` is not allowed ({})", SUPPORTED_ALGS.join(", ")),
                );
            }
        }
        errors.into_result()?;
        Ok(Self {
            issuer,
            well_known_url,
            algorithms,
            groups_claim: non_empty(raw.groups_claim.as_ref())
                .unwrap_or("groups")
                .to_owned(),
            use_userinfo: raw.use_userinfo.unwrap_or(true),
        })
    }

    fn discovery_url(&self) -> Option<String> {
        self.well_known_url.clone().or_else(|| {
            self.issuer
                .as_ref()
                .map(|i| format!("{}/.well-known/openid-configuration", i.trim_end_matches('/')))
        })
    }
}

pub(crate) fn validate(cfg: &SourceConfig) -> Result<OidcSettings, FieldErrors> {
    let mut errors = FieldErrors::default();
    if cfg.consumer_key.trim().is_empty() {
        errors.add("consumer_key", "the client id is required");
    }
    if let ClientCredential::Secret(s) = &cfg.credential
        && s.trim().is_empty()
    {
        errors.add("consumer_secret", "the client secret is required");
    }
    for (field, value) in [
        ("authorization_url", &cfg.authorization_url),
        ("access_token_url", &cfg.access_token_url),
        ("profile_url", &cfg.profile_url),
        ("oidc_jwks_url", &cfg.oidc_jwks_url),
    ] {
        check_url_field(&mut errors, field, value.as_deref());
    }
    match OidcSettings::from_config(cfg) {
        Ok(s) => errors.into_result().map(|()| s),
        Err(more) => {
            for (f, ms) in more.0 {
                for m in ms {
                    errors.add(f.clone(), m);
                }
            }
            Err(errors)
        }
    }
}

pub(crate) fn explicit_urls(cfg: &SourceConfig, s: &OidcSettings) -> ResolvedUrls {
    let pick = |v: &Option<String>| non_empty(v.as_ref()).map(str::to_owned);
    ResolvedUrls {
        authorization_url: pick(&cfg.authorization_url),
        access_token_url: pick(&cfg.access_token_url),
        profile_url: pick(&cfg.profile_url),
        oidc_jwks_url: pick(&cfg.oidc_jwks_url),
        graph_base: None,
        issuer: s.issuer.clone(),
    }
}

/// The endpoints in use: explicit URLs win, the rest comes from discovery.
#[derive(Clone, Debug)]
pub(crate) struct Endpoints {
    pub issuer: String,
    pub authorization: String,
    pub token: String,
    pub jwks: String,
    pub userinfo: Option<String>,
}

pub(crate) async fn endpoints(
    ctx: &PluginContext,
    cfg: &SourceConfig,
    s: &OidcSettings,
) -> Result<Endpoints, PluginError> {
    let explicit = explicit_urls(cfg, s);
    let complete = explicit.authorization_url.is_some()
        && explicit.access_token_url.is_some()
        && explicit.oidc_jwks_url.is_some()
        && s.issuer.is_some();
    let doc = if complete {
        None
    } else {
        let url = s
            .discovery_url()
            .ok_or_else(|| PluginError::Configuration("no issuer configured".to_owned()))?;
        parse_url("discovery URL", &url)?;
        Some(ctx.jwks.document(&ctx.http, &url).await?)
    };
    let from_doc = |key: &str| {
        doc.as_ref()
            .and_then(|d| d.get(key))
            .and_then(Value::as_str)
            .map(str::to_owned)
    };
    let discovered_issuer = from_doc("issuer");
    if let (Some(configured), Some(found)) = (&s.issuer, &discovered_issuer)
        && configured != found
    {
        return Err(PluginError::Metadata(format!(
            "the discovery document names issuer {found}, not the configured {configured}"
        )));
    }
    let need = |v: Option<String>, what: &str| {
        v.ok_or_else(|| PluginError::Metadata(format!("no {what} is configured or discovered")))
    };
    let ep = Endpoints {
        issuer: need(s.issuer.clone().or(discovered_issuer), "issuer")?,
        authorization: need(
            explicit
                .authorization_url
                .or_else(|| from_doc("authorization_endpoint")),
            "authorization endpoint",
        )?,
        token: need(
            explicit.access_token_url.or_else(|| from_doc("token_endpoint")),
            "token endpoint",
        )?,
        jwks: need(
            explicit.oidc_jwks_url.or_else(|| from_doc("jwks_uri")),
            "JWKS URI",
        )?,
        userinfo: explicit.profile_url.or_else(|| from_doc("userinfo_endpoint")),
    };
    for (what, url) in [
        ("authorization endpoint", &ep.authorization),
        ("token endpoint", &ep.token),
        ("JWKS URI", &ep.jwks),
    ] {
        parse_url(what, url)?;
    }
    if let Some(u) = &ep.userinfo {
        parse_url("userinfo endpoint", u)?;
    }
    Ok(ep)
}

pub(crate) fn schema() -> Value {
    serde_json::json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "OpenID Connect source settings",
        "type": "object",
        "additionalProperties": false,
        "properties": {
            "issuer": {"type": "string", "format": "uri", "description": "The provider's issuer; id_tokens must carry exactly this `iss`. Discovery is read from `<issuer>/.well-known/openid-configuration` unless well_known_url is set."},
            "well_known_url": {"type": "string", "format": "uri", "description": "Discovery document URL, when it is not under the issuer."},
            "signing_algorithms": {"type": "array", "items": {"enum": SUPPORTED_ALGS}, "default": ["RS256"], "description": "Accepted JWS algorithms; HS* and `none` are never accepted."},
            "groups_claim": {"type": "string", "default": "groups", "description": "Claim (id_token or userinfo) holding the user's groups: strings, or objects with id/name."},
            "use_userinfo": {"type": "boolean", "default": true, "description": "Fetch the userinfo endpoint and overlay its claims on the id_token's."}
        }
    })
}
