//! Choosing the backend from the database URL, opening connections with the right settings, and
//! the pooled [`Db`] handle that request handlers use.

use std::path::PathBuf;
use std::time::Duration;

use diesel::connection::SimpleConnection;
use diesel::r2d2::{self, ManageConnection, Pool, PooledConnection};
use diesel::{Connection, PgConnection, SqliteConnection};

use super::StoreError;

/// One connection to either backend. Queries are written once against this type.
#[derive(diesel::MultiConnection)]
pub enum DbConn {
    Postgres(PgConnection),
    Sqlite(SqliteConnection),
}

/// Which database engine a URL points to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A parsed `database_url`. `MultiConnection::establish` would let SQLite accept almost any string
/// as a file name, so the scheme is decided here, explicitly.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DatabaseUrl {
    Postgres(String),
    /// A file path, or `:memory:`.
    Sqlite(String),
}

impl DatabaseUrl {
    /// Accepts `postgres://…`, `postgresql://…`, `sqlite://relative/path`, `sqlite:///absolute/path`,
    /// `sqlite::memory:` and a plain file path.
    pub fn parse(url: &str) -> Result<Self, String> {
        let url = url.trim();
        if url.is_empty() {
            return Err("must not be empty".into());
        }
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return Ok(Self::Postgres(url.to_owned()));
        }
        if url == "sqlite::memory:" || url == ":memory:" {
            return Ok(Self::Sqlite(":memory:".into()));
        }
        if let Some(path) = url.strip_prefix("sqlite://") {
            if path.is_empty() {
                return Err("sqlite:// needs a file path, e.g. sqlite://./data/gatehouse.db".into());
            }
            return Ok(Self::Sqlite(path.to_owned()));
        }
        if let Some(path) = url.strip_prefix("sqlite:") {
            if path.is_empty() {
                return Err("sqlite: needs a file path".into());
            }
            return Ok(Self::Sqlite(path.to_owned()));
        }
        if let Some((scheme, _)) = url.split_once("://") {
            return Err(format!(
                "unsupported scheme `{scheme}://`; use postgres://, postgresql:// or sqlite://"
            ));
        }
        Ok(Self::Sqlite(url.to_owned()))
    }

    pub fn backend(&self) -> Backend {
        match self {
            Self::Postgres(_) => Backend::Postgres,
            Self::Sqlite(_) => Backend::Sqlite,
        }
    }

    /// The URL with any password replaced, for logs and `check-config`.
    pub fn redacted(&self) -> String {
        match self {
            Self::Sqlite(path) => format!("sqlite://{path}"),
            Self::Postgres(raw) => match url::Url::parse(raw) {
                Ok(mut parsed) if parsed.password().is_some() => {
                    let _ = parsed.set_password(Some("****"));
                    parsed.to_string()
                }
                _ => raw.clone(),
            },
        }
    }

    /// The directory a SQLite file lives in (created on start), if any.
    pub fn sqlite_parent_dir(&self) -> Option<PathBuf> {
        match self {
            Self::Sqlite(path) if path != ":memory:" => PathBuf::from(path)
                .parent()
                .filter(|p| !p.as_os_str().is_empty())
                .map(PathBuf::from),
            _ => None,
        }
    }
}

/// Pool settings.
#[derive(Debug, Clone)]
pub struct DbOptions {
    pub max_connections: u32,
    /// How long a request waits for a connection before it gets a 503.
    pub acquire_timeout: Duration,
    /// SQLite `busy_timeout`: how long a writer waits for the write lock.
    pub sqlite_busy_timeout: Duration,
}

impl Default for DbOptions {
    fn default() -> Self {
        Self {
            max_connections: 10,
            acquire_timeout: Duration::from_secs(5),
            sqlite_busy_timeout: Duration::from_secs(5),
        }
    }
}

/// Pages of the database file are read through a memory map instead of a `pread` system call
/// each time another connection's write has invalidated this connection's page cache (every
/// login writes, so that is most reads). Address space only; the kernel shares the pages.
const SQLITE_MMAP_BYTES: u64 = 256 * 1024 * 1024;

/// r2d2 manager that opens the backend named by the URL and applies per-connection settings.
#[derive(Debug)]
pub struct Manager {
    url: DatabaseUrl,
    busy_timeout_ms: u128,
}

impl Manager {
    fn open(&self) -> diesel::ConnectionResult<DbConn> {
        match &self.url {
            DatabaseUrl::Postgres(url) => {
                let mut conn = PgConnection::establish(url)?;
                // Bounded statement time: a stuck query must not pin a pooled connection forever.
                conn.batch_execute("SET statement_timeout = '30s'; SET TIME ZONE 'UTC'")
                    .map_err(diesel::ConnectionError::CouldntSetupConfiguration)?;
                Ok(DbConn::Postgres(conn))
            }
            DatabaseUrl::Sqlite(path) => {
                let mut conn = SqliteConnection::establish(path)?;
                // WAL lets readers proceed during a write; NORMAL sync is durable across crashes
                // of the process (not of the OS) in WAL mode, which is the usual trade-off.
                let pragmas = format!(
                    "PRAGMA busy_timeout = {}; PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; \
                     PRAGMA foreign_keys = ON; PRAGMA mmap_size = {SQLITE_MMAP_BYTES};",
                    self.busy_timeout_ms
                );
                conn.batch_execute(&pragmas)
                    .map_err(diesel::ConnectionError::CouldntSetupConfiguration)?;
                Ok(DbConn::Sqlite(conn))
            }
        }
    }
}

