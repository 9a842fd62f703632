//! [`TestApp`]: the production application built in-process (actix `init_service`, no port) on a
//! fresh database, with a bootstrap admin token, and a small request builder.

use std::rc::Rc;

use actix_service::boxed::RcService;
use actix_web::body::BoxBody;
use actix_web::dev::ServiceResponse;
use actix_web::http::{Method, StatusCode, header};
use actix_web::test;
use actix_web::web;
use gatehouse::app::{self, AppState};
use gatehouse::config::Settings;
use gatehouse::db::DatabaseUrl;
use serde_json::Value;

use crate::pg::{self, TestDatabase};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Keeps a test's database alive for as long as the app (and drops it afterwards).
pub enum DatabaseGuard {
    Sqlite(tempfile::TempDir),
    Postgres(TestDatabase, tempfile::TempDir),
}

impl DatabaseGuard {
    /// A fresh, empty database for `backend`; panics when PostgreSQL cannot give one (see
    /// [`pg::fresh_database`]).
    pub fn fresh(backend: Backend) -> (DatabaseUrl, Self) {
        match backend {
            Backend::Sqlite => {
                let dir = tempfile::tempdir().expect("temp dir");
                let path = dir.path().join("gatehouse.db");
                (DatabaseUrl::Sqlite(path.display().to_string()), Self::Sqlite(dir))
            }
            Backend::Postgres => {
                let db = pg::fresh_database();
                let dir = tempfile::tempdir().expect("temp dir");
                (DatabaseUrl::Postgres(db.url.clone()), Self::Postgres(db, dir))
            }
        }
    }

    pub fn data_dir(&self) -> &std::path::Path {
        match self {
            Self::Sqlite(dir) | Self::Postgres(_, dir) => dir.path(),
        }
    }
}

/// Settings for a test on `url`: defaults, a fixed secret key, a bootstrap admin token.
pub fn test_settings(url: &DatabaseUrl, data_dir: &std::path::Path) -> Settings {
    let mut settings = Settings::for_database(url, data_dir).expect("default settings are valid");
    settings.secret_key = Some("test-secret-key-test-secret-key-test-secret".into());
    settings.bootstrap_token = Some(TestApp::ADMIN_TOKEN.into());
    settings.db.max_connections = 8;
    settings.workers = 1;
    settings
}

type Svc = RcService<actix_http::Request, ServiceResponse<BoxBody>, actix_web::Error>;

pub struct TestApp {
    pub backend: Backend,
    pub state: web::Data<AppState>,
    service: Svc,
    guard: Rc<DatabaseGuard>,
}

impl TestApp {
    /// The bootstrap API token of the `admin` superuser in every test app.
    pub const ADMIN_TOKEN: &'static str = "test-admin-token-0123456789";

    /// A fresh app on `backend`. Always `Some` (a PostgreSQL problem panics, see
    /// [`pg::fresh_database`]); the `Option` stays so that existing callers read the same.
    pub async fn start(backend: Backend) -> Option<Self> {
        Self::start_with(backend, |_| {}).await
    }

    /// Like [`TestApp::start`], with a chance to adjust the settings first.
    pub async fn start_with(backend: Backend, adjust: impl FnOnce(&mut Settings)) -> Option<Self> {
        let (url, guard) = DatabaseGuard::fresh(backend);
        let mut settings = test_settings(&url, guard.data_dir());
        adjust(&mut settings);
        Some(Self::on(backend, settings, Rc::new(guard)).await)
    }

    /// Another app instance on the same database, as a second replica would be.
    pub async fn replica(&self) -> Self {
        Self::on(self.backend, self.state.settings.clone(), self.guard.clone()).await
    }

    async fn on(backend: Backend, settings: Settings, guard: Rc<DatabaseGuard>) -> Self {
        let state = tokio::task::spawn_blocking(move || AppState::initialise(settings))
            .await
            .expect("initialise task")
            .expect("app initialises");
        let service = test::init_service(app::build(state.clone())).await;
        Self {
            backend,
            state,
            service: actix_service::boxed::rc_service(service),
            guard,
        }
    }

    /// A request as the admin (bootstrap token); change with [`Req::token`] or [`Req::anonymous`].
    pub fn req(&self, method: Method, path: &str) -> Req<'_> {
        Req {
            app: self,
            inner: test::TestRequest::default()
                .method(method)
                .uri(path)
                .peer_addr("127.0.0.1:40000".parse().expect("addr")),
            token: Some(Self::ADMIN_TOKEN.to_owned()),
        }
    }

    pub async fn get(&self, path: &str) -> TestResponse {
        self.req(Method::GET, path).send().await
    }

    pub async fn post(&self, path: &str, body: Value) -> TestResponse {
        self.req(Method::POST, path).json(&body).send().await
    }

    pub async fn put(&self, path: &str, body: Value) -> TestResponse {
        self.req(Method::PUT, path).json(&body).send().await
    }

    pub async fn patch(&self, path: &str, body: Value) -> TestResponse {
        self.req(Method::PATCH, path).json(&body).send().await
    }

    pub async fn delete(&self, path: &str) -> TestResponse {
        self.req(Method::DELETE, path).send().await
    }

    /// Runs a closure on a pooled database connection (for assertions on stored rows).
    pub async fn db<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut gatehouse::db::DbConn) -> Result<T, gatehouse::db::StoreError> + Send + 'static,
    ) -> T {
        self.state.db.run(f).await.expect("database access")
    }
}

/// A request being built against a [`TestApp`].
pub struct Req<'a> {
    app: &'a TestApp,
    inner: test::TestRequest,
    token: Option<String>,
}

impl Req<'_> {
    pub fn token(mut self, token: &str) -> Self {
        self.token = Some(token.to_owned());
        self
    }

    pub fn anonymous(mut self) -> Self {
        self.token = None;
        self
    }

    pub fn json(mut self, body: &Value) -> Self {
        self.inner = self.inner.set_json(body);
        self
    }

    /// A raw body with an explicit content type (for malformed-input tests).
    pub fn raw(mut self, content_type: &str, body: impl Into<Vec<u8>>) -> Self {
        self.inner = self
            .inner
            .insert_header((header::CONTENT_TYPE, content_type.to_owned()))
            .set_payload(body.into());
        self
    }

    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.inner = self.inner.insert_header((name.to_owned(), value.to_owned()));
        self
    }

    pub async fn send(self) -> TestResponse {
        let mut inner = self.inner;
        if let Some(token) = self.token {
            inner = inner.insert_header((header::AUTHORIZATION, format!("Bearer {token}")));
        }
        let response = test::call_service(&self.app.service, inner.to_request()).await;
        let status = response.status();
        let headers = response.headers().clone();
        let body = test::read_body(response).await.to_vec();
        TestResponse {
            status,
            headers,
            body,
        }
    }
}

#[derive(Debug)]
pub struct TestResponse {
    pub status: StatusCode,
    pub headers: actix_web::http::header::HeaderMap,
    pub body: Vec<u8>,
}

impl TestResponse {
    /// The body as JSON; panics with the body text when it is not JSON.
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("body is not JSON ({e}): {}", String::from_utf8_lossy(&self.body)))
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub fn header(&self, name: &str) -> Option<String> {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    }

    /// Asserts the status, printing the body when it differs.
    #[track_caller]
    pub fn assert_status(&self, expected: u16) -> &Self {
        assert_eq!(
            self.status.as_u16(),
            expected,
            "unexpected status; body: {}",
            self.text()
        );
        self
    }
}
