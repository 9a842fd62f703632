//! `core/groups/` (looked up by UUID): list, create, retrieve, update, partial update, delete,
//! and `<pk>/add_user/`, `<pk>/remove_user/`.

use actix_web::{HttpResponse, delete, get, patch, post, put, web};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use utoipa::{IntoParams, ToSchema};

use super::audit::{ModelRef, delete_audited, record_change};
use super::auth::Caller;
use super::list::{ListParams, Paginated, bool_filter, int_filter};
use crate::db::groups::{GroupChanges, GroupFilter, GroupRow, NewGroup};
use crate::db::{self, DbConn, GroupId, StoreError, UserId, write_tx};
use crate::error::{ApiError, FieldErrors};
use crate::http::client::ClientInfo;
use crate::http::json::{ApiJson, double_option, from_value};
use crate::state::AppState;
use crate::validate;

#[derive(Debug, Serialize, ToSchema)]
pub struct Group {
    /// The group's UUID.
    pub pk: String,
    pub num_pk: i64,
    pub name: String,
    pub is_superuser: bool,
    pub attributes: Value,
    /// Member user ids.
    pub users: Vec<i64>,
    /// Parent group UUID.
    pub parent: Option<String>,
}

impl Group {
    fn load(conn: &mut DbConn, id: GroupId) -> Result<Self, ApiError> {
        let row = db::groups::get(conn, id).map_err(not_found)?;
        Self::many(conn, vec![row])?
            .pop()
            .ok_or_else(|| ApiError::not_found("Group"))
    }

    fn many(conn: &mut DbConn, rows: Vec<GroupRow>) -> Result<Vec<Self>, ApiError> {
        let ids: Vec<GroupId> = rows.iter().map(GroupRow::id).collect();
        let mut members = db::groups::members_of(conn, &ids)?;
        let parent_ids: Vec<i64> = rows.iter().filter_map(|r| r.parent_id).collect();
        let parents = db::groups::uuids_of(conn, &parent_ids)?;
        Ok(rows
            .into_iter()
            .map(|row| Self {
                users: members
                    .remove(&row.id())
                    .unwrap_or_default()
                    .into_iter()
                    .map(|u| u.0)
                    .collect(),
                parent: row.parent_id.and_then(|p| parents.get(&p).cloned()),
                attributes: row.attributes_json(),
                pk: row.uuid,
                num_pk: row.id,
                name: row.name,
                is_superuser: row.is_superuser,
            })
            .collect())
    }
}

