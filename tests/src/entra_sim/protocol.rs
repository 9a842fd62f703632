//! Entra and Graph wire formats: error bodies, error pages, redirects, ids, headers.

use actix_web::HttpResponse;
use actix_web::http::StatusCode;
use chrono::Utc;
use serde_json::{Value, json};

pub fn guid() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// Opaque random string (codes, refresh tokens).
pub fn opaque(prefix: &str) -> String {
    format!(
        "{prefix}{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    )
}

pub fn now() -> i64 {
    Utc::now().timestamp()
}

fn entra_timestamp() -> String {
    Utc::now().format("%Y-%m-%d %H:%M:%SZ").to_string()
}

/// `AADSTS<code>: <message>\r\nTrace ID: …\r\nCorrelation ID: …\r\nTimestamp: …`.
pub fn aadsts_description(code: u64, message: &str, trace: &str, correlation: &str) -> String {
    format!(
        "AADSTS{code}: {message}\r\nTrace ID: {trace}\r\nCorrelation ID: {correlation}\r\nTimestamp: {}",
        entra_timestamp()
    )
}

/// The 7-field JSON token error (§2.4); `invalid_client` is HTTP 401.
pub fn token_error(status: u16, error: &str, code: u64, message: &str) -> HttpResponse {
    let (trace, correlation) = (guid(), guid());
    let body = json!({
        "error": error,
        "error_description": aadsts_description(code, message, &trace, &correlation),
        "error_codes": [code],
        "timestamp": entra_timestamp(),
        "trace_id": trace,
        "correlation_id": correlation,
        "error_uri": format!("https://login.microsoftonline.com/error?code={code}"),
    });
    HttpResponse::build(StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST))
        .insert_header(("Cache-Control", "no-store, no-cache"))
        .insert_header(("Pragma", "no-cache"))
        .insert_header(("x-ms-request-id", trace))
        .json(body)
}

/// Entra's own HTML error page (errors it cannot redirect, §1.4).
pub fn error_page(code: u64, message: &str) -> HttpResponse {
    let (trace, correlation) = (guid(), guid());
    let esc = html_escape(message);
    HttpResponse::BadRequest()
        .content_type("text/html; charset=utf-8")
        .body(format!(
            "<!DOCTYPE html><html><head><title>Sign in to your account</title></head><body>\
         <h1>Sorry, but we're having trouble signing you in.</h1>\
         <p id=\"error\">AADSTS{code}: {esc}</p><p>Trace ID: {trace}</p><p>Correlation ID: {correlation}</p>\
         <p>Timestamp: {}</p></body></html>",
            entra_timestamp()
        ))
}

pub fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// .NET `HttpUtility.UrlEncode` style: `+` for spaces, lower-case `%xx` escapes (§1.3).
pub fn dotnet_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'!' | b'*' | b'(' | b')' => {
                out.push(b as char)
            }
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02x}")),
        }
    }
    out
}

/// `Location` of an error redirect: `error`, `error_description`, `error_uri`, `state`.
pub fn error_redirect(
    redirect_uri: &str,
    error: &str,
    code: Option<u64>,
    message: Option<&str>,
    state: Option<&str>,
) -> String {
    let mut q = format!("error={}", dotnet_encode(error));
    if let (Some(code), Some(message)) = (code, message) {
        let d = aadsts_description(code, message, &guid(), &guid());
        q.push_str(&format!("&error_description={}", dotnet_encode(&d)));
        q.push_str(&format!(
            "&error_uri={}",
            dotnet_encode(&format!("https://login.microsoftonline.com/error?code={code}"))
        ));
    }
    if let Some(s) = state {
        q.push_str(&format!("&state={}", dotnet_encode(s)));
    }
    let sep = if redirect_uri.contains('?') { '&' } else { '?' };
    format!("{redirect_uri}{sep}{q}")
}

pub fn redirect(location: &str) -> HttpResponse {
    HttpResponse::Found()
        .insert_header(("Location", location))
        .finish()
}

/// A Graph error body (§7.4).
pub fn graph_error(status: u16, code: &str, message: &str) -> HttpResponse {
    let rid = guid();
    let date = Utc::now().format("%Y-%m-%dT%H:%M:%S").to_string();
    let mut inner = json!({"date": date, "request-id": rid, "client-request-id": rid});
    if status == 429 {
        inner = json!({"code": "429", "date": date, "message": "Please retry after", "request-id": rid, "status": "429"});
    }
    let mut resp =
        HttpResponse::build(StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR));
    resp.insert_header(("request-id", rid.clone()));
    if status == 401 {
        resp.insert_header((
            "WWW-Authenticate",
            "Bearer realm=\"\", authorization_uri=\"https://login.microsoftonline.com/common/oauth2/authorize\", \
             client_id=\"00000003-0000-0000-c000-000000000000\"",
        ));
    }
    resp.json(json!({"error": {"code": code, "message": message, "innerError": inner}}))
}

/// A Graph success body with Graph's headers.
pub fn graph_ok(body: Value) -> HttpResponse {
    let rid = guid();
    HttpResponse::Ok()
        .content_type("application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8")
        .insert_header(("request-id", rid.clone()))
        .insert_header(("client-request-id", rid))
        .insert_header(("OData-Version", "4.0"))
        .insert_header(("x-ms-resource-unit", "1"))
        .body(body.to_string())
}

/// JSON with the STS metadata headers (discovery, JWKS).
pub fn metadata_json(body: Value) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header(("Cache-Control", "max-age=86400, private"))
        .insert_header(("Access-Control-Allow-Origin", "*"))
        .insert_header(("x-ms-request-id", guid()))
        .content_type("application/json; charset=utf-8")
        .body(body.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dotnet_encoding_is_lowercase_plus() {
        assert_eq!(dotnet_encode("AADSTS65004: a b\r\n"), "AADSTS65004%3a+a+b%0d%0a");
    }
}
