//! Mutable simulator state: directory, keys, issued grants, faults and counters.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::directory::Directory;
use super::keys::{KeyRing, Tamper};

/// Which Graph calls a fault applies to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GraphTarget {
    Me,
    Groups,
    Any,
}

/// `times` answers of `status` on matching Graph calls (429/503 carry `Retry-After`).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct GraphFault {
    pub target: GraphTarget,
    pub status: u16,
    #[serde(default)]
    pub retry_after_secs: Option<u64>,
    #[serde(default = "one")]
    pub times: u32,
}

fn one() -> u32 {
    1
}

/// One Entra-shaped token endpoint error to return next.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct TokenErrorSpec {
    pub error: String,
    pub code: u64,
    pub message: String,
    #[serde(default = "bad_request")]
    pub status: u16,
}

fn bad_request() -> u16 {
    400
}

/// An error redirect for the next /authorize call (`access_denied`, …).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct AuthorizeErrorSpec {
    pub error: String,
    pub code: Option<u64>,
    pub message: Option<String>,
}

/// Fault injection. Every field can be set from tests (`EntraSim::faults`) or posted as JSON
/// to `POST /_sim/faults` (fields left out keep their value).
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Faults {
    pub graph: Vec<GraphFault>,
    /// Items per Graph page, smaller than `$top` (Graph may return fewer than asked); 0 = 100.
    pub graph_page_size: usize,
    /// The `/microsoft.graph.group` cast returns roles and administrative units too, with
    /// `@odata.type`, as the un-cast endpoint does (checks consumer-side filtering).
    pub graph_cast_returns_all_types: bool,
    #[serde(with = "millis")]
    pub graph_delay: Duration,
    #[serde(with = "millis")]
    pub token_delay: Duration,
    /// Codes issued from now on are already expired (AADSTS70008 at redemption).
    pub expire_codes: bool,
    pub next_token_error: Option<TokenErrorSpec>,
    pub next_authorize_error: Option<AuthorizeErrorSpec>,
    /// Corrupts the next id_token.
    pub id_token_tamper: Option<Tamper>,
    /// Corrupts the next client-credentials access token.
    pub access_token_tamper: Option<Tamper>,
}

mod millis {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        u64::deserialize(d).map(Duration::from_millis)
    }
}

/// Request counters (read by tests, `GET /_sim/counters`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counters {
    pub authorize: u64,
    pub token: u64,
    pub jwks: u64,
    pub discovery: u64,
    pub graph: u64,
    pub graph_me: u64,
    pub graph_group_pages: u64,
    pub graph_throttled: u64,
}

#[derive(Clone, Debug)]
pub struct CodeGrant {
    pub client_id: String,
    pub redirect_uri: String,
    pub tenant_id: String,
    pub user_id: String,
    pub scopes: Vec<String>,
    pub nonce: Option<String>,
    pub code_challenge: Option<(String, String)>,
    pub expires_at: i64,
}

#[derive(Clone, Debug)]
pub struct RefreshGrant {
    pub client_id: String,
    pub tenant_id: String,
    pub user_id: String,
    pub scopes: Vec<String>,
}

/// What a Graph access token stands for.
#[derive(Clone, Debug)]
pub struct GraphGrant {
    pub client_id: String,
    pub tenant_id: String,
    /// `None` for app-only tokens.
    pub user_id: Option<String>,
    pub scopes: Vec<String>,
    pub expires_at: i64,
}

pub struct SimState {
    pub base_url: String,
    pub directory: Directory,
    pub keys: KeyRing,
    pub faults: Faults,
    pub counters: Counters,
    pub codes: HashMap<String, CodeGrant>,
    pub redeemed: HashSet<String>,
    pub refresh_tokens: HashMap<String, RefreshGrant>,
    pub graph_tokens: HashMap<String, GraphGrant>,
    /// Tenant used for `/common` sign-ins without `login_hint`.
    pub default_tenant: Option<String>,
}

impl SimState {
    /// The first Graph fault matching `target` that still has answers left (consumed).
    pub fn take_graph_fault(&mut self, target: GraphTarget) -> Option<GraphFault> {
        let f = self
            .faults
            .graph
            .iter_mut()
            .find(|f| f.times > 0 && (f.target == target || f.target == GraphTarget::Any))?;
        f.times -= 1;
        Some(f.clone())
    }
}