fn not_found(error: StoreError) -> ApiError {
    match error {
        StoreError::NotFound => ApiError::not_found("Group"),
        other => other.into(),
    }
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GroupWrite {
    pub name: Option<String>,
    pub is_superuser: Option<bool>,
    pub attributes: Option<Value>,
    /// Member user ids; replaces the members.
    pub users: Option<Vec<i64>>,
    /// Parent group UUID, or null for none.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub parent: Option<Option<String>>,
}

impl GroupWrite {
    fn check(&self, require_name: bool) -> Result<(), ApiError> {
        let mut errors = FieldErrors::new();
        match &self.name {
            Some(v) => {
                if let Err(m) = validate::group_name(v) {
                    errors.insert("name".into(), vec![m]);
                }
            }
            None if require_name => {
                errors.insert("name".into(), vec!["This field is required.".into()]);
            }
            None => {}
        }
        if let Some(v) = &self.attributes
            && let Err(m) = validate::attributes(v)
        {
            errors.insert("attributes".into(), vec![m]);
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(ApiError::Validation(errors))
        }
    }

    fn changed_fields(&self) -> Vec<&'static str> {
        [
            ("name", self.name.is_some()),
            ("is_superuser", self.is_superuser.is_some()),
            ("attributes", self.attributes.is_some()),
            ("users", self.users.is_some()),
            ("parent", self.parent.is_some()),
        ]
        .into_iter()
        .filter_map(|(name, set)| set.then_some(name))
        .collect()
    }

    /// Resolves `parent`; `own` is the group being updated, which may not become its own ancestor.
    fn parent_id(&self, conn: &mut DbConn, own: Option<GroupId>) -> Result<Option<Option<i64>>, ApiError> {
        let Some(parent) = &self.parent else {
            return Ok(None);
        };
        let Some(uuid) = parent else {
            return Ok(Some(None));
        };
        let row = db::groups::get_by_uuid(conn, uuid).map_err(|e| match e {
            StoreError::NotFound => ApiError::field("parent", format!("Unknown group `{uuid}`.")),
            other => other.into(),
        })?;
        if let Some(own) = own
            && db::groups::ancestors(conn, row.id())?.contains(&own)
        {
            return Err(ApiError::field("parent", "A group cannot be its own ancestor."));
        }
        Ok(Some(Some(row.id)))
    }

    fn member_ids(&self, conn: &mut DbConn) -> Result<Option<Vec<UserId>>, ApiError> {
        let Some(users) = &self.users else {
            return Ok(None);
        };
        let ids: Vec<UserId> = users.iter().copied().map(UserId).collect();
        let existing = db::groups::existing_users(conn, &ids)?;
        let missing: Vec<String> = ids
            .iter()
            .filter(|id| !existing.contains(id))
            .map(|id| format!("Unknown user {id}."))
            .collect();
        if !missing.is_empty() {
            let mut errors = FieldErrors::new();
            errors.insert("users".into(), missing);
            return Err(ApiError::Validation(errors));
        }
        Ok(Some(ids))
    }
}

fn model(row: &GroupRow) -> ModelRef {
    ModelRef {
        model_name: "group",
        pk: json!(row.uuid),
        name: row.name.clone(),
    }
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct GroupFilters {
    pub name: Option<String>,
    #[param(value_type = Option<bool>)]
    pub is_superuser: Option<String>,
    /// Groups that have the user with this username as a member.
    pub members_by_username: Option<String>,
    /// Groups that have the user with this id as a member.
    #[param(value_type = Option<i64>)]
    pub members_by_pk: Option<String>,
}

#[utoipa::path(
    tag = "core",
    params(ListParams, GroupFilters),
    responses((status = 200, body = Paginated<Group>), (status = 400), (status = 401), (status = 403)),
    security(("bearer" = []))
)]
#[get("/core/groups/")]
pub async fn list(
    state: web::Data<AppState>,
    caller: Caller,
    params: web::Query<ListParams>,
    filters: web::Query<GroupFilters>,
) -> Result<HttpResponse, ApiError> {
    caller.require_superuser()?;
    let page = params.page()?;
    let ordering = params.ordering(db::groups::ORDERING_FIELDS, "name")?;
    let filters = filters.into_inner();
    let filter = GroupFilter {
        search: params.search(),
        name: filters.name,
        is_superuser: bool_filter("is_superuser", &filters.is_superuser)?,
        member_username: filters.members_by_username,
        member_pk: int_filter("members_by_pk", &filters.members_by_pk)?,
    };
    let (groups, count) = state
        .db
        .run(move |conn| {
            let (rows, count) = db::groups::list(conn, &filter, &ordering, &page)?;
            Ok::<_, ApiError>((Group::many(conn, rows)?, count))
        })
        .await?;
    Ok(HttpResponse::Ok().json(Paginated::new(groups, count, page)?))
}

