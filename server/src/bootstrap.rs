//! `GATEHOUSE_BOOTSTRAP_TOKEN` / `GATEHOUSE_BOOTSTRAP_PASSWORD`: create the superuser `admin` once,
//! record which account that is (`bootstrap_records`), and give the recorded account that API
//! token and/or password. Later starts never re-create, re-enable, re-promote or rename it, and
//! never touch another account that happens to be called `admin`: a deactivated or deleted
//! bootstrap account stays so. Idempotent: a restart with the same values writes nothing;
//! replicas starting together agree through the primary key of the record.

use diesel::prelude::*;
use serde_json::json;

use crate::config::{Secret, Settings};
use crate::crypto;
use crate::db::events::{self, Event};
use crate::db::schema::bootstrap_records;
use crate::db::tokens::{NewToken, TokenChanges};
use crate::db::users::{NewUser, UserChanges, UserRow};
use crate::db::{self, DbConn, StoreError, UserId, time, write_tx};

pub const ADMIN_USERNAME: &str = "admin";
/// The role under which the bootstrap administrator is recorded.
const ADMIN_RECORD: &str = "admin";
pub const BOOTSTRAP_TOKEN_IDENTIFIER: &str = "gatehouse-bootstrap-token";

#[derive(Debug, thiserror::Error)]
pub enum BootstrapError {
    #[error("{0}")]
    Store(#[from] StoreError),
    #[error("{0}")]
    Crypto(#[from] crypto::CryptoError),
}

pub fn run(conn: &mut DbConn, settings: &Settings) -> Result<(), BootstrapError> {
    if settings.bootstrap_token.is_none() && settings.bootstrap_password.is_none() {
        return Ok(());
    }
    // A concurrent replica may create `admin` between our read and our insert: try again once,
    // and the second attempt finds the row.
    match apply(conn, settings) {
        Err(BootstrapError::Store(StoreError::Unique { .. })) => apply(conn, settings),
        other => other,
    }
}

fn apply(conn: &mut DbConn, settings: &Settings) -> Result<(), BootstrapError> {
    let Some(admin) = write_tx(conn, bootstrap_account)? else {
        return Ok(());
    };
    if let Some(password) = settings.bootstrap_password.as_ref().map(Secret::expose) {
        let current = admin.password_hash.as_deref().unwrap_or_default();
        // Verifying costs as much as hashing, but keeps the stored hash (and password_changed)
        // stable across restarts.
        if !crypto::verify_password(password, current) {
            let hash = crypto::hash_password(password)?;
            write_tx(conn, |conn| {
                let changes = UserChanges {
                    password_hash: Some(Some(hash)),
                    password_changed: Some(Some(time::now())),
                    ..UserChanges::default()
                };
                db::users::update(conn, admin.id(), &changes)?;
                record(conn, "password_set", &admin)
            })?;
        }
    }
    if let Some(key) = settings.bootstrap_token.as_ref().map(Secret::expose) {
        let key_hash = crypto::hash_key(key);
        write_tx(conn, |conn| {
            match db::tokens::find_by_identifier(conn, BOOTSTRAP_TOKEN_IDENTIFIER)? {
                Some(token)
                    if token.key_hash == key_hash && token.user_id == admin.id && token.expires.is_none() =>
                {
                    Ok(())
                }
                Some(token) => {
                    let changes = TokenChanges {
                        key_hash: Some(key_hash),
                        user_id: Some(admin.id),
                        description: None,
                        expires: Some(None),
                    };
                    db::tokens::update(conn, token.id, &changes)?;
                    record(conn, "token_key_rotated", &admin)
                }
                None => {
                    db::tokens::insert(
                        conn,
                        &NewToken {
                            identifier: BOOTSTRAP_TOKEN_IDENTIFIER.into(),
                            key_hash,
                            user_id: admin.id,
                            intent: "api".into(),
                            description: "Created from GATEHOUSE_BOOTSTRAP_TOKEN".into(),
                            expires: None,
                            managed: Some("gatehouse/bootstrap".into()),
                            created: time::now(),
                        },
                    )?;
                    record(conn, "model_created", &admin)
                }
            }
        })?;
    }
    Ok(())
}

/// The account the bootstrap settings apply to: the recorded one while it exists and is active;
/// on the first start, a new `admin` (recorded). `None` means: apply nothing.
fn bootstrap_account(conn: &mut DbConn) -> Result<Option<UserRow>, StoreError> {
    if let Some(user_id) = recorded(conn)? {
        return match db::users::get(conn, UserId(user_id)) {
            Ok(user) if user.is_active => Ok(Some(user)),
            Ok(user) => {
                tracing::warn!(
                    user = %user.username,
                    "the bootstrap account is deactivated: bootstrap_token and bootstrap_password are \
                     not applied, and it stays deactivated"
                );
                Ok(None)
            }
            Err(StoreError::NotFound) => {
                tracing::warn!(
                    "the bootstrap account was deleted: it is not re-created, and bootstrap_token and \
                     bootstrap_password are not applied"
                );
                Ok(None)
            }
            Err(e) => Err(e),
        };
    }
    match db::users::find_by_username(conn, ADMIN_USERNAME)? {
        // A database from before the record: earlier starts kept the bootstrap `admin` a superuser,
        // so a superuser `admin` is that account. Anyone else called `admin` is never promoted.
        Some(user) if user.is_superuser => {
            insert_record(conn, &user)?;
            Ok(user.is_active.then_some(user))
        }
        Some(user) => {
            tracing::warn!(
                user = %user.username,
                "a user called `admin` exists and is not a superuser: bootstrap does not promote it; \
                 bootstrap_token and bootstrap_password are not applied"
            );
            Ok(None)
        }
        None => {
            let mut new = NewUser::new(ADMIN_USERNAME);
            new.name = "Gatehouse administrator".into();
            new.is_superuser = true;
            let user = db::users::insert(conn, &new)?;
            insert_record(conn, &user)?;
            record(conn, "model_created", &user)?;
            Ok(Some(user))
        }
    }
}

fn recorded(conn: &mut DbConn) -> Result<Option<i64>, StoreError> {
    Ok(bootstrap_records::table
        .find(ADMIN_RECORD)
        .select(bootstrap_records::user_id)
        .first(conn)
        .optional()?)
}

fn insert_record(conn: &mut DbConn, user: &UserRow) -> Result<(), StoreError> {
    diesel::insert_into(bootstrap_records::table)
        .values((
            bootstrap_records::name.eq(ADMIN_RECORD),
            bootstrap_records::user_id.eq(user.id),
            bootstrap_records::created.eq(time::now()),
        ))
        .execute(conn)?;
    Ok(())
}

fn record(conn: &mut DbConn, action: &str, admin: &UserRow) -> Result<(), StoreError> {
    events::insert(
        conn,
        &Event {
            action,
            user: None,
            context: json!({
                "source": "bootstrap",
                "model": {"app": "gatehouse", "model_name": "user", "pk": admin.id, "name": admin.username},
            }),
            client_ip: None,
        },
    )?;
    Ok(())
}
