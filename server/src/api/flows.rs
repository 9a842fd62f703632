//! `flows/instances/` (looked up by slug) and the JSON flow executor `flows/executor/<slug>/`.

use actix_web::{HttpRequest, HttpResponse, delete, get, patch, post, put, web};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use utoipa::{IntoParams, ToSchema};

use super::audit::{ModelRef, delete_audited, record_change};
use super::auth::Caller;
use super::list::{ListParams, Paginated};
use crate::db::flows::{FlowChanges, FlowFilter, FlowRow, NewFlow};
use crate::db::{self, DbConn, StoreError, time, write_tx};
use crate::error::{ApiError, FieldErrors};
use crate::flows::executor::{Outcome, Step};
use crate::flows::model::{AuthenticationRequirement, Designation, validate_slug};
use crate::http::client::ClientInfo;
use crate::http::json::ApiJson;
use crate::state::AppState;
use crate::web::cookies;
use crate::web::pages::flow::{Action, FlowQuery, execute};

#[derive(Debug, Serialize, ToSchema)]
pub struct Flow {
    /// The flow's UUID.
    pub pk: String,
    pub slug: String,
    pub name: String,
    pub title: String,
    pub designation: Designation,
    pub authentication: AuthenticationRequirement,
    /// Set on the default flows Gatehouse creates.
    pub managed: Option<String>,
    /// Stage UUIDs in binding order.
    pub stages: Vec<String>,
}

impl Flow {
    fn load(conn: &mut DbConn, row: FlowRow) -> Result<Self, ApiError> {
        let stages = db::flows::bound_stages(conn, row.id)?
            .into_iter()
            .map(|(_, s)| s.uuid)
            .collect();
        Ok(Self {
            designation: Designation::parse(&row.designation).map_err(ApiError::Internal)?,
            authentication: AuthenticationRequirement::parse(&row.authentication)
                .map_err(ApiError::Internal)?,
            pk: row.uuid,
            slug: row.slug,
            name: row.name,
            title: row.title,
            managed: row.managed,
            stages,
        })
    }
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FlowWrite {
    pub slug: Option<String>,
    pub name: Option<String>,
    pub title: Option<String>,
    #[schema(value_type = Option<Designation>)]
    pub designation: Option<String>,
    /// Who may start the flow (default `none`).
    #[schema(value_type = Option<AuthenticationRequirement>)]
    pub authentication: Option<String>,
}

impl FlowWrite {
    fn check(&self, full: bool) -> Result<(), ApiError> {
        let mut errors = FieldErrors::new();
        let mut add = |field: &str, result: Result<(), String>| {
            if let Err(m) = result {
                errors.entry(field.to_owned()).or_default().push(m);
            }
        };
        let required = |value: &Option<String>| {
            if full && value.is_none() {
                Err("This field is required.".to_owned())
            } else {
                Ok(())
            }
        };
        add("slug", required(&self.slug));
        add("name", required(&self.name));
        add("designation", required(&self.designation));
        if let Some(slug) = &self.slug {
            add("slug", validate_slug(slug));
        }
        if let Some(name) = &self.name {
            add(
                "name",
                if name.trim().is_empty() {
                    Err("This field may not be blank.".into())
                } else {
                    crate::validate::name(name)
                },
            );
        }
        if let Some(title) = &self.title {
            add("title", crate::validate::name(title));
        }
        if let Some(v) = &self.designation {
            add("designation", Designation::parse(v).map(|_| ()));
        }
        if let Some(v) = &self.authentication {
            add("authentication", AuthenticationRequirement::parse(v).map(|_| ()));
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(ApiError::Validation(errors))
        }
    }

    fn changed_fields(&self) -> Vec<&'static str> {
        [
            ("slug", self.slug.is_some()),
            ("name", self.name.is_some()),
            ("title", self.title.is_some()),
            ("designation", self.designation.is_some()),
            ("authentication", self.authentication.is_some()),
        ]
        .into_iter()
        .filter_map(|(n, set)| set.then_some(n))
        .collect()
    }
}

fn model(row: &FlowRow) -> ModelRef {
    ModelRef {
        model_name: "flow",
        pk: json!(row.uuid),
        name: row.slug.clone(),
    }
}

