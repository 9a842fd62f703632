//! `core/applications/` (looked up by slug): what users sign in to. An application's slug names
//! its issuer, `<external url>/application/o/<slug>/`.

use actix_web::{HttpResponse, delete, get, patch, post, put, web};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;

use super::audit::{ModelRef, delete_audited, record_change};
use super::auth::Caller;
use super::list::{ListParams, Paginated};
use crate::db::providers::{ApplicationRow, ApplicationValues};
use crate::db::{self, DbConn, StoreError, time, write_tx};
use crate::error::{ApiError, FieldErrors, add_field_error as add};
use crate::http::client::ClientInfo;
use crate::http::json::{ApiJson, double_option};
use crate::state::AppState;

/// Slugs that would collide with the provider's own endpoints under `/application/o/`.
const RESERVED: &[&str] = &["authorize", "token", "userinfo", "introspect", "revoke"];

#[derive(Debug, Serialize, ToSchema)]
pub struct Application {
    /// The application's UUID.
    pub pk: String,
    pub name: String,
    pub slug: String,
    /// Provider UUID.
    pub provider: Option<String>,
    /// The OIDC issuer, when a provider is attached.
    pub issuer: Option<String>,
    pub openid_configuration_url: Option<String>,
}

fn view(conn: &mut DbConn, state: &AppState, row: ApplicationRow) -> Result<Application, StoreError> {
    let provider = match row.provider_id {
        Some(id) => Some(db::providers::get(conn, id)?.uuid),
        None => None,
    };
    let issuer = provider
        .as_ref()
        .map(|_| crate::provider::issuer(&state.settings, &row.slug));
    Ok(Application {
        openid_configuration_url: issuer
            .as_ref()
            .map(|i| format!("{i}.well-known/openid-configuration")),
        issuer,
        pk: row.uuid,
        name: row.name,
        slug: row.slug,
        provider,
    })
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ApplicationWrite {
    pub name: Option<String>,
    pub slug: Option<String>,
    /// Provider UUID, or `null` to detach.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub provider: Option<Option<String>>,
}

fn apply(
    conn: &mut DbConn,
    body: &ApplicationWrite,
    values: &mut ApplicationValues,
    full: bool,
) -> Result<(), ApiError> {
    let mut errors = FieldErrors::new();
    match &body.name {
        Some(n) if n.trim().is_empty() => add(&mut errors, "name", "This field may not be blank."),
        Some(n) => match crate::validate::name(n) {
            Ok(()) => values.name = n.clone(),
            Err(m) => add(&mut errors, "name", m),
        },
        None if full => add(&mut errors, "name", "This field is required."),
        None => {}
    }
    match &body.slug {
        Some(s) => {
            let shaped = !s.is_empty()
                && s.len() <= 50
                && s.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_');
            if !shaped {
                add(
                    &mut errors,
                    "slug",
                    "1 to 50 characters: lower-case letters, digits, `-` and `_`.",
                );
            } else if RESERVED.contains(&s.as_str()) {
                add(
                    &mut errors,
                    "slug",
                    format!("`{s}` is reserved for the provider's endpoints."),
                );
            } else {
                values.slug = s.clone();
            }
        }
        None if full => add(&mut errors, "slug", "This field is required."),
        None => {}
    }
    match &body.provider {
        None => {}
        Some(None) => values.provider_id = None,
        Some(Some(uuid)) => match db::providers::by_uuid(conn, uuid) {
            Ok(p) => values.provider_id = Some(p.id),
            Err(StoreError::NotFound) => add(&mut errors, "provider", format!("Unknown provider `{uuid}`.")),
            Err(e) => return Err(e.into()),
        },
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(ApiError::Validation(errors))
    }
}

fn model(row: &ApplicationRow) -> ModelRef {
    ModelRef {
        model_name: "application",
        pk: json!(row.uuid),
        name: row.name.clone(),
    }
}

fn load(conn: &mut DbConn, slug: &str) -> Result<ApplicationRow, ApiError> {
    db::providers::application_by_slug(conn, slug)?.ok_or_else(|| ApiError::not_found("Application"))
}

#[utoipa::path(
    tag = "core",
    params(ListParams),
    responses((status = 200, body = Paginated<Application>), (status = 400), (status = 401), (status = 403)),
    security(("bearer" = []))
)]
#[get("/core/applications/")]
pub async fn list(
    state: web::Data<AppState>,
    caller: Caller,
    params: web::Query<ListParams>,
) -> Result<HttpResponse, ApiError> {
    caller.require_superuser()?;
    let page = params.page()?;
    let search = params.search();
    let db_state = state.clone();
    let (items, count) = state
        .db
        .run(move |conn| {
            let (rows, count) = db::providers::list_applications(conn, &search, &page)?;
            let items = rows
                .into_iter()
                .map(|row| view(conn, &db_state, row))
                .collect::<Result<Vec<_>, _>>()?;
            Ok::<_, StoreError>((items, count))
        })
        .await?;
    Ok(HttpResponse::Ok().json(Paginated::new(items, count, page)?))
}

