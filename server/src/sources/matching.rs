//! Which local user an upstream identity is (authentik's matching modes, with case-insensitive
//! email): an existing connection always wins; otherwise the source's `user_matching_mode`.
//!
//! Linking is where an upstream account takes over a local one, so it is guarded: email linking
//! uses only the address the plugin says the upstream verified, linking never reaches a
//! superuser, and a linked account's username and email are not rewritten by logins
//! ([`guard_properties`]).

use serde_json::{Map, Value};

use crate::db::connections::ConnectionOrigin;
use crate::db::sources::SourceRow;
use crate::db::users::UserRow;
use crate::db::{self, DbConn, StoreError, UserId};

#[derive(Debug)]
pub enum Matched {
    /// A connection exists: log this user in.
    Existing { user: UserRow, origin: ConnectionOrigin },
    /// No connection, but the mode links to this user.
    Link(UserRow),
    /// A new user.
    Enroll,
    /// The login is refused; `reason` names it in the `login_failed` event.
    Deny { reason: &'static str, message: String },
}

impl Matched {
    /// How the connection of this login came (or comes) to be.
    pub fn origin(&self) -> ConnectionOrigin {
        match self {
            Self::Existing { origin, .. } => *origin,
            Self::Link(_) | Self::Deny { .. } => ConnectionOrigin::Linked,
            Self::Enroll => ConnectionOrigin::Enrolled,
        }
    }
}

pub const MODES: &[&str] = &[
    "identifier",
    "email_link",
    "email_deny",
    "username_link",
    "username_deny",
];
pub const GROUP_MODES: &[&str] = &["identifier", "name_link", "name_deny"];

fn deny(reason: &'static str, message: String) -> Matched {
    Matched::Deny { reason, message }
}

fn denied(source: &SourceRow) -> Matched {
    deny(
        "matching_denied",
        format!(
            "Request to authenticate with {} has been denied. Please authenticate with the source you've previously signed up with.",
            source.name
        ),
    )
}

/// What the upstream says about the person, for matching.
pub struct Claimed<'a> {
    /// The upstream user id.
    pub identifier: &'a str,
    /// The mapped user properties (`username`, `email`, …).
    pub properties: &'a Map<String, Value>,
    /// The address the upstream vouches for (the plugin decides); the only one `email_link`
    /// links by.
    pub verified_email: Option<&'a str>,
}

pub fn match_user(
    conn: &mut DbConn,
    source: &SourceRow,
    claimed: &Claimed<'_>,
) -> Result<Matched, StoreError> {
    if let Some(connection) = db::connections::user_connection(conn, source.id, claimed.identifier)? {
        return Ok(Matched::Existing {
            origin: connection.origin(),
            user: db::users::get(conn, UserId(connection.user_id))?,
        });
    }
    let text = |key: &str| {
        claimed
            .properties
            .get(key)
            .and_then(Value::as_str)
            .filter(|v| !v.is_empty())
    };
    let verified = claimed.verified_email.filter(|v| !v.is_empty());
    let (found, link) = match source.user_matching_mode.as_str() {
        mode @ ("email_link" | "email_deny") => {
            let link = mode == "email_link";
            // Refusing by an unverified address hands nothing over; linking by one would.
            let email = if link {
                verified
            } else {
                verified.or_else(|| text("email"))
            };
            let Some(email) = email else {
                // Nothing to match on: refusing is safer than creating a look-alike account.
                return Ok(deny(
                    "no_email",
                    format!(
                        "{} did not provide an email address that it has verified, which this sign-in needs.",
                        source.name
                    ),
                ));
            };
            let mut users = db::users::find_by_email(conn, email, 2)?;
            if users.len() > 1 {
                return Ok(deny(
                    "matching_denied",
                    "Several accounts share this email address; ask your administrator to link yours.".into(),
                ));
            }
            (users.pop(), link)
        }
        "username_link" | "username_deny" => {
            let Some(username) = text("username") else {
                return Ok(deny(
                    "no_username",
                    format!("{} did not provide a username.", source.name),
                ));
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
        (Some(user), true) if db::users::is_effective_superuser(conn, &user)? => deny(
            "link_refused_superuser",
            format!(
                "{} cannot sign you in to this account: it belongs to an administrator, and administrator accounts are never linked automatically. Ask an administrator to link it.",
                source.name
            ),
        ),
        (Some(user), true) => Matched::Link(user),
        (Some(_), false) => denied(source),
    })
}

/// The properties a login may write to the matched user. A linked account keeps its username
/// unless the source says otherwise (`sync_username_on_link`), and its email: it existed before
/// the source, so the source does not own its identity. A superuser's email is never rewritten by
/// a login either (it may be what other sources link by).
pub fn guard_properties(
    conn: &mut DbConn,
    source: &SourceRow,
    matched: &Matched,
    properties: &Map<String, Value>,
) -> Result<Map<String, Value>, StoreError> {
    let user = match matched {
        Matched::Existing { user, .. } | Matched::Link(user) => user,
        Matched::Enroll | Matched::Deny { .. } => return Ok(properties.clone()),
    };
    let mut guarded = properties.clone();
    let linked = matched.origin() == ConnectionOrigin::Linked;
    if linked && !source.sync_username_on_link {
        guarded.remove("username");
    }
    let changes_email = guarded
        .get("email")
        .and_then(Value::as_str)
        .is_some_and(|email| email != user.email);
    if changes_email && (linked || db::users::is_effective_superuser(conn, user)?) {
        guarded.remove("email");
    }
    Ok(guarded)
}
