//! Throwaway PostgreSQL for tests.
//!
//! [`fresh_database`] gives each test a brand-new database:
//! - on the server named by `GATEHOUSE_TEST_DATABASE_URL` (an admin URL, e.g.
//!   `postgres://postgres@127.0.0.1:5432/postgres`), which is what CI does; or else
//! - on a cluster the testkit starts itself from the machine's `initdb`/`pg_ctl`, shared by all
//!   test processes of a run (nextest runs each test in its own process) through a directory
//!   under `target/` guarded by a file lock. Nobody stops that cluster explicitly: a detached
//!   watchdog stops it and removes its files once no test has asked for a database for a minute.
//!
//! [`PrivateCluster`] is a cluster of one's own, for tests that stop and restart PostgreSQL under
//! a running server.
//!
//! As root (`initdb` refuses root), the binaries run as the `postgres` user through `runuser`.

use std::fs::{self, File, OpenOptions};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant, SystemTime};

use diesel::{Connection, PgConnection, RunQueryDsl};

/// A database that exists for as long as this value; dropped (forcibly) on `Drop`.
pub struct TestDatabase {
    pub url: String,
    admin_url: String,
    name: String,
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        if let Ok(mut conn) = PgConnection::establish(&self.admin_url) {
            let _ = diesel::sql_query(format!("DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)", self.name))
                .execute(&mut conn);
        }
    }
}

/// A new, empty database, or `None` when no PostgreSQL can be had.
pub fn fresh_database() -> Option<TestDatabase> {
    let admin_url = admin_url()?;
    if let Some(cluster) = shared_dir() {
        touch(&cluster.join("lease"));
    }
    let name = format!("gh_test_{}", uuid::Uuid::new_v4().simple());
    let mut conn = match PgConnection::establish(&admin_url) {
        Ok(conn) => conn,
        Err(e) => {
            eprintln!("gatehouse-testkit: cannot connect to {admin_url}: {e}");
            return None;
        }
    };
    if let Err(e) = diesel::sql_query(format!("CREATE DATABASE \"{name}\"")).execute(&mut conn) {
        eprintln!("gatehouse-testkit: CREATE DATABASE failed: {e}");
        return None;
    }
    Some(TestDatabase {
        url: database_url(&admin_url, &name),
        admin_url,
        name,
    })
}

/// `admin_url` with its database replaced by `name`.
fn database_url(admin_url: &str, name: &str) -> String {
    match url::Url::parse(admin_url) {
        Ok(mut parsed) => {
            parsed.set_path(&format!("/{name}"));
            parsed.to_string()
        }
        Err(_) => format!(
            "{}/{name}",
            admin_url.rsplit_once('/').map_or(admin_url, |(base, _)| base)
        ),
    }
}

/// The admin URL of the server tests use, found once per process.
fn admin_url() -> Option<String> {
    static URL: OnceLock<Option<String>> = OnceLock::new();
    URL.get_or_init(|| {
        if let Ok(url) = std::env::var("GATEHOUSE_TEST_DATABASE_URL")
            && !url.is_empty()
        {
            return Some(url);
        }
        shared_cluster()
    })
    .clone()
}

// ---- PostgreSQL binaries and the postgres user

/// The directory holding `initdb` and `pg_ctl`: on PATH, else the newest under
/// `/usr/lib/postgresql/*/bin`.
fn bin_dir() -> Option<PathBuf> {
    if let Ok(path) = std::env::var("PATH") {
        for dir in std::env::split_paths(&path) {
            if dir.join("initdb").is_file() && dir.join("pg_ctl").is_file() {
                return Some(dir);
            }
        }
    }
    let mut candidates: Vec<(u32, PathBuf)> = fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(Result::ok)
        .filter_map(|e| {
            let version = e.file_name().to_string_lossy().parse::<u32>().ok()?;
            let bin = e.path().join("bin");
            (bin.join("initdb").is_file() && bin.join("pg_ctl").is_file()).then_some((version, bin))
        })
        .collect();
    candidates.sort();
    candidates.pop().map(|(_, bin)| bin)
}

fn running_as_root() -> bool {
    static ROOT: OnceLock<bool> = OnceLock::new();
    *ROOT.get_or_init(|| {
        Command::new("id")
            .arg("-u")
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
            .unwrap_or(false)
    })
}

/// A command for a PostgreSQL binary, as `postgres` when we are root.
fn pg_command(bin: &Path, program: &str) -> Command {
    if running_as_root() {
        let mut cmd = Command::new("runuser");
        cmd.args(["-u", "postgres", "--"]).arg(bin.join(program));
        cmd
    } else {
        Command::new(bin.join(program))
    }
}

