//! A Redis server of a test's own, on its own port, that the test may flush,
//! stop and restart without touching anyone else's data.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct RedisServer {
    pub port: u16,
    child: Option<Child>,
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|addr| addr.port())
        .expect("a free port")
}

/// Sends one inline command and returns the first reply line.
fn command(port: u16, line: &str) -> Option<String> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    stream.write_all(format!("{line}\r\n").as_bytes()).ok()?;
    let mut buffer = [0u8; 256];
    let read = stream.read(&mut buffer).ok()?;
    Some(String::from_utf8_lossy(&buffer[..read]).trim().to_owned())
}

impl RedisServer {
    /// Starts one, or returns `None` when `redis-server` is not installed
    /// (a failure instead under `CONSUMACT_REQUIRE_SERVICES`).
    pub fn start() -> Option<Self> {
        let available = Command::new("redis-server")
            .arg("--version")
            .stdout(Stdio::null())
            .status()
            .is_ok_and(|status| status.success());
        if !available {
            assert!(
                !super::services_required(),
                "CONSUMACT_REQUIRE_SERVICES is set but redis-server is not installed"
            );
            eprintln!("redis-server not installed: skipping");
            return None;
        }
        let mut server = RedisServer {
            port: free_port(),
            child: None,
        };
        server.restart();
        Some(server)
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Starts the server (again) on its port, empty.
    pub fn restart(&mut self) {
        let child = Command::new("redis-server")
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server starts");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        while command(self.port, "PING").as_deref() != Some("+PONG") {
            assert!(Instant::now() < deadline, "redis-server did not come up");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Kills the server.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Erases every key.
    pub fn flush_all(&self) {
        assert_eq!(command(self.port, "FLUSHALL").as_deref(), Some("+OK"));
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.stop();
    }
}
