//! `events/events/` (looked up by UUID): the audit log. Listing, retrieving, creating custom
//! events and deleting (retention) are allowed; editing is not — an audit record that can be
//! rewritten proves nothing, so update and partial update answer 405.

use actix_web::{HttpResponse, delete, get, patch, post, put, web};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use utoipa::{IntoParams, ToSchema};

use super::audit::{ModelRef, record_change};
use super::auth::Caller;
use super::list::{ListParams, Paginated, int_filter};
use crate::db::events::{EventFilter, EventRow, EventUser};
use crate::db::{self, StoreError, time, write_tx};
use crate::error::{ApiError, FieldErrors};
use crate::http::client::ClientInfo;
use crate::http::json::{ApiJson, from_value};
use crate::state::AppState;

#[derive(Debug, Serialize, ToSchema)]
pub struct Event {
    /// The event's UUID.
    pub pk: String,
    pub action: String,
    /// The acting user at the time: `{pk, username, email}`.
    #[schema(value_type = Option<Object>)]
    pub user: Option<Value>,
    pub context: Value,
    pub client_ip: Option<String>,
    pub created: DateTime<Utc>,
}

impl Event {
    pub fn from_row(row: EventRow) -> Self {
        Self {
            pk: row.uuid,
            action: row.action,
            user: row.user_json.and_then(|u| serde_json::from_str(&u).ok()),
            context: serde_json::from_str(&row.context).unwrap_or_else(|_| json!({})),
            client_ip: row.client_ip,
            created: time::to_utc(row.created),
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EventCreate {
    /// Must start with `custom_`: built-in actions are recorded by Gatehouse itself only.
    pub action: String,
    #[serde(default)]
    pub context: Option<Value>,
    pub client_ip: Option<String>,
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct EventFilters {
    pub action: Option<String>,
    pub username: Option<String>,
    /// Acting user id.
    #[param(value_type = Option<i64>)]
    pub user: Option<String>,
    pub client_ip: Option<String>,
    /// Only events at or after this time (RFC 3339).
    pub created_after: Option<String>,
    /// Only events before this time (RFC 3339).
    pub created_before: Option<String>,
}

fn timestamp_filter(name: &str, value: &Option<String>) -> Result<Option<chrono::NaiveDateTime>, ApiError> {
    match value.as_deref().map(str::trim) {
        None | Some("") => Ok(None),
        Some(raw) => DateTime::parse_from_rfc3339(raw)
            .map(|t| Some(time::from_utc(t.with_timezone(&Utc))))
            .map_err(|_| ApiError::field(name, format!("`{raw}` is not an RFC 3339 timestamp."))),
    }
}

#[utoipa::path(
    tag = "events",
    params(ListParams, EventFilters),
    responses((status = 200, body = Paginated<Event>), (status = 400), (status = 401), (status = 403)),
    security(("bearer" = []))
)]
#[get("/events/events/")]
pub async fn list(
    state: web::Data<AppState>,
    caller: Caller,
    params: web::Query<ListParams>,
    filters: web::Query<EventFilters>,
) -> Result<HttpResponse, ApiError> {
    caller.require_superuser()?;
    let page = params.page()?;
    let ordering = params.ordering(db::events::ORDERING_FIELDS, "-created")?;
    let filters = filters.into_inner();
    let filter = EventFilter {
        search: params.search(),
        action: filters.action,
        user_pk: int_filter("user", &filters.user)?,
        username: filters.username,
        client_ip: filters.client_ip,
        created_after: timestamp_filter("created_after", &filters.created_after)?,
        created_before: timestamp_filter("created_before", &filters.created_before)?,
    };
    let (rows, count) = state
        .db
        .run(move |conn| db::events::list(conn, &filter, &ordering, &page))
        .await
        .map_err(ApiError::from)?;
    let events = rows.into_iter().map(Event::from_row).collect();
    Ok(HttpResponse::Ok().json(Paginated::new(events, count, page)?))
}

fn event_uuid(raw: &str) -> Result<String, ApiError> {
    uuid::Uuid::parse_str(raw)
        .map(|u| u.to_string())
        .map_err(|_| ApiError::not_found("Event"))
}

fn not_found(error: StoreError) -> ApiError {
    match error {
        StoreError::NotFound => ApiError::not_found("Event"),
        other => other.into(),
    }
}

#[utoipa::path(
    tag = "events",
    params(("pk" = String, Path, description = "Event UUID")),
    responses((status = 200, body = Event), (status = 401), (status = 403), (status = 404)),
    security(("bearer" = []))
)]
#[get("/events/events/{pk}/")]
pub async fn retrieve(
    state: web::Data<AppState>,
    caller: Caller,
    pk: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    caller.require_superuser()?;
    let uuid = event_uuid(&pk)?;
    let row = state
        .db
        .run(move |conn| db::events::get_by_uuid(conn, &uuid).map_err(not_found))
        .await?;
    Ok(HttpResponse::Ok().json(Event::from_row(row)))
}

