//! The `api_tokens` table. Only a SHA-256 hash of each key is stored.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::connection::MultiBackend;
use super::ids::UserId;
use super::schema::{api_tokens, users};
use super::users::UserRow;
use super::{DbConn, StoreError};

/// Every column in table order, for RETURNING (the struct's fields follow the same order).
const ALL_COLUMNS: <api_tokens::table as diesel::Table>::AllColumns = api_tokens::all_columns;

#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = api_tokens)]
pub struct TokenRow {
    pub id: i64,
    pub identifier: String,
    pub key_hash: String,
    pub user_id: i64,
    pub intent: String,
    pub description: String,
    pub expires: Option<NaiveDateTime>,
    pub managed: Option<String>,
    pub created: NaiveDateTime,
    pub last_used: Option<NaiveDateTime>,
}

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = api_tokens)]
pub struct NewToken {
    pub identifier: String,
    pub key_hash: String,
    pub user_id: i64,
    pub intent: String,
    pub description: String,
    pub expires: Option<NaiveDateTime>,
    pub managed: Option<String>,
    pub created: NaiveDateTime,
}

#[derive(Debug, Clone, Default, AsChangeset)]
#[diesel(table_name = api_tokens)]
pub struct TokenChanges {
    pub key_hash: Option<String>,
    pub user_id: Option<i64>,
    pub description: Option<String>,
    pub expires: Option<Option<NaiveDateTime>>,
}

pub fn insert(conn: &mut DbConn, new: &NewToken) -> Result<TokenRow, StoreError> {
    Ok(diesel::insert_into(api_tokens::table)
        .values(new)
        .returning(ALL_COLUMNS)
        .get_result(conn)?)
}

pub fn find_by_identifier(conn: &mut DbConn, identifier: &str) -> Result<Option<TokenRow>, StoreError> {
    Ok(api_tokens::table
        .filter(api_tokens::identifier.eq(identifier))
        .select(TokenRow::as_select())
        .first(conn)
        .optional()?)
}

/// The token with this key hash and its user, if the token exists.
pub fn authenticate(conn: &mut DbConn, key_hash: &str) -> Result<Option<(TokenRow, UserRow)>, StoreError> {
    Ok(api_tokens::table
        .inner_join(users::table)
        .filter(api_tokens::key_hash.eq(key_hash))
        .select((TokenRow::as_select(), UserRow::as_select()))
        .first(conn)
        .optional()?)
}

pub fn update(conn: &mut DbConn, id: i64, changes: &TokenChanges) -> Result<TokenRow, StoreError> {
    Ok(diesel::update(api_tokens::table.find(id))
        .set(changes)
        .returning(ALL_COLUMNS)
        .get_result(conn)?)
}

pub fn touch(conn: &mut DbConn, id: i64, at: NaiveDateTime) -> Result<(), StoreError> {
    diesel::update(api_tokens::table.find(id))
        .set(api_tokens::last_used.eq(Some(at)))
        .execute(conn)?;
    Ok(())
}

pub fn delete(conn: &mut DbConn, id: i64) -> Result<(), StoreError> {
    match diesel::delete(api_tokens::table.find(id)).execute(conn)? {
        0 => Err(StoreError::NotFound),
        _ => Ok(()),
    }
}

#[derive(Debug, Clone, Default)]
pub struct TokenFilter {
    pub search: Option<String>,
    pub identifier: Option<String>,
    pub user: Option<UserId>,
    pub intent: Option<String>,
}

pub const ORDERING_FIELDS: &[&str] = &["identifier", "expires", "created"];

fn filtered(filter: &TokenFilter) -> api_tokens::BoxedQuery<'static, MultiBackend> {
    let mut query = api_tokens::table.into_boxed::<MultiBackend>();
    if let Some(term) = &filter.search {
        let pattern = super::like_pattern(term);
        query = query.filter(
            super::lower(api_tokens::identifier)
                .like(pattern.clone())
                .escape('\\')
                .or(super::lower(api_tokens::description).like(pattern).escape('\\')),
        );
    }
    if let Some(v) = &filter.identifier {
        query = query.filter(api_tokens::identifier.eq(v.clone()));
    }
    if let Some(v) = filter.user {
        query = query.filter(api_tokens::user_id.eq(v.0));
    }
    if let Some(v) = &filter.intent {
        query = query.filter(api_tokens::intent.eq(v.clone()));
    }
    query
}

pub fn list(
    conn: &mut DbConn,
    filter: &TokenFilter,
    ordering: &super::Ordering,
    page: &super::Page,
) -> Result<(Vec<TokenRow>, i64), StoreError> {
    let total: i64 = filtered(filter).count().get_result(conn)?;
    let query = filtered(filter);
    let query = match (ordering.field.as_str(), ordering.descending) {
        ("expires", false) => query.order((api_tokens::expires.asc(), api_tokens::id.asc())),
        ("expires", true) => query.order((api_tokens::expires.desc(), api_tokens::id.desc())),
        ("created", false) => query.order(api_tokens::id.asc()),
        ("created", true) => query.order(api_tokens::id.desc()),
        (_, true) => query.order(api_tokens::identifier.desc()),
        (_, false) => query.order(api_tokens::identifier.asc()),
    };
    let rows = query
        .select(TokenRow::as_select())
        .limit(page.limit())
        .offset(page.offset())
        .load(conn)?;
    Ok((rows, total))
}
