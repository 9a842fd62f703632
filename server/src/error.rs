//! Errors at the HTTP edge of the admin API: every failure becomes a status code with a JSON body
//! that names the problem. Unexpected errors are logged in full and answered with a generic 500.

use std::collections::BTreeMap;

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use serde_json::json;

use crate::db::StoreError;

/// Field name → messages, as in `{"username": ["This field is required."]}`.
pub type FieldErrors = BTreeMap<String, Vec<String>>;

/// Adds `message` to the errors of `field` (a field may collect several).
pub fn add_field_error(errors: &mut FieldErrors, field: &str, message: impl Into<String>) {
    errors.entry(field.to_owned()).or_default().push(message.into());
}

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("validation failed")]
    Validation(FieldErrors),
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    Unauthenticated(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    NotFound(String),
    #[error("method not allowed")]
    MethodNotAllowed(String),
    #[error("{field}: {message}")]
    Conflict { field: String, message: String },
    #[error("request body is larger than {limit} bytes")]
    PayloadTooLarge { limit: usize },
    #[error("{0}")]
    UnsupportedMediaType(String),
    #[error("{0}")]
    Unavailable(String),
    #[error("internal error: {0}")]
    Internal(String),
}

impl ApiError {
    /// A 400 for one field.
    pub fn field(field: &str, message: impl Into<String>) -> Self {
        let mut errors = FieldErrors::new();
        errors.insert(field.to_owned(), vec![message.into()]);
        Self::Validation(errors)
    }

    pub fn not_found(what: &str) -> Self {
        Self::NotFound(format!("{what} not found."))
    }

    fn code(&self) -> &'static str {
        match self {
            Self::Validation(_) => "invalid",
            Self::BadRequest(_) => "bad_request",
            Self::Unauthenticated(_) => "not_authenticated",
            Self::Forbidden(_) => "permission_denied",
            Self::NotFound(_) => "not_found",
            Self::MethodNotAllowed(_) => "method_not_allowed",
            Self::Conflict { .. } => "unique",
            Self::PayloadTooLarge { .. } => "payload_too_large",
            Self::UnsupportedMediaType(_) => "unsupported_media_type",
            Self::Unavailable(_) => "service_unavailable",
            Self::Internal(_) => "error",
        }
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::Validation(_) | Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::Unauthenticated(_) => StatusCode::UNAUTHORIZED,
            Self::Forbidden(_) => StatusCode::FORBIDDEN,
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed(_) => StatusCode::METHOD_NOT_ALLOWED,
            Self::Conflict { .. } => StatusCode::CONFLICT,
            Self::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            Self::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let body = match self {
            Self::Validation(errors) => json!(errors),
            Self::Conflict { field, message } => json!({
                "detail": message,
                "code": self.code(),
                field.as_str(): [message],
            }),
            Self::Internal(detail) => {
                tracing::error!(error = %detail, "internal error");
                json!({"detail": "An internal error occurred; see the server log.", "code": self.code()})
            }
            Self::Unavailable(detail) => {
                tracing::warn!(error = %detail, "service unavailable");
                json!({"detail": "The database is unavailable; try again shortly.", "code": self.code()})
            }
            Self::PayloadTooLarge { limit } => json!({
                "detail": format!("The request body is larger than the limit of {limit} bytes."),
                "code": self.code(),
            }),
            other => json!({"detail": other.to_string(), "code": other.code()}),
        };
        let mut response = HttpResponse::build(self.status_code());
        if matches!(self, Self::Unauthenticated(_)) {
            response.insert_header(("WWW-Authenticate", "Bearer realm=\"gatehouse\""));
        }
        if matches!(self, Self::Unavailable(_)) {
            response.insert_header(("Retry-After", "5"));
        }
        response.json(body)
    }
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::NotFound => Self::NotFound("Not found.".into()),
            StoreError::Unique { field, .. } => Self::Conflict {
                field: field.to_owned(),
                message: format!("An object with this {field} already exists."),
            },
            StoreError::ForeignKey(detail) => Self::BadRequest(format!(
                "A referenced object does not exist or is still in use ({detail})."
            )),
            StoreError::Unavailable(detail) => Self::Unavailable(detail),
            StoreError::Corrupt(detail) | StoreError::Internal(detail) => Self::Internal(detail),
        }
    }
}

impl From<diesel::result::Error> for ApiError {
    fn from(error: diesel::result::Error) -> Self {
        StoreError::from(error).into()
    }
}

impl From<crate::crypto::CryptoError> for ApiError {
    fn from(error: crate::crypto::CryptoError) -> Self {
        Self::Internal(error.to_string())
    }
}
