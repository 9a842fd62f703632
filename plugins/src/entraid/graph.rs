//! Microsoft Graph calls: the `/me` profile and the user's groups, with paging and a per-login
//! time budget for throttling (429/503 honour `Retry-After`).

use std::time::Duration;

use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use serde_json::value::RawValue;
use tokio::time::Instant;

use super::settings::GroupSyncMode;
use crate::oauth::describe_reqwest;
use crate::types::{GroupInfo, GroupSync, UpstreamGroup};
use crate::util::excerpt;

const GROUP_SELECT: &str =
    "id,displayName,description,securityEnabled,mailEnabled,groupTypes,onPremisesSecurityIdentifier,mail";

/// Why a Graph call failed; `Display` is safe to show and log.
#[derive(Debug)]
pub(crate) enum GraphError {
    Status { status: u16, detail: String },
    Throttled(String),
    Network(String),
    Invalid(String),
}

impl std::fmt::Display for GraphError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Status { status, detail } => write!(f, "Graph answered HTTP {status}: {detail}"),
            Self::Throttled(why) => write!(f, "Graph kept throttling: {why}"),
            Self::Network(why) => write!(f, "Graph could not be reached: {why}"),
            Self::Invalid(why) => write!(f, "Graph sent an unexpected answer: {why}"),
        }
    }
}

fn retry_after(resp: &reqwest::Response) -> Option<Duration> {
    let v = resp.headers().get(reqwest::header::RETRY_AFTER)?.to_str().ok()?;
    v.trim().parse::<u64>().ok().map(Duration::from_secs)
}

/// GET a Graph URL as JSON, retrying 429/503/504 while the deadline allows.
pub(crate) async fn get_json<T: DeserializeOwned>(
    http: &reqwest::Client,
    url: &str,
    token: &str,
    deadline: Instant,
) -> Result<T, GraphError> {
    let mut attempt: u32 = 0;
    loop {
        let remaining = deadline.saturating_duration_since(Instant::now());
        if remaining.is_zero() {
            return Err(GraphError::Throttled("the time budget ran out".to_owned()));
        }
        let send = http
            .get(url)
            .bearer_auth(token)
            .header(reqwest::header::ACCEPT, "application/json")
            .send();
        let resp = match tokio::time::timeout(remaining, send).await {
            Err(_) => return Err(GraphError::Network("no answer within the time budget".to_owned())),
            Ok(Err(e)) => return Err(GraphError::Network(describe_reqwest(&e))),
            Ok(Ok(r)) => r,
        };
        let status = resp.status().as_u16();
        if matches!(status, 429 | 503 | 504) {
            // Some Graph resources omit Retry-After on 429: fall back to exponential backoff.
            let wait = retry_after(&resp).unwrap_or_else(|| Duration::from_secs(1 << attempt.min(4)));
            attempt += 1;
            if Instant::now() + wait >= deadline {
                return Err(GraphError::Throttled(format!(
                    "HTTP {status} with Retry-After {}s, beyond the remaining time budget",
                    wait.as_secs()
                )));
            }
            tokio::time::sleep(wait).await;
            continue;
        }
        let remaining = deadline.saturating_duration_since(Instant::now());
        let body = match tokio::time::timeout(remaining, resp.text()).await {
            Err(_) => return Err(GraphError::Network("no answer within the time budget".to_owned())),
            Ok(Err(e)) => return Err(GraphError::Network(describe_reqwest(&e))),
            Ok(Ok(b)) => b,
        };
        if !(200..300).contains(&status) {
            return Err(GraphError::Status {
                status,
                detail: graph_error_detail(&body),
            });
        }
        return serde_json::from_str(&body)
            .map_err(|_| GraphError::Invalid("the body is not JSON".to_owned()));
    }
}

