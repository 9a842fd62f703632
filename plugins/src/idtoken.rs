//! id_token validation: `openidconnect`'s verifier (signature against the cached JWKS with
//! pinned algorithms, `aud`, exact `iss`, `exp`, `nonce`) plus the rules it cannot express
//! (`nbf` and leeway), checked here on the verified claims.

use chrono::Utc;
use openidconnect::core::{CoreIdToken, CoreJsonWebKeySet, CoreJwsSigningAlgorithm};
use openidconnect::{ClientId, IdTokenVerifier, IssuerUrl, Nonce};
use serde_json::Value;

use crate::PluginError;
use crate::cache::jwks_kids;
use crate::util::{now_unix, peek_jwt};

/// Clock skew tolerated on `exp` and `nbf`.
pub(crate) const LEEWAY_SECS: i64 = 120;

pub(crate) struct IdTokenRules<'a> {
    pub client_id: &'a str,
    /// The exact issuer (placeholders already filled).
    pub issuer: &'a str,
    pub nonce: &'a str,
    pub algorithms: &'a [CoreJwsSigningAlgorithm],
}

/// The header fields needed before verification (never trusted for anything else).
pub(crate) struct Peeked {
    /// The header's `alg`, one of the allowed algorithms.
    pub alg: String,
    pub kid: Option<String>,
    pub payload: Value,
}

/// Reads `alg`, `kid` and the unverified payload, rejecting disallowed algorithms up front so
/// that the message is clear (`none`, HS256 with the public key as secret, …).
pub(crate) fn peek_and_pin(
    token: &str,
    algorithms: &[CoreJwsSigningAlgorithm],
) -> Result<Peeked, PluginError> {
    let (header, payload) = peek_jwt(token).map_err(PluginError::IdToken)?;
    let alg = header.get("alg").and_then(Value::as_str).unwrap_or("").to_owned();
    let allowed = algorithms.iter().filter_map(serde_plain_name).collect::<Vec<_>>();
    if !allowed.contains(&alg) {
        return Err(PluginError::IdToken(format!(
            "signing algorithm `{alg}` is not allowed (expected {})",
            allowed.join(", ")
        )));
    }
    let kid = header.get("kid").and_then(Value::as_str).map(str::to_owned);
    Ok(Peeked { alg, kid, payload })
}

fn serde_plain_name(alg: &CoreJwsSigningAlgorithm) -> Option<String> {
    serde_json::to_value(alg)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
}

/// Verifies the token (`raw` is its compact text) against `jwks`; returns the verified claims.
pub(crate) fn verify(
    token: &CoreIdToken,
    raw: &str,
    peeked: &Peeked,
    jwks: &Value,
    rules: &IdTokenRules<'_>,
) -> Result<Value, PluginError> {
    if let Some(kid) = &peeked.kid
        && !jwks_kids(jwks).any(|k| k == kid)
    {
        return Err(PluginError::IdToken(format!(
            "signed with an unknown key (kid `{kid}`)"
        )));
    }
    let fast = check_signature(raw, peeked, jwks)?;
    let issuer = IssuerUrl::new(rules.issuer.to_owned())
        .map_err(|e| PluginError::Configuration(format!("issuer `{}`: {e}", rules.issuer)))?;
    let keys: CoreJsonWebKeySet = if fast {
        CoreJsonWebKeySet::new(Vec::new())
    } else {
        serde_json::from_value(jwks.clone())
            .map_err(|e| PluginError::Metadata(format!("the JWKS cannot be read: {e}")))?
    };
    let mut verifier =
        IdTokenVerifier::new_public_client(ClientId::new(rules.client_id.to_owned()), issuer, keys)
            .set_allowed_algs(rules.algorithms.iter().cloned())
            // openidconnect has no leeway setting: shift its clock back for the `exp` check.
            .set_time_fn(|| Utc::now() - chrono::Duration::seconds(LEEWAY_SECS));
    if fast {
        // The signature was verified above, against the same JWKS and the pinned algorithm;
        // openidconnect checks everything else (aud, azp, iss, exp, iat, nonce).
        verifier = verifier.insecure_disable_signature_check();
    }
    token
        .claims(&verifier, &Nonce::new(rules.nonce.to_owned()))
        .map_err(|e| PluginError::IdToken(e.to_string()))?;
    // The signature is verified: the peeked payload is now trustworthy.
    let claims = peeked.payload.clone();
    let now = now_unix();
    if let Some(nbf) = claims.get("nbf").and_then(Value::as_i64)
        && nbf > now + LEEWAY_SECS
    {
        return Err(PluginError::IdToken(format!(
            "the token is not valid before {nbf} (now {now})"
        )));
    }
    Ok(claims)
}

/// Verifies the signature with `jsonwebtoken` (aws-lc-rs) against the JWKS keys the token may
/// name. openidconnect verifies RSA with the pure-Rust `rsa` crate, which cost about a tenth of a
/// whole Entra login's CPU. True when verified; false when this algorithm or key type is not
/// handled here (openidconnect then verifies as before); an error when no key verifies.
fn check_signature(raw: &str, peeked: &Peeked, jwks: &Value) -> Result<bool, PluginError> {
    use jsonwebtoken::Algorithm as A;
    let Ok(alg) = peeked.alg.parse::<A>() else {
        return Ok(false);
    };
    let kty = match alg {
        A::RS256 | A::RS384 | A::RS512 | A::PS256 | A::PS384 | A::PS512 => "RSA",
        A::ES256 | A::ES384 => "EC",
        // HMAC never reaches here (not an allowed algorithm); anything else: openidconnect.
        _ => return Ok(false),
    };
    let Some((message, signature)) = raw.rsplit_once('.') else {
        return Err(PluginError::IdToken("the token is not a signed JWT".to_owned()));
    };
    let keys = jwks.get("keys").and_then(Value::as_array).into_iter().flatten();
    let field = |key: &Value, name: &str| key.get(name).and_then(Value::as_str).map(str::to_owned);
    let candidates = keys.filter(|key| {
        // The named key only (an unknown kid was refused before); any signing key otherwise.
        peeked
            .kid
            .as_deref()
            .is_none_or(|kid| field(key, "kid").as_deref() == Some(kid))
            && field(key, "kty").as_deref() == Some(kty)
            && field(key, "use").is_none_or(|u| u == "sig")
            && field(key, "alg").is_none_or(|a| a == peeked.alg)
    });
    for key in candidates {
        let decoding = if kty == "RSA" {
            let (Some(n), Some(e)) = (field(key, "n"), field(key, "e")) else {
                continue;
            };
            jsonwebtoken::DecodingKey::from_rsa_components(&n, &e).ok()
        } else {
            serde_json::from_value::<jsonwebtoken::jwk::Jwk>(key.clone())
                .ok()
                .and_then(|jwk| jsonwebtoken::DecodingKey::from_jwk(&jwk).ok())
        };
        let Some(decoding) = decoding else {
            continue;
        };
        if jsonwebtoken::crypto::verify(signature, message.as_bytes(), &decoding, alg).unwrap_or(false) {
            return Ok(true);
        }
    }
    Err(PluginError::IdToken(
        "the signature does not verify with the provider's keys".to_owned(),
    ))
}
