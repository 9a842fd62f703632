//! End-to-end Entra ID logins: a real Gatehouse ([`TestServer`]) and the Entra simulator on
//! loopback, with an Entra ID source created through the admin API, and a browser-less client
//! that follows the redirects (Gatehouse → simulator → Gatehouse) like a browser would.

use std::collections::BTreeMap;

use reqwest::header::{COOKIE, LOCATION, SET_COOKIE};
use serde_json::{Value, json};

use crate::app::{DatabaseGuard, test_settings};
use crate::entra_sim::{EntraSim, fixtures};
use crate::{Backend, TestApp, TestServer};

pub const GROUP_SCOPE: &str = "https://graph.microsoft.com/GroupMember.Read.All";
pub const SLUG: &str = "entra-id";

/// Gatehouse + the simulator + an Entra ID source (`entra-id`) in the Contoso tenant.
pub struct EntraEnv {
    pub server: TestServer,
    pub sim: EntraSim,
    pub http: reqwest::Client,
    _guard: DatabaseGuard,
}

/// The source definition pointing at the simulator for `tenant`, with group sync on.
pub fn source_json(sim: &EntraSim, tenant: &str) -> Value {
    json!({
        "name": "Entra ID",
        "slug": SLUG,
        "provider_type": "entraid",
        "consumer_key": fixtures::APP,
        "consumer_secret": fixtures::APP_SECRET,
        "additional_scopes": GROUP_SCOPE,
        "authorization_url": sim.authorize_url(tenant),
        "access_token_url": sim.token_url(tenant),
        "profile_url": sim.profile_url(),
        "oidc_jwks_url": sim.jwks_url(tenant),
        "settings": {"tenant": tenant},
    })
}

impl EntraEnv {
    /// Starts everything; `adjust` may change the source definition before it is created.
    /// Always `Some`: a PostgreSQL problem panics (see `pg::fresh_database`).
    pub async fn start(backend: Backend, adjust: impl FnOnce(&mut Value)) -> Option<Self> {
        let (url, guard) = DatabaseGuard::fresh(backend);
        let mut settings = test_settings(&url, guard.data_dir());
        settings.workers = 2;
        let server = TestServer::start(settings).await.expect("server starts");
        let redirect = server.url(&format!("/source/oauth/callback/{SLUG}/"));
        let sim =
            EntraSim::start(fixtures::standard_directory_with_redirect(&redirect)).expect("simulator starts");
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("client");
        let env = Self {
            server,
            sim,
            http,
            _guard: guard,
        };
        let mut source = source_json(&env.sim, fixtures::CONTOSO);
        adjust(&mut source);
        let (status, body) = env.api("POST", "/api/v3/sources/oauth/", Some(source)).await;
        assert_eq!(status, 201, "source creation failed: {body}");
        Some(env)
    }

    /// An admin API call; returns (status, JSON body or Null).
    pub async fn api(&self, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
        let method = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
        let mut req = self
            .http
            .request(method, self.server.url(path))
            .bearer_auth(TestApp::ADMIN_TOKEN);
        if let Some(body) = body {
            req = req.json(&body);
        }
        let res = req.send().await.expect("api call");
        let status = res.status().as_u16();
        let text = res.text().await.unwrap_or_default();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    pub fn browser(&self) -> Browserless {
        Browserless {
            http: self.http.clone(),
            base: self.server.base_url.clone(),
            cookies: BTreeMap::new(),
        }
    }

    /// A whole login of the user named by `login_hint` (the tenant's default user if `None`).
    pub async fn login(&self, login_hint: Option<&str>) -> Login {
        let mut browser = self.browser();
        let login = browser.login(SLUG, login_hint, None).await;
        Login { browser, ..login }
    }

    /// Events with `action`, newest first.
    /// Every event with this action. Panics on an API error or a result that does not fit one
    /// page, so that an empty list always means "no such event".
    pub async fn events(&self, action: &str) -> Vec<Value> {
        let (status, body) = self
            .api(
                "GET",
                &format!("/api/v3/events/events/?action={action}&page_size=100"),
                None,
            )
            .await;
        assert_eq!(status, 200, "listing {action} events: {body}");
        let results = body["results"].as_array().cloned().expect("a results list");
        assert_eq!(
            body["pagination"]["count"].as_u64(),
            Some(results.len() as u64),
            "all {action} events on one page: {body}"
        );
        results
    }
}

/// What happened in a login.
pub struct Login {
    /// Every URL visited after the first, in order.
    pub trail: Vec<String>,
    /// The last answer (not a redirect).
    pub status: u16,
    pub body: String,
    pub browser: Browserless,
}

impl Login {
    /// Whether the login ended logged in on Gatehouse's landing page.
    pub fn logged_in(&self) -> bool {
        self.status == 200 && self.body.contains("You are signed in.")
    }

