//! Machine-to-machine token exchange (DESIGN §8): a pool of Entra client-credentials tokens for
//! `api://<source client id>/.default` is fetched from the simulator first; then clients POST
//! them to `/application/o/token/` (`grant_type=client_credentials` with a `jwt-bearer` client
//! assertion) of an OAuth2 provider federated with the Entra ID source, signed with an ES256 or
//! an RS256 key.

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, anyhow, bail};
use serde::Serialize;
use serde_json::{Value, json};

use super::env::Env;
use super::{OpFuture, Report, Stop, Worker, drive, excerpt};
use crate::entra_sim::fixtures;

pub const TOKEN_PATH: &str = "/application/o/token/";
pub const ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Algorithm {
    ES256,
    RS256,
}

impl Algorithm {
    pub fn name(self) -> &'static str {
        match self {
            Self::ES256 => "ES256",
            Self::RS256 => "RS256",
        }
    }
}

#[derive(Debug, Clone)]
pub struct Options {
    pub clients: usize,
    pub stop: Stop,
    pub algorithms: Vec<Algorithm>,
    /// Distinct Entra tokens to cycle through.
    pub tokens: usize,
    /// Exchanges before each measured phase.
    pub warmup: u64,
}

/// The provider's `client_id` after creating a signing-key-specific provider and application.
pub async fn create_provider(env: &Env, alg: Algorithm) -> anyhow::Result<String> {
    let keys = env
        .admin
        .expect("GET", "/api/v3/crypto/signing_keys/?page_size=100", None, 200)
        .await
        .context("listing signing keys")?;
    let key = keys["results"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|k| {
            k["algorithm"]
                .as_str()
                .is_some_and(|a| a.eq_ignore_ascii_case(alg.name()))
        })
        .ok_or_else(|| anyhow!("no {} signing key in {keys}", alg.name()))?;
    let slug = format!("load-{}", alg.name().to_lowercase());
    let provider = env
        .admin
        .expect(
            "POST",
            "/api/v3/providers/oauth2/",
            Some(&json!({
                "name": slug,
                "client_type": "confidential",
                "redirect_uris": [{"matching_mode": "strict", "url": "https://app.example/cb"}],
                "signing_key": key["pk"],
                "jwt_federation_sources": [env.source_pk],
                // Who may exchange: the daemon's app role (an unsafe provider is refused on save).
                "jwt_federation_required_roles": [fixtures::EXCHANGE_ROLE],
            })),
            201,
        )
        .await
        .context("creating the OAuth2 provider")?;
    env.admin
        .expect(
            "POST",
            "/api/v3/core/applications/",
            Some(&json!({"name": slug, "slug": slug, "provider": provider["pk"]})),
            201,
        )
        .await
        .context("creating the application")?;
    provider["client_id"]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| anyhow!("the provider has no client_id: {provider}"))
}

/// `count` client-credentials tokens of the Contoso daemon for `api://<source app>/.default`.
pub async fn entra_tokens(env: &Env, count: usize) -> anyhow::Result<Vec<String>> {
    let http = reqwest::Client::new();
    let scope = format!("api://{}/.default", fixtures::APP);
    let mut tokens = Vec::with_capacity(count);
    for _ in 0..count.max(1) {
        let res = http
            .post(env.sim.token_url(fixtures::CONTOSO))
            .form(&[
                ("grant_type", "client_credentials"),
                ("client_id", fixtures::DAEMON),
                ("client_secret", fixtures::DAEMON_SECRET),
                ("scope", scope.as_str()),
            ])
            .send()
            .await
            .context("the simulator's token endpoint")?;
        let body: Value = res.json().await?;
        let token = body["access_token"]
            .as_str()
            .ok_or_else(|| anyhow!("no access_token from the simulator: {body}"))?;
        tokens.push(token.to_owned());
    }
    Ok(tokens)
}

struct ExchangeWorker {
    http: reqwest::Client,
    url: String,
    client_id: String,
    tokens: Arc<Vec<String>>,
}

/// One exchange; `Err` unless Gatehouse answers 200 with an access token.
pub async fn exchange(
    http: &reqwest::Client,
    url: &str,
    client_id: &str,
    assertion: &str,
) -> Result<Value, String> {
    let res = http
        .post(url)
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", client_id),
            ("client_assertion_type", ASSERTION_TYPE),
            ("client_assertion", assertion),
        ])
        .send()
        .await
        .map_err(|e| format!("POST {url}: {e}"))?;
    let status = res.status().as_u16();
    let text = res.text().await.map_err(|e| format!("reading the answer: {e}"))?;
    let body: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
    if status == 200 && body["access_token"].is_string() {
        Ok(body)
    } else {
        Err(format!("{status}: {}", excerpt(&text, 300)))
    }
}

impl Worker for ExchangeWorker {
    fn run(&mut self, seq: u64) -> OpFuture<'_> {
        Box::pin(async move {
            let idx = (seq % self.tokens.len().max(1) as u64) as usize;
            let token = self.tokens.get(idx).ok_or("no tokens")?;
            exchange(&self.http, &self.url, &self.client_id, token)
                .await
                .map(drop)
        })
    }
}

fn workers(
    env: &Env,
    clients: usize,
    client_id: &str,
    tokens: &Arc<Vec<String>>,
) -> anyhow::Result<Vec<Box<dyn Worker>>> {
    let mut out: Vec<Box<dyn Worker>> = Vec::with_capacity(clients);
    for _ in 0..clients.max(1) {
        let http = reqwest::Client::builder()
            .pool_max_idle_per_host(1)
            .timeout(Duration::from_secs(30))
            .build()?;
        out.push(Box::new(ExchangeWorker {
            http,
            url: format!("{}{TOKEN_PATH}", env.target.base_url),
            client_id: client_id.to_owned(),
            tokens: tokens.clone(),
        }));
    }
    Ok(out)
}

pub async fn run(env: &Env, opts: &Options) -> anyhow::Result<Vec<Report>> {
    let tokens = Arc::new(entra_tokens(env, opts.tokens).await?);
    let mut reports = Vec::new();
    for &alg in &opts.algorithms {
        let client_id = create_provider(env, alg).await?;
        // A first exchange, so that a broken setup fails with its reason.
        let http = reqwest::Client::new();
        let first = tokens.first().ok_or_else(|| anyhow!("no Entra tokens"))?;
        let url = format!("{}{TOKEN_PATH}", env.target.base_url);
        let answer = exchange(&http, &url, &client_id, first)
            .await
            .map_err(|e| anyhow!("the first {} exchange failed: {e}", alg.name()))?;
        if answer["token_type"].as_str().is_none() {
            bail!("unexpected exchange answer: {answer}");
        }
        let params = |phase: &str| format!("phase={phase} alg={} tokens={}", alg.name(), tokens.len());
        if opts.warmup > 0 {
            let w = workers(env, opts.clients, &client_id, &tokens)?;
            reports.push(drive(&env.target, w, Stop::Count(opts.warmup), "m2m", params("warmup")).await?);
        }
        let w = workers(env, opts.clients, &client_id, &tokens)?;
        reports.push(drive(&env.target, w, opts.stop, "m2m", params("measured")).await?);
    }
    Ok(reports)
}
