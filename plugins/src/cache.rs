//! The per-process cache of upstream JWKS and discovery documents.
//!
//! Semantics (the server relies on them):
//! - keyed by URL; a JWKS is refetched when it is older than `max_age` (24 h) or when a token
//!   names a `kid` the cached set does not hold;
//! - unknown-`kid` refetches of one URL happen at most once per `min_refresh` (30 s by
//!   default), so a stream of forged `kid`s cannot make us hammer the provider;
//! - a failed refetch keeps the previous set (a provider outage does not break logins whose
//!   key is already known);
//! - discovery documents are cached for `max_age` as well.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::PluginError;
use crate::util::excerpt;

const DEFAULT_MIN_REFRESH: Duration = Duration::from_secs(30);
const DEFAULT_MAX_AGE: Duration = Duration::from_secs(24 * 3600);

struct Entry {
    doc: Arc<Value>,
    fetched_at: Instant,
}

#[derive(Default)]
struct Inner {
    jwks: HashMap<String, Entry>,
    /// Last fetch attempt per JWKS URL, successful or not (rate limit).
    attempts: HashMap<String, Instant>,
    documents: HashMap<String, Entry>,
}

/// Cache of JWKS and discovery documents, shared by all plugins of a process.
pub struct JwksCache {
    inner: Mutex<Inner>,
    min_refresh: Duration,
    max_age: Duration,
}

impl Default for JwksCache {
    fn default() -> Self {
        Self::new(DEFAULT_MIN_REFRESH, DEFAULT_MAX_AGE)
    }
}

impl std::fmt::Debug for JwksCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JwksCache")
            .field("min_refresh", &self.min_refresh)
            .field("max_age", &self.max_age)
            .finish_non_exhaustive()
    }
}

/// The kids of a JWKS document.
pub(crate) fn jwks_kids(doc: &Value) -> impl Iterator<Item = &str> {
    doc.get("keys")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|k| k.get("kid").and_then(Value::as_str))
}

impl JwksCache {
    pub fn new(min_refresh: Duration, max_age: Duration) -> Self {
        Self {
            inner: Mutex::new(Inner::default()),
            min_refresh,
            max_age,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // A poisoned lock only means another thread panicked mid-update of plain maps.
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Drops everything cached for `url`.
    pub fn invalidate(&self, url: &str) {
        let mut inner = self.lock();
        inner.jwks.remove(url);
        inner.attempts.remove(url);
        inner.documents.remove(url);
    }

    /// The JWKS at `url`, refetched when stale or when it lacks `kid` (rate-limited).
    pub async fn jwks(
        &self,
        http: &reqwest::Client,
        url: &str,
        kid: Option<&str>,
    ) -> Result<Arc<Value>, PluginError> {
        let cached = {
            let mut inner = self.lock();
            let cached = inner.jwks.get(url).map(|e| (e.doc.clone(), e.fetched_at));
            if let Some((doc, at)) = &cached {
                {
                    let fresh = at.elapsed() < self.max_age;
                    let has_kid = kid.is_none_or(|k| jwks_kids(doc).any(|x| x == k));
                    if fresh && has_kid {
                        return Ok(doc.clone());
                    }
                    let recently = inner
                        .attempts
                        .get(url)
                        .is_some_and(|t| t.elapsed() < self.min_refresh);
                    if fresh && recently {
                        // Unknown kid but we refetched moments ago: answer from cache, the
                        // caller reports the unknown key.
                        return Ok(doc.clone());
                    }
                }
            }
            inner.attempts.insert(url.to_owned(), Instant::now());
            cached
        };
        match fetch_json(http, url).await {
            Ok(doc) if doc.get("keys").is_some_and(Value::is_array) => {
                let doc = Arc::new(doc);
                let entry = Entry {
                    doc: doc.clone(),
                    fetched_at: Instant::now(),
                };
                self.lock().jwks.insert(url.to_owned(), entry);
                Ok(doc)
            }
            Ok(_) => Err(PluginError::Metadata(format!(
                "{url} is not a JWKS (no `keys` array)"
            ))),
            Err(e) => match cached {
                Some((doc, _)) => {
                    tracing::warn!(url, error = %e, "JWKS refresh failed, keeping the cached key set");
                    Ok(doc)
                }
                None => Err(e),
            },
        }
    }

    /// A JSON document (OpenID discovery) at `url`, cached for `max_age`.
    pub async fn document(&self, http: &reqwest::Client, url: &str) -> Result<Arc<Value>, PluginError> {
        if let Some(e) = self.lock().documents.get(url)
            && e.fetched_at.elapsed() < self.max_age
        {
            return Ok(e.doc.clone());
        }
        let doc = Arc::new(fetch_json(http, url).await?);
        let entry = Entry {
            doc: doc.clone(),
            fetched_at: Instant::now(),
        };
        self.lock().documents.insert(url.to_owned(), entry);
        Ok(doc)
    }
}

async fn fetch_json(http: &reqwest::Client, url: &str) -> Result<Value, PluginError> {
    let resp = http
        .get(url)
        .header(reqwest::header::ACCEPT, "application/json")
        .send()
        .await
        .map_err(|e| PluginError::Metadata(format!("GET {url}: {}", crate::oauth::describe_reqwest(&e))))?;
    let status = resp.status();
    let body = resp
        .text()
        .await
        .map_err(|e| PluginError::Metadata(format!("GET {url}: {}", crate::oauth::describe_reqwest(&e))))?;
    if !status.is_success() {
        return Err(PluginError::Metadata(format!(
            "GET {url}: HTTP {}: {}",
            status.as_u16(),
            excerpt(&body, 200)
        )));
    }
    serde_json::from_str(&body)
        .map_err(|_| PluginError::Metadata(format!("GET {url}: the answer is not JSON")))
}