#[utoipa::path(
    tag = "core",
    request_body = GroupWrite,
    responses((status = 201, body = Group), (status = 400), (status = 401), (status = 403), (status = 409)),
    security(("bearer" = []))
)]
#[post("/core/groups/")]
pub async fn create(
    state: web::Data<AppState>,
    caller: Caller,
    client: ClientInfo,
    body: ApiJson<GroupWrite>,
) -> Result<HttpResponse, ApiError> {
    caller.require_superuser()?;
    let body = body.0;
    body.check(true)?;
    let group = state
        .db
        .run(move |conn| {
            write_tx(conn, |conn| {
                let mut new = NewGroup::new(body.name.as_deref().unwrap_or_default());
                new.is_superuser = body.is_superuser.unwrap_or(false);
                if let Some(v) = &body.attributes {
                    new.attributes = v.to_string();
                }
                new.parent_id = body.parent_id(conn, None)?.flatten();
                let members = body.member_ids(conn)?;
                let row = db::groups::insert(conn, &new)?;
                if let Some(members) = members {
                    db::groups::set_members(conn, row.id(), &members)?;
                }
                record_change(conn, "model_created", &caller, &client, &model(&row), &[])?;
                Group::load(conn, row.id())
            })
        })
        .await?;
    Ok(HttpResponse::Created().json(group))
}

/// Group UUIDs in paths: anything else is simply not found.
fn group_uuid(raw: &str) -> Result<String, ApiError> {
    uuid::Uuid::parse_str(raw)
        .map(|u| u.to_string())
        .map_err(|_| ApiError::not_found("Group"))
}

#[utoipa::path(
    tag = "core",
    params(("pk" = String, Path, description = "Group UUID")),
    responses((status = 200, body = Group), (status = 401), (status = 403), (status = 404)),
    security(("bearer" = []))
)]
#[get("/core/groups/{pk}/")]
pub async fn retrieve(
    state: web::Data<AppState>,
    caller: Caller,
    pk: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    caller.require_superuser()?;
    let uuid = group_uuid(&pk)?;
    let group = state
        .db
        .run(move |conn| {
            let row = db::groups::get_by_uuid(conn, &uuid).map_err(not_found)?;
            Group::load(conn, row.id())
        })
        .await?;
    Ok(HttpResponse::Ok().json(group))
}

async fn apply_update(
    state: web::Data<AppState>,
    caller: Caller,
    client: ClientInfo,
    uuid: String,
    body: GroupWrite,
) -> Result<HttpResponse, ApiError> {
    let group = state
        .db
        .run(move |conn| {
            write_tx(conn, |conn| {
                let existing = db::groups::get_by_uuid(conn, &uuid).map_err(not_found)?;
                let changes = GroupChanges {
                    name: body.name.clone(),
                    is_superuser: body.is_superuser,
                    attributes: body.attributes.as_ref().map(Value::to_string),
                    parent_id: body.parent_id(conn, Some(existing.id()))?,
                    updated: None,
                };
                if let Some(members) = body.member_ids(conn)? {
                    db::groups::set_members(conn, existing.id(), &members)?;
                }
                let row = db::groups::update(conn, existing.id(), &changes)?;
                record_change(
                    conn,
                    "model_updated",
                    &caller,
                    &client,
                    &model(&row),
                    &body.changed_fields(),
                )?;
                Group::load(conn, row.id())
            })
        })
        .await?;
    Ok(HttpResponse::Ok().json(group))
}

#[utoipa::path(
    tag = "core",
    params(("pk" = String, Path, description = "Group UUID")),
    request_body = GroupWrite,
    responses((status = 200, body = Group), (status = 400), (status = 401), (status = 403), (status = 404), (status = 409)),
    security(("bearer" = []))
)]
#[put("/core/groups/{pk}/")]
pub async fn update(
    state: web::Data<AppState>,
    caller: Caller,
    client: ClientInfo,
    pk: web::Path<String>,
    body: ApiJson<GroupWrite>,
) -> Result<HttpResponse, ApiError> {
    caller.require_superuser()?;
    let uuid = group_uuid(&pk)?;
    body.0.check(true)?;
    apply_update(state, caller, client, uuid, body.0).await
}

