//! `GATEHOUSE_BOOTSTRAP_TOKEN` / `GATEHOUSE_BOOTSTRAP_PASSWORD`: make sure the superuser `admin`
//! exists with that API token and/or password. Idempotent: a restart with the same values writes
//! nothing; replicas starting together agree through the unique constraints.

use serde_json::json;

use crate::config::Settings;
use crate::crypto;
use crate::db::events::{self, Event};
use crate::db::tokens::{NewToken, TokenChanges};
use crate::db::users::{NewUser, UserChanges, UserRow};
use crate::db::{self, DbConn, StoreError, time, write_tx};

pub const ADMIN_USERNAME: &str = "admin";
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
    let admin = write_tx(conn, ensure_admin)?;
    if let Some(password) = &settings.bootstrap_password {
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
    if let Some(key) = &settings.bootstrap_token {
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

fn ensure_admin(conn: &mut DbConn) -> Result<UserRow, StoreError> {
    match db::users::find_by_username(conn, ADMIN_USERNAME)? {
        Some(user) if user.is_superuser && user.is_active => Ok(user),
        Some(user) => {
            let changes = UserChanges {
                is_superuser: Some(true),
                is_active: Some(true),
                ..UserChanges::default()
            };
            db::users::update(conn, user.id(), &changes)
        }
        None => {
            let mut new = NewUser::new(ADMIN_USERNAME);
            new.name = "Gatehouse administrator".into();
            new.is_superuser = true;
            let user = db::users::insert(conn, &new)?;
            record(conn, "model_created", &user)?;
            Ok(user)
        }
    }
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
