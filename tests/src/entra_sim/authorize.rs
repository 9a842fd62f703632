//! `/{tenant}/oauth2/v2.0/authorize`: validates the request like Entra and signs a test user
//! in without UI (by `login_hint`, else the tenant's default user).

use std::collections::HashMap;

use actix_web::{HttpResponse, web};

use super::Shared;
use super::protocol::{error_page, error_redirect, guid, html_escape, now, opaque, redirect};
use super::state::CodeGrant;

pub async fn authorize(
    path: web::Path<String>,
    query: web::Query<HashMap<String, String>>,
    form: Option<web::Form<HashMap<String, String>>>,
    sim: web::Data<Shared>,
) -> HttpResponse {
    let mut params = query.into_inner();
    if let Some(f) = form {
        params.extend(f.into_inner());
    }
    let segment = path.into_inner();
    let mut st = sim.lock();
    st.counters.authorize += 1;
    let p = |k: &str| params.get(k).map(String::as_str).filter(|v| !v.is_empty());

    let multi = matches!(segment.to_ascii_lowercase().as_str(), "common" | "organizations");
    let tenant_id = if multi {
        None
    } else {
        match st.directory.tenant(&segment) {
            Some(t) => Some(t.id.clone()),
            None => {
                return error_page(
                    90002,
                    &format!(
                        "Tenant '{segment}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud."
                    ),
                );
            }
        }
    };
    let Some(client_id) = p("client_id") else {
        return error_page(
            900144,
            "The request body must contain the following parameter: 'client_id'.",
        );
    };
    let Some(app) = st.directory.app(client_id).cloned() else {
        return error_page(
            700016,
            &format!(
                "Application with identifier '{client_id}' was not found in the directory '{segment}'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant."
            ),
        );
    };
    if multi && !app.multi_tenant {
        return error_page(
            50194,
            &format!(
                "Application '{client_id}'({}) is not configured as a multi-tenant application. Usage of the /common endpoint is not supported for such applications created after '10/15/2018'. Use a tenant-specific endpoint or configure the application to be multi-tenant.",
                app.display_name
            ),
        );
    }
    if let Some(t) = &tenant_id
        && !app.multi_tenant
        && *t != app.home_tenant
    {
        return error_page(
            700016,
            &format!(
                "Application with identifier '{client_id}' was not found in the directory '{segment}'. You may have sent your authentication request to the wrong tenant."
            ),
        );
    }
    let Some(redirect_uri) = p("redirect_uri") else {
        return error_page(900971, "No reply address provided.");
    };
    if !app.redirect_uris.iter().any(|r| r == redirect_uri) {
        return error_page(
            50011,
            &format!(
                "The redirect URI '{redirect_uri}' specified in the request does not match the redirect URIs configured for the application '{client_id}'. Make sure the redirect URI sent in the request matches one added to your application in the Azure portal."
            ),
        );
    }
    let state = p("state");
    let fail = |error: &str, code: u64, message: &str| {
        redirect(&error_redirect(
            redirect_uri,
            error,
            Some(code),
            Some(message),
            state,
        ))
    };
    match p("response_type") {
        None => {
            return fail(
                "invalid_request",
                900144,
                "The request body must contain the following parameter: 'response_type'.",
            );
        }
        Some("code") => {}
        Some(other) => {
            return fail(
                "unsupported_response_type",
                700054,
                &format!("response_type '{other}' is not enabled for the application."),
            );
        }
    }
    let Some(scope) = p("scope") else {
        return fail(
            "invalid_request",
            900144,
            "The request body must contain the following parameter: 'scope'.",
        );
    };
    let response_mode = p("response_mode").unwrap_or("query");
    if !matches!(response_mode, "query" | "form_post") {
        return fail(
            "invalid_request",
            70007,
            &format!(
                "The response_mode '{response_mode}' is not supported by this simulator for response_type 'code'."
            ),
        );
    }
    let code_challenge = match (p("code_challenge"), p("code_challenge_method")) {
        (None, Some(_)) => {
            return fail(
                "invalid_request",
                501491,
                "Invalid size of Code_Challenge parameter.",
            );
        }
        (None, None) => None,
        (Some(c), m) => {
            // Missing method means plain (§1.1).
            let method = m.unwrap_or("plain");
            if !matches!(method, "S256" | "plain") {
                return fail(
                    "invalid_request",
                    501481,
                    "The code_challenge_method is not supported.",
                );
            }
            if c.len() < 43 || c.len() > 128 {
                return fail(
                    "invalid_request",
                    50147,
                    "Invalid size of Code_Challenge parameter.",
                );
            }
            Some((c.to_owned(), method.to_owned()))
        }
    };
    if let Some(e) = st.faults.next_authorize_error.take() {
        let location = error_redirect(redirect_uri, &e.error, e.code, e.message.as_deref(), state);
        return redirect(&location);
    }

    // Sign-in without UI.
    let hint = p("login_hint");
    let user = match hint {
        Some(h) => {
            let tenant = match &tenant_id {
                Some(t) => Some(t.clone()),
                None => st.directory.tenant_for_login(h).map(|t| t.id.clone()),
            };
            tenant.and_then(|t| {
                let tenant = st.directory.tenant_mut(&t)?;
                let id = match tenant.find_user(h) {
                    Some(u) => Some(u.id.clone()),
                    None => tenant.ensure_synthetic(h),
                }?;
                Some((t, id))
            })
        }
        None => {
            let t = tenant_id.clone().or_else(|| st.default_tenant.clone());
            t.and_then(|t| {
                st.directory
                    .tenant(&t)
                    .and_then(|x| x.default_user.clone().map(|u| (x.id.clone(), u)))
            })
        }
    };
    let Some((user_tenant, user_id)) = user else {
        if p("prompt") == Some("none") {
            return fail(
                "login_required",
                50058,
                "A silent sign-in request was sent but no user is signed in.",
            );
        }
        let who = hint.unwrap_or("(no login_hint and no default user)");
        return error_page(
            50034,
            &format!(
                "The user account {who} does not exist in the {segment} directory. To sign into this application, the account must be added to the directory."
            ),
        );
    };
    if segment.eq_ignore_ascii_case("organizations") && user_tenant == super::MSA_TENANT {
        return fail(
            "invalid_request",
            50020,
            "User account from identity provider 'live.com' does not exist in tenant.",
        );
    }
    let code = opaque("1.AXkA");
    let expires_at = if st.faults.expire_codes {
        now() - 60
    } else {
        now() + 600
    };
    st.codes.insert(
        code.clone(),
        CodeGrant {
            client_id: app.client_id.clone(),
            redirect_uri: redirect_uri.to_owned(),
            tenant_id: user_tenant,
            user_id,
            scopes: scope.split_whitespace().map(str::to_owned).collect(),
            nonce: p("nonce").map(str::to_owned),
            code_challenge,
            expires_at,
        },
    );
    let session_state = guid();
    if response_mode == "form_post" {
        let mut fields = format!(
            "<input type=\"hidden\" name=\"code\" value=\"{}\"/><input type=\"hidden\" name=\"session_state\" value=\"{session_state}\"/>",
            html_escape(&code)
        );
        if let Some(s) = state {
            fields.push_str(&format!(
                "<input type=\"hidden\" name=\"state\" value=\"{}\"/>",
                html_escape(s)
            ));
        }
        return HttpResponse::Ok().content_type("text/html; charset=utf-8").body(format!(
            "<html><head><title>Working...</title></head><body><form method=\"POST\" name=\"hiddenform\" action=\"{}\">{fields}<noscript><p>Script is disabled. Click Submit to continue.</p><input type=\"submit\" value=\"Submit\"/></noscript></form><script>document.forms[0].submit();</script></body></html>",
            html_escape(redirect_uri)
        ));
    }
    let mut location = url::Url::parse(redirect_uri).map(|mut u| {
        u.query_pairs_mut().append_pair("code", &code);
        if let Some(s) = state {
            u.query_pairs_mut().append_pair("state", s);
        }
        u.query_pairs_mut().append_pair("session_state", &session_state);
        String::from(u)
    });
    match location.as_mut() {
        Ok(l) => redirect(l),
        Err(_) => error_page(50011, "The redirect URI is not a valid URL."),
    }
}
