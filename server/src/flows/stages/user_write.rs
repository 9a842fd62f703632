//! `user_write`: creates or updates the pending user from the flow's properties (what a source's
//! mappings produced, or what prompts collected). A username that is taken is a readable flow
//! error, never a 500.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use super::{FlowError, StageCtx, StageKind, StageOutcome, error, normalised, parse_settings};
use crate::db::users::{NewUser, UserChanges};
use crate::db::{self, DbConn, GroupId, StoreError, UserId};
use crate::error::FieldErrors;
use crate::json::merge_json;
use crate::validate;

pub struct UserWrite;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CreationMode {
    NeverCreate,
    CreateWhenRequired,
    AlwaysCreate,
}

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields, default)]
pub struct UserWriteSettings {
    pub user_creation_mode: CreationMode,
    pub create_users_as_inactive: bool,
    /// A group (pk) every created user joins.
    pub create_users_group: Option<String>,
    /// `type` of created users.
    pub user_type: String,
    /// `path` of created users, unless the properties set one.
    pub user_path_template: String,
}

impl Default for UserWriteSettings {
    fn default() -> Self {
        Self {
            user_creation_mode: CreationMode::CreateWhenRequired,
            create_users_as_inactive: false,
            create_users_group: None,
            user_type: "external".into(),
            user_path_template: "users".into(),
        }
    }
}

fn string(properties: &Map<String, Value>, key: &str) -> Option<String> {
    properties.get(key).and_then(Value::as_str).map(str::to_owned)
}

/// Checks the properties a user is written from, naming the offending property.
fn check(properties: &Map<String, Value>) -> Result<(), String> {
    type Rule = fn(&str) -> Result<(), String>;
    let rules: [(&str, Rule); 4] = [
        ("username", validate::username),
        ("name", validate::name),
        ("email", validate::email),
        ("path", validate::path),
    ];
    for (key, rule) in rules {
        if let Some(value) = properties.get(key) {
            let text = value
                .as_str()
                .ok_or_else(|| format!("`{key}` must be a string"))?;
            rule(text).map_err(|m| format!("`{key}`: {m}"))?;
        }
    }
    if let Some(value) = properties.get("type") {
        let text = value.as_str().ok_or("`type` must be a string")?;
        validate::user_type(text).map_err(|m| format!("`type`: {m}"))?;
    }
    if properties.get("is_active").is_some_and(|v| !v.is_boolean()) {
        return Err("`is_active` must be true or false".into());
    }
    if properties.get("attributes").is_some_and(|v| !v.is_object()) {
        return Err("`attributes` must be an object".into());
    }
    Ok(())
}

/// Writes the properties that differ from the stored user; returns the names of the fields it
/// changed. Nothing changed means nothing written (repeat logins stay cheap).
pub fn update_user(
    conn: &mut DbConn,
    user: &crate::db::users::UserRow,
    properties: &Map<String, Value>,
) -> Result<Vec<&'static str>, StoreError> {
    let mut changes = UserChanges::default();
    if let Some(username) = string(properties, "username").filter(|u| *u != user.username) {
        changes.set_username(username);
    }
    changes.name = string(properties, "name").filter(|v| *v != user.name);
    if let Some(email) = string(properties, "email").filter(|v| *v != user.email) {
        changes.set_email(email);
    }
    changes.path = string(properties, "path").filter(|v| *v != user.path);
    changes.user_type = string(properties, "type").filter(|v| *v != user.user_type);
    changes.is_active = properties
        .get("is_active")
        .and_then(Value::as_bool)
        .filter(|v| *v != user.is_active);
    if let Some(attributes) = properties.get("attributes") {
        let current = user.attributes_json();
        let mut merged = current.clone();
        merge_json(&mut merged, attributes);
        if merged != current {
            changes.attributes = Some(merged.to_string());
        }
    }
    let changed: Vec<&'static str> = [
        ("username", changes.username.is_some()),
        ("name", changes.name.is_some()),
        ("email", changes.email.is_some()),
        ("path", changes.path.is_some()),
        ("type", changes.user_type.is_some()),
        ("is_active", changes.is_active.is_some()),
        ("attributes", changes.attributes.is_some()),
    ]
    .into_iter()
    .filter_map(|(n, set)| set.then_some(n))
    .collect();
    if !changed.is_empty() {
        db::users::update(conn, user.id(), &changes)?;
    }
    Ok(changed)
}

