//! `source_sync` (internal, added by a source's callback, never created by administrators): after
//! a login through a source, writes what the source says about the user — profile changes, the
//! connection with its tokens, group memberships — in the flow's transaction, before the session
//! is created. So a failure here (a taken username, a refused group) leaves nothing behind.

use chrono::NaiveDateTime;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use super::{FlowError, StageCtx, StageKind, StageOutcome};
use crate::db::connections::{ConnectionData, ConnectionOrigin, SaveConnection};
use crate::db::group_sync::{self, DesiredGroup, GroupMatching, SyncOutcome};
use crate::db::{self, DbConn, StoreError, UserId};
use crate::error::FieldErrors;

pub struct SourceSync;

pub const KIND: &str = "source_sync";

/// Everything the callback learned, carried in the planned stage's settings.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SourceSyncSettings {
    pub source_id: i64,
    pub source_name: String,
    /// The upstream user id (Entra object id).
    pub identifier: String,
    /// Encrypted upstream tokens (never stored or logged in clear).
    pub access_token: Option<String>,
    pub refresh_token: Option<String>,
    pub expires: Option<NaiveDateTime>,
    /// What to keep with the connection (the upstream profile).
    pub connection_attributes: Value,
    /// The mapped user properties, written to the user when they differ.
    pub properties: Map<String, Value>,
    /// The user's upstream groups after group mappings; `None` leaves memberships alone
    /// (group sync off, or the fetch failed and the source keeps memberships).
    #[serde(with = "groups_as_text")]
    pub groups: Option<Vec<DesiredGroup>>,
    pub group_matching: GroupMatching,
    /// How the connection comes to be when this login creates it (enrolled or linked); the
    /// callback has already left out what a linked account keeps. Plans stored before this
    /// field existed read as linked, the side that rewrites nothing.
    #[serde(default)]
    pub origin: ConnectionOrigin,
}

impl StageKind for SourceSync {
    fn kind(&self) -> &'static str {
        KIND
    }

    fn description(&self) -> &'static str {
        "Internal: stores a source login's connection, profile changes and group memberships."
    }

    fn creatable(&self) -> bool {
        false
    }

    fn validate(&self, _conn: &mut DbConn, _settings: &Value) -> Result<Value, FieldErrors> {
        let mut errors = FieldErrors::new();
        super::error(
            &mut errors,
            "kind",
            "This stage kind is internal and cannot be created.",
        );
        Err(errors)
    }

    fn enter(&self, ctx: &mut StageCtx<'_, '_>) -> Result<StageOutcome, FlowError> {
        let settings: SourceSyncSettings = ctx.settings()?;
        let user_id = ctx.context.pending_user.ok_or_else(|| {
            FlowError::misconfigured("source sync reached without a user (is there a user_write stage?)")
        })?;
        let user = db::users::get(ctx.conn, UserId(user_id))?;
        let now = ctx.env.now;

        // The profile as the source has it now (authentik only does this on enrollment).
        let changed = match super::user_write::update_user(ctx.conn, &user, &settings.properties) {
            Err(StoreError::Unique { .. }) => {
                return Err(FlowError::user(format!(
                    "Your {} username is already used by another account here. Ask your administrator to link the accounts.",
                    settings.source_name
                )));
            }
            other => other?,
        };
        if !changed.is_empty() {
            ctx.event(
                "user_write",
                json!({"created": false, "changed_fields": changed, "source": settings.source_name}),
            )?;
        }

        let data = ConnectionData {
            access_token: settings.access_token.clone(),
            refresh_token: settings.refresh_token.clone(),
            expires: settings.expires,
            attributes: settings.connection_attributes.to_string(),
        };
        match db::connections::save_user_connection(
            ctx.conn,
            settings.source_id,
            user.id,
            &settings.identifier,
            &data,
            settings.origin,
            now,
        )? {
            SaveConnection::Saved { created: true } => {
                ctx.event(
                    "source_linked",
                    json!({"source": settings.source_name, "identifier": settings.identifier,
                        "origin": settings.origin.as_str()}),
                )?;
            }
            SaveConnection::Saved { created: false } => {}
            SaveConnection::UserLinkedElsewhere => {
                return Err(FlowError::user(format!(
                    "This account is already linked to a different {} account.",
                    settings.source_name
                )));
            }
        }

        if let Some(groups) = &settings.groups {
            match group_sync::sync(
                ctx.conn,
                settings.source_id,
                user.id,
                groups,
                settings.group_matching,
                now,
            )? {
                SyncOutcome::Done(report) => {
                    if !report.refused.is_empty() {
                        // A name-link that would have adopted a privileged or foreign group:
                        // the administrator should know someone upstream holds that name.
                        ctx.event(
                            "source_group_link_refused",
                            json!({"source": settings.source_name, "groups": report.refused}),
                        )?;
                    }
                    if report.changed() {
                        ctx.event(
                            "source_group_sync",
                            json!({"source": settings.source_name, "groups": groups.len(), "report": report}),
                        )?;
                    }
                }
                SyncOutcome::Denied(message) => return Err(FlowError::user(message)),
            }
        }
        Ok(StageOutcome::Next)
    }
}

