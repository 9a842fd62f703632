//! Browser sessions. The cookie holds a random 256-bit value; only its SHA-256 is stored, so a
//! copy of the table cannot be replayed as cookies.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::schema::{sessions, users};
use super::users::UserRow;
use super::{DbConn, StoreError};

#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = sessions)]
pub struct SessionRow {
    pub id: i64,
    pub key_hash: String,
    pub user_id: i64,
    pub created: NaiveDateTime,
    pub expires: NaiveDateTime,
    pub last_seen: NaiveDateTime,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
}

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = sessions)]
pub struct NewSession {
    pub key_hash: String,
    pub user_id: i64,
    pub created: NaiveDateTime,
    pub expires: NaiveDateTime,
    pub last_seen: NaiveDateTime,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
}

pub fn insert(conn: &mut DbConn, new: &NewSession) -> Result<(), StoreError> {
    diesel::insert_into(sessions::table).values(new).execute(conn)?;
    Ok(())
}

/// The live session with this key hash and its (active) user.
pub fn find_live(
    conn: &mut DbConn,
    key_hash: &str,
    now: NaiveDateTime,
) -> Result<Option<(SessionRow, UserRow)>, StoreError> {
    Ok(sessions::table
        .inner_join(users::table)
        .filter(sessions::key_hash.eq(key_hash))
        .filter(sessions::expires.gt(now))
        .filter(users::is_active.eq(true))
        .select((SessionRow::as_select(), UserRow::as_select()))
        .first(conn)
        .optional()?)
}

pub fn touch(conn: &mut DbConn, id: i64, now: NaiveDateTime) -> Result<(), StoreError> {
    diesel::update(sessions::table.find(id))
        .set(sessions::last_seen.eq(now))
        .execute(conn)?;
    Ok(())
}

/// Records that the session behind `key_hash` was created by the login a re-authentication
/// marker asked for (`nonce_hash`: the SHA-256 of the marker's nonce).
pub fn set_reauth_nonce(conn: &mut DbConn, key_hash: &str, nonce_hash: &str) -> Result<(), StoreError> {
    diesel::update(sessions::table.filter(sessions::key_hash.eq(key_hash)))
        .set(sessions::reauth_nonce.eq(Some(nonce_hash)))
        .execute(conn)?;
    Ok(())
}

/// Takes the session's re-authentication nonce if it is `nonce_hash`, in one statement, so that
/// two requests with the same marker cannot both use it. Returns whether this one did.
pub fn take_reauth_nonce(conn: &mut DbConn, key_hash: &str, nonce_hash: &str) -> Result<bool, StoreError> {
    let updated = diesel::update(
        sessions::table
            .filter(sessions::key_hash.eq(key_hash))
            .filter(sessions::reauth_nonce.eq(nonce_hash)),
    )
    .set(sessions::reauth_nonce.eq(None::<String>))
    .execute(conn)?;
    Ok(updated == 1)
}

pub fn delete_by_hash(conn: &mut DbConn, key_hash: &str) -> Result<usize, StoreError> {
    Ok(diesel::delete(sessions::table.filter(sessions::key_hash.eq(key_hash))).execute(conn)?)
}

pub fn delete_for_user(conn: &mut DbConn, user_id: i64) -> Result<usize, StoreError> {
    Ok(diesel::delete(sessions::table.filter(sessions::user_id.eq(user_id))).execute(conn)?)
}

pub fn count_for_user(conn: &mut DbConn, user_id: i64) -> Result<i64, StoreError> {
    Ok(sessions::table
        .filter(sessions::user_id.eq(user_id))
        .count()
        .get_result(conn)?)
}

pub fn delete_expired(conn: &mut DbConn, now: NaiveDateTime) -> Result<usize, StoreError> {
    Ok(diesel::delete(sessions::table.filter(sessions::expires.le(now))).execute(conn)?)
}
