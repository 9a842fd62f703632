//! The `users` table and group memberships seen from the user side.

use std::collections::HashMap;

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::connection::MultiBackend;
use super::groups::GroupRow;
use super::ids::{GroupId, UserId};
use super::schema::{group_members, groups, users};
use super::{DbConn, StoreError};

/// Every column in table order, for RETURNING (the struct's fields follow the same order).
const ALL_COLUMNS: <users::table as diesel::Table>::AllColumns = users::all_columns;

#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = users)]
pub struct UserRow {
    pub id: i64,
    pub uuid: String,
    pub username: String,
    pub username_key: String,
    pub name: String,
    pub email: String,
    pub email_key: String,
    pub is_active: bool,
    pub is_superuser: bool,
    pub user_type: String,
    pub path: String,
    pub attributes: String,
    pub password_hash: Option<String>,
    pub password_changed: Option<NaiveDateTime>,
    pub last_login: Option<NaiveDateTime>,
    pub created: NaiveDateTime,
    pub updated: NaiveDateTime,
}

impl UserRow {
    pub fn id(&self) -> UserId {
        UserId(self.id)
    }

    pub fn attributes_json(&self) -> serde_json::Value {
        crate::json::parse_or_empty(&self.attributes)
    }
}

/// The key that makes usernames unique regardless of case ("Alice" and "alice" are one account).
pub fn username_key(username: &str) -> String {
    username.to_lowercase()
}

/// The key emails are matched on, case-insensitively.
pub fn email_key(email: &str) -> String {
    email.trim().to_lowercase()
}

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = users)]
pub struct NewUser {
    pub uuid: String,
    pub username: String,
    pub username_key: String,
    pub name: String,
    pub email: String,
    pub email_key: String,
    pub is_active: bool,
    pub is_superuser: bool,
    pub user_type: String,
    pub path: String,
    pub attributes: String,
    pub password_hash: Option<String>,
    pub created: NaiveDateTime,
    pub updated: NaiveDateTime,
}

impl NewUser {
    /// A new active internal user with defaults for everything but the username.
    pub fn new(username: &str) -> Self {
        let now = super::time::now();
        Self {
            uuid: uuid::Uuid::new_v4().to_string(),
            username: username.to_owned(),
            username_key: username_key(username),
            name: String::new(),
            email: String::new(),
            email_key: String::new(),
            is_active: true,
            is_superuser: false,
            user_type: "internal".into(),
            path: "users".into(),
            attributes: "{}".into(),
            password_hash: None,
            created: now,
            updated: now,
        }
    }
}

/// A partial update; `None` leaves a column unchanged.
#[derive(Debug, Clone, Default, AsChangeset)]
#[diesel(table_name = users)]
pub struct UserChanges {
    pub username: Option<String>,
    pub username_key: Option<String>,
    pub name: Option<String>,
    pub email: Option<String>,
    pub email_key: Option<String>,
    pub is_active: Option<bool>,
    pub is_superuser: Option<bool>,
    pub user_type: Option<String>,
    pub path: Option<String>,
    pub attributes: Option<String>,
    pub password_hash: Option<Option<String>>,
    pub password_changed: Option<Option<NaiveDateTime>>,
    pub last_login: Option<Option<NaiveDateTime>>,
    pub updated: Option<NaiveDateTime>,
}

impl UserChanges {
    pub fn set_username(&mut self, username: String) {
        self.username_key = Some(username_key(&username));
        self.username = Some(username);
    }

    pub fn set_email(&mut self, email: String) {
        self.email_key = Some(email_key(&email));
        self.email = Some(email);
    }
}

pub fn insert(conn: &mut DbConn, new: &NewUser) -> Result<UserRow, StoreError> {
    Ok(diesel::insert_into(users::table)
        .values(new)
        .returning(ALL_COLUMNS)
        .get_result(conn)?)
}

pub fn get(conn: &mut DbConn, id: UserId) -> Result<UserRow, StoreError> {
    Ok(users::table.find(id.0).select(UserRow::as_select()).first(conn)?)
}

pub fn by_uuid(conn: &mut DbConn, uuid: &str) -> Result<UserRow, StoreError> {
    Ok(users::table
        .filter(users::uuid.eq(uuid))
        .select(UserRow::as_select())
        .first(conn)?)
}

