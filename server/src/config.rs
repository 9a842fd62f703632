//! Typed configuration: `gatehouse.toml` (optional) overlaid with `GATEHOUSE_<KEY>` environment
//! variables, validated once at start. A bad value stops the process with a message naming the key.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use serde::{Deserialize, Deserializer, Serialize};

use crate::db::{DatabaseUrl, DbOptions};

/// Environment variables with the `GATEHOUSE_` prefix that are not configuration keys.
const NON_CONFIG_ENV: &[&str] = &["GATEHOUSE_CONFIG", "GATEHOUSE_LOG"];
const NON_CONFIG_ENV_PREFIXES: &[&str] = &["GATEHOUSE_TEST_"];

/// A secret setting (key, token, password). `Debug`, `Display` and `Serialize` print a mask, so
/// that no log line, panic message or `check-config` output carries the value; code that needs
/// the value asks for it with [`Secret::expose`].
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub const MASK: &'static str = "********";

    /// The secret itself, for the one place that uses it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl From<String> for Secret {
    fn from(value: String) -> Self {
        Self(value)
    }
}

impl From<&str> for Secret {
    fn from(value: &str) -> Self {
        Self(value.to_owned())
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(Self::MASK)
    }
}

impl std::fmt::Display for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(Self::MASK)
    }
}

impl Serialize for Secret {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(Self::MASK)
    }
}

impl<'de> Deserialize<'de> for Secret {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        lenient_string(deserializer).map(Self)
    }
}

/// The raw configuration as written by the operator. Every key has a default; see the README's
/// configuration table.
#[derive(Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RawConfig {
    /// Address the HTTP server listens on.
    #[serde(deserialize_with = "lenient_string")]
    pub listen: String,
    /// Public base URL; redirect URIs and cookie security are derived from it. Default `http://<listen>`.
    #[serde(deserialize_with = "lenient_opt_string")]
    pub external_url: Option<String>,
    /// `sqlite://path`, `postgres://…`; default `sqlite://./data/gatehouse.db`.
    #[serde(deserialize_with = "lenient_string")]
    pub database_url: String,
    /// Where generated files (the secret key) are kept.
    pub data_dir: PathBuf,
    /// At least 32 characters; keys for encryption at rest are derived from it. Generated into
    /// `data_dir` on first start when not set.
    #[serde(deserialize_with = "lenient_opt_secret")]
    pub secret_key: Option<Secret>,
    /// Creates (idempotently) the superuser `admin` with this API token.
    #[serde(deserialize_with = "lenient_opt_secret")]
    pub bootstrap_token: Option<Secret>,
    /// Creates (idempotently) the superuser `admin` with this password.
    #[serde(deserialize_with = "lenient_opt_secret")]
    pub bootstrap_password: Option<Secret>,
    /// `text` or `json`.
    #[serde(deserialize_with = "lenient_string")]
    pub log_format: String,
    /// A tracing filter, e.g. `info` or `gatehouse=debug,info`.
    #[serde(deserialize_with = "lenient_string")]
    pub log_level: String,
    /// Maximum pooled database connections per process.
    pub database_pool_size: u32,
    /// Seconds a request waits for a database connection before answering 503.
    pub database_timeout_seconds: u64,
    /// Largest accepted request body in bytes.
    pub max_body_bytes: usize,
    /// HTTP worker threads; 0 means one per CPU.
    pub workers: usize,
    /// Use `X-Forwarded-For`/`Forwarded` for the client IP (only behind a trusted proxy).
    pub trust_forwarded_headers: bool,
    /// How many proxies in front of Gatehouse append to `X-Forwarded-For`/`Forwarded`: the client
    /// IP is the entry that many places from the right (1: the one the nearest proxy added).
    pub trusted_proxy_hops: u32,
    /// Bearer token that `/metrics` requires when set.
    #[serde(deserialize_with = "lenient_opt_secret")]
    pub metrics_token: Option<Secret>,
    /// A separate address for `/metrics`; when set, the main listener does not serve metrics.
    #[serde(deserialize_with = "lenient_opt_string")]
    pub metrics_listen: Option<String>,
    /// A folder whose template files replace the embedded ones by name.
    pub templates_dir: Option<PathBuf>,
    /// Upstream (source) logins one client IP may start per minute; 0 turns the limit off.
    pub login_starts_per_minute: u32,
    /// Limits for property-mapping scripts (`[mappings]`; see docs/mappings.md).
    pub mappings: gatehouse_mappings::Limits,
}

