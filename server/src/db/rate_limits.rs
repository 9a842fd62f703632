//! Fixed-window counters in the database, so that every replica sees the same count (a
//! per-process limiter would multiply the allowance by the number of replicas).

use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;

use super::schema::rate_limits;
use super::{DbConn, StoreError};

/// The current count for `key` within `window`, without recording a hit.
pub fn current(
    conn: &mut DbConn,
    key: &str,
    window: Duration,
    now: NaiveDateTime,
) -> Result<i32, StoreError> {
    let row: Option<(NaiveDateTime, i32)> = rate_limits::table
        .find(key)
        .select((rate_limits::window_start, rate_limits::hits))
        .first(conn)
        .optional()?;
    Ok(match row {
        Some((start, hits)) if now - start < window => hits,
        _ => 0,
    })
}

/// Records one hit for `key` and returns the count within the current window, in one statement
/// (an upsert returning the new count): parallel callers each see their own count, so a limit
/// checked against it lets exactly `limit` of them through. A window that has passed restarts at 1.
pub fn hit(conn: &mut DbConn, key: &str, window: Duration, now: NaiveDateTime) -> Result<i32, StoreError> {
    use diesel::dsl::case_when;
    let live = rate_limits::window_start.gt(now - window);
    let hits = crate::per_backend!(conn, |c| diesel::insert_into(rate_limits::table)
        .values((
            rate_limits::key.eq(key),
            rate_limits::window_start.eq(now),
            rate_limits::hits.eq(1)
        ))
        .on_conflict(rate_limits::key)
        .do_update()
        .set((
            // Both right-hand sides read the row as it was before this update.
            rate_limits::hits.eq(case_when(live, rate_limits::hits + 1).otherwise(1)),
            rate_limits::window_start.eq(case_when(live, rate_limits::window_start).otherwise(now)),
        ))
        .returning(rate_limits::hits)
        .get_result::<i32>(c))?;
    Ok(hits)
}

/// Gives back one hit (an attempt that turned out fine), never going below zero.
pub fn release(conn: &mut DbConn, key: &str) -> Result<(), StoreError> {
    diesel::update(rate_limits::table.find(key).filter(rate_limits::hits.gt(0)))
        .set(rate_limits::hits.eq(rate_limits::hits - 1))
        .execute(conn)?;
    Ok(())
}

pub fn clear(conn: &mut DbConn, key: &str) -> Result<(), StoreError> {
    diesel::delete(rate_limits::table.find(key)).execute(conn)?;
    Ok(())
}

pub fn delete_stale(conn: &mut DbConn, before: NaiveDateTime) -> Result<usize, StoreError> {
    Ok(diesel::delete(rate_limits::table.filter(rate_limits::window_start.lt(before))).execute(conn)?)
}
