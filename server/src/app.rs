//! The route table: the actix `App` (routes, middleware, extractor configuration) used both by the
//! server and, in-process, by the tests. The shared state lives in [`crate::state`], which imports
//! no handler; this module imports them all and nothing below the handlers imports it.

use actix_web::body::BoxBody;
use actix_web::dev::{ServiceFactory, ServiceRequest, ServiceResponse};
use actix_web::middleware::from_fn;
use actix_web::{App, HttpServer, web};
use utoipa::OpenApi;
use utoipa_actix_web::AppExt;

use crate::config::Settings;
use crate::http::client::TrustForwarded;
use crate::http::json::BodyLimit;
use crate::http::{extract, metrics};
use crate::state::Handlers;
use crate::{api, health};

pub use crate::state::{AppState, StartupError};

/// What the route table contributes to start-up (see [`crate::state::initialise`]).
const HANDLERS: Handlers = Handlers {
    openapi: api_document,
    after_migrations: |plugins, conn| crate::provider::trust::warn_unsafe_federation(plugins, conn),
};

impl AppState {
    /// Resolves the secret key, opens the database, applies migrations and the bootstrap
    /// settings. Fails (and the process exits) when the database cannot be reached.
    pub fn initialise(settings: Settings) -> Result<web::Data<Self>, StartupError> {
        crate::state::initialise(settings, &HANDLERS)
    }
}

/// Registers every documented route. Used for the real app and for the OpenAPI document.
fn routes<T>(app: utoipa_actix_web::UtoipaApp<T>) -> utoipa_actix_web::UtoipaApp<T>
where
    T: ServiceFactory<ServiceRequest, Config = (), Error = actix_web::Error, InitError = ()>,
{
    app.service(health::live)
        .service(health::ready)
        .service(health::metrics)
        .service(
            utoipa_actix_web::scope("/api/v3")
                .route("/schema/", web::get().to(api::openapi::schema))
                .configure(api::configure)
                .default_service(web::to(extract::api_not_found))
                .wrap(from_fn(api::auth::resolve)),
        )
}

/// The OpenAPI document of everything [`routes`] registers.
pub fn api_document() -> utoipa::openapi::OpenApi {
    let (_, document) = routes(
        App::new()
            .into_utoipa_app()
            .openapi(api::openapi::ApiDoc::openapi()),
    )
    .split_for_parts();
    document
}

/// The complete application for one worker.
pub fn build(
    state: web::Data<AppState>,
) -> App<
    impl ServiceFactory<
        ServiceRequest,
        Config = (),
        Response = ServiceResponse<BoxBody>,
        Error = actix_web::Error,
        InitError = (),
    >,
> {
    let limit = BodyLimit(state.settings.max_body_bytes);
    let trust = TrustForwarded::from_settings(&state.settings);
    let app = App::new()
        .app_data(state)
        .app_data(limit)
        .app_data(trust)
        .app_data(extract::path_config())
        .app_data(extract::query_config())
        .into_utoipa_app();
    routes(app)
        .into_app()
        .service(crate::web::assets::serve)
        .service(crate::web::pages::landing::index)
        .service(crate::web::pages::flow::show)
        .service(crate::web::pages::flow::submit)
        .service(crate::web::pages::shortcuts::authentication)
        .service(crate::web::pages::shortcuts::invalidation)
        .service(crate::web::pages::shortcuts::cancel)
        .service(crate::sources::login::login)
        .service(crate::sources::callback::callback_get)
        .service(crate::sources::callback::callback_post)
        .configure(crate::provider::configure)
        .default_service(web::to(extract::api_not_found))
        .wrap(security_headers())
        .wrap(from_fn(metrics::track))
}

/// The app on the separate metrics listener (`metrics_listen`): `/metrics` and nothing else.
pub fn metrics_app(
    state: web::Data<AppState>,
) -> App<
    impl ServiceFactory<
        ServiceRequest,
        Config = (),
        Response = ServiceResponse<BoxBody>,
        Error = actix_web::Error,
        InitError = (),
    >,
> {
    App::new()
        .app_data(state)
        .route("/metrics", web::get().to(metrics::render))
        .default_service(web::to(extract::api_not_found))
        .wrap(security_headers())
}

/// The metrics server on `listener` (one worker: scrapes are rare).
pub fn metrics_server(
    state: web::Data<AppState>,
    listener: std::net::TcpListener,
) -> std::io::Result<actix_web::dev::Server> {
    Ok(HttpServer::new(move || metrics_app(state.clone()))
        .workers(1)
        .listen(listener)?
        .run())
}

/// Headers every response carries: no framing (clickjacking on the login page), no MIME
/// sniffing, no referrer leaks to other sites, and a script-free content policy.
fn security_headers() -> actix_web::middleware::DefaultHeaders {
    actix_web::middleware::DefaultHeaders::new()
        .add(("X-Frame-Options", "DENY"))
        .add(("X-Content-Type-Options", "nosniff"))
        .add(("Referrer-Policy", "same-origin"))
        .add((
            "Content-Security-Policy",
            "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'none'; \
             frame-ancestors 'none'; base-uri 'none'",
        ))
}

/// Runs the HTTP server until it is told to stop (SIGINT/SIGTERM).
pub async fn serve(state: web::Data<AppState>) -> std::io::Result<()> {
    let workers = state.settings.workers;
    let server_state = state.clone();
    let server = HttpServer::new(move || build(server_state.clone()))
        .workers(workers)
        .bind(state.settings.listen)?;
    // The address actually bound: with port 0 the system chose it, and whoever started the
    // server (a test, a supervisor) learns it from this line.
    let listen = server
        .addrs()
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ");
    actix_web::rt::spawn(crate::maintenance::run(state.clone()));
    let metrics = match state.settings.metrics_listen {
        Some(addr) => {
            let listener = std::net::TcpListener::bind(addr)?;
            tracing::info!(metrics_listen = %listener.local_addr()?, "metrics are served on their own listener");
            Some(metrics_server(state.clone(), listener)?)
        }
        None => None,
    };
    tracing::info!(
        %listen,
        external_url = %state.settings.external_url,
        database = %state.settings.database.redacted(),
        "Gatehouse is ready"
    );
    match metrics {
        Some(metrics) => futures_util::future::try_join(server.run(), metrics)
            .await
            .map(|_| ()),
        None => server.run().await,
    }
}
