//! [`PrivateCluster`]: a cluster owned by one test, for stopping and restarting PostgreSQL under a
//! running server.

use std::path::Path;
use std::process::{Command, Stdio};

use super::PgError;
use super::cluster::{ClusterFiles, Tools, fast_dir, tools};

/// Arguments: owner-pid temp-dir stop-command…  If the test process dies without running `Drop`
/// (killed by a timeout), stop the cluster and delete its files; exits once `Drop` removed them.
const REAPER: &str = r#"
owner=$1; dir=$2; shift 2
while kill -0 "$owner" 2>/dev/null && [ -d "$dir" ]; do sleep 2; done
[ -d "$dir" ] || exit 0
"$@"
rm -rf "$dir"
"#;

/// A PostgreSQL cluster of its own (temp dir, own port) that a test can stop and start again.
/// `Drop` stops it and removes its files.
pub struct PrivateCluster {
    tools: &'static Tools,
    pub(super) files: ClusterFiles,
    port: u16,
    // Removed last, after the server is stopped.
    _dir: tempfile::TempDir,
}

impl PrivateCluster {
    /// `initdb` + start in a new temp dir. Panics when that fails or no PostgreSQL can be had: a
    /// test that runs must run on PostgreSQL (see `needs_postgres!` for how it is skipped).
    pub fn start() -> Self {
        match Self::try_start() {
            Ok(Some(cluster)) => cluster,
            Ok(None) => panic!(
                "a PostgreSQL test case ran but this machine has no initdb/pg_ctl: {}",
                tools().err().map(|e| e.to_string()).unwrap_or_default()
            ),
            Err(e) => panic!("private PostgreSQL cluster failed to start: {e:?}"),
        }
    }

    /// Like [`PrivateCluster::start`], but tells "cannot be had here" (`Ok(None)`) from "broken" (`Err`).
    pub fn try_start() -> Result<Option<Self>, PgError> {
        let tools = match tools() {
            Ok(tools) => tools,
            Err(e) if e.is_unavailable() => return Ok(None),
            Err(e) => return Err(e),
        };
        let base = fast_dir().map_or_else(std::env::temp_dir, Path::to_path_buf);
        let dir = tempfile::Builder::new()
            .prefix("gatehouse-pg-")
            .tempdir_in(base)
            .map_err(|e| PgError::failed(format!("cannot create a temp dir: {e}")))?;
        let unique = dir.path().file_name().unwrap_or_default().to_string_lossy();
        let files = ClusterFiles::new(dir.path().join("cluster"), &format!("{unique}-sock"));
        // Before anything runs, so that a test killed at any moment leaves nothing behind.
        spawn_reaper(tools, &files, dir.path());
        // Whatever the umask made of the temp dir, `postgres` must be able to enter it.
        tools.give(dir.path())?;
        files.init(tools)?;
        let port = files.start_on_free_port(tools)?;
        Ok(Some(PrivateCluster {
            tools,
            files,
            port,
            _dir: dir,
        }))
    }

    /// URL of the `postgres` database, ready to use.
    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    /// The TCP port, which stays the same across [`stop`](Self::stop) / [`start_again`](Self::start_again).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Stops the server (`pg_ctl stop -m fast`); its data stays.
    pub fn stop(&self) -> Result<(), PgError> {
        self.files.stop(self.tools, "fast")
    }

    /// Starts the server again on the same port with the same data.
    pub fn start_again(&self) -> Result<(), PgError> {
        self.files.start(self.tools, self.port)
    }
}

impl Drop for PrivateCluster {
    fn drop(&mut self) {
        if self.files.running_pid().is_some()
            && let Err(e) = self.files.stop(self.tools, "immediate")
        {
            eprintln!("gatehouse-testkit: stopping private PostgreSQL failed: {e}");
        }
        // The files belong to `postgres` when we are root; root may delete them anyway.
        self.files.remove();
    }
}

fn spawn_reaper(tools: &Tools, files: &ClusterFiles, dir: &Path) {
    let spawned = Command::new("setsid")
        .args(["sh", "-c", REAPER, "gatehouse-pg-reaper"])
        .arg(std::process::id().to_string())
        .arg(dir)
        .args(tools.stop_argv(&files.data(), "immediate"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn();
    if let Err(e) = spawned {
        eprintln!("gatehouse-testkit: cannot spawn the private cluster reaper: {e}");
    }
}