fn not_found(error: StoreError) -> ApiError {
    match error {
        StoreError::NotFound => ApiError::not_found("Flow"),
        other => other.into(),
    }
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct FlowFilters {
    pub slug: Option<String>,
    pub designation: Option<String>,
}

#[utoipa::path(
    tag = "flows",
    params(ListParams, FlowFilters),
    responses((status = 200, body = Paginated<Flow>), (status = 400), (status = 401), (status = 403)),
    security(("bearer" = []))
)]
#[get("/flows/instances/")]
pub async fn list(
    state: web::Data<AppState>,
    caller: Caller,
    params: web::Query<ListParams>,
    filters: web::Query<FlowFilters>,
) -> Result<HttpResponse, ApiError> {
    caller.require_superuser()?;
    let page = params.page()?;
    let ordering = params.ordering(db::flows::FLOW_ORDERING, "slug")?;
    let filters = filters.into_inner();
    let filter = FlowFilter {
        search: params.search(),
        slug: filters.slug,
        designation: filters.designation,
    };
    let (flows, count) = state
        .db
        .run(move |conn| {
            let (rows, count) = db::flows::list_flows(conn, &filter, &ordering, &page)?;
            let flows = rows
                .into_iter()
                .map(|row| Flow::load(conn, row))
                .collect::<Result<Vec<_>, _>>()?;
            Ok::<_, ApiError>((flows, count))
        })
        .await?;
    Ok(HttpResponse::Ok().json(Paginated::new(flows, count, page)?))
}

#[utoipa::path(
    tag = "flows",
    request_body = FlowWrite,
    responses((status = 201, body = Flow), (status = 400), (status = 401), (status = 403), (status = 409)),
    security(("bearer" = []))
)]
#[post("/flows/instances/")]
pub async fn create(
    state: web::Data<AppState>,
    caller: Caller,
    client: ClientInfo,
    body: ApiJson<FlowWrite>,
) -> Result<HttpResponse, ApiError> {
    caller.require_superuser()?;
    let body = body.0;
    body.check(true)?;
    let flow = state
        .db
        .run(move |conn| {
            write_tx(conn, |conn| {
                let now = time::now();
                let row = db::flows::insert_flow(
                    conn,
                    &NewFlow {
                        uuid: uuid::Uuid::new_v4().to_string(),
                        slug: body.slug.clone().unwrap_or_default(),
                        name: body.name.clone().unwrap_or_default(),
                        title: body.title.clone().unwrap_or_default(),
                        designation: body.designation.clone().unwrap_or_default(),
                        authentication: body.authentication.clone().unwrap_or_else(|| "none".into()),
                        managed: None,
                        created: now,
                        updated: now,
                    },
                )?;
                record_change(conn, "model_created", &caller, &client, &model(&row), &[])?;
                Flow::load(conn, row)
            })
        })
        .await?;
    Ok(HttpResponse::Created().json(flow))
}

#[utoipa::path(
    tag = "flows",
    params(("slug" = String, Path)),
    responses((status = 200, body = Flow), (status = 401), (status = 403), (status = 404)),
    security(("bearer" = []))
)]
#[get("/flows/instances/{slug}/")]
pub async fn retrieve(
    state: web::Data<AppState>,
    caller: Caller,
    slug: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    caller.require_superuser()?;
    let slug = slug.into_inner();
    let flow = state
        .db
        .run(move |conn| {
            let row = db::flows::flow_by_slug(conn, &slug).map_err(not_found)?;
            Flow::load(conn, row)
        })
        .await?;
    Ok(HttpResponse::Ok().json(flow))
}

async fn apply_update(
    state: web::Data<AppState>,
    caller: Caller,
    client: ClientInfo,
    slug: String,
    body: FlowWrite,
) -> Result<HttpResponse, ApiError> {
    let flow = state
        .db
        .run(move |conn| {
            write_tx(conn, |conn| {
                let row = db::flows::flow_by_slug(conn, &slug).map_err(not_found)?;
                let changes = FlowChanges {
                    slug: body.slug.clone(),
                    name: body.name.clone(),
                    title: body.title.clone(),
                    designation: body.designation.clone(),
                    authentication: body.authentication.clone(),
                    updated: None,
                };
                let row = db::flows::update_flow(conn, row.id, &changes)?;
                record_change(
                    conn,
                    "model_updated",
                    &caller,
                    &client,
                    &model(&row),
                    &body.changed_fields(),
                )?;
                Flow::load(conn, row)
            })
        })
        .await?;
    Ok(HttpResponse::Ok().json(flow))
}

#[utoipa::path(
    tag = "flows",
    params(("slug" = String, Path)),
    request_body = FlowWrite,
    responses((status = 200, body = Flow), (status = 400), (status = 401), (status = 403), (status = 404), (status = 409)),
    security(("bearer" = []))
)]
#[put("/flows/instances/{slug}/")]
pub async fn update(
    state: web::Data<AppState>,
    caller: Caller,
    client: ClientInfo,
    slug: web::Path<String>,
    body: ApiJson<FlowWrite>,
) -> Result<HttpResponse, ApiError> {
    caller.require_superuser()?;
    body.0.check(true)?;
    apply_update(state, caller, client, slug.into_inner(), body.0).await
}

