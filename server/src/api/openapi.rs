//! The OpenAPI document, generated from the handlers' annotations and served at `/api/v3/schema/`.

use actix_web::{HttpResponse, web};
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::state::AppState;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Gatehouse",
        description = "Admin REST API of the Gatehouse identity server. Authenticate with \
                       `Authorization: Bearer <API token>`.",
    ),
    modifiers(&BearerAuth),
    tags(
        (name = "core", description = "Users, groups, API tokens and applications"),
        (name = "events", description = "The audit log"),
        (name = "flows", description = "Flows, their stage bindings, and the flow executor"),
        (name = "stages", description = "Stages, by kind"),
        (name = "propertymappings", description = "Rhai property mappings and their dry run"),
        (name = "sources", description = "Federated sources (Entra ID, OIDC) and their user and group connections"),
        (name = "providers", description = "OAuth2/OIDC providers (clients of Gatehouse's own provider)"),
        (name = "crypto", description = "Token signing keys and their rotation"),
        (name = "health", description = "Liveness, readiness and metrics"),
    )
)]
pub struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme("bearer", SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)));
    }
}

/// `GET /api/v3/schema/`.
pub async fn schema(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .body(state.openapi.clone())
}
