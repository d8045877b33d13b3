//! The official `graphql-ws` client (npm), driven through
//! `tools/graphql-ws-client/client.mjs`: a test hands it a scenario and reads
//! what happened, event by event, while it runs.
//!
//! Needs Node.js and `npm ci` in `tools/graphql-ws-client` (`.ci/run` does
//! it); without them [`GraphqlWs::start`] answers `None` and the test skips,
//! or fails under `CONSUMACT_REQUIRE_SERVICES`.

use std::net::SocketAddr;
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use serde_json::Value;
use tokio::io::{AsyncBufReadExt, BufReader, Lines};
use tokio::process::{Child, ChildStdout, Command};

use super::services_required;

pub struct GraphqlWs {
    _child: Child,
    lines: Lines<BufReader<ChildStdout>>,
    seen: Vec<Value>,
}

impl GraphqlWs {
    /// Starts the client against `addr` with `scenario` (see `client.mjs`).
    pub async fn start(addr: SocketAddr, scenario: Value) -> Option<Self> {
        let tool = Path::new(env!("CARGO_MANIFEST_DIR")).join("tools/graphql-ws-client");
        if !tool.join("node_modules/graphql-ws").exists() {
            assert!(
                !services_required(),
                "run `npm ci` in tools/graphql-ws-client (CONSUMACT_REQUIRE_SERVICES is set)"
            );
            eprintln!("graphql-ws not installed in tools/graphql-ws-client: skipping");
            return None;
        }
        let mut child = Command::new("node")
            .arg("client.mjs")
            .arg(format!("ws://{addr}/graphql"))
            .arg(scenario.to_string())
            .current_dir(tool)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .expect("node runs");
        let stdout = child.stdout.take().expect("piped stdout");
        Some(Self {
            _child: child,
            lines: BufReader::new(stdout).lines(),
            seen: Vec::new(),
        })
    }

    /// The next event, or `None` when the client is gone or after `seconds`.
    pub async fn next_event(&mut self, seconds: u64) -> Option<Value> {
        let line = tokio::time::timeout(Duration::from_secs(seconds), self.lines.next_line())
            .await
            .ok()?
            .ok()??;
        let event: Value = serde_json::from_str(&line).expect("the client writes JSON lines");
        self.seen.push(event.clone());
        Some(event)
    }

    /// The first event of kind `event` within `seconds`; panics with every
    /// event seen when none comes.
    pub async fn until(&mut self, event: &str, seconds: u64) -> Value {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(seconds);
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            match self.next_event(left.as_secs().max(1)).await {
                Some(found) if found["event"] == event => return found,
                Some(_) if tokio::time::Instant::now() < deadline => continue,
                _ => panic!("no `{event}` event within {seconds} s; saw {:?}", self.seen),
            }
        }
    }

    /// The events read so far.
    pub fn seen(&self) -> &[Value] {
        &self.seen
    }

    /// Every event until the client is done.
    pub async fn all(mut self, seconds: u64) -> Vec<Value> {
        while let Some(event) = self.next_event(seconds).await {
            if event["event"] == "done" {
                break;
            }
        }
        self.seen
    }
}

/// The `extensions.code` of each operation's outcome in `events`: its
/// first error's code, or `OK` when it answered without errors.
pub fn outcomes(events: &[Value]) -> Vec<String> {
    events
        .iter()
        .filter_map(|event| match event["event"].as_str()? {
            "next" => Some(
                event["payload"]["errors"][0]["extensions"]["code"]
                    .as_str()
                    .unwrap_or("OK")
                    .to_owned(),
            ),
            "error" => Some(
                event["errors"][0]["extensions"]["code"]
                    .as_str()
                    .unwrap_or("CLOSED")
                    .to_owned(),
            ),
            _ => None,
        })
        .collect()
}
