//! Form parameters of the token-side endpoints and client authentication: HTTP Basic
//! (`client_secret_basic`), form fields (`client_secret_post`), or a public client's bare
//! `client_id`.

use std::collections::HashMap;

use actix_web::HttpRequest;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use subtle::ConstantTimeEq;

use super::{Client, OAuthError};
use crate::crypto;
use crate::db::{DbConn, providers};

/// `application/x-www-form-urlencoded` parameters. RFC 6749 §3.2: a parameter sent twice is an
/// invalid request, and so is any other content type.
#[derive(Debug, Default)]
pub struct Params(HashMap<String, String>);

impl Params {
    pub fn parse(req: &HttpRequest, body: &[u8]) -> Result<Self, OAuthError> {
        let content_type = req
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        if !content_type
            .to_ascii_lowercase()
            .starts_with("application/x-www-form-urlencoded")
        {
            return Err(OAuthError::invalid_request(
                "the request body must be application/x-www-form-urlencoded",
            ));
        }
        Self::from_pairs(url::form_urlencoded::parse(body))
    }

    pub fn from_query(query: &str) -> Result<Self, OAuthError> {
        Self::from_pairs(url::form_urlencoded::parse(query.as_bytes()))
    }

    fn from_pairs<'a>(
        pairs: impl Iterator<Item = (std::borrow::Cow<'a, str>, std::borrow::Cow<'a, str>)>,
    ) -> Result<Self, OAuthError> {
        let mut map = HashMap::new();
        for (key, value) in pairs {
            if value.is_empty() {
                // RFC 6749 §3.1: parameters sent without a value are treated as omitted.
                continue;
            }
            if map.insert(key.to_string(), value.into_owned()).is_some() {
                return Err(OAuthError::invalid_request(format!(
                    "the parameter `{key}` was sent more than once"
                )));
            }
        }
        Ok(Self(map))
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }

    pub fn require(&self, name: &str) -> Result<&str, OAuthError> {
        self.get(name)
            .ok_or_else(|| OAuthError::invalid_request(format!("the parameter `{name}` is required")))
    }
}

/// Client credentials as presented.
#[derive(Debug)]
pub struct Presented {
    pub client_id: String,
    pub secret: Option<String>,
}

fn percent_decode(value: &str) -> String {
    url::form_urlencoded::parse(format!("v={value}").as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

/// Reads the client's credentials from `Authorization: Basic` or the form (not both).
pub fn presented(req: &HttpRequest, params: &Params) -> Result<Presented, OAuthError> {
    let basic = req
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic ").or_else(|| v.strip_prefix("basic ")));
    if let Some(encoded) = basic {
        if params.get("client_secret").is_some() {
            return Err(OAuthError::invalid_request(
                "use one client authentication method, not both Basic and client_secret",
            ));
        }
        let decoded = STANDARD
            .decode(encoded.trim())
            .ok()
            .and_then(|b| String::from_utf8(b).ok())
            .ok_or_else(|| OAuthError::invalid_client("malformed Basic credentials"))?;
        let (id, secret) = decoded
            .split_once(':')
            .ok_or_else(|| OAuthError::invalid_client("malformed Basic credentials"))?;
        // RFC 6749 §2.3.1: both parts are form-encoded before Base64.
        let id = percent_decode(id);
        if let Some(form_id) = params.get("client_id")
            && form_id != id
        {
            return Err(OAuthError::invalid_client(
                "client_id does not match the Basic credentials",
            ));
        }
        return Ok(Presented {
            client_id: id,
            secret: Some(percent_decode(secret)),
        });
    }
    Ok(Presented {
        client_id: params.require("client_id")?.to_owned(),
        secret: params.get("client_secret").map(str::to_owned),
    })
}

/// The provider and application behind a client id; an unknown client, or one that no
/// application uses, is `invalid_client`.
pub fn load_client(conn: &mut DbConn, client_id: &str) -> Result<Client, OAuthError> {
    match providers::client(conn, client_id)? {
        Some((provider, Some(application))) => Ok(Client {
            provider,
            application,
        }),
        Some((_, None)) => Err(OAuthError::invalid_client(
            "this client is not attached to an application",
        )),
        None => Err(OAuthError::invalid_client("unknown client")),
    }
}

/// Authenticates the client of a token-side request.
pub fn authenticate(client: &Client, presented: &Presented) -> Result<(), OAuthError> {
    match (&client.provider.client_secret_hash, &presented.secret) {
        (Some(stored), Some(secret)) => {
            let given = crypto::hash_key(secret);
            if bool::from(stored.as_bytes().ct_eq(given.as_bytes())) {
                Ok(())
            } else {
                Err(OAuthError::invalid_client("client authentication failed"))
            }
        }
        (Some(_), None) => Err(OAuthError::invalid_client(
            "this client is confidential: authenticate with its client secret",
        )),
        (None, None) => Ok(()),
        (None, Some(_)) => Err(OAuthError::invalid_client(
            "this is a public client; it has no secret",
        )),
    }
}
