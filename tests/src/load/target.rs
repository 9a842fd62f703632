//! The Gatehouse under load: the release binary as a child process on a temp data dir (SQLite)
//! or a PostgreSQL database, or the application in this process (smoke tests).

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, anyhow, bail};

use crate::app::{DatabaseGuard, test_settings};
use crate::pg::{self, TestDatabase};
use crate::{Backend, TestApp, TestServer};

/// The admin API token every target is bootstrapped with.
pub const ADMIN_TOKEN: &str = TestApp::ADMIN_TOKEN;

/// CPU seconds (user + system, all threads) a process has used, from `/proc/<pid>/stat`.
pub fn process_cpu_seconds(pid: u32) -> anyhow::Result<f64> {
    let path = format!("/proc/{pid}/stat");
    let text = std::fs::read_to_string(&path).with_context(|| format!("reading {path}"))?;
    // The command name (field 2) is in parentheses and may contain spaces.
    let rest = text
        .rsplit_once(')')
        .map(|(_, rest)| rest)
        .ok_or_else(|| anyhow!("unexpected {path}: {text}"))?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // After the name: state is field 3, utime field 14, stime field 15.
    let field = |n: usize| -> anyhow::Result<u64> {
        fields
            .get(n - 3)
            .ok_or_else(|| anyhow!("{path} has no field {n}"))?
            .parse()
            .with_context(|| format!("field {n} of {path}"))
    };
    let ticks = field(14)? + field(15)?;
    Ok(ticks as f64 / rustix::param::clock_ticks_per_second() as f64)
}

/// CPU seconds of the PostgreSQL backends serving database `name` on this machine (their process
/// titles read `postgres: <user> <database> <client> <state>`). Backends that exit between two
/// readings take their time with them; pooled connections live as long as the server.
pub fn postgres_backends_cpu_seconds(name: &str) -> f64 {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return 0.0;
    };
    let needle = format!(" {name} ");
    let mut total = 0.0;
    for entry in entries.flatten() {
        let file_name = entry.file_name();
        let Some(pid) = file_name.to_str().and_then(|s| s.parse::<u32>().ok()) else {
            continue;
        };
        let Ok(cmdline) = std::fs::read(format!("/proc/{pid}/cmdline")) else {
            continue;
        };
        let title = String::from_utf8_lossy(&cmdline).replace('\0', " ");
        if title.starts_with("postgres: ") && title.contains(&needle) {
            total += process_cpu_seconds(pid).unwrap_or(0.0);
        }
    }
    total
}

/// How to start the release binary.
#[derive(Debug, Clone)]
pub struct LaunchOptions {
    /// `target/release/gatehouse`.
    pub binary: PathBuf,
    pub backend: Backend,
    /// A PostgreSQL URL to use as is (its database should be empty); without it, a fresh
    /// database on the testkit's throwaway cluster.
    pub database_url: Option<String>,
    /// `GATEHOUSE_WORKERS` (0 = one per CPU).
    pub workers: usize,
    /// `GATEHOUSE_LOG_LEVEL`.
    pub log_level: String,
    /// `GATEHOUSE_DATABASE_POOL_SIZE`, if set.
    pub pool_size: Option<u32>,
    /// More `GATEHOUSE_*` variables.
    pub extra_env: Vec<(String, String)>,
}

impl LaunchOptions {
    /// `gatehouse` next to the running executable (both are built into `target/release`).
    pub fn default_binary() -> PathBuf {
        std::env::current_exe()
            .ok()
            .and_then(|exe| exe.parent().map(|dir| dir.join("gatehouse")))
            .unwrap_or_else(|| PathBuf::from("target/release/gatehouse"))
    }
}

/// A `gatehouse serve` child process; killed on drop.
pub struct GatehouseProcess {
    child: Child,
    log: PathBuf,
    _dir: tempfile::TempDir,
    _database: Option<TestDatabase>,
}

impl GatehouseProcess {
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The last lines of the server's output (for error messages).
    pub fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(30)..].join("\n")
    }
}

impl Drop for GatehouseProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

enum Inner {
    Process(GatehouseProcess),
    InProcess {
        server: TestServer,
        _guard: DatabaseGuard,
    },
}

/// A running Gatehouse with the admin token [`ADMIN_TOKEN`] and no per-IP login rate limit.
pub struct Target {
    pub base_url: String,
    backend: Backend,
    /// The PostgreSQL database name, when the backend is PostgreSQL on this machine.
    pg_database: Option<String>,
    inner: Inner,
}

/// The database name of a PostgreSQL URL, if it is on this machine.
fn local_pg_database(url: &str) -> Option<String> {
    let parsed = url::Url::parse(url).ok()?;
    let local = matches!(
        parsed.host_str(),
        Some("127.0.0.1" | "localhost" | "::1" | "[::1]")
    );
    let name = parsed.path().trim_start_matches('/');
    (local && !name.is_empty()).then(|| name.to_owned())
}

fn free_port() -> anyhow::Result<u16> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").context("finding a free port")?;
    Ok(listener.local_addr()?.port())
}

