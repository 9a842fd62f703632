//! In-flight upstream logins: `state`, nonce and PKCE verifier, bound to the browser that
//! started them, single use, short-lived. Only the SHA-256 of `state` is stored.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::schema::oauth_states;
use super::{DbConn, StoreError};

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = oauth_states)]
pub struct OAuthStateRow {
    pub id: i64,
    pub state_hash: String,
    pub source_id: i64,
    pub browser_hash: String,
    pub nonce: String,
    pub pkce_verifier: String,
    pub redirect_uri: String,
    pub next: Option<String>,
    pub resume_flow_hash: Option<String>,
    pub created: NaiveDateTime,
    pub expires: NaiveDateTime,
}

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = oauth_states)]
pub struct NewOAuthState {
    pub state_hash: String,
    pub source_id: i64,
    pub browser_hash: String,
    pub nonce: String,
    pub pkce_verifier: String,
    pub redirect_uri: String,
    pub next: Option<String>,
    pub resume_flow_hash: Option<String>,
    pub created: NaiveDateTime,
    pub expires: NaiveDateTime,
}

pub fn insert(conn: &mut DbConn, new: &NewOAuthState) -> Result<(), StoreError> {
    diesel::insert_into(oauth_states::table)
        .values(new)
        .execute(conn)?;
    Ok(())
}

/// Takes (reads and deletes) the state with this hash, but only when `accept` approves the row
/// (the browser binding, the source, the expiry): a request from another browser leaves the row
/// in place, so someone who learnt a victim's callback URL cannot void the victim's login. A
/// second callback with the same `state` finds nothing. Returns `None` for an unknown, refused or
/// already used state.
pub fn take_if(
    conn: &mut DbConn,
    state_hash: &str,
    accept: impl FnOnce(&OAuthStateRow) -> bool,
) -> Result<Option<OAuthStateRow>, StoreError> {
    super::write_tx(conn, |conn| {
        let row = oauth_states::table
            .filter(oauth_states::state_hash.eq(state_hash))
            .select(OAuthStateRow::as_select())
            .first(conn)
            .optional()?;
        let Some(row) = row.filter(accept) else {
            return Ok(None);
        };
        // Two callbacks of the same browser at once: only the one that deletes the row goes on.
        let deleted = diesel::delete(oauth_states::table.find(row.id)).execute(conn)?;
        Ok((deleted == 1).then_some(row))
    })
}

pub fn delete_expired(conn: &mut DbConn, now: NaiveDateTime) -> Result<usize, StoreError> {
    Ok(diesel::delete(oauth_states::table.filter(oauth_states::expires.le(now))).execute(conn)?)
}
