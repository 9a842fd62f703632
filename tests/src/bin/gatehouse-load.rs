//! `gatehouse-load`: load scenarios against the release `gatehouse` binary (docs/benchmarks.md).
//!
//! Each run starts Gatehouse as a child process on a fresh SQLite or PostgreSQL database, the
//! Entra simulator in this process, creates the Entra ID source through the admin API, runs the
//! scenario with N concurrent clients and prints throughput, latency percentiles and Gatehouse
//! CPU seconds per operation (from `/proc/<pid>/stat`).

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::anyhow;
use clap::{Args, Parser, Subcommand, ValueEnum};
use gatehouse_testkit::Backend;
use gatehouse_testkit::load::{Env, LaunchOptions, Report, Stop, Target, entra_login, login_page, m2m};

#[derive(Parser)]
#[command(about = "Load generator for Gatehouse: Entra ID logins, the login page, M2M token exchange")]
struct Cli {
    #[command(subcommand)]
    scenario: Scenario,
}

#[derive(Subcommand)]
enum Scenario {
    /// Complete Entra ID sign-ins through the simulator, as a browser does them.
    EntraLogin {
        #[command(flatten)]
        common: Common,
        /// Groups each load user is a member of.
        #[arg(long, default_value_t = 100)]
        groups: usize,
        /// `first`: each login is a new user (enrollment); `repeat`: users logged in once before,
        /// only their repeat logins are measured.
        #[arg(long, value_enum, default_value_t = ModeArg::Repeat)]
        mode: ModeArg,
        /// `repeat`: distinct users per client.
        #[arg(long, default_value_t = 1)]
        users_per_client: u64,
        /// Number of the first synthetic user (`loaduser<n>@contoso.onmicrosoft.com`); the
        /// default is time-based, so that `first` runs on a kept database meet new users.
        #[arg(long)]
        user_base: Option<u64>,
    },
    /// `GET /if/flow/default-authentication-flow/` over keep-alive connections.
    LoginPage {
        #[command(flatten)]
        common: Common,
        /// Keep the cookies Gatehouse sets (a browser reloading) instead of a new visitor each time.
        #[arg(long)]
        with_cookies: bool,
    },
    /// Only start Gatehouse (with the simulator and the source) and print
    /// `ready <base url> <gatehouse pid>`, for external tools such as wrk; stops on Ctrl-C.
    Serve {
        #[command(flatten)]
        common: Common,
    },
    /// Entra client-credentials tokens exchanged at `/application/o/token/`.
    M2m {
        #[command(flatten)]
        common: Common,
        /// Signing algorithm(s) of the provider.
        #[arg(long, value_enum, default_value_t = AlgArg::Both)]
        alg: AlgArg,
        /// Distinct Entra tokens fetched beforehand and cycled through.
        #[arg(long, default_value_t = 256)]
        tokens: usize,
    },
}

#[derive(Args, Clone)]
struct Common {
    /// Database backend of the Gatehouse under test.
    #[arg(long, value_enum, default_value_t = BackendArg::Sqlite)]
    backend: BackendArg,
    /// PostgreSQL URL of an empty database to use instead of a throwaway cluster's.
    #[arg(long, env = "GATEHOUSE_LOAD_DATABASE_URL")]
    database_url: Option<String>,
    /// The gatehouse binary (default: `gatehouse` next to this program, i.e. target/release).
    #[arg(long)]
    gatehouse_bin: Option<PathBuf>,
    /// Concurrent clients.
    #[arg(long, short = 'c', default_value_t = 8)]
    clients: usize,
    /// Length of the measured phase in seconds (ignored with --count).
    #[arg(long, short = 'd', default_value_t = 20.0)]
    duration: f64,
    /// Total operations of the measured phase, instead of a duration.
    #[arg(long, short = 'n')]
    count: Option<u64>,
    /// Operations before the measured phase (not measured).
    #[arg(long, default_value_t = 50)]
    warmup: u64,
    /// Gatehouse HTTP workers (GATEHOUSE_WORKERS; 0 = one per CPU).
    #[arg(long, default_value_t = 0)]
    workers: usize,
    /// Gatehouse log level (GATEHOUSE_LOG_LEVEL).
    #[arg(long, default_value = "warn")]
    log_level: String,
    /// Gatehouse database pool size (GATEHOUSE_DATABASE_POOL_SIZE).
    #[arg(long)]
    pool_size: Option<u32>,
    /// More environment for Gatehouse, `KEY=VALUE` (repeatable).
    #[arg(long = "gatehouse-env", value_parser = parse_env)]
    gatehouse_env: Vec<(String, String)>,
    /// Print the reports as JSON lines as well.
    #[arg(long)]
    json: bool,
    /// Print the warm-up/preparation phases too.
    #[arg(long)]
    verbose: bool,
}

fn parse_env(text: &str) -> Result<(String, String), String> {
    text.split_once('=')
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .ok_or_else(|| format!("expected KEY=VALUE, got {text}"))
}

#[derive(ValueEnum, Clone, Copy)]
enum BackendArg {
    Sqlite,
    Postgres,
}

#[derive(ValueEnum, Clone, Copy)]
enum ModeArg {
    First,
    Repeat,
}

#[derive(ValueEnum, Clone, Copy)]
enum AlgArg {
    Es256,
    Rs256,
    Both,
}