/// A pooled connection plus a flag set when the server behind it went away. Diesel only reports a
/// connection as broken when its transaction state is, not when PostgreSQL has closed the socket,
/// so [`Db::run`] pings after a failed unit of work and marks dead connections here; r2d2 then
/// discards them instead of handing them to the next request.
pub struct PoolConn {
    pub conn: DbConn,
    broken: bool,
}

impl ManageConnection for Manager {
    type Connection = PoolConn;
    type Error = r2d2::Error;

    fn connect(&self) -> Result<PoolConn, r2d2::Error> {
        let conn = self.open().map_err(r2d2::Error::ConnectionError)?;
        Ok(PoolConn { conn, broken: false })
    }

    fn is_valid(&self, conn: &mut PoolConn) -> Result<(), r2d2::Error> {
        use diesel::r2d2::R2D2Connection;
        conn.conn.ping().map_err(r2d2::Error::QueryError)
    }

    fn has_broken(&self, conn: &mut PoolConn) -> bool {
        use diesel::r2d2::R2D2Connection;
        conn.broken || conn.conn.is_broken()
    }
}

/// The pooled database handle shared by all request handlers (cheap to clone).
#[derive(Clone)]
pub struct Db {
    pool: Pool<Manager>,
    url: DatabaseUrl,
    acquire_timeout: Duration,
}

impl std::fmt::Debug for Db {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Db").field("url", &self.url.redacted()).finish()
    }
}

impl Db {
    /// Builds the pool without waiting for a connection, so that a server can start (and report
    /// not-ready) while PostgreSQL is still coming up.
    pub fn open(url: &DatabaseUrl, options: &DbOptions) -> Result<Self, StoreError> {
        if let Some(dir) = url.sqlite_parent_dir() {
            std::fs::create_dir_all(&dir).map_err(|e| {
                StoreError::Unavailable(format!("cannot create database directory {}: {e}", dir.display()))
            })?;
        }
        let manager = Manager {
            url: url.clone(),
            busy_timeout_ms: options.sqlite_busy_timeout.as_millis(),
        };
        // An in-memory SQLite database exists once per connection: keep exactly one.
        let max = match url {
            DatabaseUrl::Sqlite(path) if path == ":memory:" => 1,
            _ => options.max_connections.max(1),
        };
        let pool = Pool::builder()
            .max_size(max)
            .min_idle(Some(0))
            .connection_timeout(options.acquire_timeout)
            .test_on_check_out(false)
            .error_handler(Box::new(r2d2::LoggingErrorHandler))
            .build_unchecked(manager);
        Ok(Self {
            pool,
            url: url.clone(),
            acquire_timeout: options.acquire_timeout,
        })
    }

    pub fn backend(&self) -> Backend {
        self.url.backend()
    }

    pub fn url(&self) -> &DatabaseUrl {
        &self.url
    }

    /// A connection for blocking code (CLI commands, start-up). Request handlers use [`Db::run`].
    pub fn get(&self) -> Result<PooledConnection<Manager>, StoreError> {
        self.get_timeout(self.acquire_timeout)
    }

    pub fn get_timeout(&self, timeout: Duration) -> Result<PooledConnection<Manager>, StoreError> {
        self.pool
            .get_timeout(timeout)
            .map_err(|e| StoreError::Unavailable(format!("no database connection: {e}")))
    }

    /// Runs blocking database work on the blocking thread pool.
    pub async fn run<T, E, F>(&self, f: F) -> Result<T, E>
    where
        F: FnOnce(&mut DbConn) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<StoreError> + Send + 'static,
    {
        let db = self.clone();
        tokio::task::spawn_blocking(move || {
            let mut pooled = db.get()?;
            let result = f(&mut pooled.conn);
            if result.is_err() {
                use diesel::r2d2::R2D2Connection;
                if pooled.conn.ping().is_err() {
                    pooled.broken = true;
                }
            }
            result
        })
        .await
        .map_err(|e| E::from(StoreError::Internal(format!("database task failed: {e}"))))?
    }

    /// `SELECT 1` within `timeout`: the readiness probe.
    pub async fn ping(&self, timeout: Duration) -> Result<(), StoreError> {
        let db = self.clone();
        tokio::task::spawn_blocking(move || {
            let mut pooled = db.get_timeout(timeout)?;
            use diesel::r2d2::R2D2Connection;
            let result = pooled.conn.ping().map_err(StoreError::from);
            pooled.broken = result.is_err();
            result
        })
        .await
        .map_err(|e| StoreError::Internal(format!("database task failed: {e}")))?
    }

    /// Pool occupancy for the metrics endpoint: (connections, idle).
    pub fn pool_state(&self) -> (u32, u32) {
        let state = self.pool.state();
        (state.connections, state.idle_connections)
    }
}

#[cfg(test)]
mod tests {
    use diesel::prelude::*;
    use diesel::sql_types::Integer;

    /// `.cargo/config.toml` builds the bundled SQLite with `SQLITE_ENABLE_QPSG`; without it cached
    /// statements with bound `LIMIT`s are re-parsed on every use (see that file).
    #[test]
    fn bundled_sqlite_has_query_planner_stability() {
        let mut conn = SqliteConnection::establish(":memory:").unwrap();
        let used: i32 = diesel::select(diesel::dsl::sql::<Integer>(
            "sqlite_compileoption_used('ENABLE_QPSG')",
        ))
        .get_result(&mut conn)
        .unwrap();
        assert_eq!(used, 1, "build with LIBSQLITE3_FLAGS=-DSQLITE_ENABLE_QPSG");
    }
}
