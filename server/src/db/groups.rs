//! The `groups` table and memberships seen from the group side.

use std::collections::HashMap;

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::connection::MultiBackend;
use super::ids::{GroupId, UserId};
use super::schema::{group_members, groups, users};
use super::{DbConn, StoreError};

/// Every column in table order, for RETURNING (the struct's fields follow the same order).
const ALL_COLUMNS: <groups::table as diesel::Table>::AllColumns = groups::all_columns;

#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = groups)]
pub struct GroupRow {
    pub id: i64,
    pub uuid: String,
    pub name: String,
    pub is_superuser: bool,
    pub attributes: String,
    pub parent_id: Option<i64>,
    pub created: NaiveDateTime,
    pub updated: NaiveDateTime,
}

impl GroupRow {
    pub fn id(&self) -> GroupId {
        GroupId(self.id)
    }

    pub fn attributes_json(&self) -> serde_json::Value {
        crate::json::parse_or_empty(&self.attributes)
    }
}

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = groups)]
pub struct NewGroup {
    pub uuid: String,
    pub name: String,
    pub is_superuser: bool,
    pub attributes: String,
    pub parent_id: Option<i64>,
    pub created: NaiveDateTime,
    pub updated: NaiveDateTime,
}

impl NewGroup {
    pub fn new(name: &str) -> Self {
        let now = super::time::now();
        Self {
            uuid: uuid::Uuid::new_v4().to_string(),
            name: name.to_owned(),
            is_superuser: false,
            attributes: "{}".into(),
            parent_id: None,
            created: now,
            updated: now,
        }
    }
}

#[derive(Debug, Clone, Default, AsChangeset)]
#[diesel(table_name = groups)]
pub struct GroupChanges {
    pub name: Option<String>,
    pub is_superuser: Option<bool>,
    pub attributes: Option<String>,
    pub parent_id: Option<Option<i64>>,
    pub updated: Option<NaiveDateTime>,
}

pub fn insert(conn: &mut DbConn, new: &NewGroup) -> Result<GroupRow, StoreError> {
    Ok(diesel::insert_into(groups::table)
        .values(new)
        .returning(ALL_COLUMNS)
        .get_result(conn)?)
}

pub fn get(conn: &mut DbConn, id: GroupId) -> Result<GroupRow, StoreError> {
    Ok(groups::table
        .find(id.0)
        .select(GroupRow::as_select())
        .first(conn)?)
}

pub fn get_by_uuid(conn: &mut DbConn, uuid: &str) -> Result<GroupRow, StoreError> {
    Ok(groups::table
        .filter(groups::uuid.eq(uuid))
        .select(GroupRow::as_select())
        .first(conn)?)
}

/// Looks up several groups by UUID; returns the rows found (callers report the missing ones).
pub fn find_by_uuids(conn: &mut DbConn, uuids: &[String]) -> Result<Vec<GroupRow>, StoreError> {
    Ok(groups::table
        .filter(groups::uuid.eq_any(uuids))
        .select(GroupRow::as_select())
        .load(conn)?)
}

pub fn uuids_of(conn: &mut DbConn, ids: &[i64]) -> Result<HashMap<i64, String>, StoreError> {
    let rows: Vec<(i64, String)> = groups::table
        .filter(groups::id.eq_any(ids))
        .select((groups::id, groups::uuid))
        .load(conn)?;
    Ok(rows.into_iter().collect())
}

pub fn update(conn: &mut DbConn, id: GroupId, changes: &GroupChanges) -> Result<GroupRow, StoreError> {
    let mut changes = changes.clone();
    changes.updated = Some(super::time::now());
    Ok(diesel::update(groups::table.find(id.0))
        .set(&changes)
        .returning(ALL_COLUMNS)
        .get_result(conn)?)
}

pub fn delete(conn: &mut DbConn, id: GroupId) -> Result<(), StoreError> {
    match diesel::delete(groups::table.find(id.0)).execute(conn)? {
        0 => Err(StoreError::NotFound),
        _ => Ok(()),
    }
}

/// The ancestors of `parent` (itself first), to refuse a parent that would create a cycle.
pub fn ancestors(conn: &mut DbConn, parent: GroupId) -> Result<Vec<GroupId>, StoreError> {
    let mut chain = Vec::new();
    let mut next = Some(parent.0);
    while let Some(id) = next {
        if chain.contains(&GroupId(id)) || chain.len() > 1000 {
            break;
        }
        chain.push(GroupId(id));
        next = groups::table
            .find(id)
            .select(groups::parent_id)
            .first::<Option<i64>>(conn)
            .optional()?
            .flatten();
    }
    Ok(chain)
}

/// Member user ids of several groups in one query.
pub fn members_of(conn: &mut DbConn, ids: &[GroupId]) -> Result<HashMap<GroupId, Vec<UserId>>, StoreError> {
    let raw: Vec<i64> = ids.iter().map(|g| g.0).collect();
    let rows: Vec<(i64, i64)> = group_members::table
        .filter(group_members::group_id.eq_any(&raw))
        .order(group_members::user_id.asc())
        .select((group_members::group_id, group_members::user_id))
        .load(conn)?;
    let mut out: HashMap<GroupId, Vec<UserId>> = HashMap::new();
    for (group, user) in rows {
        out.entry(GroupId(group)).or_default().push(UserId(user));
    }
    Ok(out)
}

