//! The cluster shared by every test process of a run, kept in `<target>/gatehouse-test-pg/`:
//!
//! - `lock`: `flock`ed (std `File::lock`) around find-or-start, and by the watchdog around stopping;
//! - `state`: `instance=`, `port=`, `root=`, `sock=` of the running cluster; absent when none runs;
//! - `lease`: its mtime is touched by every `fresh_database()` and every 10 s while a
//!   `TestDatabase` is alive; the watchdog stops the cluster and deletes its files once it is
//!   older than [`LEASE_SECS`];
//! - the cluster itself (data directory, server log, socket directory) lives in
//!   `/dev/shm/gatehouse-test-pg-<hash of this directory>` when tmpfs has room (see
//!   [`fast_dir`]), else in `cluster/` here.

use std::fs::{self, File};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;
use std::time::{Duration, Instant, SystemTime};

use super::PgError;
use super::cluster::{ClusterFiles, Tools, fast_dir, tools};

const DIR_NAME: &str = "gatehouse-test-pg";
/// Idle time after which the watchdog stops the shared cluster.
const LEASE_SECS: u64 = 60;
const KEEPALIVE_EVERY: Duration = Duration::from_secs(10);
const LOCK_TIMEOUT: Duration = Duration::from_secs(180);
const WATCHDOG_NAME: &str = "gatehouse-test-pg-watchdog";

/// Test databases of this process that live on the shared cluster; while > 0 the lease is renewed.
pub(crate) static LIVE: AtomicUsize = AtomicUsize::new(0);

/// Arguments: dir instance lease-secs stop-command…  Exits when the state file names another
/// instance (someone restarted the cluster); stops and deletes the cluster once the lease is stale,
/// re-checking under the same lock the test processes take.
const WATCHDOG: &str = r#"
dir=$1; inst=$2; lease=$3; shift 3
current() { sed -n 's/^instance=//p' "$dir/state" 2>/dev/null; }
idle() { echo $(( $(date +%s) - $(stat -c %Y "$dir/lease" 2>/dev/null || echo 0) )); }
while sleep 5; do
  [ "$(current)" = "$inst" ] || exit 0
  [ "$(idle)" -gt "$lease" ] || continue
  exec 9>>"$dir/lock"
  flock -w 60 9 || { exec 9>&-; continue; }
  if [ "$(current)" = "$inst" ] && [ "$(idle)" -gt "$lease" ]; then
    root=$(sed -n 's/^root=//p' "$dir/state")
    sock=$(sed -n 's/^sock=//p' "$dir/state")
    rm -f "$dir/state"
    "$@"
    [ -n "$root" ] && rm -rf "$root"
    [ -n "$sock" ] && rm -rf "$sock"
    exit 0
  fi
  exec 9>&-
done
"#;

struct State {
    instance: String,
    port: u16,
    files: ClusterFiles,
}

/// Finds the running shared cluster or starts one; returns its admin URL.
pub(crate) fn admin_url() -> Result<String, PgError> {
    let tools = tools()?;
    let dir = shared_dir();
    fs::create_dir_all(&dir)
        .and_then(|()| fs::set_permissions(&dir, fs::Permissions::from_mode(0o755)))
        .map_err(|e| PgError::failed(format!("create {}: {e}", dir.display())))?;
    let _lock = lock(&dir.join("lock"))?;
    touch(&dir.join("lease"));
    let state = match read_state(&dir) {
        Some(state) if is_alive(&state) => state,
        stale => {
            if let Some(stale) = stale {
                eprintln!(
                    "gatehouse-testkit: shared PostgreSQL in {} is not running; restarting",
                    stale.files.root.display()
                );
                clear(tools, &stale.files);
            }
            start(tools, &dir)?
        }
    };
    ensure_watchdog(tools, &dir, &state);
    start_keepalive(dir.join("lease"));
    Ok(format!("postgres://postgres@127.0.0.1:{}/postgres", state.port))
}

/// `<target>/gatehouse-test-pg`, where `<target>` is the target directory this test binary was
/// built into (`<target>/<profile>/deps/<binary>`), falling back to the workspace's `target/`.
fn shared_dir() -> PathBuf {
    let from_exe = std::env::current_exe().ok().and_then(|exe| {
        let deps = exe
            .ancestors()
            .find(|p| p.file_name().is_some_and(|n| n == "deps"))?
            .to_path_buf();
        deps.parent()?.parent().map(Path::to_path_buf)
    });
    let target = from_exe.unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../target"));
    target.join(DIR_NAME)
}

/// A name unique to this shared directory, for the cluster's files outside it (tmpfs, or /tmp
/// for a socket directory when the path here is too long for a unix socket).
fn outside_name(dir: &Path) -> String {
    use std::hash::{DefaultHasher, Hash, Hasher};
    let mut hasher = DefaultHasher::new();
    dir.hash(&mut hasher);
    format!("gatehouse-test-pg-{:016x}", hasher.finish())
}

/// Takes the exclusive lock, polling so a wedged holder cannot hang the run forever.
fn lock(path: &Path) -> Result<File, PgError> {
    let file = File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)
        .map_err(|e| PgError::failed(format!("open {}: {e}", path.display())))?;
    let deadline = Instant::now() + LOCK_TIMEOUT;
    loop {
        match file.try_lock() {
            Ok(()) => return Ok(file),
            Err(std::fs::TryLockError::WouldBlock) if Instant::now() < deadline => {
                thread::sleep(Duration::from_millis(25));
            }
            Err(e) => {
                return Err(PgError::failed(format!("cannot lock {}: {e:?}", path.display())));
            }
        }
    }
}

