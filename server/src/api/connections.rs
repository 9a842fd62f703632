//! `sources/user_connections/oauth/` and `sources/group_connections/oauth/`: which local users
//! and groups are linked to which upstream identities. Read and delete (unlinking); links are
//! made by logins.

use actix_web::{HttpResponse, delete, get, web};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::{IntoParams, ToSchema};

use super::audit::{ModelRef, delete_audited};
use super::auth::Caller;
use super::list::{ListParams, Paginated, int_filter};
use crate::db::connections::{ConnectionFilter, GroupConnectionRow, UserConnectionRow};
use crate::db::{self, StoreError, time};
use crate::error::ApiError;
use crate::http::client::ClientInfo;
use crate::state::AppState;

#[derive(Debug, Serialize, ToSchema)]
pub struct UserConnection {
    pub pk: i64,
    /// User id.
    pub user: i64,
    /// Source UUID.
    pub source: String,
    pub source_slug: String,
    /// The upstream user id (Entra object id).
    pub identifier: String,
    pub created: DateTime<Utc>,
    pub last_updated: DateTime<Utc>,
    /// When the stored upstream access token expires.
    pub expires: Option<DateTime<Utc>>,
    /// `enrolled` (the source created the account) or `linked` (a matching mode joined an
    /// existing account, whose username logins then leave alone).
    pub origin: String,
}

impl UserConnection {
    fn from_row((row, source, slug): (UserConnectionRow, String, String)) -> Self {
        let origin = row.origin().as_str().to_owned();
        Self {
            pk: row.id,
            user: row.user_id,
            source,
            source_slug: slug,
            identifier: row.identifier,
            created: time::to_utc(row.created),
            last_updated: time::to_utc(row.last_updated),
            expires: row.expires.map(time::to_utc),
            origin,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct GroupConnection {
    pub pk: i64,
    /// Group UUID.
    pub group: String,
    pub source: String,
    pub source_slug: String,
    pub identifier: String,
    pub created: DateTime<Utc>,
    pub last_updated: DateTime<Utc>,
}

impl GroupConnection {
    fn from_row((row, source, slug, group): (GroupConnectionRow, String, String, String)) -> Self {
        Self {
            pk: row.id,
            group,
            source,
            source_slug: slug,
            identifier: row.identifier,
            created: time::to_utc(row.created),
            last_updated: time::to_utc(row.last_updated),
        }
    }
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UserConnectionFilters {
    /// User id.
    #[param(value_type = Option<i64>)]
    pub user: Option<String>,
    #[serde(rename = "source__slug")]
    #[param(rename = "source__slug")]
    pub source_slug: Option<String>,
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct GroupConnectionFilters {
    /// Group UUID.
    pub group: Option<String>,
    #[serde(rename = "source__slug")]
    #[param(rename = "source__slug")]
    pub source_slug: Option<String>,
}

fn not_found(error: StoreError) -> ApiError {
    match error {
        StoreError::NotFound => ApiError::not_found("Connection"),
        other => other.into(),
    }
}

#[utoipa::path(
    tag = "sources",
    params(ListParams, UserConnectionFilters),
    responses((status = 200, body = Paginated<UserConnection>), (status = 400), (status = 401), (status = 403)),
    security(("bearer" = []))
)]
#[get("/sources/user_connections/oauth/")]
pub async fn user_list(
    state: web::Data<AppState>,
    caller: Caller,
    params: web::Query<ListParams>,
    filters: web::Query<UserConnectionFilters>,
) -> Result<HttpResponse, ApiError> {
    caller.require_superuser()?;
    let page = params.page()?;
    let filters = filters.into_inner();
    let filter = ConnectionFilter {
        user: int_filter("user", &filters.user)?,
        group: None,
        source_slug: filters.source_slug,
    };
    let (rows, count) = state
        .db
        .run(move |conn| db::connections::list_user_connections(conn, &filter, &page))
        .await
        .map_err(ApiError::from)?;
    let items = rows.into_iter().map(UserConnection::from_row).collect();
    Ok(HttpResponse::Ok().json(Paginated::new(items, count, page)?))
}

#[utoipa::path(
    tag = "sources",
    params(("pk" = i64, Path)),
    responses((status = 200, body = UserConnection), (status = 401), (status = 403), (status = 404)),
    security(("bearer" = []))
)]
#[get("/sources/user_connections/oauth/{pk}/")]
pub async fn user_retrieve(
    state: web::Data<AppState>,
    caller: Caller,
    pk: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    caller.require_superuser()?;
    let id = pk.into_inner();
    let row = state
        .db
        .run(move |conn| db::connections::user_connection_by_id(conn, id).map_err(not_found))
        .await?;
    Ok(HttpResponse::Ok().json(UserConnection::from_row(row)))
}

#[utoipa::path(
    tag = "sources",
    params(("pk" = i64, Path)),
    responses((status = 204), (status = 401), (status = 403), (status = 404)),
    security(("bearer" = []))
)]
#[delete("/sources/user_connections/oauth/{pk}/")]
pub async fn user_destroy(
    state: web::Data<AppState>,
    caller: Caller,
    client: ClientInfo,
    pk: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    caller.require_superuser()?;
    let id = pk.into_inner();
    delete_audited(
        &state,
        caller,
        client,
        move |conn| db::connections::user_connection_by_id(conn, id).map_err(not_found),
        |conn, (row, _, _)| db::connections::delete_user_connection(conn, row.id),
        |(row, _, slug)| ModelRef {
            model_name: "user_source_connection",
            pk: json!(row.id),
            name: format!("{slug}:{}", row.identifier),
        },
    )
    .await
}

