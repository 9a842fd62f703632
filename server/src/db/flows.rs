//! The `flows`, `stages` and `flow_stage_bindings` tables.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::connection::MultiBackend;
use super::schema::{flow_stage_bindings, flows, stages};
use super::{DbConn, StoreError};

const FLOW_COLUMNS: <flows::table as diesel::Table>::AllColumns = flows::all_columns;
const STAGE_COLUMNS: <stages::table as diesel::Table>::AllColumns = stages::all_columns;
const BINDING_COLUMNS: <flow_stage_bindings::table as diesel::Table>::AllColumns =
    flow_stage_bindings::all_columns;

#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = flows)]
pub struct FlowRow {
    pub id: i64,
    pub uuid: String,
    pub slug: String,
    pub name: String,
    pub title: String,
    pub designation: String,
    pub authentication: String,
    pub managed: Option<String>,
    pub created: NaiveDateTime,
    pub updated: NaiveDateTime,
}

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = flows)]
pub struct NewFlow {
    pub uuid: String,
    pub slug: String,
    pub name: String,
    pub title: String,
    pub designation: String,
    pub authentication: String,
    pub managed: Option<String>,
    pub created: NaiveDateTime,
    pub updated: NaiveDateTime,
}

#[derive(Debug, Clone, Default, AsChangeset)]
#[diesel(table_name = flows)]
pub struct FlowChanges {
    pub slug: Option<String>,
    pub name: Option<String>,
    pub title: Option<String>,
    pub designation: Option<String>,
    pub authentication: Option<String>,
    pub updated: Option<NaiveDateTime>,
}

#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = stages)]
pub struct StageRow {
    pub id: i64,
    pub uuid: String,
    pub name: String,
    pub kind: String,
    pub settings: String,
    pub managed: Option<String>,
    pub created: NaiveDateTime,
    pub updated: NaiveDateTime,
}

impl StageRow {
    pub fn settings_json(&self) -> serde_json::Value {
        serde_json::from_str(&self.settings).unwrap_or_else(|_| serde_json::json!({}))
    }
}

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = stages)]
pub struct NewStage {
    pub uuid: String,
    pub name: String,
    pub kind: String,
    pub settings: String,
    pub managed: Option<String>,
    pub created: NaiveDateTime,
    pub updated: NaiveDateTime,
}

#[derive(Debug, Clone, Default, AsChangeset)]
#[diesel(table_name = stages)]
pub struct StageChanges {
    pub name: Option<String>,
    pub settings: Option<String>,
    pub updated: Option<NaiveDateTime>,
}

#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = flow_stage_bindings)]
pub struct BindingRow {
    pub id: i64,
    pub uuid: String,
    pub flow_id: i64,
    pub stage_id: i64,
    pub binding_order: i32,
    pub created: NaiveDateTime,
}

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = flow_stage_bindings)]
pub struct NewBinding {
    pub uuid: String,
    pub flow_id: i64,
    pub stage_id: i64,
    pub binding_order: i32,
    pub created: NaiveDateTime,
}

#[derive(Debug, Clone, Default, AsChangeset)]
#[diesel(table_name = flow_stage_bindings)]
pub struct BindingChanges {
    pub flow_id: Option<i64>,
    pub stage_id: Option<i64>,
    pub binding_order: Option<i32>,
}

// ---- flows

pub fn insert_flow(conn: &mut DbConn, new: &NewFlow) -> Result<FlowRow, StoreError> {
    Ok(diesel::insert_into(flows::table)
        .values(new)
        .returning(FLOW_COLUMNS)
        .get_result(conn)?)
}

pub fn flow_by_slug(conn: &mut DbConn, slug: &str) -> Result<FlowRow, StoreError> {
    Ok(flows::table
        .filter(flows::slug.eq(slug))
        .select(FlowRow::as_select())
        .first(conn)?)
}

pub fn flow_by_uuid(conn: &mut DbConn, uuid: &str) -> Result<FlowRow, StoreError> {
    Ok(flows::table
        .filter(flows::uuid.eq(uuid))
        .select(FlowRow::as_select())
        .first(conn)?)
}

pub fn flow_by_id(conn: &mut DbConn, id: i64) -> Result<FlowRow, StoreError> {
    Ok(flows::table.find(id).select(FlowRow::as_select()).first(conn)?)
}

pub fn update_flow(conn: &mut DbConn, id: i64, changes: &FlowChanges) -> Result<FlowRow, StoreError> {
    let mut changes = changes.clone();
    changes.updated = Some(super::time::now());
    Ok(diesel::update(flows::table.find(id))
        .set(&changes)
        .returning(FLOW_COLUMNS)
        .get_result(conn)?)
}

pub fn delete_flow(conn: &mut DbConn, id: i64) -> Result<(), StoreError> {
    match diesel::delete(flows::table.find(id)).execute(conn)? {
        0 => Err(StoreError::NotFound),
        _ => Ok(()),
    }
}

