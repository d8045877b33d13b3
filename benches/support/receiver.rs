//! A webhook receiver on loopback for load runs: answers 204 at once and
//! counts what it received.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;

/// Counts the requests it acknowledged.
#[derive(Clone)]
pub struct Receiver {
    pub addr: SocketAddr,
    received: Arc<AtomicU64>,
}

impl Receiver {
    pub async fn start() -> Self {
        let received = Arc::new(AtomicU64::new(0));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a loopback port");
        let addr = listener.local_addr().expect("its address");
        let app = Router::new()
            .route("/hook/{n}", post(acknowledge))
            .with_state(received.clone());
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self { addr, received }
    }

    /// The URL of endpoint `n`.
    pub fn url(&self, n: usize) -> String {
        format!("http://{}/hook/{n}", self.addr)
    }

    pub fn received(&self) -> u64 {
        self.received.load(Ordering::Relaxed)
    }
}

async fn acknowledge(State(received): State<Arc<AtomicU64>>) -> StatusCode {
    received.fetch_add(1, Ordering::Relaxed);
    StatusCode::NO_CONTENT
}