pub fn find_by_username(conn: &mut DbConn, username: &str) -> Result<Option<UserRow>, StoreError> {
    Ok(users::table
        .filter(users::username_key.eq(username_key(username)))
        .select(UserRow::as_select())
        .first(conn)
        .optional()?)
}

pub fn update(conn: &mut DbConn, id: UserId, changes: &UserChanges) -> Result<UserRow, StoreError> {
    let mut changes = changes.clone();
    changes.updated = Some(super::time::now());
    Ok(diesel::update(users::table.find(id.0))
        .set(&changes)
        .returning(ALL_COLUMNS)
        .get_result(conn)?)
}

pub fn delete(conn: &mut DbConn, id: UserId) -> Result<(), StoreError> {
    match diesel::delete(users::table.find(id.0)).execute(conn)? {
        0 => Err(StoreError::NotFound),
        _ => Ok(()),
    }
}

/// Whether the user is a superuser directly or through a superuser group.
pub fn is_effective_superuser(conn: &mut DbConn, user: &UserRow) -> Result<bool, StoreError> {
    if user.is_superuser {
        return Ok(true);
    }
    let via_group: i64 = group_members::table
        .inner_join(groups::table)
        .filter(group_members::user_id.eq(user.id))
        .filter(groups::is_superuser.eq(true))
        .count()
        .get_result(conn)?;
    Ok(via_group > 0)
}

/// Groups of several users in one query, for list pages.
pub fn groups_of(conn: &mut DbConn, ids: &[UserId]) -> Result<HashMap<UserId, Vec<GroupRow>>, StoreError> {
    let raw: Vec<i64> = ids.iter().map(|id| id.0).collect();
    let rows: Vec<(i64, GroupRow)> = group_members::table
        .inner_join(groups::table)
        .filter(group_members::user_id.eq_any(&raw))
        .order(groups::name.asc())
        .select((group_members::user_id, GroupRow::as_select()))
        .load(conn)?;
    let mut out: HashMap<UserId, Vec<GroupRow>> = HashMap::new();
    for (user, group) in rows {
        out.entry(UserId(user)).or_default().push(group);
    }
    Ok(out)
}

/// Names of a user's groups, alphabetically; at most `limit` when given. For pages and token
/// claims, which need nothing else (a user in thousands of groups is common with Entra ID).
pub fn group_names_of(
    conn: &mut DbConn,
    user: UserId,
    limit: Option<i64>,
) -> Result<Vec<String>, StoreError> {
    let query = group_members::table
        .inner_join(groups::table)
        .filter(group_members::user_id.eq(user.0))
        .order(groups::name.asc())
        .select(groups::name);
    Ok(match limit {
        Some(limit) => query.limit(limit).load(conn)?,
        None => query.load(conn)?,
    })
}

/// How many groups a user is a member of.
pub fn group_count_of(conn: &mut DbConn, user: UserId) -> Result<i64, StoreError> {
    Ok(group_members::table
        .filter(group_members::user_id.eq(user.0))
        .count()
        .get_result(conn)?)
}

/// Replaces a user's memberships with `groups`, touching only the rows that change.
pub fn set_groups(conn: &mut DbConn, user: UserId, wanted: &[GroupId]) -> Result<(), StoreError> {
    let current: Vec<i64> = group_members::table
        .filter(group_members::user_id.eq(user.0))
        .select(group_members::group_id)
        .load(conn)?;
    let wanted: Vec<i64> = {
        let mut w: Vec<i64> = wanted.iter().map(|g| g.0).collect();
        w.sort_unstable();
        w.dedup();
        w
    };
    let remove: Vec<i64> = current.iter().copied().filter(|g| !wanted.contains(g)).collect();
    let add: Vec<(i64, i64)> = wanted
        .iter()
        .copied()
        .filter(|g| !current.contains(g))
        .map(|g| (g, user.0))
        .collect();
    if !remove.is_empty() {
        diesel::delete(
            group_members::table
                .filter(group_members::user_id.eq(user.0))
                .filter(group_members::group_id.eq_any(&remove)),
        )
        .execute(conn)?;
    }
    let values: Vec<_> = add
        .iter()
        .map(|(g, u)| (group_members::group_id.eq(*g), group_members::user_id.eq(*u)))
        .collect();
    for chunk in values.chunks(super::INSERT_CHUNK) {
        crate::per_backend!(conn, |c| diesel::insert_into(group_members::table)
            .values(chunk)
            .execute(c))?;
    }
    Ok(())
}

