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

/// Records one hit for `key` and returns the count within the current window.
pub fn hit(conn: &mut DbConn, key: &str, window: Duration, now: NaiveDateTime) -> Result<i32, StoreError> {
    let row: Option<(NaiveDateTime, i32)> = rate_limits::table
        .find(key)
        .select((rate_limits::window_start, rate_limits::hits))
        .first(conn)
        .optional()?;
    match row {
        Some((start, hits)) if now - start < window => {
            diesel::update(rate_limits::table.find(key))
                .set(rate_limits::hits.eq(hits + 1))
                .execute(conn)?;
            Ok(hits + 1)
        }
        Some(_) => {
            diesel::update(rate_limits::table.find(key))
                .set((rate_limits::window_start.eq(now), rate_limits::hits.eq(1)))
                .execute(conn)?;
            Ok(1)
        }
        None => {
            // Two first hits may race; the loser's insert fails on the primary key and it counts
            // into the winner's row instead.
            let inserted = crate::per_backend!(conn, |c| diesel::insert_into(rate_limits::table)
                .values((
                    rate_limits::key.eq(key),
                    rate_limits::window_start.eq(now),
                    rate_limits::hits.eq(1)
                ))
                .on_conflict_do_nothing()
                .execute(c))?;
            if inserted == 1 {
                Ok(1)
            } else {
                hit(conn, key, window, now)
            }
        }
    }
}

pub fn clear(conn: &mut DbConn, key: &str) -> Result<(), StoreError> {
    diesel::delete(rate_limits::table.find(key)).execute(conn)?;
    Ok(())
}

pub fn delete_stale(conn: &mut DbConn, before: NaiveDateTime) -> Result<usize, StoreError> {
    Ok(diesel::delete(rate_limits::table.filter(rate_limits::window_start.lt(before))).execute(conn)?)
}
