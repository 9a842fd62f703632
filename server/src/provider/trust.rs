//! Who may exchange machine tokens (DESIGN §11, issue 11 item 1): the trust rules a provider
//! with `jwt_federation_sources` must keep, checked when a provider or a federated source is
//! saved, at start (a warning for rows written before the rules), and again at exchange time.
//!
//! The rules: a federating provider names its callers by an app allow-list and/or required app
//! roles; a source that accepts every tenant (Entra `common`/`organizations` without
//! `allowed_tenants`) may not federate.

use gatehouse_plugins::{ClientCredential, MachineTokenRules, Registry, SourceConfig};

use crate::db::providers::{self, ProviderRow};
use crate::db::sources::SourceRow;
use crate::db::{DbConn, StoreError};
use crate::error::{ApiError, FieldErrors, add_field_error as add};
use crate::sources::config;

/// What an operator must set on a provider that federates but names nobody.
pub const NAMES_NOBODY: &str = "A provider with jwt_federation_sources must say who may exchange: set \
     jwt_federation_app_ids (the calling applications' client ids) and/or \
     jwt_federation_required_roles (app roles the token's `roles` claim must carry).";

/// The exchange rules of a provider.
pub fn rules_of(provider: &ProviderRow) -> MachineTokenRules {
    MachineTokenRules {
        audiences: serde_json::from_str(&provider.federation_audiences).unwrap_or_default(),
        allowed_app_ids: provider.federation_app_id_list(),
        required_roles: provider.federation_role_list(),
    }
}

/// A source's configuration for checks that need no secret.
fn config_of(row: &SourceRow) -> SourceConfig {
    config::config_with(
        row,
        ClientCredential::Secret(String::new()),
        config::stored_settings(row),
    )
}

/// Whether `source` accepts identities of any tenant, which rules it out for federation.
pub fn accepts_any_tenant(plugins: &Registry, source: &SourceRow) -> bool {
    plugins
        .get(&source.provider_type)
        .is_some_and(|plugin| plugin.accepts_any_tenant(&config_of(source)))
}

fn open_tenancy_message(source: &SourceRow) -> String {
    format!(
        "The source `{}` accepts every tenant (common/organizations without allowed_tenants); set \
         its settings.allowed_tenants before it may federate machine tokens.",
        source.slug
    )
}

/// Checks a provider about to be saved: `sources` are those it will federate, `app_ids` and
/// `roles` its allow-list and required roles (JSON lists).
pub fn check_provider(
    plugins: &Registry,
    sources: &[SourceRow],
    app_ids: &str,
    roles: &str,
) -> Result<(), ApiError> {
    if sources.is_empty() {
        return Ok(());
    }
    let mut errors = FieldErrors::new();
    let listed = |raw: &str| serde_json::from_str::<Vec<String>>(raw).is_ok_and(|l| !l.is_empty());
    if !listed(app_ids) && !listed(roles) {
        add(&mut errors, "jwt_federation_app_ids", NAMES_NOBODY);
        add(&mut errors, "jwt_federation_required_roles", NAMES_NOBODY);
    }
    for source in sources {
        if accepts_any_tenant(plugins, source) {
            add(
                &mut errors,
                "jwt_federation_sources",
                open_tenancy_message(source),
            );
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(ApiError::Validation(errors))
    }
}

/// Checks a source just saved (inside the saving transaction): a source that providers federate
/// may not become open to every tenant.
pub fn check_federated_source(
    plugins: &Registry,
    conn: &mut DbConn,
    source: &SourceRow,
) -> Result<(), ApiError> {
    if !accepts_any_tenant(plugins, source) {
        return Ok(());
    }
    let federating = providers::federating(conn, source.id)?;
    if federating.is_empty() {
        return Ok(());
    }
    let names: Vec<String> = federating.iter().map(|p| format!("`{}`", p.name)).collect();
    let mut errors = FieldErrors::new();
    add(
        &mut errors,
        "settings.allowed_tenants",
        format!(
            "This source federates machine tokens for the provider(s) {}; a multi-tenant source \
             (common/organizations) needs allowed_tenants for that.",
            names.join(", ")
        ),
    );
    Err(ApiError::Validation(errors))
}

/// Logs a warning at start for every federation that refuses exchanges until fixed: providers
/// naming nobody (left so by the migration) and federated sources open to every tenant.
pub fn warn_unsafe_federation(plugins: &Registry, conn: &mut DbConn) {
    match unsafe_federation(plugins, conn) {
        Ok(warnings) => {
            for warning in warnings {
                tracing::warn!("{warning}");
            }
        }
        Err(e) => tracing::warn!(error = %e, "could not check the machine-to-machine trust settings"),
    }
}

/// The start-up warnings of [`warn_unsafe_federation`], one per provider or source.
pub fn unsafe_federation(plugins: &Registry, conn: &mut DbConn) -> Result<Vec<String>, StoreError> {
    let mut warnings = Vec::new();
    for provider in providers::naming_nobody(conn)? {
        warnings.push(format!(
            "the provider `{}` (client_id {}) refuses every machine-token exchange until it names \
             who may exchange: set jwt_federation_app_ids and/or jwt_federation_required_roles",
            provider.name, provider.client_id
        ));
    }
    let mut seen = Vec::new();
    for provider in providers::list_federating(conn)? {
        for source in providers::federation_sources(conn, provider.id)? {
            if accepts_any_tenant(plugins, &source) && !seen.contains(&source.id) {
                seen.push(source.id);
                warnings.push(format!(
                    "the multi-tenant source `{}` refuses machine tokens until its \
                     settings.allowed_tenants is set",
                    source.slug
                ));
            }
        }
    }
    Ok(warnings)
}
