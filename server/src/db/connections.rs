//! `user_source_connections` and `group_source_connections`: which local users and groups are
//! which upstream identities.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::{Deserialize, Serialize};

use super::schema::{group_source_connections, groups, sources, user_source_connections, users};
use super::{DbConn, StoreError};

#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = user_source_connections)]
pub struct UserConnectionRow {
    pub id: i64,
    pub user_id: i64,
    pub source_id: i64,
    pub identifier: String,
    pub access_token: Option<String>,
    pub refresh_token: Option<String>,
    pub expires: Option<NaiveDateTime>,
    pub attributes: String,
    pub created: NaiveDateTime,
    pub last_updated: NaiveDateTime,
    /// [`ConnectionOrigin`] as text.
    pub origin: String,
}

impl UserConnectionRow {
    pub fn origin(&self) -> ConnectionOrigin {
        ConnectionOrigin::parse(&self.origin)
    }
}

/// How a user connection came to be. A linked account existed before the source knew it, so the
/// source does not own its identity: its username (and email) are not rewritten by logins.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConnectionOrigin {
    /// The source's enrollment flow created the account.
    Enrolled,
    /// A matching mode (`email_link`, `username_link`) joined an existing account. The default
    /// when unknown, since it is the side that rewrites nothing.
    #[default]
    Linked,
}

impl ConnectionOrigin {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Enrolled => "enrolled",
            Self::Linked => "linked",
        }
    }

    pub fn parse(text: &str) -> Self {
        if text == "enrolled" {
            Self::Enrolled
        } else {
            Self::Linked
        }
    }
}

#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = group_source_connections)]
pub struct GroupConnectionRow {
    pub id: i64,
    pub group_id: i64,
    pub source_id: i64,
    pub identifier: String,
    pub created: NaiveDateTime,
    pub last_updated: NaiveDateTime,
}

/// Names of the sources a user is linked to, by name.
pub fn source_names_of(conn: &mut DbConn, user: i64) -> Result<Vec<String>, StoreError> {
    Ok(user_source_connections::table
        .inner_join(sources::table)
        .filter(user_source_connections::user_id.eq(user))
        .order(sources::name.asc())
        .select(sources::name)
        .load(conn)?)
}

pub fn user_connection(
    conn: &mut DbConn,
    source: i64,
    identifier: &str,
) -> Result<Option<UserConnectionRow>, StoreError> {
    Ok(user_source_connections::table
        .filter(user_source_connections::source_id.eq(source))
        .filter(user_source_connections::identifier.eq(identifier))
        .select(UserConnectionRow::as_select())
        .first(conn)
        .optional()?)
}

/// The upstream tokens and attributes stored with a connection.
#[derive(Debug, Clone)]
pub struct ConnectionData {
    pub access_token: Option<String>,
    pub refresh_token: Option<String>,
    pub expires: Option<NaiveDateTime>,
    pub attributes: String,
}

/// Why a connection could not be saved.
#[derive(Debug)]
pub enum SaveConnection {
    Saved {
        created: bool,
    },
    /// The user is already linked to a different upstream account of this source.
    UserLinkedElsewhere,
}

/// Creates or refreshes the connection between `user` and `identifier` at `source`; `origin` is
/// recorded when the connection is created and never changed afterwards.
pub fn save_user_connection(
    conn: &mut DbConn,
    source: i64,
    user: i64,
    identifier: &str,
    data: &ConnectionData,
    origin: ConnectionOrigin,
    now: NaiveDateTime,
) -> Result<SaveConnection, StoreError> {
    if let Some(existing) = user_connection(conn, source, identifier)? {
        diesel::update(user_source_connections::table.find(existing.id))
            .set((
                user_source_connections::user_id.eq(user),
                user_source_connections::access_token.eq(&data.access_token),
                user_source_connections::refresh_token.eq(&data.refresh_token),
                user_source_connections::expires.eq(data.expires),
                user_source_connections::attributes.eq(&data.attributes),
                user_source_connections::last_updated.eq(now),
            ))
            .execute(conn)?;
        return Ok(SaveConnection::Saved { created: false });
    }
    let other: i64 = user_source_connections::table
        .filter(user_source_connections::source_id.eq(source))
        .filter(user_source_connections::user_id.eq(user))
        .count()
        .get_result(conn)?;
    if other > 0 {
        return Ok(SaveConnection::UserLinkedElsewhere);
    }
    diesel::insert_into(user_source_connections::table)
        .values((
            user_source_connections::user_id.eq(user),
            user_source_connections::source_id.eq(source),
            user_source_connections::identifier.eq(identifier),
            user_source_connections::access_token.eq(&data.access_token),
            user_source_connections::refresh_token.eq(&data.refresh_token),
            user_source_connections::expires.eq(data.expires),
            user_source_connections::attributes.eq(&data.attributes),
            user_source_connections::created.eq(now),
            user_source_connections::last_updated.eq(now),
            user_source_connections::origin.eq(origin.as_str()),
        ))
        .execute(conn)?;
    Ok(SaveConnection::Saved { created: true })
}

/// Existing group connections of `source` among `identifiers`: (identifier, group id).
pub fn group_connections(
    conn: &mut DbConn,
    source: i64,
    identifiers: &[&str],
) -> Result<Vec<(String, i64)>, StoreError> {
    let mut found = Vec::with_capacity(identifiers.len());
    for chunk in identifiers.chunks(super::INSERT_CHUNK) {
        let rows: Vec<(String, i64)> = group_source_connections::table
            .filter(group_source_connections::source_id.eq(source))
            .filter(group_source_connections::identifier.eq_any(chunk))
            .select((
                group_source_connections::identifier,
                group_source_connections::group_id,
            ))
            .load(conn)?;
        found.extend(rows);
    }
    Ok(found)
}

