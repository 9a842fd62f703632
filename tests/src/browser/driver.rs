//! The `chromedriver` process behind a [`super::Browser`]: where the binaries are, starting it on
//! a free loopback port, waiting for `/status`, a blocking HTTP call for use in `Drop`, and the
//! clean-up sweep that leaves no process and no temp dir behind.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How long chromedriver may take to answer `/status` after it was started.
const READY_TIMEOUT: Duration = Duration::from_secs(15);
/// How long `Drop` waits for processes of this browser to disappear.
const SWEEP_TIMEOUT: Duration = Duration::from_secs(5);

/// Paths to the two binaries; `None` from [`Binaries::find`] means "not installed, skip".
#[derive(Debug, Clone)]
pub(crate) struct Binaries {
    pub chromium: PathBuf,
    pub chromedriver: PathBuf,
}

impl Binaries {
    /// `GATEHOUSE_CHROMIUM` / `GATEHOUSE_CHROMEDRIVER` override Debian's paths. The real binary
    /// under /usr/lib is preferred to the /usr/bin shell wrapper, which adds flags of its own
    /// (`--enable-gpu-rasterization`) and greps /proc/cpuinfo at every start.
    pub fn find() -> Option<Self> {
        let chromium = match std::env::var_os("GATEHOUSE_CHROMIUM") {
            Some(p) => PathBuf::from(p),
            None => ["/usr/lib/chromium/chromium", "/usr/bin/chromium"]
                .iter()
                .map(PathBuf::from)
                .find(|p| p.is_file())?,
        };
        let chromedriver = std::env::var_os("GATEHOUSE_CHROMEDRIVER")
            .map_or_else(|| PathBuf::from("/usr/bin/chromedriver"), PathBuf::from);
        (chromium.is_file() && chromedriver.is_file()).then_some(Self {
            chromium,
            chromedriver,
        })
    }
}

/// A running chromedriver with its private temp root (profile, XDG dirs, log). Dropping it kills
/// chromedriver and every process whose command line names the temp root, then deletes the root.
pub(crate) struct Driver {
    child: Child,
    pub port: u16,
    root: tempfile::TempDir,
}

impl Driver {
    /// Starts chromedriver and waits until `/status` says ready. Retries with a new port when
    /// another process took the chosen one between our probe and chromedriver's bind.
    pub async fn start(bins: &Binaries) -> Result<Self, String> {
        let root = tempfile::Builder::new()
            .prefix("gatehouse-browser-")
            .tempdir()
            .map_err(|e| format!("cannot create the browser's temp dir: {e}"))?;
        for dir in ["profile", "config", "cache"] {
            std::fs::create_dir(root.path().join(dir))
                .map_err(|e| format!("cannot create {dir} in the browser's temp dir: {e}"))?;
        }
        let mut last_error = String::new();
        for _attempt in 0..3 {
            let port = free_port().map_err(|e| format!("no free loopback port: {e}"))?;
            let log = root.path().join("chromedriver.log");
            // XDG dirs inside the root: Chromium's crashpad handlers detach from the process
            // group, and this puts the root in their command line so the sweep can find them;
            // it also keeps Chromium from writing under the real $HOME.
            let mut child = Command::new(&bins.chromedriver)
                .arg(format!("--port={port}"))
                .arg(format!("--log-path={}", log.display()))
                .env("XDG_CONFIG_HOME", root.path().join("config"))
                .env("XDG_CACHE_HOME", root.path().join("cache"))
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .map_err(|e| format!("cannot start {}: {e}", bins.chromedriver.display()))?;
            let ready = wait_ready(&mut child, port, &log).await;
            if ready.is_err() {
                kill_tree(&mut child, root.path());
            }
            match ready {
                Ok(()) => return Ok(Self { child, port, root }),
                // Exited at once: most likely the port was taken meanwhile, so try another.
                Err((true, e)) => last_error = e,
                Err((false, e)) => return Err(e),
            }
        }
        Err(last_error)
    }

    pub fn root(&self) -> &Path {
        self.root.path()
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}/", self.port)
    }

    /// The last lines of chromedriver's log, for failure messages.
    pub fn log_tail(&self) -> String {
        log_tail(&self.root().join("chromedriver.log"))
    }

    fn kill_all(&mut self) {
        let root = self.root.path().to_owned();
        kill_tree(&mut self.child, &root);
    }
}

