//! Machine-token verification with `jsonwebtoken` (RS256 pinned, audience, issuer, time).

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
    let field = |name: &str| jwk.get(name).and_then(Value::as_str).unwrap_or_default();
    if field("kty") != "RSA" {
        return Err(PluginError::machine(
            "invalid_grant",
            "the signing key is not an RSA key",
        ));
    }
    let key = DecodingKey::from_rsa_components(field("n"), field("e"))
        .map_err(|_| PluginError::Metadata("a JWKS key has an unreadable modulus or exponent".to_owned()))?;
    let mut validation = Validation::new(Algorithm::RS256);
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
                K::InvalidAudience => format!(
                    "the audience is not accepted (expected one of: {})",
                    audiences.join(", ")
                ),
                K::InvalidIssuer => format!(
                    "the issuer is not accepted (expected one of: {})",
                    issuers.join(", ")
                ),
                K::MissingRequiredClaim(c) => format!("the `{c}` claim is missing"),
                K::InvalidAlgorithm => "the signing algorithm is not allowed (expected RS256)".to_owned(),
                other => format!("the token is invalid ({other:?})"),
            };
            PluginError::machine("invalid_grant", why)
        })
}
