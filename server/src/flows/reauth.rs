//! Re-authentication markers. When an application asks for a fresh login (`prompt=login`, or a
//! session older than `max_age`), the authorization endpoint mints a marker and sends the browser
//! to the login flow with `next` pointing back to it, marker included ([`PARAM`]). A login page
//! whose `next` carries a genuine marker plans as if nobody were signed in, and the session a
//! `user_login` stage creates for such a `next` (also after a source's login, which carries
//! `next` along) records the marker's nonce (hashed). Back at the authorization
//! endpoint, the marker counts only if it is genuine (signed with its own key), younger than
//! [`TTL_MINUTES`], and its nonce is still on the browser's session — which it then clears. So a
//! marker answers one login, once: an old URL, a marker from another login or a forged one asks
//! for the login again.
//!
//! Format: `<unix time>.<nonce>.<mac>`, the MAC over `<unix time>.<nonce>`.

use chrono::NaiveDateTime;

use crate::crypto::{self, CryptoError, Keys};

/// How long a marker stays usable after it was minted.
pub const TTL_MINUTES: i64 = 10;
/// The query parameter of the authorization URL that carries the marker.
pub const PARAM: &str = "gh_auth_after";

/// A genuine, unexpired marker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Marker {
    pub minted: i64,
    /// Random; what the session created by the answering login records (as a hash).
    pub nonce: String,
}

/// A new marker for a re-authentication starting `now`.
pub fn mint(keys: &Keys, now: NaiveDateTime) -> Result<String, CryptoError> {
    let nonce = crypto::random_token(24)?;
    let content = format!("{}.{nonce}", now.and_utc().timestamp());
    Ok(format!("{content}.{}", keys.reauth_mac(&content)))
}

/// The marker, if it is genuine and not older than [`TTL_MINUTES`] (nor from the future, beyond
/// a minute of clock skew between replicas).
pub fn verify(keys: &Keys, marker: &str, now: NaiveDateTime) -> Option<Marker> {
    if marker.len() > 200 {
        return None;
    }
    let (content, mac) = marker.rsplit_once('.')?;
    let (minted, nonce) = content.split_once('.')?;
    let minted: i64 = minted.parse().ok()?;
    if nonce.is_empty() || !keys.verify_reauth_mac(content, mac) {
        return None;
    }
    let age = now.and_utc().timestamp() - minted;
    (-60..=TTL_MINUTES * 60).contains(&age).then(|| Marker {
        minted,
        nonce: nonce.to_owned(),
    })
}

/// The genuine, unexpired marker in a `next` path's query, if there is one.
pub fn in_next(keys: &Keys, next: &str, now: NaiveDateTime) -> Option<Marker> {
    let (_, query) = next.split_once('?')?;
    url::form_urlencoded::parse(query.as_bytes())
        .filter(|(name, _)| name == PARAM)
        .find_map(|(_, marker)| verify(keys, &marker, now))
}

#[cfg(test)]
mod tests {
    use chrono::Duration;

    use super::*;

    fn now() -> NaiveDateTime {
        chrono::DateTime::from_timestamp(1_800_000_000, 0)
            .unwrap()
            .naive_utc()
    }

    #[test]
    fn a_marker_is_signed_and_expires() {
        let keys = Keys::from_secret("a secret key for tests, long enough");
        let marker = mint(&keys, now()).unwrap();
        let parsed = verify(&keys, &marker, now() + Duration::minutes(9)).unwrap();
        assert_eq!(parsed.minted, 1_800_000_000);
        assert!(
            verify(&keys, &marker, now() + Duration::minutes(11)).is_none(),
            "expired"
        );
        let other = Keys::from_secret("another secret key, long enough too");
        assert!(verify(&other, &marker, now()).is_none(), "foreign key");
        let (content, _) = marker.rsplit_once('.').unwrap();
        // The CSRF key does not sign markers.
        let with_csrf = format!("{content}.{}", keys.csrf_token(content));
        assert!(verify(&keys, &with_csrf, now()).is_none());
        let later = marker.replacen("1800000000", "1800000300", 1);
        assert!(verify(&keys, &later, now()).is_none(), "the time is signed");
        for bad in ["", "1.2", "x.y.z", "1800000000..mac"] {
            assert!(verify(&keys, bad, now()).is_none(), "{bad}");
        }
        let next = format!("/application/o/authorize/?client_id=a&{PARAM}={marker}&prompt=login");
        assert_eq!(in_next(&keys, &next, now()), Some(parsed));
        assert!(in_next(&keys, "/application/o/authorize/?client_id=a", now()).is_none());
    }
}