/// Replaces the members of a group, touching only the rows that change.
pub fn set_members(conn: &mut DbConn, group: GroupId, wanted: &[UserId]) -> Result<(), StoreError> {
    let current: Vec<i64> = group_members::table
        .filter(group_members::group_id.eq(group.0))
        .select(group_members::user_id)
        .load(conn)?;
    let mut wanted: Vec<i64> = wanted.iter().map(|u| u.0).collect();
    wanted.sort_unstable();
    wanted.dedup();
    let remove: Vec<i64> = current.iter().copied().filter(|u| !wanted.contains(u)).collect();
    let add: Vec<_> = wanted
        .iter()
        .copied()
        .filter(|u| !current.contains(u))
        .map(|u| (group_members::group_id.eq(group.0), group_members::user_id.eq(u)))
        .collect();
    if !remove.is_empty() {
        diesel::delete(
            group_members::table
                .filter(group_members::group_id.eq(group.0))
                .filter(group_members::user_id.eq_any(&remove)),
        )
        .execute(conn)?;
    }
    for chunk in add.chunks(super::INSERT_CHUNK) {
        crate::per_backend!(conn, |c| diesel::insert_into(group_members::table)
            .values(chunk)
            .execute(c))?;
    }
    Ok(())
}

/// Adds one member; adding an existing member is not an error. Returns whether a row was added.
pub fn add_member(conn: &mut DbConn, group: GroupId, user: UserId) -> Result<bool, StoreError> {
    let exists: i64 = group_members::table
        .filter(group_members::group_id.eq(group.0))
        .filter(group_members::user_id.eq(user.0))
        .count()
        .get_result(conn)?;
    if exists > 0 {
        return Ok(false);
    }
    diesel::insert_into(group_members::table)
        .values((
            group_members::group_id.eq(group.0),
            group_members::user_id.eq(user.0),
        ))
        .execute(conn)?;
    Ok(true)
}

pub fn remove_member(conn: &mut DbConn, group: GroupId, user: UserId) -> Result<bool, StoreError> {
    let removed = diesel::delete(
        group_members::table
            .filter(group_members::group_id.eq(group.0))
            .filter(group_members::user_id.eq(user.0)),
    )
    .execute(conn)?;
    Ok(removed > 0)
}

/// Which of `ids` exist as users (to report unknown member ids by value).
pub fn existing_users(conn: &mut DbConn, ids: &[UserId]) -> Result<Vec<UserId>, StoreError> {
    let raw: Vec<i64> = ids.iter().map(|u| u.0).collect();
    Ok(users::table
        .filter(users::id.eq_any(&raw))
        .select(users::id)
        .load::<i64>(conn)?
        .into_iter()
        .map(UserId)
        .collect())
}

#[derive(Debug, Clone, Default)]
pub struct GroupFilter {
    pub search: Option<String>,
    pub name: Option<String>,
    pub is_superuser: Option<bool>,
    pub member_username: Option<String>,
    pub member_pk: Option<i64>,
}

pub const ORDERING_FIELDS: &[&str] = &["name", "is_superuser", "created"];

fn filtered(filter: &GroupFilter) -> groups::BoxedQuery<'static, MultiBackend> {
    let mut query = groups::table.into_boxed::<MultiBackend>();
    if let Some(term) = &filter.search {
        query = query.filter(
            super::lower(groups::name)
                .like(super::like_pattern(term))
                .escape('\\'),
        );
    }
    if let Some(v) = &filter.name {
        query = query.filter(groups::name.eq(v.clone()));
    }
    if let Some(v) = filter.is_superuser {
        query = query.filter(groups::is_superuser.eq(v));
    }
    if let Some(username) = &filter.member_username {
        let ids = group_members::table
            .inner_join(users::table)
            .filter(users::username_key.eq(super::users::username_key(username)))
            .select(group_members::group_id);
        query = query.filter(groups::id.eq_any(ids));
    }
    if let Some(pk) = filter.member_pk {
        let ids = group_members::table
            .filter(group_members::user_id.eq(pk))
            .select(group_members::group_id);
        query = query.filter(groups::id.eq_any(ids));
    }
    query
}

pub fn list(
    conn: &mut DbConn,
    filter: &GroupFilter,
    ordering: &super::Ordering,
    page: &super::Page,
) -> Result<(Vec<GroupRow>, i64), StoreError> {
    let total: i64 = filtered(filter).count().get_result(conn)?;
    let query = filtered(filter);
    let query = match (ordering.field.as_str(), ordering.descending) {
        ("is_superuser", false) => query.order((groups::is_superuser.asc(), groups::name.asc())),
        ("is_superuser", true) => query.order((groups::is_superuser.desc(), groups::name.asc())),
        ("created", false) => query.order((groups::created.asc(), groups::id.asc())),
        ("created", true) => query.order((groups::created.desc(), groups::id.desc())),
        (_, true) => query.order(groups::name.desc()),
        (_, false) => query.order(groups::name.asc()),
    };
    let rows = query
        .select(GroupRow::as_select())
        .limit(page.limit())
        .offset(page.offset())
        .load(conn)?;
    Ok((rows, total))
}