/// Checks the properties a user is written from (a source's mappings may produce anything).
pub fn check_properties(properties: &Map<String, Value>) -> Result<(), String> {
    check(properties)
}

impl StageKind for UserWrite {
    fn kind(&self) -> &'static str {
        "user_write"
    }

    fn description(&self) -> &'static str {
        "Creates or updates the user from the flow's properties."
    }

    fn validate(&self, conn: &mut DbConn, settings: &Value) -> Result<Value, FieldErrors> {
        let parsed: UserWriteSettings = parse_settings(settings)?;
        let mut errors = FieldErrors::new();
        if let Err(m) = validate::user_type(&parsed.user_type) {
            error(&mut errors, "user_type", m);
        }
        if let Err(m) = validate::path(&parsed.user_path_template) {
            error(&mut errors, "user_path_template", m);
        }
        if let Some(group) = &parsed.create_users_group
            && matches!(db::groups::get_by_uuid(conn, group), Err(StoreError::NotFound))
        {
            error(
                &mut errors,
                "create_users_group",
                format!("Unknown group `{group}`."),
            );
        }
        if errors.is_empty() {
            normalised(&parsed)
        } else {
            Err(errors)
        }
    }

    fn enter(&self, ctx: &mut StageCtx<'_, '_>) -> Result<StageOutcome, FlowError> {
        let settings: UserWriteSettings = ctx.settings()?;
        let properties = ctx.context.properties.clone();
        check(&properties)
            .map_err(|m| FlowError::user(format!("Your account details are not valid: {m}.")))?;
        let existing = match ctx.context.pending_user {
            Some(id) if settings.user_creation_mode != CreationMode::AlwaysCreate => {
                Some(db::users::get(ctx.conn, UserId(id))?)
            }
            _ => None,
        };
        let taken = |username: &str| {
            FlowError::user(format!(
                "The username “{username}” is already taken by another account. Ask your administrator to \
                 link the accounts."
            ))
        };
        match existing {
            Some(user) => {
                let changed = match update_user(ctx.conn, &user, &properties) {
                    Err(StoreError::Unique { .. }) => {
                        return Err(taken(&string(&properties, "username").unwrap_or_default()));
                    }
                    other => other?,
                };
                if !changed.is_empty() {
                    ctx.event("user_write", json!({"created": false, "changed_fields": changed}))?;
                }
                Ok(StageOutcome::Next)
            }
            None => {
                if settings.user_creation_mode == CreationMode::NeverCreate {
                    return Err(FlowError::user(
                        "No account exists for you here, and this flow does not create one.",
                    ));
                }
                let username = string(&properties, "username").ok_or_else(|| {
                    FlowError::misconfigured("user_write: no `username` in the flow's properties")
                })?;
                let mut new = NewUser::new(&username);
                new.name = string(&properties, "name").unwrap_or_default();
                if let Some(email) = string(&properties, "email") {
                    new.email_key = db::users::email_key(&email);
                    new.email = email;
                }
                new.user_type = string(&properties, "type").unwrap_or(settings.user_type.clone());
                new.path = string(&properties, "path").unwrap_or(settings.user_path_template.clone());
                new.is_active = !settings.create_users_as_inactive
                    && properties
                        .get("is_active")
                        .and_then(Value::as_bool)
                        .unwrap_or(true);
                if let Some(attributes) = properties.get("attributes") {
                    new.attributes = attributes.to_string();
                }
                let user = match db::users::insert(ctx.conn, &new) {
                    Err(StoreError::Unique { .. }) => return Err(taken(&username)),
                    other => other?,
                };
                if let Some(group) = &settings.create_users_group {
                    let group = db::groups::get_by_uuid(ctx.conn, group)?;
                    db::groups::add_member(ctx.conn, GroupId(group.id), user.id())?;
                }
                ctx.context.pending_user = Some(user.id);
                ctx.event("user_write", json!({"created": true, "username": user.username}))?;
                Ok(StageOutcome::Next)
            }
        }
    }
}
