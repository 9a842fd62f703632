//! Server-rendered pages: templates (tera, embedded in the binary, optionally overridden from a
//! folder), static assets, cookies, and the page handlers.

pub mod assets;
pub mod cookies;
pub mod pages;
pub mod templates;

pub use templates::Templates;

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, HttpResponseBuilder};

use crate::state::AppState;

/// Renders `template` with `context`; a template error is logged and answered with a bare 500
/// (it is a bug: every template is rendered in the tests).
pub fn render(state: &AppState, status: StatusCode, template: &str, context: &tera::Context) -> HttpResponse {
    match state.templates.render(template, context) {
        Ok(html) => HttpResponseBuilder::new(status)
            .content_type("text/html; charset=utf-8")
            .insert_header(("Cache-Control", "no-store"))
            .body(html),
        Err(e) => {
            tracing::error!(template, error = %templates::describe(&e), "template failed to render");
            HttpResponse::InternalServerError()
                .content_type("text/plain; charset=utf-8")
                .body("The page could not be rendered; see the server log.")
        }
    }
}

/// A simple page with a title and a message (errors, denials, notices).
pub fn message(
    state: &AppState,
    status: StatusCode,
    title: &str,
    message: &str,
    restart: Option<&str>,
) -> HttpResponse {
    let mut context = tera::Context::new();
    context.insert("title", title);
    context.insert("message", message);
    context.insert("restart", &restart);
    context.insert("kind", if status.is_success() { "info" } else { "error" });
    render(state, status, "pages/message.html", &context)
}