/// `code: message` of a Graph error body, else an excerpt.
fn graph_error_detail(body: &str) -> String {
    let parsed: Option<Value> = serde_json::from_str(body).ok();
    let err = parsed.as_ref().and_then(|v| v.get("error"));
    match (
        err.and_then(|e| e.get("code")).and_then(Value::as_str),
        err.and_then(|e| e.get("message")).and_then(Value::as_str),
    ) {
        (Some(c), Some(m)) => format!("{c}: {m}"),
        (Some(c), None) => c.to_owned(),
        _ => excerpt(body, 200),
    }
}

pub(crate) fn profile_url_with_select(profile_url: &str, select: &str) -> String {
    if profile_url.contains("$select=") {
        return profile_url.to_owned();
    }
    let sep = if profile_url.contains('?') { '&' } else { '?' };
    format!("{profile_url}{sep}$select={select}")
}

/// One page of a membership listing; the group objects stay JSON text.
#[derive(Deserialize)]
struct GroupPage {
    value: Option<Vec<Box<RawValue>>>,
    #[serde(rename = "@odata.nextLink")]
    next_link: Option<String>,
}

/// What paging needs from a group object (other fields are skipped without being built).
#[derive(Deserialize)]
struct GroupHead {
    #[serde(rename = "@odata.type")]
    odata_type: Option<String>,
    id: Option<String>,
    #[serde(rename = "displayName")]
    display_name: Option<String>,
}

/// Fetches every group of the signed-in user; never fails the login itself.
pub(crate) async fn fetch_groups(
    http: &reqwest::Client,
    graph_base: &str,
    token: &str,
    mode: GroupSyncMode,
    budget: Duration,
) -> GroupSync {
    let relation = match mode {
        GroupSyncMode::Off => return GroupSync::Off,
        GroupSyncMode::Direct => "memberOf",
        GroupSyncMode::Transitive => "transitiveMemberOf",
    };
    let deadline = Instant::now() + budget;
    let mut url =
        format!("{graph_base}/v1.0/me/{relation}/microsoft.graph.group?$select={GROUP_SELECT}&$top=999");
    let mut groups = Vec::new();
    // foldhash: thousands of ids per login, several times faster than SipHash.
    let mut seen: std::collections::HashSet<String, foldhash::fast::RandomState> = Default::default();
    loop {
        let page: GroupPage = match get_json(http, &url, token, deadline).await {
            Ok(p) => p,
            Err(e) => {
                return GroupSync::Failed {
                    reason: e.to_string(),
                };
            }
        };
        let Some(items) = page.value else {
            return GroupSync::Failed {
                reason: "a Graph page had no `value` array".to_owned(),
            };
        };
        for raw in items {
            // The fields needed here are read from the object's text; the object is kept as
            // text for mappings.
            let Ok(head) = serde_json::from_str::<GroupHead>(raw.get()) else {
                continue;
            };
            // Cast endpoints may omit @odata.type; where present, only groups count
            // (directory roles and administrative units are skipped).
            if head
                .odata_type
                .as_deref()
                .is_some_and(|t| t != "#microsoft.graph.group")
            {
                continue;
            }
            let Some(identifier) = head.id else {
                continue;
            };
            if !seen.insert(identifier.clone()) {
                continue;
            }
            let name = head
                .display_name
                .filter(|n| !n.is_empty())
                .unwrap_or_else(|| identifier.clone());
            groups.push(UpstreamGroup {
                identifier,
                name,
                info: GroupInfo::from_raw(raw),
            });
        }
        match page.next_link.as_deref() {
            None => return GroupSync::Synced { groups },
            Some(next) => {
                // Never send the bearer token to another host than Graph's.
                let same_origin = url::Url::parse(next).is_ok_and(|u| crate::util::origin(&u) == graph_base);
                if !same_origin {
                    return GroupSync::Failed {
                        reason: "Graph's nextLink points to another host".to_owned(),
                    };
                }
                url = next.to_owned();
            }
        }
    }
}
