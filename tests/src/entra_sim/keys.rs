//! Signing keys of the simulator (fixed RSA test fixtures, fast in debug builds), JWKS
//! publication, key rotation, and JWT minting with tampering modes for negative tests.

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use jsonwebtoken::jwk::{AlgorithmParameters, Jwk};
use jsonwebtoken::{Algorithm, EncodingKey};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use sha1::Sha1;
use sha2::{Digest, Sha256};

/// Test fixture keys (generated once with openssl; not secrets of anything real).
pub const SIGNING_KEYS: [(&str, &str); 3] = [
    (
        include_str!("fixtures/signing1.key.pem"),
        include_str!("fixtures/signing1.cert.pem"),
    ),
    (
        include_str!("fixtures/signing2.key.pem"),
        include_str!("fixtures/signing2.cert.pem"),
    ),
    (
        include_str!("fixtures/signing3.key.pem"),
        include_str!("fixtures/signing3.cert.pem"),
    ),
];

/// A client certificate + key pair registered on the demo app (`private_key_jwt`).
pub const CLIENT_A: (&str, &str) = (
    include_str!("fixtures/client-a.key.pem"),
    include_str!("fixtures/client-a.cert.pem"),
);
/// A second pair that no app registers (negative tests).
pub const CLIENT_B: (&str, &str) = (
    include_str!("fixtures/client-b.key.pem"),
    include_str!("fixtures/client-b.cert.pem"),
);

/// How the next minted token is corrupted.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Tamper {
    BadSignature,
    WrongAudience,
    WrongIssuer,
    /// `tid`/`iss` of the other tenant of the directory, validly signed.
    OtherTenant,
    Expired,
    NotYetValid,
    AlgNone,
    /// HS256 with the signing certificate's PEM text as the HMAC secret (key confusion).
    Hs256WithPublicKey,
    WrongNonce,
}

pub struct SimKey {
    pub kid: String,
    pub cert_pem: &'static str,
    encoding: EncodingKey,
    n: String,
    e: String,
    x5c: String,
    pub published: bool,
}

/// DER of the first certificate in a PEM text.
pub fn cert_der(pem: &str) -> Vec<u8> {
    let b64: String = pem
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .collect::<String>();
    STANDARD.decode(b64.trim()).unwrap_or_default()
}

/// base64url SHA-1 thumbprint (`x5t`, Entra's `kid`).
pub fn x5t(pem: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha1::digest(cert_der(pem)))
}

/// base64url SHA-256 thumbprint (`x5t#S256`).
pub fn x5t_s256(pem: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(cert_der(pem)))
}

impl SimKey {
    fn load(key_pem: &str, cert_pem: &'static str) -> Result<Self, String> {
        let encoding = EncodingKey::from_rsa_pem(key_pem.as_bytes()).map_err(|e| e.to_string())?;
        let jwk = Jwk::from_encoding_key(&encoding, Algorithm::RS256).map_err(|e| e.to_string())?;
        let AlgorithmParameters::RSA(rsa) = jwk.algorithm else {
            return Err("not an RSA key".to_owned());
        };
        Ok(Self {
            kid: x5t(cert_pem),
            cert_pem,
            encoding,
            n: rsa.n,
            e: rsa.e,
            x5c: STANDARD.encode(cert_der(cert_pem)),
            published: false,
        })
    }

    /// The JWKS entry; v2 keys carry an `issuer` (templated or concrete).
    pub fn jwk(&self, issuer: Option<&str>) -> Value {
        let mut k = json!({
            "kty": "RSA", "use": "sig", "kid": self.kid, "x5t": self.kid, "n": self.n, "e": self.e,
            "x5c": [self.x5c], "cloud_instance_name": "microsoftonline.com",
        });
        if let (Some(i), Some(obj)) = (issuer, k.as_object_mut()) {
            obj.insert("issuer".to_owned(), json!(i));
        }
        k
    }
}

/// The simulator's keys: which are published and which one signs.
pub struct KeyRing {
    pub keys: Vec<SimKey>,
    pub active: usize,
}

impl KeyRing {
    /// Key 0 published and active; key 1 waits for rotation; key 2 is never published unless
    /// asked (unknown-`kid` tests).
    pub fn new() -> Result<Self, String> {
        let mut keys = SIGNING_KEYS
            .iter()
            .map(|(k, c)| SimKey::load(k, c))
            .collect::<Result<Vec<_>, _>>()?;
        keys[0].published = true;
        Ok(Self { keys, active: 0 })
    }

    pub fn published(&self) -> impl Iterator<Item = &SimKey> {
        self.keys.iter().filter(|k| k.published)
    }

    /// Publishes key 1 and signs with it; key 0 stays published.
    pub fn rotate(&mut self) {
        self.keys[1].published = true;
        self.active = 1;
    }

    /// Signs with key 2 without publishing it.
    pub fn sign_with_unpublished(&mut self) {
        self.active = 2;
    }

    /// Publishes every key.
    pub fn publish_all(&mut self) {
        for k in &mut self.keys {
            k.published = true;
        }
    }

    pub fn active_key(&self) -> &SimKey {
        &self.keys[self.active]
    }

    /// Mints a compact JWS. `extra_header` adds fields (`x5t`, Graph's `nonce`).
    pub fn mint(&self, claims: &Value, extra_header: &[(&str, Value)], tamper: Option<Tamper>) -> String {
        let key = self.active_key();
        let mut header = Map::new();
        header.insert("typ".to_owned(), json!("JWT"));
        header.insert("alg".to_owned(), json!("RS256"));
        for (k, v) in extra_header {
            header.insert((*k).to_owned(), v.clone());
        }
        header.insert("kid".to_owned(), json!(key.kid));
        let enc = |v: &Value| URL_SAFE_NO_PAD.encode(serde_json::to_vec(v).unwrap_or_default());
        match tamper {
            Some(Tamper::AlgNone) => {
                header.insert("alg".to_owned(), json!("none"));
                header.remove("kid");
                format!("{}.{}.", enc(&Value::Object(header)), enc(claims))
            }
            Some(Tamper::Hs256WithPublicKey) => {
                header.insert("alg".to_owned(), json!("HS256"));
                let input = format!("{}.{}", enc(&Value::Object(header)), enc(claims));
                let sig = EncodingKey::from_secret(key.cert_pem.as_bytes())
                    .and_then(|k| jsonwebtoken::crypto::sign(input.as_bytes(), &k, Algorithm::HS256))
                    .unwrap_or_default();
                format!("{input}.{sig}")
            }
            _ => {
                let input = format!("{}.{}", enc(&Value::Object(header)), enc(claims));
                let mut sig = jsonwebtoken::crypto::sign(input.as_bytes(), &key.encoding, Algorithm::RS256)
                    .unwrap_or_default();
                if tamper == Some(Tamper::BadSignature) {
                    // Flip one bit in the middle of the signature: same length, wrong value.
                    let mut bytes = URL_SAFE_NO_PAD.decode(&sig).unwrap_or_default();
                    let mid = bytes.len() / 2;
                    if let Some(b) = bytes.get_mut(mid) {
                        *b ^= 0x01;
                    }
                    sig = URL_SAFE_NO_PAD.encode(bytes);
                }
                format!("{input}.{sig}")
            }
        }
    }
}
