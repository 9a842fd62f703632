//! `core/users/`: list, create, retrieve, update, partial update, delete, `me/` and
//! `<pk>/set_password/`.

use actix_web::{HttpResponse, delete, get, patch, post, put, web};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use utoipa::{IntoParams, ToSchema};

use super::audit::{ModelRef, record_change};
use super::auth::Caller;
use super::list::{ListParams, Paginated, bool_filter};
use crate::db::groups::GroupRow;
use crate::db::users::{NewUser, UserChanges, UserFilter, UserRow};
use crate::db::{self, DbConn, GroupId, UserId, time, write_tx};
use crate::error::{ApiError, FieldErrors};
use crate::http::client::ClientInfo;
use crate::http::json::{ApiJson, from_value};
use crate::state::AppState;
use crate::validate;

/// A group as embedded in a user.
#[derive(Debug, Serialize, ToSchema)]
pub struct UserGroup {
    pub pk: String,
    pub name: String,
    pub is_superuser: bool,
    pub attributes: Value,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct User {
    pub pk: i64,
    pub uuid: String,
    pub username: String,
    pub name: String,
    pub email: String,
    pub is_active: bool,
    pub is_superuser: bool,
    #[serde(rename = "type")]
    #[schema(rename = "type")]
    pub user_type: String,
    pub path: String,
    pub attributes: Value,
    /// Group UUIDs.
    pub groups: Vec<String>,
    pub groups_obj: Vec<UserGroup>,
    pub last_login: Option<chrono::DateTime<chrono::Utc>>,
    pub date_joined: chrono::DateTime<chrono::Utc>,
}

impl User {
    pub fn from_row(row: UserRow, groups: Vec<GroupRow>) -> Self {
        let attributes = row.attributes_json();
        Self {
            pk: row.id,
            uuid: row.uuid,
            username: row.username,
            name: row.name,
            email: row.email,
            is_active: row.is_active,
            is_superuser: row.is_superuser,
            user_type: row.user_type,
            path: row.path,
            attributes,
            groups: groups.iter().map(|g| g.uuid.clone()).collect(),
            groups_obj: groups
                .into_iter()
                .map(|g| UserGroup {
                    attributes: g.attributes_json(),
                    pk: g.uuid,
                    name: g.name,
                    is_superuser: g.is_superuser,
                })
                .collect(),
            last_login: row.last_login.map(time::to_utc),
            date_joined: time::to_utc(row.created),
        }
    }

    /// Loads one user with its groups.
    pub fn load(conn: &mut DbConn, id: UserId) -> Result<Self, ApiError> {
        let row = db::users::get(conn, id).map_err(|e| not_found(e, "User"))?;
        let mut groups = db::users::groups_of(conn, &[id])?;
        Ok(Self::from_row(row, groups.remove(&id).unwrap_or_default()))
    }
}

fn not_found(error: db::StoreError, what: &str) -> ApiError {
    match error {
        db::StoreError::NotFound => ApiError::not_found(what),
        other => other.into(),
    }
}

/// Body of create, update and partial update. On update, absent fields are left unchanged.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UserWrite {
    pub username: Option<String>,
    pub name: Option<String>,
    pub email: Option<String>,
    pub is_active: Option<bool>,
    pub is_superuser: Option<bool>,
    #[serde(rename = "type")]
    #[schema(rename = "type")]
    pub user_type: Option<String>,
    pub path: Option<String>,
    pub attributes: Option<Value>,
    /// Group UUIDs; replaces the user's memberships.
    pub groups: Option<Vec<String>>,
}

impl UserWrite {
    fn check(&self, require_username: bool) -> Result<(), ApiError> {
        let mut errors = FieldErrors::new();
        let mut add = |field: &str, result: Result<(), String>| {
            if let Err(message) = result {
                errors.entry(field.to_owned()).or_default().push(message);
            }
        };
        match &self.username {
            Some(v) => add("username", validate::username(v)),
            None if require_username => add("username", Err("This field is required.".into())),
            None => {}
        }
        if let Some(v) = &self.name {
            add("name", validate::name(v));
        }
        if let Some(v) = &self.email {
            add("email", validate::email(v));
        }
        if let Some(v) = &self.user_type {
            add("type", validate::user_type(v));
        }
        if let Some(v) = &self.path {
            add("path", validate::path(v));
        }
        if let Some(v) = &self.attributes {
            add("attributes", validate::attributes(v));
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(ApiError::Validation(errors))
        }
    }

