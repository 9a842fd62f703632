//! The login page: `GET /if/flow/default-authentication-flow/` rendered over and over, each
//! client on its own keep-alive connection. By default every request comes from a new visitor
//! (no cookies: each render starts a flow); `with_cookies` keeps the cookies Gatehouse sets, as a
//! browser reloading the page would.

use std::collections::BTreeMap;
use std::time::Duration;

use reqwest::header::{COOKIE, SET_COOKIE};

use super::env::Env;
use super::{OpFuture, Report, Stop, Worker, drive, excerpt};

pub const PATH: &str = "/if/flow/default-authentication-flow/";

#[derive(Debug, Clone)]
pub struct Options {
    pub clients: usize,
    pub stop: Stop,
    pub with_cookies: bool,
    /// Requests before the measured phase.
    pub warmup: u64,
}

struct PageWorker {
    http: reqwest::Client,
    url: String,
    cookies: Option<BTreeMap<String, String>>,
}

impl Worker for PageWorker {
    fn run(&mut self, _seq: u64) -> OpFuture<'_> {
        Box::pin(async move {
            let mut req = self.http.get(&self.url);
            if let Some(jar) = &self.cookies
                && !jar.is_empty()
            {
                let header = jar
                    .iter()
                    .map(|(k, v)| format!("{k}={v}"))
                    .collect::<Vec<_>>()
                    .join("; ");
                req = req.header(COOKIE, header);
            }
            let res = req.send().await.map_err(|e| format!("GET {}: {e}", self.url))?;
            let status = res.status().as_u16();
            if let Some(jar) = &mut self.cookies {
                for value in res.headers().get_all(SET_COOKIE) {
                    let text = value.to_str().unwrap_or_default();
                    let pair = text.split(';').next().unwrap_or_default();
                    if let Some((name, value)) = pair.split_once('=') {
                        jar.insert(name.to_owned(), value.to_owned());
                    }
                }
            }
            let body = res.text().await.map_err(|e| format!("reading the page: {e}"))?;
            if status == 200 && body.contains("<form") {
                Ok(())
            } else {
                Err(format!("{status}: {}", excerpt(&body, 300)))
            }
        })
    }
}

fn workers(env: &Env, clients: usize, with_cookies: bool) -> anyhow::Result<Vec<Box<dyn Worker>>> {
    let mut out: Vec<Box<dyn Worker>> = Vec::with_capacity(clients);
    for _ in 0..clients.max(1) {
        // One client per worker: its own keep-alive connection.
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .pool_max_idle_per_host(1)
            .timeout(Duration::from_secs(30))
            .build()?;
        out.push(Box::new(PageWorker {
            http,
            url: format!("{}{PATH}", env.target.base_url),
            cookies: with_cookies.then(BTreeMap::new),
        }));
    }
    Ok(out)
}

pub async fn run(env: &Env, opts: &Options) -> anyhow::Result<Vec<Report>> {
    let params = |phase: &str| format!("phase={phase} cookies={}", opts.with_cookies);
    let mut reports = Vec::new();
    if opts.warmup > 0 {
        let w = workers(env, opts.clients, opts.with_cookies)?;
        reports.push(
            drive(
                &env.target,
                w,
                Stop::Count(opts.warmup),
                "login-page",
                params("warmup"),
            )
            .await?,
        );
    }
    let w = workers(env, opts.clients, opts.with_cookies)?;
    reports.push(drive(&env.target, w, opts.stop, "login-page", params("measured")).await?);
    Ok(reports)
}
