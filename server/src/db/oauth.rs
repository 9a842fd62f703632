//! Short-lived state of Gatehouse's OAuth2 provider: authorization codes, grants (one per
//! redeemed code), refresh tokens and revoked access tokens. Codes and tokens are stored as
//! SHA-256 hashes only.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::schema::{authorization_codes, oauth_grants, refresh_tokens, revoked_tokens};
use super::{DbConn, StoreError};

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = authorization_codes)]
pub struct NewCode {
    pub code_hash: String,
    pub provider_id: i64,
    pub user_id: i64,
    pub redirect_uri: String,
    pub scope: String,
    pub nonce: Option<String>,
    pub code_challenge: Option<String>,
    pub code_challenge_method: Option<String>,
    pub auth_time: NaiveDateTime,
    pub created: NaiveDateTime,
    pub expires: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = authorization_codes)]
pub struct CodeRow {
    pub id: i64,
    pub code_hash: String,
    pub provider_id: i64,
    pub user_id: i64,
    pub redirect_uri: String,
    pub scope: String,
    pub nonce: Option<String>,
    pub code_challenge: Option<String>,
    pub code_challenge_method: Option<String>,
    pub auth_time: NaiveDateTime,
    pub grant_id: Option<i64>,
    pub used: bool,
    pub created: NaiveDateTime,
    pub expires: NaiveDateTime,
}

pub fn insert_code(conn: &mut DbConn, new: &NewCode) -> Result<(), StoreError> {
    diesel::insert_into(authorization_codes::table)
        .values(new)
        .execute(conn)?;
    Ok(())
}

pub fn code_by_hash(conn: &mut DbConn, hash: &str) -> Result<Option<CodeRow>, StoreError> {
    Ok(authorization_codes::table
        .filter(authorization_codes::code_hash.eq(hash))
        .select(CodeRow::as_select())
        .first(conn)
        .optional()?)
}

/// Marks a code used, linking the grant it created. False when it was already used (a
/// concurrent redemption won).
pub fn claim_code(conn: &mut DbConn, id: i64, grant: i64) -> Result<bool, StoreError> {
    Ok(diesel::update(
        authorization_codes::table
            .find(id)
            .filter(authorization_codes::used.eq(false)),
    )
    .set((
        authorization_codes::used.eq(true),
        authorization_codes::grant_id.eq(Some(grant)),
    ))
    .execute(conn)?
        == 1)
}

/// Marks a code used without redeeming it (a failed PKCE check burns the code).
pub fn burn_code(conn: &mut DbConn, id: i64) -> Result<(), StoreError> {
    diesel::update(authorization_codes::table.find(id))
        .set(authorization_codes::used.eq(true))
        .execute(conn)?;
    Ok(())
}

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = oauth_grants)]
pub struct NewGrant {
    pub uuid: String,
    pub provider_id: i64,
    pub user_id: i64,
    pub scope: String,
    pub nonce: Option<String>,
    pub auth_time: NaiveDateTime,
    pub created: NaiveDateTime,
    pub expires: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = oauth_grants)]
pub struct GrantRow {
    pub id: i64,
    pub uuid: String,
    pub provider_id: i64,
    pub user_id: i64,
    pub scope: String,
    pub nonce: Option<String>,
    pub auth_time: NaiveDateTime,
    pub revoked: bool,
    pub created: NaiveDateTime,
    pub expires: NaiveDateTime,
}

pub fn insert_grant(conn: &mut DbConn, new: &NewGrant) -> Result<GrantRow, StoreError> {
    Ok(diesel::insert_into(oauth_grants::table)
        .values(new)
        .returning(oauth_grants::all_columns)
        .get_result(conn)?)
}

pub fn grant(conn: &mut DbConn, id: i64) -> Result<GrantRow, StoreError> {
    Ok(oauth_grants::table
        .find(id)
        .select(GrantRow::as_select())
        .first(conn)?)
}

/// Whether the grant with this uuid is still good (exists, not revoked).
pub fn grant_live(conn: &mut DbConn, uuid: &str) -> Result<bool, StoreError> {
    let revoked: Option<bool> = oauth_grants::table
        .filter(oauth_grants::uuid.eq(uuid))
        .select(oauth_grants::revoked)
        .first(conn)
        .optional()?;
    Ok(revoked == Some(false))
}

