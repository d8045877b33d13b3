//! Consumact: a GraphQL backend for consumer collective action.
//!
//! [`Application::build`] wires configuration, database, schema and router
//! and binds the listener, so the binary and the black-box tests start the
//! very same server.

pub mod config;
pub mod db;
pub mod error;
pub mod graphql;
pub mod http;
pub mod service;
pub mod state;
pub mod telemetry;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;
use axum::Router;
use tokio::net::TcpListener;

use crate::config::Config;
use crate::service::auth::{self, Passwords};
use crate::state::AppState;

/// A server bound to its address, ready to run.
pub struct Application {
    listener: TcpListener,
    router: Router,
    state: AppState,
}

impl Application {
    /// Connects to the database, migrates it, creates the configured first
    /// admin, and binds the listener (port 0 picks a free port).
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        let config = Arc::new(config);
        let db = db::connect(&config).await?;
        let passwords = Passwords::new(config.argon2_memory_kib, config.argon2_iterations)?;
        let state = AppState {
            db,
            config: config.clone(),
            passwords,
        };
        if let (Some(handle), Some(email), Some(password)) = (
            non_empty(&config.admin_handle),
            non_empty(&config.admin_email),
            non_empty(&config.admin_password),
        ) {
            auth::ensure_admin(&state.db, &state.passwords, handle, email, password)
                .await
                .map_err(|err| {
                    anyhow::anyhow!("cannot create the first admin: {}", err.message())
                })?;
            tracing::info!(handle, "first admin ensured");
        }
        let schema = graphql::build(state.clone());
        let router = http::router(state.clone(), schema);
        let listener = TcpListener::bind(config.addr)
            .await
            .with_context(|| format!("cannot listen on {}", config.addr))?;
        Ok(Self {
            listener,
            router,
            state,
        })
    }

    /// The address the server listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .expect("a bound listener has an address")
    }

    /// The shared state, for subcommands and tests that need the database.
    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Serves until `shutdown` completes, then finishes in-flight requests.
    pub async fn run_until(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        tracing::info!(addr = %self.local_addr(), "serving GraphQL on /graphql");
        axum::serve(self.listener, self.router)
            .with_graceful_shutdown(shutdown)
            .await
            .context("server error")
    }
}

/// An optional setting, with an empty value (as compose files pass) counting as unset.
fn non_empty(value: &Option<String>) -> Option<&str> {
    value.as_deref().filter(|value| !value.is_empty())
}

/// Completes on SIGINT (Ctrl-C) or SIGTERM.
pub async fn shutdown_signal() {
    let interrupt = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = interrupt => {},
        _ = terminate => {},
    }
    tracing::info!("shutting down");
}