#[utoipa::path(
    tag = "sources",
    params(ListParams, GroupConnectionFilters),
    responses((status = 200, body = Paginated<GroupConnection>), (status = 400), (status = 401), (status = 403)),
    security(("bearer" = []))
)]
#[get("/sources/group_connections/oauth/")]
pub async fn group_list(
    state: web::Data<AppState>,
    caller: Caller,
    params: web::Query<ListParams>,
    filters: web::Query<GroupConnectionFilters>,
) -> Result<HttpResponse, ApiError> {
    caller.require_superuser()?;
    let page = params.page()?;
    let filters = filters.into_inner();
    let (rows, count) = state
        .db
        .run(move |conn| {
            // An unknown group matches nothing (-1 is no id).
            let group = filters
                .group
                .as_ref()
                .map(|uuid| db::groups::get_by_uuid(conn, uuid).map(|g| g.id).unwrap_or(-1));
            let filter = ConnectionFilter {
                user: None,
                group,
                source_slug: filters.source_slug.clone(),
            };
            db::connections::list_group_connections(conn, &filter, &page)
        })
        .await
        .map_err(ApiError::from)?;
    let items = rows.into_iter().map(GroupConnection::from_row).collect();
    Ok(HttpResponse::Ok().json(Paginated::new(items, count, page)?))
}

#[utoipa::path(
    tag = "sources",
    params(("pk" = i64, Path)),
    responses((status = 200, body = GroupConnection), (status = 401), (status = 403), (status = 404)),
    security(("bearer" = []))
)]
#[get("/sources/group_connections/oauth/{pk}/")]
pub async fn group_retrieve(
    state: web::Data<AppState>,
    caller: Caller,
    pk: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    caller.require_superuser()?;
    let id = pk.into_inner();
    let row = state
        .db
        .run(move |conn| db::connections::group_connection_by_id(conn, id).map_err(not_found))
        .await?;
    Ok(HttpResponse::Ok().json(GroupConnection::from_row(row)))
}

#[utoipa::path(
    tag = "sources",
    params(("pk" = i64, Path)),
    responses((status = 204), (status = 401), (status = 403), (status = 404)),
    security(("bearer" = []))
)]
#[delete("/sources/group_connections/oauth/{pk}/")]
pub async fn group_destroy(
    state: web::Data<AppState>,
    caller: Caller,
    client: ClientInfo,
    pk: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    caller.require_superuser()?;
    let id = pk.into_inner();
    delete_audited(
        &state,
        caller,
        client,
        move |conn| db::connections::group_connection_by_id(conn, id).map_err(not_found),
        |conn, (row, _, _, _)| db::connections::delete_group_connection(conn, row.id),
        |(row, _, slug, _)| ModelRef {
            model_name: "group_source_connection",
            pk: json!(row.id),
            name: format!("{slug}:{}", row.identifier),
        },
    )
    .await
}
