//! An Entra ID + Microsoft Graph simulator for tests and local demos (DESIGN §12).
//!
//! [`EntraSim::start`] binds a real HTTP server on 127.0.0.1 (port 0 unless asked otherwise)
//! and serves, under one origin:
//! - STS: `/{tenant}/oauth2/v2.0/authorize`, `/{tenant}/oauth2/v2.0/token`,
//!   `/{tenant}/discovery/v2.0/keys`, `/{tenant}/discovery/keys`,
//!   `/{tenant}/v2.0/.well-known/openid-configuration`, `/{tenant}/.well-known/openid-configuration`;
//! - Graph: `/v1.0/me`, `/v1.0/me/{memberOf|transitiveMemberOf}[/microsoft.graph.group]`,
//!   and `/oidc/userinfo`;
//! - control: `/_sim/default-user`, `/_sim/faults`, `/_sim/counters`, `/_sim/keys/{op}`,
//!   `/_sim/users/{tenant}`, `/_sim/directory`.
//!
//! Issuers use the simulator's own origin (`http://127.0.0.1:<port>/{tid}/v2.0`); v1 app tokens
//! use `https://sts.windows.net/{tid}/` as real Entra does. Tests configure the directory and
//! faults in-process ([`EntraSim::with_directory`], [`EntraSim::with_faults`]).

// Handlers answer early with ready-made Entra/Graph error responses; boxing them buys nothing.
#![allow(clippy::result_large_err)]

mod authorize;
mod control;
pub mod directory;
pub mod fixtures;
mod graph;
pub mod keys;
mod meta;
mod mint;
mod protocol;
pub mod state;
mod token;
mod userinfo;

use std::net::{SocketAddr, TcpListener};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;

use actix_web::dev::ServerHandle;
use actix_web::{App, HttpServer, web};

pub use directory::{App as AppRegistration, Directory, Group, SyntheticUsers, Tenant, User, UserType};
pub use keys::Tamper;
pub use state::{AuthorizeErrorSpec, Counters, Faults, GraphFault, GraphTarget, TokenErrorSpec};

use keys::KeyRing;
use state::SimState;

/// Tenant id of personal Microsoft accounts.
pub const MSA_TENANT: &str = "9188040d-6c67-4c5b-b112-36a304b66dad";

pub struct SimShared {
    state: Mutex<SimState>,
}

impl SimShared {
    pub(crate) fn lock(&self) -> MutexGuard<'_, SimState> {
        // A handler that panicked mid-update leaves plain data behind; keep serving.
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

pub(crate) type Shared = Arc<SimShared>;

/// A running simulator. Dropping it stops the server.
pub struct EntraSim {
    addr: SocketAddr,
    base_url: String,
    shared: Shared,
    handle: ServerHandle,
    thread: Option<JoinHandle<()>>,
}

impl EntraSim {
    /// Starts on 127.0.0.1 with a free port.
    pub fn start(directory: Directory) -> std::io::Result<Self> {
        Self::start_on(SocketAddr::from(([127, 0, 0, 1], 0)), directory)
    }

    /// The standard test directory ([`fixtures::standard_directory`]).
    pub fn standard() -> std::io::Result<Self> {
        Self::start(fixtures::standard_directory())
    }

