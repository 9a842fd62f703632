//! A [`Target`] plus the Entra simulator (in this process) and the Entra ID source `entra-id`
//! created through the admin API, as `entra-sim` prints it and [`crate::entra::EntraEnv`] does.

use anyhow::{Context, anyhow, bail};
use serde_json::Value;

use super::target::{ADMIN_TOKEN, Target};
use crate::entra::{SLUG, source_json};
use crate::entra_sim::{EntraSim, fixtures};

/// Admin REST API calls with the bootstrap token.
#[derive(Clone)]
pub struct Admin {
    pub http: reqwest::Client,
    pub base_url: String,
}

impl Admin {
    pub fn new(base_url: &str) -> anyhow::Result<Self> {
        Ok(Self {
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()?,
            base_url: base_url.to_owned(),
        })
    }

    /// (status, JSON body or `Null`).
    pub async fn call(&self, method: &str, path: &str, body: Option<&Value>) -> anyhow::Result<(u16, Value)> {
        let method = reqwest::Method::from_bytes(method.as_bytes())?;
        let mut req = self
            .http
            .request(method.clone(), format!("{}{path}", self.base_url))
            .bearer_auth(ADMIN_TOKEN);
        if let Some(body) = body {
            req = req.json(body);
        }
        let res = req.send().await.with_context(|| format!("{method} {path}"))?;
        let status = res.status().as_u16();
        let text = res.text().await.unwrap_or_default();
        Ok((status, serde_json::from_str(&text).unwrap_or(Value::Null)))
    }

    /// A call that must answer `expected`; returns the body.
    pub async fn expect(
        &self,
        method: &str,
        path: &str,
        body: Option<&Value>,
        expected: u16,
    ) -> anyhow::Result<Value> {
        let (status, answer) = self.call(method, path, body).await?;
        if status != expected {
            bail!("{method} {path} answered {status} (expected {expected}): {answer}");
        }
        Ok(answer)
    }
}

/// Gatehouse, the simulator whose Contoso tenant creates `loaduser{n}@contoso.onmicrosoft.com`
/// on first sign-in, and the `entra-id` source (group sync on).
pub struct Env {
    pub target: Target,
    pub sim: EntraSim,
    pub admin: Admin,
    /// The source's `pk` (a UUID string).
    pub source_pk: String,
}

impl Env {
    /// Starts the simulator for `target` and creates the source.
    pub async fn new(target: Target) -> anyhow::Result<Self> {
        let callback = format!("{}/source/oauth/callback/{SLUG}/", target.base_url);
        let sim = EntraSim::start(fixtures::standard_directory_with_redirect(&callback))
            .context("starting the Entra simulator")?;
        let admin = Admin::new(&target.base_url)?;
        let source = admin
            .expect(
                "POST",
                "/api/v3/sources/oauth/",
                Some(&source_json(&sim, fixtures::CONTOSO)),
                201,
            )
            .await
            .context("creating the Entra ID source")?;
        let source_pk = match &source["pk"] {
            Value::String(s) => s.clone(),
            Value::Null => bail!("the created source has no pk: {source}"),
            other => other.to_string(),
        };
        Ok(Self {
            target,
            sim,
            admin,
            source_pk,
        })
    }

    /// Synthetic users created from now on are members of `count` groups (`load-group-<i>`).
    pub fn set_group_count(&self, count: usize) -> anyhow::Result<()> {
        self.sim.with_directory(|d| {
            let tenant = d
                .tenant_mut(fixtures::CONTOSO)
                .ok_or_else(|| anyhow!("no Contoso tenant"))?;
            let synthetic = tenant
                .synthetic
                .as_mut()
                .ok_or_else(|| anyhow!("the Contoso tenant has no synthetic users"))?;
            synthetic.group_count = count;
            Ok(())
        })
    }

    pub async fn stop(self) {
        self.sim.stop();
        self.target.stop().await;
    }
}

/// `loaduser{n}@contoso.onmicrosoft.com`.
pub fn load_user(n: u64) -> String {
    format!("loaduser{n}@{}", fixtures::CONTOSO_DOMAIN)
}
