//! Browser sessions: creation at login, lookup from the cookie, logout. The cookie value is a
//! random 256-bit token; the database keeps only its SHA-256.

use chrono::{Duration, NaiveDateTime};

use crate::crypto;
use crate::db::sessions::{self, NewSession};
use crate::db::users::UserRow;
use crate::db::{DbConn, StoreError};
use crate::http::client::ClientInfo;

pub const SESSION_COOKIE: &str = "gatehouse_session";

/// Creates a session for `user` and returns the cookie value.
pub fn create(
    conn: &mut DbConn,
    user: &UserRow,
    duration: Duration,
    client: &ClientInfo,
    now: NaiveDateTime,
) -> Result<String, StoreError> {
    let token = crypto::random_token(32).map_err(|e| StoreError::Internal(e.to_string()))?;
    sessions::insert(
        conn,
        &NewSession {
            key_hash: crypto::hash_key(&token),
            user_id: user.id,
            created: now,
            expires: now + duration,
            last_seen: now,
            ip: client.ip.clone(),
            user_agent: client.user_agent.clone(),
        },
    )?;
    Ok(token)
}

/// The user of a live session cookie. A tampered, unknown or expired cookie is simply no session.
pub fn resolve(conn: &mut DbConn, cookie: &str, now: NaiveDateTime) -> Result<Option<UserRow>, StoreError> {
    Ok(resolve_with_login_time(conn, cookie, now)?.map(|(user, _)| user))
}

/// The user of a live session cookie and when they logged in (the session's creation: OIDC
/// `auth_time`, checked against `max_age`).
pub fn resolve_with_login_time(
    conn: &mut DbConn,
    cookie: &str,
    now: NaiveDateTime,
) -> Result<Option<(UserRow, NaiveDateTime)>, StoreError> {
    if cookie.is_empty() || cookie.len() > 128 {
        return Ok(None);
    }
    let Some((session, user)) = sessions::find_live(conn, &crypto::hash_key(cookie), now)? else {
        return Ok(None);
    };
    // Writing on every request would turn page views into writes; a minute's precision is enough.
    if now - session.last_seen > Duration::seconds(60) {
        sessions::touch(conn, session.id, now)?;
    }
    Ok(Some((user, session.created)))
}

/// Ends the session behind a cookie (server-side: the cookie stops working everywhere).
pub fn end(conn: &mut DbConn, cookie: &str) -> Result<bool, StoreError> {
    Ok(sessions::delete_by_hash(conn, &crypto::hash_key(cookie))? > 0)
}

/// Marks the session behind `cookie` as the answer to the re-authentication marker `nonce`.
pub fn mark_reauthenticated(conn: &mut DbConn, cookie: &str, nonce: &str) -> Result<(), StoreError> {
    sessions::set_reauth_nonce(conn, &crypto::hash_key(cookie), &crypto::hash_key(nonce))
}

/// Uses up the re-authentication marker `nonce` on the session behind `cookie`: true once, and
/// only for the session created by the login the marker asked for.
pub fn take_reauthentication(conn: &mut DbConn, cookie: &str, nonce: &str) -> Result<bool, StoreError> {
    if cookie.is_empty() || cookie.len() > 128 {
        return Ok(false);
    }
    sessions::take_reauth_nonce(conn, &crypto::hash_key(cookie), &crypto::hash_key(nonce))
}