impl Default for RawConfig {
    fn default() -> Self {
        Self {
            listen: "127.0.0.1:9000".into(),
            external_url: None,
            database_url: "sqlite://./data/gatehouse.db".into(),
            data_dir: PathBuf::from("./data"),
            secret_key: None,
            bootstrap_token: None,
            bootstrap_password: None,
            log_format: "text".into(),
            log_level: "info".into(),
            database_pool_size: 10,
            database_timeout_seconds: 5,
            max_body_bytes: 1024 * 1024,
            workers: 0,
            trust_forwarded_headers: false,
            trusted_proxy_hops: 1,
            metrics_token: None,
            metrics_listen: None,
            templates_dir: None,
            login_starts_per_minute: 60,
            mappings: gatehouse_mappings::Limits::default(),
        }
    }
}

/// A scalar from the file or the environment. Figment parses environment values into numbers and
/// booleans where they look like them; string keys accept those too, so that
/// `GATEHOUSE_SECRET_KEY=1234…` is not a type error.
#[derive(Deserialize)]
#[serde(untagged)]
enum Scalar {
    S(String),
    I(i128),
    F(f64),
    B(bool),
}

impl Scalar {
    fn into_string(self) -> String {
        match self {
            Self::S(s) => s,
            Self::I(i) => i.to_string(),
            Self::F(f) => f.to_string(),
            Self::B(b) => b.to_string(),
        }
    }
}

fn lenient_string<'de, D: Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    Scalar::deserialize(deserializer).map(Scalar::into_string)
}

fn lenient_opt_secret<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Secret>, D::Error> {
    Ok(lenient_opt_string(deserializer)?.map(Secret))
}

fn lenient_opt_string<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<String>, D::Error> {
    let value = Option::<Scalar>::deserialize(deserializer)?.map(Scalar::into_string);
    Ok(value.filter(|v| !v.is_empty()))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Text,
    Json,
}

/// A configuration problem: which key, and what is wrong with it.
#[derive(Debug, thiserror::Error)]
#[error("configuration key `{key}`: {message}")]
pub struct ConfigError {
    pub key: String,
    pub message: String,
}

impl ConfigError {
    fn new(key: &str, message: impl Into<String>) -> Self {
        Self {
            key: key.to_owned(),
            message: message.into(),
        }
    }
}

/// Validated configuration, passed to everything that needs it (no globals). `Debug` masks the
/// secrets and the database password.
#[derive(Clone)]
pub struct Settings {
    pub listen: SocketAddr,
    pub external_url: url::Url,
    pub database: DatabaseUrl,
    pub data_dir: PathBuf,
    /// `None` until [`crate::crypto::resolve_secret_key`] has read or generated the key file.
    pub secret_key: Option<Secret>,
    pub bootstrap_token: Option<Secret>,
    pub bootstrap_password: Option<Secret>,
    pub log_format: LogFormat,
    pub log_level: String,
    pub db: DbOptions,
    pub max_body_bytes: usize,
    pub workers: usize,
    pub trust_forwarded_headers: bool,
    pub trusted_proxy_hops: u32,
    pub metrics_token: Option<Secret>,
    pub metrics_listen: Option<SocketAddr>,
    pub templates_dir: Option<PathBuf>,
    pub login_starts_per_minute: u32,
    pub mappings: gatehouse_mappings::Limits,
}

impl std::fmt::Debug for Settings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The same masked view as `check-config`: secrets and the database password never print.
        write!(f, "Settings {}", self.masked_summary())
    }
}

impl std::fmt::Debug for RawConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let database = DatabaseUrl::parse(&self.database_url)
            .map(|d| d.redacted())
            .unwrap_or_else(|_| "(invalid)".to_owned());
        f.debug_struct("RawConfig")
            .field("listen", &self.listen)
            .field("database_url", &database)
            .field("secret_key", &self.secret_key)
            .field("bootstrap_token", &self.bootstrap_token)
            .field("bootstrap_password", &self.bootstrap_password)
            .field("metrics_token", &self.metrics_token)
            .finish_non_exhaustive()
    }
}

impl Settings {
    /// Whether cookies must carry `Secure` (the external URL is https).
    pub fn secure_cookies(&self) -> bool {
        self.external_url.scheme() == "https"
    }

    /// An absolute URL for `path` under the external URL.
    pub fn absolute_url(&self, path: &str) -> String {
        let base = self.external_url.as_str().trim_end_matches('/');
        format!("{base}{path}")
    }

    /// Defaults with the given database and data directory (tests and tools).
    pub fn for_database(database: &DatabaseUrl, data_dir: &Path) -> Result<Self, ConfigError> {
        let database_url = match database {
            DatabaseUrl::Postgres(url) => url.clone(),
            DatabaseUrl::Sqlite(path) => format!("sqlite://{path}"),
        };
        validate(RawConfig {
            data_dir: data_dir.to_path_buf(),
            database_url,
            ..RawConfig::default()
        })
    }

