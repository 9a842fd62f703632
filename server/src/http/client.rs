//! Who is calling: the client IP (forwarded headers only when configured as trusted) and the user
//! agent, for the event log.
//!
//! Proxies *append* to `X-Forwarded-For` and `Forwarded`, so only the right-most entries were
//! written by proxies Gatehouse trusts; everything to their left came from the client. With
//! `trusted_proxy_hops = n`, the client IP is the n-th entry from the right. A header with fewer
//! entries, an entry that is not an IP address, or the two headers naming different addresses
//! mean the proxies did not write what was configured: the peer address is used instead.

use std::future::{Ready, ready};
use std::net::{IpAddr, SocketAddr};

use actix_web::dev::Payload;
use actix_web::http::header::{FORWARDED, HeaderMap, HeaderName, X_FORWARDED_FOR};
use actix_web::{FromRequest, HttpRequest};

use crate::config::Settings;

/// Whether forwarded headers are trusted, and how many proxies wrote them: the only part of the
/// settings [`ClientInfo::of`] needs, registered as app data where the app is built.
#[derive(Debug, Clone, Copy)]
pub struct TrustForwarded {
    pub trusted: bool,
    pub hops: u32,
}

impl TrustForwarded {
    pub fn from_settings(settings: &Settings) -> Self {
        Self {
            trusted: settings.trust_forwarded_headers,
            hops: settings.trusted_proxy_hops,
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct ClientInfo {
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub method: String,
    pub path: String,
}

impl ClientInfo {
    pub fn of(req: &HttpRequest) -> Self {
        let hops = req
            .app_data::<TrustForwarded>()
            .filter(|trust| trust.trusted)
            .map(|trust| trust.hops);
        let peer = req.peer_addr().map(|addr| addr.ip());
        let forwarded = hops.and_then(|hops| forwarded_ip(req.headers(), hops));
        let ip = forwarded.or(peer).map(|ip| ip.to_string());
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

/// The client IP the trusted proxies recorded, `hops` entries from the right.
fn forwarded_ip(headers: &HeaderMap, hops: u32) -> Option<IpAddr> {
    let from_xff = pick(&entries(headers, X_FORWARDED_FOR, |e| Some(e)), hops);
    let from_forwarded = pick(&entries(headers, FORWARDED, forwarded_for), hops);
    match (from_xff, from_forwarded) {
        (Some(a), Some(b)) if a != b => {
            tracing::debug!(%a, %b, "X-Forwarded-For and Forwarded disagree; using the peer address");
            None
        }
        (a, b) => a.or(b),
    }
}

/// Every entry of every `name` header, in order, as `extract` finds the address in it.
fn entries(headers: &HeaderMap, name: HeaderName, extract: fn(&str) -> Option<&str>) -> Vec<Option<&str>> {
    headers
        .get_all(name)
        .flat_map(|value| value.to_str().unwrap_or_default().split(','))
        .map(str::trim)
        .filter(|entry| !entry.is_empty())
        .map(extract)
        .collect()
}

/// The entry `hops` places from the right, if there are that many and it is an IP address.
fn pick(entries: &[Option<&str>], hops: u32) -> Option<IpAddr> {
    let index = entries.len().checked_sub(usize::try_from(hops).ok()?)?;
    entries.get(index).copied().flatten().and_then(parse_ip)
}

/// The `for=` parameter of one `Forwarded` element (RFC 7239).
fn forwarded_for(element: &str) -> Option<&str> {
    element.split(';').find_map(|pair| {
        let (key, value) = pair.split_once('=')?;
        key.trim()
            .eq_ignore_ascii_case("for")
            .then(|| value.trim().trim_matches('"'))
    })
}

/// `192.0.2.1`, `192.0.2.1:4711`, `2001:db8::1` or `[2001:db8::1]:4711`.
fn parse_ip(text: &str) -> Option<IpAddr> {
    text.parse::<IpAddr>()
        .or_else(|_| text.parse::<SocketAddr>().map(|sock| sock.ip()))
        .or_else(|_| text.trim_matches(['[', ']']).parse::<IpAddr>())
        .ok()
}

impl FromRequest for ClientInfo {
    type Error = actix_web::Error;
    type Future = Ready<Result<Self, actix_web::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(Ok(Self::of(req)))
    }
}