/// Gives a directory to the `postgres` user when we are root.
fn hand_over(dir: &Path) -> Result<(), String> {
    if running_as_root() {
        let status = Command::new("chown")
            .args(["-R", "postgres:postgres"])
            .arg(dir)
            .status()
            .map_err(|e| format!("chown: {e}"))?;
        if !status.success() {
            return Err(format!("chown -R postgres {} failed", dir.display()));
        }
    }
    Ok(())
}

fn run(mut cmd: Command, what: &str, log: Option<&Path>) -> Result<(), String> {
    let output = cmd
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("{what}: cannot run: {e}"))?;
    if output.status.success() {
        return Ok(());
    }
    let log_tail = log
        .and_then(|p| fs::read_to_string(p).ok())
        .map(|text| {
            text.lines()
                .rev()
                .take(20)
                .collect::<Vec<_>>()
                .into_iter()
                .rev()
                .collect::<Vec<_>>()
                .join("\n")
        })
        .unwrap_or_default();
    Err(format!(
        "{what} failed ({}):\n{}{}\n{log_tail}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    ))
}

fn free_port() -> Result<u16, String> {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(|e| format!("no free port: {e}"))
}

/// A cluster's files: `data/`, `sock/`, `log`.
struct Cluster {
    root: PathBuf,
    bin: PathBuf,
    port: u16,
}

impl Cluster {
    fn data(&self) -> PathBuf {
        self.root.join("data")
    }

    fn init(root: &Path, bin: &Path) -> Result<(), String> {
        fs::create_dir_all(root.join("sock")).map_err(|e| e.to_string())?;
        hand_over(root)?;
        let mut cmd = pg_command(bin, "initdb");
        cmd.arg("-D").arg(root.join("data")).args([
            "-U",
            "postgres",
            "--auth=trust",
            "--no-sync",
            "--no-instructions",
            "-E",
            "UTF8",
            "--locale=C",
        ]);
        run(cmd, "initdb", None)
    }

    fn start(&self) -> Result<(), String> {
        let options = format!(
            "-c listen_addresses=127.0.0.1 -p {} -k {} -c fsync=off -c synchronous_commit=off \
             -c full_page_writes=off -c max_connections=300",
            self.port,
            self.root.join("sock").display()
        );
        let log = self.root.join("log");
        let mut cmd = pg_command(&self.bin, "pg_ctl");
        cmd.arg("-D")
            .arg(self.data())
            .arg("-l")
            .arg(&log)
            .args(["-w", "-t", "60", "-o", &options, "start"]);
        run(cmd, "pg_ctl start", Some(&log))
    }

    fn stop(&self) -> Result<(), String> {
        let mut cmd = pg_command(&self.bin, "pg_ctl");
        cmd.arg("-D")
            .arg(self.data())
            .args(["-m", "fast", "-w", "-t", "60", "stop"]);
        run(cmd, "pg_ctl stop", Some(&self.root.join("log")))
    }

    fn is_running(&self) -> bool {
        let mut cmd = pg_command(&self.bin, "pg_ctl");
        cmd.arg("-D").arg(self.data()).arg("status");
        cmd.stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    }

    fn admin_url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }
}

// ---- the shared cluster

fn shared_dir() -> Option<PathBuf> {
    if std::env::var("GATEHOUSE_TEST_DATABASE_URL").is_ok_and(|v| !v.is_empty()) {
        return None;
    }
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../target"));
    Some(target.join("gatehouse-test-pg"))
}

fn touch(path: &Path) {
    if let Ok(file) = OpenOptions::new().create(true).append(true).open(path) {
        let _ = file.set_modified(SystemTime::now());
    }
}

/// Finds or starts the cluster shared by this run's test processes; `None` if impossible.
fn shared_cluster() -> Option<String> {
    let bin = bin_dir()?;
    let root = shared_dir()?;
    match start_shared(&root, &bin) {
        Ok(url) => Some(url),
        Err(e) => {
            eprintln!("gatehouse-testkit: could not start a throwaway PostgreSQL: {e}");
            None
        }
    }
}

fn start_shared(root: &Path, bin: &Path) -> Result<String, String> {
    fs::create_dir_all(root).map_err(|e| format!("{}: {e}", root.display()))?;
    let lock = File::create(root.join("lock")).map_err(|e| e.to_string())?;
    lock.lock().map_err(|e| format!("lock: {e}"))?;
    touch(&root.join("lease"));
    let port_file = root.join("port");
    if let Some(port) = fs::read_to_string(&port_file)
        .ok()
        .and_then(|p| p.trim().parse::<u16>().ok())
    {
        let cluster = Cluster {
            root: root.to_path_buf(),
            bin: bin.to_path_buf(),
            port,
        };
        if cluster.is_running() && PgConnection::establish(&cluster.admin_url()).is_ok() {
            return Ok(cluster.admin_url());
        }
    }
    // Nothing usable: start afresh.
    let _ = fs::remove_dir_all(root.join("data"));
    let cluster = Cluster {
        root: root.to_path_buf(),
        bin: bin.to_path_buf(),
        port: free_port()?,
    };
    Cluster::init(root, bin)?;
    cluster.start()?;
    fs::write(&port_file, cluster.port.to_string()).map_err(|e| e.to_string())?;
    spawn_watchdog(&cluster)?;
    wait_for_connection(&cluster.admin_url())?;
    Ok(cluster.admin_url())
}