    /// The effective configuration for `check-config`, secrets masked.
    pub fn masked_summary(&self) -> serde_json::Value {
        let mask = |v: &Option<Secret>| v.as_ref().map(|_| Secret::MASK);
        serde_json::json!({
            "listen": self.listen.to_string(),
            "external_url": self.external_url.as_str(),
            "database_url": self.database.redacted(),
            "backend": self.database.backend(),
            "data_dir": self.data_dir.display().to_string(),
            "secret_key": mask(&self.secret_key).unwrap_or("(generated into data_dir on first start)"),
            "bootstrap_token": mask(&self.bootstrap_token),
            "bootstrap_password": mask(&self.bootstrap_password),
            "log_format": self.log_format,
            "log_level": self.log_level,
            "database_pool_size": self.db.max_connections,
            "database_timeout_seconds": self.db.acquire_timeout.as_secs(),
            "max_body_bytes": self.max_body_bytes,
            "workers": self.workers,
            "trust_forwarded_headers": self.trust_forwarded_headers,
            "trusted_proxy_hops": self.trusted_proxy_hops,
            "metrics_token": mask(&self.metrics_token),
            "metrics_listen": self.metrics_listen.map(|a| a.to_string()),
            "templates_dir": self.templates_dir.as_ref().map(|p| p.display().to_string()),
            "login_starts_per_minute": self.login_starts_per_minute,
            "mappings": self.mappings,
        })
    }
}

/// Loads `path` (if given, else `./gatehouse.toml` when present) and the `GATEHOUSE_*` environment.
pub fn load(path: Option<&Path>) -> Result<Settings, ConfigError> {
    let mut figment = Figment::from(Serialized::defaults(RawConfig::default()));
    match path {
        Some(path) => {
            if !path.exists() {
                return Err(ConfigError::new(
                    "config",
                    format!("file {} does not exist", path.display()),
                ));
            }
            figment = figment.merge(Toml::file_exact(path));
        }
        None => figment = figment.merge(Toml::file("gatehouse.toml")),
    }
    // `deny_unknown_fields` covers the file; a misspelt environment variable is caught here, while
    // variables that belong to tools around Gatehouse (tests, the config path) are let through.
    for (name, _) in std::env::vars() {
        let Some(key) = name.strip_prefix("GATEHOUSE_") else {
            continue;
        };
        let is_tooling = NON_CONFIG_ENV.contains(&name.as_str())
            || NON_CONFIG_ENV_PREFIXES.iter().any(|p| name.starts_with(p));
        if !is_tooling && !known_key(&key.to_lowercase()) {
            return Err(ConfigError::new(
                &key.to_lowercase(),
                format!("unknown setting (environment variable {name})"),
            ));
        }
    }
    figment = figment.merge(
        Env::prefixed("GATEHOUSE_")
            .split("__")
            .filter(|key| known_key(&key.as_str().to_lowercase())),
    );
    let raw: RawConfig = figment.extract().map_err(figment_error)?;
    validate(raw)
}

fn known_key(key: &str) -> bool {
    let defaults = serde_json::to_value(RawConfig::default()).unwrap_or_default();
    let top = key
        .split("__")
        .next()
        .unwrap_or(key)
        .split('.')
        .next()
        .unwrap_or(key);
    defaults.get(top).is_some()
}

fn figment_error(error: figment::Error) -> ConfigError {
    let key = if error.path.is_empty() {
        "config".to_owned()
    } else {
        error.path.join(".")
    };
    let source = error
        .metadata
        .as_ref()
        .map(|m| format!(" (from {})", m.name))
        .unwrap_or_default();
    let message = match &error.kind {
        figment::error::Kind::UnknownField(field, _) => {
            return ConfigError::new(field, format!("unknown setting{source}"));
        }
        kind => kind.to_string(),
    };
    ConfigError::new(&key, format!("{message}{source}"))
}

