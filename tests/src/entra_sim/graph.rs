//! Microsoft Graph: `/v1.0/me`, `/v1.0/me/memberOf`, `/v1.0/me/transitiveMemberOf` and their
//! `/microsoft.graph.group` casts, with `$select`, `$top`, `$skiptoken` paging and faults.

use std::collections::HashMap;

use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::{Map, Value, json};

use super::Shared;
use super::protocol::{graph_error, graph_ok, now};
use super::state::{GraphGrant, GraphTarget, SimState};

const GROUP_READ_SCOPES: &[&str] = &["GroupMember.Read.All", "Group.Read.All", "Directory.Read.All"];

/// Authenticates the bearer token; `Err` is the Graph 401 response.
fn bearer(st: &SimState, req: &HttpRequest) -> Result<GraphGrant, HttpResponse> {
    let token = req
        .headers()
        .get("Authorization")
        .and_then(|h| h.to_str().ok())
        .and_then(|h| h.strip_prefix("Bearer "))
        .map(str::trim)
        .unwrap_or("");
    if token.is_empty() {
        return Err(graph_error(
            401,
            "InvalidAuthenticationToken",
            "Access token is empty.",
        ));
    }
    match st.graph_tokens.get(token) {
        Some(g) if g.expires_at > now() => Ok(g.clone()),
        Some(_) => Err(graph_error(
            401,
            "InvalidAuthenticationToken",
            "Access token has expired or is not yet valid.",
        )),
        None if token.split('.').count() == 3 => Err(graph_error(
            401,
            "InvalidAuthenticationToken",
            "Access token validation failure. Invalid audience.",
        )),
        None => Err(graph_error(
            401,
            "InvalidAuthenticationToken",
            "CompactToken parsing failed with error code: 80049217",
        )),
    }
}

/// Applies delay and injected failures; `Some` is the response to send instead.
async fn faults(sim: &Shared, target: GraphTarget) -> Option<HttpResponse> {
    let (delay, fault) = {
        let mut st = sim.lock();
        st.counters.graph += 1;
        match target {
            GraphTarget::Me => st.counters.graph_me += 1,
            _ => st.counters.graph_group_pages += 1,
        }
        let fault = st.take_graph_fault(target);
        if fault.as_ref().is_some_and(|f| f.status == 429) {
            st.counters.graph_throttled += 1;
        }
        (st.faults.graph_delay, fault)
    };
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    let f = fault?;
    let mut resp = match f.status {
        429 => graph_error(429, "TooManyRequests", "Please retry again later."),
        503 => graph_error(
            503,
            "serviceNotAvailable",
            "The service is temporarily unavailable.",
        ),
        401 => graph_error(
            401,
            "InvalidAuthenticationToken",
            "Access token has expired or is not yet valid.",
        ),
        403 => graph_error(
            403,
            "Authorization_RequestDenied",
            "Insufficient privileges to complete the operation.",
        ),
        s => graph_error(s, "generalException", "An internal server error occurred."),
    };
    if let Some(secs) = f.retry_after_secs
        && let Ok(v) = actix_web::http::header::HeaderValue::from_str(&secs.to_string())
    {
        resp.headers_mut().insert(actix_web::http::header::RETRY_AFTER, v);
    }
    Some(resp)
}

fn select(obj: Value, fields: Option<&str>, keep_type: bool) -> Value {
    let Some(fields) = fields.filter(|f| !f.is_empty()) else {
        return obj;
    };
    let wanted: Vec<&str> = fields.split(',').map(str::trim).collect();
    let Value::Object(map) = obj else { return obj };
    let out: Map<String, Value> = map
        .into_iter()
        .filter(|(k, _)| wanted.contains(&k.as_str()) || k == "id" || (keep_type && k == "@odata.type"))
        .collect();
    Value::Object(out)
}

pub async fn me(
    req: HttpRequest,
    q: web::Query<HashMap<String, String>>,
    sim: web::Data<Shared>,
) -> HttpResponse {
    if let Some(resp) = faults(&sim, GraphTarget::Me).await {
        return resp;
    }
    let st = sim.lock();
    let grant = match bearer(&st, &req) {
        Ok(g) => g,
        Err(resp) => return resp,
    };
    let Some(user_id) = grant.user_id else {
        return graph_error(
            400,
            "BadRequest",
            "/me request is only valid with delegated authentication flow.",
        );
    };
    let Some(user) = st
        .directory
        .tenant(&grant.tenant_id)
        .and_then(|t| t.users.get(&user_id))
    else {
        return graph_error(
            404,
            "Request_ResourceNotFound",
            &format!(
                "Resource '{user_id}' does not exist or one of its queried reference-property objects are not present."
            ),
        );
    };
    let sel = q.get("$select").map(String::as_str);
    let mut body = user.graph_json();
    let context = match sel {
        Some(s) => format!("{}/v1.0/$metadata#users({s})/$entity", st.base_url),
        None => {
            // Without $select Graph returns the 11 default properties only.
            const DEFAULTS: &str = "businessPhones,displayName,givenName,jobTitle,mail,mobilePhone,officeLocation,preferredLanguage,surname,userPrincipalName,id";
            body = select(body, Some(DEFAULTS), false);
            format!("{}/v1.0/$metadata#users/$entity", st.base_url)
        }
    };
    let mut out = Map::new();
    out.insert("@odata.context".to_owned(), json!(context));
    if let Value::Object(m) = select(body, sel, false) {
        out.extend(m);
    }
    graph_ok(Value::Object(out))
}

