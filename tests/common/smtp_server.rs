//! A real SMTP server of a test's own (Debian's `python3-aiosmtpd`), on its
//! own port, storing what it receives in a Maildir the test reads.

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::mail::Mail;

/// The interpreter Debian's packages install into (a user's own Python
/// earlier on the PATH would not see them).
const PYTHON: &str = "/usr/bin/python3";

pub struct SmtpServer {
    pub port: u16,
    dir: tempfile::TempDir,
    child: Child,
}

fn available() -> bool {
    Command::new(PYTHON)
        .args(["-c", "import aiosmtpd"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success())
}

impl SmtpServer {
    /// Starts one, or returns `None` when aiosmtpd is not installed (a
    /// failure instead under `CONSUMACT_REQUIRE_SMTP` or
    /// `CONSUMACT_REQUIRE_SERVICES`).
    pub fn start() -> Option<Self> {
        if !available() {
            let required = super::services_required()
                || std::env::var("CONSUMACT_REQUIRE_SMTP").is_ok_and(|v| v == "1" || v == "true");
            assert!(
                !required,
                "an SMTP server is required but python3-aiosmtpd is not installed"
            );
            eprintln!("python3-aiosmtpd not installed: skipping");
            return None;
        }
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .map(|addr| addr.port())
            .expect("a free port");
        let dir = tempfile::tempdir().expect("mailbox directory");
        let child = Command::new(PYTHON)
            .args(["-m", "aiosmtpd", "-n", "-l"])
            .arg(format!("127.0.0.1:{port}"))
            .args(["-c", "aiosmtpd.handlers.Mailbox"])
            .arg(dir.path().join("maildir"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("aiosmtpd starts");
        let deadline = Instant::now() + Duration::from_secs(15);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "aiosmtpd did not come up");
            std::thread::sleep(Duration::from_millis(50));
        }
        Some(SmtpServer { port, dir, child })
    }

    /// `CONSUMACT_SMTP_URL` for a plain SMTP server on loopback.
    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    fn maildir(&self) -> PathBuf {
        self.dir.path().join("maildir").join("new")
    }

    /// Every mail received so far.
    pub fn mails(&self) -> Vec<Mail> {
        super::mail::read_dir(&self.maildir(), |_: &Path| true)
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