#[utoipa::path(
    tag = "core",
    params(("pk" = String, Path, description = "Group UUID")),
    request_body = GroupWrite,
    responses((status = 200, body = Group), (status = 400), (status = 401), (status = 403), (status = 404), (status = 409)),
    security(("bearer" = []))
)]
#[patch("/core/groups/{pk}/")]
pub async fn partial_update(
    state: web::Data<AppState>,
    caller: Caller,
    client: ClientInfo,
    pk: web::Path<String>,
    body: ApiJson<GroupWrite>,
) -> Result<HttpResponse, ApiError> {
    caller.require_superuser()?;
    let uuid = group_uuid(&pk)?;
    body.0.check(false)?;
    apply_update(state, caller, client, uuid, body.0).await
}

#[utoipa::path(
    tag = "core",
    params(("pk" = String, Path, description = "Group UUID")),
    responses((status = 204), (status = 401), (status = 403), (status = 404)),
    security(("bearer" = []))
)]
#[delete("/core/groups/{pk}/")]
pub async fn destroy(
    state: web::Data<AppState>,
    caller: Caller,
    client: ClientInfo,
    pk: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    caller.require_superuser()?;
    let uuid = group_uuid(&pk)?;
    delete_audited(
        &state,
        caller,
        client,
        move |conn| db::groups::get_by_uuid(conn, &uuid).map_err(not_found),
        |conn, row| db::groups::delete(conn, row.id()),
        model,
    )
    .await
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UserAccountRef {
    /// The user's id.
    pub pk: i64,
}

async fn change_membership(
    state: web::Data<AppState>,
    caller: Caller,
    client: ClientInfo,
    pk: String,
    user: i64,
    add: bool,
) -> Result<HttpResponse, ApiError> {
    caller.require_superuser()?;
    let uuid = group_uuid(&pk)?;
    state
        .db
        .run(move |conn| {
            write_tx(conn, |conn| {
                let group = db::groups::get_by_uuid(conn, &uuid).map_err(not_found)?;
                let user = db::users::get(conn, UserId(user)).map_err(|e| match e {
                    StoreError::NotFound => ApiError::field("pk", format!("Unknown user {user}.")),
                    other => other.into(),
                })?;
                let changed = if add {
                    db::groups::add_member(conn, group.id(), user.id())?
                } else {
                    db::groups::remove_member(conn, group.id(), user.id())?
                };
                if changed {
                    let action = if add {
                        "group_member_added"
                    } else {
                        "group_member_removed"
                    };
                    let mut model = model(&group);
                    model.name = format!("{} ({})", group.name, user.username);
                    record_change(conn, action, &caller, &client, &model, &["users"])?;
                }
                Ok::<_, ApiError>(())
            })
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

#[utoipa::path(
    tag = "core",
    params(("pk" = String, Path, description = "Group UUID")),
    request_body = UserAccountRef,
    responses((status = 204), (status = 400), (status = 401), (status = 403), (status = 404)),
    security(("bearer" = []))
)]
#[post("/core/groups/{pk}/add_user/")]
pub async fn add_user(
    state: web::Data<AppState>,
    caller: Caller,
    client: ClientInfo,
    pk: web::Path<String>,
    body: ApiJson<Value>,
) -> Result<HttpResponse, ApiError> {
    caller.require_superuser()?;
    let body: UserAccountRef = from_value(body.0)?;
    change_membership(state, caller, client, pk.into_inner(), body.pk, true).await
}

#[utoipa::path(
    tag = "core",
    params(("pk" = String, Path, description = "Group UUID")),
    request_body = UserAccountRef,
    responses((status = 204), (status = 400), (status = 401), (status = 403), (status = 404)),
    security(("bearer" = []))
)]
#[post("/core/groups/{pk}/remove_user/")]
pub async fn remove_user(
    state: web::Data<AppState>,
    caller: Caller,
    client: ClientInfo,
    pk: web::Path<String>,
    body: ApiJson<Value>,
) -> Result<HttpResponse, ApiError> {
    caller.require_superuser()?;
    let body: UserAccountRef = from_value(body.0)?;
    change_membership(state, caller, client, pk.into_inner(), body.pk, false).await
}
