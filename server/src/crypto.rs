//! Secrets: the server secret key and the keys derived from it (HKDF-SHA256), encryption at rest
//! (AES-256-GCM), random tokens, API-token hashing and password hashing (argon2id).

use std::io::Write;
use std::path::Path;

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use argon2::Argon2;
use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};

#[derive(Debug, thiserror::Error)]
pub enum CryptoError {
    #[error("cannot read or create the secret key file {path}: {message}")]
    KeyFile { path: String, message: String },
    #[error("the system random number generator failed: {0}")]
    Random(String),
    #[error("encryption failed")]
    Encrypt,
    #[error("stored secret cannot be decrypted (wrong secret_key, or corrupted data)")]
    Decrypt,
    #[error("password hashing failed: {0}")]
    Password(String),
}

/// Keys derived from the server's secret key, one per purpose.
#[derive(Clone)]
pub struct Keys {
    aead: Aes256Gcm,
    csrf: [u8; 32],
    /// Signs re-authentication markers; separate from `csrf` so that a CSRF token can never pass
    /// for a marker (or the other way round).
    reauth: [u8; 32],
}

impl std::fmt::Debug for Keys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Keys(..)")
    }
}

fn derive(secret: &str, purpose: &str) -> [u8; 32] {
    let hk = hkdf::Hkdf::<Sha256>::new(Some(b"gatehouse"), secret.as_bytes());
    let mut out = [0u8; 32];
    // 32 bytes is far below HKDF-SHA256's 8160-byte limit, so expand cannot fail.
    let _ = hk.expand(purpose.as_bytes(), &mut out);
    out
}

impl Keys {
    pub fn from_secret(secret: &str) -> Self {
        let aead_key = derive(secret, "gatehouse/aead/v1");
        Self {
            aead: Aes256Gcm::new(&aead_key.into()),
            csrf: derive(secret, "gatehouse/csrf/v1"),
            reauth: derive(secret, "gatehouse/reauth-marker/v1"),
        }
    }

    /// Encrypts `plaintext`, bound to `context` (e.g. `"source:<uuid>:consumer_secret"`) so that a
    /// ciphertext copied to another row does not decrypt there. Output: `v1.<base64url(nonce‖ct)>`.
    pub fn encrypt(&self, plaintext: &[u8], context: &str) -> Result<String, CryptoError> {
        let mut nonce_bytes = [0u8; 12];
        fill_random(&mut nonce_bytes)?;
        let nonce = Nonce::from(nonce_bytes);
        let ciphertext = self
            .aead
            .encrypt(
                &nonce,
                Payload {
                    msg: plaintext,
                    aad: context.as_bytes(),
                },
            )
            .map_err(|_| CryptoError::Encrypt)?;
        let mut blob = Vec::with_capacity(12 + ciphertext.len());
        blob.extend_from_slice(&nonce_bytes);
        blob.extend_from_slice(&ciphertext);
        Ok(format!("v1.{}", URL_SAFE_NO_PAD.encode(blob)))
    }

    pub fn decrypt(&self, stored: &str, context: &str) -> Result<Vec<u8>, CryptoError> {
        let encoded = stored.strip_prefix("v1.").ok_or(CryptoError::Decrypt)?;
        let blob = URL_SAFE_NO_PAD
            .decode(encoded)
            .map_err(|_| CryptoError::Decrypt)?;
        if blob.len() < 12 + 16 {
            return Err(CryptoError::Decrypt);
        }
        let (nonce_bytes, ciphertext) = blob.split_at(12);
        let nonce_array: [u8; 12] = nonce_bytes.try_into().map_err(|_| CryptoError::Decrypt)?;
        self.aead
            .decrypt(
                &Nonce::from(nonce_array),
                Payload {
                    msg: ciphertext,
                    aad: context.as_bytes(),
                },
            )
            .map_err(|_| CryptoError::Decrypt)
    }

    /// The CSRF token for forms bound to `binding` (e.g. a flow cookie): an HMAC only this server
    /// can compute, so a page from another site cannot produce it.
    pub fn csrf_token(&self, binding: &str) -> String {
        hmac_b64(&self.csrf, binding)
    }

    /// Constant-time check of a CSRF token.
    pub fn verify_csrf(&self, binding: &str, token: &str) -> bool {
        ct_equal(&self.csrf_token(binding), token)
    }

    /// The signature of a re-authentication marker's content (its own key, not the CSRF key).
    pub fn reauth_mac(&self, content: &str) -> String {
        hmac_b64(&self.reauth, content)
    }

    /// Constant-time check of a re-authentication marker's signature.
    pub fn verify_reauth_mac(&self, content: &str, mac: &str) -> bool {
        ct_equal(&self.reauth_mac(content), mac)
    }
}

fn hmac_b64(key: &[u8; 32], content: &str) -> String {
    use hmac::{KeyInit as _, Mac};
    let Ok(mut mac) = hmac::Hmac::<Sha256>::new_from_slice(key) else {
        return String::new();
    };
    mac.update(content.as_bytes());
    URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
}

