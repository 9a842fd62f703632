//! Liveness and readiness probes and the metrics endpoint.

use std::time::Duration;

use actix_web::{HttpRequest, HttpResponse, ResponseError, get, web};
use serde_json::json;

use crate::state::AppState;

/// The process is up and serving HTTP.
#[utoipa::path(tag = "health", responses((status = 200, description = "Alive")))]
#[get("/-/health/live/")]
pub async fn live() -> HttpResponse {
    HttpResponse::Ok().json(json!({"status": "ok"}))
}

/// The process can serve requests: the database answers within a second.
#[utoipa::path(
    tag = "health",
    responses((status = 200, description = "Ready"), (status = 503, description = "Database unreachable"))
)]
#[get("/-/health/ready/")]
pub async fn ready(state: web::Data<AppState>) -> HttpResponse {
    match state.db.ping(Duration::from_secs(1)).await {
        Ok(()) => HttpResponse::Ok().json(json!({"status": "ok", "database": "ok"})),
        Err(e) => {
            tracing::warn!(error = %e, "readiness check failed");
            HttpResponse::ServiceUnavailable()
                .insert_header(("Retry-After", "5"))
                .json(json!({"status": "unavailable", "database": "unreachable"}))
        }
    }
}

/// Prometheus metrics in the text exposition format. With `metrics_listen` set, they are served
/// only there, and this route answers 404.
#[utoipa::path(
    tag = "health",
    responses(
        (status = 200, description = "Prometheus text format"),
        (status = 401, description = "`metrics_token` is set and the request does not carry it"),
        (status = 404, description = "Metrics are served on `metrics_listen` instead")
    )
)]
#[get("/metrics")]
pub async fn metrics(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    if state.settings.metrics_listen.is_some() {
        return crate::error::ApiError::NotFound("Metrics are not served on this address.".into())
            .error_response();
    }
    crate::http::metrics::render(req, state).await
}
