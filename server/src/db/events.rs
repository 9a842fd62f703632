//! The `events` table: the audit log of logins, failures and admin changes.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde_json::Value;

use super::connection::MultiBackend;
use super::schema::events;
use super::{DbConn, StoreError};

/// Every column in table order, for RETURNING (the struct's fields follow the same order).
const ALL_COLUMNS: <events::table as diesel::Table>::AllColumns = events::all_columns;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = events)]
pub struct EventRow {
    pub id: i64,
    pub uuid: String,
    pub action: String,
    pub user_pk: Option<i64>,
    pub user_json: Option<String>,
    pub context: String,
    pub client_ip: Option<String>,
    pub created: NaiveDateTime,
}

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = events)]
struct NewEvent<'a> {
    uuid: String,
    action: &'a str,
    user_pk: Option<i64>,
    user_json: Option<String>,
    context: String,
    client_ip: Option<&'a str>,
    created: NaiveDateTime,
}

/// Who did something, as recorded in the event (a snapshot: it survives the user's deletion).
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize, PartialEq)]
pub struct EventUser {
    pub pk: i64,
    pub username: String,
    #[serde(default)]
    pub email: String,
}

/// An event to record.
#[derive(Debug, Clone)]
pub struct Event<'a> {
    pub action: &'a str,
    pub user: Option<EventUser>,
    pub context: Value,
    pub client_ip: Option<&'a str>,
}

pub fn insert(conn: &mut DbConn, event: &Event<'_>) -> Result<EventRow, StoreError> {
    insert_at(conn, event, super::time::now())
}

/// The longest string an event context keeps. Callers already strip and cap upstream text
/// ([`crate::text::upstream_text`]); this is the last line of defence against a string that
/// slipped through filling the table.
pub const MAX_CONTEXT_STRING: usize = 8192;

/// `context` with every string cut to [`MAX_CONTEXT_STRING`] characters.
fn bounded(context: &Value) -> std::borrow::Cow<'_, Value> {
    fn too_long(value: &Value) -> bool {
        match value {
            Value::String(s) => s.len() > MAX_CONTEXT_STRING,
            Value::Array(items) => items.iter().any(too_long),
            Value::Object(map) => map
                .iter()
                .any(|(k, v)| k.len() > MAX_CONTEXT_STRING || too_long(v)),
            _ => false,
        }
    }
    fn cut(value: &Value) -> Value {
        match value {
            Value::String(s) => Value::String(crate::text::cap(s, MAX_CONTEXT_STRING)),
            Value::Array(items) => Value::Array(items.iter().map(cut).collect()),
            Value::Object(map) => Value::Object(
                map.iter()
                    .map(|(k, v)| (crate::text::cap(k, MAX_CONTEXT_STRING), cut(v)))
                    .collect(),
            ),
            other => other.clone(),
        }
    }
    // Almost every context is small: copy only when something is too long.
    if too_long(context) {
        std::borrow::Cow::Owned(cut(context))
    } else {
        std::borrow::Cow::Borrowed(context)
    }
}

/// [`insert`] with an explicit time (housekeeping runs on an injected clock).
pub fn insert_at(
    conn: &mut DbConn,
    event: &Event<'_>,
    created: NaiveDateTime,
) -> Result<EventRow, StoreError> {
    let row = NewEvent {
        uuid: uuid::Uuid::new_v4().to_string(),
        action: event.action,
        user_pk: event.user.as_ref().map(|u| u.pk),
        user_json: event.user.as_ref().map(serde_json::to_string).transpose()?,
        context: serde_json::to_string(&bounded(&event.context))?,
        client_ip: event.client_ip,
        created,
    };
    Ok(diesel::insert_into(events::table)
        .values(&row)
        .returning(ALL_COLUMNS)
        .get_result(conn)?)
}

pub fn get_by_uuid(conn: &mut DbConn, uuid: &str) -> Result<EventRow, StoreError> {
    Ok(events::table
        .filter(events::uuid.eq(uuid))
        .select(EventRow::as_select())
        .first(conn)?)
}

pub fn delete(conn: &mut DbConn, id: i64) -> Result<(), StoreError> {
    match diesel::delete(events::table.find(id)).execute(conn)? {
        0 => Err(StoreError::NotFound),
        _ => Ok(()),
    }
}

#[derive(Debug, Clone, Default)]
pub struct EventFilter {
    pub search: Option<String>,
    pub action: Option<String>,
    pub user_pk: Option<i64>,
    pub username: Option<String>,
    pub client_ip: Option<String>,
    pub created_after: Option<NaiveDateTime>,
    pub created_before: Option<NaiveDateTime>,
}

pub const ORDERING_FIELDS: &[&str] = &["created", "action", "client_ip"];

fn filtered(filter: &EventFilter) -> events::BoxedQuery<'static, MultiBackend> {
    let mut query = events::table.into_boxed::<MultiBackend>();
    if let Some(term) = &filter.search {
        let pattern = super::like_pattern(term);
        query = query.filter(
            events::action
                .like(pattern.clone())
                .escape('\\')
                .or(super::lower(events::context).like(pattern.clone()).escape('\\'))
                .or(super::lower(events::user_json.assume_not_null())
                    .like(pattern)
                    .escape('\\')),
        );
    }
    if let Some(v) = &filter.action {
        query = query.filter(events::action.eq(v.clone()));
    }
    if let Some(v) = filter.user_pk {
        query = query.filter(events::user_pk.eq(v));
    }
    if let Some(v) = &filter.username {
        // user_json is `{"pk":…,"username":"…",…}`; match the serialised field exactly.
        let needle = format!("%\"username\":{}%", serde_json::Value::String(v.clone()));
        query = query.filter(events::user_json.like(needle));
    }
    if let Some(v) = &filter.client_ip {
        query = query.filter(events::client_ip.eq(v.clone()));
    }
    if let Some(v) = filter.created_after {
        query = query.filter(events::created.ge(v));
    }
    if let Some(v) = filter.created_before {
        query = query.filter(events::created.lt(v));
    }
    query
}

pub fn list(
    conn: &mut DbConn,
    filter: &EventFilter,
    ordering: &super::Ordering,
    page: &super::Page,
) -> Result<(Vec<EventRow>, i64), StoreError> {
    let total: i64 = filtered(filter).count().get_result(conn)?;
    let query = filtered(filter);
    let query = match (ordering.field.as_str(), ordering.descending) {
        ("action", false) => query.order((events::action.asc(), events::id.desc())),
        ("action", true) => query.order((events::action.desc(), events::id.desc())),
        ("client_ip", false) => query.order((events::client_ip.asc(), events::id.desc())),
        ("client_ip", true) => query.order((events::client_ip.desc(), events::id.desc())),
        (_, false) => query.order(events::id.asc()),
        (_, true) => query.order(events::id.desc()),
    };
    let rows = query
        .select(EventRow::as_select())
        .limit(page.limit())
        .offset(page.offset())
        .load(conn)?;
    Ok((rows, total))
}

/// Whether an event `action` about source `slug` was recorded since `since`.
pub fn recent_for_source(
    conn: &mut DbConn,
    action: &str,
    slug: &str,
    since: NaiveDateTime,
) -> Result<bool, StoreError> {
    let needle = format!("%\"source\":{}%", serde_json::Value::String(slug.to_owned()));
    let count: i64 = events::table
        .filter(events::action.eq(action))
        .filter(events::created.ge(since))
        .filter(events::context.like(needle))
        .count()
        .get_result(conn)?;
    Ok(count > 0)
}
