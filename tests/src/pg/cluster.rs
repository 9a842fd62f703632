//! One PostgreSQL cluster on disk, driven by the machine's `initdb` / `pg_ctl`: finding the tools,
//! running them as `postgres` when we are root, and init / start / stop with bounded waits.

use std::fs;
use std::io::{Read, Write};
use std::net::TcpListener;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use super::PgError;

/// `pg_ctl -w` gives up after this many seconds; our own wait is a bit longer.
const PG_CTL_WAIT_SECS: u64 = 60;
const INITDB_TIMEOUT: Duration = Duration::from_secs(120);
const PG_CTL_TIMEOUT: Duration = Duration::from_secs(PG_CTL_WAIT_SECS + 15);
/// `sun_path` holds 108 bytes; PostgreSQL appends `/.s.PGSQL.NNNNN` to the socket directory.
const MAX_SOCKET_DIR_LEN: usize = 90;

/// Where the PostgreSQL programs are and whether they must run as the `postgres` user.
#[derive(Debug)]
pub(crate) struct Tools {
    bin: PathBuf,
    as_postgres: bool,
}

/// The tools, found once per process; `Err` means this machine cannot run a throwaway PostgreSQL.
pub(crate) fn tools() -> Result<&'static Tools, PgError> {
    static TOOLS: OnceLock<Result<Tools, String>> = OnceLock::new();
    TOOLS
        .get_or_init(find_tools)
        .as_ref()
        .map_err(|why| PgError::unavailable(why.clone()))
}

fn find_tools() -> Result<Tools, String> {
    let bin =
        find_bin_dir().ok_or_else(|| "no initdb/pg_ctl in PATH or /usr/lib/postgresql/*/bin".to_string())?;
    let as_postgres = is_root()?;
    if as_postgres {
        // initdb refuses to run as root: the clusters belong to the existing `postgres` user.
        let has_user = Command::new("id")
            .args(["-u", "postgres"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if !has_user {
            return Err("running as root and there is no `postgres` user to run initdb as".into());
        }
    }
    Ok(Tools { bin, as_postgres })
}

fn is_root() -> Result<bool, String> {
    let out = Command::new("id")
        .arg("-u")
        .output()
        .map_err(|e| format!("cannot run `id -u`: {e}"))?;
    Ok(String::from_utf8_lossy(&out.stdout).trim() == "0")
}

fn is_executable(path: &Path) -> bool {
    fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

fn has_tools(dir: &Path) -> bool {
    is_executable(&dir.join("initdb")) && is_executable(&dir.join("pg_ctl"))
}

/// PATH first (the directory of the real `initdb`, so `pg_ctl` and `postgres` match it), then the
/// highest version under `/usr/lib/postgresql/*/bin`.
fn find_bin_dir() -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    for dir in std::env::split_paths(&path) {
        let initdb = dir.join("initdb");
        if !is_executable(&initdb) {
            continue;
        }
        if let Some(real_dir) = fs::canonicalize(&initdb)
            .ok()
            .and_then(|p| p.parent().map(Path::to_path_buf))
            && has_tools(&real_dir)
        {
            return Some(real_dir);
        }
        if has_tools(&dir) {
            return Some(dir);
        }
    }
    let mut versions: Vec<(Vec<u32>, PathBuf)> = fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(Result::ok)
        .filter_map(|entry| {
            let name = entry.file_name().to_string_lossy().into_owned();
            let version: Option<Vec<u32>> = name.split('.').map(|part| part.parse().ok()).collect();
            Some((version?, entry.path().join("bin")))
        })
        .filter(|(_, bin)| has_tools(bin))
        .collect();
    versions.sort();
    versions.pop().map(|(_, bin)| bin)
}

impl Tools {
    /// A command for one of the PostgreSQL programs, as `postgres` when we are root.
    fn command(&self, program: &str) -> Command {
        let program = self.bin.join(program);
        let mut cmd = if self.as_postgres {
            let mut cmd = Command::new("runuser");
            cmd.args(["-u", "postgres", "--"]).arg(program);
            cmd
        } else {
            Command::new(program)
        };
        // `postgres` may not be allowed into our working directory.
        cmd.current_dir("/");
        cmd
    }

    /// Hands a freshly created path to `postgres` when we are root.
    pub(crate) fn give(&self, path: &Path) -> Result<(), PgError> {
        if !self.as_postgres {
            return Ok(());
        }
        let mut cmd = Command::new("chown");
        cmd.args(["-R", "postgres:"]).arg(path);
        run(cmd, Duration::from_secs(30), "chown").map(drop)
    }

    /// `pg_ctl stop` as argv, for the shell watchdogs.
    pub(crate) fn stop_argv(&self, data: &Path, mode: &str) -> Vec<String> {
        let cmd = self.command("pg_ctl");
        let mut argv = vec![cmd.get_program().to_string_lossy().into_owned()];
        argv.extend(cmd.get_args().map(|a| a.to_string_lossy().into_owned()));
        argv.extend([
            "-D".into(),
            data.to_string_lossy().into_owned(),
            "-m".into(),
            mode.into(),
        ]);
        argv.extend(["-w".into(), "-t".into(), "30".into(), "stop".into()]);
        argv
    }
}

/// Runs a command to completion within `timeout`, returning its stdout and stderr together.
fn run(mut cmd: Command, timeout: Duration, what: &str) -> Result<String, PgError> {
    let command_line = std::iter::once(cmd.get_program())
        .chain(cmd.get_args())
        .map(|a| a.to_string_lossy())
        .collect::<Vec<_>>()
        .join(" ");
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| PgError::failed(format!("cannot start {what} ({:?}): {e}", cmd.get_program())))?;
    let (tx, rx) = mpsc::channel();
    let readers: Vec<Box<dyn Read + Send>> = [
        child.stdout.take().map(|r| Box::new(r) as Box<dyn Read + Send>),
        child.stderr.take().map(|r| Box::new(r) as Box<dyn Read + Send>),
    ]
    .into_iter()
    .flatten()
    .collect();
    let streams = readers.len();
    for mut reader in readers {
        let tx = tx.clone();
        thread::spawn(move || {
            let mut buf = Vec::new();
            let _ = reader.read_to_end(&mut buf);
            let _ = tx.send(buf);
        });
    }
    let deadline = Instant::now() + timeout;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break Ok(status),
            Ok(None) if Instant::now() >= deadline => {
                let _ = child.kill();
                let _ = child.wait();
                break Err(format!(
                    "{what} did not finish within {} s and was killed",
                    timeout.as_secs()
                ));
            }
            Ok(None) => thread::sleep(Duration::from_millis(20)),
            Err(e) => break Err(format!("waiting for {what}: {e}")),
        }
    };
    let mut output = String::new();
    for _ in 0..streams {
        // A grandchild that kept the pipe open must not hang us.
        if let Ok(buf) = rx.recv_timeout(Duration::from_secs(2)) {
            output.push_str(&String::from_utf8_lossy(&buf));
        }
    }
    match status {
        Ok(status) if status.success() => Ok(output),
        Ok(status) => Err(PgError::failed(format!(
            "{what} failed ({status}): {command_line}\n{}",
            tail(&output, 30)
        ))),
        Err(why) => Err(PgError::failed(format!(
            "{why}: {command_line}\n{}",
            tail(&output, 30)
        ))),
    }
}

