//! Static assets (CSS, icons), embedded in the binary and served under `/static/`.

use actix_web::{HttpResponse, get, web};

macro_rules! assets {
    ($($name:literal => $mime:literal),+ $(,)?) => {
        &[$(($name, $mime, include_bytes!(concat!("../../../web/static/", $name)) as &[u8])),+]
    };
}

const ASSETS: &[(&str, &str, &[u8])] = assets!(
    "gatehouse.css" => "text/css; charset=utf-8",
    "logo.svg" => "image/svg+xml",
    "sources/entraid.svg" => "image/svg+xml",
    "sources/openidconnect.svg" => "image/svg+xml",
);

/// Whether an asset exists (e.g. a plugin's icon).
pub fn exists(path: &str) -> bool {
    ASSETS.iter().any(|(name, _, _)| *name == path)
}

#[get("/static/{path:.*}")]
pub async fn serve(path: web::Path<String>) -> HttpResponse {
    match ASSETS.iter().find(|(name, _, _)| *name == path.as_str()) {
        Some((_, mime, bytes)) => HttpResponse::Ok()
            .content_type(*mime)
            .insert_header(("Cache-Control", "public, max-age=3600"))
            .body(*bytes),
        None => HttpResponse::NotFound()
            .content_type("text/plain; charset=utf-8")
            .body("Not found"),
    }
}
