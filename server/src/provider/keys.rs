//! Signing keys: generated on first start (one RS256, one ES256), stored encrypted, parsed once
//! per process and kept in memory. Rows never change once written (rotation writes a new row),
//! so the in-memory copies need no invalidation.
//!
//! Tokens are assembled here and signed with the parsed aws-lc-rs key pair: jsonwebtoken's
//! `encode` re-parses the private key on every call (an RSA key check costs more than the
//! signature), which would cap the token endpoint far below what it can do. Verification of
//! our own tokens goes through jsonwebtoken.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::KeySize;
use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair, RSA_PKCS1_SHA256, RsaKeyPair,
};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::NaiveDateTime;
use jsonwebtoken::{Algorithm, DecodingKey};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::crypto::Keys;
use crate::db::signing_keys::{self, NewSigningKey, SigningKeyRow};
use crate::db::{DbConn, StoreError};

/// The managed keys created on first start.
pub const DEFAULT_RS256: &str = "gatehouse-default-rs256";
pub const DEFAULT_ES256: &str = "gatehouse-default-es256";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SigningAlgorithm {
    Rs256,
    Es256,
}

impl SigningAlgorithm {
    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "RS256" => Some(Self::Rs256),
            "ES256" => Some(Self::Es256),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Rs256 => "RS256",
            Self::Es256 => "ES256",
        }
    }

    fn jwt(self) -> Algorithm {
        match self {
            Self::Rs256 => Algorithm::RS256,
            Self::Es256 => Algorithm::ES256,
        }
    }
}

enum Signer {
    Rsa(RsaKeyPair),
    Ec(EcdsaKeyPair),
}

/// A parsed key: signs tokens and verifies the ones it signed.
pub struct KeyMaterial {
    pub kid: String,
    pub algorithm: SigningAlgorithm,
    signer: Signer,
    decoding: DecodingKey,
}

impl std::fmt::Debug for KeyMaterial {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "KeyMaterial({}, {})", self.kid, self.algorithm.as_str())
    }
}

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("signing key: {0}")]
    Key(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<KeyError> for StoreError {
    fn from(e: KeyError) -> Self {
        match e {
            KeyError::Store(s) => s,
            KeyError::Key(m) => StoreError::Internal(m),
        }
    }
}

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

fn b64_decode(value: &Value, field: &str) -> Result<Vec<u8>, KeyError> {
    value
        .get(field)
        .and_then(Value::as_str)
        .and_then(|s| URL_SAFE_NO_PAD.decode(s).ok())
        .ok_or_else(|| KeyError::Key(format!("public JWK lacks `{field}`")))
}

/// RFC 7638 thumbprint of the public key: a stable, content-derived `kid`.
fn thumbprint(required: &Value) -> String {
    b64(&Sha256::digest(required.to_string().as_bytes()))
}

/// Generates a key pair: (PKCS#8 DER of the private key, public JWK without `kid`, kid).
fn generate(algorithm: SigningAlgorithm) -> Result<(Vec<u8>, Value, String), KeyError> {
    let fail = |e: &dyn std::fmt::Display| KeyError::Key(format!("key generation failed: {e}"));
    match algorithm {
        SigningAlgorithm::Rs256 => {
            let pair = RsaKeyPair::generate(KeySize::Rsa2048).map_err(|e| fail(&e))?;
            let der = AsDer::<aws_lc_rs::encoding::Pkcs8V1Der>::as_der(&pair).map_err(|e| fail(&e))?;
            let public = pair.public_key();
            let n = b64(public.modulus().big_endian_without_leading_zero());
            let e = b64(public.exponent().big_endian_without_leading_zero());
            // Members in lexicographic order, as RFC 7638 requires.
            let kid = thumbprint(&json!({"e": e, "kty": "RSA", "n": n}));
            Ok((der.as_ref().to_vec(), json!({"kty": "RSA", "n": n, "e": e}), kid))
        }
        SigningAlgorithm::Es256 => {
            let rng = SystemRandom::new();
            let der =
                EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).map_err(|e| fail(&e))?;
            let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, der.as_ref())
                .map_err(|e| fail(&e))?;
            // Uncompressed point: 0x04 ‖ x ‖ y.
            let point = pair.public_key().as_ref();
            let (x, y) = match point.split_first() {
                Some((4, rest)) if rest.len() == 64 => rest.split_at(32),
                _ => return Err(KeyError::Key("unexpected EC public key encoding".into())),
            };
            let (x, y) = (b64(x), b64(y));
            let kid = thumbprint(&json!({"crv": "P-256", "kty": "EC", "x": x, "y": y}));
            Ok((
                der.as_ref().to_vec(),
                json!({"kty": "EC", "crv": "P-256", "x": x, "y": y}),
                kid,
            ))
        }
    }
}

