//! Embedded migrations, one tree per backend with the same names in both.

use diesel::connection::SimpleConnection;
use diesel::migration::MigrationSource;
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

use super::{DbConn, StoreError};

pub const SQLITE: EmbeddedMigrations = embed_migrations!("../migrations/sqlite");
pub const POSTGRES: EmbeddedMigrations = embed_migrations!("../migrations/postgres");

/// Serialises concurrent starts of several replicas on one PostgreSQL database.
const PG_MIGRATION_LOCK: i64 = 0x6761_7465_686f_7573; // "gatehous"

/// Applies pending migrations and returns the names of those it applied.
pub fn run_pending(conn: &mut DbConn) -> Result<Vec<String>, StoreError> {
    match conn {
        DbConn::Sqlite(inner) => inner
            .run_pending_migrations(SQLITE)
            .map(|versions| versions.iter().map(ToString::to_string).collect())
            .map_err(|e| StoreError::Internal(format!("migration failed: {e}"))),
        DbConn::Postgres(inner) => {
            inner.batch_execute(&format!("SELECT pg_advisory_lock({PG_MIGRATION_LOCK})"))?;
            let result = inner
                .run_pending_migrations(POSTGRES)
                .map(|versions| versions.iter().map(ToString::to_string).collect())
                .map_err(|e| StoreError::Internal(format!("migration failed: {e}")));
            let unlock = inner.batch_execute(&format!("SELECT pg_advisory_unlock({PG_MIGRATION_LOCK})"));
            let applied = result?;
            unlock?;
            Ok(applied)
        }
    }
}

/// Migration names (version + name) of a tree, for the test that keeps both trees aligned.
pub fn names(source: &EmbeddedMigrations) -> Vec<String> {
    let migrations: Vec<Box<dyn diesel::migration::Migration<diesel::sqlite::Sqlite>>> =
        MigrationSource::<diesel::sqlite::Sqlite>::migrations(source).unwrap_or_default();
    migrations.iter().map(|m| m.name().to_string()).collect()
}
