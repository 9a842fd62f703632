//! `ApiJson<T>`: a JSON body extractor whose failures are 4xx answers that name the field:
//! unsupported content type (415), too large (413), malformed JSON, unknown or missing fields and
//! wrong types (400 with `{"<field path>": ["message"]}`).

use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest, web};
use futures_util::StreamExt;
use serde::de::DeserializeOwned;

use crate::error::ApiError;

/// The body size limit, installed as app data by the server (`max_body_bytes`).
#[derive(Debug, Clone, Copy)]
pub struct BodyLimit(pub usize);

#[derive(Debug)]
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned + 'static> FromRequest for ApiJson<T> {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let limit = req.app_data::<BodyLimit>().map_or(1024 * 1024, |l| l.0);
        let content_type_ok = is_json(req);
        let declared = req
            .headers()
            .get(actix_web::http::header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<usize>().ok());
        let mut payload = payload.take();
        Box::pin(async move {
            if declared.is_some_and(|len| len > limit) {
                return Err(ApiError::PayloadTooLarge { limit });
            }
            let mut body = web::BytesMut::new();
            while let Some(chunk) = payload.next().await {
                let chunk = chunk
                    .map_err(|e| ApiError::BadRequest(format!("Could not read the request body: {e}")))?;
                if body.len() + chunk.len() > limit {
                    return Err(ApiError::PayloadTooLarge { limit });
                }
                body.extend_from_slice(&chunk);
            }
            if !content_type_ok {
                return Err(ApiError::UnsupportedMediaType(
                    "Send the request body as JSON with `Content-Type: application/json`.".into(),
                ));
            }
            parse(&body).map(ApiJson)
        })
    }
}

fn is_json(req: &HttpRequest) -> bool {
    req.headers()
        .get(actix_web::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.split(';').next().unwrap_or("").trim().to_ascii_lowercase())
        .is_some_and(|mime| mime == "application/json" || mime.ends_with("+json"))
}

/// Deserialises `body`, turning serde's error into a field-named 400.
pub fn parse<T: DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::field(
            "non_field_errors",
            "The request body is empty; send a JSON object.",
        ));
    }
    // Every body is an object; serde would otherwise accept `[…]` for a struct, by position.
    if body.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
        return match serde_json::from_slice::<serde::de::IgnoredAny>(body) {
            Ok(_) => Err(ApiError::field("non_field_errors", "Expected a JSON object.")),
            Err(e) => Err(ApiError::field(
                "non_field_errors",
                format!("Malformed JSON: {e}"),
            )),
        };
    }
    let mut deserializer = serde_json::Deserializer::from_slice(body);
    let result: Result<T, _> = serde_path_to_error::deserialize(&mut deserializer);
    let value = match result {
        Ok(value) => value,
        Err(error) => return Err(describe(error)),
    };
    deserializer
        .end()
        .map_err(|e| ApiError::field("non_field_errors", format!("Malformed JSON: {e}")))?;
    Ok(value)
}

/// Deserialises an already-parsed body, with the same field-named 400s as [`parse`]. For handlers
/// that take `ApiJson<Value>` so that the permission check runs before the body is validated: a
/// caller without permission learns nothing about the fields.
pub fn from_value<T: DeserializeOwned>(value: serde_json::Value) -> Result<T, ApiError> {
    serde_path_to_error::deserialize(value).map_err(describe)
}

fn describe(error: serde_path_to_error::Error<serde_json::Error>) -> ApiError {
    let path = error.path().to_string();
    let inner = error.into_inner();
    if inner.is_syntax() || inner.is_eof() {
        return ApiError::field("non_field_errors", format!("Malformed JSON: {inner}"));
    }
    // serde's message ends with the position, which says nothing to an API caller.
    let message = inner.to_string();
    let message = message
        .rsplit_once(" at line ")
        .map_or(message.as_str(), |(m, _)| m)
        .to_owned();
    let parent = if path == "." { String::new() } else { path };
    let join = |field: &str| {
        if parent.is_empty() {
            field.to_owned()
        } else {
            format!("{parent}.{field}")
        }
    };
    if let Some(field) = between(&message, "unknown field `", "`") {
        // The path already ends at the unknown key.
        let name = if parent == field || parent.ends_with(&format!(".{field}")) {
            parent.clone()
        } else {
            join(field)
        };
        return ApiError::field(&name, "Unknown field.");
    }
    if let Some(field) = between(&message, "missing field `", "`") {
        return ApiError::field(&join(field), "This field is required.");
    }
    if parent.is_empty() {
        return ApiError::field("non_field_errors", capitalise(&message));
    }
    ApiError::field(&parent, capitalise(&message))
}

fn between<'a>(text: &'a str, start: &str, end: &str) -> Option<&'a str> {
    let rest = &text[text.find(start)? + start.len()..];
    Some(&rest[..rest.find(end)?])
}

fn capitalise(message: &str) -> String {
    let mut chars = message.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect::<String>() + ".",
        None => String::new(),
    }
}

/// `Option<Option<T>>` for PATCH fields where `null` (clear) differs from absent (keep).
pub fn double_option<'de, T, D>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    T: serde::Deserialize<'de>,
    D: serde::Deserializer<'de>,
{
    serde::Deserialize::deserialize(deserializer).map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Body {
        username: String,
        is_active: Option<bool>,
        nested: Option<Nested>,
    }

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Nested {
        depth: u8,
    }

    fn fields(result: Result<Body, ApiError>) -> FieldErrorsView {
        match result {
            Err(ApiError::Validation(errors)) => FieldErrorsView(errors),
            other => panic!("expected a validation error, got {other:?}"),
        }
    }

    struct FieldErrorsView(crate::error::FieldErrors);

    #[test]
    fn errors_name_the_field() {
        let e = fields(parse(br#"{"is_active": true}"#));
        assert_eq!(e.0["username"], vec!["This field is required."]);
        let e = fields(parse(br#"{"username": "a", "bogus": 1}"#));
        assert_eq!(
            e.0.get("bogus"),
            Some(&vec!["Unknown field.".to_owned()]),
            "{:?}",
            e.0
        );
        let e = fields(parse(br#"{"username": "a", "is_active": "yes"}"#));
        assert!(e.0["is_active"][0].starts_with("Invalid type"), "{:?}", e.0);
        let e = fields(parse(br#"{"username": "a", "nested": {"depth": 300}}"#));
        assert!(e.0.contains_key("nested.depth"), "{:?}", e.0);
        let e = fields(parse(br#"{"username": "a""#));
        assert!(e.0["non_field_errors"][0].starts_with("Malformed JSON"));
        let e = fields(parse(b"[1,2]"));
        assert!(e.0.contains_key("non_field_errors"));
        let e = fields(parse(br#"{"username": "a"} trailing"#));
        assert!(e.0["non_field_errors"][0].starts_with("Malformed JSON"));
    }
}
