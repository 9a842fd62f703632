//! The load generator behind the `gatehouse-load` binary (docs/benchmarks.md).
//!
//! A [`Target`] is the Gatehouse under test: the release binary as a child process (what the
//! binary measures; its CPU time is read from `/proc/<pid>/stat`) or an in-process server (what
//! the smoke test uses). [`Env`] adds the Entra simulator and an Entra ID source to it. The
//! scenarios ([`entra_login`], [`login_page`], [`m2m`]) run concurrent clients through
//! [`drive`] and return [`Report`]s: operations per second, latency percentiles and Gatehouse
//! CPU seconds per operation.

#![deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

pub mod entra_login;
pub mod env;
pub mod login_page;
pub mod m2m;
pub mod target;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use serde::Serialize;

pub use env::{Admin, Env};
pub use target::{LaunchOptions, Target, process_cpu_seconds};

/// When a measured phase ends.
#[derive(Debug, Clone, Copy)]
pub enum Stop {
    /// After this many operations in total (over all clients).
    Count(u64),
    /// Once this much time has passed (operations under way finish).
    Duration(Duration),
}

/// The boxed future of one operation: `Ok` or a description of what went wrong.
pub type OpFuture<'a> = Pin<Box<dyn Future<Output = Result<(), String>> + Send + 'a>>;

/// One concurrent client: runs operation number `seq` (global, from 0) of a phase.
pub trait Worker: Send + 'static {
    fn run(&mut self, seq: u64) -> OpFuture<'_>;
}

/// What a phase measured.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub scenario: String,
    pub backend: String,
    /// Scenario parameters (groups, mode, algorithm, …) as `key=value` words.
    pub params: String,
    pub clients: usize,
    pub ops: u64,
    pub errors: u64,
    pub first_error: Option<String>,
    pub seconds: f64,
    pub ops_per_second: f64,
    pub p50_ms: f64,
    pub p90_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
    /// Gatehouse CPU (user + system) over the phase.
    pub gatehouse_cpu_seconds: f64,
    pub gatehouse_cpu_ms_per_op: f64,
    /// PostgreSQL backends serving Gatehouse's database over the phase (0 on SQLite).
    pub database_cpu_ms_per_op: f64,
    /// This process (clients, and the simulator when it runs here) over the phase.
    pub loadgen_cpu_ms_per_op: f64,
}

impl Report {
    /// A few human-readable lines.
    pub fn render(&self, unit: &str) -> String {
        let mut out = format!(
            "{} [{}] {} clients={}\n  {} {unit} in {:.2} s = {:.1} {unit}/s, errors: {}\n  latency ms: p50 {:.2}  p90 {:.2}  p99 {:.2}  max {:.2}\n  Gatehouse CPU: {:.2} s = {:.3} ms per {} (load generator: {:.3} ms per {})",
            self.scenario,
            self.backend,
            self.params,
            self.clients,
            self.ops,
            self.seconds,
            self.ops_per_second,
            self.errors,
            self.p50_ms,
            self.p90_ms,
            self.p99_ms,
            self.max_ms,
            self.gatehouse_cpu_seconds,
            self.gatehouse_cpu_ms_per_op,
            unit.trim_end_matches('s'),
            self.loadgen_cpu_ms_per_op,
            unit.trim_end_matches('s'),
        );
        if self.database_cpu_ms_per_op > 0.0 {
            out.push_str(&format!(
                "\n  PostgreSQL backends' CPU: {:.3} ms per {}",
                self.database_cpu_ms_per_op,
                unit.trim_end_matches('s')
            ));
        }
        if let Some(e) = &self.first_error {
            out.push_str(&format!("\n  first error: {e}"));
        }
        out
    }
}

/// Percentile `p` (0..=1) of sorted durations, in milliseconds.
pub fn percentile_ms(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = (p * sorted.len() as f64).ceil() as usize;
    let idx = rank.clamp(1, sorted.len()) - 1;
    sorted[idx].as_secs_f64() * 1000.0
}

