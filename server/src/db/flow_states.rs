//! In-progress flows. Any replica can continue a flow: the plan, the position and the context
//! live here, keyed by the SHA-256 of the browser's flow cookie.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::schema::flow_states;
use super::{DbConn, StoreError};

#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = flow_states)]
pub struct FlowStateRow {
    pub id: i64,
    pub key_hash: String,
    pub flow_id: i64,
    pub plan: String,
    pub context: String,
    pub position: i32,
    pub step: i32,
    pub finished: bool,
    pub expires: NaiveDateTime,
    pub created: NaiveDateTime,
    pub updated: NaiveDateTime,
}

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = flow_states)]
pub struct NewFlowState {
    pub key_hash: String,
    pub flow_id: i64,
    pub plan: String,
    pub context: String,
    pub position: i32,
    pub step: i32,
    pub finished: bool,
    pub expires: NaiveDateTime,
    pub created: NaiveDateTime,
    pub updated: NaiveDateTime,
}

#[derive(Debug, Clone, AsChangeset)]
#[diesel(table_name = flow_states)]
pub struct FlowStateChanges {
    pub flow_id: i64,
    pub plan: String,
    pub context: String,
    pub position: i32,
    pub step: i32,
    pub finished: bool,
    pub expires: NaiveDateTime,
    pub updated: NaiveDateTime,
}

pub fn find(conn: &mut DbConn, key_hash: &str) -> Result<Option<FlowStateRow>, StoreError> {
    Ok(flow_states::table
        .filter(flow_states::key_hash.eq(key_hash))
        .select(FlowStateRow::as_select())
        .first(conn)
        .optional()?)
}

pub fn insert(conn: &mut DbConn, new: &NewFlowState) -> Result<(), StoreError> {
    diesel::insert_into(flow_states::table)
        .values(new)
        .execute(conn)?;
    Ok(())
}

/// Writes the new state only if nobody advanced it meanwhile (`step` is still `expected_step`):
/// two submissions of the same form race, one wins. Returns whether this one won.
pub fn advance(
    conn: &mut DbConn,
    id: i64,
    expected_step: i32,
    changes: &FlowStateChanges,
) -> Result<bool, StoreError> {
    let updated = diesel::update(
        flow_states::table
            .filter(flow_states::id.eq(id))
            .filter(flow_states::step.eq(expected_step)),
    )
    .set(changes)
    .execute(conn)?;
    Ok(updated == 1)
}

pub fn delete_by_hash(conn: &mut DbConn, key_hash: &str) -> Result<(), StoreError> {
    diesel::delete(flow_states::table.filter(flow_states::key_hash.eq(key_hash))).execute(conn)?;
    Ok(())
}

pub fn delete_expired(conn: &mut DbConn, now: NaiveDateTime) -> Result<usize, StoreError> {
    Ok(diesel::delete(flow_states::table.filter(flow_states::expires.le(now))).execute(conn)?)
}

pub fn find_by_hash(conn: &mut DbConn, key_hash: &str) -> Result<Option<FlowStateRow>, StoreError> {
    find(conn, key_hash)
}

/// Gives a suspended state a new key (the browser gets a new cookie) and context.
pub fn rekey(
    conn: &mut DbConn,
    id: i64,
    key_hash: &str,
    context: &str,
    expires: NaiveDateTime,
) -> Result<(), StoreError> {
    diesel::update(flow_states::table.find(id))
        .set((
            flow_states::key_hash.eq(key_hash),
            flow_states::context.eq(context),
            flow_states::expires.eq(expires),
        ))
        .execute(conn)?;
    Ok(())
}