    fn changed_fields(&self) -> Vec<&'static str> {
        [
            ("username", self.username.is_some()),
            ("name", self.name.is_some()),
            ("email", self.email.is_some()),
            ("is_active", self.is_active.is_some()),
            ("is_superuser", self.is_superuser.is_some()),
            ("type", self.user_type.is_some()),
            ("path", self.path.is_some()),
            ("attributes", self.attributes.is_some()),
            ("groups", self.groups.is_some()),
        ]
        .into_iter()
        .filter_map(|(name, set)| set.then_some(name))
        .collect()
    }
}

/// Resolves group UUIDs to ids, reporting unknown ones under `field`.
pub fn resolve_groups(conn: &mut DbConn, uuids: &[String], field: &str) -> Result<Vec<GroupId>, ApiError> {
    let found = db::groups::find_by_uuids(conn, uuids)?;
    let missing: Vec<String> = uuids
        .iter()
        .filter(|u| !found.iter().any(|g| &g.uuid == *u))
        .map(|u| format!("Unknown group `{u}`."))
        .collect();
    if !missing.is_empty() {
        let mut errors = FieldErrors::new();
        errors.insert(field.to_owned(), missing);
        return Err(ApiError::Validation(errors));
    }
    Ok(found.iter().map(GroupRow::id).collect())
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UserFilters {
    pub username: Option<String>,
    /// Case-insensitive exact match.
    pub email: Option<String>,
    #[param(value_type = Option<bool>)]
    pub is_active: Option<String>,
    #[param(value_type = Option<bool>)]
    pub is_superuser: Option<String>,
    #[serde(rename = "type")]
    #[param(rename = "type")]
    pub user_type: Option<String>,
    pub path: Option<String>,
    pub uuid: Option<String>,
    /// Members of the group with this name.
    pub groups_by_name: Option<String>,
}

#[utoipa::path(
    tag = "core",
    params(ListParams, UserFilters),
    responses((status = 200, body = Paginated<User>), (status = 400), (status = 401), (status = 403)),
    security(("bearer" = []))
)]
#[get("/core/users/")]
pub async fn list(
    state: web::Data<AppState>,
    caller: Caller,
    params: web::Query<ListParams>,
    filters: web::Query<UserFilters>,
) -> Result<HttpResponse, ApiError> {
    caller.require_superuser()?;
    let page = params.page()?;
    let ordering = params.ordering(db::users::ORDERING_FIELDS, "username")?;
    let filters = filters.into_inner();
    let filter = UserFilter {
        search: params.search(),
        username: filters.username,
        email: filters.email,
        is_active: bool_filter("is_active", &filters.is_active)?,
        is_superuser: bool_filter("is_superuser", &filters.is_superuser)?,
        user_type: filters.user_type,
        path: filters.path,
        uuid: filters.uuid,
        group_name: filters.groups_by_name,
    };
    let (rows, count) = state
        .db
        .run(move |conn| {
            let (rows, count) = db::users::list(conn, &filter, &ordering, &page)?;
            let ids: Vec<UserId> = rows.iter().map(UserRow::id).collect();
            let mut groups = db::users::groups_of(conn, &ids)?;
            let users: Vec<User> = rows
                .into_iter()
                .map(|row| {
                    let g = groups.remove(&row.id()).unwrap_or_default();
                    User::from_row(row, g)
                })
                .collect();
            Ok::<_, ApiError>((users, count))
        })
        .await?;
    Ok(HttpResponse::Ok().json(Paginated::new(rows, count, page)?))
}