/// Revokes a grant: its refresh tokens stop working, and the access tokens it issued stop
/// passing introspection and userinfo.
pub fn revoke_grant(conn: &mut DbConn, id: i64) -> Result<(), StoreError> {
    diesel::update(oauth_grants::table.find(id))
        .set(oauth_grants::revoked.eq(true))
        .execute(conn)?;
    Ok(())
}

pub fn insert_refresh_token(
    conn: &mut DbConn,
    hash: &str,
    grant: i64,
    now: NaiveDateTime,
    expires: NaiveDateTime,
) -> Result<(), StoreError> {
    diesel::insert_into(refresh_tokens::table)
        .values((
            refresh_tokens::token_hash.eq(hash),
            refresh_tokens::grant_id.eq(grant),
            refresh_tokens::created.eq(now),
            refresh_tokens::expires.eq(expires),
        ))
        .execute(conn)?;
    Ok(())
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = refresh_tokens)]
pub struct RefreshRow {
    pub id: i64,
    pub token_hash: String,
    pub grant_id: i64,
    pub rotated: bool,
    pub created: NaiveDateTime,
    pub expires: NaiveDateTime,
}

pub fn refresh_by_hash(conn: &mut DbConn, hash: &str) -> Result<Option<(RefreshRow, GrantRow)>, StoreError> {
    Ok(refresh_tokens::table
        .inner_join(oauth_grants::table)
        .filter(refresh_tokens::token_hash.eq(hash))
        .select((RefreshRow::as_select(), GrantRow::as_select()))
        .first(conn)
        .optional()?)
}

/// Marks a refresh token as exchanged. False when a concurrent exchange won.
pub fn rotate_refresh(conn: &mut DbConn, id: i64) -> Result<bool, StoreError> {
    Ok(diesel::update(
        refresh_tokens::table
            .find(id)
            .filter(refresh_tokens::rotated.eq(false)),
    )
    .set(refresh_tokens::rotated.eq(true))
    .execute(conn)?
        == 1)
}

/// Records a revoked access token until it would have expired anyway.
pub fn revoke_jti(conn: &mut DbConn, jti: &str, expires: NaiveDateTime) -> Result<(), StoreError> {
    crate::per_backend!(conn, |c| {
        diesel::insert_into(revoked_tokens::table)
            .values((revoked_tokens::jti.eq(jti), revoked_tokens::expires.eq(expires)))
            .on_conflict_do_nothing()
            .execute(c)
    })?;
    Ok(())
}

pub fn jti_revoked(conn: &mut DbConn, jti: &str) -> Result<bool, StoreError> {
    Ok(diesel::select(diesel::dsl::exists(
        revoked_tokens::table.filter(revoked_tokens::jti.eq(jti)),
    ))
    .get_result(conn)?)
}

/// Housekeeping: drops expired codes, grants (with their refresh tokens) and revocations.
pub fn delete_expired(conn: &mut DbConn, now: NaiveDateTime) -> Result<usize, StoreError> {
    let codes = diesel::delete(authorization_codes::table.filter(authorization_codes::expires.le(now)))
        .execute(conn)?;
    let refresh =
        diesel::delete(refresh_tokens::table.filter(refresh_tokens::expires.le(now))).execute(conn)?;
    let grants = diesel::delete(oauth_grants::table.filter(oauth_grants::expires.le(now))).execute(conn)?;
    let revoked =
        diesel::delete(revoked_tokens::table.filter(revoked_tokens::expires.le(now))).execute(conn)?;
    Ok(codes + refresh + grants + revoked)
}

/// Pushes a grant's expiry out to its newest refresh token's.
pub fn extend_grant(conn: &mut DbConn, id: i64, expires: NaiveDateTime) -> Result<(), StoreError> {
    diesel::update(
        oauth_grants::table
            .find(id)
            .filter(oauth_grants::expires.lt(expires)),
    )
    .set(oauth_grants::expires.eq(expires))
    .execute(conn)?;
    Ok(())
}
