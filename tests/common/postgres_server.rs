//! A PostgreSQL server of a test's own (initdb in a temporary directory, on
//! its own port), which the test may stop and start without touching the
//! shared server, and a streaming replica of it. PostgreSQL refuses to run
//! as root, so its binaries run as the `postgres` user through `runuser`.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

pub struct PostgresServer {
    pub port: u16,
    bin: PathBuf,
    dir: tempfile::TempDir,
}

fn newest_bin_dir() -> Option<PathBuf> {
    let mut versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|entry| entry.ok().map(|entry| entry.path().join("bin")))
        .filter(|bin| bin.join("initdb").exists())
        .collect();
    versions.sort();
    versions.pop()
}

/// A temporary directory the `postgres` user owns, if it can be handed over.
fn postgres_dir() -> Option<tempfile::TempDir> {
    let dir = tempfile::tempdir().expect("temporary directory");
    Command::new("chown")
        .arg("postgres")
        .arg(dir.path())
        .status()
        .is_ok_and(|status| status.success())
        .then_some(dir)
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|addr| addr.port())
        .expect("a free port")
}

fn as_postgres(bin: &Path, tool: &str) -> Command {
    let mut command = Command::new("runuser");
    command
        .args(["-u", "postgres", "--"])
        .arg(bin.join(tool))
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    command
}

impl PostgresServer {
    /// Creates and starts one, or returns `None` when this machine cannot
    /// (no PostgreSQL binaries, no `postgres` user, not root), which fails
    /// the test instead under `CONSUMACT_REQUIRE_SERVICES`.
    pub fn start() -> Option<Self> {
        let usable = newest_bin_dir().filter(|_| {
            Command::new("id")
                .args(["-u", "postgres"])
                .stdout(Stdio::null())
                .status()
                .is_ok_and(|status| status.success())
        });
        let Some(bin) = usable else {
            assert!(
                !super::services_required(),
                "CONSUMACT_REQUIRE_SERVICES is set but PostgreSQL binaries or the postgres user are missing"
            );
            eprintln!("cannot run a PostgreSQL of our own here: skipping");
            return None;
        };
        let Some(dir) = postgres_dir() else {
            assert!(
                !super::services_required(),
                "cannot hand a directory to the postgres user"
            );
            eprintln!("cannot hand a directory to the postgres user: skipping");
            return None;
        };
        let initialised = as_postgres(&bin, "initdb")
            .args(["-A", "trust", "-U", "postgres", "--no-sync", "-D"])
            .arg(dir.path().join("data"))
            .status()
            .is_ok_and(|status| status.success());
        assert!(initialised, "initdb failed");
        let server = PostgresServer {
            port: free_port(),
            bin,
            dir,
        };
        server.restart();
        Some(server)
    }

    /// A hot standby of `primary`, fed by streaming replication: a base
    /// backup of it (`pg_basebackup -R`, which writes the standby's
    /// connection to the primary) started on a port of its own.
    pub fn replica_of(primary: &PostgresServer) -> Self {
        let dir = postgres_dir().expect("a directory the postgres user owns");
        let copied = as_postgres(&primary.bin, "pg_basebackup")
            .args(["-h", "127.0.0.1", "-U", "postgres", "-X", "stream", "-R"])
            .args(["--no-sync", "-p", &primary.port.to_string(), "-D"])
            .arg(dir.path().join("data"))
            .status()
            .is_ok_and(|status| status.success());
        assert!(copied, "pg_basebackup failed");
        let server = PostgresServer {
            port: free_port(),
            bin: primary.bin.clone(),
            dir,
        };
        server.restart();
        server
    }

    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    /// Starts the server (again) on its port and waits until it accepts connections.
    pub fn restart(&self) {
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off",
            self.port,
            self.dir.path().display()
        );
        let started = as_postgres(&self.bin, "pg_ctl")
            .arg("-D")
            .arg(self.dir.path().join("data"))
            .arg("-l")
            .arg(self.dir.path().join("log"))
            .args(["-o", &options, "-w", "-t", "30", "start"])
            .status()
            .is_ok_and(|status| status.success());
        assert!(started, "pg_ctl start failed");
    }

    /// Stops the server, ending every connection.
    pub fn stop(&self) {
        let _ = as_postgres(&self.bin, "pg_ctl")
            .arg("-D")
            .arg(self.dir.path().join("data"))
            .args(["-m", "fast", "-w", "-t", "30", "stop"])
            .status();
    }
}

impl Drop for PostgresServer {
    fn drop(&mut self) {
        let _ = as_postgres(&self.bin, "pg_ctl")
            .arg("-D")
            .arg(self.dir.path().join("data"))
            .args(["-m", "immediate", "-w", "stop"])
            .status();
    }
}
