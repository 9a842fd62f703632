//! Small helpers shared by the plugins: randomness, PKCE, scopes, URL checks, JWT peeking.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::Value;
use sha2::{Digest, Sha256};
use url::Url;

use crate::PluginError;
use crate::types::FieldErrors;

/// `bytes` random bytes, base64url without padding.
pub(crate) fn random_token(bytes: usize) -> Result<String, PluginError> {
    let mut buf = vec![0u8; bytes];
    getrandom::fill(&mut buf)
        .map_err(|e| PluginError::Configuration(format!("no secure randomness available: {e}")))?;
    Ok(URL_SAFE_NO_PAD.encode(buf))
}

/// RFC 7636 S256 challenge.
pub(crate) fn pkce_s256(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

/// Splits a space-separated scope string and removes exact duplicates, keeping first order.
pub(crate) fn dedupe_scopes<'a>(scopes: impl IntoIterator<Item = &'a str>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for scope in scopes.into_iter().flat_map(str::split_whitespace) {
        if !out.iter().any(|s| s == scope) {
            out.push(scope.to_owned());
        }
    }
    out
}

pub(crate) fn is_guid(value: &str) -> bool {
    let bytes = value.as_bytes();
    bytes.len() == 36
        && bytes.iter().enumerate().all(|(i, b)| match i {
            8 | 13 | 18 | 23 => *b == b'-',
            _ => b.is_ascii_hexdigit(),
        })
}

/// Whether `url` may be used to talk to an identity provider: https, or http on a loopback
/// host (tests and the simulator).
pub(crate) fn url_allowed(url: &Url) -> bool {
    match url.scheme() {
        "https" => url.host_str().is_some(),
        "http" => match url.host() {
            Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
            Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
            Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
            None => false,
        },
        _ => false,
    }
}

/// Checks an optional URL field, recording a field error.
pub(crate) fn check_url_field(errors: &mut FieldErrors, field: &str, value: Option<&str>) {
    let Some(value) = value.filter(|v| !v.trim().is_empty()) else {
        return;
    };
    match Url::parse(value) {
        Ok(url) if url_allowed(&url) => {}
        Ok(_) => errors.add(
            field,
            "must be an https URL (http is allowed only for loopback hosts)",
        ),
        Err(e) => errors.add(field, format!("is not a valid URL: {e}")),
    }
}

pub(crate) fn parse_url(what: &str, value: &str) -> Result<Url, PluginError> {
    let url = Url::parse(value).map_err(|e| PluginError::Configuration(format!("{what} `{value}`: {e}")))?;
    if !url_allowed(&url) {
        return Err(PluginError::Configuration(format!(
            "{what} `{value}` must use https"
        )));
    }
    Ok(url)
}

/// `scheme://host[:port]` of a URL.
pub(crate) fn origin(url: &Url) -> String {
    url.origin().ascii_serialization()
}

/// Non-empty trimmed optional string.
pub(crate) fn non_empty(value: Option<&String>) -> Option<&str> {
    value.map(|s| s.trim()).filter(|s| !s.is_empty())
}

/// Decodes a compact JWT's header and payload WITHOUT verifying anything. Used only to pick
/// the key (`kid`), pin `alg` before verification and to read `tid` for issuer templating.
pub(crate) fn peek_jwt(token: &str) -> Result<(Value, Value), String> {
    let mut parts = token.split('.');
    let (Some(h), Some(p), Some(_), None) = (parts.next(), parts.next(), parts.next(), parts.next()) else {
        return Err("not a compact JWS (three dot-separated parts expected)".to_owned());
    };
    let decode = |part: &str| -> Result<Value, String> {
        let bytes = URL_SAFE_NO_PAD
            .decode(part.trim_end_matches('='))
            .map_err(|_| "a token part is not base64url".to_owned())?;
        serde_json::from_slice(&bytes).map_err(|_| "a token part is not JSON".to_owned())
    };
    Ok((decode(h)?, decode(p)?))
}

/// A short, single-line excerpt of an upstream body for errors and events.
pub(crate) fn excerpt(body: &str, max: usize) -> String {
    let flat: String = body
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let trimmed = flat.trim();
    if trimmed.chars().count() <= max {
        trimmed.to_owned()
    } else {
        let mut s: String = trimmed.chars().take(max).collect();
        s.push('…');
        s
    }
}

pub(crate) fn now_unix() -> i64 {
    chrono::Utc::now().timestamp()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_dedupe_exact_tokens_in_order() {
        let s = dedupe_scopes(["openid profile", "profile  email openid", "Profile"]);
        assert_eq!(s, ["openid", "profile", "email", "Profile"]);
    }

    #[test]
    fn guid_shape() {
        assert!(is_guid("aaaabbbb-0000-cccc-1111-dddd2222eeee"));
        assert!(!is_guid("contoso.onmicrosoft.com"));
        assert!(!is_guid("aaaabbbb-0000-cccc-1111-dddd2222eeeg"));
    }

    #[test]
    fn loopback_http_only() {
        assert!(url_allowed(&Url::parse("http://127.0.0.1:9100/x").unwrap()));
        assert!(url_allowed(&Url::parse("http://localhost/x").unwrap()));
        assert!(!url_allowed(
            &Url::parse("http://login.microsoftonline.com/x").unwrap()
        ));
        assert!(url_allowed(
            &Url::parse("https://login.microsoftonline.com/x").unwrap()
        ));
        assert!(!url_allowed(&Url::parse("ftp://127.0.0.1/x").unwrap()));
    }

    #[test]
    fn pkce_rfc7636_vector() {
        assert_eq!(
            pkce_s256("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
    }
}