#[derive(Default)]
struct Tally {
    latencies: Vec<Duration>,
    errors: u64,
    first_error: Option<String>,
}

/// Runs `workers` concurrently (one tokio task each) until `stop`, measuring latencies and the
/// CPU time of `target` over the phase.
pub async fn drive(
    target: &Target,
    workers: Vec<Box<dyn Worker>>,
    stop: Stop,
    scenario: &str,
    params: String,
) -> anyhow::Result<Report> {
    let clients = workers.len();
    let counter = Arc::new(AtomicU64::new(0));
    let cpu_before = target.cpu_seconds()?;
    let db_before = target.database_cpu_seconds();
    let self_before = process_cpu_seconds(std::process::id())?;
    let started = Instant::now();
    let mut tasks = Vec::with_capacity(clients);
    for mut worker in workers {
        let counter = counter.clone();
        tasks.push(tokio::spawn(async move {
            let mut tally = Tally::default();
            loop {
                let seq = counter.fetch_add(1, Ordering::Relaxed);
                let more = match stop {
                    Stop::Count(n) => seq < n,
                    Stop::Duration(d) => started.elapsed() < d,
                };
                if !more {
                    break;
                }
                let t = Instant::now();
                match worker.run(seq).await {
                    Ok(()) => tally.latencies.push(t.elapsed()),
                    Err(e) => {
                        tally.errors += 1;
                        if tally.first_error.is_none() {
                            tally.first_error = Some(e);
                        }
                    }
                }
            }
            tally
        }));
    }
    let mut all = Tally::default();
    for task in tasks {
        let tally = task.await?;
        all.latencies.extend(tally.latencies);
        all.errors += tally.errors;
        if all.first_error.is_none() {
            all.first_error = tally.first_error;
        }
    }
    let seconds = started.elapsed().as_secs_f64();
    let cpu = target.cpu_seconds()? - cpu_before;
    let db_cpu = target.database_cpu_seconds() - db_before;
    let self_cpu = process_cpu_seconds(std::process::id())? - self_before;
    all.latencies.sort_unstable();
    let ops = all.latencies.len() as u64;
    let per_op = |s: f64| if ops == 0 { 0.0 } else { s * 1000.0 / ops as f64 };
    Ok(Report {
        scenario: scenario.to_owned(),
        backend: target.backend_name().to_owned(),
        params,
        clients,
        ops,
        errors: all.errors,
        first_error: all.first_error,
        seconds,
        ops_per_second: if seconds > 0.0 { ops as f64 / seconds } else { 0.0 },
        p50_ms: percentile_ms(&all.latencies, 0.50),
        p90_ms: percentile_ms(&all.latencies, 0.90),
        p99_ms: percentile_ms(&all.latencies, 0.99),
        max_ms: all.latencies.last().map_or(0.0, |d| d.as_secs_f64() * 1000.0),
        gatehouse_cpu_seconds: cpu,
        gatehouse_cpu_ms_per_op: per_op(cpu),
        database_cpu_ms_per_op: per_op(db_cpu),
        loadgen_cpu_ms_per_op: per_op(self_cpu),
    })
}

/// At most `max` characters of the text of `page` (an HTML page's `<body>` without tags, or
/// any other text), for error messages that quote an answer.
pub fn excerpt(page: &str, max: usize) -> String {
    let body = page.find("<body").map_or(page, |i| &page[i..]);
    let mut text = String::with_capacity(body.len().min(4 * max));
    let mut in_tag = false;
    for c in body.chars() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => {
                in_tag = false;
                text.push(' ');
            }
            _ if !in_tag => text.push(c),
            _ => {}
        }
    }
    let words: Vec<&str> = text.split_whitespace().collect();
    let joined = words.join(" ");
    let mut out: String = joined.chars().take(max).collect();
    if joined.chars().count() > max {
        out.push('…');
    }
    out
}
