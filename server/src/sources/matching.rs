//! Which local user an upstream identity is (authentik's matching modes, with case-insensitive
//! email): an existing connection always wins; otherwise the source's `user_matching_mode`.

use serde_json::{Map, Value};

use crate::db::sources::SourceRow;
use crate::db::users::UserRow;
use crate::db::{self, DbConn, StoreError, UserId};

#[derive(Debug)]
pub enum Matched {
    /// A connection exists: log this user in.
    Existing(UserRow),
    /// No connection, but the mode links to this user.
    Link(UserRow),
    /// A new user.
    Enroll,
    Deny(String),
}

pub const MODES: &[&str] = &[
    "identifier",
    "email_link",
    "email_deny",
    "username_link",
    "username_deny",
];
pub const GROUP_MODES: &[&str] = &["identifier", "name_link", "name_deny"];

fn denied(source: &SourceRow) -> Matched {
    Matched::Deny(format!(
        "Request to authenticate with {} has been denied. Please authenticate with the source you've previously signed up with.",
        source.name
    ))
}

pub fn match_user(
    conn: &mut DbConn,
    source: &SourceRow,
    identifier: &str,
    properties: &Map<String, Value>,
) -> Result<Matched, StoreError> {
    if let Some(connection) = db::connections::user_connection(conn, source.id, identifier)? {
        return Ok(Matched::Existing(db::users::get(
            conn,
            UserId(connection.user_id),
        )?));
    }
    let text = |key: &str| {
        properties
            .get(key)
            .and_then(Value::as_str)
            .filter(|v| !v.is_empty())
    };
    let (found, link) = match source.user_matching_mode.as_str() {
        "email_link" | "email_deny" => {
            let Some(email) = text("email") else {
                // Nothing to match on: refusing is safer than creating a look-alike account.
                return Ok(Matched::Deny(format!(
                    "{} did not provide an email address, which this sign-in needs.",
                    source.name
                )));
            };
            let mut users = db::users::find_by_email(conn, email, 2)?;
            if users.len() > 1 {
                return Ok(Matched::Deny(
                    "Several accounts share this email address; ask your administrator to link yours.".into(),
                ));
            }
            (users.pop(), source.user_matching_mode == "email_link")
        }
        "username_link" | "username_deny" => {
            let Some(username) = text("username") else {
                return Ok(Matched::Deny(format!(
                    "{} did not provide a username.",
                    source.name
                )));
            };
            (
                db::users::find_by_username(conn, username)?,
                source.user_matching_mode == "username_link",
            )
        }
        _ => return Ok(Matched::Enroll),
    };
    Ok(match (found, link) {
        (None, _) => Matched::Enroll,
        (Some(user), true) => Matched::Link(user),
        (Some(_), false) => denied(source),
    })
}
