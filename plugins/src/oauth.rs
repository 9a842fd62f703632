//! Authorization-code exchange through the `openidconnect` crate, with Entra-shaped error
//! bodies and `private_key_jwt` client assertions.

use std::borrow::Cow;
use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use chrono::Utc;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use openidconnect::core::{
    CoreAuthDisplay, CoreAuthPrompt, CoreGenderClaim, CoreJsonWebKey, CoreJweContentEncryptionAlgorithm,
    CoreRevocableToken, CoreRevocationErrorResponse, CoreTokenIntrospectionResponse, CoreTokenResponse,
};
use openidconnect::{
    AuthType, AuthorizationCode, Client, ClientId, ClientSecret, EmptyAdditionalClaims, EndpointNotSet,
    EndpointSet, IssuerUrl, JsonWebKeySet, OAuth2TokenResponse, PkceCodeVerifier, RedirectUrl,
    RequestTokenError, TokenResponse, TokenUrl,
};
use serde::{Deserialize, Serialize};
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::PluginError;
use crate::types::{ClientCredential, UpstreamTokens};
use crate::util::{excerpt, now_unix};

pub(crate) const CLIENT_ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// A token endpoint error body; Entra adds `error_codes`, `trace_id`, `correlation_id`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct TokenErrorBody {
    pub error: String,
    #[serde(default)]
    pub error_description: Option<String>,
    #[serde(default)]
    pub error_uri: Option<String>,
    #[serde(default)]
    pub error_codes: Vec<i64>,
}

impl fmt::Display for TokenErrorBody {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.error)?;
        if let Some(d) = &self.error_description {
            write!(f, ": {d}")?;
        }
        Ok(())
    }
}

impl openidconnect::ErrorResponse for TokenErrorBody {}

type ExchangeClient = Client<
    EmptyAdditionalClaims,
    CoreAuthDisplay,
    CoreGenderClaim,
    CoreJweContentEncryptionAlgorithm,
    CoreJsonWebKey,
    CoreAuthPrompt,
    TokenErrorBody,
    CoreTokenResponse,
    CoreTokenIntrospectionResponse,
    CoreRevocableToken,
    CoreRevocationErrorResponse,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointSet,
    EndpointNotSet,
>;

/// One authorization-code redemption.
pub(crate) struct CodeExchange<'a> {
    pub token_url: &'a str,
    pub client_id: &'a str,
    pub credential: &'a ClientCredential,
    pub code: &'a str,
    pub redirect_uri: &'a str,
    pub pkce_verifier: &'a str,
}

/// Redeems the code (`client_secret_post` or `private_key_jwt`).
pub(crate) async fn exchange_code(
    http: &reqwest::Client,
    ex: &CodeExchange<'_>,
) -> Result<CoreTokenResponse, PluginError> {
    let config = |what: &str, e: &dyn fmt::Display| PluginError::Configuration(format!("{what}: {e}"));
    let token_url = TokenUrl::new(ex.token_url.to_owned()).map_err(|e| config("access token URL", &e))?;
    // The issuer and JWKS of this client are unused: id_tokens are verified separately with a
    // verifier built from our own cache.
    let issuer = IssuerUrl::new(ex.token_url.to_owned()).map_err(|e| config("access token URL", &e))?;
    let mut client: ExchangeClient = Client::new(
        ClientId::new(ex.client_id.to_owned()),
        issuer,
        JsonWebKeySet::new(Vec::new()),
    )
    .set_token_uri(token_url)
    .set_auth_type(AuthType::RequestBody);
    let mut assertion = None;
    match ex.credential {
        ClientCredential::Secret(secret) => {
            client = client.set_client_secret(ClientSecret::new(secret.clone()));
        }
        ClientCredential::PrivateKeyJwt {
            private_key_pem,
            certificate_pem,
        } => {
            assertion = Some(client_assertion(
                ex.client_id,
                ex.token_url,
                private_key_pem,
                certificate_pem,
            )?);
        }
    }
    let redirect = RedirectUrl::new(ex.redirect_uri.to_owned()).map_err(|e| config("redirect URI", &e))?;
    let mut request = client
        .exchange_code(AuthorizationCode::new(ex.code.to_owned()))
        .set_pkce_verifier(PkceCodeVerifier::new(ex.pkce_verifier.to_owned()))
        .set_redirect_uri(Cow::Owned(redirect));
    if let Some(assertion) = assertion {
        request = request
            .add_extra_param("client_assertion_type", CLIENT_ASSERTION_TYPE)
            .add_extra_param("client_assertion", assertion);
    }
    request.request_async(http).await.map_err(map_token_error)
}