#[utoipa::path(
    tag = "core",
    request_body = UserWrite,
    responses((status = 201, body = User), (status = 400), (status = 401), (status = 403), (status = 409)),
    security(("bearer" = []))
)]
#[post("/core/users/")]
pub async fn create(
    state: web::Data<AppState>,
    caller: Caller,
    client: ClientInfo,
    body: ApiJson<UserWrite>,
) -> Result<HttpResponse, ApiError> {
    caller.require_superuser()?;
    let body = body.0;
    body.check(true)?;
    let user = state
        .db
        .run(move |conn| {
            write_tx(conn, |conn| {
                let username = body.username.clone().unwrap_or_default();
                let mut new = NewUser::new(&username);
                if let Some(v) = &body.name {
                    new.name = v.clone();
                }
                if let Some(v) = &body.email {
                    new.email_key = db::users::email_key(v);
                    new.email = v.clone();
                }
                new.is_active = body.is_active.unwrap_or(true);
                new.is_superuser = body.is_superuser.unwrap_or(false);
                if let Some(v) = &body.user_type {
                    new.user_type = v.clone();
                }
                if let Some(v) = &body.path {
                    new.path = v.clone();
                }
                if let Some(v) = &body.attributes {
                    new.attributes = v.to_string();
                }
                let group_ids = match &body.groups {
                    Some(uuids) => resolve_groups(conn, uuids, "groups")?,
                    None => Vec::new(),
                };
                let row = db::users::insert(conn, &new)?;
                db::users::set_groups(conn, row.id(), &group_ids)?;
                record_change(conn, "model_created", &caller, &client, &model(&row), &[])?;
                User::load(conn, row.id())
            })
        })
        .await?;
    Ok(HttpResponse::Created().json(user))
}

fn model(row: &UserRow) -> ModelRef {
    ModelRef {
        model_name: "user",
        pk: json!(row.id),
        name: row.username.clone(),
    }
}

/// The caller's own user, as `{"user": {...}}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct SessionUser {
    pub user: User,
}

#[utoipa::path(
    tag = "core",
    responses((status = 200, body = SessionUser), (status = 401)),
    security(("bearer" = []))
)]
#[get("/core/users/me/")]
pub async fn me(state: web::Data<AppState>, caller: Caller) -> Result<HttpResponse, ApiError> {
    let id = caller.user.id();
    let user = state.db.run(move |conn| User::load(conn, id)).await?;
    Ok(HttpResponse::Ok().json(SessionUser { user }))
}

#[utoipa::path(
    tag = "core",
    params(("pk" = i64, Path, description = "User id")),
    responses((status = 200, body = User), (status = 401), (status = 403), (status = 404)),
    security(("bearer" = []))
)]
#[get("/core/users/{pk}/")]
pub async fn retrieve(
    state: web::Data<AppState>,
    caller: Caller,
    pk: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    caller.require_superuser()?;
    let id = UserId(pk.into_inner());
    let user = state.db.run(move |conn| User::load(conn, id)).await?;
    Ok(HttpResponse::Ok().json(user))
}

async fn apply_update(
    state: web::Data<AppState>,
    caller: Caller,
    client: ClientInfo,
    id: UserId,
    body: UserWrite,
) -> Result<HttpResponse, ApiError> {
    let user = state
        .db
        .run(move |conn| {
            write_tx(conn, |conn| {
                db::users::get(conn, id).map_err(|e| not_found(e, "User"))?;
                let mut changes = UserChanges::default();
                if let Some(v) = &body.username {
                    changes.set_username(v.clone());
                }
                changes.name.clone_from(&body.name);
                if let Some(v) = &body.email {
                    changes.set_email(v.clone());
                }
                changes.is_active = body.is_active;
                changes.is_superuser = body.is_superuser;
                changes.user_type.clone_from(&body.user_type);
                changes.path.clone_from(&body.path);
                changes.attributes = body.attributes.as_ref().map(Value::to_string);
                if let Some(uuids) = &body.groups {
                    let ids = resolve_groups(conn, uuids, "groups")?;
                    db::users::set_groups(conn, id, &ids)?;
                }
                let row = db::users::update(conn, id, &changes)?;
                record_change(
                    conn,
                    "model_updated",
                    &caller,
                    &client,
                    &model(&row),
                    &body.changed_fields(),
                )?;
                User::load(conn, id)
            })
        })
        .await?;
    Ok(HttpResponse::Ok().json(user))
}

