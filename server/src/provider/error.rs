//! RFC 6749 §5.2 error responses: `{"error", "error_description"}` with `Cache-Control:
//! no-store`, 400 by default, 401 (with `WWW-Authenticate`) for failed client authentication.

use actix_web::HttpResponse;
use actix_web::http::StatusCode;
use serde_json::json;

use crate::db::StoreError;

#[derive(Debug, Clone)]
pub struct OAuthError {
    pub status: StatusCode,
    pub error: &'static str,
    pub description: String,
}

impl OAuthError {
    pub fn new(error: &'static str, description: impl Into<String>) -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            error,
            description: description.into(),
        }
    }

    pub fn invalid_request(description: impl Into<String>) -> Self {
        Self::new("invalid_request", description)
    }

    pub fn invalid_grant(description: impl Into<String>) -> Self {
        Self::new("invalid_grant", description)
    }

    pub fn invalid_client(description: impl Into<String>) -> Self {
        Self {
            status: StatusCode::UNAUTHORIZED,
            ..Self::new("invalid_client", description)
        }
    }

    pub fn invalid_token(description: impl Into<String>) -> Self {
        Self {
            status: StatusCode::UNAUTHORIZED,
            ..Self::new("invalid_token", description)
        }
    }

    pub fn response(&self) -> HttpResponse {
        let mut builder = HttpResponse::build(self.status);
        builder
            .insert_header(("Cache-Control", "no-store"))
            .insert_header(("Pragma", "no-cache"));
        if self.status == StatusCode::UNAUTHORIZED {
            let scheme = if self.error == "invalid_token" {
                format!(
                    "Bearer error=\"invalid_token\", error_description=\"{}\"",
                    self.description.replace('"', "'")
                )
            } else {
                "Basic realm=\"gatehouse\"".to_owned()
            };
            builder.insert_header(("WWW-Authenticate", scheme));
        }
        builder.json(json!({"error": self.error, "error_description": self.description}))
    }
}

impl From<StoreError> for OAuthError {
    fn from(e: StoreError) -> Self {
        if e.is_unavailable() {
            tracing::warn!(error = %e, "OAuth endpoint: database unavailable");
            Self {
                status: StatusCode::SERVICE_UNAVAILABLE,
                ..Self::new(
                    "temporarily_unavailable",
                    "The server is temporarily unavailable; try again.",
                )
            }
        } else {
            tracing::error!(error = %e, "OAuth endpoint failed");
            Self {
                status: StatusCode::INTERNAL_SERVER_ERROR,
                ..Self::new("server_error", "The server failed to handle the request.")
            }
        }
    }
}

impl From<super::keys::KeyError> for OAuthError {
    fn from(e: super::keys::KeyError) -> Self {
        StoreError::from(e).into()
    }
}

impl actix_web::ResponseError for OAuthError {
    fn status_code(&self) -> StatusCode {
        self.status
    }

    fn error_response(&self) -> HttpResponse {
        self.response()
    }
}

impl std::fmt::Display for OAuthError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.error, self.description)
    }
}
