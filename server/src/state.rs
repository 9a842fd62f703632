//! The state request handlers share, built once at start: settings, database pool, keys,
//! templates, the mapping engine and plugins.
//!
//! This module imports no handler module (`api`, `web` pages, `provider` endpoints, `sources`,
//! `app`); what the handlers contribute to start-up comes in as [`Handlers`]. Everything may
//! import it without closing an import cycle through the route table (`server/tests/layering.rs`
//! checks this).

use actix_web::web;

use crate::bootstrap;
use crate::config::{Secret, Settings};
use crate::crypto::{self, Keys};
use crate::db::{self, Backend, Db};
use crate::http::metrics::Metrics;
use crate::provider::keys::{self, KeyRing};
use crate::web::templates::Templates;

/// Everything request handlers share, built once at start.
#[derive(Debug)]
pub struct AppState {
    pub settings: Settings,
    pub db: Db,
    pub keys: Keys,
    pub metrics: Metrics,
    /// The serialised OpenAPI document.
    pub openapi: String,
    pub templates: Templates,
    /// The Rhai engine for property mappings (compiled scripts are cached by content).
    pub mappings: gatehouse_mappings::MappingEngine,
    /// Source plugins by name; the server asks the registry and never matches on names.
    pub plugins: gatehouse_plugins::Registry,
    /// The HTTP client and JWKS cache plugins share.
    pub plugin_context: gatehouse_plugins::PluginContext,
    /// Parsed token-signing keys of the OAuth2 provider.
    pub provider_keys: KeyRing,
}

#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error("{0}")]
    Crypto(#[from] crypto::CryptoError),
    #[error("database: {0}")]
    Store(#[from] db::StoreError),
    #[error("metrics: {0}")]
    Metrics(#[from] prometheus::Error),
    #[error("bootstrap: {0}")]
    Bootstrap(String),
    #[error("OpenAPI document: {0}")]
    OpenApi(String),
    #[error("templates: {0}")]
    Templates(String),
}

/// What the handler layers contribute to start-up. The route table ([`crate::app`]) supplies it,
/// so that this module never imports a handler.
#[derive(Debug, Clone, Copy)]
pub struct Handlers {
    /// The OpenAPI document of every registered route.
    pub openapi: fn() -> utoipa::openapi::OpenApi,
    /// Checks that run on the migrated database before the server starts (warnings only).
    pub after_migrations: fn(&gatehouse_plugins::Registry, &mut db::DbConn),
}

/// Resolves the secret key, opens the database, applies migrations and the bootstrap settings.
/// Fails (and the process exits) when the database cannot be reached.
pub fn initialise(mut settings: Settings, handlers: &Handlers) -> Result<web::Data<AppState>, StartupError> {
    let generated = settings.secret_key.is_none();
    let secret = crypto::resolve_secret_key(
        settings.secret_key.as_ref().map(Secret::expose),
        &settings.data_dir,
    )?;
    if generated && settings.database.backend() == Backend::Postgres {
        tracing::warn!(
            path = %settings.data_dir.join("secret_key").display(),
            "no secret_key configured: using the generated key file; every replica sharing this \
             database must use the same secret_key"
        );
    }
    settings.secret_key = Some(Secret::from(secret.clone()));
    let db = Db::open(&settings.database, &settings.db)?;
    {
        let mut conn = db.get()?;
        let applied = db::migrations::run_pending(&mut conn.conn)?;
        if !applied.is_empty() {
            tracing::info!(migrations = ?applied, "applied database migrations");
        }
        crate::flows::defaults::ensure(&mut conn.conn)?;
        let key_material = Keys::from_secret(&secret);
        db::write_tx(&mut conn.conn, |c| {
            keys::ensure_defaults(c, &key_material, db::time::now()).map_err(db::StoreError::from)
        })?;
        db::write_tx(&mut conn.conn, db::property_mappings::install_managed)?;
        bootstrap::run(&mut conn.conn, &settings).map_err(|e| StartupError::Bootstrap(e.to_string()))?;
        (handlers.after_migrations)(&gatehouse_plugins::Registry::builtin(), &mut conn.conn);
    }
    let openapi = (handlers.openapi)()
        .to_json()
        .map_err(|e| StartupError::OpenApi(e.to_string()))?;
    let templates = Templates::load(settings.templates_dir.as_deref()).map_err(StartupError::Templates)?;
    let mappings = gatehouse_mappings::MappingEngine::new(settings.mappings.clone())
        .map_err(|e| StartupError::Bootstrap(e.to_string()))?;
    let plugin_context = gatehouse_plugins::PluginContext::new(gatehouse_plugins::default_http_client(
        std::time::Duration::from_secs(10),
    ));
    Ok(web::Data::new(AppState {
        plugins: gatehouse_plugins::Registry::builtin(),
        plugin_context,
        mappings,
        templates,
        keys: Keys::from_secret(&secret),
        settings,
        db,
        metrics: Metrics::new()?,
        openapi,
        provider_keys: KeyRing::default(),
    }))
}