/// Polls `/status` until it reports `"ready": true`, the process exits, or the time is up.
/// The error says whether chromedriver exited (`true`) or hung (`false`).
async fn wait_ready(child: &mut Child, port: u16, log: &Path) -> Result<(), (bool, String)> {
    let started = Instant::now();
    let mut pause = Duration::from_millis(5);
    loop {
        if let Ok(Some(status)) = child.try_wait() {
            return Err((
                true,
                format!(
                    "chromedriver exited during start-up ({status}); log:\n{}",
                    log_tail(log)
                ),
            ));
        }
        if let Ok((200, body)) = http_call(port, "GET", "/status", Duration::from_secs(1))
            && serde_json::from_str::<serde_json::Value>(&body)
                .is_ok_and(|status| status["value"]["ready"] == true)
        {
            return Ok(());
        }
        if started.elapsed() > READY_TIMEOUT {
            return Err((
                false,
                format!(
                    "chromedriver did not become ready on port {port} within {READY_TIMEOUT:?}; log:\n{}",
                    log_tail(log)
                ),
            ));
        }
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(Duration::from_millis(100));
    }
}

fn log_tail(log: &Path) -> String {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(15)..].join("\n")
}

/// Kills chromedriver, then every Chromium process still naming a path in the temp root
/// (zygotes, renderers, crashpad handlers), until none is left. Idempotent.
fn kill_tree(child: &mut Child, root: &Path) {
    let _ = child.kill();
    let _ = child.wait();
    let needle = format!("{}/", root.display());
    let started = Instant::now();
    loop {
        // Only Chromium's own processes: never someone's shell that happens to name the dir.
        let pids: Vec<i32> = processes_mentioning(&needle)
            .into_iter()
            .filter(|pid| {
                std::fs::read_to_string(format!("/proc/{pid}/comm"))
                    .is_ok_and(|comm| comm.starts_with("chrom"))
            })
            .collect();
        if pids.is_empty() || started.elapsed() > SWEEP_TIMEOUT {
            break;
        }
        for pid in pids {
            if let Some(pid) = rustix::process::Pid::from_raw(pid) {
                let _ = rustix::process::kill_process(pid, rustix::process::Signal::KILL);
            }
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        self.kill_all();
        // TempDir's own drop removes the root after this.
    }
}

/// A loopback port that was free a moment ago (chromedriver binds it itself).
fn free_port() -> std::io::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// A minimal blocking HTTP/1.1 call to chromedriver on loopback, returning status and body.
/// Blocking on purpose: `Drop` needs it, and chromedriver answers locally in milliseconds.
pub(crate) fn http_call(
    port: u16,
    method: &str,
    path: &str,
    timeout: Duration,
) -> std::io::Result<(u16, String)> {
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let mut stream = TcpStream::connect_timeout(&addr, timeout)?;
    stream.set_read_timeout(Some(timeout))?;
    stream.set_write_timeout(Some(timeout))?;
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    )?;
    // Read by Content-Length rather than to EOF, so a server that keeps the connection open
    // cannot stall us until the timeout.
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let header_end = loop {
        let n = stream.read(&mut chunk)?;
        if n == 0 {
            return Err(std::io::Error::other(
                "connection closed before the headers ended",
            ));
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
    };
    let head = String::from_utf8_lossy(&buf[..header_end]).into_owned();
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| std::io::Error::other(format!("not an HTTP response: {head:.200}")))?;
    let length = head
        .lines()
        .find_map(|l| {
            let (name, value) = l.split_once(':')?;
            name.eq_ignore_ascii_case("content-length")
                .then(|| value.trim().parse::<usize>().ok())?
        })
        .unwrap_or(0);
    while buf.len() < header_end + length {
        let n = stream.read(&mut chunk)?;
        if n == 0 {
            break;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    let body = String::from_utf8_lossy(&buf[header_end..]).into_owned();
    Ok((status, body))
}

/// Process ids whose command line contains `needle` (read from /proc; zombies have an empty
/// command line and so are not listed).
pub fn processes_mentioning(needle: &str) -> Vec<i32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    let own = std::process::id();
    entries
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<i32>().ok())
        .filter(|&pid| u32::try_from(pid).ok() != Some(own))
        .filter(|pid| {
            std::fs::read(format!("/proc/{pid}/cmdline"))
                .is_ok_and(|c| String::from_utf8_lossy(&c).contains(needle))
        })
        .collect()
}