/// The last `lines` lines of a text, for error messages.
pub(crate) fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// `/dev/shm` when it is there with room to spare: PostgreSQL creates ~300 files per database,
/// and on tmpfs a `CREATE DATABASE` takes ~20 ms instead of 40-300 ms on this machine's ext4.
pub(crate) fn fast_dir() -> Option<&'static Path> {
    static FAST: OnceLock<Option<PathBuf>> = OnceLock::new();
    FAST.get_or_init(|| {
        let shm = PathBuf::from("/dev/shm");
        let out = Command::new("df")
            .arg("-Pk")
            .arg(&shm)
            .stderr(Stdio::null())
            .output()
            .ok()?;
        let text = String::from_utf8_lossy(&out.stdout);
        let available_kib: u64 = text.lines().nth(1)?.split_whitespace().nth(3)?.parse().ok()?;
        // A container's default 64 MiB /dev/shm is too small for a cluster and its databases.
        (out.status.success() && available_kib >= 1024 * 1024).then_some(shm)
    })
    .as_deref()
}

/// A port nobody listens on right now (PostgreSQL binds it a moment later; start retries on a clash).
pub(crate) fn free_port() -> Result<u16, PgError> {
    let listener = TcpListener::bind("127.0.0.1:0")
        .map_err(|e| PgError::failed(format!("cannot find a free port: {e}")))?;
    listener
        .local_addr()
        .map(|a| a.port())
        .map_err(|e| PgError::failed(format!("local_addr: {e}")))
}

/// The files of one cluster: `<root>/data`, `<root>/log` and a private socket directory.
#[derive(Debug, Clone)]
pub(crate) struct ClusterFiles {
    pub(crate) root: PathBuf,
    pub(crate) sock: PathBuf,
}

impl ClusterFiles {
    /// Socket directory inside `root` unless that path is too long for a unix socket.
    pub(crate) fn new(root: PathBuf, long_path_fallback: &str) -> Self {
        let inside = root.join("sock");
        let sock = if inside.as_os_str().len() <= MAX_SOCKET_DIR_LEN {
            inside
        } else {
            std::env::temp_dir().join(long_path_fallback)
        };
        ClusterFiles { root, sock }
    }

    pub(crate) fn data(&self) -> PathBuf {
        self.root.join("data")
    }

    fn log(&self) -> PathBuf {
        self.root.join("log")
    }

