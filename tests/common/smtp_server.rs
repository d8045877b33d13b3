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
        Self::start_with(&[])
    }

    /// One that insists on STARTTLS, with a certificate for 127.0.0.1 signed
    /// by a test CA of its own; also returns the CA's PEM file (to trust it).
    pub fn start_tls() -> Option<(Self, PathBuf)> {
        let certificates = tempfile::tempdir().expect("certificate directory");
        let path = |name: &str| certificates.path().join(name);
        std::fs::write(
            path("leaf.ext"),
            "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\n",
        )
        .expect("extensions file");
        let openssl = |args: &[&str]| {
            let made = Command::new("openssl")
                .args(args)
                .current_dir(certificates.path())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|status| status.success());
            assert!(made, "openssl {args:?}");
        };
        openssl(&[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=Consumact test CA",
            "-keyout",
            "ca.key",
            "-out",
            "ca.pem",
        ]);
        openssl(&[
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-subj",
            "/CN=127.0.0.1",
            "-keyout",
            "key.pem",
            "-out",
            "leaf.csr",
        ]);
        openssl(&[
            "x509",
            "-req",
            "-in",
            "leaf.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-days",
            "1",
            "-extfile",
            "leaf.ext",
            "-out",
            "cert.pem",
        ]);
        let (cert, key) = (path("cert.pem"), path("key.pem"));
        let server = Self::start_with(&[
            "--tlscert".as_ref(),
            cert.as_os_str(),
            "--tlskey".as_ref(),
            key.as_os_str(),
        ])?;
        let trusted = server.dir.path().join("ca.pem");
        std::fs::copy(path("ca.pem"), &trusted).expect("CA certificate copied");
        Some((server, trusted))
    }

    fn start_with(extra: &[&std::ffi::OsStr]) -> Option<Self> {
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
            .args(extra)
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
