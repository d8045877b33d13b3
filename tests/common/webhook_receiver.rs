//! A webhook endpoint on loopback, as an organiser's tool would run one:
//! it checks every request's Standard Webhooks signature against the
//! secret it is given, answers 500 to the first attempts of each message
//! (as a flaky endpoint would), then 200, and keeps everything it saw.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, KeyInit, Mac};
use serde_json::Value;
use sha2::Sha256;

/// One request the receiver got.
#[derive(Clone, Debug)]
pub struct Received {
    pub id: String,
    pub timestamp: i64,
    pub body: Value,
    /// Whether `webhook-signature` matched the secret.
    pub signature_valid: bool,
    /// What the receiver answered.
    pub status: u16,
}

#[derive(Default)]
struct Inner {
    secret: Option<String>,
    fail_first: usize,
    always_fail: bool,
    received: Vec<Received>,
    attempts: HashMap<String, usize>,
}

#[derive(Clone)]
pub struct WebhookReceiver {
    pub addr: SocketAddr,
    inner: Arc<Mutex<Inner>>,
}

impl WebhookReceiver {
    /// A receiver that fails the first `fail_first` attempts of each message.
    pub async fn start(fail_first: usize) -> Self {
        Self::spawn(Inner {
            fail_first,
            ..Inner::default()
        })
        .await
    }

    /// A receiver that never acknowledges.
    pub async fn failing() -> Self {
        Self::spawn(Inner {
            always_fail: true,
            ..Inner::default()
        })
        .await
    }

    async fn spawn(inner: Inner) -> Self {
        let inner = Arc::new(Mutex::new(inner));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let app = Router::new()
            .route("/hook", post(receive))
            .with_state(inner.clone());
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self { addr, inner }
    }

    pub fn url(&self) -> String {
        format!("http://{}/hook", self.addr)
    }

    /// Sets the secret signatures are checked against.
    pub fn set_secret(&self, secret: &str) {
        self.inner.lock().unwrap().secret = Some(secret.to_owned());
    }

    /// Everything received, in order.
    pub fn received(&self) -> Vec<Received> {
        self.inner.lock().unwrap().received.clone()
    }

    /// The requests that were acknowledged (answered 2xx).
    pub fn acknowledged(&self) -> Vec<Received> {
        self.received()
            .into_iter()
            .filter(|request| request.status == 200)
            .collect()
    }
}

/// The Standard Webhooks check: `v1,` + base64 HMAC-SHA-256 of
/// `id.timestamp.body` under the base64-decoded part of `whsec_…`.
pub fn signature_matches(
    secret: &str,
    id: &str,
    timestamp: i64,
    body: &[u8],
    header: &str,
) -> bool {
    let Ok(key) = STANDARD.decode(secret.trim_start_matches("whsec_")) else {
        return false;
    };
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(&key).unwrap();
    mac.update(format!("{id}.{timestamp}.").as_bytes());
    mac.update(body);
    let expected = format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()));
    header.split(' ').any(|candidate| candidate == expected)
}

async fn receive(
    State(inner): State<Arc<Mutex<Inner>>>,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|value| value.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    let id = header("webhook-id");
    let timestamp: i64 = header("webhook-timestamp").parse().unwrap_or_default();
    let mut inner = inner.lock().unwrap();
    let signature_valid = inner.secret.as_deref().is_some_and(|secret| {
        signature_matches(secret, &id, timestamp, &body, &header("webhook-signature"))
    });
    let attempt = {
        let seen = inner.attempts.entry(id.clone()).or_default();
        *seen += 1;
        *seen
    };
    let status = if inner.always_fail || attempt <= inner.fail_first {
        500
    } else {
        200
    };
    inner.received.push(Received {
        id,
        timestamp,
        body: serde_json::from_slice(&body).unwrap_or(Value::Null),
        signature_valid,
        status,
    });
    StatusCode::from_u16(status).unwrap()
}
