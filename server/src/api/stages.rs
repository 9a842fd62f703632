//! `stages/all/` (every stage, any kind) and `stages/<kind>/` (one kind, with its settings as
//! fields). Stages are looked up by UUID; a kind validates its own settings.

use actix_web::{HttpResponse, delete, get, patch, post, put, web};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use utoipa::{IntoParams, ToSchema};

use super::audit::{ModelRef, record_change};
use super::auth::Caller;
use super::list::{ListParams, Paginated};
use crate::db::flows::{NewStage, StageChanges, StageFilter, StageRow};
use crate::db::{self, DbConn, StoreError, time, write_tx};
use crate::error::{ApiError, FieldErrors};
use crate::flows::stages::{self, StageKind};
use crate::http::client::ClientInfo;
use crate::state::AppState;

/// A stage: `pk`, `name`, `kind`, `component`, and the kind's settings as further fields.
#[derive(Debug, Serialize, ToSchema)]
pub struct Stage {
    /// The stage's UUID.
    pub pk: String,
    pub name: String,
    pub kind: String,
    /// The flow-executor component this stage shows (same as `kind`).
    pub component: String,
    pub managed: Option<String>,
    /// Slugs of the flows this stage is bound to.
    pub flow_set: Vec<String>,
    #[serde(flatten)]
    #[schema(value_type = Object)]
    pub settings: Map<String, Value>,
}

impl Stage {
    fn load(conn: &mut DbConn, row: StageRow) -> Result<Self, ApiError> {
        let flow_set = db::flows::flows_using_stage(conn, row.id)?;
        let settings = match row.settings_json() {
            Value::Object(map) => map,
            _ => Map::new(),
        };
        Ok(Self {
            pk: row.uuid,
            name: row.name,
            component: row.kind.clone(),
            kind: row.kind,
            managed: row.managed,
            flow_set,
            settings,
        })
    }
}

fn model(row: &StageRow) -> ModelRef {
    ModelRef {
        model_name: "stage",
        pk: json!(row.uuid),
        name: row.name.clone(),
    }
}

fn stage_uuid(raw: &str) -> Result<String, ApiError> {
    uuid::Uuid::parse_str(raw)
        .map(|u| u.to_string())
        .map_err(|_| ApiError::not_found("Stage"))
}