fn touch(lease: &Path) {
    let result = File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(lease)
        .and_then(|f| f.set_modified(SystemTime::now()));
    if let Err(e) = result {
        eprintln!("gatehouse-testkit: cannot touch {}: {e}", lease.display());
    }
}

fn read_state(dir: &Path) -> Option<State> {
    let text = fs::read_to_string(dir.join("state")).ok()?;
    let field = |key: &str| text.lines().find_map(|l| l.strip_prefix(key)?.strip_prefix('='));
    Some(State {
        instance: field("instance")?.to_string(),
        port: field("port")?.parse().ok()?,
        files: ClusterFiles {
            root: PathBuf::from(field("root")?),
            sock: PathBuf::from(field("sock")?),
        },
    })
}

/// Our postmaster is alive and its port answers.
fn is_alive(state: &State) -> bool {
    state.files.running_pid().is_some()
        && std::net::TcpStream::connect_timeout(
            &std::net::SocketAddr::from(([127, 0, 0, 1], state.port)),
            Duration::from_secs(2),
        )
        .is_ok()
}

/// Stops (if our postmaster still runs there) and deletes a dead or half-dead cluster.
fn clear(tools: &Tools, files: &ClusterFiles) {
    if files.running_pid().is_some() {
        let _ = files.stop(tools, "immediate");
    }
    files.remove();
}

/// Starts a new cluster and records it in `state`.
fn start(tools: &Tools, dir: &Path) -> Result<State, PgError> {
    let _ = fs::remove_file(dir.join("state"));
    let fallback = outside_name(dir);
    let root = fast_dir().map_or_else(|| dir.join("cluster"), |fast| fast.join(&fallback));
    let files = ClusterFiles::new(root, &format!("{fallback}-sock"));
    // Leftovers of a run whose state file was lost, wherever it put its files.
    clear(tools, &files);
    if files.root != dir.join("cluster") {
        clear(
            tools,
            &ClusterFiles::new(dir.join("cluster"), &format!("{fallback}-sock")),
        );
    }
    let started = Instant::now();
    let port = match files.init(tools).and_then(|()| files.start_on_free_port(tools)) {
        Ok(port) => port,
        Err(e) => {
            // The error carries the log tail; a half-made cluster is of no use to the next process.
            files.remove();
            return Err(e);
        }
    };
    eprintln!(
        "gatehouse-testkit: started shared PostgreSQL on 127.0.0.1:{port} in {:.1} s ({})",
        started.elapsed().as_secs_f64(),
        files.root.display()
    );
    let nanos = SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let instance = format!("{}-{port}-{nanos}", std::process::id());
    let text = format!(
        "instance={instance}\nport={port}\nroot={}\nsock={}\n",
        files.root.display(),
        files.sock.display()
    );
    let tmp = dir.join("state.tmp");
    fs::write(&tmp, text)
        .and_then(|()| fs::rename(&tmp, dir.join("state")))
        .map_err(|e| PgError::failed(format!("write state in {}: {e}", dir.display())))?;
    Ok(State {
        instance,
        port,
        files,
    })
}

/// Spawns the detached watchdog unless one for this instance is already running.
fn ensure_watchdog(tools: &Tools, dir: &Path, state: &State) {
    let instance = state.instance.as_str();
    let running =
        fs::read_to_string(dir.join("watchdog.pid")).is_ok_and(|pid| is_watchdog(pid.trim(), instance));
    if running {
        return;
    }
    // Own session and no inherited stdio: neither nextest nor cargo test wait for it or kill it.
    let spawned = Command::new("setsid")
        .args(["sh", "-c", WATCHDOG, WATCHDOG_NAME])
        .arg(dir)
        .args([instance, &LEASE_SECS.to_string()])
        .args(tools.stop_argv(&state.files.data(), "fast"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn();
    match spawned {
        // `setsid` execs `sh` in place (a spawned child never leads its process group), so this is
        // the watchdog's pid; written under the lock, so the next process sees it at once.
        Ok(child) => {
            let _ = fs::write(dir.join("watchdog.pid"), child.id().to_string());
        }
        Err(e) => eprintln!(
            "gatehouse-testkit: cannot spawn the watchdog ({e}); stop the cluster in {} yourself",
            dir.display()
        ),
    }
}

/// Whether `pid` is a live watchdog of `instance` (not a zombie, not a reused pid).
fn is_watchdog(pid: &str, instance: &str) -> bool {
    let Ok(stat) = fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return false;
    };
    // The state letter follows the parenthesised command name.
    let zombie = stat
        .rsplit_once(')')
        .is_some_and(|(_, rest)| rest.trim_start().starts_with('Z'));
    if zombie {
        return false;
    }
    match fs::read(format!("/proc/{pid}/cmdline")) {
        // Empty while `setsid` is exec'ing `sh`, right after the previous process spawned it.
        Ok(cmdline) if cmdline.is_empty() => true,
        Ok(cmdline) => {
            let cmdline = String::from_utf8_lossy(&cmdline);
            cmdline.contains(WATCHDOG_NAME) && cmdline.contains(instance)
        }
        Err(_) => false,
    }
}

/// Renews the lease every few seconds while this process holds a shared test database.
fn start_keepalive(lease: PathBuf) {
    static STARTED: OnceLock<()> = OnceLock::new();
    STARTED.get_or_init(|| {
        let spawned = thread::Builder::new()
            .name("gatehouse-pg-lease".into())
            .spawn(move || {
                loop {
                    thread::sleep(KEEPALIVE_EVERY);
                    if LIVE.load(Ordering::SeqCst) > 0 {
                        touch(&lease);
                    }
                }
            });
        if let Err(e) = spawned {
            eprintln!("gatehouse-testkit: cannot start the lease keeper: {e}");
        }
    });
}
