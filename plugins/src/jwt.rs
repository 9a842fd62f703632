//! Machine-token verification with `jsonwebtoken` (algorithm pinned by the caller, audience,
//! issuer, `exp`/`nbf` with leeway).

use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::Value;

use crate::PluginError;
use crate::idtoken::LEEWAY_SECS;

/// The JWK with `kid` in a JWKS document.
pub(crate) fn find_jwk<'a>(jwks: &'a Value, kid: &str) -> Option<&'a Value> {
    jwks.get("keys")?
        .as_array()?
        .iter()
        .find(|k| k.get("kid").and_then(Value::as_str) == Some(kid))
}

/// Verifies an RS256 JWT with an RSA JWK; returns the claims.
pub(crate) fn verify_rs256(
    token: &str,
    jwk: &Value,
    audiences: &[String],
    issuers: &[String],
) -> Result<Value, PluginError> {
    verify(token, jwk, Algorithm::RS256, audiences, issuers)
}

/// Verifies a JWT signed with `alg` (already pinned by the caller) by `jwk`.
pub(crate) fn verify(
    token: &str,
    jwk: &Value,
    alg: Algorithm,
    audiences: &[String],
    issuers: &[String],
) -> Result<Value, PluginError> {
    let key = if alg == Algorithm::RS256 {
        let field = |name: &str| jwk.get(name).and_then(Value::as_str).unwrap_or_default();
        if field("kty") != "RSA" {
            return Err(PluginError::machine(
                "invalid_grant",
                "the signing key is not an RSA key",
            ));
        }
        DecodingKey::from_rsa_components(field("n"), field("e")).ok()
    } else {
        serde_json::from_value::<jsonwebtoken::jwk::Jwk>(jwk.clone())
            .ok()
            .and_then(|k| DecodingKey::from_jwk(&k).ok())
    }
    .ok_or_else(|| PluginError::Metadata("a JWKS key cannot be used for this algorithm".to_owned()))?;
    let mut validation = Validation::new(alg);
    validation.leeway = LEEWAY_SECS.unsigned_abs();
    validation.validate_nbf = true;
    validation.set_audience(audiences);
    validation.set_issuer(issuers);
    validation.set_required_spec_claims(&["exp", "iss", "aud"]);
    jsonwebtoken::decode::<Value>(token, &key, &validation)
        .map(|d| d.claims)
        .map_err(|e| {
            use jsonwebtoken::errors::ErrorKind as K;
            let why = match e.kind() {
                K::InvalidSignature => "the signature does not verify".to_owned(),
                K::ExpiredSignature => "the token has expired".to_owned(),
                K::ImmatureSignature => "the token is not valid yet (nbf)".to_owned(),
                K::InvalidAudience => {
                    format!(
                        "the audience is not accepted (expected one of: {})",
                        audiences.join(", ")
                    )
                }
                K::InvalidIssuer => format!(
                    "the issuer is not accepted (expected one of: {})",
                    issuers.join(", ")
                ),
                K::MissingRequiredClaim(c) => format!("the `{c}` claim is missing"),
                K::InvalidAlgorithm => {
                    format!("the signing algorithm does not fit the key (expected {alg:?})")
                }
                other => format!("the token is invalid ({other:?})"),
            };
            PluginError::machine("invalid_grant", why)
        })
}