/// Loads a stage, checking it is of `kind` when given (a stage of another kind is not found here).
fn load_stage(conn: &mut DbConn, uuid: &str, kind: Option<&str>) -> Result<StageRow, ApiError> {
    match db::flows::stage_by_uuid(conn, uuid) {
        Ok(row) if kind.is_none_or(|k| k == row.kind) => Ok(row),
        Ok(_) | Err(StoreError::NotFound) => Err(ApiError::not_found("Stage")),
        Err(e) => Err(e.into()),
    }
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct StageFilters {
    pub name: Option<String>,
    /// Only stages of this kind (`stages/all/` only).
    pub kind: Option<String>,
}

async fn list_kind(
    state: web::Data<AppState>,
    caller: Caller,
    params: ListParams,
    filters: StageFilters,
    kind: Option<&'static str>,
) -> Result<HttpResponse, ApiError> {
    caller.require_superuser()?;
    let page = params.page()?;
    let ordering = params.ordering(db::flows::STAGE_ORDERING, "name")?;
    let filter = StageFilter {
        search: params.search(),
        kind: kind.map(str::to_owned).or(filters.kind),
        name: filters.name,
    };
    let (stages, count) = state
        .db
        .run(move |conn| {
            let (rows, count) = db::flows::list_stages(conn, &filter, &ordering, &page)?;
            let stages = rows
                .into_iter()
                .map(|r| Stage::load(conn, r))
                .collect::<Result<Vec<_>, _>>()?;
            Ok::<_, ApiError>((stages, count))
        })
        .await?;
    Ok(HttpResponse::Ok().json(Paginated::new(stages, count, page)?))
}

async fn retrieve_kind(
    state: web::Data<AppState>,
    caller: Caller,
    pk: String,
    kind: Option<&'static str>,
) -> Result<HttpResponse, ApiError> {
    caller.require_superuser()?;
    let uuid = stage_uuid(&pk)?;
    let stage = state
        .db
        .run(move |conn| {
            let row = load_stage(conn, &uuid, kind)?;
            Stage::load(conn, row)
        })
        .await?;
    Ok(HttpResponse::Ok().json(stage))
}

async fn destroy_kind(
    state: web::Data<AppState>,
    caller: Caller,
    client: ClientInfo,
    pk: String,
    kind: Option<&'static str>,
) -> Result<HttpResponse, ApiError> {
    caller.require_superuser()?;
    let uuid = stage_uuid(&pk)?;
    state
        .db
        .run(move |conn| {
            write_tx(conn, |conn| {
                let row = load_stage(conn, &uuid, kind)?;
                // Another stage that names this one (an identification stage's password stage)
                // would silently change behaviour: refuse, and say which.
                let users: Vec<String> = db::flows::stages_mentioning(conn, &row.uuid)?
                    .into_iter()
                    .filter(|s| s.id != row.id)
                    .map(|s| s.name)
                    .collect();
                if !users.is_empty() {
                    return Err(ApiError::BadRequest(format!(
                        "This stage is used by: {}. Change those first.",
                        users.join(", ")
                    )));
                }
                db::flows::delete_stage(conn, row.id)?;
                record_change(conn, "model_deleted", &caller, &client, &model(&row), &[])?;
                Ok(())
            })
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Splits a write body into the name and the kind's settings.
fn split_body(mut body: Map<String, Value>) -> Result<(Option<String>, Map<String, Value>), ApiError> {
    for read_only in ["pk", "kind", "component", "managed", "flow_set"] {
        body.remove(read_only);
    }
    let name = match body.remove("name") {
        None => None,
        Some(Value::String(name)) => Some(name),
        Some(_) => return Err(ApiError::field("name", "Must be a string.")),
    };
    if let Some(name) = &name {
        if name.trim().is_empty() {
            return Err(ApiError::field("name", "This field may not be blank."));
        }
        crate::validate::name(name).map_err(|m| ApiError::field("name", m))?;
    }
    Ok((name, body))
}

fn settings_errors(errors: FieldErrors) -> ApiError {
    ApiError::Validation(errors)
}

async fn create_kind(
    state: web::Data<AppState>,
    caller: Caller,
    client: ClientInfo,
    body: Map<String, Value>,
    kind: &'static dyn StageKind,
) -> Result<HttpResponse, ApiError> {
    caller.require_superuser()?;
    let (name, settings) = split_body(body)?;
    let name = name.ok_or_else(|| ApiError::field("name", "This field is required."))?;
    let stage = state
        .db
        .run(move |conn| {
            write_tx(conn, |conn| {
                let settings = kind
                    .validate(conn, &Value::Object(settings))
                    .map_err(settings_errors)?;
                let now = time::now();
                let row = db::flows::insert_stage(
                    conn,
                    &NewStage {
                        uuid: uuid::Uuid::new_v4().to_string(),
                        name,
                        kind: kind.kind().into(),
                        settings: settings.to_string(),
                        managed: None,
                        created: now,
                        updated: now,
                    },
                )?;
                record_change(conn, "model_created", &caller, &client, &model(&row), &[])?;
                Stage::load(conn, row)
            })
        })
        .await?;
    Ok(HttpResponse::Created().json(stage))
}

/// PUT replaces the settings (absent fields take their defaults); PATCH merges into them.
async fn update_kind(
    state: web::Data<AppState>,
    caller: Caller,
    client: ClientInfo,
    pk: String,
    body: Map<String, Value>,
    kind: &'static dyn StageKind,
    partial: bool,
) -> Result<HttpResponse, ApiError> {
    caller.require_superuser()?;
    let uuid = stage_uuid(&pk)?;
    let (name, settings) = split_body(body)?;
    if !partial && name.is_none() {
        return Err(ApiError::field("name", "This field is required."));
    }
    let stage = state
        .db
        .run(move |conn| {
            write_tx(conn, |conn| {
                let row = load_stage(conn, &uuid, Some(kind.kind()))?;
                let mut changed: Vec<&str> = settings.keys().filter_map(|k| static_name(k)).collect();
                let merged = if partial {
                    let mut current = match row.settings_json() {
                        Value::Object(map) => map,
                        _ => Map::new(),
                    };
                    current.extend(settings);
                    current
                } else {
                    settings
                };
                let validated = kind
                    .validate(conn, &Value::Object(merged))
                    .map_err(settings_errors)?;
                if name.is_some() {
                    changed.push("name");
                }
                let row = db::flows::update_stage(
                    conn,
                    row.id,
                    &StageChanges {
                        name,
                        settings: Some(validated.to_string()),
                        updated: None,
                    },
                )?;
                record_change(conn, "model_updated", &caller, &client, &model(&row), &changed)?;
                Stage::load(conn, row)
            })
        })
        .await?;
    Ok(HttpResponse::Ok().json(stage))
}

/// Field names for the event log (which fields changed); unknown names are validation errors
/// later anyway.
fn static_name(key: &str) -> Option<&'static str> {
    const KNOWN: &[&str] = &[
        "user_fields",
        "password_stage",
        "sources",
        "show_all_sources",
        "show_source_labels",
        "pretend_user_exists",
        "enrollment_flow",
        "recovery_flow",
        "failed_attempts_before_cancel",
        "user_creation_mode",
        "create_users_as_inactive",
        "create_users_group",
        "user_type",
        "user_path_template",
        "session_duration",
        "terminate_other_sessions",
        "mode",
        "consent_expire_in",
        "deny_message",
        "source",
        "resume_timeout",
    ];
    KNOWN.iter().copied().find(|k| *k == key)
}

// ---- stages/all/

#[utoipa::path(
    tag = "stages",
    params(ListParams, StageFilters),
    responses((status = 200, body = Paginated<Stage>), (status = 400), (status = 401), (status = 403)),
    security(("bearer" = []))
)]
#[get("/stages/all/")]
pub async fn all_list(
    state: web::Data<AppState>,
    caller: Caller,
    params: web::Query<ListParams>,
    filters: web::Query<StageFilters>,
) -> Result<HttpResponse, ApiError> {
    list_kind(state, caller, params.into_inner(), filters.into_inner(), None).await
}

#[utoipa::path(
    tag = "stages",
    params(("pk" = String, Path, description = "Stage UUID")),
    responses((status = 200, body = Stage), (status = 401), (status = 403), (status = 404)),
    security(("bearer" = []))
)]
#[get("/stages/all/{pk}/")]
pub async fn all_retrieve(
    state: web::Data<AppState>,
    caller: Caller,
    pk: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    retrieve_kind(state, caller, pk.into_inner(), None).await
}