/// What a user list may be filtered by.
#[derive(Debug, Clone, Default)]
pub struct UserFilter {
    pub search: Option<String>,
    pub username: Option<String>,
    pub email: Option<String>,
    pub is_active: Option<bool>,
    pub is_superuser: Option<bool>,
    pub user_type: Option<String>,
    pub path: Option<String>,
    pub uuid: Option<String>,
    pub group_name: Option<String>,
}

pub const ORDERING_FIELDS: &[&str] = &["pk", "username", "name", "email", "last_login", "date_joined"];

fn filtered(filter: &UserFilter) -> users::BoxedQuery<'static, MultiBackend> {
    let mut query = users::table.into_boxed::<MultiBackend>();
    if let Some(term) = &filter.search {
        let pattern = super::like_pattern(term);
        query = query.filter(
            super::lower(users::username)
                .like(pattern.clone())
                .escape('\\')
                .or(super::lower(users::name).like(pattern.clone()).escape('\\'))
                .or(users::email_key.like(pattern).escape('\\')),
        );
    }
    if let Some(v) = &filter.username {
        query = query.filter(users::username_key.eq(username_key(v)));
    }
    if let Some(v) = &filter.email {
        query = query.filter(users::email_key.eq(email_key(v)));
    }
    if let Some(v) = filter.is_active {
        query = query.filter(users::is_active.eq(v));
    }
    if let Some(v) = filter.is_superuser {
        query = query.filter(users::is_superuser.eq(v));
    }
    if let Some(v) = &filter.user_type {
        query = query.filter(users::user_type.eq(v.clone()));
    }
    if let Some(v) = &filter.path {
        query = query.filter(users::path.eq(v.clone()));
    }
    if let Some(v) = &filter.uuid {
        query = query.filter(users::uuid.eq(v.clone()));
    }
    if let Some(name) = &filter.group_name {
        let members = group_members::table
            .inner_join(groups::table)
            .filter(groups::name.eq(name.clone()))
            .select(group_members::user_id);
        query = query.filter(users::id.eq_any(members));
    }
    query
}

pub fn list(
    conn: &mut DbConn,
    filter: &UserFilter,
    ordering: &super::Ordering,
    page: &super::Page,
) -> Result<(Vec<UserRow>, i64), StoreError> {
    let total: i64 = filtered(filter).count().get_result(conn)?;
    let mut query = filtered(filter);
    query = match (ordering.field.as_str(), ordering.descending) {
        ("username", false) => query.order((users::username_key.asc(), users::id.asc())),
        ("username", true) => query.order((users::username_key.desc(), users::id.desc())),
        ("name", false) => query.order((users::name.asc(), users::id.asc())),
        ("name", true) => query.order((users::name.desc(), users::id.desc())),
        ("email", false) => query.order((users::email_key.asc(), users::id.asc())),
        ("email", true) => query.order((users::email_key.desc(), users::id.desc())),
        ("last_login", false) => query.order((users::last_login.asc(), users::id.asc())),
        ("last_login", true) => query.order((users::last_login.desc(), users::id.desc())),
        ("date_joined", false) => query.order((users::created.asc(), users::id.asc())),
        ("date_joined", true) => query.order((users::created.desc(), users::id.desc())),
        (_, true) => query.order(users::id.desc()),
        (_, false) => query.order(users::id.asc()),
    };
    let rows = query
        .select(UserRow::as_select())
        .limit(page.limit())
        .offset(page.offset())
        .load(conn)?;
    Ok((rows, total))
}

/// Users whose email matches case-insensitively, at most `limit`.
pub fn find_by_email(conn: &mut DbConn, email: &str, limit: i64) -> Result<Vec<UserRow>, StoreError> {
    Ok(users::table
        .filter(users::email_key.eq(email_key(email)))
        .filter(users::email_key.ne(""))
        .select(UserRow::as_select())
        .limit(limit)
        .load(conn)?)
}
