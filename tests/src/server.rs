//! [`TestServer`]: the real server on a loopback port, for tests that need real HTTP (concurrency,
//! a database going away under a running server, browsers, the Entra simulator's redirects).

use actix_web::dev::ServerHandle;
use actix_web::{HttpServer, web};
use gatehouse::app::{self, AppState};
use gatehouse::config::Settings;

pub struct TestServer {
    pub base_url: String,
    pub state: web::Data<AppState>,
    handle: ServerHandle,
}

impl TestServer {
    /// Starts the app on 127.0.0.1 with an OS-chosen port; `external_url` is set to match.
    pub async fn start(mut settings: Settings) -> std::io::Result<Self> {
        let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
        let addr = listener.local_addr()?;
        settings.listen = addr;
        settings.external_url = format!("http://{addr}/").parse().map_err(std::io::Error::other)?;
        let state = tokio::task::spawn_blocking(move || AppState::initialise(settings))
            .await
            .map_err(std::io::Error::other)?
            .map_err(std::io::Error::other)?;
        let server_state = state.clone();
        let workers = state.settings.workers;
        let server = HttpServer::new(move || app::build(server_state.clone()))
            .workers(workers)
            .disable_signals()
            .listen(listener)?
            .run();
        let handle = server.handle();
        actix_web::rt::spawn(server);
        Ok(Self {
            base_url: format!("http://{addr}"),
            state,
            handle,
        })
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }

    pub async fn stop(&self) {
        self.handle.stop(true).await;
    }
}
