//! The `property_mappings` table (Rhai scripts) and their attachment to sources.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::connection::MultiBackend;
use super::schema::{property_mappings, source_property_mappings, sources};
use super::{DbConn, StoreError};

const COLUMNS: <property_mappings::table as diesel::Table>::AllColumns = property_mappings::all_columns;

#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = property_mappings)]
pub struct MappingRow {
    pub id: i64,
    pub uuid: String,
    pub name: String,
    pub kind: String,
    pub expression: String,
    pub managed: Option<String>,
    pub created: NaiveDateTime,
    pub updated: NaiveDateTime,
}

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = property_mappings)]
pub struct NewMapping {
    pub uuid: String,
    pub name: String,
    pub kind: String,
    pub expression: String,
    pub managed: Option<String>,
    pub created: NaiveDateTime,
    pub updated: NaiveDateTime,
}

#[derive(Debug, Clone, Default, AsChangeset)]
#[diesel(table_name = property_mappings)]
pub struct MappingChanges {
    pub name: Option<String>,
    pub expression: Option<String>,
    pub updated: Option<NaiveDateTime>,
}

/// The one kind of mapping there is so far (authentik's `OAuthSourcePropertyMapping`).
pub const SOURCE_OAUTH: &str = "source_oauth";

pub fn insert(conn: &mut DbConn, new: &NewMapping) -> Result<MappingRow, StoreError> {
    Ok(diesel::insert_into(property_mappings::table)
        .values(new)
        .returning(COLUMNS)
        .get_result(conn)?)
}

pub fn by_uuid(conn: &mut DbConn, uuid: &str) -> Result<MappingRow, StoreError> {
    Ok(property_mappings::table
        .filter(property_mappings::uuid.eq(uuid))
        .select(MappingRow::as_select())
        .first(conn)?)
}

pub fn by_managed(conn: &mut DbConn, managed: &str) -> Result<Option<MappingRow>, StoreError> {
    Ok(property_mappings::table
        .filter(property_mappings::managed.eq(managed))
        .select(MappingRow::as_select())
        .first(conn)
        .optional()?)
}

/// Mappings by UUID, in the order asked (unknown UUIDs are left out).
pub fn by_uuids(conn: &mut DbConn, uuids: &[String]) -> Result<Vec<MappingRow>, StoreError> {
    let rows: Vec<MappingRow> = property_mappings::table
        .filter(property_mappings::uuid.eq_any(uuids))
        .select(MappingRow::as_select())
        .load(conn)?;
    Ok(uuids
        .iter()
        .filter_map(|u| rows.iter().find(|r| &r.uuid == u).cloned())
        .collect())
}

pub fn update(conn: &mut DbConn, id: i64, changes: &MappingChanges) -> Result<MappingRow, StoreError> {
    let mut changes = changes.clone();
    changes.updated = Some(super::time::now());
    Ok(diesel::update(property_mappings::table.find(id))
        .set(&changes)
        .returning(COLUMNS)
        .get_result(conn)?)
}

pub fn delete(conn: &mut DbConn, id: i64) -> Result<(), StoreError> {
    match diesel::delete(property_mappings::table.find(id)).execute(conn)? {
        0 => Err(StoreError::NotFound),
        _ => Ok(()),
    }
}

/// Names of the sources a mapping is attached to.
pub fn used_by(conn: &mut DbConn, id: i64) -> Result<Vec<String>, StoreError> {
    Ok(source_property_mappings::table
        .inner_join(sources::table)
        .filter(source_property_mappings::mapping_id.eq(id))
        .select(sources::name)
        .distinct()
        .load(conn)?)
}

#[derive(Debug, Clone, Default)]
pub struct MappingFilter {
    pub search: Option<String>,
    pub name: Option<String>,
    pub managed: Option<bool>,
}

pub const ORDERING_FIELDS: &[&str] = &["name", "created"];

fn filtered(filter: &MappingFilter) -> property_mappings::BoxedQuery<'static, MultiBackend> {
    let mut query = property_mappings::table.into_boxed::<MultiBackend>();
    if let Some(term) = &filter.search {
        query = query.filter(
            super::lower(property_mappings::name)
                .like(super::like_pattern(term))
                .escape('\\'),
        );
    }
    if let Some(v) = &filter.name {
        query = query.filter(property_mappings::name.eq(v.clone()));
    }
    match filter.managed {
        Some(true) => query = query.filter(property_mappings::managed.is_not_null()),
        Some(false) => query = query.filter(property_mappings::managed.is_null()),
        None => {}
    }
    query
}

pub fn list(
    conn: &mut DbConn,
    filter: &MappingFilter,
    ordering: &super::Ordering,
    page: &super::Page,
) -> Result<(Vec<MappingRow>, i64), StoreError> {
    let total: i64 = filtered(filter).count().get_result(conn)?;
    let query = filtered(filter);
    let query = match (ordering.field.as_str(), ordering.descending) {
        ("created", false) => query.order(property_mappings::id.asc()),
        ("created", true) => query.order(property_mappings::id.desc()),
        (_, true) => query.order(property_mappings::name.desc()),
        (_, false) => query.order(property_mappings::name.asc()),
    };
    let rows = query
        .select(MappingRow::as_select())
        .limit(page.limit())
        .offset(page.offset())
        .load(conn)?;
    Ok((rows, total))
}

/// Installs the mappings shipped with Gatehouse: missing ones are created, changed ones updated
/// (they belong to Gatehouse, not to the administrator).
pub fn install_managed(conn: &mut DbConn) -> Result<(), StoreError> {
    let now = super::time::now();
    for shipped in gatehouse_mappings::managed_mappings() {
        match by_managed(conn, shipped.managed)? {
            Some(row) if row.expression == shipped.expression && row.name == shipped.name => {}
            Some(row) => {
                update(
                    conn,
                    row.id,
                    &MappingChanges {
                        name: Some(shipped.name.into()),
                        expression: Some(shipped.expression.into()),
                        updated: None,
                    },
                )?;
            }
            None => {
                insert(
                    conn,
                    &NewMapping {
                        uuid: uuid::Uuid::new_v4().to_string(),
                        name: shipped.name.into(),
                        kind: SOURCE_OAUTH.into(),
                        expression: shipped.expression.into(),
                        managed: Some(shipped.managed.into()),
                        created: now,
                        updated: now,
                    },
                )?;
            }
        }
    }
    Ok(())
}
