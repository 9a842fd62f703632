//! Building authorization redirects (shared by the plugins).

use crate::PluginError;
use crate::types::{AuthorizationRedirect, AuthorizationRequest};
use crate::util::{parse_url, pkce_s256, random_token};

/// Parameters no caller or pre-filled URL query may override.
const PROTECTED: &[&str] = &[
    "client_id",
    "redirect_uri",
    "response_type",
    "scope",
    "state",
    "nonce",
    "code_challenge",
    "code_challenge_method",
];

/// The redirect to `authorization_url` with fresh state, nonce and PKCE (S256). Query
/// parameters already in the configured URL are kept (admins use them for `prompt`,
/// `domain_hint`) unless they are protected.
pub(crate) fn build(
    authorization_url: &str,
    client_id: &str,
    scopes: &[String],
    req: &AuthorizationRequest,
    fixed: &[(&str, &str)],
) -> Result<AuthorizationRedirect, PluginError> {
    let mut url = parse_url("authorization URL", authorization_url)?;
    let state = random_token(32)?;
    let nonce = random_token(32)?;
    let pkce_verifier = random_token(32)?;
    let keep: Vec<(String, String)> = url
        .query_pairs()
        .filter(|(k, _)| !PROTECTED.contains(&k.as_ref()))
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let extra: Vec<&(String, String)> = req
        .extra_params
        .iter()
        .filter(|(k, _)| !PROTECTED.contains(&k.as_str()) && k != "login_hint")
        .collect();
    {
        let mut q = url.query_pairs_mut();
        q.clear();
        q.append_pair("client_id", client_id)
            .append_pair("response_type", "code")
            .append_pair("redirect_uri", &req.redirect_uri)
            .append_pair("scope", &scopes.join(" "))
            .append_pair("state", &state)
            .append_pair("nonce", &nonce)
            .append_pair("code_challenge", &pkce_s256(&pkce_verifier))
            .append_pair("code_challenge_method", "S256");
        for (k, v) in fixed {
            q.append_pair(k, v);
        }
        if let Some(hint) = req.login_hint.as_deref().filter(|h| !h.is_empty()) {
            q.append_pair("login_hint", hint);
        }
        for (k, v) in keep.iter().filter(|(k, _)| !extra.iter().any(|(e, _)| e == k)) {
            q.append_pair(k, v);
        }
        for (k, v) in extra {
            if !fixed.iter().any(|(f, _)| f == k) {
                q.append_pair(k, v);
            }
        }
    }
    Ok(AuthorizationRedirect {
        url: url.into(),
        state,
        nonce,
        pkce_verifier,
    })
}