#[utoipa::path(
    tag = "stages",
    params(("pk" = String, Path, description = "Stage UUID")),
    responses((status = 204), (status = 400), (status = 401), (status = 403), (status = 404)),
    security(("bearer" = []))
)]
#[delete("/stages/all/{pk}/")]
pub async fn all_destroy(
    state: web::Data<AppState>,
    caller: Caller,
    client: ClientInfo,
    pk: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    destroy_kind(state, caller, client, pk.into_inner(), None).await
}

/// One stage kind as it appears in `stages/all/types/`.
#[derive(Debug, Serialize, ToSchema)]
pub struct StageType {
    pub kind: String,
    pub description: String,
    /// Whether administrators can create stages of this kind.
    pub creatable: bool,
}

#[utoipa::path(
    tag = "stages",
    responses((status = 200, body = Vec<StageType>), (status = 401), (status = 403)),
    security(("bearer" = []))
)]
#[get("/stages/all/types/")]
pub async fn all_types(caller: Caller) -> Result<HttpResponse, ApiError> {
    caller.require_superuser()?;
    let types: Vec<StageType> = stages::registry()
        .iter()
        .map(|k| StageType {
            kind: k.kind().into(),
            description: k.description().into(),
            creatable: k.creatable(),
        })
        .collect();
    Ok(HttpResponse::Ok().json(types))
}

