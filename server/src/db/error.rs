//! Storage errors, classified so the HTTP edge can answer 404/409/503 instead of a 500.

use diesel::result::{DatabaseErrorKind, Error as DieselError};

/// Unique indexes by name (PostgreSQL reports the index name) and by `table.column` (SQLite reports
/// the columns), with the API field each one protects. Index names are the same in both migration
/// trees.
pub const UNIQUE_RULES: &[(&str, &str, &str)] = &[
    ("uq_users_username", "users.username_key", "username"),
    ("uq_users_uuid", "users.uuid", "uuid"),
    ("uq_groups_name", "groups.name", "name"),
    ("uq_groups_uuid", "groups.uuid", "uuid"),
    ("uq_api_tokens_identifier", "api_tokens.identifier", "identifier"),
    ("uq_api_tokens_key_hash", "api_tokens.key_hash", "key"),
    ("uq_flows_slug", "flows.slug", "slug"),
    ("uq_flows_uuid", "flows.uuid", "uuid"),
    ("uq_stages_name", "stages.name", "name"),
    ("uq_stages_uuid", "stages.uuid", "uuid"),
    ("uq_bindings_uuid", "flow_stage_bindings.uuid", "uuid"),
    ("uq_events_uuid", "events.uuid", "uuid"),
    ("uq_property_mappings_uuid", "property_mappings.uuid", "uuid"),
    (
        "uq_bindings_flow_order",
        "flow_stage_bindings.flow_id, flow_stage_bindings.binding_order",
        "order",
    ),
    ("uq_sessions_key_hash", "sessions.key_hash", "session"),
    ("uq_flow_states_key_hash", "flow_states.key_hash", "flow_state"),
    (
        "uq_user_consents_user_application",
        "user_consents.user_id, user_consents.application",
        "consent",
    ),
    ("uq_sources_slug", "sources.slug", "slug"),
    ("uq_sources_uuid", "sources.uuid", "uuid"),
    ("uq_property_mappings_name", "property_mappings.name", "name"),
    (
        "uq_user_source_connections_identifier",
        "user_source_connections.source_id, user_source_connections.identifier",
        "identifier",
    ),
    (
        "uq_user_source_connections_user",
        "user_source_connections.user_id, user_source_connections.source_id",
        "user",
    ),
    (
        "uq_group_source_connections_identifier",
        "group_source_connections.source_id, group_source_connections.identifier",
        "identifier",
    ),
    (
        "uq_group_source_connections_group",
        "group_source_connections.group_id, group_source_connections.source_id",
        "group",
    ),
    ("uq_oauth_states_state_hash", "oauth_states.state_hash", "state"),
    ("uq_signing_keys_uuid", "signing_keys.uuid", "uuid"),
    ("uq_signing_keys_kid", "signing_keys.kid", "kid"),
    ("uq_providers_uuid", "providers.uuid", "uuid"),
    ("uq_providers_name", "providers.name", "name"),
    ("uq_providers_client_id", "providers.client_id", "client_id"),
    ("uq_applications_uuid", "applications.uuid", "uuid"),
    ("uq_applications_slug", "applications.slug", "slug"),
    ("uq_applications_provider", "applications.provider_id", "provider"),
    ("uq_oauth_grants_uuid", "oauth_grants.uuid", "uuid"),
    (
        "uq_authorization_codes_code_hash",
        "authorization_codes.code_hash",
        "code",
    ),
    (
        "uq_refresh_tokens_token_hash",
        "refresh_tokens.token_hash",
        "refresh_token",
    ),
    ("uq_revoked_tokens_jti", "revoked_tokens.jti", "jti"),
    (
        "provider_federation_sources_pkey",
        "provider_federation_sources.provider_id, provider_federation_sources.source_id",
        "jwt_federation_sources",
    ),
    ("bootstrap_records_pkey", "bootstrap_records.name", "bootstrap"),
    (
        "group_members_pkey",
        "group_members.group_id, group_members.user_id",
        "users",
    ),
];

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("not found")]
    NotFound,
    /// A UNIQUE constraint refused the write; `field` is the API field it protects.
    #[error("{field} already exists")]
    Unique { field: &'static str, constraint: String },
    /// A row referenced by the write does not exist (or is still referenced on delete).
    #[error("reference violation: {0}")]
    ForeignKey(String),
    /// The database cannot be reached or has gone away: the request may succeed later.
    #[error("database unavailable: {0}")]
    Unavailable(String),
    /// A stored value could not be decoded (corrupt JSON, unknown enum value).
    #[error("corrupt stored data: {0}")]
    Corrupt(String),
    #[error("database error: {0}")]
    Internal(String),
}

impl StoreError {
    pub fn is_unavailable(&self) -> bool {
        matches!(self, Self::Unavailable(_))
    }
}

fn unique_field(constraint: Option<&str>, message: &str) -> (&'static str, String) {
    for (index, columns, field) in UNIQUE_RULES {
        if constraint == Some(*index) || message.contains(columns) {
            return (field, (*index).to_owned());
        }
    }
    tracing::warn!(?constraint, message, "unique violation not mapped to a field");
    ("non_field_errors", constraint.unwrap_or(message).to_owned())
}

/// Errors that mean "the connection or server is gone", in the words libpq and SQLite use.
fn looks_unavailable(message: &str) -> bool {
    const MARKERS: &[&str] = &[
        "server closed the connection",
        "no connection to the server",
        "terminating connection",
        "could not connect",
        "connection refused",
        "connection to server",
        "the database system is shutting down",
        "the database system is starting up",
        "database is locked",
        "SSL connection has been closed",
        "canceling statement due to statement timeout",
    ];
    MARKERS.iter().any(|m| message.contains(m))
}

impl From<DieselError> for StoreError {
    fn from(error: DieselError) -> Self {
        match error {
            DieselError::NotFound => Self::NotFound,
            DieselError::DatabaseError(kind, info) => {
                let message = info.message().to_owned();
                match kind {
                    DatabaseErrorKind::UniqueViolation => {
                        let (field, constraint) = unique_field(info.constraint_name(), &message);
                        Self::Unique { field, constraint }
                    }
                    DatabaseErrorKind::ForeignKeyViolation => Self::ForeignKey(message),
                    DatabaseErrorKind::ClosedConnection => Self::Unavailable(message),
                    DatabaseErrorKind::SerializationFailure => {
                        Self::Unavailable(format!("concurrent update, retry: {message}"))
                    }
                    _ if looks_unavailable(&message) => Self::Unavailable(message),
                    _ => Self::Internal(message),
                }
            }
            DieselError::BrokenTransactionManager => Self::Unavailable("broken transaction".into()),
            DieselError::DeserializationError(e) => Self::Corrupt(e.to_string()),
            other => {
                let message = other.to_string();
                if looks_unavailable(&message) {
                    Self::Unavailable(message)
                } else {
                    Self::Internal(message)
                }
            }
        }
    }
}

impl From<serde_json::Error> for StoreError {
    fn from(error: serde_json::Error) -> Self {
        Self::Corrupt(error.to_string())
    }
}