#[utoipa::path(
    tag = "flows",
    params(("slug" = String, Path)),
    request_body = FlowWrite,
    responses((status = 200, body = Flow), (status = 400), (status = 401), (status = 403), (status = 404), (status = 409)),
    security(("bearer" = []))
)]
#[patch("/flows/instances/{slug}/")]
pub async fn partial_update(
    state: web::Data<AppState>,
    caller: Caller,
    client: ClientInfo,
    slug: web::Path<String>,
    body: ApiJson<FlowWrite>,
) -> Result<HttpResponse, ApiError> {
    caller.require_superuser()?;
    body.0.check(false)?;
    apply_update(state, caller, client, slug.into_inner(), body.0).await
}

#[utoipa::path(
    tag = "flows",
    params(("slug" = String, Path)),
    responses((status = 204), (status = 401), (status = 403), (status = 404)),
    security(("bearer" = []))
)]
#[delete("/flows/instances/{slug}/")]
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
        move |conn| db::flows::flow_by_slug(conn, &slug).map_err(not_found),
        |conn, row| db::flows::delete_flow(conn, row.id),
        model,
    )
    .await
}

/// A step as JSON: the challenge, a redirect or an access-denied answer; problems are 4xx.
fn json_step(state: &AppState, result: Result<Step, StoreError>) -> Result<HttpResponse, ApiError> {
    let step = result?;
    let mut response = match step.outcome {
        Outcome::Show { challenge, .. } => HttpResponse::Ok().json(challenge),
        Outcome::Redirect(to) => HttpResponse::Ok().json(json!({"component": "redirect", "to": to})),
        Outcome::Denied(message) => {
            HttpResponse::Ok().json(json!({"component": "access_denied", "error_message": message}))
        }
        Outcome::Problem(problem) => {
            let status = actix_web::http::StatusCode::from_u16(problem.status)
                .unwrap_or(actix_web::http::StatusCode::BAD_REQUEST);
            HttpResponse::build(status).json(json!({
                "component": "flow_error",
                "detail": problem.message,
                "code": problem.title.to_lowercase().replace(' ', "_"),
                "restart": problem.restart,
            }))
        }
    };
    for cookie in cookies::for_effects(&state.settings, &step.effects) {
        let _ = response.add_cookie(&cookie);
    }
    Ok(response)
}

/// The current challenge of the caller's flow (starting it if needed). Uses the same cookies as
/// the browser pages.
#[utoipa::path(
    tag = "flows",
    params(("slug" = String, Path), ("next" = Option<String>, Query, description = "Relative path to go to at the end")),
    responses((status = 200, body = crate::flows::Challenge, description = "A challenge, `{component: redirect, to}` or `{component: access_denied}`"),
        (status = 400), (status = 404), (status = 409), (status = 410))
)]
#[get("/flows/executor/{slug}/")]
pub async fn executor_get(
    state: web::Data<AppState>,
    req: HttpRequest,
    slug: web::Path<String>,
    query: web::Query<FlowQuery>,
) -> Result<HttpResponse, ApiError> {
    let result = execute(&state, &req, slug.into_inner(), query.into_inner(), Action::Show).await;
    json_step(&state, result)
}

/// Answers the current challenge: the component's fields, plus `step` (as received).
#[utoipa::path(
    tag = "flows",
    params(("slug" = String, Path), ("next" = Option<String>, Query)),
    request_body(content = Object, description = "The challenge's fields, e.g. {\"uid_field\": \"alice\", \"password\": \"…\", \"step\": 0}"),
    responses((status = 200, body = crate::flows::Challenge), (status = 400), (status = 404), (status = 409), (status = 410), (status = 415))
)]
#[post("/flows/executor/{slug}/")]
pub async fn executor_post(
    state: web::Data<AppState>,
    req: HttpRequest,
    slug: web::Path<String>,
    query: web::Query<FlowQuery>,
    body: ApiJson<Map<String, Value>>,
) -> Result<HttpResponse, ApiError> {
    let mut response = body.0;
    let step = match response.remove("step") {
        None | Some(Value::Null) => None,
        Some(Value::Number(n)) => Some(
            n.as_i64()
                .and_then(|s| i32::try_from(s).ok())
                .ok_or_else(|| ApiError::field("step", "Must be an integer."))?,
        ),
        Some(_) => return Err(ApiError::field("step", "Must be an integer.")),
    };
    response.remove("component");
    let result = execute(
        &state,
        &req,
        slug.into_inner(),
        query.into_inner(),
        Action::Submit {
            response,
            step,
            csrf: None,
        },
    )
    .await;
    json_step(&state, result)
}