/// Per-kind endpoints. The routes and their documentation are generated for each kind so that
/// the OpenAPI document shows each kind's settings.
macro_rules! kind_endpoints {
    ($module:ident, $kind:literal, $settings:ty, $list:literal, $item:literal) => {
        pub mod $module {
            use super::*;

            /// The body of create/update: `name` plus the kind's settings.
            #[derive(Debug, Deserialize, ToSchema)]
            #[allow(dead_code)]
            pub struct Write {
                pub name: String,
                #[serde(flatten)]
                pub settings: $settings,
            }

            fn kind() -> Result<&'static dyn StageKind, ApiError> {
                stages::find($kind).ok_or_else(|| ApiError::Internal(concat!("stage kind ", $kind, " missing").into()))
            }

            #[utoipa::path(
                tag = "stages",
                params(ListParams, StageFilters),
                responses((status = 200, body = Paginated<Stage>), (status = 400), (status = 401), (status = 403)),
                security(("bearer" = []))
            )]
            #[get($list)]
            pub async fn list(
                state: web::Data<AppState>,
                caller: Caller,
                params: web::Query<ListParams>,
                filters: web::Query<StageFilters>,
            ) -> Result<HttpResponse, ApiError> {
                list_kind(state, caller, params.into_inner(), filters.into_inner(), Some($kind)).await
            }

            #[utoipa::path(
                tag = "stages",
                request_body = Write,
                responses((status = 201, body = Stage), (status = 400), (status = 401), (status = 403), (status = 409)),
                security(("bearer" = []))
            )]
            #[post($list)]
            pub async fn create(
                state: web::Data<AppState>,
                caller: Caller,
                client: ClientInfo,
                body: crate::http::json::ApiJson<Map<String, Value>>,
            ) -> Result<HttpResponse, ApiError> {
                create_kind(state, caller, client, body.0, kind()?).await
            }

            #[utoipa::path(
                tag = "stages",
                params(("pk" = String, Path, description = "Stage UUID")),
                responses((status = 200, body = Stage), (status = 401), (status = 403), (status = 404)),
                security(("bearer" = []))
            )]
            #[get($item)]
            pub async fn retrieve(state: web::Data<AppState>, caller: Caller, pk: web::Path<String>) -> Result<HttpResponse, ApiError> {
                retrieve_kind(state, caller, pk.into_inner(), Some($kind)).await
            }

            #[utoipa::path(
                tag = "stages",
                params(("pk" = String, Path, description = "Stage UUID")),
                request_body = Write,
                responses((status = 200, body = Stage), (status = 400), (status = 401), (status = 403), (status = 404), (status = 409)),
                security(("bearer" = []))
            )]
            #[put($item)]
            pub async fn update(
                state: web::Data<AppState>,
                caller: Caller,
                client: ClientInfo,
                pk: web::Path<String>,
                body: crate::http::json::ApiJson<Map<String, Value>>,
            ) -> Result<HttpResponse, ApiError> {
                update_kind(state, caller, client, pk.into_inner(), body.0, kind()?, false).await
            }

            #[utoipa::path(
                tag = "stages",
                params(("pk" = String, Path, description = "Stage UUID")),
                request_body = Write,
                responses((status = 200, body = Stage), (status = 400), (status = 401), (status = 403), (status = 404), (status = 409)),
                security(("bearer" = []))
            )]
            #[patch($item)]
            pub async fn partial_update(
                state: web::Data<AppState>,
                caller: Caller,
                client: ClientInfo,
                pk: web::Path<String>,
                body: crate::http::json::ApiJson<Map<String, Value>>,
            ) -> Result<HttpResponse, ApiError> {
                update_kind(state, caller, client, pk.into_inner(), body.0, kind()?, true).await
            }

            #[utoipa::path(
                tag = "stages",
                params(("pk" = String, Path, description = "Stage UUID")),
                responses((status = 204), (status = 400), (status = 401), (status = 403), (status = 404)),
                security(("bearer" = []))
            )]
            #[delete($item)]
            pub async fn destroy(
                state: web::Data<AppState>,
                caller: Caller,
                client: ClientInfo,
                pk: web::Path<String>,
            ) -> Result<HttpResponse, ApiError> {
                destroy_kind(state, caller, client, pk.into_inner(), Some($kind)).await
            }

            /// Registers this kind's routes.
            pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
                cfg.service(list)
                    .service(create)
                    .service(retrieve)
                    .service(update)
                    .service(partial_update)
                    .service(destroy);
            }
        }
    };
}

use crate::flows::stages::{
    consent, deny, identification, password, source, user_login, user_logout, user_write,
};

kind_endpoints!(
    identification_api,
    "identification",
    identification::IdentificationSettings,
    "/stages/identification/",
    "/stages/identification/{pk}/"
);
kind_endpoints!(
    password_api,
    "password",
    password::PasswordSettings,
    "/stages/password/",
    "/stages/password/{pk}/"
);
kind_endpoints!(
    user_write_api,
    "user_write",
    user_write::UserWriteSettings,
    "/stages/user_write/",
    "/stages/user_write/{pk}/"
);
kind_endpoints!(
    user_login_api,
    "user_login",
    user_login::UserLoginSettings,
    "/stages/user_login/",
    "/stages/user_login/{pk}/"
);
kind_endpoints!(
    user_logout_api,
    "user_logout",
    user_logout::UserLogoutSettings,
    "/stages/user_logout/",
    "/stages/user_logout/{pk}/"
);
kind_endpoints!(
    consent_api,
    "consent",
    consent::ConsentSettings,
    "/stages/consent/",
    "/stages/consent/{pk}/"
);
kind_endpoints!(
    deny_api,
    "deny",
    deny::DenySettings,
    "/stages/deny/",
    "/stages/deny/{pk}/"
);
kind_endpoints!(
    source_api,
    "source",
    source::SourceStageSettings,
    "/stages/source/",
    "/stages/source/{pk}/"
);

/// Registers `stages/all/` and every kind's endpoints.
pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(all_types)
        .service(all_list)
        .service(all_retrieve)
        .service(all_destroy);
    identification_api::configure(cfg);
    password_api::configure(cfg);
    user_write_api::configure(cfg);
    user_login_api::configure(cfg);
    user_logout_api::configure(cfg);
    consent_api::configure(cfg);
    deny_api::configure(cfg);
    source_api::configure(cfg);
}