#[derive(Debug, Clone, Default)]
pub struct FlowFilter {
    pub search: Option<String>,
    pub slug: Option<String>,
    pub designation: Option<String>,
}

pub const FLOW_ORDERING: &[&str] = &["slug", "name", "designation", "created"];

fn filtered_flows(filter: &FlowFilter) -> flows::BoxedQuery<'static, MultiBackend> {
    let mut query = flows::table.into_boxed::<MultiBackend>();
    if let Some(term) = &filter.search {
        let pattern = super::like_pattern(term);
        query = query.filter(
            super::lower(flows::slug)
                .like(pattern.clone())
                .escape('\\')
                .or(super::lower(flows::name).like(pattern.clone()).escape('\\'))
                .or(super::lower(flows::title).like(pattern).escape('\\')),
        );
    }
    if let Some(v) = &filter.slug {
        query = query.filter(flows::slug.eq(v.clone()));
    }
    if let Some(v) = &filter.designation {
        query = query.filter(flows::designation.eq(v.clone()));
    }
    query
}

pub fn list_flows(
    conn: &mut DbConn,
    filter: &FlowFilter,
    ordering: &super::Ordering,
    page: &super::Page,
) -> Result<(Vec<FlowRow>, i64), StoreError> {
    let total: i64 = filtered_flows(filter).count().get_result(conn)?;
    let query = filtered_flows(filter);
    let query = match (ordering.field.as_str(), ordering.descending) {
        ("name", false) => query.order((flows::name.asc(), flows::id.asc())),
        ("name", true) => query.order((flows::name.desc(), flows::id.desc())),
        ("designation", false) => query.order((flows::designation.asc(), flows::slug.asc())),
        ("designation", true) => query.order((flows::designation.desc(), flows::slug.asc())),
        ("created", false) => query.order(flows::id.asc()),
        ("created", true) => query.order(flows::id.desc()),
        (_, true) => query.order(flows::slug.desc()),
        (_, false) => query.order(flows::slug.asc()),
    };
    let rows = query
        .select(FlowRow::as_select())
        .limit(page.limit())
        .offset(page.offset())
        .load(conn)?;
    Ok((rows, total))
}

// ---- stages

pub fn insert_stage(conn: &mut DbConn, new: &NewStage) -> Result<StageRow, StoreError> {
    Ok(diesel::insert_into(stages::table)
        .values(new)
        .returning(STAGE_COLUMNS)
        .get_result(conn)?)
}

pub fn stage_by_uuid(conn: &mut DbConn, uuid: &str) -> Result<StageRow, StoreError> {
    Ok(stages::table
        .filter(stages::uuid.eq(uuid))
        .select(StageRow::as_select())
        .first(conn)?)
}

pub fn stage_by_name(conn: &mut DbConn, name: &str) -> Result<Option<StageRow>, StoreError> {
    Ok(stages::table
        .filter(stages::name.eq(name))
        .select(StageRow::as_select())
        .first(conn)
        .optional()?)
}

pub fn update_stage(conn: &mut DbConn, id: i64, changes: &StageChanges) -> Result<StageRow, StoreError> {
    let mut changes = changes.clone();
    changes.updated = Some(super::time::now());
    Ok(diesel::update(stages::table.find(id))
        .set(&changes)
        .returning(STAGE_COLUMNS)
        .get_result(conn)?)
}

pub fn delete_stage(conn: &mut DbConn, id: i64) -> Result<(), StoreError> {
    match diesel::delete(stages::table.find(id)).execute(conn)? {
        0 => Err(StoreError::NotFound),
        _ => Ok(()),
    }
}

/// Stages whose settings mention `needle` (a UUID), to find references before a delete.
pub fn stages_mentioning(conn: &mut DbConn, needle: &str) -> Result<Vec<StageRow>, StoreError> {
    Ok(stages::table
        .filter(stages::settings.like(format!("%{needle}%")))
        .select(StageRow::as_select())
        .load(conn)?)
}

#[derive(Debug, Clone, Default)]
pub struct StageFilter {
    pub search: Option<String>,
    pub kind: Option<String>,
    pub name: Option<String>,
}

pub const STAGE_ORDERING: &[&str] = &["name", "kind", "created"];

fn filtered_stages(filter: &StageFilter) -> stages::BoxedQuery<'static, MultiBackend> {
    let mut query = stages::table.into_boxed::<MultiBackend>();
    if let Some(term) = &filter.search {
        query = query.filter(
            super::lower(stages::name)
                .like(super::like_pattern(term))
                .escape('\\'),
        );
    }
    if let Some(v) = &filter.kind {
        query = query.filter(stages::kind.eq(v.clone()));
    }
    if let Some(v) = &filter.name {
        query = query.filter(stages::name.eq(v.clone()));
    }
    query
}

