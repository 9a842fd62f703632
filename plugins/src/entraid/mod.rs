//! The `entraid` plugin: Microsoft Entra ID sign-in (OIDC authorization code + PKCE), Microsoft
//! Graph profile and group sync, and validation of Entra-issued machine tokens.

mod graph;
mod login;
mod m2m;
mod settings;

use async_trait::async_trait;

pub use settings::{Cloud, EntraSettings, GroupSyncMode, Tenant};

use crate::plugin::{PluginContext, SourcePlugin};
use crate::types::{
    AuthorizationRedirect, AuthorizationRequest, CallbackData, FieldErrors, MachineIdentity,
    MachineTokenRules, ResolvedUrls, SourceConfig, SourceTypeDescription, UpstreamIdentity,
};
use crate::util::dedupe_scopes;
use crate::{PluginError, authorize};

pub struct EntraIdPlugin {
    description: SourceTypeDescription,
}

impl Default for EntraIdPlugin {
    fn default() -> Self {
        Self::new()
    }
}

impl EntraIdPlugin {
    pub fn new() -> Self {
        let login = Cloud::Global.login_origin();
        Self {
            description: SourceTypeDescription {
                name: "entraid".to_owned(),
                verbose_name: "Entra ID".to_owned(),
                icon: "sources/entraid.svg".to_owned(),
                urls_customizable: true,
                authorization_url: Some(format!("{login}/common/oauth2/v2.0/authorize")),
                access_token_url: Some(format!("{login}/common/oauth2/v2.0/token")),
                profile_url: Some(format!("{}/v1.0/me", Cloud::Global.graph_origin())),
                oidc_jwks_url: Some(format!("{login}/common/discovery/v2.0/keys")),
                settings_schema: settings::schema(),
            },
        }
    }

    /// The scopes requested at /authorize: `openid profile email <graph>/User.Read`, the
    /// additional scopes, and GroupMember.Read.All when group sync is on; exact duplicates
    /// removed, order kept.
    pub fn scopes(cfg: &SourceConfig, s: &EntraSettings) -> Vec<String> {
        let user_read = s.graph_scope("User.Read");
        let group_read = if s.group_sync == GroupSyncMode::Off {
            String::new()
        } else {
            s.graph_scope("GroupMember.Read.All")
        };
        let mut scopes = dedupe_scopes([
            "openid profile email",
            user_read.as_str(),
            cfg.additional_scopes.as_str(),
        ]);
        // The bare form also counts as present (Graph is the default resource).
        if !group_read.is_empty()
            && !scopes.iter().any(|x| {
                x.eq_ignore_ascii_case(&group_read) || x.eq_ignore_ascii_case("GroupMember.Read.All")
            })
        {
            scopes.push(group_read);
        }
        scopes
    }
}

pub(crate) fn settings_or_config_error(cfg: &SourceConfig) -> Result<EntraSettings, PluginError> {
    EntraSettings::from_config(cfg).map_err(|e| PluginError::Configuration(e.to_string()))
}

#[async_trait]
impl SourcePlugin for EntraIdPlugin {
    fn description(&self) -> &SourceTypeDescription {
        &self.description
    }

    fn validate(&self, cfg: &SourceConfig) -> Result<(), FieldErrors> {
        let s = settings::validate(cfg)?;
        settings::resolve(cfg, &s).map(|_| ()).map_err(|e| {
            let mut errors = FieldErrors::default();
            errors.add("settings", e.to_string());
            errors
        })
    }

    fn resolve_urls(&self, cfg: &SourceConfig) -> Result<ResolvedUrls, PluginError> {
        settings::resolve(cfg, &settings_or_config_error(cfg)?)
    }

    async fn authorization_redirect(
        &self,
        _ctx: &PluginContext,
        cfg: &SourceConfig,
        req: AuthorizationRequest,
    ) -> Result<AuthorizationRedirect, PluginError> {
        let s = settings_or_config_error(cfg)?;
        let urls = settings::resolve(cfg, &s)?;
        let auth_url = urls.authorization_url.unwrap_or_default();
        authorize::build(
            &auth_url,
            cfg.consumer_key.trim(),
            &Self::scopes(cfg, &s),
            &req,
            &[("response_mode", "query")],
        )
    }

    async fn complete(
        &self,
        ctx: &PluginContext,
        cfg: &SourceConfig,
        cb: CallbackData,
    ) -> Result<UpstreamIdentity, PluginError> {
        login::complete(ctx, cfg, &cb).await
    }

    async fn validate_machine_token(
        &self,
        ctx: &PluginContext,
        cfg: &SourceConfig,
        token: &str,
        rules: &MachineTokenRules,
    ) -> Result<MachineIdentity, PluginError> {
        m2m::validate(ctx, cfg, token, rules).await
    }

    fn deny_on_group_error(&self, cfg: &SourceConfig) -> bool {
        EntraSettings::from_config(cfg).is_ok_and(|s| s.deny_on_group_error)
    }

    fn accepts_any_tenant(&self, cfg: &SourceConfig) -> bool {
        EntraSettings::from_config(cfg).is_ok_and(|s| s.tenant.is_multi() && s.allowed_tenants.is_empty())
    }

    fn verified_email(&self, cfg: &SourceConfig, identity: &UpstreamIdentity) -> Option<String> {
        let s = EntraSettings::from_config(cfg).ok()?;
        login::verified_email(&s, identity)
    }

    fn secret_expires(&self, cfg: &SourceConfig) -> Option<chrono::NaiveDate> {
        EntraSettings::from_config(cfg)
            .ok()
            .and_then(|s| s.secret_expires)
    }
}
