//! `/oidc/userinfo` (Entra's OIDC userinfo, served by Graph): pairwise `sub` and basic claims.

use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::json;

use super::Shared;
use super::mint::pairwise_sub;
use super::protocol::{graph_error, now};

pub async fn userinfo(req: HttpRequest, sim: web::Data<Shared>) -> HttpResponse {
    let st = sim.lock();
    let token = req
        .headers()
        .get("Authorization")
        .and_then(|h| h.to_str().ok())
        .and_then(|h| h.strip_prefix("Bearer "))
        .unwrap_or("");
    let Some(grant) = st.graph_tokens.get(token).filter(|g| g.expires_at > now()) else {
        return graph_error(
            401,
            "InvalidAuthenticationToken",
            "Access token validation failure.",
        );
    };
    let Some(user) = grant
        .user_id
        .as_ref()
        .and_then(|u| st.directory.tenant(&grant.tenant_id).and_then(|t| t.users.get(u)))
    else {
        return graph_error(400, "BadRequest", "userinfo requires a delegated token.");
    };
    HttpResponse::Ok().json(json!({
        "sub": pairwise_sub(&user.id, &grant.client_id, &grant.tenant_id),
        "name": user.display_name,
        "family_name": user.surname,
        "given_name": user.given_name,
        "email": user.mail.clone().or_else(|| user.other_mails.first().cloned()),
        "picture": "https://graph.microsoft.com/v1.0/me/photo/$value",
    }))
}