fn map_token_error(
    e: RequestTokenError<openidconnect::HttpClientError<reqwest::Error>, TokenErrorBody>,
) -> PluginError {
    match e {
        RequestTokenError::ServerResponse(body) => {
            let mut codes = body.error_codes.clone();
            if codes.is_empty()
                && let Some(code) = body.error_description.as_deref().and_then(aadsts_code)
            {
                codes.push(code);
            }
            PluginError::Upstream {
                error: body.error,
                description: body.error_description,
                codes,
                status: None,
            }
        }
        RequestTokenError::Request(e) => {
            PluginError::Network(format!("token request failed: {}", describe_http(&e)))
        }
        RequestTokenError::Parse(e, body) => PluginError::Upstream {
            error: "invalid_response".to_owned(),
            description: Some(format!(
                "the token endpoint sent an unreadable answer ({}): {}",
                e.path(),
                excerpt(&String::from_utf8_lossy(&body), 200)
            )),
            codes: Vec::new(),
            status: None,
        },
        RequestTokenError::Other(s) => PluginError::Network(format!("token request failed: {s}")),
    }
}

/// `AADSTS7000215: …` → 7000215.
fn aadsts_code(description: &str) -> Option<i64> {
    let rest = description.strip_prefix("AADSTS")?;
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
}

fn describe_http(e: &openidconnect::HttpClientError<reqwest::Error>) -> String {
    match e {
        openidconnect::HttpClientError::Reqwest(inner) => describe_reqwest(inner),
        other => other.to_string(),
    }
}

/// A reqwest error with its cause chain (reqwest's own text omits the cause).
pub(crate) fn describe_reqwest(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        return "the request timed out".to_owned();
    }
    let mut text = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

/// The tokens of a successful exchange, with an absolute expiry.
pub(crate) fn upstream_tokens(resp: &CoreTokenResponse) -> UpstreamTokens {
    UpstreamTokens {
        access_token: resp.access_token().secret().clone(),
        refresh_token: resp.refresh_token().map(|t| t.secret().clone()),
        expires_at: resp
            .expires_in()
            .and_then(|d| chrono::Duration::from_std(d).ok())
            .map(|d| Utc::now() + d),
        id_token: resp.id_token().map(ToString::to_string),
    }
}

/// DER bytes of the first `label` block of a PEM text.
pub(crate) fn pem_der(pem: &str, label: &str) -> Result<Vec<u8>, PluginError> {
    let begin = format!("-----BEGIN {label}-----");
    let end = format!("-----END {label}-----");
    let start = pem
        .find(&begin)
        .ok_or_else(|| PluginError::Configuration(format!("no PEM `{label}` block found")))?;
    let body = &pem[start + begin.len()..];
    let stop = body
        .find(&end)
        .ok_or_else(|| PluginError::Configuration(format!("unterminated PEM `{label}` block")))?;
    let b64: String = body[..stop].chars().filter(|c| !c.is_whitespace()).collect();
    STANDARD
        .decode(b64)
        .map_err(|_| PluginError::Configuration(format!("the PEM `{label}` block is not base64")))
}

/// base64url(SHA-256(certificate DER)), the `x5t#S256` thumbprint.
pub(crate) fn x5t_s256(certificate_pem: &str) -> Result<String, PluginError> {
    Ok(URL_SAFE_NO_PAD.encode(Sha256::digest(pem_der(certificate_pem, "CERTIFICATE")?)))
}

/// The `private_key_jwt` client assertion (RFC 7523) Entra expects: RS256, header `x5t#S256`,
/// `aud` = token URL, `iss` = `sub` = client id, random `jti`, 5 minutes of validity.
pub(crate) fn client_assertion(
    client_id: &str,
    token_url: &str,
    private_key_pem: &str,
    certificate_pem: &str,
) -> Result<String, PluginError> {
    let key = EncodingKey::from_rsa_pem(private_key_pem.as_bytes()).map_err(|e| {
        PluginError::Configuration(format!("the private key is not a usable RSA PEM key: {e}"))
    })?;
    let mut header = Header::new(Algorithm::RS256);
    header.typ = Some("JWT".to_owned());
    header.x5t_s256 = Some(x5t_s256(certificate_pem)?);
    let now = now_unix();
    let claims = json!({
        "aud": token_url, "iss": client_id, "sub": client_id,
        "jti": uuid::Uuid::new_v4().to_string(),
        "nbf": now, "iat": now, "exp": now + 300,
    });
    jsonwebtoken::encode(&header, &claims, &key)
        .map_err(|e| PluginError::Configuration(format!("the client assertion could not be signed: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aadsts_prefix_is_parsed() {
        assert_eq!(aadsts_code("AADSTS7000215: Invalid client secret"), Some(7000215));
        assert_eq!(aadsts_code("something else"), None);
    }
}
