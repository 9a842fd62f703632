//! Cookies: all `HttpOnly`, `SameSite=Lax` (sent on the top-level redirect back from an identity
//! provider, not on cross-site form posts), `Secure` when the external URL is https.

use actix_web::HttpRequest;
use actix_web::cookie::{Cookie, SameSite, time::Duration};

use crate::config::Settings;
use crate::flows::stages::Effect;
use crate::sessions::SESSION_COOKIE;

pub const FLOW_COOKIE: &str = "gatehouse_flow";

pub fn read(req: &HttpRequest, name: &str) -> Option<String> {
    req.cookie(name)
        .map(|c| c.value().to_owned())
        .filter(|v| !v.is_empty())
}

fn build(settings: &Settings, name: &'static str, value: String) -> Cookie<'static> {
    Cookie::build(name, value)
        .path("/")
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(settings.secure_cookies())
        .finish()
}

fn removal(settings: &Settings, name: &'static str) -> Cookie<'static> {
    let mut cookie = build(settings, name, String::new());
    cookie.make_removal();
    cookie
}

/// The cookies a flow step asks for.
pub fn for_effects(settings: &Settings, effects: &[Effect]) -> Vec<Cookie<'static>> {
    effects
        .iter()
        .map(|effect| match effect {
            Effect::SetFlowCookie(token) => build(settings, FLOW_COOKIE, token.clone()),
            Effect::ClearFlowCookie => removal(settings, FLOW_COOKIE),
            Effect::SetSession {
                token,
                max_age_seconds,
            } => {
                let mut cookie = build(settings, SESSION_COOKIE, token.clone());
                cookie.set_max_age(Duration::seconds(*max_age_seconds));
                cookie
            }
            Effect::ClearSession => removal(settings, SESSION_COOKIE),
        })
        .collect()
}
