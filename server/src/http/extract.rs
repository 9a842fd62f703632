//! Error handlers for actix's own extractors, so a malformed path id or query string gets the same
//! JSON error shape as everything else instead of actix's plain-text default.

use actix_web::{HttpRequest, web};

use crate::error::ApiError;

pub fn path_config() -> web::PathConfig {
    web::PathConfig::default().error_handler(|_err, req: &HttpRequest| {
        ApiError::NotFound(format!("No object matches `{}`.", req.path())).into()
    })
}

pub fn query_config() -> web::QueryConfig {
    web::QueryConfig::default().error_handler(|err, _req| {
        let message = err.to_string();
        let field = message
            .split("unknown field `")
            .nth(1)
            .or_else(|| message.split("field `").nth(1))
            .and_then(|rest| rest.split('`').next())
            .unwrap_or("query");
        ApiError::field(field, format!("Invalid query parameter: {message}")).into()
    })
}

/// Unmatched routes under the API answer a JSON 404.
pub async fn api_not_found(req: HttpRequest) -> Result<actix_web::HttpResponse, ApiError> {
    Err(ApiError::NotFound(format!(
        "No API endpoint at `{} {}`.",
        req.method(),
        req.path()
    )))
}
