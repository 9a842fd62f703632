//! Entra ID source settings: parsing, validation, clouds, tenants and URL resolution.

use std::time::Duration;

use chrono::NaiveDate;
use serde::Deserialize;
use serde_json::Value;

use crate::PluginError;
use crate::types::{FieldErrors, ResolvedUrls, SourceConfig};
use crate::util::{check_url_field, is_guid, non_empty, origin, parse_url};

/// The tenant id of personal Microsoft accounts (`consumers`).
pub(crate) const MSA_TENANT: &str = "9188040d-6c67-4c5b-b112-36a304b66dad";
const DEFAULT_BUDGET_MS: u64 = 10_000;

/// Default `$select` of the Graph `/me` call: the 11 default properties plus what base
/// properties and mappings need (guests: `otherMails`, `userType`).
pub(crate) const DEFAULT_PROFILE_SELECT: &str = "id,userPrincipalName,displayName,givenName,surname,mail,\
otherMails,jobTitle,department,officeLocation,mobilePhone,businessPhones,preferredLanguage,userType,\
accountEnabled,employeeId,companyName,onPremisesSamAccountName";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cloud {
    Global,
    UsGov,
    China,
}

impl Cloud {
    pub fn login_origin(self) -> &'static str {
        match self {
            Self::Global => "https://login.microsoftonline.com",
            Self::UsGov => "https://login.microsoftonline.us",
            Self::China => "https://login.chinacloudapi.cn",
        }
    }

    pub fn graph_origin(self) -> &'static str {
        match self {
            Self::Global => "https://graph.microsoft.com",
            Self::UsGov => "https://graph.microsoft.us",
            Self::China => "https://microsoftgraph.chinacloudapi.cn",
        }
    }

    /// Origins of v1 (`ver` 1.0) token issuers, `{origin}/{tid}/`. US Government v1 tokens
    /// are documented with both hosts; both are accepted there.
    pub fn v1_issuer_origins(self) -> &'static [&'static str] {
        match self {
            Self::Global => &["https://sts.windows.net"],
            Self::UsGov => &["https://sts.windows.net", "https://login.microsoftonline.us"],
            Self::China => &["https://sts.chinacloudapi.cn"],
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Tenant {
    Guid(String),
    /// A verified domain; its GUID issuer comes from the tenant's discovery document.
    Domain(String),
    Common,
    Organizations,
}

impl Tenant {
    fn parse(value: &str) -> Result<Self, String> {
        let v = value.trim();
        match v.to_ascii_lowercase().as_str() {
            "common" => Ok(Self::Common),
            "organizations" => Ok(Self::Organizations),
            "consumers" => {
                Err("`consumers` (personal accounts only) is not supported; use `common`".to_owned())
            }
            lower if is_guid(lower) => Ok(Self::Guid(lower.to_owned())),
            lower
                if lower.contains('.')
                    && lower.split('.').all(|l| {
                        !l.is_empty() && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
                    }) =>
            {
                Ok(Self::Domain(lower.to_owned()))
            }
            _ => Err(format!(
                "`{v}` is not a tenant GUID, a domain, `common` or `organizations`"
            )),
        }
    }

    /// The `{tenant}` path segment.
    pub fn segment(&self) -> &str {
        match self {
            Self::Guid(s) | Self::Domain(s) => s,
            Self::Common => "common",
            Self::Organizations => "organizations",
        }
    }

    pub fn is_multi(&self) -> bool {
        matches!(self, Self::Common | Self::Organizations)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GroupSyncMode {
    Off,
    Direct,
    Transitive,
}

/// Parsed, validated `settings` of an Entra ID source.
#[derive(Clone, Debug)]
pub struct EntraSettings {
    pub tenant: Tenant,
    pub cloud: Cloud,
    pub group_sync: GroupSyncMode,
    /// Lower-case tenant GUIDs; empty = no restriction beyond the tenant URL.
    pub allowed_tenants: Vec<String>,
    pub deny_on_group_error: bool,
    pub group_fetch_budget: Duration,
    pub secret_expires: Option<NaiveDate>,
    pub profile_select: String,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct Raw {
    tenant: Option<String>,
    cloud: Option<String>,
    group_sync: Option<String>,
    allowed_tenants: Option<Vec<String>>,
    on_group_error: Option<String>,
    group_fetch_budget_ms: Option<u64>,
    secret_expires: Option<String>,
    profile_select: Option<String>,
}

impl EntraSettings {
    /// Parses `cfg.settings`, collecting every problem as a field error.
    pub fn from_config(cfg: &SourceConfig) -> Result<Self, FieldErrors> {
        let mut errors = FieldErrors::default();
        let raw: Raw = match &cfg.settings {
            Value::Null => Raw::default(),
            v => serde_json::from_value(v.clone()).unwrap_or_else(|e| {
                errors.add("settings", e.to_string());
                Raw::default()
            }),
        };
        let cloud = match raw.cloud.as_deref().map(str::trim).unwrap_or("global") {
            "global" | "" => Cloud::Global,
            "usgov" => Cloud::UsGov,
            "china" => Cloud::China,
            other => {
                errors.add(
                    "settings.cloud",
                    format!("unknown cloud `{other}` (global, usgov or china)"),
                );
                Cloud::Global
            }
        };
        let tenant_source = non_empty(raw.tenant.as_ref())
            .map(str::to_owned)
            .or_else(|| tenant_from_urls(cfg));
        let tenant = match tenant_source.as_deref().map(Tenant::parse) {
            None => Tenant::Common,
            Some(Ok(t)) => t,
            Some(Err(e)) => {
                errors.add("settings.tenant", e);
                Tenant::Common
            }
        };
        let group_scope = format!("{}/GroupMember.Read.All", cloud.graph_origin());
        let group_sync = match raw.group_sync.as_deref().map(str::trim) {
            Some("off") => GroupSyncMode::Off,
            Some("direct") => GroupSyncMode::Direct,
            Some("transitive") => GroupSyncMode::Transitive,
            None | Some("") => {
                // Exact scope tokens, not a substring test (authentik's quirk).
                let on = cfg.additional_scopes.split_whitespace().any(|s| {
                    s.eq_ignore_ascii_case(&group_scope) || s.eq_ignore_ascii_case("GroupMember.Read.All")
                });
                if on {
                    GroupSyncMode::Transitive
                } else {
                    GroupSyncMode::Off
                }
            }
            Some(other) => {
                errors.add(
                    "settings.group_sync",
                    format!("unknown value `{other}` (off, direct or transitive)"),
                );
                GroupSyncMode::Off
            }
        };
        let mut allowed_tenants = Vec::new();
        for t in raw.allowed_tenants.unwrap_or_default() {
            let t = t.trim().to_ascii_lowercase();
            if is_guid(&t) {
                allowed_tenants.push(t);
            } else {
                errors.add("settings.allowed_tenants", format!("`{t}` is not a tenant GUID"));
            }
        }
        let deny_on_group_error = match raw.on_group_error.as_deref().map(str::trim) {
            None | Some("") | Some("keep") => false,
            Some("deny") => true,
            Some(other) => {
                errors.add(
                    "settings.on_group_error",
                    format!("unknown value `{other}` (keep or deny)"),
                );
                false
            }
        };
        let budget_ms = raw.group_fetch_budget_ms.unwrap_or(DEFAULT_BUDGET_MS);
        if !(100..=120_000).contains(&budget_ms) {
            errors.add("settings.group_fetch_budget_ms", "must be between 100 and 120000");
        }
        let secret_expires = non_empty(raw.secret_expires.as_ref()).and_then(|d| {
            NaiveDate::parse_from_str(d, "%Y-%m-%d")
                .map_err(|_| {
                    errors.add(
                        "settings.secret_expires",
                        format!("`{d}` is not a date (YYYY-MM-DD)"),
                    )
                })
                .ok()
        });
        let profile_select = non_empty(raw.profile_select.as_ref())
            .unwrap_or(DEFAULT_PROFILE_SELECT)
            .replace(char::is_whitespace, "");
        errors.into_result()?;
        Ok(Self {
            tenant,
            cloud,
            group_sync,
            allowed_tenants,
            deny_on_group_error,
            group_fetch_budget: Duration::from_millis(budget_ms),
            secret_expires,
            profile_select,
        })
    }

    /// Graph scope URI for this cloud, e.g. `https://graph.microsoft.com/User.Read`.
    pub fn graph_scope(&self, name: &str) -> String {
        format!("{}/{name}", self.cloud.graph_origin())
    }
}

/// The tenant segment of an explicit token or authorization URL (`/{tenant}/oauth2/...`).
fn tenant_from_urls(cfg: &SourceConfig) -> Option<String> {
    [cfg.access_token_url.as_ref(), cfg.authorization_url.as_ref()]
        .into_iter()
        .filter_map(non_empty)
        .filter_map(|u| url::Url::parse(u).ok())
        .find_map(|u| {
            u.path_segments()?
                .next()
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
        })
}

/// Field checks beyond the settings object.
pub(crate) fn validate(cfg: &SourceConfig) -> Result<EntraSettings, FieldErrors> {
    let mut errors = FieldErrors::default();
    if cfg.consumer_key.trim().is_empty() {
        errors.add("consumer_key", "the Application (client) ID is required");
    } else if !is_guid(&cfg.consumer_key.trim().to_ascii_lowercase()) {
        errors.add("consumer_key", "an Entra Application (client) ID is a GUID");
    }
    match &cfg.credential {
        crate::ClientCredential::Secret(s) if s.trim().is_empty() => {
            errors.add("consumer_secret", "the client secret is required");
        }
        crate::ClientCredential::Secret(_) => {}
        crate::ClientCredential::PrivateKeyJwt {
            private_key_pem,
            certificate_pem,
        } => {
            if jsonwebtoken::EncodingKey::from_rsa_pem(private_key_pem.as_bytes()).is_err() {
                errors.add("private_key", "must be an RSA private key in PEM form");
            }
            if crate::oauth::x5t_s256(certificate_pem).is_err() {
                errors.add("certificate", "must be a PEM certificate");
            }
        }
    }
    for (field, value) in [
        ("authorization_url", &cfg.authorization_url),
        ("access_token_url", &cfg.access_token_url),
        ("profile_url", &cfg.profile_url),
        ("oidc_jwks_url", &cfg.oidc_jwks_url),
    ] {
        check_url_field(&mut errors, field, value.as_deref());
    }
    let settings = EntraSettings::from_config(cfg);
    match settings {
        Ok(s) if errors.is_empty() => Ok(s),
        Ok(_) => Err(errors),
        Err(more) => {
            for (field, messages) in more.0 {
                for m in messages {
                    errors.add(field.clone(), m);
                }
            }
            Err(errors)
        }
    }
}

/// Effective URLs: explicit ones win, the rest come from tenant and cloud.
pub(crate) fn resolve(cfg: &SourceConfig, s: &EntraSettings) -> Result<ResolvedUrls, PluginError> {
    let login = s.cloud.login_origin();
    let seg = s.tenant.segment();
    let pick = |explicit: &Option<String>, default: String| {
        non_empty(explicit.as_ref()).map(str::to_owned).unwrap_or(default)
    };
    let authorization_url = pick(
        &cfg.authorization_url,
        format!("{login}/{seg}/oauth2/v2.0/authorize"),
    );
    let access_token_url = pick(&cfg.access_token_url, format!("{login}/{seg}/oauth2/v2.0/token"));
    let jwks_url = pick(&cfg.oidc_jwks_url, format!("{login}/{seg}/discovery/v2.0/keys"));
    let profile_url = pick(&cfg.profile_url, format!("{}/v1.0/me", s.cloud.graph_origin()));
    let graph_base = origin(&parse_url("profile URL", &profile_url)?);
    // The issuer lives on the STS that issues our tokens: the token URL's origin.
    let sts = origin(&parse_url("access token URL", &access_token_url)?);
    let issuer = match &s.tenant {
        Tenant::Guid(t) => Some(format!("{sts}/{t}/v2.0")),
        Tenant::Common | Tenant::Organizations => Some(format!("{sts}/{{tenantid}}/v2.0")),
        Tenant::Domain(_) => None,
    };
    Ok(ResolvedUrls {
        authorization_url: Some(authorization_url),
        access_token_url: Some(access_token_url),
        profile_url: Some(profile_url),
        oidc_jwks_url: Some(jwks_url),
        graph_base: Some(graph_base),
        issuer,
    })
}

pub(crate) fn schema() -> Value {
    serde_json::json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "Entra ID source settings",
        "type": "object",
        "additionalProperties": false,
        "properties": {
            "tenant": {"type": "string", "description": "Directory (tenant) ID GUID, a verified domain (contoso.onmicrosoft.com), `common` or `organizations`. Empty: taken from an explicit token URL, else `common`. Used to derive the URLs left empty and the expected issuer."},
            "cloud": {"type": "string", "enum": ["global", "usgov", "china"], "default": "global", "description": "National cloud: login and Graph hosts, Graph scope URIs, v1 issuer host."},
            "group_sync": {"type": "string", "enum": ["off", "direct", "transitive"], "description": "Group sync from Graph. Default: `transitive` (nested groups included) when GroupMember.Read.All of this cloud's Graph is in additional_scopes, else `off`. When on, GroupMember.Read.All is requested automatically."},
            "allowed_tenants": {"type": "array", "items": {"type": "string", "format": "uuid"}, "description": "Restricts the tenants (`tid`) accepted for logins and machine tokens; recommended for `common`/`organizations`."},
            "on_group_error": {"type": "string", "enum": ["keep", "deny"], "default": "keep", "description": "When the group fetch fails: `keep` logs the user in and leaves memberships as they were; `deny` fails the login."},
            "group_fetch_budget_ms": {"type": "integer", "minimum": 100, "maximum": 120000, "default": DEFAULT_BUDGET_MS, "description": "Time budget per login for the group fetch, including 429/503 waits (Retry-After)."},
            "secret_expires": {"type": "string", "format": "date", "description": "Expiry date of the client secret as shown in Entra; Gatehouse warns before it passes."},
            "profile_select": {"type": "string", "default": DEFAULT_PROFILE_SELECT, "description": "Graph `$select` for /me (comma-separated); `id` and `userPrincipalName` are needed."}
        }
    })
}