/// Stops the shared cluster once its lease has not been renewed for a minute.
fn spawn_watchdog(cluster: &Cluster) -> Result<(), String> {
    let lease = cluster.root.join("lease");
    let stop = if running_as_root() {
        format!(
            "runuser -u postgres -- {} -D {} -m fast stop",
            cluster.bin.join("pg_ctl").display(),
            cluster.data().display()
        )
    } else {
        format!(
            "{} -D {} -m fast stop",
            cluster.bin.join("pg_ctl").display(),
            cluster.data().display()
        )
    };
    let script = format!(
        "while [ $(( $(date +%s) - $(stat -c %Y '{lease}' 2>/dev/null || echo 0) )) -lt 60 ]; do sleep 5; done; \
         {stop} >/dev/null 2>&1; rm -f '{port}'",
        lease = lease.display(),
        port = cluster.root.join("port").display(),
    );
    Command::new("setsid")
        .args(["sh", "-c", &script])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map(|_| ())
        .map_err(|e| format!("watchdog: {e}"))
}

fn wait_for_connection(url: &str) -> Result<(), String> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        match PgConnection::establish(url) {
            Ok(_) => return Ok(()),
            Err(e) if Instant::now() > deadline => return Err(format!("PostgreSQL does not answer: {e}")),
            Err(_) => std::thread::sleep(Duration::from_millis(50)),
        }
    }
}

// ---- private clusters

/// A PostgreSQL cluster of one's own: stop it and start it again under a running server.
pub struct PrivateCluster {
    cluster: Cluster,
    _dir: tempfile::TempDir,
}

impl PrivateCluster {
    /// `None` when the machine has no PostgreSQL binaries. Panics with the log when they exist
    /// but the cluster does not start (a broken environment should fail loudly, not skip).
    pub fn start() -> Option<Self> {
        let bin = bin_dir()?;
        let dir = tempfile::Builder::new().prefix("gatehouse-pg-").tempdir().ok()?;
        let cluster = Cluster {
            root: dir.path().to_path_buf(),
            bin: bin.clone(),
            port: free_port().ok()?,
        };
        if let Err(e) = Cluster::init(&cluster.root, &bin).and_then(|()| cluster.start()) {
            panic!("private PostgreSQL cluster did not start: {e}");
        }
        if let Err(e) = wait_for_connection(&cluster.admin_url()) {
            panic!("{e}");
        }
        Some(Self { cluster, _dir: dir })
    }

    /// The URL of the cluster's `postgres` database.
    pub fn url(&self) -> String {
        self.cluster.admin_url()
    }

    pub fn stop(&self) {
        if let Err(e) = self.cluster.stop() {
            panic!("{e}");
        }
    }

    /// Starts it again on the same port, with the same data.
    pub fn start_again(&self) {
        if let Err(e) = self.cluster.start() {
            panic!("{e}");
        }
        if let Err(e) = wait_for_connection(&self.cluster.admin_url()) {
            panic!("{e}");
        }
    }
}

impl Drop for PrivateCluster {
    fn drop(&mut self) {
        if self.cluster.is_running() {
            let _ = self.cluster.stop();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn roundtrip(url: &str) {
        let mut conn = PgConnection::establish(url).unwrap();
        diesel::sql_query("CREATE TABLE t (x INT)")
            .execute(&mut conn)
            .unwrap();
        diesel::sql_query("INSERT INTO t VALUES (1)")
            .execute(&mut conn)
            .unwrap();
    }

    #[test]
    fn fresh_databases_are_separate_and_dropped() {
        let Some(first) = fresh_database() else {
            eprintln!("SKIPPED: no PostgreSQL");
            return;
        };
        let second = std::thread::spawn(fresh_database).join().unwrap().unwrap();
        assert_ne!(first.url, second.url);
        roundtrip(&first.url);
        roundtrip(&second.url);
        let url = first.url.clone();
        drop(first);
        assert!(PgConnection::establish(&url).is_err(), "the database was dropped");
    }

    #[test]
    fn private_cluster_stops_and_starts_again() {
        let Some(cluster) = PrivateCluster::start() else {
            eprintln!("SKIPPED: no PostgreSQL binaries");
            return;
        };
        roundtrip(&cluster.url());
        cluster.stop();
        assert!(PgConnection::establish(&cluster.url()).is_err());
        cluster.start_again();
        let mut conn = PgConnection::establish(&cluster.url()).unwrap();
        diesel::sql_query("SELECT x FROM t").execute(&mut conn).unwrap();
    }
}
