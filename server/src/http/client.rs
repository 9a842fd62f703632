//! Who is calling: the client IP (forwarded headers only when configured as trusted) and the user
//! agent, for the event log.

use std::future::{Ready, ready};

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest, web};

use crate::app::AppState;

#[derive(Debug, Clone, Default)]
pub struct ClientInfo {
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub method: String,
    pub path: String,
}

impl ClientInfo {
    pub fn of(req: &HttpRequest) -> Self {
        let trust_forwarded = req
            .app_data::<web::Data<AppState>>()
            .is_some_and(|state| state.settings.trust_forwarded_headers);
        let ip = if trust_forwarded {
            req.connection_info().realip_remote_addr().map(strip_port)
        } else {
            req.peer_addr().map(|addr| addr.ip().to_string())
        };
        Self {
            ip,
            user_agent: req
                .headers()
                .get(actix_web::http::header::USER_AGENT)
                .and_then(|v| v.to_str().ok())
                .map(|v| v.chars().take(512).collect()),
            method: req.method().to_string(),
            path: req.path().to_owned(),
        }
    }

    /// The request as recorded in event contexts.
    pub fn event_context(&self) -> serde_json::Value {
        serde_json::json!({"method": self.method, "path": self.path, "user_agent": self.user_agent})
    }
}

fn strip_port(addr: &str) -> String {
    match addr.parse::<std::net::SocketAddr>() {
        Ok(sock) => sock.ip().to_string(),
        Err(_) => addr.trim_matches(['[', ']']).to_owned(),
    }
}

impl FromRequest for ClientInfo {
    type Error = actix_web::Error;
    type Future = Ready<Result<Self, actix_web::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(Ok(Self::of(req)))
    }
}