impl Common {
    fn stop(&self) -> Stop {
        match self.count {
            Some(n) => Stop::Count(n),
            None => Stop::Duration(Duration::from_secs_f64(self.duration.max(0.1))),
        }
    }

    fn launch_options(&self) -> LaunchOptions {
        LaunchOptions {
            binary: self
                .gatehouse_bin
                .clone()
                .unwrap_or_else(LaunchOptions::default_binary),
            backend: match self.backend {
                BackendArg::Sqlite => Backend::Sqlite,
                BackendArg::Postgres => Backend::Postgres,
            },
            database_url: self.database_url.clone(),
            workers: self.workers,
            log_level: self.log_level.clone(),
            pool_size: self.pool_size,
            extra_env: self.gatehouse_env.clone(),
        }
    }

    async fn env(&self) -> anyhow::Result<Env> {
        let target = Target::launch(&self.launch_options()).await?;
        Env::new(target).await
    }

    fn print(&self, reports: &[Report], unit: &str) -> anyhow::Result<()> {
        for report in reports {
            let measured = report.params.contains("phase=measured");
            if measured || self.verbose || report.errors > 0 {
                println!("{}", report.render(unit));
            }
            if self.json && measured {
                println!("{}", serde_json::to_string(report)?);
            }
        }
        Ok(())
    }
}

/// SIGINT or SIGTERM.
async fn interrupted() -> anyhow::Result<&'static str> {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    tokio::select! {
        r = tokio::signal::ctrl_c() => r.map(|()| "SIGINT").map_err(Into::into),
        _ = term.recv() => Ok("SIGTERM"),
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    // On a signal the scenario's future is dropped, and with it Gatehouse and the database.
    let result = tokio::select! {
        result = run(cli) => result,
        signal = interrupted() => signal.and_then(|s| Err(anyhow!("interrupted ({s})"))),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let (common, env, outcome, unit) = match &cli.scenario {
        Scenario::EntraLogin {
            common,
            groups,
            mode,
            users_per_client,
            user_base,
        } => {
            let env = common.env().await?;
            let base = match user_base {
                Some(n) => *n,
                None => {
                    let secs = std::time::SystemTime::now()
                        .duration_since(std::time::UNIX_EPOCH)
                        .map(|d| d.as_secs())
                        .unwrap_or(0);
                    (secs % 10_000_000) * 100_000
                }
            };
            let opts = entra_login::Options {
                clients: common.clients,
                stop: common.stop(),
                groups: *groups,
                mode: match mode {
                    ModeArg::First => entra_login::Mode::First,
                    ModeArg::Repeat => entra_login::Mode::Repeat,
                },
                users_per_client: *users_per_client,
                warmup: common.warmup,
                user_base: base,
            };
            let outcome = entra_login::run(&env, &opts).await;
            (common, env, outcome, "logins")
        }
        Scenario::LoginPage { common, with_cookies } => {
            let env = common.env().await?;
            let opts = login_page::Options {
                clients: common.clients,
                stop: common.stop(),
                with_cookies: *with_cookies,
                warmup: common.warmup,
            };
            let outcome = login_page::run(&env, &opts).await;
            (common, env, outcome, "requests")
        }
        Scenario::Serve { common } => {
            let env = common.env().await?;
            println!(
                "ready {} {}",
                env.target.base_url,
                env.target.pid().map(|p| p.to_string()).unwrap_or_default()
            );
            // Until interrupted: `main` then drops `env`, which stops Gatehouse.
            std::future::pending::<()>().await;
            return Ok(());
        }
        Scenario::M2m { common, alg, tokens } => {
            let env = common.env().await?;
            let opts = m2m::Options {
                clients: common.clients,
                stop: common.stop(),
                algorithms: match alg {
                    AlgArg::Es256 => vec![m2m::Algorithm::ES256],
                    AlgArg::Rs256 => vec![m2m::Algorithm::RS256],
                    AlgArg::Both => vec![m2m::Algorithm::ES256, m2m::Algorithm::RS256],
                },
                tokens: *tokens,
                warmup: common.warmup,
            };
            let outcome = m2m::run(&env, &opts).await;
            (common, env, outcome, "exchanges")
        }
    };
    let result = match outcome {
        Ok(reports) => {
            common.print(&reports, unit)?;
            if reports.iter().any(|r| r.errors > 0)
                && let Some(tail) = env.target.log_tail().filter(|t| !t.trim().is_empty())
            {
                eprintln!("gatehouse log (tail; more with --log-level info):\n{tail}");
            }
            // Errors of preparation phases are shown above; only the measured ones fail the run.
            let failed: Vec<&Report> = reports
                .iter()
                .filter(|r| r.errors > 0 && r.params.contains("phase=measured"))
                .collect();
            if failed.is_empty() {
                Ok(())
            } else {
                Err(anyhow!(
                    "{} phase(s) had errors; first: {}",
                    failed.len(),
                    failed
                        .first()
                        .and_then(|r| r.first_error.clone())
                        .unwrap_or_default()
                ))
            }
        }
        Err(e) => {
            if let Some(tail) = env.target.log_tail().filter(|t| !t.trim().is_empty()) {
                eprintln!("gatehouse log (tail):\n{tail}");
            }
            Err(e)
        }
    };
    env.stop().await;
    result
}