#[utoipa::path(
    tag = "events",
    request_body = EventCreate,
    responses((status = 201, body = Event), (status = 400), (status = 401), (status = 403)),
    security(("bearer" = []))
)]
#[post("/events/events/")]
pub async fn create(
    state: web::Data<AppState>,
    caller: Caller,
    client: ClientInfo,
    body: ApiJson<Value>,
) -> Result<HttpResponse, ApiError> {
    caller.require_superuser()?;
    let body: EventCreate = from_value(body.0)?;
    let mut errors = FieldErrors::new();
    let action_ok = body.action.len() <= 64
        && body.action.starts_with("custom_")
        && body.action.len() > "custom_".len()
        && body
            .action
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if !action_ok {
        errors.insert(
            "action".into(),
            vec!["Use `custom_<name>` (lowercase letters, digits, `_`; at most 64 characters).".into()],
        );
    }
    if body.context.as_ref().is_some_and(|c| !c.is_object()) {
        errors.insert(
            "context".into(),
            vec!["The context must be a JSON object.".into()],
        );
    }
    if let Some(ip) = &body.client_ip
        && ip.parse::<std::net::IpAddr>().is_err()
    {
        errors.insert("client_ip".into(), vec![format!("`{ip}` is not an IP address.")]);
    }
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    let row = state
        .db
        .run(move |conn| {
            db::events::insert(
                conn,
                &db::events::Event {
                    action: &body.action,
                    user: Some(EventUser {
                        pk: caller.user.id,
                        username: caller.user.username.clone(),
                        email: caller.user.email.clone(),
                    }),
                    context: body.context.clone().unwrap_or_else(|| json!({})),
                    client_ip: body.client_ip.as_deref().or(client.ip.as_deref()),
                },
            )
        })
        .await
        .map_err(ApiError::from)?;
    Ok(HttpResponse::Created().json(Event::from_row(row)))
}

fn immutable() -> ApiError {
    ApiError::MethodNotAllowed(
        "Events are an audit log and cannot be edited; create a new event or delete old ones.".into(),
    )
}

#[utoipa::path(
    tag = "events",
    params(("pk" = String, Path, description = "Event UUID")),
    responses((status = 405, description = "Events cannot be edited")),
    security(("bearer" = []))
)]
#[put("/events/events/{pk}/")]
pub async fn update(caller: Caller, _pk: web::Path<String>) -> Result<HttpResponse, ApiError> {
    caller.require_superuser()?;
    Err(immutable())
}

#[utoipa::path(
    tag = "events",
    params(("pk" = String, Path, description = "Event UUID")),
    responses((status = 405, description = "Events cannot be edited")),
    security(("bearer" = []))
)]
#[patch("/events/events/{pk}/")]
pub async fn partial_update(caller: Caller, _pk: web::Path<String>) -> Result<HttpResponse, ApiError> {
    caller.require_superuser()?;
    Err(immutable())
}

#[utoipa::path(
    tag = "events",
    params(("pk" = String, Path, description = "Event UUID")),
    responses((status = 204), (status = 401), (status = 403), (status = 404)),
    security(("bearer" = []))
)]
#[delete("/events/events/{pk}/")]
pub async fn destroy(
    state: web::Data<AppState>,
    caller: Caller,
    client: ClientInfo,
    pk: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    caller.require_superuser()?;
    let uuid = event_uuid(&pk)?;
    state
        .db
        .run(move |conn| {
            write_tx(conn, |conn| {
                let row = db::events::get_by_uuid(conn, &uuid).map_err(not_found)?;
                db::events::delete(conn, row.id)?;
                // The deletion itself is recorded, so removing evidence leaves evidence.
                let model = ModelRef {
                    model_name: "event",
                    pk: json!(row.uuid),
                    name: row.action.clone(),
                };
                record_change(conn, "model_deleted", &caller, &client, &model, &[])?;
                Ok::<_, ApiError>(())
            })
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