/// `/me/{memberOf|transitiveMemberOf}`.
pub async fn member_of(
    req: HttpRequest,
    path: web::Path<String>,
    q: web::Query<HashMap<String, String>>,
    sim: web::Data<Shared>,
) -> HttpResponse {
    member_of_impl(req, path.into_inner(), None, q, sim).await
}

/// `/me/{memberOf|transitiveMemberOf}/microsoft.graph.group`.
pub async fn member_of_cast(
    req: HttpRequest,
    path: web::Path<(String, String)>,
    q: web::Query<HashMap<String, String>>,
    sim: web::Data<Shared>,
) -> HttpResponse {
    let (relation, cast) = path.into_inner();
    member_of_impl(req, relation, Some(cast), q, sim).await
}

async fn member_of_impl(
    req: HttpRequest,
    relation: String,
    cast: Option<String>,
    q: web::Query<HashMap<String, String>>,
    sim: web::Data<Shared>,
) -> HttpResponse {
    let transitive = match relation.as_str() {
        "memberOf" => false,
        "transitiveMemberOf" => true,
        _ => {
            return graph_error(
                400,
                "BadRequest",
                &format!("Resource not found for the segment '{relation}'."),
            );
        }
    };
    let cast = match cast.as_deref() {
        None => false,
        Some("microsoft.graph.group") => true,
        Some(other) => {
            return graph_error(
                400,
                "BadRequest",
                &format!("Resource not found for the segment '{other}'."),
            );
        }
    };
    if let Some(resp) = faults(&sim, GraphTarget::Groups).await {
        return resp;
    }
    let st = sim.lock();
    let grant = match bearer(&st, &req) {
        Ok(g) => g,
        Err(resp) => return resp,
    };
    let Some(user_id) = grant.user_id else {
        return graph_error(
            400,
            "BadRequest",
            "/me request is only valid with delegated authentication flow.",
        );
    };
    if !grant
        .scopes
        .iter()
        .any(|s| GROUP_READ_SCOPES.iter().any(|g| s.ends_with(&format!("/{g}"))))
    {
        return graph_error(
            403,
            "Authorization_RequestDenied",
            "Insufficient privileges to complete the operation.",
        );
    }
    let Some(tenant) = st.directory.tenant(&grant.tenant_id) else {
        return graph_error(404, "Request_ResourceNotFound", "Tenant not found.");
    };
    let top = match q.get("$top").map(|t| t.parse::<usize>()) {
        None => 100,
        Some(Ok(t)) if (1..=999).contains(&t) => t,
        _ => {
            return graph_error(
                400,
                "Request_BadRequest",
                "Invalid page size specified: '$top'. Must be between 1 and 999 inclusive.",
            );
        }
    };
    let page_size = match st.faults.graph_page_size {
        0 => top,
        n => n.min(top),
    };
    let ids = if transitive {
        tenant.transitive_of(&user_id)
    } else {
        tenant.direct_of(&user_id)
    };
    let keep_all_types = !cast || st.faults.graph_cast_returns_all_types;
    // Only the objects of this page are rendered (large directories make many pages).
    let ids: Vec<&String> = ids
        .iter()
        .filter(|id| keep_all_types || tenant.groups.contains_key(*id))
        .filter(|id| tenant.groups.contains_key(*id) || tenant.others.contains_key(*id))
        .collect();
    let skip: usize = q
        .get("$skiptoken")
        .and_then(|s| s.strip_prefix("RFNwdAIAAQAAAC"))
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let sel = q.get("$select").map(String::as_str);
    let page: Vec<Value> = ids
        .iter()
        .skip(skip)
        .take(page_size)
        .filter_map(|id| tenant.object_json(id))
        .map(|mut v| {
            if cast
                && !st.faults.graph_cast_returns_all_types
                && let Some(o) = v.as_object_mut()
            {
                // Cast results carry no @odata.type (every item is a group).
                o.remove("@odata.type");
            }
            select(v, sel, true)
        })
        .collect();
    let suffix = if cast { "/microsoft.graph.group" } else { "" };
    let context = if cast { "groups" } else { "directoryObjects" };
    let mut body = json!({
        "@odata.context": format!("{}/v1.0/$metadata#{context}{}", st.base_url, sel.map(|s| format!("({s})")).unwrap_or_default()),
    });
    if skip + page_size < ids.len() {
        let enc = |v: &str| url::form_urlencoded::byte_serialize(v.as_bytes()).collect::<String>();
        let select_part = sel.map(|s| format!("$select={}&", enc(s))).unwrap_or_default();
        let next = format!(
            "{}/v1.0/me/{relation}{suffix}?{select_part}$top={top}&$skiptoken=RFNwdAIAAQAAAC{}",
            st.base_url,
            skip + page_size
        );
        body["@odata.nextLink"] = json!(next);
    }
    body["value"] = Value::Array(page);
    graph_ok(body)
}
