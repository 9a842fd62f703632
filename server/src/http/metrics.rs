//! Prometheus metrics: request counts and latencies by route pattern and status, and database
//! pool occupancy. Every label comes from a closed set, so that no client can add series: routes
//! are labelled by their pattern (`/api/v3/core/users/{pk}/`) or [`UNMATCHED`], never by the raw
//! path, and methods outside the standard ones by [`OTHER_METHOD`]. `/metrics` itself may
//! require a bearer token (`metrics_token`) and may live on its own listener (`metrics_listen`).

use std::time::Instant;

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::{Method, header};
use actix_web::middleware::Next;
use actix_web::{HttpRequest, HttpResponse, ResponseError, web};
use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounterVec, IntGaugeVec, Opts, Registry, TextEncoder,
};

use crate::error::ApiError;
use crate::state::AppState;

/// The route label of every request that matched no route.
pub const UNMATCHED: &str = "unmatched";
/// The method label of every request whose method is not a standard one.
pub const OTHER_METHOD: &str = "OTHER";

/// The label for `method`: its name for the standard methods, [`OTHER_METHOD`] otherwise.
fn method_label(method: &Method) -> &'static str {
    const STANDARD: [Method; 9] = [
        Method::GET,
        Method::HEAD,
        Method::POST,
        Method::PUT,
        Method::DELETE,
        Method::CONNECT,
        Method::OPTIONS,
        Method::TRACE,
        Method::PATCH,
    ];
    STANDARD
        .iter()
        .find(|m| *m == method)
        .map_or(OTHER_METHOD, Method::as_str)
}

#[derive(Clone)]
pub struct Metrics {
    registry: Registry,
    requests: IntCounterVec,
    latency: HistogramVec,
    pool: IntGaugeVec,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Metrics")
    }
}

impl Metrics {
    pub fn new() -> Result<Self, prometheus::Error> {
        let registry = Registry::new();
        let requests = IntCounterVec::new(
            Opts::new(
                "gatehouse_http_requests_total",
                "HTTP requests by route pattern, method and status",
            ),
            &["method", "route", "status"],
        )?;
        let latency = HistogramVec::new(
            HistogramOpts::new(
                "gatehouse_http_request_duration_seconds",
                "HTTP request latency by route pattern and method",
            )
            .buckets(vec![
                0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
            ]),
            &["method", "route"],
        )?;
        let pool = IntGaugeVec::new(
            Opts::new(
                "gatehouse_db_pool_connections",
                "Database pool connections by state",
            ),
            &["state"],
        )?;
        registry.register(Box::new(requests.clone()))?;
        registry.register(Box::new(latency.clone()))?;
        registry.register(Box::new(pool.clone()))?;
        Ok(Self {
            registry,
            requests,
            latency,
            pool,
        })
    }

    fn observe(&self, method: &str, route: &str, status: u16, seconds: f64) {
        self.requests
            .with_label_values(&[method, route, &status.to_string()])
            .inc();
        self.latency.with_label_values(&[method, route]).observe(seconds);
    }
}

/// Middleware: times every request and counts it under its route pattern.
/// Bodies are boxed here, at the outermost layer, so the app has one nameable response type.
pub async fn track(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let started = Instant::now();
    let method = method_label(req.method());
    let metrics = req.app_data::<web::Data<AppState>>().map(|s| s.metrics.clone());
    let result = next.call(req).await;
    let elapsed = started.elapsed();
    let (status, route) = match &result {
        Ok(res) => (
            res.status().as_u16(),
            res.request()
                .match_pattern()
                .unwrap_or_else(|| UNMATCHED.to_owned()),
        ),
        Err(err) => (
            err.as_response_error().status_code().as_u16(),
            UNMATCHED.to_owned(),
        ),
    };
    if let Some(metrics) = metrics {
        metrics.observe(method, &route, status, elapsed.as_secs_f64());
    }
    tracing::debug!(%method, %route, status, elapsed_ms = elapsed.as_secs_f64() * 1000.0, "request");
    result.map(ServiceResponse::map_into_boxed_body)
}

/// Whether the request carries the configured `metrics_token` (always true when none is set).
/// Compared in constant time, so that the answer time says nothing about the token.
fn authorised(req: &HttpRequest, state: &AppState) -> bool {
    let Some(expected) = &state.settings.metrics_token else {
        return true;
    };
    let given = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or_default();
    use subtle::ConstantTimeEq;
    bool::from(given.as_bytes().ct_eq(expected.expose().as_bytes()))
}

/// `GET /metrics` in the Prometheus text format, after the token check. 401 without the
/// configured token.
pub async fn render(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    if !authorised(&req, &state) {
        let mut response =
            ApiError::Unauthenticated("A valid metrics token is required.".into()).error_response();
        response.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            header::HeaderValue::from_static("Bearer realm=\"metrics\""),
        );
        return response;
    }
    let (connections, idle) = state.db.pool_state();
    state
        .metrics
        .pool
        .with_label_values(&["open"])
        .set(i64::from(connections));
    state
        .metrics
        .pool
        .with_label_values(&["idle"])
        .set(i64::from(idle));
    let mut buffer = Vec::new();
    match TextEncoder::new().encode(&state.metrics.registry.gather(), &mut buffer) {
        Ok(()) => HttpResponse::Ok()
            .content_type("text/plain; version=0.0.4; charset=utf-8")
            .body(buffer),
        Err(e) => {
            tracing::error!(error = %e, "cannot encode metrics");
            HttpResponse::InternalServerError().finish()
        }
    }
}