    fn log_tail(&self) -> String {
        fs::read_to_string(self.log())
            .map(|log| tail(&log, 30))
            .unwrap_or_else(|e| format!("(no log: {e})"))
    }

    /// The pid of the postmaster serving this data directory, if one is alive.
    pub(crate) fn running_pid(&self) -> Option<u32> {
        let pidfile = fs::read_to_string(self.data().join("postmaster.pid")).ok()?;
        let pid: u32 = pidfile.lines().next()?.trim().parse().ok()?;
        // The pid may have been reused since (e.g. after a reboot): it must be *our* postmaster.
        let cmdline = fs::read(format!("/proc/{pid}/cmdline")).ok()?;
        let data = self.data();
        let cmdline = String::from_utf8_lossy(&cmdline);
        cmdline.contains(data.to_string_lossy().as_ref()).then_some(pid)
    }

    /// Creates the directories and runs `initdb` with the speed settings appended to its config.
    pub(crate) fn init(&self, tools: &Tools) -> Result<(), PgError> {
        let io = |what: &str, e: std::io::Error| PgError::failed(format!("{what}: {e}"));
        fs::create_dir_all(&self.root).map_err(|e| io(&format!("create {}", self.root.display()), e))?;
        fs::create_dir_all(&self.sock).map_err(|e| io(&format!("create {}", self.sock.display()), e))?;
        fs::set_permissions(&self.sock, fs::Permissions::from_mode(0o700))
            .map_err(|e| io("chmod socket dir", e))?;
        tools.give(&self.root)?;
        if !self.sock.starts_with(&self.root) {
            tools.give(&self.sock)?;
        }
        let mut cmd = tools.command("initdb");
        cmd.arg("-D").arg(self.data());
        cmd.args([
            "-U",
            "postgres",
            "--auth=trust",
            "--no-sync",
            "-E",
            "UTF8",
            "--locale=C",
        ]);
        cmd.arg("--no-instructions");
        run(cmd, INITDB_TIMEOUT, "initdb")?;
        let sock = self.sock.to_string_lossy().replace('\'', "''");
        let settings = format!(
            "\n# gatehouse-testkit: throwaway cluster, speed over durability\n\
             listen_addresses = '127.0.0.1'\n\
             unix_socket_directories = '{sock}'\n\
             fsync = off\n\
             synchronous_commit = off\n\
             full_page_writes = off\n\
             max_connections = 300\n\
             log_checkpoints = off\n"
        );
        let conf = self.data().join("postgresql.conf");
        fs::OpenOptions::new()
            .append(true)
            .open(&conf)
            .and_then(|mut f| f.write_all(settings.as_bytes()))
            .map_err(|e| io(&format!("append to {}", conf.display()), e))
    }

    /// `pg_ctl start` on `port`, waiting until it accepts connections.
    pub(crate) fn start(&self, tools: &Tools, port: u16) -> Result<(), PgError> {
        let mut cmd = tools.command("pg_ctl");
        cmd.arg("-D").arg(self.data()).arg("-l").arg(self.log());
        cmd.args([
            "-w",
            "-t",
            &PG_CTL_WAIT_SECS.to_string(),
            "-o",
            &format!("-p {port}"),
            "start",
        ]);
        run(cmd, PG_CTL_TIMEOUT, "pg_ctl start").map(drop).map_err(|e| {
            // A postmaster that came up too slowly must not outlive the failure.
            let _ = self.stop(tools, "immediate");
            PgError::failed(format!(
                "{e}\nserver log ({}):\n{}",
                self.log().display(),
                self.log_tail()
            ))
        })
    }

    /// Starts on a free port, trying another port when the chosen one was taken meanwhile.
    pub(crate) fn start_on_free_port(&self, tools: &Tools) -> Result<u16, PgError> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            let port = free_port()?;
            match self.start(tools, port) {
                Ok(()) => return Ok(port),
                Err(e) if attempt < 3 && e.to_string().contains("already in use") => continue,
                Err(e) => return Err(e),
            }
        }
    }

    /// `pg_ctl stop` with the given shutdown mode (`fast`, `immediate`).
    pub(crate) fn stop(&self, tools: &Tools, mode: &str) -> Result<(), PgError> {
        let mut cmd = tools.command("pg_ctl");
        cmd.arg("-D")
            .arg(self.data())
            .args(["-m", mode, "-w", "-t", &PG_CTL_WAIT_SECS.to_string(), "stop"]);
        run(cmd, PG_CTL_TIMEOUT, "pg_ctl stop").map(drop)
    }

    /// Removes everything on disk (the server must be stopped).
    pub(crate) fn remove(&self) {
        for dir in [&self.root, &self.sock] {
            if let Err(e) = fs::remove_dir_all(dir)
                && e.kind() != std::io::ErrorKind::NotFound
            {
                eprintln!("gatehouse-testkit: cannot remove {}: {e}", dir.display());
            }
        }
    }
}