    pub fn start_on(addr: SocketAddr, directory: Directory) -> std::io::Result<Self> {
        let listener = TcpListener::bind(addr)?;
        let addr = listener.local_addr()?;
        let base_url = format!("http://{addr}");
        let keys = KeyRing::new().map_err(std::io::Error::other)?;
        let default_tenant = directory.tenants.first().map(|t| t.id.clone());
        let shared = Arc::new(SimShared {
            state: Mutex::new(SimState {
                base_url: base_url.clone(),
                directory,
                keys,
                faults: Faults::default(),
                counters: Counters::default(),
                codes: Default::default(),
                redeemed: Default::default(),
                refresh_tokens: Default::default(),
                graph_tokens: Default::default(),
                default_tenant,
            }),
        });
        let data = web::Data::new(shared.clone());
        let (tx, rx) = std::sync::mpsc::channel();
        let thread = std::thread::Builder::new()
            .name("entra-sim".to_owned())
            .spawn(move || {
                let system = actix_web::rt::System::new();
                let result = system.block_on(async move {
                    let server = HttpServer::new(move || App::new().app_data(data.clone()).configure(routes))
                        .workers(2)
                        .disable_signals()
                        .listen(listener)?
                        .run();
                    let _ = tx.send(Ok(server.handle()));
                    server.await
                });
                if let Err(e) = result {
                    tracing::error!(error = %e, "entra-sim stopped with an error");
                }
            })?;
        // The listener is already bound and listening: connections queue until workers run.
        let handle = rx
            .recv()
            .map_err(|_| std::io::Error::other("the simulator thread ended before starting"))?
            .map_err(|e: std::io::Error| e)?;
        Ok(Self {
            addr,
            base_url,
            shared,
            handle,
            thread: Some(thread),
        })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:<port>`.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    pub fn authorize_url(&self, tenant: &str) -> String {
        format!("{}/{tenant}/oauth2/v2.0/authorize", self.base_url)
    }

    pub fn token_url(&self, tenant: &str) -> String {
        format!("{}/{tenant}/oauth2/v2.0/token", self.base_url)
    }

    pub fn jwks_url(&self, tenant: &str) -> String {
        format!("{}/{tenant}/discovery/v2.0/keys", self.base_url)
    }

    pub fn discovery_url(&self, tenant: &str) -> String {
        format!("{}/{tenant}/v2.0/.well-known/openid-configuration", self.base_url)
    }

    pub fn profile_url(&self) -> String {
        format!("{}/v1.0/me", self.base_url)
    }

    /// The v2 issuer of a tenant GUID.
    pub fn issuer(&self, tenant_id: &str) -> String {
        format!("{}/{tenant_id}/v2.0", self.base_url)
    }

    /// Reads or changes the directory between logins.
    pub fn with_directory<R>(&self, f: impl FnOnce(&mut Directory) -> R) -> R {
        f(&mut self.shared.lock().directory)
    }

    pub fn with_faults<R>(&self, f: impl FnOnce(&mut Faults) -> R) -> R {
        f(&mut self.shared.lock().faults)
    }

    pub fn counters(&self) -> Counters {
        self.shared.lock().counters.clone()
    }

    /// The user signed in when /authorize gets no `login_hint` (also for `/common`).
    pub fn set_default_user(&self, tenant: &str, user_id: &str) {
        let mut st = self.shared.lock();
        let tid = st.directory.tenant_mut(tenant).map(|t| {
            t.default_user = Some(user_id.to_owned());
            t.id.clone()
        });
        if tid.is_some() {
            st.default_tenant = tid;
        }
    }

    /// Publishes a second key and signs with it; the first stays published.
    pub fn rotate_keys(&self) {
        self.shared.lock().keys.rotate();
    }

    /// Signs with a key that the JWKS does not list (until [`Self::publish_all_keys`]).
    pub fn sign_with_unpublished_key(&self) {
        self.shared.lock().keys.sign_with_unpublished();
    }

    pub fn publish_all_keys(&self) {
        self.shared.lock().keys.publish_all();
    }

    /// The `kid` currently used for signing.
    pub fn active_kid(&self) -> String {
        self.shared.lock().keys.active_key().kid.clone()
    }

    /// Mints a client-credentials token as the token endpoint would (for M2M tests that need
    /// no HTTP round trip); see [`keys::Tamper`] for corruptions.
    pub fn mint_app_token(
        &self,
        tenant_id: &str,
        client_id: &str,
        resource_app: &str,
        tamper: Option<Tamper>,
    ) -> Option<String> {
        let st = self.shared.lock();
        let target = st.directory.app(resource_app)?.clone();
        // The client's app roles, as the token endpoint would grant them.
        let roles = st
            .directory
            .app(client_id)
            .map(|a| a.granted_roles.clone())
            .unwrap_or_default();
        let input = mint::AppTokenInput {
            tid: tenant_id,
            client_id,
            requested_resource: &target.app_id_uri(),
            resource_client_id: &target.client_id,
            version: target.access_token_version,
            acr: "1",
            roles: &roles,
        };
        Some(mint::app_token(&st, &input, tamper))
    }

    /// Stops the server and waits for its thread.
    pub fn stop(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        // `stop` sends the command at once; the returned future only reports completion.
        drop(self.handle.stop(false));
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for EntraSim {
    fn drop(&mut self) {
        self.shutdown();
    }
}

fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/v1.0/me", web::get().to(graph::me))
        .route("/v1.0/me/{relation}", web::get().to(graph::member_of))
        .route("/v1.0/me/{relation}/{cast}", web::get().to(graph::member_of_cast))
        .route("/oidc/userinfo", web::get().to(userinfo::userinfo))
        .route("/_sim/default-user", web::post().to(control::default_user))
        .route("/_sim/users/{tenant}", web::post().to(control::put_user))
        .route("/_sim/faults", web::post().to(control::set_faults))
        .route("/_sim/faults", web::delete().to(control::clear_faults))
        .route("/_sim/counters", web::get().to(control::counters))
        .route("/_sim/keys/{op}", web::post().to(control::keys))
        .route("/_sim/directory", web::get().to(control::directory))
        .route(
            "/{tenant}/oauth2/v2.0/authorize",
            web::get().to(authorize::authorize),
        )
        .route(
            "/{tenant}/oauth2/v2.0/authorize",
            web::post().to(authorize::authorize),
        )
        .route("/{tenant}/oauth2/v2.0/token", web::post().to(token::token))
        .route("/{tenant}/oauth2/v2.0/token", web::get().to(token::token_get))
        .route("/{tenant}/discovery/v2.0/keys", web::get().to(meta::jwks_v2))
        .route("/{tenant}/discovery/keys", web::get().to(meta::jwks_v1))
        .route(
            "/{tenant}/v2.0/.well-known/openid-configuration",
            web::get().to(meta::discovery_v2),
        )
        .route(
            "/{tenant}/.well-known/openid-configuration",
            web::get().to(meta::discovery_v1),
        );
}