pub fn list_stages(
    conn: &mut DbConn,
    filter: &StageFilter,
    ordering: &super::Ordering,
    page: &super::Page,
) -> Result<(Vec<StageRow>, i64), StoreError> {
    let total: i64 = filtered_stages(filter).count().get_result(conn)?;
    let query = filtered_stages(filter);
    let query = match (ordering.field.as_str(), ordering.descending) {
        ("kind", false) => query.order((stages::kind.asc(), stages::name.asc())),
        ("kind", true) => query.order((stages::kind.desc(), stages::name.asc())),
        ("created", false) => query.order(stages::id.asc()),
        ("created", true) => query.order(stages::id.desc()),
        (_, true) => query.order(stages::name.desc()),
        (_, false) => query.order(stages::name.asc()),
    };
    let rows = query
        .select(StageRow::as_select())
        .limit(page.limit())
        .offset(page.offset())
        .load(conn)?;
    Ok((rows, total))
}

// ---- bindings

pub fn insert_binding(conn: &mut DbConn, new: &NewBinding) -> Result<BindingRow, StoreError> {
    Ok(diesel::insert_into(flow_stage_bindings::table)
        .values(new)
        .returning(BINDING_COLUMNS)
        .get_result(conn)?)
}

pub fn binding_by_uuid(conn: &mut DbConn, uuid: &str) -> Result<BindingRow, StoreError> {
    Ok(flow_stage_bindings::table
        .filter(flow_stage_bindings::uuid.eq(uuid))
        .select(BindingRow::as_select())
        .first(conn)?)
}

pub fn update_binding(
    conn: &mut DbConn,
    id: i64,
    changes: &BindingChanges,
) -> Result<BindingRow, StoreError> {
    Ok(diesel::update(flow_stage_bindings::table.find(id))
        .set(changes)
        .returning(BINDING_COLUMNS)
        .get_result(conn)?)
}

pub fn delete_binding(conn: &mut DbConn, id: i64) -> Result<(), StoreError> {
    match diesel::delete(flow_stage_bindings::table.find(id)).execute(conn)? {
        0 => Err(StoreError::NotFound),
        _ => Ok(()),
    }
}

/// The stages bound to a flow, in binding order: what the planner plans.
pub fn bound_stages(conn: &mut DbConn, flow_id: i64) -> Result<Vec<(BindingRow, StageRow)>, StoreError> {
    Ok(flow_stage_bindings::table
        .inner_join(stages::table)
        .filter(flow_stage_bindings::flow_id.eq(flow_id))
        .order(flow_stage_bindings::binding_order.asc())
        .select((BindingRow::as_select(), StageRow::as_select()))
        .load(conn)?)
}

#[derive(Debug, Clone, Default)]
pub struct BindingFilter {
    pub flow_id: Option<i64>,
    pub stage_id: Option<i64>,
}

pub fn list_bindings(
    conn: &mut DbConn,
    filter: &BindingFilter,
    page: &super::Page,
) -> Result<(Vec<BindingRow>, i64), StoreError> {
    let build = || {
        let mut query = flow_stage_bindings::table.into_boxed::<MultiBackend>();
        if let Some(v) = filter.flow_id {
            query = query.filter(flow_stage_bindings::flow_id.eq(v));
        }
        if let Some(v) = filter.stage_id {
            query = query.filter(flow_stage_bindings::stage_id.eq(v));
        }
        query
    };
    let total: i64 = build().count().get_result(conn)?;
    let rows = build()
        .order((
            flow_stage_bindings::flow_id.asc(),
            flow_stage_bindings::binding_order.asc(),
        ))
        .select(BindingRow::as_select())
        .limit(page.limit())
        .offset(page.offset())
        .load(conn)?;
    Ok((rows, total))
}

/// UUIDs of flows and stages by id, to render references in API answers.
pub fn flow_uuids(
    conn: &mut DbConn,
    ids: &[i64],
) -> Result<std::collections::HashMap<i64, String>, StoreError> {
    Ok(flows::table
        .filter(flows::id.eq_any(ids))
        .select((flows::id, flows::uuid))
        .load::<(i64, String)>(conn)?
        .into_iter()
        .collect())
}

pub fn stage_uuids(
    conn: &mut DbConn,
    ids: &[i64],
) -> Result<std::collections::HashMap<i64, String>, StoreError> {
    Ok(stages::table
        .filter(stages::id.eq_any(ids))
        .select((stages::id, stages::uuid))
        .load::<(i64, String)>(conn)?
        .into_iter()
        .collect())
}

/// Slugs of the flows a stage is bound to.
pub fn flows_using_stage(conn: &mut DbConn, stage_id: i64) -> Result<Vec<String>, StoreError> {
    Ok(flow_stage_bindings::table
        .inner_join(flows::table)
        .filter(flow_stage_bindings::stage_id.eq(stage_id))
        .order(flows::slug.asc())
        .select(flows::slug)
        .distinct()
        .load(conn)?)
}
