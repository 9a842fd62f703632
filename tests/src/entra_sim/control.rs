//! `/_sim/*` control endpoints for demos and out-of-process tests.

use actix_web::{HttpResponse, web};
use serde::Deserialize;
use serde_json::{Value, json};

use super::Shared;
use super::directory::User;
use super::state::{Counters, Faults};

#[derive(Deserialize)]
pub struct DefaultUser {
    pub tenant: String,
    /// Object id or UPN.
    pub user: String,
}

/// `POST /_sim/default-user {"tenant": "...", "user": "..."}`.
pub async fn default_user(body: web::Json<DefaultUser>, sim: web::Data<Shared>) -> HttpResponse {
    let mut st = sim.lock();
    let Some(tenant) = st.directory.tenant_mut(&body.tenant) else {
        return HttpResponse::NotFound().json(json!({"error": "unknown tenant"}));
    };
    let id = match tenant.find_user(&body.user) {
        Some(u) => u.id.clone(),
        None => match tenant.ensure_synthetic(&body.user) {
            Some(id) => id,
            None => return HttpResponse::NotFound().json(json!({"error": "unknown user"})),
        },
    };
    tenant.default_user = Some(id.clone());
    let tid = tenant.id.clone();
    st.default_tenant = Some(tid);
    HttpResponse::Ok().json(json!({"default_user": id}))
}

/// `POST /_sim/users/{tenant}` with a user object: adds or replaces the user.
pub async fn put_user(
    path: web::Path<String>,
    body: web::Json<User>,
    sim: web::Data<Shared>,
) -> HttpResponse {
    let mut st = sim.lock();
    match st.directory.tenant_mut(&path) {
        Some(t) => {
            t.add_user(body.into_inner());
            HttpResponse::NoContent().finish()
        }
        None => HttpResponse::NotFound().json(json!({"error": "unknown tenant"})),
    }
}

/// `POST /_sim/faults`: merges the posted fields into the current faults.
pub async fn set_faults(body: web::Json<Value>, sim: web::Data<Shared>) -> HttpResponse {
    let mut st = sim.lock();
    let mut current = serde_json::to_value(&st.faults).unwrap_or_else(|_| json!({}));
    if let (Some(cur), Some(new)) = (current.as_object_mut(), body.as_object()) {
        for (k, v) in new {
            cur.insert(k.clone(), v.clone());
        }
    }
    match serde_json::from_value::<Faults>(current) {
        Ok(f) => {
            st.faults = f;
            HttpResponse::Ok().json(&st.faults)
        }
        Err(e) => HttpResponse::BadRequest().json(json!({"error": e.to_string()})),
    }
}

/// `DELETE /_sim/faults`.
pub async fn clear_faults(sim: web::Data<Shared>) -> HttpResponse {
    sim.lock().faults = Faults::default();
    HttpResponse::NoContent().finish()
}

/// `GET /_sim/counters`.
pub async fn counters(sim: web::Data<Shared>) -> HttpResponse {
    let c: Counters = sim.lock().counters.clone();
    HttpResponse::Ok().json(c)
}

/// `POST /_sim/keys/{rotate|unpublished|publish-all}`.
pub async fn keys(path: web::Path<String>, sim: web::Data<Shared>) -> HttpResponse {
    let mut st = sim.lock();
    match path.as_str() {
        "rotate" => st.keys.rotate(),
        "unpublished" => st.keys.sign_with_unpublished(),
        "publish-all" => st.keys.publish_all(),
        _ => return HttpResponse::NotFound().finish(),
    }
    HttpResponse::Ok().json(json!({"active_kid": st.keys.active_key().kid}))
}

/// `GET /_sim/directory`: the whole directory as JSON.
pub async fn directory(sim: web::Data<Shared>) -> HttpResponse {
    HttpResponse::Ok().json(&sim.lock().directory)
}