#[utoipa::path(
    tag = "core",
    params(("pk" = i64, Path, description = "User id")),
    request_body = UserWrite,
    responses((status = 200, body = User), (status = 400), (status = 401), (status = 403), (status = 404), (status = 409)),
    security(("bearer" = []))
)]
#[put("/core/users/{pk}/")]
pub async fn update(
    state: web::Data<AppState>,
    caller: Caller,
    client: ClientInfo,
    pk: web::Path<i64>,
    body: ApiJson<UserWrite>,
) -> Result<HttpResponse, ApiError> {
    caller.require_superuser()?;
    body.0.check(true)?;
    apply_update(state, caller, client, UserId(pk.into_inner()), body.0).await
}

#[utoipa::path(
    tag = "core",
    params(("pk" = i64, Path, description = "User id")),
    request_body = UserWrite,
    responses((status = 200, body = User), (status = 400), (status = 401), (status = 403), (status = 404), (status = 409)),
    security(("bearer" = []))
)]
#[patch("/core/users/{pk}/")]
pub async fn partial_update(
    state: web::Data<AppState>,
    caller: Caller,
    client: ClientInfo,
    pk: web::Path<i64>,
    body: ApiJson<UserWrite>,
) -> Result<HttpResponse, ApiError> {
    caller.require_superuser()?;
    body.0.check(false)?;
    apply_update(state, caller, client, UserId(pk.into_inner()), body.0).await
}

#[utoipa::path(
    tag = "core",
    params(("pk" = i64, Path, description = "User id")),
    responses((status = 204), (status = 400), (status = 401), (status = 403), (status = 404)),
    security(("bearer" = []))
)]
#[delete("/core/users/{pk}/")]
pub async fn destroy(
    state: web::Data<AppState>,
    caller: Caller,
    client: ClientInfo,
    pk: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    caller.require_superuser()?;
    let id = UserId(pk.into_inner());
    if id == caller.user.id() {
        return Err(ApiError::BadRequest("You cannot delete your own account.".into()));
    }
    state
        .db
        .run(move |conn| {
            write_tx(conn, |conn| {
                let row = db::users::get(conn, id).map_err(|e| not_found(e, "User"))?;
                db::users::delete(conn, id)?;
                record_change(conn, "model_deleted", &caller, &client, &model(&row), &[])?;
                Ok::<_, ApiError>(())
            })
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetPassword {
    pub password: String,
}

#[utoipa::path(
    tag = "core",
    params(("pk" = i64, Path, description = "User id")),
    request_body = SetPassword,
    responses((status = 204), (status = 400), (status = 401), (status = 403), (status = 404)),
    security(("bearer" = []))
)]
#[post("/core/users/{pk}/set_password/")]
pub async fn set_password(
    state: web::Data<AppState>,
    caller: Caller,
    client: ClientInfo,
    pk: web::Path<i64>,
    body: ApiJson<Value>,
) -> Result<HttpResponse, ApiError> {
    caller.require_superuser()?;
    let body: SetPassword = from_value(body.0)?;
    validate::password(&body.password).map_err(|m| ApiError::field("password", m))?;
    let id = UserId(pk.into_inner());
    // Hash before taking a connection: argon2 is deliberately slow.
    let password = body.password;
    let hash = web::block(move || crate::crypto::hash_password(&password))
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))??;
    state
        .db
        .run(move |conn| {
            write_tx(conn, |conn| {
                let row = db::users::get(conn, id).map_err(|e| not_found(e, "User"))?;
                let changes = UserChanges {
                    password_hash: Some(Some(hash)),
                    password_changed: Some(Some(time::now())),
                    ..UserChanges::default()
                };
                db::users::update(conn, id, &changes)?;
                record_change(
                    conn,
                    "password_set",
                    &caller,
                    &client,
                    &model(&row),
                    &["password"],
                )?;
                Ok::<_, ApiError>(())
            })
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