/// Checks every value and derives the typed settings.
pub fn validate(raw: RawConfig) -> Result<Settings, ConfigError> {
    let listen: SocketAddr = raw.listen.parse().map_err(|_| {
        ConfigError::new(
            "listen",
            format!("`{}` is not an address like 127.0.0.1:9000", raw.listen),
        )
    })?;
    let external_text = raw
        .external_url
        .clone()
        .unwrap_or_else(|| format!("http://{listen}"));
    let external_url = url::Url::parse(&external_text)
        .map_err(|e| ConfigError::new("external_url", format!("`{external_text}` is not a URL: {e}")))?;
    if !matches!(external_url.scheme(), "http" | "https") {
        return Err(ConfigError::new(
            "external_url",
            "must start with http:// or https://",
        ));
    }
    if external_url.query().is_some() || external_url.fragment().is_some() {
        return Err(ConfigError::new(
            "external_url",
            "must not have a query or fragment",
        ));
    }
    let database = DatabaseUrl::parse(&raw.database_url).map_err(|m| ConfigError::new("database_url", m))?;
    if let Some(key) = &raw.secret_key
        && key.expose().chars().count() < 32
    {
        return Err(ConfigError::new("secret_key", "must be at least 32 characters"));
    }
    if let Some(token) = &raw.bootstrap_token
        && token.expose().len() < 16
    {
        return Err(ConfigError::new(
            "bootstrap_token",
            "must be at least 16 characters",
        ));
    }
    if let Some(password) = &raw.bootstrap_password
        && password.expose().chars().count() < 8
    {
        return Err(ConfigError::new(
            "bootstrap_password",
            "must be at least 8 characters",
        ));
    }
    let log_format = match raw.log_format.to_lowercase().as_str() {
        "text" => LogFormat::Text,
        "json" => LogFormat::Json,
        other => {
            return Err(ConfigError::new(
                "log_format",
                format!("`{other}` is not one of: text, json"),
            ));
        }
    };
    tracing_subscriber::EnvFilter::try_new(&raw.log_level)
        .map_err(|e| ConfigError::new("log_level", format!("`{}`: {e}", raw.log_level)))?;
    if raw.database_pool_size == 0 || raw.database_pool_size > 1000 {
        return Err(ConfigError::new(
            "database_pool_size",
            "must be between 1 and 1000",
        ));
    }
    if raw.database_timeout_seconds == 0 || raw.database_timeout_seconds > 300 {
        return Err(ConfigError::new(
            "database_timeout_seconds",
            "must be between 1 and 300",
        ));
    }
    if raw.max_body_bytes < 1024 {
        return Err(ConfigError::new("max_body_bytes", "must be at least 1024"));
    }
    if let Some(dir) = &raw.templates_dir
        && !dir.is_dir()
    {
        return Err(ConfigError::new(
            "templates_dir",
            format!("{} is not a directory", dir.display()),
        ));
    }
    let metrics_listen = validate_metrics(&raw, listen)?;
    if !(1..=16).contains(&raw.trusted_proxy_hops) {
        return Err(ConfigError::new("trusted_proxy_hops", "must be between 1 and 16"));
    }
    raw.mappings
        .validate()
        .map_err(|e| ConfigError::new(&format!("mappings.{}", e.field), e.reason))?;
    let workers = if raw.workers == 0 {
        std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1)
    } else {
        raw.workers
    };
    Ok(Settings {
        listen,
        external_url,
        database,
        data_dir: raw.data_dir,
        secret_key: raw.secret_key,
        bootstrap_token: raw.bootstrap_token,
        bootstrap_password: raw.bootstrap_password,
        log_format,
        log_level: raw.log_level,
        db: DbOptions {
            max_connections: raw.database_pool_size,
            acquire_timeout: Duration::from_secs(raw.database_timeout_seconds),
            sqlite_busy_timeout: Duration::from_secs(5),
        },
        max_body_bytes: raw.max_body_bytes,
        workers,
        trust_forwarded_headers: raw.trust_forwarded_headers,
        trusted_proxy_hops: raw.trusted_proxy_hops,
        metrics_token: raw.metrics_token,
        metrics_listen,
        templates_dir: raw.templates_dir,
        login_starts_per_minute: raw.login_starts_per_minute,
        mappings: raw.mappings,
    })
}

/// `metrics_token` is long enough to resist guessing; `metrics_listen` is an address other than
/// `listen`.
fn validate_metrics(raw: &RawConfig, listen: SocketAddr) -> Result<Option<SocketAddr>, ConfigError> {
    if let Some(token) = &raw.metrics_token
        && token.expose().len() < 16
    {
        return Err(ConfigError::new(
            "metrics_token",
            "must be at least 16 characters",
        ));
    }
    let Some(text) = &raw.metrics_listen else {
        return Ok(None);
    };
    let addr: SocketAddr = text.parse().map_err(|_| {
        ConfigError::new(
            "metrics_listen",
            format!("`{text}` is not an address like 127.0.0.1:9090"),
        )
    })?;
    if addr == listen && addr.port() != 0 {
        return Err(ConfigError::new("metrics_listen", "must differ from `listen`"));
    }
    Ok(Some(addr))
}
