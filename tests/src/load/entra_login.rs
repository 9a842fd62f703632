//! Complete Entra ID sign-ins, as a browser does them: `GET /source/oauth/login/entra-id/` →
//! the simulator's authorize endpoint (signs the `login_hint` user in without UI) → Gatehouse's
//! callback → the source's authentication or enrollment flow → `/`, answered logged in. Each
//! login uses a new cookie jar (a browser without a session), through
//! [`Browserless::try_login`] — the code path of the end-to-end tests.

use std::time::Duration;

use serde::Serialize;

use super::env::{Env, load_user};
use super::{OpFuture, Report, Stop, Worker, drive, excerpt};
use crate::entra::{Browserless, SLUG};

/// `first`: every measured login is a new user (enrollment: user, connection, memberships are
/// created). `repeat`: the users logged in once before the measured phase, which logs them in
/// again (authentication; nothing about them changed in Entra).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    First,
    Repeat,
}

#[derive(Debug, Clone)]
pub struct Options {
    pub clients: usize,
    pub stop: Stop,
    pub groups: usize,
    pub mode: Mode,
    /// `repeat`: distinct users per client (each client cycles through its own users).
    pub users_per_client: u64,
    /// Logins of other new users before the measured phase (warms caches and connections).
    pub warmup: u64,
    /// Number of the first synthetic user (`loaduser<n>`); later users count up.
    pub user_base: u64,
}

/// Which user a login is for.
#[derive(Clone, Copy)]
enum Pick {
    /// `user_base + seq`.
    New { base: u64 },
    /// Client `index` cycles through `base + index + clients * k`, `k < per_client`.
    Own {
        base: u64,
        index: u64,
        clients: u64,
        per_client: u64,
        done: u64,
    },
}

struct LoginWorker {
    http: reqwest::Client,
    base_url: String,
    pick: Pick,
}

/// One whole login of `upn` in a fresh browser; `Err` unless it ends logged in on `/`.
pub async fn login_once(http: &reqwest::Client, base_url: &str, upn: &str) -> Result<(), String> {
    let mut browser = Browserless {
        http: http.clone(),
        base: base_url.to_owned(),
        cookies: Default::default(),
    };
    let login = browser.try_login(SLUG, Some(upn), None).await?;
    if login.logged_in() {
        Ok(())
    } else {
        let last = login.trail.last().map(|u| u.split('?').next().unwrap_or(u));
        Err(format!(
            "{upn} did not end logged in: {} at {} after {} redirects: {}",
            login.status,
            last.unwrap_or("the login URL"),
            login.trail.len(),
            excerpt(&login.body, 300)
        ))
    }
}

impl Worker for LoginWorker {
    fn run(&mut self, seq: u64) -> OpFuture<'_> {
        let n = match &mut self.pick {
            Pick::New { base } => *base + seq,
            Pick::Own {
                base,
                index,
                clients,
                per_client,
                done,
            } => {
                let k = *done % *per_client;
                *done += 1;
                *base + *index + *clients * k
            }
        };
        Box::pin(async move { login_once(&self.http, &self.base_url, &load_user(n)).await })
    }
}

/// A client shared by the workers: no redirects (the browser follows them), pooled keep-alive
/// connections, and a timeout so that a stuck login counts as an error.
pub fn http_client(clients: usize) -> anyhow::Result<reqwest::Client> {
    Ok(reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .pool_max_idle_per_host(clients * 2)
        .timeout(Duration::from_secs(60))
        .build()?)
}

fn workers(
    env: &Env,
    http: &reqwest::Client,
    clients: usize,
    pick: impl Fn(usize) -> Pick,
) -> Vec<Box<dyn Worker>> {
    (0..clients)
        .map(|i| {
            Box::new(LoginWorker {
                http: http.clone(),
                base_url: env.target.base_url.clone(),
                pick: pick(i),
            }) as Box<dyn Worker>
        })
        .collect()
}

/// Runs the scenario on `env` (whose simulator is set to `opts.groups` groups per new user).
/// Returns the measured phase; the preparation phases are returned too, first.
pub async fn run(env: &Env, opts: &Options) -> anyhow::Result<Vec<Report>> {
    env.set_group_count(opts.groups)?;
    let http = http_client(opts.clients)?;
    let clients = opts.clients.max(1);
    let mut reports = Vec::new();
    let params =
        |phase: &str| format!("phase={phase} mode={:?} groups={}", opts.mode, opts.groups).to_lowercase();
    // Users: warm-up ones first, then the measured ones.
    let warm_base = opts.user_base;
    let measured_base = warm_base + opts.warmup;
    if opts.warmup > 0 {
        let w = workers(env, &http, clients, |_| Pick::New { base: warm_base });
        reports.push(
            drive(
                &env.target,
                w,
                Stop::Count(opts.warmup),
                "entra-login",
                params("warmup"),
            )
            .await?,
        );
    }
    match opts.mode {
        Mode::First => {
            let w = workers(env, &http, clients, |_| Pick::New { base: measured_base });
            reports.push(drive(&env.target, w, opts.stop, "entra-login", params("measured")).await?);
        }
        Mode::Repeat => {
            let per_client = opts.users_per_client.max(1);
            let users = clients as u64 * per_client;
            let w = workers(env, &http, clients, |_| Pick::New { base: measured_base });
            reports.push(
                drive(
                    &env.target,
                    w,
                    Stop::Count(users),
                    "entra-login",
                    params("enroll"),
                )
                .await?,
            );
            let w = workers(env, &http, clients, |i| Pick::Own {
                base: measured_base,
                index: i as u64,
                clients: clients as u64,
                per_client,
                done: 0,
            });
            reports.push(drive(&env.target, w, opts.stop, "entra-login", params("measured")).await?);
        }
    }
    Ok(reports)
}