/// The groups travel inside the planned stage's settings (a JSON value that is stored if the flow
/// waits for the user before this stage). As one JSON text rather than a tree of values, thousands
/// of groups cost a single string to build, carry and drop instead of a map per group (measured:
/// about 15 % of a repeat login with 5000 groups went to building, copying and freeing that tree).
/// A plan stored as a list by an earlier version still reads.
mod groups_as_text {
    use serde::de::Error as _;
    use serde::ser::Error as _;
    use serde::{Deserialize, Deserializer, Serializer};

    use crate::db::group_sync::DesiredGroup;

    pub fn serialize<S: Serializer>(groups: &Option<Vec<DesiredGroup>>, s: S) -> Result<S::Ok, S::Error> {
        match groups {
            None => s.serialize_none(),
            Some(groups) => s.serialize_some(&serde_json::to_string(groups).map_err(S::Error::custom)?),
        }
    }

    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Stored {
        Text(String),
        List(Vec<DesiredGroup>),
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<DesiredGroup>>, D::Error> {
        match Option::<Stored>::deserialize(d)? {
            None => Ok(None),
            Some(Stored::Text(text)) => serde_json::from_str(&text).map(Some).map_err(D::Error::custom),
            Some(Stored::List(groups)) => Ok(Some(groups)),
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn settings(groups: Value) -> Value {
        json!({
            "source_id": 1, "source_name": "Entra ID", "identifier": "u", "access_token": null,
            "refresh_token": null, "expires": null, "connection_attributes": {}, "properties": {},
            "groups": groups, "group_matching": "identifier",
        })
    }

    #[test]
    fn groups_round_trip_as_text_and_read_the_older_list_form() {
        let group = DesiredGroup {
            identifier: "g1".into(),
            name: "Staff \"all\"".into(),
            attributes: Some(json!({"a": 1})),
            is_superuser: Some(false),
        };
        let value = settings(json!(null));
        let mut parsed: SourceSyncSettings = serde_json::from_value(value).unwrap();
        assert_eq!(parsed.groups, None);
        parsed.groups = Some(vec![group.clone()]);
        let stored = serde_json::to_value(&parsed).unwrap();
        assert!(stored["groups"].is_string(), "{stored}");
        let back: SourceSyncSettings = serde_json::from_value(stored).unwrap();
        assert_eq!(back.groups, Some(vec![group.clone()]));
        let older: SourceSyncSettings =
            serde_json::from_value(settings(json!([{"identifier": "g1", "name": "Staff \"all\"",
                "attributes": {"a": 1}, "is_superuser": false}])))
            .unwrap();
        assert_eq!(older.groups, Some(vec![group]));
        assert!(serde_json::from_value::<SourceSyncSettings>(settings(json!("not json"))).is_err());
    }
}