fn ct_equal(expected: &str, given: &str) -> bool {
    use subtle::ConstantTimeEq;
    !given.is_empty() && expected.as_bytes().ct_eq(given.as_bytes()).into()
}

/// Reads the configured secret key, or the one in `data_dir/secret_key`, generating that file
/// (mode 0600) on first start. Two processes starting at once agree: only one creates the file.
pub fn resolve_secret_key(configured: Option<&str>, data_dir: &Path) -> Result<String, CryptoError> {
    if let Some(key) = configured {
        return Ok(key.to_owned());
    }
    let path = data_dir.join("secret_key");
    let key_error = |e: std::io::Error| CryptoError::KeyFile {
        path: path.display().to_string(),
        message: e.to_string(),
    };
    std::fs::create_dir_all(data_dir).map_err(key_error)?;
    let mut bytes = [0u8; 48];
    fill_random(&mut bytes)?;
    let generated = URL_SAFE_NO_PAD.encode(bytes);
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    match options.open(&path) {
        Ok(mut file) => {
            file.write_all(generated.as_bytes()).map_err(key_error)?;
            file.sync_all().map_err(key_error)?;
            Ok(generated)
        }
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            // Another process may still be writing it: retry briefly until it has full length.
            for _ in 0..50 {
                let existing = std::fs::read_to_string(&path).map_err(key_error)?;
                let existing = existing.trim().to_owned();
                if existing.len() >= 32 {
                    return Ok(existing);
                }
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            Err(CryptoError::KeyFile {
                path: path.display().to_string(),
                message: "file exists but holds fewer than 32 characters".into(),
            })
        }
        Err(e) => Err(key_error(e)),
    }
}

pub fn fill_random(buf: &mut [u8]) -> Result<(), CryptoError> {
    getrandom::fill(buf).map_err(|e| CryptoError::Random(e.to_string()))
}

/// A random URL-safe token with `bytes` bytes of entropy.
pub fn random_token(bytes: usize) -> Result<String, CryptoError> {
    let mut buf = vec![0u8; bytes];
    fill_random(&mut buf)?;
    Ok(URL_SAFE_NO_PAD.encode(buf))
}

/// SHA-256 (hex) of a high-entropy key. Keys are 256-bit random values, so a slow hash would add
/// nothing but latency; a plain digest makes them useless to whoever reads the table.
pub fn hash_key(key: &str) -> String {
    hex::encode(Sha256::digest(key.as_bytes()))
}

/// argon2id (RFC 9106 second recommended parameters, the crate's defaults) as a PHC string.
pub fn hash_password(password: &str) -> Result<String, CryptoError> {
    Argon2::default()
        .hash_password(password.as_bytes())
        .map(|hash| hash.to_string())
        .map_err(|e| CryptoError::Password(e.to_string()))
}

/// Checks a password against a stored PHC string; a malformed hash never verifies.
pub fn verify_password(password: &str, stored: &str) -> bool {
    match PasswordHash::new(stored) {
        Ok(parsed) => Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok(),
        Err(_) => false,
    }
}

/// A valid hash of a random password, verified against when the user does not exist so that a
/// failed login takes the same time whether or not the username is known.
pub fn dummy_password_hash() -> &'static str {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DUMMY.get_or_init(|| {
        let password = random_token(16).unwrap_or_else(|_| "gatehouse-dummy-password".into());
        hash_password(&password).unwrap_or_default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encryption_round_trips_and_is_bound_to_context() {
        let keys = Keys::from_secret("a secret key that is long enough for tests");
        let sealed = keys.encrypt(b"client secret", "source:1").unwrap();
        assert_eq!(keys.decrypt(&sealed, "source:1").unwrap(), b"client secret");
        assert!(keys.decrypt(&sealed, "source:2").is_err());
        let other = Keys::from_secret("another secret key that is long enough!!");
        assert!(other.decrypt(&sealed, "source:1").is_err());
        assert!(keys.decrypt("v1.garbage", "source:1").is_err());
    }

    #[test]
    fn csrf_tokens_are_bound() {
        let keys = Keys::from_secret("a secret key that is long enough for tests");
        let token = keys.csrf_token("flow-a");
        assert!(keys.verify_csrf("flow-a", &token));
        assert!(!keys.verify_csrf("flow-b", &token));
        assert!(!keys.verify_csrf("flow-a", ""));
        assert!(!keys.verify_csrf("flow-a", "forged"));
    }

    #[test]
    fn passwords_verify() {
        let hash = hash_password("correct horse").unwrap();
        assert!(verify_password("correct horse", &hash));
        assert!(!verify_password("wrong horse", &hash));
        assert!(!verify_password("x", "not a phc string"));
    }

    #[test]
    fn secret_key_file_is_generated_once() {
        let dir = tempfile::tempdir().unwrap();
        let first = resolve_secret_key(None, dir.path()).unwrap();
        let second = resolve_secret_key(None, dir.path()).unwrap();
        assert_eq!(first, second);
        assert!(first.len() >= 32);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join("secret_key"))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }
}
