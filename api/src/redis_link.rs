//! One lazily opened, self-healing Redis connection shared by the counter
//! store and the event bus.
//!
//! The server must start and serve while Redis is down, so nothing here
//! connects eagerly: the first command opens a `ConnectionManager` (which
//! then reconnects by itself), every command has a short timeout, and after
//! a failed connect further attempts wait a second instead of adding a
//! timeout to every request.

use std::time::{Duration, Instant};

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use tokio::sync::Mutex;

/// Why Redis did not answer.
#[derive(Clone, Debug)]
pub struct RedisDown(pub String);

pub struct RedisLink {
    client: redis::Client,
    timeout: Duration,
    prefix: String,
    state: Mutex<LinkState>,
}

#[derive(Default)]
struct LinkState {
    manager: Option<ConnectionManager>,
    last_failure: Option<Instant>,
}

const RETRY_CONNECT_AFTER: Duration = Duration::from_secs(1);

impl RedisLink {
    /// Parses the URL; connecting happens on first use.
    pub fn new(url: &str, prefix: &str, timeout: Duration) -> anyhow::Result<Self> {
        let client = redis::Client::open(url)
            .map_err(|err| anyhow::anyhow!("REDIS_URL is not a valid Redis URL: {err}"))?;
        Ok(Self {
            client,
            timeout,
            prefix: prefix.to_owned(),
            state: Mutex::new(LinkState::default()),
        })
    }

    pub fn client(&self) -> &redis::Client {
        &self.client
    }

    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// `prefix:rest`.
    pub fn key(&self, rest: &str) -> String {
        format!("{}:{rest}", self.prefix)
    }

    /// A connection, opening one if needed.
    pub async fn connection(&self) -> Result<ConnectionManager, RedisDown> {
        let mut state = self.state.lock().await;
        if let Some(manager) = &state.manager {
            return Ok(manager.clone());
        }
        if state
            .last_failure
            .is_some_and(|at| at.elapsed() < RETRY_CONNECT_AFTER)
        {
            return Err(RedisDown("Redis unreachable (retrying shortly)".into()));
        }
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(self.timeout))
            .set_response_timeout(Some(self.timeout))
            .set_number_of_retries(1)
            .set_max_delay(Duration::from_secs(1));
        let opened = tokio::time::timeout(
            self.timeout * 4,
            self.client.get_connection_manager_with_config(config),
        )
        .await;
        match opened {
            Ok(Ok(manager)) => {
                state.manager = Some(manager.clone());
                state.last_failure = None;
                Ok(manager)
            }
            Ok(Err(err)) => {
                state.last_failure = Some(Instant::now());
                Err(RedisDown(err.to_string()))
            }
            Err(_) => {
                state.last_failure = Some(Instant::now());
                Err(RedisDown("Redis connect timed out".into()))
            }
        }
    }

    /// Runs one command (or script) with the configured timeout.
    pub async fn run<T, F, Fut>(&self, command: F) -> Result<T, RedisDown>
    where
        F: FnOnce(ConnectionManager) -> Fut,
        Fut: std::future::Future<Output = redis::RedisResult<T>>,
    {
        let connection = self.connection().await?;
        match tokio::time::timeout(self.timeout, command(connection)).await {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(err)) => Err(RedisDown(err.to_string())),
            Err(_) => Err(RedisDown("Redis command timed out".into())),
        }
    }
}