#[utoipa::path(
    tag = "core",
    request_body = ApplicationWrite,
    responses((status = 201, body = Application), (status = 400), (status = 401), (status = 403), (status = 409)),
    security(("bearer" = []))
)]
#[post("/core/applications/")]
pub async fn create(
    state: web::Data<AppState>,
    caller: Caller,
    client: ClientInfo,
    body: ApiJson<ApplicationWrite>,
) -> Result<HttpResponse, ApiError> {
    caller.require_superuser()?;
    let body = body.0;
    let db_state = state.clone();
    let view = state
        .db
        .run(move |conn| {
            write_tx(conn, |conn| {
                let mut values = ApplicationValues {
                    slug: String::new(),
                    name: String::new(),
                    provider_id: None,
                    updated: time::now(),
                };
                apply(conn, &body, &mut values, true)?;
                let row =
                    db::providers::insert_application(conn, &uuid::Uuid::new_v4().to_string(), &values)?;
                record_change(conn, "model_created", &caller, &client, &model(&row), &[])?;
                Ok::<_, ApiError>(view(conn, &db_state, row)?)
            })
        })
        .await?;
    Ok(HttpResponse::Created().json(view))
}

#[utoipa::path(
    tag = "core",
    params(("slug" = String, Path)),
    responses((status = 200, body = Application), (status = 401), (status = 403), (status = 404)),
    security(("bearer" = []))
)]
#[get("/core/applications/{slug}/")]
pub async fn retrieve(
    state: web::Data<AppState>,
    caller: Caller,
    slug: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    caller.require_superuser()?;
    let slug = slug.into_inner();
    let db_state = state.clone();
    let view = state
        .db
        .run(move |conn| {
            let row = load(conn, &slug)?;
            Ok::<_, ApiError>(view(conn, &db_state, row)?)
        })
        .await?;
    Ok(HttpResponse::Ok().json(view))
}

async fn apply_update(
    state: web::Data<AppState>,
    caller: Caller,
    client: ClientInfo,
    slug: String,
    body: ApplicationWrite,
    full: bool,
) -> Result<HttpResponse, ApiError> {
    caller.require_superuser()?;
    let db_state = state.clone();
    let view = state
        .db
        .run(move |conn| {
            write_tx(conn, |conn| {
                let row = load(conn, &slug)?;
                let mut values = ApplicationValues {
                    slug: row.slug.clone(),
                    name: row.name.clone(),
                    provider_id: row.provider_id,
                    updated: time::now(),
                };
                apply(conn, &body, &mut values, full)?;
                let row = db::providers::update_application(conn, row.id, &values)?;
                let fields: Vec<&str> = [
                    ("name", body.name.is_some()),
                    ("slug", body.slug.is_some()),
                    ("provider", body.provider.is_some()),
                ]
                .into_iter()
                .filter_map(|(n, set)| set.then_some(n))
                .collect();
                record_change(conn, "model_updated", &caller, &client, &model(&row), &fields)?;
                Ok::<_, ApiError>(view(conn, &db_state, row)?)
            })
        })
        .await?;
    Ok(HttpResponse::Ok().json(view))
}

#[utoipa::path(
    tag = "core",
    params(("slug" = String, Path)),
    request_body = ApplicationWrite,
    responses((status = 200, body = Application), (status = 400), (status = 401), (status = 403), (status = 404), (status = 409)),
    security(("bearer" = []))
)]
#[put("/core/applications/{slug}/")]
pub async fn update(
    state: web::Data<AppState>,
    caller: Caller,
    client: ClientInfo,
    slug: web::Path<String>,
    body: ApiJson<ApplicationWrite>,
) -> Result<HttpResponse, ApiError> {
    apply_update(state, caller, client, slug.into_inner(), body.0, true).await
}

#[utoipa::path(
    tag = "core",
    params(("slug" = String, Path)),
    request_body = ApplicationWrite,
    responses((status = 200, body = Application), (status = 400), (status = 401), (status = 403), (status = 404), (status = 409)),
    security(("bearer" = []))
)]
#[patch("/core/applications/{slug}/")]
pub async fn partial_update(
    state: web::Data<AppState>,
    caller: Caller,
    client: ClientInfo,
    slug: web::Path<String>,
    body: ApiJson<ApplicationWrite>,
) -> Result<HttpResponse, ApiError> {
    apply_update(state, caller, client, slug.into_inner(), body.0, false).await
}

#[utoipa::path(
    tag = "core",
    params(("slug" = String, Path)),
    responses((status = 204), (status = 401), (status = 403), (status = 404)),
    security(("bearer" = []))
)]
#[delete("/core/applications/{slug}/")]
pub async fn destroy(
    state: web::Data<AppState>,
    caller: Caller,
    client: ClientInfo,
    slug: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    caller.require_superuser()?;
    let slug = slug.into_inner();
    delete_audited(
        &state,
        caller,
        client,
        move |conn| load(conn, &slug),
        |conn, row| db::providers::delete_application(conn, row.id),
        model,
    )
    .await
}
