//! The `signing_keys` table: the keys Gatehouse signs its tokens with. Private keys are stored
//! encrypted; a rotated key stays published (JWKS) until the tokens it signed have expired.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::schema::{providers, signing_keys};
use super::{DbConn, StoreError};

const COLUMNS: <signing_keys::table as diesel::Table>::AllColumns = signing_keys::all_columns;

#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = signing_keys)]
pub struct SigningKeyRow {
    pub id: i64,
    pub uuid: String,
    pub name: String,
    pub algorithm: String,
    pub kid: String,
    pub private_key: String,
    pub public_jwk: String,
    pub managed: Option<String>,
    pub created: NaiveDateTime,
    pub rotated: Option<NaiveDateTime>,
    pub retire_after: Option<NaiveDateTime>,
}

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = signing_keys)]
pub struct NewSigningKey {
    pub uuid: String,
    pub name: String,
    pub algorithm: String,
    pub kid: String,
    pub private_key: String,
    pub public_jwk: String,
    pub managed: Option<String>,
    pub created: NaiveDateTime,
}

pub fn insert(conn: &mut DbConn, new: &NewSigningKey) -> Result<SigningKeyRow, StoreError> {
    Ok(diesel::insert_into(signing_keys::table)
        .values(new)
        .returning(COLUMNS)
        .get_result(conn)?)
}

pub fn get(conn: &mut DbConn, id: i64) -> Result<SigningKeyRow, StoreError> {
    Ok(signing_keys::table
        .find(id)
        .select(SigningKeyRow::as_select())
        .first(conn)?)
}

pub fn by_uuid(conn: &mut DbConn, uuid: &str) -> Result<SigningKeyRow, StoreError> {
    Ok(signing_keys::table
        .filter(signing_keys::uuid.eq(uuid))
        .select(SigningKeyRow::as_select())
        .first(conn)?)
}

/// The current (not rotated) managed key with this marker, e.g. `gatehouse-default-rs256`.
pub fn current_managed(conn: &mut DbConn, managed: &str) -> Result<Option<SigningKeyRow>, StoreError> {
    Ok(signing_keys::table
        .filter(signing_keys::managed.eq(managed))
        .filter(signing_keys::rotated.is_null())
        .order(signing_keys::id.desc())
        .select(SigningKeyRow::as_select())
        .first(conn)
        .optional()?)
}

/// Every key, newest first.
pub fn all(conn: &mut DbConn) -> Result<Vec<SigningKeyRow>, StoreError> {
    Ok(signing_keys::table
        .order(signing_keys::id.desc())
        .select(SigningKeyRow::as_select())
        .load(conn)?)
}

/// The keys to publish: current ones and rotated ones whose tokens may still be alive.
pub fn published(conn: &mut DbConn, now: NaiveDateTime) -> Result<Vec<SigningKeyRow>, StoreError> {
    Ok(signing_keys::table
        .filter(
            signing_keys::rotated
                .is_null()
                .or(signing_keys::retire_after.gt(now)),
        )
        .order(signing_keys::id.desc())
        .select(SigningKeyRow::as_select())
        .load(conn)?)
}

/// Marks `old` as replaced by `new` (published until `retire_after`) and moves every provider
/// that signed with `old` over to `new`.
pub fn rotate(
    conn: &mut DbConn,
    old: i64,
    new: i64,
    now: NaiveDateTime,
    retire_after: NaiveDateTime,
) -> Result<usize, StoreError> {
    let changed = diesel::update(
        signing_keys::table
            .find(old)
            .filter(signing_keys::rotated.is_null()),
    )
    .set((
        signing_keys::rotated.eq(Some(now)),
        signing_keys::retire_after.eq(Some(retire_after)),
    ))
    .execute(conn)?;
    if changed == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(
        diesel::update(providers::table.filter(providers::signing_key_id.eq(old)))
            .set(providers::signing_key_id.eq(new))
            .execute(conn)?,
    )
}

/// Deletes keys that were rotated out and are no longer published.
pub fn delete_retired(conn: &mut DbConn, now: NaiveDateTime) -> Result<usize, StoreError> {
    let in_use = providers::table.select(providers::signing_key_id);
    Ok(diesel::delete(
        signing_keys::table
            .filter(signing_keys::retire_after.le(now))
            .filter(signing_keys::id.ne_all(in_use)),
    )
    .execute(conn)?)
}

pub fn delete(conn: &mut DbConn, id: i64) -> Result<(), StoreError> {
    match diesel::delete(signing_keys::table.find(id)).execute(conn)? {
        0 => Err(StoreError::NotFound),
        _ => Ok(()),
    }
}
