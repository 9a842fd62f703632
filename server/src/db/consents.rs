//! Consents users gave to applications (the consent stage).

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::schema::user_consents;
use super::{DbConn, StoreError};

/// Whether `user` has a live consent for `application` covering `permissions`.
pub fn has_consent(
    conn: &mut DbConn,
    user: i64,
    application: &str,
    permissions: &str,
    now: NaiveDateTime,
) -> Result<bool, StoreError> {
    let row: Option<(String, Option<NaiveDateTime>)> = user_consents::table
        .filter(user_consents::user_id.eq(user))
        .filter(user_consents::application.eq(application))
        .select((user_consents::permissions, user_consents::expires))
        .first(conn)
        .optional()?;
    Ok(match row {
        Some((granted, expires)) => {
            expires.is_none_or(|e| e > now) && {
                let granted: Vec<&str> = granted.split_whitespace().collect();
                permissions.split_whitespace().all(|p| granted.contains(&p))
            }
        }
        None => false,
    })
}

/// Records (or replaces) a consent.
pub fn grant(
    conn: &mut DbConn,
    user: i64,
    application: &str,
    permissions: &str,
    expires: Option<NaiveDateTime>,
    now: NaiveDateTime,
) -> Result<(), StoreError> {
    diesel::delete(
        user_consents::table
            .filter(user_consents::user_id.eq(user))
            .filter(user_consents::application.eq(application)),
    )
    .execute(conn)?;
    diesel::insert_into(user_consents::table)
        .values((
            user_consents::user_id.eq(user),
            user_consents::application.eq(application),
            user_consents::permissions.eq(permissions),
            user_consents::expires.eq(expires),
            user_consents::created.eq(now),
        ))
        .execute(conn)?;
    Ok(())
}
