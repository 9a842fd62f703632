//! `user_source_connections` and `group_source_connections`: which local users and groups are
//! which upstream identities.

use diesel::prelude::*;

use super::schema::{sources, user_source_connections};
use super::{DbConn, StoreError};

/// Names of the sources a user is linked to, by name.
pub fn source_names_of(conn: &mut DbConn, user: i64) -> Result<Vec<String>, StoreError> {
    Ok(user_source_connections::table
        .inner_join(sources::table)
        .filter(user_source_connections::user_id.eq(user))
        .order(sources::name.asc())
        .select(sources::name)
        .load(conn)?)
}