impl Target {
    /// Starts the release binary and waits until it is ready.
    pub async fn launch(opts: &LaunchOptions) -> anyhow::Result<Self> {
        if !opts.binary.is_file() {
            bail!(
                "{} not found: run `cargo build --release -p gatehouse -p gatehouse-testkit` or pass --gatehouse-bin",
                opts.binary.display()
            );
        }
        let dir = tempfile::Builder::new()
            .prefix("gatehouse-load-")
            .tempdir()
            .context("temp dir")?;
        let (url, database) = match (opts.backend, &opts.database_url) {
            (Backend::Sqlite, _) => (
                format!("sqlite://{}", dir.path().join("gatehouse.db").display()),
                None,
            ),
            (Backend::Postgres, Some(url)) => (url.clone(), None),
            (Backend::Postgres, None) => {
                let db = pg::try_fresh_database()
                    .map_err(|e| anyhow!("{e}"))?
                    .ok_or_else(|| {
                        anyhow!("no PostgreSQL here: pass --database-url or install initdb/pg_ctl")
                    })?;
                (db.url.clone(), Some(db))
            }
        };
        let port = free_port()?;
        let base_url = format!("http://127.0.0.1:{port}");
        let log = dir.path().join("gatehouse.log");
        let log_file = std::fs::File::create(&log).context("log file")?;
        let mut cmd = Command::new(&opts.binary);
        cmd.arg("serve")
            .current_dir(dir.path())
            .env("GATEHOUSE_LISTEN", format!("127.0.0.1:{port}"))
            .env("GATEHOUSE_EXTERNAL_URL", format!("{base_url}/"))
            .env("GATEHOUSE_DATABASE_URL", &url)
            .env("GATEHOUSE_DATA_DIR", dir.path())
            .env(
                "GATEHOUSE_SECRET_KEY",
                "load-secret-key-load-secret-key-load-secret",
            )
            .env("GATEHOUSE_BOOTSTRAP_TOKEN", ADMIN_TOKEN)
            .env("GATEHOUSE_LOGIN_STARTS_PER_MINUTE", "0")
            .env("GATEHOUSE_WORKERS", opts.workers.to_string())
            .env("GATEHOUSE_LOG_LEVEL", &opts.log_level)
            .stdin(Stdio::null())
            .stdout(log_file.try_clone().context("log file")?)
            .stderr(log_file);
        if let Some(size) = opts.pool_size {
            cmd.env("GATEHOUSE_DATABASE_POOL_SIZE", size.to_string());
        }
        for (key, value) in &opts.extra_env {
            cmd.env(key, value);
        }
        let child = cmd
            .spawn()
            .with_context(|| format!("starting {}", opts.binary.display()))?;
        let mut process = GatehouseProcess {
            child,
            log,
            _dir: dir,
            _database: database,
        };
        wait_ready(&base_url, Some(&mut process)).await?;
        let pg_database = match opts.backend {
            Backend::Postgres => local_pg_database(&url),
            Backend::Sqlite => None,
        };
        Ok(Self {
            base_url,
            backend: opts.backend,
            pg_database,
            inner: Inner::Process(process),
        })
    }

    /// The application in this process on a fresh database (smoke tests); needs an actix
    /// runtime.
    pub async fn in_process(backend: Backend) -> anyhow::Result<Self> {
        let (url, guard) = DatabaseGuard::fresh(backend);
        let mut settings = test_settings(&url, guard.data_dir());
        settings.workers = 2;
        settings.login_starts_per_minute = 0;
        let server = TestServer::start(settings).await?;
        let base_url = server.base_url.clone();
        wait_ready(&base_url, None).await?;
        Ok(Self {
            base_url,
            backend,
            pg_database: None,
            inner: Inner::InProcess {
                server,
                _guard: guard,
            },
        })
    }

    pub fn backend_name(&self) -> &'static str {
        match self.backend {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }

    /// CPU seconds used so far by the Gatehouse process (this whole process when in-process).
    pub fn cpu_seconds(&self) -> anyhow::Result<f64> {
        let pid = match &self.inner {
            Inner::Process(p) => p.pid(),
            Inner::InProcess { .. } => std::process::id(),
        };
        process_cpu_seconds(pid)
    }

    /// CPU seconds used so far by the PostgreSQL backends of Gatehouse's database (0 on SQLite
    /// or a remote server).
    pub fn database_cpu_seconds(&self) -> f64 {
        self.pg_database
            .as_deref()
            .map_or(0.0, postgres_backends_cpu_seconds)
    }

    /// The child's pid, if Gatehouse runs as a child process.
    pub fn pid(&self) -> Option<u32> {
        match &self.inner {
            Inner::Process(p) => Some(p.pid()),
            Inner::InProcess { .. } => None,
        }
    }

    /// The end of the child's log, if any.
    pub fn log_tail(&self) -> Option<String> {
        match &self.inner {
            Inner::Process(p) => Some(p.log_tail()),
            Inner::InProcess { .. } => None,
        }
    }

    pub async fn stop(self) {
        match self.inner {
            Inner::Process(process) => drop(process),
            Inner::InProcess { server, _guard } => server.stop().await,
        }
    }
}

async fn wait_ready(base_url: &str, mut process: Option<&mut GatehouseProcess>) -> anyhow::Result<()> {
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(2))
        .build()?;
    let url = format!("{base_url}/-/health/ready/");
    let started = Instant::now();
    loop {
        if let Ok(res) = http.get(&url).send().await
            && res.status().is_success()
        {
            return Ok(());
        }
        if let Some(p) = process.as_deref_mut()
            && let Some(status) = p.child.try_wait()?
        {
            bail!(
                "gatehouse exited ({status}) before it was ready:\n{}",
                p.log_tail()
            );
        }
        if started.elapsed() > Duration::from_secs(90) {
            let tail = process.map(|p| p.log_tail()).unwrap_or_default();
            bail!("gatehouse was not ready after 90 s at {url}\n{tail}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
