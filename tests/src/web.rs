//! A cookie-keeping client for driving server-rendered pages in-process, like a browser without
//! JavaScript: it stores `Set-Cookie`, sends cookies back, and reads forms' hidden fields.

use std::collections::BTreeMap;

use actix_web::http::Method;

use crate::{TestApp, TestResponse};

pub struct WebClient<'a> {
    app: &'a TestApp,
    pub cookies: BTreeMap<String, String>,
}

impl<'a> WebClient<'a> {
    pub fn new(app: &'a TestApp) -> Self {
        Self {
            app,
            cookies: BTreeMap::new(),
        }
    }

    /// Another app instance (a replica) with the same cookies.
    pub fn on(&self, app: &'a TestApp) -> Self {
        Self {
            app,
            cookies: self.cookies.clone(),
        }
    }

    fn cookie_header(&self) -> String {
        self.cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    fn remember(&mut self, response: &TestResponse) {
        for value in response.headers.get_all("set-cookie") {
            let Ok(text) = value.to_str() else { continue };
            let Some((pair, attributes)) = text.split_once(';').or(Some((text, ""))) else {
                continue;
            };
            let Some((name, value)) = pair.split_once('=') else {
                continue;
            };
            let removed = attributes.to_ascii_lowercase().contains("max-age=0") || value.is_empty();
            if removed {
                self.cookies.remove(name.trim());
            } else {
                self.cookies
                    .insert(name.trim().to_owned(), value.trim().to_owned());
            }
        }
    }

    pub async fn get(&mut self, path: &str) -> TestResponse {
        let mut req = self.app.req(Method::GET, path).anonymous();
        if !self.cookies.is_empty() {
            req = req.header("Cookie", &self.cookie_header());
        }
        let response = req.send().await;
        self.remember(&response);
        response
    }

    /// POSTs an urlencoded form.
    pub async fn post_form(&mut self, path: &str, fields: &[(&str, &str)]) -> TestResponse {
        let body = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(fields)
            .finish();
        let mut req = self
            .app
            .req(Method::POST, path)
            .anonymous()
            .raw("application/x-www-form-urlencoded", body);
        if !self.cookies.is_empty() {
            req = req.header("Cookie", &self.cookie_header());
        }
        let response = req.send().await;
        self.remember(&response);
        response
    }

    /// POSTs JSON (the JSON flow executor).
    pub async fn post_json(&mut self, path: &str, body: &serde_json::Value) -> TestResponse {
        let mut req = self.app.req(Method::POST, path).anonymous().json(body);
        if !self.cookies.is_empty() {
            req = req.header("Cookie", &self.cookie_header());
        }
        let response = req.send().await;
        self.remember(&response);
        response
    }

    /// Follows redirects (same app) until a non-redirect answer, at most 10 hops.
    pub async fn follow(&mut self, mut response: TestResponse) -> (TestResponse, Vec<String>) {
        let mut trail = Vec::new();
        for _ in 0..10 {
            if !response.status.is_redirection() {
                break;
            }
            let Some(location) = response.header("location") else {
                break;
            };
            trail.push(location.clone());
            response = self.get(&location).await;
        }
        (response, trail)
    }
}

/// The value of a hidden input named `name` in an HTML page (tera escapes `/` as `&#x2F;`).
pub fn hidden(html: &str, name: &str) -> Option<String> {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html.find(&marker)? + marker.len();
    let end = html[start..].find('"')? + start;
    Some(html[start..end].replace("&#x2F;", "/"))
}