fn encryption_context(uuid: &str) -> String {
    format!("signing_key:{uuid}:private_key")
}

/// Creates and stores a new key.
pub fn create(
    conn: &mut DbConn,
    keys: &Keys,
    name: &str,
    algorithm: SigningAlgorithm,
    managed: Option<&str>,
    now: NaiveDateTime,
) -> Result<SigningKeyRow, KeyError> {
    let (der, mut jwk, kid) = generate(algorithm)?;
    let uuid = uuid::Uuid::new_v4().to_string();
    let sealed = keys
        .encrypt(&der, &encryption_context(&uuid))
        .map_err(|e| KeyError::Key(e.to_string()))?;
    if let Some(map) = jwk.as_object_mut() {
        map.insert("kid".into(), json!(kid));
        map.insert("alg".into(), json!(algorithm.as_str()));
        map.insert("use".into(), json!("sig"));
    }
    Ok(signing_keys::insert(
        conn,
        &NewSigningKey {
            uuid,
            name: name.to_owned(),
            algorithm: algorithm.as_str().to_owned(),
            kid,
            private_key: sealed,
            public_jwk: jwk.to_string(),
            managed: managed.map(str::to_owned),
            created: now,
        },
    )?)
}

/// Creates the two managed default keys if they do not exist yet (first start).
pub fn ensure_defaults(conn: &mut DbConn, keys: &Keys, now: NaiveDateTime) -> Result<(), KeyError> {
    for (managed, algorithm) in [
        (DEFAULT_RS256, SigningAlgorithm::Rs256),
        (DEFAULT_ES256, SigningAlgorithm::Es256),
    ] {
        if signing_keys::current_managed(conn, managed)?.is_none() {
            create(conn, keys, managed, algorithm, Some(managed), now)?;
        }
    }
    Ok(())
}

/// Replaces `old` with a fresh key of the same algorithm and name. The old key stays published
/// for `grace` (the longest lifetime of a token it may have signed); providers move to the new
/// key at once.
pub fn rotate(
    conn: &mut DbConn,
    keys: &Keys,
    old: &SigningKeyRow,
    grace: chrono::Duration,
    now: NaiveDateTime,
) -> Result<SigningKeyRow, KeyError> {
    let algorithm = SigningAlgorithm::parse(&old.algorithm)
        .ok_or_else(|| KeyError::Key(format!("unknown algorithm {}", old.algorithm)))?;
    let new = create(conn, keys, &old.name, algorithm, old.managed.as_deref(), now)?;
    signing_keys::rotate(conn, old.id, new.id, now, now + grace)?;
    Ok(new)
}

fn parse(row: &SigningKeyRow, keys: &Keys) -> Result<KeyMaterial, KeyError> {
    let algorithm = SigningAlgorithm::parse(&row.algorithm)
        .ok_or_else(|| KeyError::Key(format!("unknown algorithm {}", row.algorithm)))?;
    let der = keys
        .decrypt(&row.private_key, &encryption_context(&row.uuid))
        .map_err(|e| KeyError::Key(e.to_string()))?;
    let jwk: Value =
        serde_json::from_str(&row.public_jwk).map_err(|e| KeyError::Key(format!("public JWK: {e}")))?;
    let bad = |e: &dyn std::fmt::Display| KeyError::Key(format!("key {}: {e}", row.kid));
    let (signer, decoding) = match algorithm {
        SigningAlgorithm::Rs256 => (
            Signer::Rsa(RsaKeyPair::from_pkcs8(&der).map_err(|e| bad(&e))?),
            DecodingKey::from_rsa_raw_components(&b64_decode(&jwk, "n")?, &b64_decode(&jwk, "e")?),
        ),
        SigningAlgorithm::Es256 => (
            Signer::Ec(
                EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &der).map_err(|e| bad(&e))?,
            ),
            DecodingKey::from_ec_components(
                jwk.get("x").and_then(Value::as_str).unwrap_or_default(),
                jwk.get("y").and_then(Value::as_str).unwrap_or_default(),
            )
            .map_err(|e| bad(&e))?,
        ),
    };
    Ok(KeyMaterial {
        kid: row.kid.clone(),
        algorithm,
        signer,
        decoding,
    })
}