    #[track_caller]
    pub fn assert_logged_in(&self) {
        assert!(
            self.logged_in(),
            "not logged in: {} {:?}\n{}",
            self.status,
            self.trail,
            self.body
        );
    }
}

/// Follows redirects across Gatehouse and the simulator, keeping Gatehouse's cookies.
#[derive(Clone)]
pub struct Browserless {
    pub http: reqwest::Client,
    pub base: String,
    pub cookies: BTreeMap<String, String>,
}

impl Browserless {
    fn is_gatehouse(&self, url: &str) -> bool {
        url.starts_with(&self.base)
    }

    pub async fn get(&mut self, url: &str) -> reqwest::Response {
        self.try_get(url).await.expect("request")
    }

    /// Like [`Browserless::get`], with transport errors returned (for the load generator).
    pub async fn try_get(&mut self, url: &str) -> Result<reqwest::Response, reqwest::Error> {
        let mut req = self.http.get(url);
        if self.is_gatehouse(url) && !self.cookies.is_empty() {
            let header = self
                .cookies
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join("; ");
            req = req.header(COOKIE, header);
        }
        let res = req.send().await?;
        if self.is_gatehouse(url) {
            for value in res.headers().get_all(SET_COOKIE) {
                let text = value.to_str().unwrap_or_default();
                let pair = text.split(';').next().unwrap_or_default();
                if let Some((name, value)) = pair.split_once('=') {
                    if value.is_empty() || text.to_ascii_lowercase().contains("max-age=0") {
                        self.cookies.remove(name);
                    } else {
                        self.cookies.insert(name.to_owned(), value.to_owned());
                    }
                }
            }
        }
        Ok(res)
    }

    /// Follows redirects from `start` (absolute or a Gatehouse path) until a page.
    pub async fn visit(&mut self, start: &str) -> Login {
        self.try_visit(start).await.unwrap_or_else(|e| panic!("{e}"))
    }

    /// Like [`Browserless::visit`], with transport errors and redirect loops returned.
    pub async fn try_visit(&mut self, start: &str) -> Result<Login, String> {
        let mut url = if start.starts_with("http") {
            start.to_owned()
        } else {
            format!("{}{start}", self.base)
        };
        let mut trail = Vec::new();
        for _ in 0..15 {
            let res = self.try_get(&url).await.map_err(|e| format!("GET {url}: {e}"))?;
            let status = res.status().as_u16();
            if (300..400).contains(&status) {
                let location = res
                    .headers()
                    .get(LOCATION)
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or_default()
                    .to_owned();
                url = if location.starts_with("http") {
                    location
                } else {
                    format!("{}{location}", self.base)
                };
                trail.push(url.clone());
                continue;
            }
            let body = res.text().await.unwrap_or_default();
            return Ok(Login {
                trail,
                status,
                body,
                browser: self.clone(),
            });
        }
        Err(format!("too many redirects: {trail:?}"))
    }

    /// Clicks "Sign in with …" for `slug`.
    pub async fn login(&mut self, slug: &str, login_hint: Option<&str>, next: Option<&str>) -> Login {
        let path = Self::login_path(slug, login_hint, next);
        self.visit(&path).await
    }

    /// Like [`Browserless::login`], with transport errors and redirect loops returned.
    pub async fn try_login(
        &mut self,
        slug: &str,
        login_hint: Option<&str>,
        next: Option<&str>,
    ) -> Result<Login, String> {
        let path = Self::login_path(slug, login_hint, next);
        self.try_visit(&path).await
    }

    /// `/source/oauth/login/<slug>/` with the optional `login_hint` and `next`.
    pub fn login_path(slug: &str, login_hint: Option<&str>, next: Option<&str>) -> String {
        let mut path = format!("/source/oauth/login/{slug}/");
        let mut query = url::form_urlencoded::Serializer::new(String::new());
        if let Some(hint) = login_hint {
            query.append_pair("login_hint", hint);
        }
        if let Some(next) = next {
            query.append_pair("next", next);
        }
        let query = query.finish();
        if !query.is_empty() {
            path = format!("{path}?{query}");
        }
        path
    }

    /// The logged-in user as `core/users/me/` reports it.
    pub async fn me(&mut self) -> Value {
        let url = format!("{}/api/v3/core/users/me/", self.base);
        let res = self.get(&url).await;
        res.json().await.unwrap_or(Value::Null)
    }
}