/// Which of `groups` are linked to any source (under any identifier).
pub fn linked_groups(
    conn: &mut DbConn,
    groups: &[i64],
) -> Result<std::collections::HashSet<i64>, StoreError> {
    let mut linked = std::collections::HashSet::new();
    for chunk in groups.chunks(super::INSERT_CHUNK) {
        let rows: Vec<i64> = group_source_connections::table
            .filter(group_source_connections::group_id.eq_any(chunk))
            .select(group_source_connections::group_id)
            .distinct()
            .load(conn)?;
        linked.extend(rows);
    }
    Ok(linked)
}

/// Links groups to upstream identifiers at `source` (one multi-row INSERT per chunk).
pub fn insert_group_connections(
    conn: &mut DbConn,
    source: i64,
    links: &[(String, i64)],
    now: NaiveDateTime,
) -> Result<(), StoreError> {
    let rows: Vec<_> = links
        .iter()
        .map(|(identifier, group)| {
            (
                group_source_connections::group_id.eq(*group),
                group_source_connections::source_id.eq(source),
                group_source_connections::identifier.eq(identifier.as_str()),
                group_source_connections::created.eq(now),
                group_source_connections::last_updated.eq(now),
            )
        })
        .collect();
    for chunk in rows.chunks(super::INSERT_CHUNK) {
        crate::per_backend!(conn, |c| diesel::insert_into(group_source_connections::table)
            .values(chunk)
            .execute(c))?;
    }
    Ok(())
}

// ---- admin API

/// A user connection with its source's UUID and slug.
pub type UserConnectionView = (UserConnectionRow, String, String);
/// A group connection with its source's UUID and slug and its group's UUID.
pub type GroupConnectionView = (GroupConnectionRow, String, String, String);

#[derive(Debug, Clone, Default)]
pub struct ConnectionFilter {
    pub user: Option<i64>,
    pub group: Option<i64>,
    pub source_slug: Option<String>,
}

pub fn list_user_connections(
    conn: &mut DbConn,
    filter: &ConnectionFilter,
    page: &super::Page,
) -> Result<(Vec<UserConnectionView>, i64), StoreError> {
    let build = || {
        let mut query = user_source_connections::table
            .inner_join(sources::table)
            .inner_join(users::table)
            .into_boxed::<super::MultiBackend>();
        if let Some(user) = filter.user {
            query = query.filter(user_source_connections::user_id.eq(user));
        }
        if let Some(slug) = &filter.source_slug {
            query = query.filter(sources::slug.eq(slug.clone()));
        }
        query
    };
    let total: i64 = build().count().get_result(conn)?;
    let rows = build()
        .order(user_source_connections::id.asc())
        .select((UserConnectionRow::as_select(), sources::uuid, sources::slug))
        .limit(page.limit())
        .offset(page.offset())
        .load(conn)?;
    Ok((rows, total))
}

pub fn user_connection_by_id(
    conn: &mut DbConn,
    id: i64,
) -> Result<(UserConnectionRow, String, String), StoreError> {
    Ok(user_source_connections::table
        .inner_join(sources::table)
        .filter(user_source_connections::id.eq(id))
        .select((UserConnectionRow::as_select(), sources::uuid, sources::slug))
        .first(conn)?)
}

pub fn delete_user_connection(conn: &mut DbConn, id: i64) -> Result<(), StoreError> {
    match diesel::delete(user_source_connections::table.find(id)).execute(conn)? {
        0 => Err(StoreError::NotFound),
        _ => Ok(()),
    }
}

pub fn list_group_connections(
    conn: &mut DbConn,
    filter: &ConnectionFilter,
    page: &super::Page,
) -> Result<(Vec<GroupConnectionView>, i64), StoreError> {
    let build = || {
        let mut query = group_source_connections::table
            .inner_join(sources::table)
            .inner_join(groups::table)
            .into_boxed::<super::MultiBackend>();
        if let Some(group) = filter.group {
            query = query.filter(group_source_connections::group_id.eq(group));
        }
        if let Some(slug) = &filter.source_slug {
            query = query.filter(sources::slug.eq(slug.clone()));
        }
        query
    };
    let total: i64 = build().count().get_result(conn)?;
    let rows = build()
        .order(group_source_connections::id.asc())
        .select((
            GroupConnectionRow::as_select(),
            sources::uuid,
            sources::slug,
            groups::uuid,
        ))
        .limit(page.limit())
        .offset(page.offset())
        .load(conn)?;
    Ok((rows, total))
}

pub fn group_connection_by_id(conn: &mut DbConn, id: i64) -> Result<GroupConnectionView, StoreError> {
    Ok(group_source_connections::table
        .inner_join(sources::table)
        .inner_join(groups::table)
        .filter(group_source_connections::id.eq(id))
        .select((
            GroupConnectionRow::as_select(),
            sources::uuid,
            sources::slug,
            groups::uuid,
        ))
        .first(conn)?)
}

pub fn delete_group_connection(conn: &mut DbConn, id: i64) -> Result<(), StoreError> {
    match diesel::delete(group_source_connections::table.find(id)).execute(conn)? {
        0 => Err(StoreError::NotFound),
        _ => Ok(()),
    }
}