impl KeyMaterial {
    /// A compact JWS of `claims` with `alg`, `kid` and `typ` in the header.
    pub fn sign(&self, typ: &str, claims: &Value) -> Result<String, KeyError> {
        let header = json!({"alg": self.algorithm.as_str(), "kid": self.kid, "typ": typ});
        let mut token = String::with_capacity(512);
        token.push_str(&b64(header.to_string().as_bytes()));
        token.push('.');
        token.push_str(&b64(claims.to_string().as_bytes()));
        let rng = SystemRandom::new();
        let signature = match &self.signer {
            Signer::Rsa(pair) => {
                let mut out = vec![0u8; pair.public_modulus_len()];
                pair.sign(&RSA_PKCS1_SHA256, &rng, token.as_bytes(), &mut out)
                    .map_err(|e| KeyError::Key(format!("signing failed: {e}")))?;
                out
            }
            Signer::Ec(pair) => pair
                .sign(&rng, token.as_bytes())
                .map_err(|e| KeyError::Key(format!("signing failed: {e}")))?
                .as_ref()
                .to_vec(),
        };
        token.push('.');
        token.push_str(&b64(&signature));
        Ok(token)
    }

    /// Verifies a token this key signed: signature, `exp` (no leeway: we issued it) and issuer.
    pub fn verify(&self, token: &str, issuer: Option<&str>) -> Option<Value> {
        self.decode(token, issuer, true)
    }

    /// Like [`Self::verify`] but accepts an expired token (an `id_token_hint` at logout).
    pub fn verify_hint(&self, token: &str, issuer: &str) -> Option<Value> {
        self.decode(token, Some(issuer), false)
    }

    fn decode(&self, token: &str, issuer: Option<&str>, check_exp: bool) -> Option<Value> {
        let mut validation = jsonwebtoken::Validation::new(self.algorithm.jwt());
        validation.leeway = 0;
        validation.validate_aud = false;
        validation.validate_exp = check_exp;
        validation.set_required_spec_claims(&["exp", "iss"]);
        if let Some(iss) = issuer {
            validation.set_issuer(&[iss]);
        }
        jsonwebtoken::decode::<Value>(token, &self.decoding, &validation)
            .ok()
            .map(|data| data.claims)
    }
}

/// Parsed keys by row id, shared by all workers.
#[derive(Debug, Default)]
pub struct KeyRing {
    parsed: RwLock<HashMap<i64, Arc<KeyMaterial>>>,
    by_kid: RwLock<HashMap<String, i64>>,
}

impl KeyRing {
    fn cached(&self, id: i64) -> Option<Arc<KeyMaterial>> {
        self.parsed.read().ok()?.get(&id).cloned()
    }

    fn remember(&self, id: i64, material: KeyMaterial) -> Arc<KeyMaterial> {
        let material = Arc::new(material);
        if let Ok(mut kids) = self.by_kid.write() {
            kids.insert(material.kid.clone(), id);
        }
        if let Ok(mut parsed) = self.parsed.write() {
            parsed.insert(id, material.clone());
        }
        material
    }

    /// The key with this row id (parsed on first use).
    pub fn get(&self, conn: &mut DbConn, keys: &Keys, id: i64) -> Result<Arc<KeyMaterial>, KeyError> {
        if let Some(found) = self.cached(id) {
            return Ok(found);
        }
        let row = signing_keys::get(conn, id)?;
        Ok(self.remember(id, parse(&row, keys)?))
    }

    /// The key a token names by `kid`, if it is still published.
    pub fn by_kid(
        &self,
        conn: &mut DbConn,
        keys: &Keys,
        kid: &str,
        now: NaiveDateTime,
    ) -> Result<Option<Arc<KeyMaterial>>, KeyError> {
        let rows = signing_keys::published(conn, now)?;
        let Some(row) = rows.iter().find(|r| r.kid == kid) else {
            return Ok(None);
        };
        if let Some(found) = self.cached(row.id) {
            return Ok(Some(found));
        }
        Ok(Some(self.remember(row.id, parse(row, keys)?)))
    }
}

/// The JWKS document: every published key.
pub fn jwks(conn: &mut DbConn, now: NaiveDateTime) -> Result<Value, StoreError> {
    let keys: Vec<Value> = signing_keys::published(conn, now)?
        .into_iter()
        .filter_map(|row| serde_json::from_str::<Value>(&row.public_jwk).ok())
        .collect();
    Ok(json!({ "keys": keys }))
}
